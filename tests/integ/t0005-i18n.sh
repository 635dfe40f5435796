#!/usr/bin/env bash
# t0005: the memberlog command speaks Vietnamese (po/vi.po, gettext domain
# "memberlog", compiled into the build tree) when the locale asks for it and
# English otherwise, with the same exit codes; every translation keeps the
# printf directives of its English message.
#
# What selects Vietnamese:
#   LANG=vi_VN.UTF-8          needs the vi_VN.UTF-8 locale, which scripts/install-deps.sh
#                             generates; without it setlocale() fails, the C locale
#                             stays and gettext answers in English (LANGUAGE too is
#                             ignored then)
#   LANGUAGE=vi LANG=C.UTF-8  works on any Debian 12: C.UTF-8 is always there
. "$(dirname "$0")/lib.sh"

po=$SRC/po/vi.po

# A known environment: the catalogue this build made (ML_BUILD_LOCALEDIR), not the caller's.
clean=(env -u LC_ALL -u LC_MESSAGES -u LC_CTYPE -u LANG -u LANGUAGE -u LOCPATH -u MEMBERLOG_LOCALEDIR)
VI=("${clean[@]}" LANG=C.UTF-8 LANGUAGE=vi)
EN=("${clean[@]}" LANG=C)

# speaks STATUS PHRASE ENV... -- ARGS...: memberlog ARGS under ENV exits STATUS and
# prints PHRASE (fixed string) on stdout or stderr.
speaks() {
	local want=$1 phrase=$2 envs=() got
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	"${envs[@]}" "$ML" "$@" >"$TMP/said" 2>&1
	got=$?
	cat "$TMP/said"
	[ "$got" -eq "$want" ] || { echo "exit status $got, wanted $want" >&2; return 1; }
	grep -qF -- "$phrase" "$TMP/said" || { echo "no '$phrase' in the output" >&2; return 1; }
}

check "the build put the catalogue where the uninstalled binary looks" \
	test -s "$(dirname "$ML")/../po/vi/LC_MESSAGES/memberlog.mo"

# --help: the command list.
check "--help in Vietnamese (LANGUAGE=vi LANG=C.UTF-8)" \
	speaks 0 "tạo khóa của thiết bị này trong thư mục nút" "${VI[@]}" -- --help
check "--help in English (LANG=C)" \
	speaks 0 "create this device's key in the node directory" "${EN[@]}" -- --help

# A command's own help.
check "unit create --help in Vietnamese" \
	speaks 0 "Tạo một đơn vị trực thuộc PARENT. Cần vai trò admin tại PARENT hoặc cấp trên." \
	"${VI[@]}" -- unit create --help
check "unit create --help in English" \
	speaks 0 "Creates a unit under PARENT. Needs an admin role at or above PARENT." \
	"${EN[@]}" -- unit create --help

# Usage errors keep exit status 2.
check "a verb-less command lists its verbs in Vietnamese, exit 2" \
	speaks 2 "các lệnh con:" "${VI[@]}" -- unit
check "a verb-less command lists its verbs in English, exit 2" \
	speaks 2 "verbs:" "${EN[@]}" -- unit
check "an unknown report is an error in Vietnamese, exit 2" \
	speaks 2 "lỗi: không có báo cáo 'bogus'; các báo cáo là:" "${VI[@]}" -- report bogus
check "an unknown report is an error in English, exit 2" \
	speaks 2 "error: no report 'bogus'; the reports are:" "${EN[@]}" -- report bogus
check "an unknown level is an error in Vietnamese, exit 2" \
	speaks 2 "lỗi: không có cấp 'bogus'; các cấp là:" \
	"${VI[@]}" -- --home "$TMP/x" unit create --parent p --name n --level bogus

# A runtime error on an empty node directory keeps exit status 1.
check "member list on an empty directory fails in Vietnamese, exit 1" \
	speaks 1 "memberlog network create" "${VI[@]}" -- --home "$TMP/empty" member list
check "member list on an empty directory fails in English, exit 1" \
	speaks 1 "memberlog network create" "${EN[@]}" -- --home "$TMP/empty" member list
check "the member list error is translated" bash -c '
	"$@" >/dev/null 2>"'"$TMP"'/e"; ! grep -q "^error: no node in" "'"$TMP"'/e"' \
	_ "${VI[@]}" "$ML" --home "$TMP/empty" member list

# LANG=vi_VN.UTF-8 with and without the vi_VN.UTF-8 locale. LOCPATH points glibc
# at a directory of compiled locales instead of the system's archive: an empty one
# is a fresh machine, one holding vi_VN.UTF-8 is a machine where it was generated.
mkdir -p "$TMP/no-locales"
check "without the vi_VN locale, LANG=vi_VN.UTF-8 falls back to English" \
	speaks 0 "create this device's key" "${clean[@]}" LOCPATH="$TMP/no-locales" LANG=vi_VN.UTF-8 -- --help
check "without the vi_VN locale, LANGUAGE=vi LANG=C.UTF-8 still speaks Vietnamese" \
	speaks 0 "tạo khóa của thiết bị này" "${clean[@]}" LOCPATH="$TMP/no-locales" LANG=C.UTF-8 LANGUAGE=vi -- --help

vi_locale=()
if locale -a 2>/dev/null | grep -ix 'vi_VN\.utf-\?8' >/dev/null; then
	vi_locale=("${clean[@]}" LANG=vi_VN.UTF-8)
elif [ -e /usr/share/i18n/locales/vi_VN ] && command -v localedef >/dev/null &&
	mkdir -p "$TMP/locales" && localedef -i vi_VN -f UTF-8 "$TMP/locales/vi_VN.UTF-8" >/dev/null 2>&1; then
	vi_locale=("${clean[@]}" LOCPATH="$TMP/locales" LANG=vi_VN.UTF-8)
fi
if [ ${#vi_locale[@]} -gt 0 ]; then
	check "with the vi_VN.UTF-8 locale, LANG=vi_VN.UTF-8 speaks Vietnamese" \
		speaks 0 "tạo khóa của thiết bị này trong thư mục nút" "${vi_locale[@]}" -- --help
	check "with the vi_VN.UTF-8 locale, usage errors still exit 2" \
		speaks 2 "lỗi: không có báo cáo 'bogus'" "${vi_locale[@]}" -- report bogus
else
	echo "# skipped: no vi_VN.UTF-8 locale and no way to compile one (apt-get install locales)"
fi

# The catalogue itself: every translation keeps its msgid's printf directives, in
# order (a swapped %s/%zu would make printf read the wrong argument), its leading
# and trailing newlines and spaces, and is UTF-8 in NFC; msgfmt agrees.
check "every translation keeps its printf directives, whitespace and NFC" python3 - "$po" <<'EOF'
import re, sys, unicodedata

def unquote(s):
    return re.sub(r'\\(.)', lambda m: {'n': '\n', 't': '\t'}.get(m.group(1), m.group(1)), s[1:-1])

entries, cur, field = [], None, None
for line in open(sys.argv[1], encoding='utf-8'):
    line = line.rstrip('\n')
    if line.startswith('#~'):
        continue
    if line.startswith('msgid '):
        cur = {'msgid': '', 'msgstr': ''}
        entries.append(cur)
    # a plural entry: msgid, msgid_plural, msgstr[0] (Vietnamese has one form)
    m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
    if m:
        field = m.group(1)
        cur[field] = unquote(m.group(2))
    elif line.startswith('"') and cur is not None:
        cur[field] += unquote(line)

# Each form of a plural entry is checked against both English forms.
plural = []
for e in entries:
    for k in [k for k in e if k.startswith('msgstr[')]:
        for mid in (e['msgid'], e['msgid_plural']):
            plural.append({'msgid': mid, 'msgstr': e[k]})
entries += plural

directive = re.compile(r'%(?:%|(?:\d+\$)?[-+ #0\']*(?:\*|\d+)?(?:\.(?:\*|\d+))?'
                       r'(?:hh|h|ll|l|z|j|t|L|q)?[diouxXeEfgGcspnaA])'
                       r'|%<PRI[diouxX](?:8|16|32|64|MAX|PTR)>')
bad = 0
for e in entries:
    mid, mstr = e['msgid'], e['msgstr']
    if not mid or not mstr:
        continue
    problems = []
    if directive.findall(mid) != directive.findall(mstr):
        problems.append('directives %s != %s' % (directive.findall(mid), directive.findall(mstr)))
    for side, strip in (('leading', str.lstrip), ('trailing', str.rstrip)):
        if len(mid) - len(strip(mid)) != len(mstr) - len(strip(mstr)):
            problems.append(side + ' whitespace differs')
    if unicodedata.normalize('NFC', mstr) != mstr:
        problems.append('not NFC')
    if problems:
        bad += 1
        print('%r: %s' % (mid[:60], '; '.join(problems)))
print('%d translations checked, %d bad' % (sum(1 for e in entries if e['msgid'] and e['msgstr']), bad))
sys.exit(1 if bad else 0)
EOF

check "msgfmt --check-format accepts the catalogue" \
	msgfmt --check-format --check-header --output-file=/dev/null "$po"

# What the register says about a member is in the reader's language too, not its identifiers.
register() {
	local h=$TMP/reg
	"$ML" --home "$h" network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1 &&
		local net && net=$("$ML" --home "$h" --json network show | python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		"$ML" --home "$h" unit create --parent "$net" --name "CĐCS Xã Lũng Cú" --level base_union >/dev/null &&
		"$ML" --home "$h" grant "$("$ML" --home "$h" device show | head -1)" --unit "CĐCS Xã Lũng Cú" --role officer >/dev/null &&
		"$ML" --home "$h" member add --unit "CĐCS Xã Lũng Cú" --name "Giàng Thị Mỷ" --id-number 010190000001 \
			--join-date 01/05/2014 >/dev/null
}
check "a register with one member (setup)" register
check "member list shows the status in Vietnamese" \
	speaks 0 "đang sinh hoạt" "${VI[@]}" -- --home "$TMP/reg" member list --unit "CĐCS Xã Lũng Cú"
check "member list shows the status in English" \
	speaks 0 "draft       active" "${EN[@]}" -- --home "$TMP/reg" member list --unit "CĐCS Xã Lũng Cú"
# Counts: English says "1 member", "2 members"; Vietnamese has one form.
lists() { # LINE ENV... : `member list` under ENV ends with the line LINE
	local line=$1
	shift
	"$@" "$ML" --home "$TMP/reg" member list >"$TMP/said" 2>&1
	cat "$TMP/said"
	grep -qx -- "$line" "$TMP/said"
}
check "one member is counted in the singular in English" lists "1 member" "${EN[@]}"
check "one member is counted in Vietnamese" lists "1 đoàn viên" "${VI[@]}"
check "a second member (setup)" "$ML" --home "$TMP/reg" member add --unit "CĐCS Xã Lũng Cú" \
	--name "Vàng Seo Sử" --id-number 010190000002 --join-date 01/05/2015
check "two members are counted in the plural in English" lists "2 members" "${EN[@]}"
check "two members are counted in Vietnamese" lists "2 đoàn viên" "${VI[@]}"

check "xgettext marks every message with a directive c-format" python3 - "$SRC/po/memberlog.pot" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding='utf-8').read()
bad = 0
for block in text.split('\n\n'):
    m = re.search(r'^msgid (.*?)^msgstr', block, re.S | re.M)
    if not m:
        continue
    mid = ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
    if re.search(r'%[-+ #0]*\d*(?:\.\d+|\.\*)?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp]', mid) \
            and '#, c-format' not in block and 'c-format' not in block:
        bad += 1
        print('not marked c-format: %r' % mid[:70])
sys.exit(1 if bad else 0)
EOF

done_testing
