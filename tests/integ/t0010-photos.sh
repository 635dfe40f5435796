#!/usr/bin/env bash
# t0010: members' photos on demand between real `memberlog serve` processes
# (docs/PROTOCOL.md §12.7).  A commune enters a member with a photo while
# offline; a relaying device delivers the ops first and answers the
# district's request with bytes of another hash (dropped, nothing stored);
# the commune's `sync` then sends the real photo, and the district passes it
# on to the province and the national node at once (they had asked before
# it arrived).  Another commune never gets it, even when it asks; a photo
# nobody asked for drops the sender; every copy is byte-identical.
. "$(dirname "$0")/lib.sh"
HOSTILE=${HOSTILE:?set HOSTILE to the tests/tools/hostile binary}
. "$(dirname "$0")/lib_daemon.sh"
trap 'stop_daemons; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
key_of() { ml "$1" device show | head -1; }

setup() {
	ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1 &&
		NET=$(ml nat --json network show | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		ml nat unit create --parent "$NET" --name "LĐLĐ tỉnh Lào Cai" --level province >/dev/null &&
		ml nat unit create --parent "LĐLĐ tỉnh Lào Cai" --name "LĐLĐ huyện Bát Xát" --level district >/dev/null &&
		for c in "Xã Y Tý" "Xã A Lù"; do
			ml nat unit create --parent "LĐLĐ huyện Bát Xát" --name "CĐCS $c" --level base_union >/dev/null || return 1
		done &&
		ml nat numbers delegate --unit "LĐLĐ tỉnh Lào Cai" --count 100000 >/dev/null &&
		serve nat --anti-entropy 3600 &&
		join nat prov "LĐLĐ tỉnh Lào Cai" admin && serve prov --peer "$ADDR_nat" --anti-entropy 3600 &&
		ml prov numbers delegate --unit "LĐLĐ huyện Bát Xát" --count 1000 >/dev/null &&
		join prov dist "LĐLĐ huyện Bát Xát" admin && serve dist --peer "$ADDR_prov" &&
		ml prov grant "$(key_of dist)" --unit "LĐLĐ huyện Bát Xát" --role approver >/dev/null &&
		wait_for 10 bash -c "'$ML' --home '$TMP/dist' device show | grep -q approver" &&
		join dist ca "CĐCS Xã Y Tý" officer && join dist cb "CĐCS Xã A Lù" officer &&
		join dist relay "LĐLĐ huyện Bát Xát" auditor && join dist asker "LĐLĐ huyện Bát Xát" auditor
}
check "national, province and district serve; two communes and two auditor devices join" setup

# A photo of 700 kB: a JPEG header, then bytes no compression would shrink.
offline_photo() {
	"$PY" -c 'import os,sys; open(sys.argv[1],"wb").write(b"\xff\xd8\xff\xe0" + os.urandom(700000))' "$TMP/mai.jpg" &&
		ml ca --json member add --unit "CĐCS Xã Y Tý" --name "Lò Thị Mai" --dob 03/04/1995 --gender female \
			--id-number 010195000123 --join-date 01/05/2018 --photo "$TMP/mai.jpg" >"$TMP/j" &&
		MEMBER=$(json "$TMP/j" 'd["member"]') && ml ca member submit "$MEMBER" >/dev/null &&
		ml ca --json member show "$MEMBER" >"$TMP/m" && PHOTO=$(json "$TMP/m" 'd["draft"]["photo"]') &&
		[ ${#PHOTO} = 64 ] && ml ca member photo "$MEMBER" "$TMP/ca.jpg" --state draft >/dev/null &&
		cmp "$TMP/mai.jpg" "$TMP/ca.jpg"
}
check "a commune enters a member with a 700 kB photo while offline; 'member photo' gives it back" offline_photo

# The relaying auditor delivers the commune's ops, then answers the district's photo request
# with other bytes: dropped; the district keeps the ops (they are genuine) but not the bytes.
tampered() {
	ml ca bundle export -o "$TMP/ca.ops" --unencrypted >/dev/null &&
		"$HOSTILE" photo-tamper "$ADDR_dist" --network "$NET" --key "$TMP/relay/device.key" \
			--ops "$TMP/ca.ops" >"$TMP/h" && cat "$TMP/h" && grep -q 'asked for 1 photos' "$TMP/h" &&
		wait_for 10 ml dist member show "$MEMBER" &&
		! ml dist member photo "$MEMBER" "$TMP/x.jpg" --state draft 2>"$TMP/e" &&
		grep -q 'not on this node yet' "$TMP/e" && [ -z "$(ls -A "$TMP/dist/blobs" 2>/dev/null)" ]
}
check "a peer answering a photo request with bytes of another hash is dropped; nothing stored" tampered

# The ops went on to the province and the national node, which asked the district for the
# photo before it had it: the district sends it on when it arrives.  (Their rounds are an hour
# apart: only that debt can bring it within the test's bounds.)
relayed() {
	wait_for 10 ml nat member show "$MEMBER" &&
		ml ca --json sync "$ADDR_dist" >"$TMP/s" && [ "$(json "$TMP/s" 'd["photos_out"]')" = 1 ] &&
		ml dist member photo "$MEMBER" "$TMP/dist.jpg" --state draft >/dev/null &&
		cmp "$TMP/mai.jpg" "$TMP/dist.jpg" &&
		wait_for 10 ml prov member photo "$MEMBER" "$TMP/prov.jpg" --state draft &&
		wait_for 10 ml nat member photo "$MEMBER" "$TMP/nat.jpg" --state draft &&
		cmp "$TMP/mai.jpg" "$TMP/prov.jpg" && cmp "$TMP/mai.jpg" "$TMP/nat.jpg"
}
check "the commune's sync sends the photo; district, province and national hold identical bytes" relayed

# Twelve photos: batches of 8, answers arriving while others are outstanding; nobody is banned.
many() {
	for i in $(seq 10 21); do
		"$PY" -c 'import os,sys; open(sys.argv[1],"wb").write(b"\x89PNG\r\n\x1a\n" + os.urandom(20000))' "$TMP/p$i.png" &&
			ml ca member add --unit "CĐCS Xã Y Tý" --name "Sùng A Chá $i" --id-number 0101950001$i \
				--join-date 01/05/2018 --photo "$TMP/p$i.png" >/dev/null || return 1
	done
	ml ca --json sync "$ADDR_dist" >"$TMP/s" && [ "$(json "$TMP/s" 'd["photos_out"]')" = 12 ] &&
		ml ca --json sync "$ADDR_dist" >"$TMP/s" && [ "$(json "$TMP/s" 'd["photos_out"]')" = 0 ] &&
		[ "$(ls "$TMP/dist/blobs" | wc -l)" = 13 ] &&
		wait_for 10 bash -c "[ \$(ls '$TMP/nat/blobs' | wc -l) = 13 ]" &&
		! grep -q 'not asked for\|was not sent\|unanswered' "$TMP"/*.log
}
check "twelve photos in one sync: all arrive once, relayed on, and no honest peer is dropped" many

approved() {
	ml dist member approve "$MEMBER" >/dev/null &&
		wait_for 10 ml ca member photo "$MEMBER" "$TMP/ca2.jpg" && cmp "$TMP/mai.jpg" "$TMP/ca2.jpg"
}
check "after approval the official record's photo is the same file" approved

private() {
	ml cb sync "$ADDR_dist" >/dev/null && ! ml cb member show "$MEMBER" >/dev/null 2>&1 &&
		[ -z "$(ls -A "$TMP/cb/blobs" 2>/dev/null)" ] &&
		"$HOSTILE" photo-want "$ADDR_dist" --network "$NET" --key "$TMP/cb/device.key" --hash "$PHOTO" >"$TMP/h" &&
		cat "$TMP/h" && grep -q declined "$TMP/h" &&
		"$HOSTILE" photo-want "$ADDR_dist" --network "$NET" --key "$TMP/asker/device.key" --hash "$PHOTO" >"$TMP/h" &&
		cat "$TMP/h" && grep -q 'given 700004 bytes' "$TMP/h"
}
check "another commune neither receives nor may fetch the photo; a device whose scope holds it may" private

unasked() {
	"$HOSTILE" photo-unasked "$ADDR_dist" --network "$NET" --key "$TMP/cb/device.key" >"$TMP/h" &&
		cat "$TMP/h" && grep -q '^ok' "$TMP/h" && grep -q 'not asked for' "$TMP/dist.log"
}
check "a photo nobody asked for drops the sender" unasked

healthy() {
	ml dist peers | grep '^peer .* outgoing synced' | grep -q 'photos-out 13 ' &&
		ml dist audit verify >/dev/null && [ "$(ml dist state-hash)" = "$(ml prov state-hash)" ] &&
		stop nat && stop prov && stop dist
}
check "the district still serves its peers, its audit is clean, hashes agree; all stop cleanly" healthy

done_testing
