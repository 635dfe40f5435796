#!/usr/bin/env bash
# demo-network.sh - the main job, once memberlog is built: a real network of
# `memberlog serve` processes on loopback, one node directory each, playing
# the register's story from communes to the national node with no server.
#
#   scripts/demo-network.sh [DIR]      (scripts/demo.sh installs and builds first)
#
# MEMBERLOG (default build/cli/memberlog) is the binary; DEMO_ROWS (default 40)
# the members each commune imports.  Every process it starts is stopped on
# exit, on error and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ML=${MEMBERLOG:-$PWD/build/cli/memberlog}
ROWS=${DEMO_ROWS:-40}
DIR=${1:-$(mktemp -d /tmp/memberlog-demo-XXXXXX)}
mkdir -p "$DIR"
PIDS=()

stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	PIDS=()
}
trap 'stop_all' EXIT
trap 'echo; echo "interrupted: every node was stopped; the node directories stay in $DIR"; exit 130' INT TERM

ml() { "$ML" --home "$DIR/$1" "${@:2}"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
STEP=0
step() { STEP=$((STEP + 1)); printf '\n\033[1m%d. %s\033[0m\n' "$STEP" "$*"; }
say() { printf '   %s\n' "$*"; }

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s, a dot a second; fails after SECONDS.
wait_until() {
	local limit=$(($1 * 10)) what=$2 i t0
	shift 2
	t0=$(date +%s%N)
	printf '   waiting until %s ' "$what"
	for i in $(seq "$limit"); do
		if "$@" >/dev/null 2>&1; then
			printf ' done in %d ms\n' $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		[ $((i % 10)) -eq 0 ] && printf '.'
		sleep 0.1
	done
	printf ' gave up after %d s\n' "$((limit / 10))"
	return 1
}

# serve NODE [ARGS...]: starts its daemon on a free loopback port, sets ADDR_<NODE>.
serve() {
	local node=$1
	shift
	"$ML" --home "$DIR/$node" serve --listen 127.0.0.1:0 --no-mdns "$@" \
		2>>"$DIR/$node.log" &
	PIDS+=("$!")
	eval "PID_$node=$!"
	wait_until 10 "$node is listening" ml "$node" peers
	eval "ADDR_$node=$(ml "$node" peers | head -1 | awk '{print $3}')"
}

# join INVITER NODE UNIT ROLE: NODE joins the network with a one-time token INVITER made.
join() {
	local addr token
	eval "addr=\$ADDR_$1"
	token=$(ml "$1" --json invite --unit "$3" --role "$4" --address "$addr" | jget 'd["token"]')
	ml "$2" network join "$token" >/dev/null
	say "$2 joined as $4 at $3 (device $(ml "$2" device show | head -1 | cut -c1-16)...)"
}

count() { ml "$1" --json member list --unit "$2" --state "$3" | jget 'len(d["members"])'; }
has() { [ "$(count "$1" "$2" "$3")" = "$4" ]; }

PROV="LĐLĐ tỉnh Lào Cai"
DIST="LĐLĐ huyện Bát Xát"
C1="CĐCS Xã Y Tý"
C2="CĐCS Xã A Lù"
C3="CĐCS Xã Trịnh Tường"

echo "memberlog demo: a federation of nodes on this machine, no central server"
echo "node directories and logs: $DIR"

step "The national node creates the network and the organisation tree"
ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1
NET=$(ml nat --json network show | jget 'd["network"]')
ml nat unit create --parent "$NET" --name "$PROV" --level province >/dev/null
ml nat unit create --parent "$PROV" --name "$DIST" --level district >/dev/null
for c in "$C1" "$C2" "$C3"; do ml nat unit create --parent "$DIST" --name "$c" --level base_union >/dev/null; done
ml nat numbers delegate --unit "$PROV" --count 100000 >/dev/null
say "network ${NET:0:16}...: 1 province, 1 district, 3 communes; 100,000 member numbers for the province"
serve nat
say "national node serving on $ADDR_nat"

step "The province and the district join with invite tokens and serve"
join nat prov "$PROV" admin
serve prov --peer "$ADDR_nat"
ml prov numbers delegate --unit "$DIST" --count 1000 >/dev/null
join prov dist "$DIST" admin
serve dist --peer "$ADDR_prov"
ml prov grant "$(ml dist device show | head -1)" --unit "$DIST" --role approver >/dev/null
wait_until 10 "the province's grant reaches the district" bash -c "'$ML' --home '$DIR/dist' device show | grep -q approver"

step "Three communes join; $C3 is remote and goes offline after joining"
join dist c1 "$C1" officer
join dist c2 "$C2" officer
join dist c3 "$C3" officer

step "Each commune imports the official template (Phụ lục 03) of $ROWS members"
first=1
for c in c1 c2 c3; do
	eval "unit=\$C${c#c}"
	ml "$c" sample -o "$DIR/$c-template.csv" --rows "$ROWS" --seed "${c#c}" --first "$first" >/dev/null
	ml "$c" import "$DIR/$c-template.csv" --unit "$unit" >/dev/null
	first=$((first + ROWS))
	say "$unit: $(count "$c" "$unit" draft) drafts from $c-template.csv, e.g. $(ml "$c" --json member list --unit "$unit" --state draft | jget 'd["members"][0]["full_name"]')"
done

step "Two communes come online and submit; the remote one submits offline"
serve c1 --peer "$ADDR_dist"
serve c2 --peer "$ADDR_dist"
for c in c1 c2 c3; do eval "unit=\$C${c#c}"; ml "$c" member submit --unit "$unit" --all >/dev/null; done
wait_until 20 "the district holds both communes' submissions" \
	bash -c "[ \"\$('$ML' --home '$DIR/dist' --json member list --unit '$C1' --state submitted | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"members\"]))')\" = $ROWS ] &&
	         [ \"\$('$ML' --home '$DIR/dist' --json member list --unit '$C2' --state submitted | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"members\"]))')\" = $ROWS ]"
say "the district has not heard of $C3: $(count dist "$C3" submitted) submissions"

step "The district approves, rejects one with a reason, numbers the rest"
REJECTED=$(ml dist --json member list --unit "$C1" --state submitted | jget 'd["members"][0]["id"]')
ml dist member reject "$REJECTED" --reason "thiếu quê quán (hometown missing)" >/dev/null
say "rejected $(ml dist --json member show "$REJECTED" | jget 'd["full_name"]'): thiếu quê quán"
ml dist member approve --unit "$C1" --all >/dev/null
ml dist member approve --unit "$C2" --all >/dev/null
SAMPLE=$(ml dist --json member list --unit "$C2" --state official | jget 'd["members"][0]["id"]')
say "approved $((2 * ROWS - 1)); e.g. $(ml dist --json member show "$SAMPLE" | jget 'd["full_name"] + " got member number " + d["member_number"]')"
wait_until 20 "the approvals reach both communes and the province" \
	bash -c "$(declare -f ml count has jget); ML='$ML' DIR='$DIR'; has c1 '$C1' official $((ROWS - 1)) && has c2 '$C2' official $ROWS && has prov '$C2' official $ROWS && has nat '$C1' official $((ROWS - 1))"
say "$C1 sees the rejection: $(ml c1 --json member show "$REJECTED" | jget '"state " + d["state"] + ", status " + d["status"]')"

step "The remote commune comes online late and catches up"
serve c3 --peer "$ADDR_dist"
wait_until 30 "its submissions reach the district" bash -c "$(declare -f ml count has jget); ML='$ML' DIR='$DIR'; has dist '$C3' submitted $ROWS"
ml dist member approve --unit "$C3" --all >/dev/null
wait_until 20 "the approvals reach it and the province" bash -c "$(declare -f ml count has jget); ML='$ML' DIR='$DIR'; has c3 '$C3' official $ROWS && has prov '$C3' official $ROWS"

step "A member transfers from $C2 to $C1"
MOVER=$SAMPLE
ml c2 member transfer "$MOVER" --to "$C1" >/dev/null
ml c2 member submit "$MOVER" >/dev/null
wait_until 20 "the district sees the transfer" bash -c "'$ML' --home '$DIR/dist' --json member show '$MOVER' | grep -q '\"pending_changes\": [1-9]'"
ml dist member approve "$MOVER" >/dev/null
wait_until 20 "$C1 may receive the member" ml c1 member show "$MOVER"
ml c1 member receive "$MOVER" >/dev/null
ml c1 member submit "$MOVER" >/dev/null
wait_until 20 "the district sees the reception" bash -c "'$ML' --home '$DIR/dist' --json member show '$MOVER' | grep -q '\"pending_changes\": [1-9]'"
ml dist member approve "$MOVER" >/dev/null
wait_until 20 "the province sees the member in $C1" bash -c "'$ML' --home '$DIR/prov' --json member show '$MOVER' | grep -q '\"unit_name\": \"$C1\"'"

step "The province reports on the district (progress, RPT-13)"
ml prov report progress --unit "$DIST" | sed 's/^/   /'

step "An auditor joins at the national level and verifies the whole signed history"
join nat aud "Tổng Liên đoàn Lao động Việt Nam" auditor
ml aud sync "$ADDR_nat" >/dev/null
ml aud audit verify | tail -3 | sed 's/^/   /'

step "Every node's state hash"
wait_until 20 "national, province and district agree" \
	bash -c "[ \"\$('$ML' --home '$DIR/nat' state-hash)\" = \"\$('$ML' --home '$DIR/prov' state-hash)\" ] && [ \"\$('$ML' --home '$DIR/prov' state-hash)\" = \"\$('$ML' --home '$DIR/dist' state-hash)\" ]"
ml aud sync "$ADDR_nat" >/dev/null
for n in nat prov dist aud c1 c2 c3; do
	printf '   %-5s %s\n' "$n" "$(ml "$n" state-hash)"
done
H=$(ml nat state-hash)
for n in prov dist aud; do [ "$(ml "$n" state-hash)" = "$H" ] || { echo "demo: $n disagrees" >&2; exit 1; }; done
say "nat, prov, dist and aud hold the same register (their scope is the whole tree)."
say "each commune holds only its own scope (its members, and the tree), so its hash differs"

stop_all
echo
echo "done: every node was stopped cleanly."
echo "node directories: $DIR/{nat,prov,dist,c1,c2,c3,aud}; logs: $DIR/*.log"
echo "keep exploring, e.g.:"
echo "  $ML --home $DIR/dist member list --unit '$C1'"
echo "  $ML --home $DIR/c1 member search 'nguyen'"
echo "  $ML --home $DIR/prov report missing-info"
echo "  $ML --home $DIR/dist serve --listen 127.0.0.1:7400    # bring a node back up"
