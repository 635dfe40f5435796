#!/usr/bin/env bash
# The message catalogue's tests (po/meson.build).
#   check-po.sh check MSGFMT VI.PO
#       vi.po compiles with msgfmt --check (syntax, header, printf directives of
#       c-format entries) and has no fuzzy or untranslated message.
#   check-po.sh current XGETTEXT VI.PO SRCDIR
#       every message now marked in SRCDIR/cli/*.c has a translation in vi.po.
set -uo pipefail

case ${1:-} in
check)
	msgfmt=$2 po=$3
	out=$("$msgfmt" --check --statistics --output-file=/dev/null "$po" 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || { echo "po_check: msgfmt --check found errors in $po"; exit 1; }
	case $out in
	*fuzzy* | *untranslated*)
		echo "po_check: $po has fuzzy or untranslated messages; list them with"
		echo "  msgattrib --only-fuzzy po/vi.po; msgattrib --untranslated po/vi.po"
		exit 1
		;;
	esac
	;;
current)
	xgettext=$2 po=$3 src=$4
	msgcmp=$(dirname "$xgettext")/msgcmp
	command -v "$msgcmp" >/dev/null || msgcmp=msgcmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$src" && "$xgettext" --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ \
		--output="$tmp/now.pot" cli/*.c) || exit 1
	if ! "$msgcmp" "$po" "$tmp/now.pot" 2>"$tmp/err"; then
		grep -v '^msgcmp: found' "$tmp/err" | head -40
		echo "po_current: cli/*.c has messages that po/vi.po does not translate;"
		echo "  run scripts/update-po.sh and translate what it lists as untranslated"
		exit 1
	fi
	echo "every message of cli/*.c is translated in $po"
	;;
*)
	echo "usage: check-po.sh check MSGFMT VI.PO | current XGETTEXT VI.PO SRCDIR" >&2
	exit 2
	;;
esac
