#!/usr/bin/env bash
# t0002: kill -9 a node in the middle of a large ingest, at random moments.
# After every kill the SQLite file passes integrity_check and holds every op
# of every batch `memberlog ingest` acknowledged; resumed, the node ends with
# the same state hash as a node that ingested the same history without a
# crash, and as its own rebuild.  The last node is killed twice: once during
# the first ingest and once during the resumed one.
. "$(dirname "$0")/lib.sh"
GEN=${GEN_LOG:?set GEN_LOG to the gen_log tool}

log=$TMP/history.cbor
clean=$TMP/clean
KILLS=${ML_CRASH_KILLS:-5}

# The last acknowledged op number in an ingest's output (0 if none).
acked() { sed -n 's/^committed batch [0-9]*: ops [0-9]*\.\.\([0-9]*\)$/\1/p' "$1" | tail -1 | grep . || echo 0; }

# Runs an ingest into home and kills it after a random share (5..90%) of span_ms.
ingest_and_kill() {
	local home=$1 out=$2 pid ms
	"$ML" --home "$home" ingest "$log" >"$out" 2>/dev/null &
	pid=$!
	ms=$(( span_ms * (5 + RANDOM % 86) / 100 ))
	sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

check "generate a signed history of 40,000 ops" "$GEN" write --ops 40000 --seed 7 "$log"

t0=$(date +%s%N)
check "a node without crashes ingests it" bash -c "
	'$ML' --home '$clean' ingest '$log' >'$TMP/clean.out' &&
	tail -1 '$TMP/clean.out' | grep -q ' 0 rejected, 0 refused'"
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
clean_hash=$("$ML" --home "$clean" state-hash)

for round in $(seq 1 "$KILLS"); do
	node=$TMP/node$round
	ingest_and_kill "$node" "$TMP/kill$round.out"
	n=$(acked "$TMP/kill$round.out")
	check "round $round: killed after $n acknowledged ops; the file is sound and holds them" \
		"$GEN" check "$node/memberlog.db" "$log" "$n"
done

last=$TMP/node$KILLS
ingest_and_kill "$last" "$TMP/again.out"
check "a second kill during the resumed ingest loses nothing either" \
	"$GEN" check "$last/memberlog.db" "$log" "$(acked "$TMP/again.out")"

for round in $(seq 1 "$KILLS"); do
	node=$TMP/node$round
	check "round $round: resumed, the node reaches the clean node's state hash" bash -c "
		'$ML' --home '$node' ingest '$log' >'$TMP/resume.out' &&
		tail -1 '$TMP/resume.out' | grep -q ' 0 rejected, 0 refused' &&
		[ \"\$('$ML' --home '$node' state-hash)\" = '$clean_hash' ]"
done

check "and a rebuild of a recovered node gives the same hash" bash -c "
	'$ML' --home '$last' rebuild >/dev/null &&
	[ \"\$('$ML' --home '$last' state-hash)\" = '$clean_hash' ]"

done_testing
