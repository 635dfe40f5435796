#!/usr/bin/env bash
# Formats every C source and header with the repository's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -co --exclude-standard '*.c' '*.h' | xargs clang-format -i
