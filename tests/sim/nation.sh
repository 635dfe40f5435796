#!/usr/bin/env bash
# The test suite's run of the nation-scale simulation (nation.py --quick): 40
# real nodes in network namespaces, 20 s of work with outages and partitions,
# then every node must hold exactly its scope.  Namespaces need root: through
# passwordless sudo when not root, else a clear failure, as t0009.
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		exec sudo -n env "PATH=$PATH" "LC_ALL=${LC_ALL:-C.UTF-8}" "LANGUAGE=" \
			"MEMBERLOG=${MEMBERLOG:-}" bash "$0" "$@"
	fi
	echo "sim-nation: needs root to create network namespaces: not root, and 'sudo -n true' fails" >&2
	exit 1
fi
exec python3 "$(dirname "$0")/nation.py" --quick --memberlog "${MEMBERLOG:?set MEMBERLOG to the memberlog binary}" "$@"
