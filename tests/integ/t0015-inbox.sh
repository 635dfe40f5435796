#!/usr/bin/env bash
# t0015: a node receiving from several peers at once keeps its inboxes
# bounded and loses nothing (net/inbox.c, docs/PROTOCOL.md §12.5).  Three
# nodes hold the same few thousand members; two more, empty but for the
# tree, each dial all three at once with the inbox bounds made small
# (MEMBERLOG_TEST_INBOX_KIB=PEER,ALL):
#   - hub1, 1 KiB a peer: every OPS frame stops its connection's reading;
#   - hub2, 1,000 KiB a peer but 400 KiB for all peers together: every
#     full frame (512 KiB) stops its connection's reading for the bound on all,
#     and that connection must read again once its own frame is ingested,
#     whatever the others hold.
# Every connection must read again and each hub must end with the register
# its peers hold.  The hub relays none of it: each peer said in its round
# that it holds those feeds (the hub lacked them), so what arrives from one
# peer is not sent to the others.
. "$(dirname "$0")/lib.sh"
exec 3>&1 # notes that reach the log even from inside a check

. "$(dirname "$0")/lib_daemon.sh"
trap 'stop_daemons; rm -rf "$TMP"' EXIT
ROWS=3000

setup() {
	ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1 &&
		NET=$(ml nat --json network show | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		ml nat unit create --parent "$NET" --name "LĐLĐ tỉnh Điện Biên" --level province >/dev/null &&
		ml nat unit create --parent "LĐLĐ tỉnh Điện Biên" --name "CĐCS Xã Mường Nhé" --level base_union >/dev/null &&
		ml nat grant "$(ml nat device show | head -1)" --unit "CĐCS Xã Mường Nhé" --role officer >/dev/null &&
		serve nat && for n in m1 m2 hub1 hub2; do join nat $n "$NET" auditor || return 1; done
}
check "a national node, officer of a commune too, serves; four devices join it as auditors" setup

fill() {
	ml nat sample -o "$TMP/members.csv" --rows $ROWS --seed 15 >/dev/null &&
		ml nat import "$TMP/members.csv" --unit "CĐCS Xã Mường Nhé" >/dev/null &&
		ml m1 sync "$ADDR_nat" >/dev/null && ml m2 sync "$ADDR_nat" >/dev/null &&
		[ "$(ml m1 state-hash)" = "$(ml nat state-hash)" ] &&
		[ "$(ml m2 state-hash)" = "$(ml nat state-hash)" ] &&
		[ "$(ml hub1 state-hash)" != "$(ml nat state-hash)" ] &&
		[ "$(ml hub2 state-hash)" != "$(ml nat state-hash)" ]
}
check "the national node imports $ROWS members; two nodes copy them, the hubs not yet" fill

same_as_nat() { [ "$(ml "$1" state-hash)" = "$(ml nat state-hash)" ]; }
members_of() {
	ml "$1" --json member list --unit "CĐCS Xã Mường Nhé" --state draft |
		"$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))'
}
# hub_syncs HUB PEER_KIB,ALL_KIB: the hub dials all three with those bounds and gets everything.
hub_syncs() {
	serve "$1" --peer "$ADDR_nat" --peer "$ADDR_m1" --peer "$ADDR_m2" &&
		wait_for 60 same_as_nat "$1" && [ "$(members_of "$1")" = $ROWS ] &&
		ml "$1" peers >"$TMP/$1.peers" && sed 's/^/# /' "$TMP/$1.peers" >&3 &&
		[ "$(grep -c '^peer .* synced .* paused [1-9][0-9]*$' "$TMP/$1.peers")" = 3 ] &&
		head -1 "$TMP/$1.peers" | grep -q ' ops-out 0 relayed 0 '
}
serve_m() { serve m1 && serve m2; }
check "the two copies serve" serve_m

hub1() {
	MEMBERLOG_TEST_INBOX_KIB=1,100000 hub_syncs hub1 &&
		head -1 "$TMP/hub1.peers" | grep -q ' paused-all 0$'
}
check "hub1 (1 KiB a peer) stops reading on every connection, reads again, gets all $ROWS members, relays none" hub1

hub2() {
	MEMBERLOG_TEST_INBOX_KIB=1000,400 hub_syncs hub2 &&
		head -1 "$TMP/hub2.peers" | grep -q ' paused-all [1-9][0-9]*$'
}
check "hub2 (400 KiB for all) stops reading for the bound on all, reads again, gets all $ROWS members, relays none" hub2

done_testing
