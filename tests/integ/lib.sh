# lib.sh - helpers for memberlog's shell tests (git's t/ style).
# Each test script sources this, runs `check` lines, and ends with `done_testing`.
set -u
ML=${MEMBERLOG:?set MEMBERLOG to the memberlog binary}
SRC=${MEMBERLOG_SRC:?set MEMBERLOG_SRC to the source tree}
TMP=$(mktemp -d /tmp/ml-test-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
n_ok=0
n_fail=0

# check "title" command...: passes when the command exits 0.
check() {
	local title=$1
	shift
	if "$@" >"$TMP/out" 2>"$TMP/err"; then
		n_ok=$((n_ok + 1))
		echo "ok - $title"
	else
		n_fail=$((n_fail + 1))
		echo "FAIL - $title"
		sed 's/^/    out: /' "$TMP/out" | head -20
		sed 's/^/    err: /' "$TMP/err" | head -20
	fi
}

# exits_with CODE command...: true when the command exits with CODE.
exits_with() {
	local want=$1 got
	shift
	"$@"
	got=$?
	[ "$got" -eq "$want" ] || { echo "exit status $got, wanted $want" >&2; return 1; }
}

# must command...: a setup step; the test cannot go on without it.
must() {
	if ! "$@" >"$TMP/must.out" 2>"$TMP/must.err"; then
		echo "FAIL - setup: $*"
		sed 's/^/    /' "$TMP/must.out" "$TMP/must.err" | head -20
		exit 1
	fi
}

done_testing() {
	echo "# $n_ok passed, $n_fail failed"
	[ "$n_fail" -eq 0 ]
}
