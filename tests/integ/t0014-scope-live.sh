#!/usr/bin/env bash
# t0014: what a command writes that widens a peer's scope reaches the peer at
# once, not at the next anti-entropy round.  Every daemon here reconciles only
# every 600 s, so anything that arrives within the test's few seconds came
# from a round the change itself started.  The district's officer approves,
# at the command line while the district's `serve` runs, a member's transfer
# from one commune to another: the receiving commune may now read the
# member's past, which no push can carry (the commune lacks those feeds).
# Then the district grants a commune an auditor role over the district: the
# commune may now read its neighbour's members.
. "$(dirname "$0")/lib.sh"
exec 3>&1 # notes that reach the log even from inside a check

. "$(dirname "$0")/lib_daemon.sh"
trap 'stop_daemons; rm -rf "$TMP"' EXIT
key_of() { ml "$1" device show | head -1; }
slow() { serve "$@" --anti-entropy 600; } # later options win

setup() {
	ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam" >/dev/null 2>&1 &&
		NET=$(ml nat --json network show | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["network"])') &&
		ml nat unit create --parent "$NET" --name "LĐLĐ tỉnh Lào Cai" --level province >/dev/null &&
		ml nat unit create --parent "LĐLĐ tỉnh Lào Cai" --name "LĐLĐ huyện Bát Xát" --level district >/dev/null &&
		for c in "Xã Y Tý" "Xã A Lù" "Xã Dền Sáng"; do
			ml nat unit create --parent "LĐLĐ huyện Bát Xát" --name "CĐCS $c" --level base_union >/dev/null || return 1
		done &&
		ml nat numbers delegate --unit "LĐLĐ tỉnh Lào Cai" --count 10000 >/dev/null &&
		ml nat numbers delegate --unit "LĐLĐ huyện Bát Xát" --count 1000 >/dev/null &&
		slow nat &&
		join nat dist "LĐLĐ huyện Bát Xát" admin &&
		ml nat grant "$(key_of dist)" --unit "LĐLĐ huyện Bát Xát" --role approver >/dev/null &&
		slow dist --peer "$ADDR_nat" &&
		wait_for 10 bash -c "'$ML' --home '$TMP/dist' device show | grep -q approver" &&
		join dist c1 "CĐCS Xã Y Tý" officer && join dist c2 "CĐCS Xã A Lù" officer &&
		join dist c3 "CĐCS Xã Dền Sáng" officer &&
		slow c1 --peer "$ADDR_dist" && slow c2 --peer "$ADDR_dist" && slow c3 --peer "$ADDR_dist"
}
check "a national node, a district and three communes serve, reconciling every 600 s" setup

shows() { ml "$1" --json member show "$2" 2>/dev/null | grep -q "\"state\": \"$3\""; }
members() {
	M=$(ml c2 --json member add --unit "CĐCS Xã A Lù" --name "Sần Thị Mai" --dob 02/03/1991 \
		--gender female --id-number 010191000123 --join-date 01/05/2014 |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["member"])') &&
		N=$(ml c2 --json member add --unit "CĐCS Xã A Lù" --name "Lý Seo Chứ" --dob 05/06/1988 \
			--gender male --id-number 010188000456 --join-date 01/05/2010 |
			"$PY" -c 'import json,sys; print(json.load(sys.stdin)["member"])') &&
		ml c2 member submit --unit "CĐCS Xã A Lù" --all >/dev/null &&
		wait_for 10 shows dist "$M" submitted &&
		ml dist member approve --unit "CĐCS Xã A Lù" --all >/dev/null &&
		wait_for 10 shows c2 "$M" official && ! shows c1 "$M" official
}
check "a commune's members are approved live; the neighbouring commune does not hold them" members

ops_of() { # ops_of NODE MEMBER TYPE: how many ops of TYPE in the member's history NODE holds
	ml "$1" --json member history "$2" 2>/dev/null |
		"$PY" -c "import json,sys; print(sum(h['type'] == '$3' for h in json.load(sys.stdin)['history']))"
}
has_ops() { [ "$(ops_of "$1" "$2" "$3")" = "$4" ]; }
transfer() {
	local t0 t1
	ml c2 member transfer "$M" --to "CĐCS Xã Y Tý" >/dev/null &&
		ml c2 member submit "$M" >/dev/null &&
		wait_for 10 has_ops dist "$M" member_submit 2 && ! ml c1 member show "$M" >/dev/null 2>&1 &&
		t0=$(date +%s%N) && ml dist member approve "$M" >/dev/null &&
		wait_for 10 has_ops c1 "$M" member_approve 2 &&
		t1=$(date +%s%N) && echo "# the member's past reached the receiving commune in $(((t1 - t0) / 1000000)) ms" >&3 &&
		ml c1 member receive "$M" >/dev/null && ml c1 member submit "$M" >/dev/null &&
		wait_for 10 has_ops dist "$M" member_receive 1
}
check "a transfer approved at the district's command line brings the member's past to the receiving commune at once" transfer

grant() {
	local t0 t1
	! shows c3 "$N" official && t0=$(date +%s%N) &&
		ml dist grant "$(key_of c3)" --unit "LĐLĐ huyện Bát Xát" --role auditor >/dev/null &&
		wait_for 10 shows c3 "$N" official &&
		t1=$(date +%s%N) && echo "# the neighbour's member reached the new auditor in $(((t1 - t0) / 1000000)) ms" >&3
}
check "an auditor role granted at the district's command line brings the district's members at once" grant

done_testing
