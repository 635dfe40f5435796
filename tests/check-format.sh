#!/usr/bin/env bash
# Fails when a C source or header differs from what .clang-format makes of it.
set -euo pipefail
cd "${MEMBERLOG_SRC:?}"
command -v clang-format >/dev/null || { echo "clang-format is not installed (scripts/install-deps.sh)"; exit 1; }
dirs=()
for d in crdt node net cli tests; do [ -d "$d" ] && dirs+=("$d"); done
find "${dirs[@]}" -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror
echo "all sources formatted"
