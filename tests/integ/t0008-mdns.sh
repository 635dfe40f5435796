#!/usr/bin/env bash
# t0008: memberlog-mdns, the LAN discovery child, between network namespaces.
#
# Three nodes on one bridge (10.231.8.0/24) find each other - address, port and TXT - and never
# report themselves. A node that says goodbye is reported gone and found again when it comes
# back, also after a kill -9. Garbage, malformed and forged mDNS from a fourth namespace crash
# no child and reach no output unfiltered; a forged conflict does not silence its victim for
# good; a node whose link was down while it announced itself is found once the link is back.
# Two nodes on lo find each other. Bad arguments exit 2, no usable interface exits 1, EOF on
# stdin and SIGTERM/SIGINT exit 0. Every wait is bounded; the discovery times are printed.
#
# Needs root for the namespaces: run as root, or with passwordless sudo.
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		exec sudo -n env "PATH=$PATH" "LC_ALL=${LC_ALL:-C.UTF-8}" "LANGUAGE=" \
			"MEMBERLOG=${MEMBERLOG:-}" "MEMBERLOG_SRC=${MEMBERLOG_SRC:-}" \
			"MEMBERLOG_MDNS=${MEMBERLOG_MDNS:-}" bash "$0" "$@"
	fi
	echo "t0008: needs root to create network namespaces: not root, and 'sudo -n true' fails" >&2
	exit 1
fi
. "$(dirname "$0")/lib.sh"
MDNS=${MEMBERLOG_MDNS:?set MEMBERLOG_MDNS to the memberlog-mdns binary}
for tool in ip perl mkfifo; do
	command -v "$tool" >/dev/null || { echo "t0008: needs $tool" >&2; exit 1; }
done

P=ml8-$$
NS_BR=$P-br
NS_A=$P-a
NS_B=$P-b
NS_C=$P-c
NS_X=$P-x
ALL_NS=("$NS_A" "$NS_B" "$NS_C" "$NS_X" "$NS_BR")
declare -A PID WRITER T0
bg_pids=()

cleanup() {
	local p ns
	for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
	for ns in "${ALL_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

hex() { local s=""; while [ ${#s} -lt 64 ]; do s+=$1; done; echo "${s:0:64}"; }
NET=$(hex 5ee0)
IA=a1a1a1a1a1a1a1a1 DEVA=$(hex a1)
IB=b2b2b2b2b2b2b2b2 DEVB=$(hex b2)
IC=c3c3c3c3c3c3c3c3 DEVC=$(hex c3)
IX=d4d4d4d4d4d4d4d4 DEVX=$(hex d4)

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st%% *}" != Z ]
}

# start NODE NS PORT INSTANCE IFACE [KEY=VALUE]...: runs memberlog-mdns in NS. Its stdin is a
# FIFO whose only writer is a `sleep` (kill it for EOF); output in $TMP/NODE.out and .err.
start() {
	local node=$1 ns=$2 port=$3 inst=$4 ifname=$5 kv
	local args=(--port "$port" --instance "$inst" --iface "$ifname")
	shift 5
	for kv in "$@"; do args+=(--txt "$kv"); done
	rm -f "$TMP/$node.in"
	mkfifo "$TMP/$node.in"
	sleep 900 >"$TMP/$node.in" &
	WRITER[$node]=$!
	bg_pids+=($!)
	T0[$node]=$(date +%s%N)
	ip netns exec "$ns" "$MDNS" "${args[@]}" <"$TMP/$node.in" >"$TMP/$node.out" \
		2>"$TMP/$node.err" &
	PID[$node]=$!
	bg_pids+=($!)
}

# wait_line NODE LINE SECS: true once NODE has printed exactly LINE.
wait_line() {
	local i
	for ((i = 0; i <= $3 * 20; i++)); do
		grep -Fxq -- "$2" "$TMP/$1.out" && return 0
		sleep 0.05
	done
	echo "$1 never printed '$2' in $3 s; it printed:" >&2
	cat "$TMP/$1.out" >&2
	return 1
}

# latest NODE INSTANCE: NODE's last peer or gone line about INSTANCE.
latest() { grep -E "^(peer|gone) $2( |\$)" "$TMP/$1.out" | tail -1; }

# wait_latest NODE INSTANCE LINE SECS: true once NODE's last word on INSTANCE is LINE.
wait_latest() {
	local i
	for ((i = 0; i <= $4 * 20; i++)); do
		[ "$(latest "$1" "$2")" = "$3" ] && return 0
		sleep 0.05
	done
	echo "$1's last line on $2 is '$(latest "$1" "$2")', wanted '$3'" >&2
	return 1
}

# stopped NODE SECS STATUS: NODE's process ends within SECS with exit status STATUS.
stopped() {
	local pid=${PID[$1]} i rc
	for ((i = 0; i < $2 * 20; i++)); do
		alive "$pid" || break
		sleep 0.05
	done
	if alive "$pid"; then
		echo "$1 still running after $2 s" >&2
		return 1
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -eq "$3" ] || { echo "$1 exited with $rc, wanted $3" >&2; cat "$TMP/$1.err" >&2; return 1; }
}

# Every line is an event whose fields are safe to split on spaces.
well_formed() { ! LC_ALL=C grep -Evn '^(ready|peer|gone)( [A-Za-z0-9_.:=-]+)+$' "$TMP/$1.out"; }
never_self() { ! grep -Eq "^(peer|gone) $2( |\$)" "$TMP/$1.out"; }
running() { alive "${PID[$1]}" || { cat "$TMP/$1.err" >&2; return 1; }; }

# usage_error ARGS...: exit status 2, a usage line on stderr, nothing on stdout.
usage_error() {
	local out rc
	out=$(ip netns exec "$NS_BR" "$MDNS" "$@" 2>"$TMP/usage.err" </dev/null)
	rc=$?
	[ "$rc" -eq 2 ] && [ -z "$out" ] && grep -q '^usage: memberlog-mdns' "$TMP/usage.err" ||
		{ echo "exit $rc, stdout '$out'" >&2; cat "$TMP/usage.err" >&2; return 1; }
}

# --- The network: a bridge in its own namespace, one veth port per node. ---
setup_net() {
	local ns n=0 port
	ip netns add "$NS_BR" || return 1
	ip -n "$NS_BR" link add br0 type bridge mcast_snooping 0 || return 1
	ip -n "$NS_BR" link set br0 up || return 1
	for ns in "$NS_A" "$NS_B" "$NS_C" "$NS_X"; do
		n=$((n + 1))
		port=p$n
		ip netns add "$ns" || return 1
		ip -n "$NS_BR" link add "$port" type veth peer name vm0 netns "$ns" || return 1
		ip -n "$NS_BR" link set "$port" master br0 up || return 1
		ip -n "$ns" addr add "10.231.8.$n/24" dev vm0 || return 1
		ip -n "$ns" link set vm0 up || return 1
		ip -n "$ns" link set lo up || return 1
	done
	# Only the garbage sender relies on a route for multicast; the nodes set IP_MULTICAST_IF.
	ip -n "$NS_X" route add 224.0.0.0/4 dev vm0
}
check "set up 5 namespaces: a bridge and 4 nodes on 10.231.8.0/24" setup_net

# --- Arguments. ---
check "no arguments: usage, exit 2" usage_error
check "--port missing" usage_error --instance "$IA"
check "--instance missing" usage_error --port 7001
check "--port 0" usage_error --port 0 --instance "$IA"
check "--port 65536" usage_error --port 65536 --instance "$IA"
check "--port not a number" usage_error --port 7x --instance "$IA"
check "instance with a space" usage_error --port 7001 --instance "a b"
check "instance with a dot" usage_error --port 7001 --instance a.b
check "instance of 64 characters" usage_error --port 7001 --instance "$(hex ab)"
check "--txt without =" usage_error --port 7001 --instance "$IA" --txt novalue
check "--txt with an empty key" usage_error --port 7001 --instance "$IA" --txt =v
check "--txt value with a space" usage_error --port 7001 --instance "$IA" --txt "k=a b"
check "--txt key twice" usage_error --port 7001 --instance "$IA" --txt k=1 --txt K=2
check "--interval-ms 0" usage_error --port 7001 --instance "$IA" --interval-ms 0
check "unknown option" usage_error --port 7001 --instance "$IA" --bogus
check "stray argument" usage_error --port 7001 --instance "$IA" extra
check "no interface up with IPv4: exit 1" bash -c "
	ip netns exec '$NS_BR' '$MDNS' --port 7001 --instance '$IA' </dev/null >'$TMP/noif.out' 2>'$TMP/noif.err'
	[ \$? -eq 1 ] && [ ! -s '$TMP/noif.out' ] && grep -q 'no interface could be joined' '$TMP/noif.err'"
check "--iface without IPv4: exit 1" bash -c "
	ip netns exec '$NS_BR' '$MDNS' --port 7001 --instance '$IA' --iface br0 </dev/null >'$TMP/noif.out' 2>'$TMP/noif.err'
	[ \$? -eq 1 ] && [ ! -s '$TMP/noif.out' ] && grep -q 'br0' '$TMP/noif.err'"

# --- Two nodes on lo, in one namespace. ---
start l1 "$NS_X" 7101 l1 lo "net=$NET"
start l2 "$NS_X" 7102 l2 lo "net=$NET" dev=l2
check "lo: ready" wait_line l1 "ready lo 127.0.0.1" 5
check "lo: l1 finds l2" wait_line l1 "peer l2 127.0.0.1 7102 net=$NET dev=l2" 15
check "lo: l2 finds l1" wait_line l2 "peer l1 127.0.0.1 7101 net=$NET" 15
kill "${WRITER[l1]}" "${WRITER[l2]}"
check "lo: EOF on stdin, exit 0" stopped l1 5 0
check "lo: and the other" stopped l2 5 0
check "lo: no self, no conflict" bash -c "! grep -q '^peer l1 ' '$TMP/l1.out' && ! grep -q conflict '$TMP/l1.err' '$TMP/l2.err'"

# --- Three nodes on the bridge, started together. ---
LA="peer $IA 10.231.8.1 7001 net=$NET dev=$DEVA"
LB="peer $IB 10.231.8.2 7002 net=$NET dev=$DEVB"
LC="peer $IC 10.231.8.3 7003 net=$NET dev=$DEVC"
start a "$NS_A" 7001 "$IA" vm0 "net=$NET" "dev=$DEVA"
start b "$NS_B" 7002 "$IB" vm0 "net=$NET" "dev=$DEVB"
start c "$NS_C" 7003 "$IC" vm0 "net=$NET" "dev=$DEVC"

# The first peer line and the whole mesh, per node, polled every 20 ms for at most 15 s.
declare -A FIRST MESH WANT
WANT[a]="$LB|$LC" WANT[b]="$LA|$LC" WANT[c]="$LA|$LB"
for ((i = 0; i < 750; i++)); do
	for n in a b c; do
		[ -z "${FIRST[$n]:-}" ] && grep -q '^peer ' "$TMP/$n.out" && FIRST[$n]=$(ms_since "${T0[$n]}")
		if [ -z "${MESH[$n]:-}" ] && grep -Fxq -- "${WANT[$n]%|*}" "$TMP/$n.out" &&
			grep -Fxq -- "${WANT[$n]#*|}" "$TMP/$n.out"; then
			MESH[$n]=$(ms_since "${T0[$n]}")
		fi
	done
	[ -n "${MESH[a]:-}" ] && [ -n "${MESH[b]:-}" ] && [ -n "${MESH[c]:-}" ] && break
	sleep 0.02
done
for n in a b c; do
	echo "# discovery: $n first peer after ${FIRST[$n]:-none} ms, both peers after ${MESH[$n]:-none} ms"
done
check "a is ready on vm0" wait_line a "ready vm0 10.231.8.1" 5
check "a finds b and c (address, port, TXT) within 15 s" wait_line a "$LB" 0
check "and c" wait_line a "$LC" 0
check "b finds a and c" wait_line b "$LA" 0
check "and c" wait_line b "$LC" 0
check "c finds a and b" wait_line c "$LA" 0
check "and b" wait_line c "$LB" 0

# --- A goodbye, a restart, a kill -9 and another restart of c. ---
kill -TERM "${PID[c]}"
check "c: SIGTERM, exit 0" stopped c 5 0
check "a sees c gone (goodbye)" wait_line a "gone $IC" 5
check "b sees c gone" wait_line b "gone $IC" 5
kill "${WRITER[c]}"
LC2="peer $IC 10.231.8.3 7013 net=$NET dev=$DEVC"
start c2 "$NS_C" 7013 "$IC" vm0 "net=$NET" "dev=$DEVC"
check "c back on port 7013: a finds it" wait_line a "$LC2" 15
echo "# rediscovery after a restart: $(ms_since "${T0[c2]}") ms"
check "b finds it" wait_line b "$LC2" 15
check "c finds a and b again" bash -c "grep -Fxq -- '$LA' '$TMP/c2.out' || sleep 5; grep -Fxq -- '$LA' '$TMP/c2.out' && grep -Fxq -- '$LB' '$TMP/c2.out'"
kill -KILL "${PID[c2]}"
wait "${PID[c2]}" 2>/dev/null
kill "${WRITER[c2]}"
LC3="peer $IC 10.231.8.3 7023 net=$NET dev=$DEVC"
start c3 "$NS_C" 7023 "$IC" vm0 "net=$NET" "dev=$DEVC"
check "c killed -9, back on port 7023: a sees the new port" wait_line a "$LC3" 15
echo "# update after kill -9 and restart: $(ms_since "${T0[c3]}") ms"
check "b sees it" wait_line b "$LC3" 15

# --- Garbage and forgeries from the fourth namespace, from port 5353. ---
cat >"$TMP/garbage.pl" <<'EOF'
# Sends fuzz, malformed packets and forged announcements to 224.0.0.251:5353 from port 5353.
use strict;
use warnings;
use Socket qw(:all);
my ($rounds, $victim, $victim_port) = @ARGV;
socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!";
setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1) or die "SO_REUSEADDR: $!";
bind($s, pack_sockaddr_in(5353, INADDR_ANY)) or die "bind: $!";
my $to = pack_sockaddr_in(5353, inet_aton('224.0.0.251'));
my $sent = 0;
sub out { $sent++ if send($s, $_[0], 0, $to); select(undef, undef, undef, 0.001) if $sent % 20 == 0 }
sub name { join('', map { chr(length $_) . $_ } split /\./, $_[0]) . "\0" }
sub rr { my ($n, $t, $c, $ttl, $rd) = @_; name($n) . pack('nnNn', $t, $c, $ttl, length $rd) . $rd }
sub txt { join '', map { chr(length $_) . $_ } @_ }
sub resp { pack('n6', 0, 0x8400, 0, scalar @_, 0, 0) . join('', @_) }
my $svc = '_memberlog._tcp.local';
sub announce {
	my ($inst, $ttl, $port, $ip, @txt) = @_;
	resp(rr($svc, 12, 1, $ttl, name("$inst.$svc")),
		rr("$inst.$svc", 33, 0x8001, $ttl, pack('nnn', 0, 0, $port) . name("$inst.local")),
		rr("$inst.$svc", 16, 0x8001, $ttl, txt(@txt)),
		rr("$inst.local", 1, 0x8001, $ttl, inet_aton($ip)));
}
my $hdr = pack('n6', 0, 0x8400, 0, 1, 0, 0);
my $evil = announce('evil1', 4, 9, '10.231.8.4',
	'net=ok_value', 'dev=bad value;rm', 'flag', '=novalue', 'NET=second', "ctl=a\nb");
my @bad = map { announce($_, 120, 9, '10.231.8.4', 'net=x') }
	("bad name", "semi;colon", "new\nline", "tab\there", "uml\xc3\xa4ut");
my @crafted = ('', "\0" x 11,
	$hdr . "\xc0\x0c",
	$hdr . "\xc0\x0e\xc0\x0c",
	$hdr . ((chr(63) . ('a' x 63)) x 6) . "\0" . pack('nnNn', 16, 1, 120, 0),
	$hdr . name($svc) . pack('nnNn', 16, 1, 120, 0xffff),
	$hdr . name($svc) . pack('nnNn', 12, 1, 120, 2) . "\xc0\xff",
	$hdr . name("evil2.$svc") . pack('nnNn', 33, 0x8001, 120, 2) . "\0\0",
	$hdr . name('evil2.local') . pack('nnNn', 1, 0x8001, 120, 0),
	pack('n6', 0, 0x8400, 0xffff, 0xffff, 0xffff, 0xffff),
	pack('n6', 0, 0, 1, 0, 1, 0) . name($svc) . pack('nn', 12, 1) . name($svc) . pack('nnNn', 12, 1, 120, 9) . "\xc0",
	pack('n6', 0, 0x8400, 0, 100, 0, 0) . (rr($svc, 12, 1, 120, name("flood.$svc")) x 100),
	"\xff" x 1400, "\0" x 9001);
srand(8);
out($_) for @crafted;
my @seeds = ($evil, @bad, @crafted[2 .. 11]);
for my $i (1 .. $rounds) {
	my $p;
	if ($i % 3) {
		# A valid or crafted packet with a few bytes changed.
		$p = $seeds[int rand @seeds];
		substr($p, int rand length $p, 1) = chr(int rand 256) for 1 .. 1 + int rand 4;
	} else {
		$p = pack('C*', map { int rand 256 } 1 .. int rand 600);
		substr($p, 0, 4) = pack('nn', 0, 0x8400) if length $p >= 12 && $i % 2;
	}
	out($p);
}
# Forged answers for the victim's SRV record: a conflict for its owner.  After a pause, so
# that they do not meet a receive buffer the burst above still fills: under load (sanitizers,
# tests in parallel) they were dropped there and the victim never saw them.
select(undef, undef, undef, 0.3);
out(resp(rr("$victim.$svc", 33, 0x8001, 120, pack('nnn', 0, 0, 9) . name("$victim.local")))) for 1 .. 3;
out($_) for @bad;
select(undef, undef, undef, 0.3);
out($evil) for 1 .. 3;
print "sent $sent\n";
EOF
check "the fourth namespace sends 3000 garbage, malformed and forged packets" \
	ip netns exec "$NS_X" perl "$TMP/garbage.pl" 3000 "$IA" 7001
sleep 1
check "a survives" running a
check "b survives" running b
check "c survives" running c3
check "a reports the forged instance with its safe TXT pair only" \
	wait_line a "peer evil1 10.231.8.4 9 net=ok_value" 10
check "b too" wait_line b "peer evil1 10.231.8.4 9 net=ok_value" 10
check "a forged answer for a's SRV record is undone by a: b's last word on a is right" \
	wait_latest b "$IA" "$LA" 10
check "and c's" wait_latest c3 "$IA" "$LA" 10
check "a noticed the forgery" grep -q 'another host answers for our name' "$TMP/a.err"
# The fuzzed copies of evil1 come and go; the last, intact announcement (TTL 4 s) must expire.
check "the forged instance, announced last with a TTL of 4 s, is reported" \
	wait_latest a evil1 "peer evil1 10.231.8.4 9 net=ok_value" 5
T_EVIL=$(date +%s%N)
check "then expires without a goodbye: a reports it gone" wait_latest a evil1 "gone evil1" 30
echo "# expiry of a 4 s TTL without goodbye: $(ms_since "$T_EVIL") ms"
check "b too" wait_latest b evil1 "gone evil1" 5
for n in a b c3; do
	check "$n: every output line is well-formed (no unsafe name or TXT)" well_formed "$n"
done

# --- A node whose link is down while it announces itself is found once the link is back. ---
ip -n "$NS_BR" link set p4 down
start x "$NS_X" 7004 "$IX" vm0 "net=$NET" "dev=$DEVX"
check "x is ready on vm0 with its link down" wait_line x "ready vm0 10.231.8.4" 5
sleep 8
check "nobody heard x while its link was down" bash -c "! grep -q '^peer $IX' '$TMP/a.out' '$TMP/b.out' '$TMP/c3.out'"
ip -n "$NS_BR" link set p4 up
T_HEAL=$(date +%s%N)
LX="peer $IX 10.231.8.4 7004 net=$NET dev=$DEVX"
check "link back: a finds x" wait_line a "$LX" 15
echo "# found after the link came back: $(ms_since "$T_HEAL") ms"
check "b finds x" wait_line b "$LX" 15
check "c finds x" wait_line c3 "$LX" 15
check "x finds a" wait_line x "$LA" 15
check "x finds b" wait_line x "$LB" 15
check "x finds c" wait_line x "$LC3" 15

# --- Ends: SIGTERM, EOF on stdin, SIGINT. ---
kill -TERM "${PID[b]}"
check "b: SIGTERM, exit 0" stopped b 5 0
check "x sees b gone" wait_line x "gone $IB" 5
kill "${WRITER[a]}"
check "a: EOF on stdin, exit 0" stopped a 5 0
kill -INT "${PID[c3]}"
check "c: SIGINT, exit 0" stopped c3 5 0
kill "${WRITER[x]}"
check "x: EOF on stdin, exit 0" stopped x 5 0

for n in a b c c2 c3 x; do
	check "$n never reports itself" never_self "$n" "$(case $n in a) echo "$IA" ;; b) echo "$IB" ;; x) echo "$IX" ;; *) echo "$IC" ;; esac)"
done
check "x: every output line is well-formed" well_formed x
check "no sanitizer report in any child's stderr" bash -c "! grep -l -E 'Sanitizer|runtime error' '$TMP'/*.err"
done_testing
