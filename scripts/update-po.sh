#!/usr/bin/env bash
# Refresh the message catalogue from the sources:
#   po/POTFILES      every cli/*.c, sorted (the files xgettext reads)
#   po/memberlog.pot the template: every _("...") and N_("...") message
#   po/vi.po         merged with the template; existing translations are kept,
#                    new messages arrive untranslated (or fuzzy, when msgmerge
#                    guesses from a similar old one) for a translator to finish.
# Idempotent: a file is rewritten only when something besides its timestamp changed.
# Then translate what is new:
#   msgattrib --untranslated po/vi.po; msgattrib --only-fuzzy po/vi.po
# and check with `meson test -C build po_check`.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in xgettext msgmerge msginit; do
	command -v "$tool" >/dev/null || { echo "update-po: $tool is missing (apt-get install gettext)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

version=$(sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" meson.build | head -1)

# Replaces $2 by $1 unless they differ only in the POT-Creation-Date header.
install_if_changed() {
	local new=$1 old=$2
	if [ -f "$old" ] &&
		cmp -s <(grep -v '^"POT-Creation-Date:' "$new") <(grep -v '^"POT-Creation-Date:' "$old"); then
		return
	fi
	cp "$new" "$old"
	echo "update-po: wrote $old"
}

(LC_ALL=C; printf '%s\n' cli/*.c | sort) >"$tmp/POTFILES"
install_if_changed "$tmp/POTFILES" po/POTFILES

xgettext --language=C --from-code=UTF-8 \
	--keyword=_ --keyword=N_ \
	--add-comments=TRANSLATORS: \
	--package-name=memberlog --package-version="${version:-0}" \
	--copyright-holder="the memberlog authors" \
	--msgid-bugs-address="memberlog maintainers" \
	--files-from=po/POTFILES \
	--output="$tmp/memberlog.pot"
# xgettext leaves the charset as a placeholder; the sources are UTF-8.
sed -i 's/^"Content-Type: text\/plain; charset=CHARSET\\n"$/"Content-Type: text\/plain; charset=UTF-8\\n"/' "$tmp/memberlog.pot"
install_if_changed "$tmp/memberlog.pot" po/memberlog.pot

if [ ! -f po/vi.po ]; then
	msginit --no-translator --locale=vi_VN.UTF-8 --input=po/memberlog.pot --output-file=po/vi.po >/dev/null 2>&1
	echo "update-po: created po/vi.po"
fi

msgmerge --quiet --previous --lang=vi --output-file="$tmp/vi.po" po/vi.po po/memberlog.pot
install_if_changed "$tmp/vi.po" po/vi.po

msgfmt --check --statistics --output-file=/dev/null po/vi.po
