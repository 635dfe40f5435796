#!/usr/bin/env bash
# The main job: install what is missing, build, and run a real network of
# memberlog nodes on this machine playing the register's story
# (scripts/demo-network.sh: national, province, district, three communes, an
# auditor).  Ctrl-C at any point stops every node it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "building memberlog..."
scripts/build.sh build
exec scripts/demo-network.sh "$@"
