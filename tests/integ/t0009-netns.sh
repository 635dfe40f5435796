#!/usr/bin/env bash
# t0009: nodes on a LAN made of network namespaces (a bridge and three hosts
# on 10.231.9.0/24), running real `memberlog serve` with no configured
# peers: they find each other by mDNS and sync; a partition (the commune's
# link down) holds its updates back and the heal delivers them; a commune
# killed with kill -9 in the middle of a large sync restarts with a sound
# store and completes.
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		exec sudo -n env "PATH=$PATH" "LC_ALL=${LC_ALL:-C.UTF-8}" "LANGUAGE=" \
			"MEMBERLOG=${MEMBERLOG:-}" "MEMBERLOG_SRC=${MEMBERLOG_SRC:-}" \
			"MEMBERLOG_MDNS=${MEMBERLOG_MDNS:-}" bash "$0" "$@"
	fi
	echo "t0009: needs root to create network namespaces: not root, and 'sudo -n true' fails" >&2
	exit 1
fi
. "$(dirname "$0")/lib.sh"
exec 3>&1 # notes that reach the log even from inside a check
: "${MEMBERLOG_MDNS:?set MEMBERLOG_MDNS to the memberlog-mdns binary}"
export MEMBERLOG_MDNS

P=ml9-$$
NS_BR=$P-br
declare -A NS=([nat]=$P-a [dist]=$P-b [c1]=$P-c) IP=([nat]=10.231.9.1 [dist]=10.231.9.2 [c1]=10.231.9.3)
declare -A PID
. "$(dirname "$0")/lib_daemon.sh" # ml, wait_for, stop_daemons; serve and stop are its own below

cleanup() {
	stop_daemons
	for ns in "${NS[@]}" "$NS_BR"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

in_ns() { local node=$1; shift; ip netns exec "${NS[$node]}" "$@"; }

setup_net() {
	local n=0 node
	ip netns add "$NS_BR" && ip -n "$NS_BR" link add br0 type bridge mcast_snooping 0 &&
		ip -n "$NS_BR" link set br0 up || return 1
	for node in nat dist c1; do
		n=$((n + 1))
		ip netns add "${NS[$node]}" &&
			ip -n "$NS_BR" link add "p$n" type veth peer name vm0 netns "${NS[$node]}" &&
			ip -n "$NS_BR" link set "p$n" master br0 up &&
			ip -n "${NS[$node]}" addr add "${IP[$node]}/24" dev vm0 &&
			ip -n "${NS[$node]}" link set vm0 up && ip -n "${NS[$node]}" link set lo up || return 1
	done
}
check "a LAN of namespaces: a bridge and three hosts" setup_net

# serve NODE: the daemon in its namespace, no --peer: mDNS must find the others.
serve() {
	# ip netns exec execs memberlog, so $! is the daemon itself
	ip netns exec "${NS[$1]}" "$ML" --home "$TMP/$1" serve --listen "${IP[$1]}:7400" --mdns-iface vm0 \
		--anti-entropy 2 2>>"$TMP/$1.log" &
	PID[$1]=$!
	pids+=("$!")
	wait_for 10 ml "$1" peers
}
stop() { kill -TERM "${PID[$1]}" && wait_for 5 bash -c "! kill -0 ${PID[$1]} 2>/dev/null"; }

invite() { # invite UNIT ROLE: a token from the national node
	ml nat --json invite --unit "$1" --role "$2" --address "${IP[nat]}:7400" |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
setup_nodes() {
	ml nat network create --name "Trung ương Đoàn" >/dev/null 2>&1 &&
		NET=$(ml nat --json network show | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		ml nat unit create --parent "$NET" --name "Huyện đoàn Mèo Vạc" --level district >/dev/null &&
		ml nat unit create --parent "Huyện đoàn Mèo Vạc" --name "Đoàn xã Pả Vi" --level base_union >/dev/null &&
		serve nat &&
		in_ns dist "$ML" --home "$TMP/dist" network join "$(invite "Huyện đoàn Mèo Vạc" approver)" >/dev/null 2>&1 &&
		in_ns c1 "$ML" --home "$TMP/c1" network join "$(invite "Đoàn xã Pả Vi" officer)" >/dev/null 2>&1
}
check "the national node serves; a district and a commune join by invite across the bridge" setup_nodes

has_unit() { ml "$1" unit list | grep -q "$2"; }
discover() {
	serve dist && serve c1 &&
		ml nat unit create --parent "$NET" --name "Tỉnh đoàn Hà Giang" --level province >/dev/null &&
		wait_for 20 has_unit dist "Tỉnh đoàn Hà Giang" && wait_for 20 has_unit c1 "Tỉnh đoàn Hà Giang" &&
		grep -q 'discovered' "$TMP/nat.log" "$TMP/dist.log" "$TMP/c1.log"
}
check "with no configured peers, the nodes find each other by mDNS and sync" discover

partition() {
	ip -n "$NS_BR" link set p3 down &&
		ml nat unit create --parent "$NET" --name "Tỉnh đoàn Cao Bằng" --level province >/dev/null &&
		wait_for 20 has_unit dist "Tỉnh đoàn Cao Bằng" && sleep 1 && ! has_unit c1 "Tỉnh đoàn Cao Bằng"
}
check "a partition: the commune's link is down and it does not get the new unit" partition

heal() {
	ip -n "$NS_BR" link set p3 up && wait_for 60 has_unit c1 "Tỉnh đoàn Cao Bằng"
}
check "the link comes back and the commune catches up" heal

# A Phụ lục 03 file of n rows (distinct ID numbers).
make_csv() {
	"$PY" - "$1" "$2" <<'EOF'
import sys
head = open(sys.argv[1], encoding="utf-8").read().splitlines()[:3]
rows = [f"{i},Hoàng Văn Thắng {i},11/02/1990,,Hà Giang,{109000000 + i},,,,,,,,11/02/2012," for i in range(1, int(sys.argv[2]) + 1)]
print("\n".join(head + rows))
EOF
}
crash_midsync() {
	stop c1 && make_csv "$SRC/tests/fixtures/phuluc03-sample.csv" 3000 >"$TMP/big.csv" &&
		ml c1 state-hash >"$TMP/c1.before" &&
		in_ns c1 "$ML" --home "$TMP/c1" sync "${IP[nat]}:7400" >/dev/null 2>&1 &&
		ml nat grant "$(ml nat device show | head -1)" --unit "$NET" --role officer >/dev/null &&
		ml nat import "$TMP/big.csv" --unit "Đoàn xã Pả Vi" >/dev/null || return 1
	# the commune comes back and is killed while the 3,000 members arrive
	ip netns exec "${NS[c1]}" "$ML" --home "$TMP/c1" sync "${IP[nat]}:7400" >/dev/null 2>&1 &
	local pid=$!
	sleep 0.15
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local got
	got=$(ml c1 --json member list --unit "Đoàn xã Pả Vi" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')
	echo "# killed with $got of 3000 members stored" >&3
	ml c1 audit verify >/dev/null || { echo "the store after kill -9 does not verify" >&2; return 1; }
	serve c1 && wait_for 60 bash -c "'$ML' --home '$TMP/c1' --json member list --unit 'Đoàn xã Pả Vi' | grep -c '\"full_name\"' | grep -qx 3000"
}
check "a commune killed with kill -9 mid-sync keeps a sound store, restarts and completes" crash_midsync

converged() {
	wait_for 30 bash -c "[ \"\$('$ML' --home '$TMP/nat' state-hash)\" = \"\$('$ML' --home '$TMP/dist' state-hash)\" ]"
}
check "the national and district nodes agree (equal state hashes)" converged

stop_all() { for n in c1 dist nat; do stop $n || return 1; done; }
check "every daemon stops on SIGTERM" stop_all

done_testing
