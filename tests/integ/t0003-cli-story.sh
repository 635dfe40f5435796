#!/usr/bin/env bash
# t0003: the officers' and approvers' workflow through the real binary, on
# separate node directories that exchange bundles: network, units, devices,
# members entered at a commune, submitted, approved or rejected at the
# district, fixed and resubmitted, transferred, reduced; search, history,
# audit of a clean and of a tampered store; and the bad inputs that must be
# refused with a clear message, the right exit code and nothing written.
. "$(dirname "$0")/lib.sh"

# ml NODE ARGS...: memberlog on node directory $TMP/NODE
ml() { "$ML" --home "$TMP/$1" "${@:2}"; }
# The system python starts faster than a version manager's shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
# jq-like: json FILE PY-EXPR (d is the document)
json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# expect CODE NODE ARGS...: memberlog exits with CODE and prints one "error:" line
expect() {
	local want=$1
	shift
	ml "$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	[ "$got" -eq "$want" ] || { echo "exit $got, wanted $want" >&2; cat "$TMP/err" >&2; return 1; }
	[ "$want" -eq 0 ] || grep -q '^error: \|^usage: ' "$TMP/err"
}
hash_of() { ml "$1" state-hash; }
key_of() { ml "$1" device show | head -1; }
# ship FROM TO: the bundle of what TO may read and lacks, carried and imported
ship() {
	ml "$2" bundle heads -o "$TMP/$2.heads" >/dev/null &&
		ml "$1" bundle export -o "$TMP/$1-to-$2.mlb" --for "$(key_of "$2")" \
			--since "$TMP/$2.heads" >/dev/null &&
		ml "$2" bundle import "$TMP/$1-to-$2.mlb" >"$TMP/import.out"
}

setup_network() {
	ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1 &&
		NET=$(ml nat --json network show | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		for n in dist c1 c2 aud; do ml $n network join "$NET" >/dev/null 2>&1 || return 1; done &&
		ml nat unit create --parent "$NET" --name "LĐLĐ quận Long Biên" --level district >/dev/null &&
		ml nat unit create --parent "LĐLĐ quận Long Biên" --name "CĐCS Phường Bồ Đề" --level base_union >/dev/null &&
		ml nat unit create --parent "LĐLĐ quận Long Biên" --name "CĐCS Phường Gia Thụy" --level base_union >/dev/null &&
		ml nat grant "$(key_of dist)" --unit "LĐLĐ quận Long Biên" --role approver >/dev/null &&
		ml nat grant "$(key_of c1)" --unit "CĐCS Phường Bồ Đề" --role officer >/dev/null &&
		ml nat grant "$(key_of c2)" --unit "CĐCS Phường Gia Thụy" --role officer >/dev/null &&
		ml nat grant "$(key_of aud)" --unit "$NET" --role auditor >/dev/null &&
		ml nat numbers delegate --unit "LĐLĐ quận Long Biên" --count 1000 >/dev/null &&
		for n in dist c1 c2 aud; do ship nat $n || return 1; done
}
check "network, units, grants and number ranges reach every node by bundle" setup_network

roles_arrived() {
	ml c1 --json device show >"$TMP/j" && [ "$(json "$TMP/j" 'd["roles"][0]["role"]')" = officer ] &&
		ml c1 --json unit list >"$TMP/j" && [ "$(json "$TMP/j" 'len(d["units"])')" = 4 ]
}
check "a commune sees its role and the tree" roles_arrived

add_members() {
	ml c1 member add --unit "CĐCS Phường Bồ Đề" --name "Lê Văn Lương" --dob 11/02/1990 \
		--gender male --hometown "Hà Nội" --id-number 109814122 --positions chair,exec_committee_member \
		--join-date 11/02/2012 >/dev/null &&
		ml c1 member add --unit "CĐCS Phường Bồ Đề" --name "Trần Thị Bé" --dob 11/02/1991 \
			--gender female --id-number 109814123 --join-date 11/02/2012 >/dev/null &&
		ml c1 member add --unit "CĐCS Phường Bồ Đề" --name "Nguyễn Tuấn Phước" --dob 11/02/1992 \
			--gender female --hometown "Hà Nội" --id-number 109814124 --join-date 11/02/2012 >/dev/null &&
		ml c1 --json member submit --unit "CĐCS Phường Bồ Đề" --all >"$TMP/j" &&
		[ "$(json "$TMP/j" 'len(d["members"])')" = 3 ]
}
check "a commune enters three members and submits them all" add_members

check "before the district decides, the records are submitted drafts" bash -c "
	'$ML' --home '$TMP/c1' --json member list --state submitted | grep -c '\"state\": \"submitted\"' | grep -qx 3"

decide() {
	ship c1 dist &&
		ml dist --json member approve 109814122 109814124 >"$TMP/approve.json" &&
		ml dist member reject 109814123 --reason "thiếu quê quán" >/dev/null &&
		ship dist c1
}
check "the district approves two and rejects one; the decisions return to the commune" decide

numbers_ok() {
	local a b
	a=$(json "$TMP/approve.json" 'd["members"][0]["number"]') &&
		b=$(json "$TMP/approve.json" 'd["members"][1]["number"]') &&
		[ ${#a} = 12 ] && [ "$a" != "$b" ] &&
		ml c1 --json member show 109814122 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["state"]')" = official ] &&
		[ "$(json "$TMP/j" 'd["member_number"]')" = "$(json "$TMP/approve.json" '[m["number"] for m in d["members"] if m["full_name"]=="Lê Văn Lương"][0]')" ] &&
		[ "$(json "$TMP/j" 'd["official"]["positions"]')" = "['chair', 'exec_committee_member']" ]
}
check "approved records are official at the commune with distinct 12-digit numbers" numbers_ok

scoped() {
	# before any transfer, the second commune holds none of the first commune's members
	# (docs/REGISTER.md §9: a transfer in brings the source unit's feed, a known limit)
	ship dist c2 && ml c2 --json member list >"$TMP/j" &&
		[ "$(json "$TMP/j" 'len(d["members"])')" = 0 ] ||
		{ echo "c2 holds: $(json "$TMP/j" '[m["full_name"] for m in d["members"]]')" >&2; return 1; }
}
check "a commune's bundle holds only what it may read" scoped

fix_and_resubmit() {
	ml c1 --json member show 109814123 >"$TMP/j" && [ "$(json "$TMP/j" 'd["state"]')" = returned ] &&
		ml c1 member edit 109814123 --hometown "Hà Nội" >/dev/null &&
		ml c1 member submit 109814123 >/dev/null && ship c1 dist &&
		ml dist --json member approve 109814123 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["members"][0]["changes"]')" = 2 ] &&
		ship dist c1 && ml c1 --json member show 109814123 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["state"]')" = official ] &&
		[ "$(json "$TMP/j" 'd["official"]["hometown"]')" = "Hà Nội" ] &&
		[ "$(json "$TMP/j" 'd["conflicts"]')" = 0 ]
}
check "a returned record is fixed, resubmitted and approved without a conflict" fix_and_resubmit

edit_stays_draft() {
	ml c1 member edit 109814122 --phone 0912345678 >/dev/null &&
		ml c1 --json member show 109814122 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["official"].get("phone","-")')" = - ] &&
		[ "$(json "$TMP/j" 'd["draft"]["phone"]')" = 0912345678 ] &&
		[ "$(json "$TMP/j" 'd["pending_changes"]')" = 1 ]
}
check "an edit of an official record stays a draft until approved" edit_stays_draft

transfer() {
	ml c1 member transfer 109814124 --to "CĐCS Phường Gia Thụy" >/dev/null &&
		ml c1 member submit 109814124 >/dev/null && ship c1 dist &&
		ml dist member approve 109814124 >/dev/null && ship dist c2 &&
		ml c2 member receive 109814124 >/dev/null && ml c2 member submit 109814124 >/dev/null &&
		ship c2 dist && ml dist member approve 109814124 >/dev/null &&
		ship dist c2 && ml c2 --json member show 109814124 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["unit_name"]')" = "CĐCS Phường Gia Thụy" ] &&
		[ "$(json "$TMP/j" 'd["status"]')" = active ]
}
check "a transfer between communes: out, approved, received, approved" transfer


reduce() {
	ml c1 member reduce 109814123 --reason left_job --date 01/03/2024 >/dev/null &&
		ml c1 member submit 109814123 >/dev/null && ship c1 dist &&
		ml dist member approve 109814123 >/dev/null &&
		ml dist --json member show 109814123 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["status"]')" = reduced ] &&
		[ "$(json "$TMP/j" 'd["official"]["reduce_reason"]')" = left_job ]
}
check "a reduction becomes official once approved" reduce

check "search ignores diacritics, đ included" bash -c "
	'$ML' --home '$TMP/dist' --json member search 'tran thi be' | grep -q 'Trần Thị Bé' &&
	'$ML' --home '$TMP/dist' --json member search 'NGUYEN tuan' | grep -q 'Nguyễn Tuấn Phước' &&
	'$ML' --home '$TMP/dist' --json member search 'Le Van' | grep -q 'Lê Văn Lương'"

history() {
	ml dist --json member history 109814123 >"$TMP/j" &&
		[ "$(json "$TMP/j" '" ".join(e["type"] for e in d["history"])')" = \
			"member_create member_submit member_reject member_update member_submit member_approve member_reduce member_submit member_approve" ] &&
		[ "$(json "$TMP/j" 'all(e["verdict"]=="applied" and e["signature"]=="verified" for e in d["history"])')" = True ]
}
check "history lists every signed change in order with its verdict" history
returned() { # the commune's officer reads why the district sent the record back
	ml c1 --json member history 109814123 >"$TMP/j" &&
		[ "$(json "$TMP/j" '[e.get("rejection_reason") for e in d["history"] if e["type"] == "member_reject"][0]')" = "thiếu quê quán" ] &&
		ml c1 member history 109814123 | grep -q "returned: thiếu quê quán"
}
check "the commune's history shows why the district returned the record" returned

converge() {
	ship dist nat && ship nat aud && ship c1 aud && ship c2 aud && ship dist aud &&
		[ "$(hash_of nat)" = "$(hash_of aud)" ] && [ "$(hash_of dist)" = "$(hash_of aud)" ]
}
check "national, district and auditor nodes reach the same state hash" converge

check "audit verify holds on a clean store" expect 0 aud audit verify

tamper() {
	cp -r "$TMP/aud" "$TMP/t1" && cp -r "$TMP/aud" "$TMP/t2" && cp -r "$TMP/aud" "$TMP/t3" &&
		"$PY" - "$TMP" <<-'EOF'
			import sqlite3, sys
			t = sys.argv[1]
			c = sqlite3.connect(t + "/t1/memberlog.db")
			c.execute("UPDATE members SET full_name = 'Người Khác' WHERE id_number = '109814122'")
			c.commit()
			c = sqlite3.connect(t + "/t2/memberlog.db")
			c.execute("UPDATE ops SET status = 3, code = -979 WHERE rowid = (SELECT max(rowid) FROM ops)")
			c.commit()
			c = sqlite3.connect(t + "/t3/memberlog.db")
			key, raw = c.execute("SELECT key, raw FROM ops WHERE instr(raw, CAST('Bé' AS BLOB)) > 0").fetchone()
			raw = raw.replace("Bé".encode(), "Bo".encode() + b"")[:len(raw)]
			c.execute("UPDATE ops SET raw = ? WHERE key = ?", (raw, key))
			c.commit()
		EOF
	expect 1 t1 audit verify && grep -q 'members table differs' "$TMP/err" &&
		expect 1 t2 audit verify && grep -q 'stored verdict' "$TMP/err" &&
		expect 1 t3 audit verify && grep -q 'fails verification' "$TMP/err"
}
check "audit verify finds an edited name, a flipped verdict and altered op bytes" tamper

nothing_written() {
	local before after
	before=$(hash_of c1)
	"$@" || return 1
	after=$(hash_of c1)
	[ "$before" = "$after" ] || { echo "the store changed" >&2; return 1; }
}

import_template() {
	ml c1 --json import "$SRC/tests/fixtures/phuluc03-sample.csv" --unit "CĐCS Phường Bồ Đề" --dry-run >"$TMP/j" &&
		[ "$(json "$TMP/j" 'len(d["members"])')" = 9 ] &&
		# the sample rows enter as drafts, genders from the date column, positions from the x-marks
	ml c1 import "$SRC/tests/fixtures/phuluc03-sample.csv" --unit "CĐCS Phường Bồ Đề" >/dev/null &&
		ml c1 --json member list --state draft >"$TMP/j" &&
		[ "$(json "$TMP/j" 'len(d["members"])')" = 9 ] &&
		ml c1 --json member show "$(json "$TMP/j" '[m["id"] for m in d["members"] if m["full_name"]=="Lê Bá Đạt"][0]')" >"$TMP/m" &&
		[ "$(json "$TMP/m" 'd["draft"]["gender"]')" = female ] &&
		[ "$(json "$TMP/m" 'd["draft"]["positions"]')" = "['chair', 'group_deputy']" ] &&
		ml c1 --json member show "$(json "$TMP/j" '[m["id"] for m in d["members"] if m["full_name"]=="Huỳnh Lê Tuấn Anh"][0]')" >"$TMP/m" &&
		[ "$(json "$TMP/m" 'd["draft"]["is_full_time_cadre"]')" = True ]
}
check "the Phụ lục 03 sample imports as nine drafts, read as the template says" import_template

bad_template() {
	{
		sed -n 1,3p "$SRC/tests/fixtures/phuluc03-sample.csv"
		echo "1,Hồ Văn A,31/02/1990,,Hà Nội,109814199,,,,,,,,11/02/2012,"
		echo "2,Hồ Văn B,11/02/1990,11/02/1990,Hà Nội,10981419,,,,,,,,11/02/2012,"
		echo "3,,11/02/1990,,Hà Nội,109814198,y,,,,,,,,"
	} >"$TMP/bad.csv"
	"$ML" --home "$TMP/c1" import "$TMP/bad.csv" --unit "CĐCS Phường Bồ Đề" 2>"$TMP/e"
	[ $? -eq 1 ] && grep -q 'row 4, column 3' "$TMP/e" && grep -q 'row 5, column 4' "$TMP/e" &&
		grep -q 'row 5, column 6' "$TMP/e" && grep -q 'row 6, column 2' "$TMP/e" &&
		grep -q 'row 6, column 7' "$TMP/e" && grep -q 'row 6, column 14' "$TMP/e" &&
		grep -q 'nothing was imported' "$TMP/e"
}
check "a template with bad rows lists every problem by row and column" nothing_written bad_template
check "a file that is not the template is refused" nothing_written bash -c "
	printf 'a,b\\n1,2\\n' >'$TMP/other.csv' &&
	'$ML' --home '$TMP/c1' import '$TMP/other.csv' --unit 'CĐCS Phường Bồ Đề' 2>'$TMP/e'; [ \$? -eq 1 ] &&
	grep -q 'not the new-member template' '$TMP/e'"
check "an unreadable file is refused" nothing_written expect 1 c1 import "$TMP/no-such-file.xlsx" --unit "CĐCS Phường Bồ Đề"

export_list() {
	ml c1 export --unit "CĐCS Phường Bồ Đề" -o "$TMP/list.xlsx" >/dev/null &&
		ml c1 export --unit "CĐCS Phường Bồ Đề" -o "$TMP/list.csv" >/dev/null &&
		"$PY" - "$TMP/list.xlsx" "$TMP/list.csv" <<-'EOF'
			import sys, zipfile, re
			z = zipfile.ZipFile(sys.argv[1])
			text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
			for want in ["DANH SÁCH CHI TIẾT", "Thời gian xuất", "Mã số đoàn viên", "Lê Văn Lương", "Hồ Tuấn Tài", "109814130"]:
			    assert want in text, want
			csv = open(sys.argv[2], encoding="utf-8-sig").read().splitlines()
			assert csv[0].startswith("DANH SÁCH CHI TIẾT"), csv[0]
			assert csv[3].startswith("TT,Mã số đoàn viên,Họ và tên"), csv[3]
			assert len(csv) == 4 + 12, len(csv)  # 3 entered at first + 9 imported
		EOF
}
check "the detailed list exports as .xlsx and .csv with the official headers" export_list

cards() {
	local num
	num=$(json "$TMP/approve.json" '[m["number"] for m in d["members"] if m["full_name"]=="Lê Văn Lương"][0]')
	ml c1 member card "$num" --type ordinary >/dev/null && ml c1 member submit "$num" >/dev/null &&
		ship c1 dist && ml dist member approve "$num" >/dev/null &&
		ml dist --json export --unit "LĐLĐ quận Long Biên" --cards -o "$TMP/cards.csv" >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["members"]')" = 1 ] && grep -q 'Thẻ thông thường' "$TMP/cards.csv"
}
check "the card list holds the approved members who requested a card" cards

photo() {
	# a photo is a content-addressed blob beside the store, its hash in the record
	printf '\x89PNG\r\n\x1a\n-a-tiny-test-image-' >"$TMP/p.png" &&
		ml c1 --json member add --unit "CĐCS Phường Bồ Đề" --name "Đỗ Thị Ảnh" --id-number 001190000777 \
			--join-date 01/01/2020 --photo "$TMP/p.png" >"$TMP/j" &&
		ml c1 --json member show "$(json "$TMP/j" 'd["member"]')" >"$TMP/m" &&
		h=$(json "$TMP/m" 'd["draft"]["photo"]') && [ ${#h} = 64 ] &&
		cmp "$TMP/p.png" "$TMP/c1/blobs/$h" &&
		[ "$h" = "$("$PY" -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' "$TMP/p.png")" ]
}
check "a photo is stored as a blob named by its BLAKE2b-256 hash" photo
check "a file that is not a photo is refused" nothing_written bash -c "
	'$ML' --home '$TMP/c1' member add --unit 'CĐCS Phường Bồ Đề' --name 'Đỗ Văn B' --id-number 001190000778 --join-date 01/01/2020 --photo '$TMP/list.csv' 2>'$TMP/e'
	[ \$? -eq 1 ] && grep -q 'not a JPEG or PNG' '$TMP/e'"

# --- bad input: a clear message, exit 1 or 2, and nothing written -------------

check "a wrong date is refused, naming the field" nothing_written bash -c "
	! '$ML' --home '$TMP/c1' member add --unit 'CĐCS Phường Bồ Đề' --name 'Hồ Tuấn Tài' --id-number 109814130 --join-date 31/02/2012 2>'$TMP/e' &&
	grep -q 'union_join_date' '$TMP/e'"
check "an ID number of the wrong length is refused" nothing_written bash -c "
	'$ML' --home '$TMP/c1' member add --unit 'CĐCS Phường Bồ Đề' --name 'Hồ Tuấn Tài' --id-number 1098141 --join-date 11/02/2012 2>'$TMP/e'
	[ \$? -eq 1 ] && grep -q 'id_number' '$TMP/e'"
check "an unknown unit is refused" nothing_written expect 1 c1 member add --unit "Nowhere" --name "Hồ Tuấn Tài" --id-number 109814130 --join-date 11/02/2012
check "approving outside one's authority is refused" nothing_written bash -c "
	'$ML' --home '$TMP/c1' member approve 109814122 2>'$TMP/e'; [ \$? -eq 1 ]"
check "an unknown command is a usage error" expect 2 c1 frobnicate
check "an unknown verb is a usage error" expect 2 c1 member frobnicate
check "a missing operand is a usage error" expect 2 c1 member reject 109814122
check "an unknown level is a usage error" expect 2 nat unit create --parent "$NET" --name X --level galaxy

check "a bundle for another device cannot be read" bash -c "
	'$ML' --home '$TMP/c1' bundle import '$TMP/dist-to-c2.mlb' 2>'$TMP/e'; [ \$? -eq 1 ] &&
	grep -q 'not to this device' '$TMP/e'"
check "a cut bundle is refused and imports nothing" nothing_written bash -c "
	head -c 300 '$TMP/dist-to-c1.mlb' >'$TMP/cut.mlb' &&
	'$ML' --home '$TMP/c1' bundle import '$TMP/cut.mlb' 2>'$TMP/e'; [ \$? -eq 1 ] && grep -q 'nothing was imported' '$TMP/e'"
check "an altered bundle is refused and imports nothing" nothing_written bash -c "
	cp '$TMP/dist-to-c1.mlb' '$TMP/bad.mlb' &&
	printf 'X' | dd of='$TMP/bad.mlb' bs=1 seek=200 conv=notrunc 2>/dev/null &&
	'$ML' --home '$TMP/c1' bundle import '$TMP/bad.mlb' 2>'$TMP/e'; [ \$? -eq 1 ] && grep -q 'altered' '$TMP/e'"
check "a file that is not a bundle is refused" nothing_written bash -c "
	echo hello >'$TMP/x.mlb' && '$ML' --home '$TMP/c1' bundle import '$TMP/x.mlb' 2>'$TMP/e'; [ \$? -eq 1 ] &&
	grep -q 'not a memberlog bundle' '$TMP/e'"

done_testing
