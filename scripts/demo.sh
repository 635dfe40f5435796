#!/usr/bin/env bash
# The main job: install what is missing, build, and run memberlog doing its
# work - a signed op log written by two devices, verified by an auditor, a
# forged copy and a forked feed caught.  (It grows into the demo network.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "building memberlog..."
scripts/build.sh build
ml=build/cli/memberlog
dir=$(mktemp -d /tmp/memberlog-demo-XXXXXX)

"$ml" demo --dir "$dir"

echo
echo "== an auditor re-verifies the log file with a separate command =="
"$ml" feed verify "$dir/log.cbor" | tail -4
echo
echo "== and the forged copy (exit status 3 means: findings) =="
set +e
"$ml" feed verify "$dir/log-forged.cbor" | tail -3
status=${PIPESTATUS[0]}
set -e
echo "exit status $status"
[ "$status" -eq 3 ] || { echo "demo: the forged log was not caught" >&2; exit 1; }
echo
echo "demo files are in $dir"
