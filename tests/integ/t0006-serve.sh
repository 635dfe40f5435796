#!/usr/bin/env bash
# t0006: the node on the network, with real `memberlog serve` processes on
# loopback: national, province, district and three communes.  Devices join by
# invite tokens; communes enter and submit members while offline; once they
# are online the district approves and the approvals reach the communes and
# the province through the live connections; a remote commune comes online
# late and catches up; every node holds exactly its scope (its state hash
# equals that of a store rebuilt from what the district may send it) and no
# commune holds another's members; `sync` works one-shot; SIGTERM stops
# every daemon cleanly.
. "$(dirname "$0")/lib.sh"
exec 3>&1 # notes that reach the log even from inside a check

. "$(dirname "$0")/lib_daemon.sh"
trap 'stop_daemons; rm -rf "$TMP"' EXIT
json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
key_of() { ml "$1" device show | head -1; }

members_in() { # members_in NODE STATE UNIT: how many members of UNIT the node holds in STATE
	ml "$1" --json member list --unit "$3" --state "$2" 2>/dev/null |
		"$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))'
}
has_members() { [ "$(members_in "$1" "$2" "$3")" = "$4" ]; }

setup() {
	ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1 &&
		NET=$(ml nat --json network show | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		ml nat unit create --parent "$NET" --name "LĐLĐ tỉnh Hà Giang" --level province >/dev/null &&
		ml nat unit create --parent "LĐLĐ tỉnh Hà Giang" --name "LĐLĐ huyện Đồng Văn" --level district >/dev/null &&
		for c in "Xã Lũng Cú" "Xã Má Lé" "Xã Sủng Là"; do
			ml nat unit create --parent "LĐLĐ huyện Đồng Văn" --name "CĐCS $c" --level base_union >/dev/null || return 1
		done &&
		ml nat numbers delegate --unit "LĐLĐ tỉnh Hà Giang" --count 100000 >/dev/null &&
		serve nat
}
check "the national node creates the tree and serves" setup

province() {
	join nat prov "LĐLĐ tỉnh Hà Giang" admin && serve prov --peer "$ADDR_nat" &&
		ml prov --json device show >"$TMP/j" && [ "$(json "$TMP/j" 'd["roles"][0]["role"]')" = admin ]
}
check "the province joins by an invite token over the network and gets its role" province

district() {
	ml prov numbers delegate --unit "LĐLĐ huyện Đồng Văn" --count 1000 >/dev/null &&
		join prov dist "LĐLĐ huyện Đồng Văn" admin && serve dist --peer "$ADDR_prov" &&
		ml prov grant "$(key_of dist)" --unit "LĐLĐ huyện Đồng Văn" --role approver >/dev/null &&
		wait_for 10 bash -c "'$ML' --home '$TMP/dist' device show | grep -q approver"
}
check "the district joins through the province; a grant made at the province reaches it live" district

communes() {
	join dist c1 "CĐCS Xã Lũng Cú" officer && join dist c2 "CĐCS Xã Má Lé" officer &&
		join dist c3 "CĐCS Xã Sủng Là" officer
}
check "three communes join by invites the district signs" communes

token_once() {
	local token
	token=$(ml dist --json invite --unit "CĐCS Xã Lũng Cú" --role officer --address "$ADDR_dist" |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])') &&
		ml x1 network join "$token" >/dev/null 2>&1 &&
		! ml x2 network join "$token" >"$TMP/out" 2>&1 && grep -q 'already used' "$TMP/out" &&
		! ml x3 network join "mli1garbage${token:20}" >"$TMP/out" 2>&1 && grep -qi 'damaged\|refused\|cannot' "$TMP/out"
}
check "an invite token works once; a reused or damaged token is refused" token_once

second_role() { # a device that holds a role joins with an invite for another one, and gets it
	local token
	token=$(ml dist --json invite --unit "LĐLĐ huyện Đồng Văn" --role auditor --address "$ADDR_dist" |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])') &&
		ml x1 network join "$token" >/dev/null 2>&1 &&
		ml x1 device show | grep -q "auditor" && ml x1 device show | grep -q "officer"
}
check "a device with a role redeems an invite for a second role" second_role

offline_entry() {
	for c in c1 c2 c3; do
		local unit
		case $c in c1) unit="CĐCS Xã Lũng Cú" ;; c2) unit="CĐCS Xã Má Lé" ;; c3) unit="CĐCS Xã Sủng Là" ;; esac
		for i in 1 2 3; do
			ml $c member add --unit "$unit" --name "Giàng Seo Páo $c$i" --dob 0$i/02/1990 \
				--gender male --hometown "Hà Giang" --id-number "1098${c#c}${i}000" \
				--join-date 11/02/2012 >/dev/null || return 1
		done
		ml $c member submit --unit "$unit" --all >/dev/null || return 1
	done
	has_members c1 submitted "CĐCS Xã Lũng Cú" 3 && has_members dist submitted "CĐCS Xã Lũng Cú" 0
}
check "communes enter and submit members while offline" offline_entry

online() {
	serve c1 --peer "$ADDR_dist" && serve c2 --peer "$ADDR_dist" &&
		wait_for 20 has_members dist submitted "CĐCS Xã Lũng Cú" 3 &&
		wait_for 20 has_members dist submitted "CĐCS Xã Má Lé" 3
}
check "two communes come online; their submissions reach the district" online

approve_live() {
	local t0 t1
	ml dist member approve --unit "CĐCS Xã Lũng Cú" --all >/dev/null &&
		ml dist member approve --unit "CĐCS Xã Má Lé" --all >/dev/null &&
		t0=$(date +%s%N) &&
		wait_for 10 has_members c1 official "CĐCS Xã Lũng Cú" 3 &&
		wait_for 10 has_members c2 official "CĐCS Xã Má Lé" 3 &&
		wait_for 10 has_members prov official "CĐCS Xã Lũng Cú" 3 &&
		wait_for 10 has_members nat official "CĐCS Xã Má Lé" 3 &&
		t1=$(date +%s%N) && echo "# approvals everywhere in $(((t1 - t0) / 1000000)) ms (polling every 100 ms)" >&3
}
check "the district approves while connected; approvals reach communes, province and national" approve_live

private() {
	has_members c1 official "CĐCS Xã Má Lé" 0 && has_members c2 official "CĐCS Xã Lũng Cú" 0 &&
		! ml c1 member search "Páo c2" 2>/dev/null | grep -q Páo &&
		! ml c2 member search "Páo c1" 2>/dev/null | grep -q Páo &&
		ml c1 member search "Páo c1" | grep -q Páo
}
check "a commune never holds another commune's members" private

remote() {
	has_members dist submitted "CĐCS Xã Sủng Là" 0 && serve c3 --peer "$ADDR_dist" &&
		wait_for 20 has_members dist submitted "CĐCS Xã Sủng Là" 3 &&
		ml dist member approve --unit "CĐCS Xã Sủng Là" --all >/dev/null &&
		wait_for 10 has_members c3 official "CĐCS Xã Sủng Là" 3 &&
		wait_for 10 has_members prov official "CĐCS Xã Sủng Là" 3
}
check "the remote commune comes online late, catches up, and its members are approved" remote

same_hash() { [ "$(ml "$1" state-hash)" = "$(ml "$2" state-hash)" ]; }
converged() {
	wait_for 20 same_hash nat prov && wait_for 20 same_hash prov dist
}
check "national, province and district hold the same register (equal state hashes)" converged

scope_hash() { # scope_hash NODE: its hash equals that of a store built from the district's export for it
	local dir=$TMP/scope-$1
	mkdir -p "$dir" && cp "$TMP/$1/device.key" "$dir/" &&
		ml dist bundle export -o "$TMP/$1.scope" --for "$(key_of "$1")" >/dev/null &&
		"$ML" --home "$dir" network join "$NET" >/dev/null 2>&1 &&
		"$ML" --home "$dir" bundle import "$TMP/$1.scope" >/dev/null &&
		[ "$("$ML" --home "$dir" state-hash)" = "$(ml "$1" state-hash)" ]
}
scopes() { wait_for 20 scope_hash c1 && wait_for 20 scope_hash c2 && wait_for 20 scope_hash c3; }
check "each commune holds exactly its scope: its state hash equals its scope's" scopes

peers_status() {
	ml dist peers >"$TMP/p" && grep -c '^peer .* synced' "$TMP/p" | grep -qx 4 &&
		head -1 "$TMP/p" | grep -q '^node listening 127.0.0.1:'
}
check "'memberlog peers' shows the district's four connections, synced" peers_status

one_shot() {
	ml c1 member add --unit "CĐCS Xã Lũng Cú" --name "Vàng Thị Mai" --dob 01/03/1995 --gender female \
		--id-number 109899991 --join-date 01/03/2015 >/dev/null &&
		stop c1 && ml c1 member submit --unit "CĐCS Xã Lũng Cú" --all >/dev/null &&
		ml c1 --json sync "$ADDR_dist" >"$TMP/j" && [ "$(json "$TMP/j" 'd["ops_out"] >= 1')" = True ] &&
		wait_for 5 has_members dist submitted "CĐCS Xã Lũng Cú" 1
}
check "'memberlog sync HOST:PORT' syncs once and exits 0" one_shot

sync_fails() {
	ml c1 sync 127.0.0.1:1 --timeout 3 >"$TMP/out" 2>&1
	[ $? -eq 1 ] && grep -q 'cannot sync with 127.0.0.1:1' "$TMP/out"
}
check "'memberlog sync' to a closed port exits 1 and says why" sync_fails

stop_all() {
	for n in c3 c2 dist prov nat; do stop $n || { echo "$n did not stop cleanly" >&2; return 1; }; done
	[ ! -e "$TMP/dist/serve.sock" ]
}
check "SIGTERM stops every daemon with status 0 and removes its control socket" stop_all

done_testing
