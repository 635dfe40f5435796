#!/usr/bin/env bash
# t0007: hostile peers against a real `memberlog serve` (docs/PROTOCOL.md
# §12.5).  A national node and a district node (joined by invite) run on
# loopback; tests/tools/hostile connects to the national node and misbehaves
# in one way per check: garbage, another network, another version, a
# slowloris handshake, a device with no grant, and, with devices that hold a
# grant (auditors joined by invite, never the district's key), an oversize
# frame, a tampered frame, a forged op, a flood, a peer that never reads and
# unsigned ops in fresh feeds.  After each: the node is alive, `memberlog
# peers` answers, and the district still receives what the national node
# writes.  A misbehaving known device is banned for a while, then admitted
# again.  At the end the refusals are counted by reason, the national node's
# state hash equals the district's (only the honest changes got in), and
# `memberlog audit verify` passes.  Last (not under AddressSanitizer: slow), a
# device fills the buffer of ops waiting for signatures, and an honest
# 1,500-member batch must still reach the national node.
. "$(dirname "$0")/lib.sh"

HOSTILE=${HOSTILE:?set HOSTILE to the tests/tools/hostile binary}
. "$(dirname "$0")/lib_daemon.sh"
trap 'stop_daemons; rm -rf "$TMP"' EXIT

setup() {
	ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1 &&
		NET=$(ml nat --json network show | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		ml nat unit create --parent "$NET" --name "LĐLĐ tỉnh Hà Giang" --level province >/dev/null &&
		ml nat unit create --parent "LĐLĐ tỉnh Hà Giang" --name "LĐLĐ huyện Đồng Văn" --level district >/dev/null &&
		ml nat numbers delegate --unit "LĐLĐ tỉnh Hà Giang" --count 100000 >/dev/null &&
		serve nat
}
check "the national node creates the tree and serves" setup

district() {
	join nat dist "LĐLĐ huyện Đồng Văn" admin && serve dist --peer "$ADDR_nat" &&
		wait_for 10 bash -c "'$ML' --home '$TMP/nat' peers | grep -q '^peer .* synced'"
}
check "the district joins by invite and keeps a connection to the national node" district

# The hostile client's known devices: auditors joined by invite, one per misbehaviour (a
# misbehaving device is banned, so each needs its own key); never the district's key.
KNOWN=(oversize tamper forged flood noread unsigned garbled)
auditors() {
	for h in "${KNOWN[@]}"; do join nat "h-$h" "LĐLĐ tỉnh Hà Giang" auditor || return 1; done
	local dist_key
	dist_key=$(ml dist device show | head -1)
	for h in "${KNOWN[@]}"; do [ "$(ml "h-$h" device show | head -1)" != "$dist_key" ] || return 1; done
}
check "seven auditor devices join by invite for the hostile client (keys other than the district's)" auditors

same_hash() { [ "$(ml nat state-hash)" = "$(ml dist state-hash)" ]; }
# status_of NODE: "ops applied rejected waiting unverified forks" of its store.
status_of() {
	ml "$1" --json status | "$PY" -c 'import json,sys; d=json.load(sys.stdin)
print(*(d[k] for k in ("ops", "applied", "rejected", "waiting", "unverified", "forks")))'
}
before() {
	wait_for 20 same_hash && HASH0=$(ml nat state-hash) &&
		ml nat bundle export -o "$TMP/real.ops" --unencrypted >/dev/null &&
		STATUS0=$(status_of nat)
}
check "before the attacks: national and district hold the same register" before

# --- one attack -------------------------------------------------------------------------------

HONEST=0
dist_has() { ml dist unit list | grep -q "$1"; }
# survives: the node is alive, 'peers' answers, a unit created at the national node reaches the district.
survives() {
	HONEST=$((HONEST + 1))
	kill -0 "$PID_nat" && ml nat peers | head -1 | grep -q '^node listening 127.0.0.1:' &&
		ml nat unit create --parent "LĐLĐ huyện Đồng Văn" --name "CĐCS trung thực $HONEST" \
			--level base_union >/dev/null &&
		wait_for 10 dist_has "CĐCS trung thực $HONEST"
}

# attack MODE PATTERN [ARGS...]: runs the hostile client against the national node; it must
# exit 0 (the node reacted as §12 says) and the node's log must gain a line matching PATTERN.
attack() {
	local mode=$1 pattern=$2
	shift 2
	LOG_AT=$(wc -l <"$TMP/nat.log")
	"$HOSTILE" "$mode" "$ADDR_nat" --network "$NET" "$@" >"$TMP/hostile.out" 2>&1
	local rc=$?
	cat "$TMP/hostile.out"
	[ "$rc" -eq 0 ] && wait_for 3 log_has "$pattern"
}
log_has() { tail -n +"$((LOG_AT + 1))" "$TMP/nat.log" | grep -q "$1"; }
# report: the hostile client's line and the node's log lines of the attack, as TAP comments.
report() {
	sed 's/^/#   hostile: /' "$TMP/hostile.out"
	tail -n +"$((LOG_AT + 1))" "$TMP/nat.log" | sed 's/^/#   serve: /'
}
key() { echo "$TMP/h-$1/device.key"; }

round() { # round TITLE MODE PATTERN [ARGS...]
	local title=$1
	shift
	check "$title" attack "$@"
	report
	check "  ... then the node is alive, answers 'peers', and the district still syncs" survives
}

round "garbage ('GET / HTTP/1.1') is dropped at the first wrong byte" \
	garbage 'does not speak memberlog'
round "a HELLO of another network is dropped" \
	wrong-network 'belongs to another network'
round "a HELLO of protocol version 2 is dropped" \
	bad-version 'protocol version 2'
round "a device with no grant is sent REFUSE and dropped" \
	unknown-device 'unknown device'
round "a known device sending a 2 MiB frame header is dropped" \
	oversize 'frame of 2097152 bytes' --key "$(key oversize)"

check "the device that sent the oversize frame is banned: refused as having misbehaved" \
	attack banned 'misbehaved recently' --key "$(key oversize)"
report

round "a slowloris handshake (a byte every 500 ms) is dropped by the 10 s handshake timeout" \
	slowloris 'no handshake within'

check "the ban is for a while: after 10 s the device is admitted again" \
	attack accepted 'connected, incoming' --key "$(key oversize)"
report

round "a known device sending a frame with a flipped ciphertext bit is dropped" \
	tamper 'altered or out of order' --key "$(key tamper)"
round "a known device sending an op with a wrong signature is dropped" \
	forged-ops 'fail verification' --key "$(key forged)" --ops "$TMP/real.ops"
round "a known device flooding PING frames is dropped for flooding" \
	flood 'flood' --key "$(key flood)"

# The peer that never reads while it makes the node send: the node keeps serving, its write
# queue stays bounded (§12.5: sending pauses at 8 MiB, 64 MiB piled up drops the peer), so its
# memory does not grow with what the peer refuses to read.  Under AddressSanitizer freed
# memory is held in a quarantine (256 MiB by default, filled within seconds by the node's
# SQLite queries), so RSS says nothing there: it is printed, not checked.
asan() { grep -qa __asan_init "$ML"; }
no_read() {
	LOG_AT=$(wc -l <"$TMP/nat.log")
	local before after hp
	before=$(awk '/VmRSS/ {print $2}' "/proc/$PID_nat/status")
	"$HOSTILE" no-read "$ADDR_nat" --network "$NET" --key "$(key noread)" --seconds 4 \
		>"$TMP/hostile.out" 2>&1 &
	hp=$!
	sleep 3.5
	ml nat peers >"$TMP/noread.peers"
	after=$(awk '/VmRSS/ {print $2}' "/proc/$PID_nat/status")
	wait "$hp" || { cat "$TMP/hostile.out"; return 1; }
	{
		echo "peers while it did not read (after 3.5 s):"
		grep -v '^node\|outgoing' "$TMP/noread.peers" | grep -v "$(ml dist device show | head -1 | cut -c1-16)"
		echo "VmRSS of the national node: $before kB before, $after kB while it did not read"
	} >>"$TMP/hostile.out"
	cat "$TMP/hostile.out"
	asan || [ "$after" -lt $((before + 64 * 1024)) ]
}
check "a known device that never reads does not make the node's memory grow without bound" no_read
report
check "  ... then the node is alive, answers 'peers', and the district still syncs" survives

# Unsigned ops cannot fail verification: each waits for a signature that never comes.  The
# node keeps serving; the ops change nothing (the final checks); they are kept, though (the
# count is printed, and the last check shows what that costs).
pending_at() {
	"$PY" -c 'import sqlite3,sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM pending").fetchone()[0])' "$TMP/$1/memberlog.db"
}
round "a known device sending 2,000 unsigned ops in fresh feeds does not stop the node" \
	unsigned-ops 'ops in 2000' --key "$(key unsigned)" --count 2000
echo "#   note: the national node now keeps $(pending_at nat) ops waiting for a signature (table pending)"

# OPS frames are checked on a pool thread and held in order; frames received whole before the
# connection ends are still ingested, then the peer is closed (a one-shot sync may hang up
# right after its last ops).  1,000 ops come as frames of 512, 256, ... 8: the close is read
# while some are still being checked.
PENDING_BEFORE=$(pending_at nat)
round "a known device that sends 1,000 unsigned ops and hangs up at once: every op is taken" \
	unsigned-ops 'the peer hung up; ops in 1000,' --key "$(key unsigned)" --count 1000 --hangup
took_all() { [ "$(pending_at nat)" -eq $((PENDING_BEFORE + 1000)) ]; }
check "  ... and the 1,000 ops wait in the national node's store" took_all
# A malformed frame behind them drops the peer at once, with frames still being checked.
round "a known device that sends 1,000 unsigned ops, then an OPS frame of junk, is dropped" \
	unsigned-ops 'malformed ops frame' --key "$(key garbled)" --count 1000 --then-garbage

bans_all() {
	local at
	at=$(wc -l <"$TMP/nat.log")
	: >"$TMP/hostile.all"
	for h in tamper forged flood; do
		attack banned 'misbehaved recently' --key "$(key $h)" || return 1
		cat "$TMP/hostile.out" >>"$TMP/hostile.all"
	done
	attack accepted 'connected, incoming' --key "$(key noread)" || return 1
	cat "$TMP/hostile.out" >>"$TMP/hostile.all" && mv "$TMP/hostile.all" "$TMP/hostile.out"
	LOG_AT=$at
}
check "the devices that misbehaved are banned; the one that only did not read is not" bans_all
report

# --- after the attacks ------------------------------------------------------------------------

count() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$TMP/peers.out"; }
refusals() {
	ml nat peers >"$TMP/peers.out" && head -1 "$TMP/peers.out" | sed 's/^/# /' &&
		[ "$(count network)" -ge 1 ] && [ "$(count protocol)" -ge 3 ] &&
		[ "$(count unknown)" -ge 1 ] && [ "$(count banned)" -ge 4 ]
}
check "'memberlog peers' counts the refusals by reason (network, protocol, unknown, banned)" refusals
head -1 "$TMP/peers.out" | sed 's/^/#   peers: /'

still_peer() { grep -q '^peer .* incoming synced' "$TMP/peers.out"; }
check "the district's connection to the national node was never dropped" still_peer

# Only the honest changes: one unit_create op per survives check, all applied; nothing
# rejected, waiting, unverified or forked was added; and the district holds the same register.
hashes() {
	local ops applied rest want
	read -r ops applied rest <<<"$STATUS0"
	want="$((ops + HONEST)) $((applied + HONEST)) $rest"
	wait_for 20 same_hash && [ "$(ml nat state-hash)" != "$HASH0" ] &&
		[ "$(status_of nat)" = "$want" ] &&
		for i in $(seq "$HONEST"); do ml nat unit list | grep -q "CĐCS trung thực $i" || return 1; done
}
check "the national node's register is the honest one: its state hash equals the district's" hashes
echo "#   status (ops applied rejected waiting unverified forks): before $STATUS0, after $(status_of nat), $HONEST honest units"

audit() { ml nat audit verify; }
check "'memberlog audit verify' passes on the national node" audit

# The buffer of ops waiting for a signature or a missing op (ML_STORE_MAX_WAITING, 200,000)
# is shared by all peers: a device with any grant fills it with unsigned ops in fresh feeds,
# none of which can fail verification, so it is neither dropped nor banned.  An honest batch
# that must wait (1,500 members imported at a commune: one batch over several OPS frames) must
# still reach the national node.  About 20 s without sanitizers; skipped under
# AddressSanitizer (too slow there) unless MEMBERLOG_SLOW_TESTS=1.
has_members() { # has_members NODE STATE UNIT COUNT
	[ "$(ml "$1" --json member list --unit "$3" --state "$2" 2>/dev/null |
		"$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')" = "$4" ]
}
waiting_fill() {
	local unit="CĐCS trung thực 1" t0
	join nat c1 "$unit" officer || return 1
	t0=$(date +%s)
	"$HOSTILE" unsigned-ops "$ADDR_nat" --network "$NET" --key "$(key unsigned)" --count 200000 ||
		return 1
	echo "# filled in $(($(date +%s) - t0)) s: the national node keeps $(pending_at nat) ops waiting for a signature"
	{
		echo 'TT,Họ và tên *,Ngày tháng năm sinh (ngày/tháng/năm),,Quê quán,Số CMND *,Chức vụ CĐ tại CĐCS,,,,,,,Ngày vào CĐ *,Mã thẻ'
		echo ',,Nam,Nữ,,,Chủ tịch,Phó chủ tịch,UVBCH,Tổ trưởng,Tổ phó,CB CĐCS thành viên CĐ,UVUBKT,,'
		echo '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15'
		for i in $(seq 1500); do
			echo "$i,Giàng Seo Páo $i,11/02/1990,,Hà Giang,$((109000000 + i)),,,,,,,,11/02/2012,"
		done
	} >"$TMP/members.csv"
	LOG_AT=$(wc -l <"$TMP/nat.log")
	ml c1 import "$TMP/members.csv" --unit "$unit" >/dev/null &&
		ml c1 member submit --unit "$unit" --all >/dev/null &&
		serve c1 --peer "$ADDR_nat" || return 1
	wait_for 10 has_members nat submitted "$unit" 1500 && return 0
	echo "# the national node holds $(ml nat --json member list --unit "$unit" --state submitted |
		"$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))') of the 1,500 members after 10 s;" \
		"its log says $(log_has 'would wait' && tail -n +"$((LOG_AT + 1))" "$TMP/nat.log" | grep -c 'would wait') times:"
	tail -n +"$((LOG_AT + 1))" "$TMP/nat.log" | grep 'would wait' | tail -1
	return 1
}
if ! asan || [ -n "${MEMBERLOG_SLOW_TESTS:-}" ]; then
	failed=$n_fail
	check "a device that fills the waiting buffer with unsigned ops does not block honest batches" \
		waiting_fill
	[ "$n_fail" != "$failed" ] || sed 's/^/#   /' "$TMP/out"
else
	echo "ok - # SKIP filling the waiting buffer (200,000 ops) under AddressSanitizer; MEMBERLOG_SLOW_TESTS=1 runs it"
fi

done_testing
