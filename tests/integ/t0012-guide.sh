#!/usr/bin/env bash
# t0012: the user guide cannot rot.  Every ```sh block of docs/USER-GUIDE.md
# runs, in order, in one bash session with `set -e` (variables set in one block
# are seen by the next), with HOME=$TMP so that the guide's ~/memberlog node
# folders are inside $TMP, `memberlog` on the PATH, and free ports in the
# guide's PORT_* variables.  A failing command is reported by its line in
# the .md, with its block's line and first line.  docs/USER-GUIDE.vi.md must
# hold the same blocks (comments and blank lines aside); the ```console
# blocks, which are not run, may only name scripts and options that exist;
# links must lead to headings and files.  Then the story's outcome
# is checked: equal state hashes, numbers, the transfer, the reduction, the
# USB member, the exports, a clean audit, and no node left running.
. "$(dirname "$0")/lib.sh"
exec 3>&1 # notes that reach the log even from inside a check
. "$(dirname "$0")/lib_daemon.sh"
EN=$SRC/docs/USER-GUIDE.md
VI=$SRC/docs/USER-GUIDE.vi.md

# ours PID: the process runs on a node folder inside $TMP (so a reused pid is left alone)
ours() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$TMP/"; }
# guide_pids: the daemons the guide started (recorded by the runner) and any process on $TMP still up
guide_pids() {
	local p
	for p in $(cat "$TMP"/*.pids 2>/dev/null) $(pgrep -f -- "--home $TMP/"); do
		ours "$p" && echo "$p"
	done | sort -u
}
# KEEP=1 keeps $TMP (the node folders, the guide's output) to look at
trap 'pids+=($(guide_pids)); stop_daemons; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

cat >"$TMP/guide.py" <<'EOF'
"""The guide's fenced blocks: extraction, the runner script, comparison, console checks."""
import json, os, re, shlex, subprocess, sys

def blocks(path):
    """[(lang, line of the opening fence, [lines])] of a markdown file."""
    out, lang, start, buf = [], None, 0, []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            s = line.rstrip("\n")
            if lang is None:
                m = re.match(r"^```\s*([\w-]*)\s*$", s)
                if m:
                    lang, start, buf = m.group(1), i, []
            elif s.strip() == "```":
                out.append((lang, start, buf))
                lang = None
            else:
                buf.append(s)
    if lang is not None:
        sys.exit(f"{path}:{start}: a ``` block is not closed")
    return out

def sh_blocks(path):
    bs = blocks(path)
    for lang, start, _ in bs:
        if lang in ("bash", "shell", "zsh", "sh-session"):
            sys.exit(f"{path}:{start}: ```{lang} is never run: use ```sh (run by t0012) or ```console (not run)")
    return [(start, lines) for lang, start, lines in bs if lang == "sh"]

def first_line(lines):
    return next((l.strip() for l in lines if l.strip() and not l.lstrip().startswith("#")), "")

def runner(path, out):
    """A bash script running every sh block in order, recording the block it is in, the jobs,
    and the script line of a failing command (out + ".map" maps it back to the .md)."""
    rel = os.path.relpath(path, os.environ.get("MEMBERLOG_SRC", "."))
    text = ['set -e', 'trap \'jobs -p >>"$GUIDE_PIDS"\' EXIT', 'trap \'echo "$LINENO" >"$GUIDE_ERR"\' ERR']
    where = {}
    for n, (start, lines) in enumerate(sh_blocks(path), 1):
        head = f"block {n} ({rel} line {start}): {first_line(lines)}"
        text += ["", f"# --- {head}", f'echo {n} >"$GUIDE_AT"', 'jobs -p >>"$GUIDE_PIDS"',
                 f"echo {shlex.quote('### ' + head)}"]
        for i, line in enumerate(lines, start + 1):
            text.append(line)
            where[str(len(text))] = i
    text += ["", 'echo done >"$GUIDE_AT"']
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")
    with open(out + ".map", "w") as f:
        json.dump(where, f)

def describe(path, n, script, err_line):
    start, lines = sh_blocks(path)[int(n) - 1]
    rel = os.path.relpath(path, os.environ.get("MEMBERLOG_SRC", "."))
    print(f"block {n} at {rel} line {start} failed: {first_line(lines)}")
    md = json.load(open(script + ".map")).get(err_line.strip())
    if md:
        print(f"the command that failed, at {rel} line {md}: {open(path, encoding='utf-8').read().splitlines()[md - 1].strip()}")

def norm(lines):
    """A block's commands: comments and blank lines left out."""
    out = []
    for l in lines:
        if l.lstrip().startswith("#"):
            continue
        l = re.sub(r"\s+#.*$", "", l).rstrip()
        if l:
            out.append(l)
    return out

def compare(en, vi):
    a, b = sh_blocks(en), sh_blocks(vi)
    for (la, ba), (lb, bb) in zip(a, b):
        if norm(ba) != norm(bb):
            sys.exit(f"the sh block at {en} line {la} differs from the one at {vi} line {lb}:\n"
                     + "\n".join(f"  en: {x}" for x in norm(ba)) + "\n"
                     + "\n".join(f"  vi: {x}" for x in norm(bb)))
    if len(a) != len(b):
        sys.exit(f"{en} has {len(a)} sh blocks, {vi} has {len(b)}")
    print(f"{len(a)} sh blocks, the same in both")

def console(path, ml, src):
    """Lines of ```console blocks: scripts exist; memberlog commands and their options exist."""
    bad = 0
    for lang, start, lines in blocks(path):
        if lang != "console":
            continue
        for i, l in enumerate(lines, start + 1):
            words = shlex.split(l, comments=True)
            if not words:
                continue
            if words[0].startswith("scripts/"):
                if not os.access(os.path.join(src, words[0]), os.X_OK):
                    print(f"{path}:{i}: no executable {words[0]}")
                    bad += 1
            elif words[0] == "memberlog":
                rest, cmd = words[1:], []
                while rest and rest[0] in ("--home", "--json"):
                    rest = rest[2:] if rest[0] == "--home" else rest[1:]
                while rest and not rest[0].startswith("-") and len(cmd) < 2:
                    cmd.append(rest.pop(0))
                r = subprocess.run([ml] + cmd + ["--help"], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"{path}:{i}: 'memberlog {' '.join(cmd)} --help' exits {r.returncode}")
                    bad += 1
                for w in rest:
                    if w.startswith("--") and w.split("=")[0] not in r.stdout + r.stderr:
                        print(f"{path}:{i}: memberlog {' '.join(cmd)} has no option {w}")
                        bad += 1
    sys.exit(1 if bad else 0)

def links(path):
    """Every [text](#anchor) names a heading (GitHub's slugs), every [text](file) exists."""
    text = open(path, encoding="utf-8").read()
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
             for h in re.findall(r"^#+ (.*)$", prose, flags=re.M)}
    bad = 0
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if target.startswith("#"):
            ok = target[1:] in slugs
        elif re.match(r"^[a-z]+:", target):
            ok = True
        else:
            ok = os.path.exists(os.path.join(os.path.dirname(path), target.split("#")[0]))
        if not ok:
            print(f"{path}: the link ({target}) leads nowhere")
            bad += 1
    sys.exit(1 if bad else 0)

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "runner":
        runner(sys.argv[2], sys.argv[3])
    elif cmd == "describe":
        describe(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3])
    elif cmd == "console":
        console(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "links":
        links(sys.argv[2])
    elif cmd == "count":
        print(len(sh_blocks(sys.argv[2])))
EOF
guide() { "$PY" "$TMP/guide.py" "$@"; }

# run_guide MD NAME: runs MD's sh blocks in $TMP (HOME=$TMP); output in $TMP/NAME.out.
# On failure, prints which block failed and the end of its output.
run_guide() {
	local md=$1 name=$2 rc
	guide runner "$md" "$TMP/$name.sh" || return 1
	(
		cd "$TMP" && export HOME=$TMP PATH="$TMP/bin:$PATH" GUIDE_AT="$TMP/$name.at" \
			GUIDE_PIDS="$TMP/$name.pids" GUIDE_ERR="$TMP/$name.err-line" && unset MEMBERLOG_HOME XDG_DATA_HOME &&
			timeout -k 10 300 bash "$TMP/$name.sh"
	) >"$TMP/$name.out" 2>&1
	rc=$?
	[ "$(cat "$TMP/$name.at" 2>/dev/null)" = "done" ] && [ $rc -eq 0 ] && return 0
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "the guide timed out after 300 s" >&2; fi
	if [ -s "$TMP/$name.at" ] && [ "$(cat "$TMP/$name.at")" != "done" ]; then
		guide describe "$md" "$(cat "$TMP/$name.at")" "$TMP/$name.sh" "$(cat "$TMP/$name.err-line" 2>/dev/null)" >&2
	else
		echo "the guide exited $rc after its last block" >&2
	fi
	tail -25 "$TMP/$name.out" >&2
	return 1
}

check "the guides link to each other at the top" bash -c "
	head -5 '$EN' | grep -qF '(USER-GUIDE.vi.md)' && head -5 '$VI' | grep -qF '(USER-GUIDE.md)'"
check "the guides' links lead to their headings and files" \
	bash -c "'$PY' '$TMP/guide.py' links '$EN' && '$PY' '$TMP/guide.py' links '$VI'"
check "the guide has sh blocks and no shell block that would silently not run" \
	bash -c "[ \"\$('$PY' '$TMP/guide.py' count '$EN')\" -ge 20 ]"
check "the Vietnamese guide holds exactly the English guide's sh blocks" guide compare "$EN" "$VI"
check "the console blocks (not run) name scripts, commands and options that exist" \
	bash -c "'$PY' '$TMP/guide.py' console '$EN' '$ML' '$SRC' && '$PY' '$TMP/guide.py' console '$VI' '$ML' '$SRC'"

failing_block() {
	printf '# t\n\n```sh\nX=1\n```\n\ntext\n\n```sh\n# a comment\necho first\n[ "$X" = 2 ]\necho never\n```\n' >"$TMP/bad.md"
	! run_guide "$TMP/bad.md" bad 2>"$TMP/bad.err" &&
		grep -q 'block 2 at .*bad.md line 9 failed: echo first' "$TMP/bad.err" &&
		grep -q 'the command that failed, at .*bad.md line 12: \[ "\$X" = 2 \]' "$TMP/bad.err" &&
		! grep -q never "$TMP/bad.out"
}
check "a failing command is reported by its line in the .md and its block's" failing_block

# The guide's ports: free now, outside the range the kernel hands out for port 0
# (so no daemon of a test running in parallel gets one of them meanwhile).
ports() {
	"$PY" - <<-'EOF'
		import random, socket
		lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
		span = (10000, lo) if lo >= 12000 else (hi + 1, 65535) if hi < 64000 else (10000, 65535)
		got = []
		while len(got) < 4:
		    p = random.randrange(*span)
		    s = socket.socket()
		    try:
		        s.bind(("127.0.0.1", p))
		    except OSError:
		        continue
		    finally:
		        s.close()
		    if p not in got:
		        got.append(p)
		print(*got)
	EOF
}
read -r PORT_NATIONAL PORT_DISTRICT PORT_BODE PORT_GIATHUY <<<"$(ports)"
export PORT_NATIONAL PORT_DISTRICT PORT_BODE PORT_GIATHUY
mkdir -p "$TMP/bin" && ln -s "$ML" "$TMP/bin/memberlog"

story() {
	local t0 t1
	t0=$(date +%s%N)
	run_guide "$EN" guide || return 1
	t1=$(date +%s%N)
	echo "# the guide's $(guide count "$EN") blocks ran in $(((t1 - t0) / 1000000)) ms" >&3
}
check "every sh block of the guide runs, in order, in one shell" story

N=$TMP/memberlog
gml() { "$ML" --home "$N/$1" "${@:2}"; }
json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

none_left() { [ -z "$(guide_pids)" ]; }
check "the guide stopped every node it started" wait_for 10 none_left

shows() {
	local phrase
	for phrase in "admin     at Tổng Liên đoàn Lao động Việt Nam" "admin     at LĐLĐ quận Long Biên" \
		"approver  at LĐLĐ quận Long Biên" "numbers  000000000013 .. 000000010008 (1000)" \
		"officer   at CĐCS Phường Bồ Đề" "officer   at CĐCS Phường Cự Khối" \
		"is a valid template: 20 members" "node listening 127.0.0.1:$PORT_DISTRICT" \
		"the history holds"; do
		grep -qF -- "$phrase" "$TMP/guide.out" || { echo "the guide's output lacks: $phrase" >&2; return 1; }
	done
}
check "the output holds what the guide says the officer sees" shows

same_register() {
	local a b
	a=$(gml national state-hash) && b=$(gml district state-hash) && [ -n "$a" ] && [ "$a" = "$b" ] ||
		{ echo "national $a, district $b" >&2; return 1; }
}
check "the national node and the district hold the same register (equal state hashes)" same_register

numbers() {
	gml district --json member list --state official >"$TMP/j" &&
		"$PY" - "$TMP/j" <<-'EOF'
			import json, sys
			ms = json.load(open(sys.argv[1]))["members"]
			assert len(ms) == 22, len(ms)  # 20 from the template, Đinh Văn Đức, Đỗ Thị Hằng
			nums = [m["member_number"] for m in ms]
			assert len(set(nums)) == 22, nums
			damm = ["0317598642", "7092154863", "4206871359", "1750983426", "6123045978",
			        "3674209581", "5869720134", "8945362017", "9438617205", "2581436790"]
			for n in nums:
			    assert len(n) == 12 and n.isdigit(), n
			    i = 0
			    for c in n:
			        i = int(damm[i][int(c)])
			    assert i == 0, f"{n}: bad check digit"
		EOF
}
check "every member is official with a distinct 12-digit number whose check digit holds" numbers

returned_then_moved() {
	gml district --json member history 001090004321 >"$TMP/h" &&
		[ "$(json "$TMP/h" '" ".join(e["type"] for e in d["history"])')" = \
			"member_create member_submit member_reject member_update member_submit member_approve member_transfer member_submit member_approve member_receive member_submit member_approve" ] &&
		gml gia-thuy --json member show 001090004321 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["unit_name"], d["state"], d["status"], d["official"]["dob"], len(d["member_number"])')" = \
			"CĐCS Phường Gia Thụy official active 15/05/1990 12" ]
}
check "Đinh Văn Đức was returned, fixed, approved, then transferred to Gia Thụy" returned_then_moved

reduced_and_card() {
	local first second
	first=$(awk -F, 'NR == 4 {print $6}' "$N/members.csv") && second=$(awk -F, 'NR == 5 {print $6}' "$N/members.csv") &&
		gml district --json member show "$first" >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["status"], d["official"]["reduce_reason"]')" = "reduced left_job" ] &&
		"$PY" - "$N/the.xlsx" "$second" <<-'EOF'
			import sys, zipfile
			z = zipfile.ZipFile(sys.argv[1])
			text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
			assert "DANH SÁCH ĐỀ NGHỊ IN THẺ" in text and sys.argv[2] in text
		EOF
}
check "the template's first member is reduced; the second is on the card list" reduced_and_card

found() { # found NODE TEXT NAME: member search TEXT on NODE finds exactly NAME
	[ "$(gml "$1" --json member search "$2" | "$PY" -c 'import json,sys; print([m["full_name"] for m in json.load(sys.stdin)["members"]])')" = "['$3']" ]
}
search() { found district "dinh van duc" "Đinh Văn Đức" && found district "DO THI HANG" "Đỗ Thị Hằng"; }
check "search ignores accents and case, and d finds đ" search

usb() {
	gml cu-khoi --json member show 001195000123 >"$TMP/j" &&
		[ "$(json "$TMP/j" 'd["state"], d["full_name"], len(d["member_number"])')" = "official Đỗ Thị Hằng 12" ] &&
		[ "$(gml bo-de --json member search "do thi hang" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')" = 0 ]
}
check "Cự Khối's member went and came back by USB; Bồ Đề does not hold her" usb

exports() {
	"$PY" - "$N/danh-sach.csv" "$N/danh-sach.xlsx" <<-'EOF'
		import sys, zipfile
		rows = open(sys.argv[1], encoding="utf-8-sig").read().splitlines()
		assert rows[0].startswith("DANH SÁCH CHI TIẾT"), rows[0]
		assert rows[2].startswith("Thời gian xuất"), rows[2]
		assert len(rows) == 4 + 22, len(rows)
		assert any("Đỗ Thị Hằng" in r for r in rows) and any("Đinh Văn Đức" in r for r in rows)
		z = zipfile.ZipFile(sys.argv[2])
		assert "DANH SÁCH CHI TIẾT" in "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
	EOF
}
check "the detailed list was exported as .csv and .xlsx with every member" exports

check "audit verify holds at the national node and at the district" bash -c "
	'$ML' --home '$N/national' audit verify >/dev/null && '$ML' --home '$N/district' audit verify >/dev/null"

done_testing
