#!/usr/bin/env python3
"""nation.py - the nation-scale simulation: real `memberlog serve` processes,
one per organisational unit, in network namespaces this script makes.

The tree comes from `memberlog sample --tree` (realistic base-unit sizes):
1 national, P provinces, P*D districts and P*D*B base units ("communes"),
each a node with its own directory and device.  The national node creates
the tree and grants every device its role; each node dials its parent.

Each province and each district lives in its own network namespace with
the communes under it; the national node in another.  A veth pair joins a
province to the national namespace and a district to its province's, so a
partition is real: both ends of a link go down and packets stop.

The workload runs for --duration seconds, drawn from --seed: communes import
their members from Phụ lục 03 templates (`memberlog sample`) in batches and
submit them, edit some and transfer some to a neighbour commune; districts
approve what reached them.  Meanwhile nodes go offline (their `serve` stops,
the officers keep working on the local store) and links go down, each for a
few seconds.  Then every link heals and every node comes back, no one writes
any more, and the script measures:

  - convergence: from the last heal until every node's state hash equals the
    hash of its scope (a scratch store built from the national node's bundle
    for that node's device), polled every --poll seconds;
  - per node: bytes and ops sent and received on the wire, and ops relayed
    (sent ones another device wrote), from each `serve` run's closing line;
  - the register's size: ops, members, units.

Exit status 0 when every node holds exactly its scope; 1 otherwise; 77 when
namespaces cannot be made here (not root).  The report goes to stdout and,
as JSON, to --json FILE.  Every process and namespace made is removed on exit,
also on Ctrl-C.
"""
import argparse
import concurrent.futures
import csv
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

PORT = 7400
ML = None  # the memberlog binary
ENV = dict(os.environ, LC_ALL="C.UTF-8", LANGUAGE="")


def now():
    return time.monotonic()


def run(args, check=True):
    """Runs a command; returns its stdout.  On failure raises when check, else returns None."""
    p = subprocess.run(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    if p.returncode != 0:
        if check:
            raise RuntimeError(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
        return None
    return p.stdout


class Node:
    def __init__(self, name, kind, unit, parent, home, ns):
        self.name, self.kind, self.unit, self.parent = name, kind, unit, parent
        self.home, self.ns = home, ns
        self.proc = None
        self.key = None
        self.children = []
        self.peer = None      # HOST:PORT it dials
        self.listen = None
        self.log = os.path.join(os.path.dirname(home), name + ".log")
        self.offline_until = None
        self.bad_exits = []    # exit statuses of serve runs that did not stop cleanly
        self.members_left = 0  # base units: members still to import
        self.serial = 0        # base units: the next ID-number serial

    def ml(self, *args, check=True):
        return run([ML, "--home", self.home, *args], check=check)

    def start(self):
        args = ["ip", "netns", "exec", self.ns, ML, "--home", self.home, "serve", "--no-mdns",
                "--listen", self.listen, "--anti-entropy", str(OPTS.anti_entropy)]
        if self.peer:
            args += ["--peer", self.peer]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(args, env=ENV, stdout=log, stderr=log)
        deadline = now() + 10
        while now() < deadline:
            if run([ML, "--home", self.home, "peers"], check=False) is not None:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: serve did not start (see {self.log})")

    def stop(self):
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        if rc != 0:
            self.bad_exits.append(rc)
        self.proc = None


class Sim:
    def __init__(self, opts):
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.prefix = f"mls{os.getpid()}"
        self.namespaces = []
        self.links = []  # (ns_a, if_a, ns_b, if_b, label)
        self.nodes = []
        self.events = {"imports": 0, "members_imported": 0, "edits": 0, "approvals": 0,
                       "transfers_started": 0, "transfers_done": 0, "offline_periods": 0,
                       "partitions": 0, "writes_while_offline": 0}
        self.down_links = {}  # link index -> heal time
        self.transfers = []   # in-flight transfer state machines
        self.t0 = now()
        self.event_log = None

    def note(self, text):
        """One line of the run's story in events.log, with seconds since the start."""
        if self.event_log:
            self.event_log.write(f"{now() - self.t0:8.2f} {text}\n")
            self.event_log.flush()

    # --- the network --------------------------------------------------------
    @staticmethod
    def sweep_stale():
        """Deletes namespaces left by runs whose process is gone (killed by a test timeout)."""
        out = run(["ip", "netns", "list"], check=False) or ""
        for line in out.splitlines():
            name = line.split()[0] if line.split() else ""
            m = re.match(r"mls(\d+)-", name)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)

    def netns(self, suffix):
        ns = f"{self.prefix}-{suffix}"
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        return ns

    def link(self, ns_a, if_a, addr_a, ns_b, if_b, addr_b, label):
        run(["ip", "-n", ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b,
             "netns", ns_b])
        run(["ip", "-n", ns_a, "addr", "add", addr_a + "/30", "dev", if_a])
        run(["ip", "-n", ns_b, "addr", "add", addr_b + "/30", "dev", if_b])
        run(["ip", "-n", ns_a, "link", "set", "dev", if_a, "up"])
        run(["ip", "-n", ns_b, "link", "set", "dev", if_b, "up"])
        self.links.append((ns_a, if_a, ns_b, if_b, label))

    def set_link(self, i, up):
        ns_a, if_a, ns_b, if_b, _ = self.links[i]
        state = "up" if up else "down"
        run(["ip", "-n", ns_a, "link", "set", "dev", if_a, state])
        run(["ip", "-n", ns_b, "link", "set", "dev", if_b, state])

    # --- the tree and the nodes -------------------------------------------------
    def build(self, work):
        o = self.opts
        tree_csv = os.path.join(work, "tree.csv")
        run([ML, "sample", "--tree", "--provinces", str(o.provinces), "--districts",
             str(o.districts), "--bases", str(o.bases), "--seed", str(o.seed), "-o", tree_csv])
        with open(tree_csv, newline="") as f:
            rows = list(csv.DictReader(f))
        self.tree = rows
        ns_nat = self.netns("n")
        by_index = {}
        counters = {"province": 0, "district": 0, "base_union": 0}
        for r in rows:
            idx, parent, level = int(r["index"]), int(r["parent"]), r["level"]
            if level == "national":
                node = Node("nat", "national", r["name"], None, os.path.join(work, "nat", "home"),
                            ns_nat)
                node.listen = f"0.0.0.0:{PORT}"
            elif level == "province":
                i = counters["province"]
                counters["province"] += 1
                ns = self.netns(f"p{i}")
                self.link(ns_nat, f"p{i}", f"10.79.{i}.1", ns, "uplink", f"10.79.{i}.2",
                          f"province p{i} - national")
                node = Node(f"p{i}", "province", r["name"], by_index[parent],
                            os.path.join(work, f"p{i}", "home"), ns)
                node.listen, node.peer = f"0.0.0.0:{PORT}", f"10.79.{i}.1:{PORT}"
            elif level == "district":
                j = counters["district"]
                counters["district"] += 1
                par = by_index[parent]
                ns = self.netns(f"d{j}")
                self.link(par.ns, f"d{j}", f"10.80.{j}.1", ns, "uplink", f"10.80.{j}.2",
                          f"district d{j} - province {par.name}")
                node = Node(f"d{j}", "district", r["name"], par,
                            os.path.join(work, f"d{j}", "home"), ns)
                node.listen, node.peer = f"0.0.0.0:{PORT}", f"10.80.{j}.1:{PORT}"
            else:
                k = counters["base_union"]
                counters["base_union"] += 1
                par = by_index[parent]
                node = Node(f"c{k}", "commune", r["name"], par,
                            os.path.join(work, f"c{k}", "home"), par.ns)
                node.listen, node.peer = "127.0.0.1:0", f"127.0.0.1:{PORT}"
                node.members_left = int(r["members"])
                node.serial = 1000 * (k + 1)
            by_index[idx] = node
            if node.parent:
                node.parent.children.append(node)
            os.makedirs(node.home)
            self.nodes.append(node)
        self.nat = self.nodes[0]
        self.event_log = open(os.path.join(work, "events.log"), "w")

    def setup_register(self):
        nat = self.nat
        nat.ml("network", "create", "--name", nat.unit)
        net = json.loads(nat.ml("--json", "network", "show"))["network"]
        role = {"province": "admin", "district": "approver", "commune": "officer"}
        level = {"province": "province", "district": "district", "commune": "base_union"}
        for n in self.nodes[1:]:
            n.ml("network", "join", net)
            n.key = json.loads(n.ml("--json", "device", "show"))["device_key"]
            nat.ml("unit", "create", "--parent", n.parent.unit if n.parent is not nat else net,
                   "--name", n.unit, "--level", level[n.kind])
            nat.ml("grant", n.key, "--unit", n.unit, "--role", role[n.kind])
            if n.kind == "province":
                nat.ml("numbers", "delegate", "--unit", n.unit, "--count", "1000000")
            elif n.kind == "district":
                nat.ml("numbers", "delegate", "--unit", n.unit, "--count", "100000")
        nat.key = json.loads(nat.ml("--json", "device", "show"))["device_key"]
        self.net = net

    # --- the workload ---------------------------------------------------------
    def communes(self):
        return [n for n in self.nodes if n.kind == "commune"]

    def do_import(self, c, work):
        k = min(c.members_left, self.rng.randint(20, 200))
        path = os.path.join(work, f"{c.name}-{c.serial}.csv")
        c.ml("sample", "-o", path, "--rows", str(k), "--seed", str(c.serial), "--first",
             str(c.serial))
        c.ml("import", path, "--unit", c.unit)
        c.ml("member", "submit", "--unit", c.unit, "--all")
        c.members_left -= k
        c.serial += k
        self.events["imports"] += 1
        self.events["members_imported"] += k
        if c.proc is None:
            self.events["writes_while_offline"] += 1

    def official(self, node, unit):
        doc = json.loads(node.ml("--json", "member", "list", "--unit", unit, "--state",
                                 "official"))
        # not those already leaving: an officer does not start a second transfer
        return [m["id"] for m in doc["members"] if m.get("status") == "active"]

    def do_edit(self, c):
        ids = self.official(c, c.unit)
        if not ids:
            return
        busy = {t["member"] for t in self.transfers}
        ids = [i for i in ids if i not in busy]
        if not ids:
            return
        m = self.rng.choice(ids)
        # a transfer approved meanwhile may refuse the edit: that is the register working
        if c.ml("member", "edit", m, "--phone", f"09{self.rng.randrange(10**8):08d}",
                check=False) is not None and c.ml("member", "submit", m, check=False) is not None:
            self.events["edits"] += 1

    def do_approve(self, d):
        for c in d.children:
            out = d.ml("member", "approve", "--unit", c.unit, "--all", check=False)
            if out and "nothing to approve" not in out:
                self.events["approvals"] += 1

    def start_transfer(self, c):
        siblings = [s for s in c.parent.children if s is not c]
        busy = {t["member"] for t in self.transfers}
        ids = [i for i in self.official(c, c.unit) if i not in busy]
        if not siblings or not ids:
            return
        m, dest = self.rng.choice(ids), self.rng.choice(siblings)
        if c.ml("member", "transfer", m, "--to", dest.unit, check=False) is None:
            return
        c.ml("member", "submit", m, check=False)
        self.transfers.append({"member": m, "src": c, "dest": dest, "step": "approve_out"})
        self.events["transfers_started"] += 1

    def pending(self, node, member):
        out = node.ml("--json", "member", "show", member, check=False)
        try:
            return json.loads(out).get("pending_changes", 0) > 0
        except (ValueError, AttributeError):
            return False

    def advance_transfers(self):
        """Moves each transfer one step when the node that acts next holds what it needs."""
        for t in self.transfers:
            d, dest, m = t["src"].parent, t["dest"], t["member"]
            if t["step"] == "approve_out" and self.pending(d, m):
                d.ml("member", "approve", m, check=False)
                t["step"] = "receive"
            elif t["step"] == "receive" and dest.ml("member", "show", m, check=False):
                if dest.ml("member", "receive", m, check=False):
                    dest.ml("member", "submit", m, check=False)
                    t["step"] = "approve_in"
            elif t["step"] == "approve_in" and self.pending(d, m):
                d.ml("member", "approve", m, check=False)
                t["step"] = "done"
                self.events["transfers_done"] += 1
        self.transfers = [t for t in self.transfers if t["step"] != "done"]

    def churn(self, t):
        """Takes nodes offline and links down, and brings them back when their time is up."""
        o = self.opts
        for n in self.nodes[1:]:
            if n.offline_until is not None and t >= n.offline_until:
                n.start()
                n.offline_until = None
                self.note(f"{n.name} back online")
        for i, until in list(self.down_links.items()):
            if t >= until:
                self.set_link(i, True)
                del self.down_links[i]
                self.note(f"link up: {self.links[i][4]}")
        if self.rng.random() < o.offline_rate * o.tick:
            n = self.rng.choice(self.nodes[1:])
            if n.offline_until is None:
                n.stop()
                n.offline_until = t + self.rng.uniform(o.outage_min, o.outage_max)
                self.events["offline_periods"] += 1
                self.note(f"{n.name} offline for {n.offline_until - t:.1f} s")
        if self.rng.random() < o.partition_rate * o.tick:
            i = self.rng.randrange(len(self.links))
            if i not in self.down_links:
                self.set_link(i, False)
                self.down_links[i] = t + self.rng.uniform(o.outage_min, o.outage_max)
                self.events["partitions"] += 1
                self.note(f"link down for {self.down_links[i] - t:.1f} s: {self.links[i][4]}")

    def workload(self, work):
        o = self.opts
        start = now()
        end = start + o.duration
        communes, districts = self.communes(), [n for n in self.nodes if n.kind == "district"]
        while now() < end:
            t = now()
            self.churn(t)
            left = [c for c in communes if c.members_left > 0]
            # Imports spread so every member is in by 80 % of the run.
            spread = max(1.0, 0.8 * o.duration - (t - start))
            chunks_left = sum(c.members_left for c in left) / 110.0
            if left and self.rng.random() < min(1.0, chunks_left * o.tick / spread):
                self.do_import(self.rng.choice(left), work)
            if self.rng.random() < o.approve_rate * o.tick:
                self.do_approve(self.rng.choice(districts))
            if self.rng.random() < o.edit_rate * o.tick:
                self.do_edit(self.rng.choice(communes))
            if self.rng.random() < o.transfer_rate * o.tick:
                self.start_transfer(self.rng.choice(communes))
            self.advance_transfers()
            pause = o.tick - (now() - t)
            if pause > 0:
                time.sleep(pause)
        for c in communes:  # what is left goes in at the end, wherever the commune is
            while c.members_left > 0:
                self.do_import(c, work)
        for d in districts:
            self.do_approve(d)

    def heal(self):
        for i in list(self.down_links):
            self.set_link(i, True)
            self.note(f"heal: link up: {self.links[i][4]}")
        self.down_links.clear()
        for n in self.nodes[1:]:
            if n.offline_until is not None:
                n.start()
                n.offline_until = None
                self.note(f"heal: {n.name} back online")
        self.note("healed; no more writes")
        return now()

    # --- measuring ------------------------------------------------------------
    def hashes(self):
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            return list(ex.map(lambda n: (n.ml("state-hash", check=False) or "").strip(),
                               self.nodes))

    def scope_hash(self, n, work):
        """The hash of what n may hold: the national node's bundle for its device, in a scratch store."""
        if n is self.nat:
            return n.ml("state-hash").strip()
        scratch = os.path.join(work, "scope", n.name)
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        shutil.copy(os.path.join(n.home, "device.key"), scratch)
        bundle = os.path.join(work, "scope", n.name + ".mlb")
        self.nat.ml("bundle", "export", "-o", bundle, "--for", n.key)
        run([ML, "--home", scratch, "network", "join", self.net])
        run([ML, "--home", scratch, "bundle", "import", bundle])
        return run([ML, "--home", scratch, "state-hash"]).strip()

    def converge(self, healed, work):
        """Polls every node's hash until each equals its scope's; returns seconds after the heal."""
        o = self.opts
        history = []  # (t, hashes)
        deadline = healed + o.converge_max
        quiet_needed = 2 * o.anti_entropy + 1
        self.checks = 0
        while now() < deadline:
            t = now()
            history.append((t, self.hashes()))
            last_change = max((ht for ht, h in history if h != history[-1][1]), default=healed)
            # the first poll after the last change
            stable_since = next(ht for ht, h in history if ht > last_change)
            checked_this = getattr(self, "_checked", None) == history[-1][1]
            if (t - stable_since >= quiet_needed or t - healed >= o.converge_max - 10) and \
                    not checked_this:
                self._checked = history[-1][1]
                expected = [self.scope_hash(n, work) for n in self.nodes]
                self.checks += 1
                final = history[-1][1]
                if final == expected:
                    # each node's first poll from which on it always held its scope
                    times = []
                    for i in range(len(self.nodes)):
                        first = t
                        for ht, h in reversed(history):
                            if h[i] != expected[i]:
                                break
                            first = ht
                        times.append(first - healed)
                    for name, s_ in zip([n.name for n in self.nodes], times):
                        if s_ > o.poll:
                            self.note(f"{name} holds its scope {s_:.1f} s after the heal")
                    return max(times), times, len(history)
                self.mismatch = [n.name for n, h, e in zip(self.nodes, final, expected) if h != e]
            time.sleep(max(0.0, o.poll - (now() - t)))
        return None, None, len(history)

    def traffic(self):
        pat = re.compile(r"stopped after (\d+) sessions: received (\d+) ops \((\d+) new\), sent "
                         r"(\d+) ops \((\d+) relayed from other devices\); (\d+) bytes in, "
                         r"(\d+) bytes out")
        per = {}
        for n in self.nodes:
            tot = dict(runs=0, sessions=0, ops_in=0, applied=0, ops_out=0, relayed=0,
                       bytes_in=0, bytes_out=0)
            with open(n.log, errors="replace") as f:
                for m in pat.finditer(f.read()):
                    v = list(map(int, m.groups()))
                    tot["runs"] += 1
                    for k, x in zip(["sessions", "ops_in", "applied", "ops_out", "relayed",
                                     "bytes_in", "bytes_out"], v):
                        tot[k] += x
            per[n.name] = tot
        return per

    def cleanup(self):
        for n in self.nodes:  # all at once, then wait for each
            if n.proc:
                n.proc.send_signal(signal.SIGTERM)
        for n in self.nodes:
            try:
                n.stop()
            except Exception:
                pass
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def summary_rows(sim, per):
    rows = []
    for kind in ["national", "province", "district", "commune"]:
        ns = [n for n in sim.nodes if n.kind == kind]
        def col(k):
            v = [per[n.name][k] for n in ns]
            return sum(v) / len(v), max(v)
        rows.append((kind, len(ns), col("bytes_out"), col("bytes_in"), col("ops_out"),
                     col("relayed"), col("ops_in")))
    return rows


def main():
    global ML, OPTS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--memberlog", default=os.environ.get("MEMBERLOG", "build/cli/memberlog"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--provinces", type=int, default=3)
    ap.add_argument("--districts", type=int, default=3, help="per province")
    ap.add_argument("--bases", type=int, default=3, help="base units (communes) per district")
    ap.add_argument("--duration", type=float, default=120, help="seconds of workload")
    ap.add_argument("--anti-entropy", type=int, default=10, help="seconds, each serve")
    ap.add_argument("--tick", type=float, default=0.25)
    ap.add_argument("--offline-rate", type=float, default=0.25, help="outages per second")
    ap.add_argument("--partition-rate", type=float, default=0.15, help="partitions per second")
    ap.add_argument("--outage-min", type=float, default=2)
    ap.add_argument("--outage-max", type=float, default=10)
    ap.add_argument("--approve-rate", type=float, default=0.5)
    ap.add_argument("--edit-rate", type=float, default=0.5)
    ap.add_argument("--transfer-rate", type=float, default=0.1)
    ap.add_argument("--poll", type=float, default=0.5)
    ap.add_argument("--converge-max", type=float, default=240)
    ap.add_argument("--quick", action="store_true", help="20 s of workload (the test suite's run)")
    ap.add_argument("--keep", action="store_true", help="keep the node directories")
    ap.add_argument("--json", help="write the results here")
    OPTS = ap.parse_args()
    if OPTS.quick:
        OPTS.duration = min(OPTS.duration, 20)
    ML = os.path.abspath(OPTS.memberlog)
    if os.geteuid() != 0:
        print("nation.py: needs root to make network namespaces (ip netns): skipped")
        return 77
    work = tempfile.mkdtemp(prefix="ml-sim-")
    # a copy of the binary, so a rebuild meanwhile does not pull it from under the run
    os.makedirs(os.path.join(work, "bin"))
    ML = shutil.copy(ML, os.path.join(work, "bin", "memberlog"))
    Sim.sweep_stale()
    sim = Sim(OPTS)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    ok = False
    try:
        t0 = now()
        sim.build(work)
        sim.setup_register()
        for n in sim.nodes:
            n.start()
        setup_s = now() - t0
        print(f"{len(sim.nodes)} nodes up in {setup_s:.1f} s; workload for {OPTS.duration:.0f} s "
              f"(seed {OPTS.seed})", flush=True)
        sim.workload(work)
        healed = sim.heal()
        conv, times, polls = sim.converge(healed, work)
        status = json.loads(sim.nat.ml("--json", "status"))
        db = sqlite3.connect(f"file:{os.path.join(sim.nat.home, 'memberlog.db')}?mode=ro", uri=True)
        op_bytes = db.execute("SELECT avg(length(raw)) FROM ops").fetchone()[0]
        db.close()
        for n in sim.nodes:
            n.stop()
        per = sim.traffic()
        bad = {n.name: n.bad_exits for n in sim.nodes if n.bad_exits}
        if bad:
            print(f"serve runs that did not exit cleanly (see their logs): {bad}")
        ok = conv is not None and not bad
        res = {
            "seed": OPTS.seed, "nodes": len(sim.nodes), "duration_s": OPTS.duration,
            "anti_entropy_s": OPTS.anti_entropy, "poll_s": OPTS.poll, "events": sim.events,
            "ops": status["ops"], "members": status["members"], "units": status["units"],
            "op_bytes_mean": op_bytes,
            "converged": ok, "convergence_s": conv, "polls": polls, "scope_checks": sim.checks,
            "convergence_by_node_s": dict(zip([n.name for n in sim.nodes], times or [])),
            "mismatch": getattr(sim, "mismatch", []) if not ok else [],
            "traffic": per,
        }
        wire = sum(v["bytes_out"] for v in per.values()) / max(1, sum(v["ops_out"] for v in per.values()))
        res["wire_bytes_per_op_sent"] = wire
        print(f"on the wire: {wire:.0f} B per op sent, handshakes, reconciliation and pings "
              f"included; an op is {op_bytes:.0f} B on average")
        print(f"register: {status['ops']} ops, {status['members']} members, "
              f"{status['units']} units; events: " +
              ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sim.events.items()))
        if ok:
            print(f"converged {conv:.1f} s after the last heal (poll every {OPTS.poll} s, "
                  f"anti-entropy {OPTS.anti_entropy} s): every node's state hash equals its "
                  f"scope's ({len(sim.nodes)}/{len(sim.nodes)})")
        else:
            print(f"NOT converged within {OPTS.converge_max:.0f} s: nodes that differ from "
                  f"their scope: {' '.join(res['mismatch'])}")
        print(f"{'level':9} {'nodes':>5} {'bytes out (mean/max)':>22} {'bytes in (mean/max)':>22} "
              f"{'ops out (mean/max)':>20} {'relayed (mean/max)':>20} {'ops in (mean/max)':>20}")
        for kind, k, bo, bi, oo, rl, oi in summary_rows(sim, per):
            print(f"{kind:9} {k:5} {bo[0]:12,.0f}/{bo[1]:<9,.0f} {bi[0]:12,.0f}/{bi[1]:<9,.0f} "
                  f"{oo[0]:10,.0f}/{oo[1]:<9,.0f} {rl[0]:10,.0f}/{rl[1]:<9,.0f} "
                  f"{oi[0]:10,.0f}/{oi[1]:<9,.0f}")
        if OPTS.json:
            with open(OPTS.json, "w") as f:
                json.dump(res, f, indent=2)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, KeyboardInterrupt) as e:
        print(f"nation.py: {e}", file=sys.stderr)
    finally:
        # a second Ctrl-C (or timeout's SIGTERM after it) must not leave namespaces behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sim.cleanup()
        if OPTS.keep or not ok:
            print(f"node directories and logs: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
