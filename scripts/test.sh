#!/usr/bin/env bash
# Install what is missing, build, and run every test:
#   1. the test suite in an optimised build (build/)
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   3. each libFuzzer target for FUZZ_SECONDS (default 60) on a copy of its corpus (build-fuzz/)
# Ends with the line "N passed, N failed"; exit status 0 only if nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

passed=0
failed=0
fuzz_seconds=${FUZZ_SECONDS:-60}

count_meson() { # $1: build dir - adds its test results to the totals
	local log="$1/meson-logs/testlog.json" ok bad
	ok=$(grep -c '"result": "OK"' "$log" 2>/dev/null) || ok=0
	bad=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log" 2>/dev/null) || bad=0
	passed=$((passed + ok))
	failed=$((failed + bad))
}

run_suite() { # $1: build dir, rest: meson setup options
	local dir=$1
	shift
	echo "== build $dir $*"
	if ! scripts/build.sh "$dir" "$@"; then
		echo "build of $dir failed"
		failed=$((failed + 1))
		return
	fi
	echo "== test $dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2 | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):'
	count_meson "$dir"
}

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

run_suite build
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all

echo "== fuzz (${fuzz_seconds}s per target)"
if CC=clang scripts/build.sh build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false; then
	for corpus in tests/fuzz/corpus/*/; do
		name=$(basename "$corpus")
		target=build-fuzz/tests/fuzz_$name
		work=$(mktemp -d)
		cp "$corpus"* "$work"/
		if "$target" -max_total_time="$fuzz_seconds" -max_len=70000 -print_final_stats=1 \
			-artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
			echo "fuzz $name: ok, $(grep -o 'Done [0-9]* runs' "$work.log")"
			passed=$((passed + 1))
		else
			echo "fuzz $name: FAILED; crash input and log kept in $work"
			tail -30 "$work.log"
			failed=$((failed + 1))
			continue
		fi
		rm -rf "$work" "$work.log"
	done
else
	echo "fuzz build failed"
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
