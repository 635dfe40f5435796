#!/usr/bin/env bash
# t0001: the memberlog command on the op log - init, device show, op decode,
# feed verify and demo - as real processes on real files.
. "$(dirname "$0")/lib.sh"

home=$TMP/home
vectors=$SRC/tests/fuzz/corpus/op_decode

check "init creates a 0600 device key" bash -c "
	'$ML' --home '$home' init | grep -q 'created device key' &&
	[ \"\$(stat -c %a '$home/device.key')\" = 600 ] &&
	[ \"\$(stat -c %a '$home')\" = 700 ]"

check "init refuses to replace an existing key" bash -c "
	! '$ML' --home '$home' init 2>'$TMP/e' && grep -q 'already exists' '$TMP/e'"

check "device show prints the key init created" bash -c "
	k1=\$('$ML' --home '$home' --json device show | grep -o '[0-9a-f]\{64\}') &&
	k2=\$('$ML' --home '$home' device show) && [ \"\$k1\" = \"\$k2\" ]"

check "a key readable by others is refused with the fix" bash -c "
	chmod 644 '$home/device.key' &&
	! '$ML' --home '$home' device show 2>'$TMP/e' && grep -q 'chmod 600' '$TMP/e';
	rc=\$?; chmod 600 '$home/device.key'; exit \$rc"

check "a missing key says to run init" bash -c "
	'$ML' --home '$TMP/nowhere' device show 2>'$TMP/e'; [ \$? -eq 1 ] &&
	grep -q 'memberlog init' '$TMP/e'"

check "op decode checks and prints a vector" bash -c "
	'$ML' --json op decode '$vectors/member_batch_3_of_3' >'$TMP/j' &&
	grep -q '\"id\": \"' '$TMP/j' && grep -q '\"signed\": true' '$TMP/j' &&
	grep -q 'Lê Bá Đạt' '$TMP/j'"

check "op decode rejects a bad signature with its error name" bash -c "
	'$ML' op decode '$vectors/bad_signature' 2>'$TMP/e'; [ \$? -eq 1 ] &&
	grep -q ML_EBADSIG '$TMP/e'"

check "op decode --net refuses another network" bash -c "
	! '$ML' op decode --net $(printf '%064d' 0) '$vectors/member_batch_3_of_3' 2>'$TMP/e' &&
	grep -q ML_EWRONGNET '$TMP/e'"

check "usage errors exit 2" bash -c "
	exits() { \"\$@\" >/dev/null 2>&1; echo \$?; }
	[ \$(exits '$ML' frobnicate) = 2 ] && [ \$(exits '$ML' op) = 2 ] &&
	[ \$(exits '$ML' --bogus init) = 2 ] && [ \$(exits '$ML' op decode) = 2 ]"

check "demo writes a log that verifies, and catches the forgery" bash -c "
	'$ML' demo --dir '$TMP/demo' >'$TMP/demo.out' &&
	grep -q 'evidence record' '$TMP/demo.out' &&
	'$ML' feed verify '$TMP/demo/log.cbor' | grep -q '6 ops: 6 authentic, 0 awaiting a signature, 0 rejected'"

check "feed verify exits 3 on the forged log" bash -c "
	'$ML' feed verify '$TMP/demo/log-forged.cbor' >'$TMP/o'; [ \$? -eq 3 ] &&
	grep -q '3 rejected' '$TMP/o'"

check "feed verify --json describes feeds and verdicts" bash -c "
	'$ML' --json feed verify '$TMP/demo/log.cbor' >'$TMP/j' &&
	grep -q '\"clean\": true' '$TMP/j' && grep -c '\"verdict\": \"authentic\"' '$TMP/j' | grep -qx 6"

check "feed verify reports a batch without its signature as pending" bash -c "
	cat '$vectors/member_batch_1_of_3' '$vectors/member_batch_2_of_3' >'$TMP/tail.cbor' &&
	'$ML' feed verify '$TMP/tail.cbor' >'$TMP/o'; [ \$? -eq 3 ] &&
	grep -q '2 awaiting a signature' '$TMP/o'"

check "feed verify survives garbage after good ops" bash -c "
	{ cat '$TMP/demo/log.cbor'; printf '\xff\xfe\x00garbage'; } >'$TMP/g.cbor' &&
	'$ML' feed verify '$TMP/g.cbor' >'$TMP/o' 2>'$TMP/e'; [ \$? -eq 3 ] &&
	grep -q 'cannot read past byte' '$TMP/e' && grep -q '6 authentic' '$TMP/o'"

check "the demo's fork evidence file is the protocol's record" bash -c "
	[ -s '$TMP/demo/fork-evidence.cbor' ] && head -c 3 '$TMP/demo/fork-evidence.cbor' | od -An -tx1 | grep -q 'a3 61 61'"

done_testing
