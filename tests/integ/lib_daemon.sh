# lib_daemon.sh - real `memberlog serve` processes for the network tests, sourced
# after lib.sh: starting and stopping daemons, bounded waits, joining by invite.
# A test's EXIT trap calls stop_daemons before removing $TMP.

ml() { "$ML" --home "$TMP/$1" "${@:2}"; }
PY=$(command -v /usr/bin/python3 || command -v python3)
pids=()

# stop_daemons: SIGTERM to every daemon started, SIGKILL to any still up after 5 s.
stop_daemons() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds; bounded.
wait_for() {
	local tries=$(($1 * 10))
	shift
	for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "gave up after $tries tries: $*" >&2
	return 1
}

# serve NODE [ARGS...]: the daemon on 127.0.0.1 (any free port); sets PID_<NODE> and ADDR_<NODE>.
serve() {
	local node=$1
	shift
	# the binary itself in the background (not the ml function: $! would be a subshell's)
	"$ML" --home "$TMP/$node" serve --listen 127.0.0.1:0 --no-mdns --anti-entropy 2 "$@" \
		2>>"$TMP/$node.log" &
	local pid=$!
	pids+=("$pid")
	eval "PID_$node=$pid"
	wait_for 10 ml "$node" peers || return 1
	local addr
	addr=$(ml "$node" peers | head -1 | awk '{print $3}')
	eval "ADDR_$node=$addr"
}

# stop NODE: SIGTERM, then it must exit 0 within 5 s.
stop() {
	local pid
	eval "pid=\$PID_$1"
	kill -TERM "$pid" && wait_for 5 bash -c "! kill -0 $pid 2>/dev/null" && wait "$pid"
}

# join INVITER NODE UNIT ROLE: NODE joins with a token INVITER's serve redeems.
join() {
	local token
	token=$(ml "$1" --json invite --unit "$3" --role "$4" --address "$(eval echo "\$ADDR_$1")" |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])') &&
		ml "$2" network join "$token" >"$TMP/join.out" 2>&1 ||
		{ cat "$TMP/join.out" >&2; return 1; }
}
