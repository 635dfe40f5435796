#!/usr/bin/env bash
# t0011: the README's main job (scripts/demo-network.sh, what scripts/demo.sh
# runs after installing and building) plays its whole story with real daemons
# and stops them all; interrupted midway (Ctrl-C), it leaves nothing running.
# The demo's daemons keep the default 30 s anti-entropy, so its transfer step
# (bounded at 20 s) also proves that a scope gained is reconciled at once
# (ROUND_PLEASE, docs/PROTOCOL.md §12.3).
. "$(dirname "$0")/lib.sh"
PY=$(command -v /usr/bin/python3 || command -v python3)
export MEMBERLOG=$ML DEMO_ROWS=8

running() { pgrep -f "memberlog --home $TMP/$1/" >/dev/null; }

whole() {
	"$SRC/scripts/demo-network.sh" "$TMP/d1" >"$TMP/d1.out" 2>&1 || { tail -20 "$TMP/d1.out" >&2; return 1; }
	grep -q 'nat, prov, dist and aud hold the same register' "$TMP/d1.out" &&
		grep -q 'the history holds' "$TMP/d1.out" && grep -q 'rejected .*: thiếu quê quán' "$TMP/d1.out" &&
		grep -q 'done: every node was stopped cleanly' "$TMP/d1.out" && ! running d1 &&
		for n in nat prov dist c1 c2 c3 aud; do [ -f "$TMP/d1/$n/memberlog.db" ] || return 1; done
}
check "the demo plays the story to equal state hashes and a clean audit, then stops every node" whole

interrupted() {
	"$PY" - "$SRC/scripts/demo-network.sh" "$TMP/d2" <<'PYEOF'
import os, signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                     start_new_session=True)
# Ctrl-C once the first daemon runs: the terminal signals the whole process group.
deadline = time.time() + 60
out = b""
while b"serving on" not in out and time.time() < deadline:
    out += p.stdout.read1(4096)
os.killpg(p.pid, signal.SIGINT)
out += p.communicate(timeout=30)[0]
sys.stdout.write(out.decode())
sys.exit(0 if p.returncode == 130 and b"interrupted" in out else 1)
PYEOF
	! running d2
}
check "Ctrl-C during the demo stops it and every node it started" interrupted

done_testing
