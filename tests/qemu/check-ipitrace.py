#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check one guest's output of tests/qemu/guest-ipitrace.sh, outside the guest.

Usage: check-ipitrace.py OUT LABEL --pairs 0:1:500,0:2:500 --nodes 0-1:0/2-3:1
                         [--expect-send auto|tracepoint|fallback] [--many]

--many (the 16-vCPU, 4-node guest): every CPU's traced call IPIs against
its CAL delta, not only the driven CPUs'; a multicast counted into each
target from any source, with no upper bound of its own (there, with every
vCPU on one TCG thread, membarrier skips a target whose thread was not
running, and the busy threads' TLB shootdowns are call_many IPIs too, from
other sources: the CAL agreement bounds them instead).

Prints one line per check, "ok   LABEL: ..." or "FAIL LABEL: ...", and
information lines starting with five spaces; test-qemu.sh counts the ok/FAIL
lines. Exit status 0 if every check passed.

Every assertion compares ipitrace's numbers with something independent of it:
the workload's own count (ipiload), /proc/interrupts (CAL), the VM's known
NUMA topology (QEMU's -numa options), and which tracepoints the guest kernel
has (tracefs).
"""
import argparse
import json
import re
import sys

from qcheck import Checks

# tolerances, documented in test-qemu.sh
PAIR_MIN_FRAC = 0.95        # traced call_single on a driven pair >= 95% of it
PAIR_SLACK_FRAC = 0.10      # ... and <= count + 10% + 10: background IPIs
                            # on a pair (nohz idle-balance kicks from the busy
                            # sender, remote wakeups) measured up to +8% here
PAIR_SLACK_ABS = 10
MULTICAST_MIN_FRAC = 0.90  # membarrier skips a CPU whose busy thread was not
                            # running at that instant (rare in these guests)
CAL_MIN_FRAC = 0.95         # CAL delta of a target >= 95% of the IPIs driven to it
CAL_AGREE_FRAC = 0.05       # traced call IPIs per target vs CAL delta: within
CAL_AGREE_ABS = 25          # 5% + 25 (the trace window is a little wider)
RECURSION_MAX_FRAC = 0.01   # kernel-side nesting skips, see test-qemu.sh


class Checker(Checks):
    def __init__(self, label):
        super().__init__(label)
        self.have_trace = True

    def tcheck(self, ok, desc, why=""):
        """a check of ipitrace's JSON: skipped (once failed) without it"""
        if self.have_trace:
            return self.check(ok, desc, why)
        return False



def sections(text):
    """{name: [lines]} for the '== name' sections; repeated names get a list."""
    out = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("== "):
            cur = line[3:]
            out.setdefault(cur, [])
            continue
        if cur is not None:
            out[cur].append(line)
    return out


def parse_nodes(spec):
    """'0-1:0/2-3:1' -> {0: 0, 1: 0, 2: 1, 3: 1}"""
    node_of = {}
    for part in spec.split("/"):
        cpus, node = part.split(":")
        for r in cpus.split(","):
            lo, _, hi = r.partition("-")
            for c in range(int(lo), int(hi or lo) + 1):
                node_of[c] = int(node)
    return node_of


def cpulist(nodes):
    """{node: 'a-b'} from node_of"""
    by = {}
    for c, n in sorted(nodes.items()):
        by.setdefault(n, []).append(c)
    out = {}
    for n, cs in by.items():
        parts, start, prev = [], cs[0], cs[0]
        for c in cs[1:] + [None]:
            if c is not None and c == prev + 1:
                prev = c
                continue
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            if c is not None:
                start = prev = c
        out[n] = ",".join(parts)
    return out


def cal_row(lines):
    for line in lines:
        f = line.split()
        if f and f[0] == "CAL:":
            return [int(x) for x in f[1:] if x.isdigit()]
    return None


def load_json(lines):
    text = "\n".join(lines).strip()
    if not text:
        return None, "empty"
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as e:
        return None, str(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("label")
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--expect-send", default="auto",
                    choices=["auto", "tracepoint", "fallback"])
    ap.add_argument("--many", action="store_true")
    a = ap.parse_args()

    c = Checker(a.label)
    node_of = parse_nodes(a.nodes)
    pairs = []
    for p in a.pairs.split(","):
        s, d, n = (int(x) for x in p.split(":"))
        pairs.append((s, d, n))
    try:
        with open(a.out, errors="replace") as f:
            sec = sections(f.read())
    except OSError as e:
        c.check(False, "guest output readable", str(e))
        return 1

    # --- facts about the guest --------------------------------------------
    want_nodes = cpulist(node_of)
    got_nodes = " ".join(sec.get("nodes", []))
    want = " ".join(f"node{n} {want_nodes[n]}" for n in sorted(want_nodes))
    c.check(got_nodes == want, f"NUMA topology {want!r}", f"guest has {got_nodes!r}")
    feat = dict(l.split("=", 1) for l in sec.get("features", []) if "=" in l)
    c.check(feat.get("btf") == "yes", "/sys/kernel/btf/vmlinux present")

    expect = a.expect_send
    if expect == "auto":
        expect = "tracepoint" if feat.get("ipi_events") == "yes" else "fallback"

    # --- --list-hooks ---------------------------------------------------------
    lh = sec.get("list-hooks", [])
    lh_rc = next((l for l in lh if l.startswith("rc=")), "rc=?")
    listed = {}
    for l in lh:
        f = l.split()
        if len(f) >= 2 and re.match(r"^[a-z_]+$", f[0]) and f[0] != "rc":
            listed[f[0]] = f[1] if f[1] != "unavailable" else None
    c.check(lh_rc == "rc=0" and "send_call_single" in listed,
            "ipitrace --guest --list-hooks ran", f"{lh_rc}, {len(listed)} roles")

    # --- the traced run -----------------------------------------------------
    banner = " ".join(sec.get("banner", []))
    c.check("banner=yes" in banner, "ipitrace printed its banner (hooks attached)",
            banner or "no banner section")
    trc = " ".join(sec.get("trace-rc", [])).strip()
    c.check(trc == "0", "ipitrace exited 0 after SIGINT", f"exit {trc or '?'}")
    doc, err = load_json(sec.get("trace-json", []))
    if not c.check(doc is not None, "ipitrace printed one JSON document", err):
        for l in sec.get("trace-stderr", [])[-20:] + sec.get("trace-verbose", [])[-40:]:
            c.info(l)
        doc = {}
        c.have_trace = False

    hooks = doc.get("hooks", {})
    sc = hooks.get("send_call_single")
    csdq = hooks.get("csd_queue")
    c.info(f"hooks: send_call_single={sc} send_call_many={hooks.get('send_call_many')} "
           f"send_resched={hooks.get('send_resched')} entry_call_single="
           f"{hooks.get('entry_call_single')} csd_queue={csdq} csd_entry={hooks.get('csd_entry')}")
    if expect == "fallback":
        c.tcheck(isinstance(sc, str) and sc.startswith(("fentry:", "kprobe:")),
                "no ipi tracepoints: send_call_single uses the fentry/kprobe fallback",
                f"got {sc}")
        c.tcheck(csdq is None, "no csd tracepoints: csd_queue is null", f"got {csdq}")
    else:
        c.tcheck(sc in ("tp_btf:ipi/ipi_send_cpu", "raw_tp:ipi/ipi_send_cpu"),
                "ipi tracepoints: send_call_single is ipi/ipi_send_cpu", f"got {sc}")
        if feat.get("csd_events") == "yes":
            c.tcheck(isinstance(csdq, str) and csdq.endswith("csd/csd_queue_cpu"),
                    "csd tracepoints: csd_queue is csd/csd_queue_cpu", f"got {csdq}")
    if doc:
        c.tcheck(listed.get("send_call_single") == sc,
                "--list-hooks agrees with the traced run on send_call_single",
                f"list-hooks {listed.get('send_call_single')} vs trace {sc}")

    lost = doc.get("lost", {})
    hard = {k: v for k, v in lost.items()
            if k not in ("recursion_misses", "handlers_unseen")}
    c.tcheck(bool(lost) and all(v == 0 for v in hard.values()),
            "lost: no ring-buffer drops, overwritten pendings, full maps, bad CPUs",
            json.dumps(lost))
    # against /proc/interrupts; a handler preempted between its tracepoint
    # and its count at the span's start can add one
    unseen = lost.get("handlers_unseen")
    c.tcheck(unseen is not None and unseen <= 1,
            f"lost.handlers_unseen {unseen} <= 1: our programs ran in every "
            "handler /proc/interrupts counted")
    driven = sum(n for _, _, n in pairs)
    rec = lost.get("recursion_misses", 0)
    rec_max = int(driven * RECURSION_MAX_FRAC)
    c.tcheck(rec <= rec_max,
            f"lost.recursion_misses {rec} <= {rec_max} (1% of {driven} driven)")
    cnt = doc.get("counters", {})
    c.tcheck(cnt.get("tracer_ipis", 0) == 0, "tracer caused no IPIs",
            f"tracer_ipis={cnt.get('tracer_ipis')}")
    c.info("counters: " + " ".join(f"{k}={v}" for k, v in cnt.items()))

    # --- per-pair counts and classification ------------------------------
    by_pair = {(p["src"], p["dst"]): p for p in doc.get("cpu_pairs", [])}
    loads = {}
    for name, lines in sec.items():
        m = re.match(r"^ipiload (\d+) (\d+) (\d+)$", name)
        if m:
            loads[tuple(int(x) for x in m.groups()[:2])] = lines
    for s, d, n in pairs:
        want_numa = "same" if node_of[s] == node_of[d] else "cross"
        lj, err = load_json([l for l in loads.get((s, d), []) if l.startswith("{")])
        did = lj.get("count") if lj else None
        c.check(did == n, f"ipiload {s}->{d} did {n} calls", f"got {did} ({err})" if err else f"got {did}")
        p = by_pair.get((s, d), {})
        got = p.get("kinds", {}).get("call_single", 0)
        lo = int(n * PAIR_MIN_FRAC + 0.999)
        hi = n + int(n * PAIR_SLACK_FRAC) + PAIR_SLACK_ABS
        c.info(f"pair {s}->{d} (node{node_of[s]}->node{node_of[d]}): ipiload {did} calls "
               f"rtt p50 {lj.get('rtt_p50_ns') if lj else '?'} ns; ipitrace call_single {got} "
               f"(all kinds {p.get('count', 0)}), numa {p.get('numa')}, p50 {p.get('p50_ns')} ns")
        c.tcheck(lo <= got <= hi, f"pair {s}->{d}: call_single {got} in [{lo}, {hi}] for {n} calls")
        c.tcheck(p.get("numa") == want_numa, f"pair {s}->{d}: numa {p.get('numa')} == {want_numa}")
    # multicast: one membarrier(PRIVATE_EXPEDITED) from the source IPIs every
    # other CPU (each runs a busy thread of ipiload) through one cpumask send
    for name, lines in sec.items():
        m = re.match(r"^multicast (\d+) (\d+)$", name)
        if not m:
            continue
        s, n = int(m.group(1)), int(m.group(2))
        lj, err = load_json([l for l in lines if l.startswith("{")])
        did = lj.get("count") if lj else None
        c.check(did == n, f"multicast from CPU {s}: ipiload did {n} calls",
                f"got {did} ({err})" if err else f"got {did}")
        for d in sorted(node_of):
            if d == s:
                continue
            want_numa = "same" if node_of[s] == node_of[d] else "cross"
            p = by_pair.get((s, d), {})
            got = p.get("kinds", {}).get("call_many", 0)
            if a.many:
                got = sum(q.get("kinds", {}).get("call_many", 0)
                          for (_, t), q in by_pair.items() if t == d)
            lo = int(n * MULTICAST_MIN_FRAC)
            hi = n + int(n * PAIR_SLACK_FRAC) + PAIR_SLACK_ABS
            c.info(f"multicast {s}->{d}: {n} membarrier calls; ipitrace call_many {got}, "
                   f"numa {p.get('numa')}")
            if a.many:
                c.tcheck(lo <= got, f"multicast {s}->{d}: call_many into {d} "
                         f"from any source {got} >= {lo} for {n} calls")
            else:
                c.tcheck(lo <= got <= hi,
                         f"multicast {s}->{d}: call_many {got} in [{lo}, {hi}] for {n} calls")
            c.tcheck(p.get("numa") == want_numa,
                     f"multicast {s}->{d}: numa {p.get('numa')} == {want_numa}")
    # the workload's own callback, named through the per-CSD tracepoints:
    # every cpuid read queues one CSD running cpuid_smp_cpuid and sends one
    # IPI (these guests idle in HLT, never polling), and nothing else in the
    # guest reads /dev/cpu/*/cpuid while tracing
    if isinstance(csdq, str):
        ncsd = sum(x.get("count", 0) for x in doc.get("callers", [])
                   if x.get("kind") == "call_single" and
                   str(x.get("function", "")).startswith("cpuid_smp_cpuid"))
        c.tcheck(int(driven * 0.99) <= ncsd <= driven,
                f"callers: call_single cpuid_smp_cpuid {ncsd} == {driven} cpuid reads (-1%)")
        ncsd = sum(x.get("count", 0) for x in doc.get("csd_classes", []))
        c.tcheck(ncsd >= int(driven * 0.99),
                f"csd_classes: {ncsd} CSDs paired >= {driven} cpuid reads (-1%)")
    # every pair the tracer saw is classified by the known topology
    wrong = [f"{s}->{d}:{p.get('numa')}" for (s, d), p in by_pair.items()
             if s in node_of and d in node_of and
             p.get("numa") != ("same" if node_of[s] == node_of[d] else "cross")]
    c.tcheck(bool(by_pair) and not wrong,
            f"all {len(by_pair)} traced pairs classified by the VM topology", " ".join(wrong))
    classes = {(x.get("kind"), x.get("numa")): x.get("count", 0) for x in doc.get("classes", [])}
    c.tcheck(classes.get(("call_single", "same"), 0) > 0 and
            classes.get(("call_single", "cross"), 0) > 0,
            "classes has call_single same-node and cross-node rows",
            f"same {classes.get(('call_single', 'same'))} cross {classes.get(('call_single', 'cross'))}")

    # --- /proc/interrupts --------------------------------------------------
    before = cal_row(sec.get("interrupts-before", []))
    after = cal_row(sec.get("interrupts-after", []))
    if c.check(before is not None and after is not None and len(before) == len(after),
               "CAL rows in /proc/interrupts before and after"):
        delta = [y - x for x, y in zip(before, after)]
        c.info("CAL delta per CPU: " + " ".join(f"cpu{i}={v}" for i, v in enumerate(delta)))
        into = {}
        for s, d, n in pairs:
            into[d] = into.get(d, 0) + n
        for d, n in sorted(into.items()):
            c.check(delta[d] >= int(n * CAL_MIN_FRAC),
                    f"CAL delta on CPU {d} = {delta[d]} >= 95% of {n} driven to it")
        # the tracer's call IPIs per target vs the kernel's own count
        traced = [0] * len(delta)
        for (s, d), p in by_pair.items():
            if d < len(traced):
                k = p.get("kinds", {})
                traced[d] += k.get("call_single", 0) + k.get("call_many", 0)
        cpus = set(d for _, d, _ in pairs) | set(s for s, _, _ in pairs)
        if a.many:
            cpus = set(range(len(delta)))
        for d in sorted(cpus):
            tol = int(delta[d] * CAL_AGREE_FRAC) + CAL_AGREE_ABS
            c.tcheck(abs(traced[d] - delta[d]) <= tol,
                    f"CPU {d}: traced call IPIs {traced[d]} vs CAL delta {delta[d]} (+-{tol})")

    # --- bench ---------------------------------------------------------------
    if "bench" in sec:
        brc = " ".join(sec.get("bench-rc", [])).strip()
        bench, err = load_json(sec.get("bench", []))
        c.check(brc == "0" and bench is not None, "ipitrace bench -j ran",
                f"exit {brc or '?'} {err}")
        rows = (bench or {}).get("rows", [])
        for r in rows:
            c.info(f"bench: {r.get('target'):10} {r.get('state'):4} {r.get('mech'):14} "
                   f"p50 {r.get('p50_ns')} ns  cpus {r.get('src_cpu')}->{r.get('dst_cpus')} "
                   f"nodes {r.get('src_node')}->{r.get('dst_nodes')}  cal dst/src "
                   f"{r.get('cal_dst')}/{r.get('cal_src')}")
        cross = [r for r in rows if r.get("target") == "cross_node"]
        same = [r for r in rows if r.get("target") == "same_node"]
        c.check(bool(cross) and all(
                    all(node_of.get(x) != node_of.get(r.get("src_cpu")) for x in r.get("dst_cpus", []))
                    and all(n != r.get("src_node") for n in r.get("dst_nodes", []))
                    for r in cross),
                f"bench has cross_node rows to another node ({len(cross)})")
        c.check(bool(same) and all(
                    all(node_of.get(x) == node_of.get(r.get("src_cpu")) for x in r.get("dst_cpus", []))
                    for r in same),
                f"bench has same_node rows on the source's node ({len(same)})")

    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
