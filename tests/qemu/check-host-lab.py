#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check one boot's output of tests/qemu/host-lab.sh, outside the guest.

Usage: check-host-lab.py OUT LABEL [--features f1,f2] [--vm-ipis N]
                         [--json-dir DIR]

Prints one line per check, "ok   LABEL: ...", "FAIL LABEL: ..." or
"SKIP LABEL: ...", and information lines starting with five spaces
(test-host-lab.sh counts the ok/FAIL/SKIP lines), then a per-round table.
Exit status 0 if every check passed.

Each check holds ipitrace --host's JSON against something it did not
compute: the VM's own counts (ipivm: IPIs sent and received, vCPU1's HLTs)
and ftrace's kvm:* events recorded in the same window in the same kernel
(kvm_apic_ipi, kvm_apic_accept_irq, kvm_exit per reason, kvm_entry,
kvm_vcpu_wakeup wait/poll and valid, kvm_halt_poll_ns grow/shrink). Counts
and order only: under TCG every duration is ~100x a real machine's.

A check runs over every round it applies to and passes only if it holds in
each; a failure names the rounds and their values.
"""
import argparse
import json
import os
import re
import sys

from qcheck import Checks

# stages of an IPI in path order (the host JSON's "stages", without "total")
STAGES = ["icr_write", "accept", "kick", "wakeup", "on_cpu", "halt_end",
          "vm_entry"]
IPI_VECTOR = 240        # ipivm's vector (0xf0)

# Forced fallback rungs run once each (--force-hooks RUNG): then every role
# with a candidate of that type (--list-hooks' CANDIDATES column) uses it.
FORCED_RUNGS = ("raw_tp", "kprobe", "tracepoint")


class Checker(Checks):
    def over(self, rounds, desc, fn):
        """fn(round) -> None if it holds, else a short reason; one check
        over all rounds"""
        if not rounds:
            self.skip(desc, "no round to check it in")
            return
        bad = []
        for r in rounds:
            try:
                why = fn(r)
            except (KeyError, TypeError, ValueError, StopIteration) as e:
                why = f"{type(e).__name__}: {e}"
            if why:
                bad.append(f"{r.tag} {r.name}: {why}")
        n = len(rounds)
        self.check(not bad, f"{desc} ({n - len(bad)}/{n} rounds)",
                   "; ".join(bad[:6]) + (" ..." if len(bad) > 6 else ""))


def sections(text):
    out = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("== "):
            cur = line[3:]
            out.setdefault(cur, [])
        elif cur is not None:
            out[cur].append(line)
    return out


def keyvals(lines):
    d = {}
    for line in lines:
        for m in re.finditer(r"(\w+)=(\S*)", line):
            d[m.group(1)] = m.group(2)
    return d


class Ftrace:
    """counts of one round's ftrace_end output"""

    def __init__(self, lines):
        self.rows = []          # (event, {key: value}, count)
        self.overrun = None
        for line in lines:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "overrun":
                self.overrun = int(parts[1])
                continue
            keys = dict(p.split("=", 1) for p in parts[1:-1])
            self.rows.append((parts[0], keys, int(parts[-1])))

    def count(self, event, **match):
        return sum(n for ev, k, n in self.rows if ev == event and
                   all(k.get(a) == str(b) for a, b in match.items()))

    def by2(self, event, k1, k2):
        out = {}
        for ev, k, n in self.rows:
            if ev == event:
                out[(k[k1], k[k2])] = out.get((k[k1], k[k2]), 0) + n
        return out

    def by(self, event, key):
        out = {}
        for ev, k, n in self.rows:
            if ev == event:
                out[k[key]] = out.get(k[key], 0) + n
        return out


class Round:
    def __init__(self, tag, sec):
        self.tag = tag
        info = keyvals(sec[f"{tag} round"])
        self.name = info["name"]
        self.halt_poll_ns = info.get("halt_poll_ns")
        self.trace_opts = next(ln for ln in sec[f"{tag} round"]
                               if ln.startswith("trace_opts="))[11:].strip()
        self.vm_opts = next(ln for ln in sec[f"{tag} round"]
                            if ln.startswith("vm_opts="))[8:].strip()
        self.ftrace = Ftrace(sec.get(f"{tag} ftrace", []))
        self.timing = keyvals(sec.get(f"{tag} timing", []))
        self.vm_rc = int((sec.get(f"{tag} ipivm-rc") or ["-1"])[0])
        self.trace_rc = int((sec.get(f"{tag} trace-rc") or ["-1"])[0])
        self.trace_err = "\n".join(sec.get(f"{tag} trace-stderr", []))
        self.vm_err = "\n".join(sec.get(f"{tag} ipivm-stderr", []))
        self.retried = " ".join(sec.get(f"{tag} retry", []))
        self.vm = self.doc = None
        try:
            self.vm = json.loads("\n".join(sec.get(f"{tag} ipivm", [])))
        except ValueError:
            pass
        try:
            self.doc = json.loads("\n".join(sec.get(f"{tag} trace-json", [])))
        except ValueError:
            pass

    @property
    def forced(self):
        m = re.search(r"--force-hooks[ =](\S+)", self.trace_opts)
        return m.group(1) if m else None

    def stage(self, name):
        return next(s for s in self.doc["stages"] if s["name"] == name)


def exits_of(doc, pid=None):
    """{reason: count} from ipitrace's exits table; with pid,
    {(vcpu, reason): count} from exits_per_vcpu"""
    out = {}
    if pid is None:
        for x in doc.get("exits", []):
            out[x["reason"]] = out.get(x["reason"], 0) + x["count"]
        return out
    for x in doc.get("exits_per_vcpu", []):
        if x["pid"] == pid:
            k = (str(x["vcpu"]), x["reason"])
            out[k] = out.get(k, 0) + x["count"]
    return out


def msr_split(r):
    mine = {int(x["msr"], 16): x["count"] for x in r.doc.get("exits", [])
            if x["reason"] == "msr" and x.get("msr") is not None}
    theirs = {int(k, 16): n for k, n in r.ftrace.by("kvm_msr", "msr").items()}
    if not mine.get(0x830) or mine != theirs:
        return f"ipitrace {mine} ftrace {theirs}"
    return None


def check_rounds(c, rounds, feats, kvm, cands):
    ok = [r for r in rounds if r.vm is not None and r.doc is not None]
    c.over(rounds, "the VM sent and received every IPI (ipivm's own count)",
           lambda r: None if r.vm and r.vm_rc == 0 and r.vm["ok"] and
           r.vm["ipis_sent"] == r.vm["ipis_received"] == r.vm["ipis"]
           else f"rc={r.vm_rc} {r.vm and (r.vm['ipis_sent'], r.vm['ipis_received'])} {r.vm_err[-200:]}")
    c.over(rounds, "ipitrace attached, ran and printed JSON (rc 0)",
           lambda r: None if r.doc is not None and r.trace_rc == 0 and
           r.timing.get("banner") == "yes"
           else f"rc={r.trace_rc} banner={r.timing.get('banner')} {r.trace_err[-300:]}")
    c.over(rounds, "ftrace lost no event (overrun 0)",
           lambda r: None if r.ftrace.overrun == 0 else f"overrun {r.ftrace.overrun}")
    c.over(ok, "ftrace saw one kvm_apic_ipi per VM IPI (the lab itself)",
           lambda r: None if r.ftrace.count("kvm_apic_ipi", vec=IPI_VECTOR) ==
           r.vm["ipis_sent"] else
           f"{r.ftrace.count('kvm_apic_ipi', vec=IPI_VECTOR)} vs {r.vm['ipis_sent']}")
    c.over(ok, "ipis == the VM's IPIs",
           lambda r: None if r.doc["ipis"] == r.vm["ipis_sent"]
           else f"{r.doc['ipis']} vs {r.vm['ipis_sent']}")
    c.over(ok, "accept stage count == ipis (== ftrace kvm_apic_accept_irq), "
           "short only by counted recursion misses",
           lambda r: None if r.doc["ipis"] ==
           r.ftrace.count("kvm_apic_accept_irq", vec=IPI_VECTOR) and
           0 <= r.doc["ipis"] - r.stage("accept")["count"] <= misses(r) else
           f"accept {r.stage('accept')['count']} ipis {r.doc['ipis']} "
           f"ftrace {r.ftrace.count('kvm_apic_accept_irq', vec=IPI_VECTOR)} "
           f"recursion_misses {misses(r)}")
    c.over(ok, "every stage observable, vm_entry included",
           lambda r: None if all(r.stage(s)["observable"] for s in STAGES)
           else f"unobservable {[s for s in STAGES if not r.stage(s)['observable']]}")
    c.over(ok, "the VM is followed: vms == [its pid, 2 vCPUs]",
           lambda r: None if r.doc["vms"] == [{"pid": r.vm["pid"], "vcpus": 2}]
           else f"{r.doc['vms']} vs pid {r.vm['pid']}")
    # a program run the kernel skipped because another of ours was running
    # on that CPU (an interrupt inside a hook) is counted: at most 2 a
    # round, and only where a count it explains is short by as much
    c.over(ok, "nothing lost (ring buffer, vCPU map); recursion misses "
           "counted, at most 2",
           lambda r: None if all(r.doc["lost"].get(k, 0) == 0 for k in
                                 ("ringbuf_drops", "vcpu_map_full")) and
           misses(r) <= 2 else str(r.doc["lost"]))
    c.over(ok, "stage timestamps in path order, one sample per IPI",
           lambda r: sample_order(r))
    c.over(ok, "halts/polled/blocked/invalid == ftrace kvm_vcpu_wakeup "
           "(all/poll/wait/invalid)", lambda r: halt_vs_ftrace(r))
    c.over(ok, "grow/shrink == ftrace kvm_halt_poll_ns grow/shrink",
           lambda r: None if (r.doc["halt"]["grow"], r.doc["halt"]["shrink"]) ==
           (r.ftrace.count("kvm_halt_poll_ns", dir="grow"),
            r.ftrace.count("kvm_halt_poll_ns", dir="shrink")) else
           f"ipitrace {r.doc['halt']['grow']}/{r.doc['halt']['shrink']} "
           f"ftrace {r.ftrace.count('kvm_halt_poll_ns', dir='grow')}/"
           f"{r.ftrace.count('kvm_halt_poll_ns', dir='shrink')}")
    c.over(ok, "halts are vCPU1's, at most its HLTs (ipivm; ftrace hlt exits)",
           lambda r: vcpu1_halts(r))
    c.over(ok, "exit counts per reason == ftrace kvm_exit's, kernel's names",
           lambda r: None if exits_of(r.doc) == r.ftrace.by("kvm_exit", "reason")
           else f"ipitrace {exits_of(r.doc)} ftrace {r.ftrace.by('kvm_exit', 'reason')}")
    if "exits" in feats:
        c.over(ok, "exit counts per vCPU and reason == ftrace kvm_exit's",
               lambda r: None if exits_of(r.doc, r.vm["pid"]) ==
               r.ftrace.by2("kvm_exit", "vcpu", "reason") else
               f"ipitrace {exits_of(r.doc, r.vm['pid'])} ftrace "
               f"{r.ftrace.by2('kvm_exit', 'vcpu', 'reason')}")
        c.over(ok, "MSR exits split by MSR == ftrace kvm_msr (ICR 0x830, "
               "EOI 0x80b)", lambda r: msr_split(r))
    c.over(ok, "exits observable; kvm_entry (ftrace) follows each exit",
           lambda r: None if r.doc["exits_observable"] and
           abs(r.ftrace.count("kvm_entry") - r.ftrace.count("kvm_exit")) <= 2
           else f"observable {r.doc['exits_observable']} entries "
           f"{r.ftrace.count('kvm_entry')} exits {r.ftrace.count('kvm_exit')}")
    completeness(c, ok)
    retried = [r for r in rounds if r.retried]
    if retried:
        c.info("rounds run again after the VM itself failed: " + "; ".join(
            f"{r.tag} {r.name}: {r.retried}" for r in retried))
    check_hooks(c, ok, feats, kvm, cands)


def sample_order(r):
    xs = [x for x in r.doc.get("samples", []) if x["vm_pid"] == r.vm["pid"]]
    if len(xs) != r.doc["ipis"]:
        return f"{len(xs)} samples for {r.doc['ipis']} IPIs"
    for x in xs:
        seen = [x["t_ns"][s] for s in STAGES if x["t_ns"].get(s) is not None]
        if seen != sorted(seen) or x["t_ns"].get("icr_write") is None:
            return f"ipi {x['ipi']}: {x['t_ns']}"
        if (x["src_vcpu"], x["dst_vcpu"]) != (0, 1):
            return f"ipi {x['ipi']}: vCPU {x['src_vcpu']} -> {x['dst_vcpu']}"
    return None


def misses(r):
    return r.doc["lost"].get("recursion_misses", 0)


def halt_vs_ftrace(r):
    h = r.doc["halt"]
    f = r.ftrace
    mine = (h["halts"], h["polled"], h["blocked"], h["invalid"])
    theirs = (f.count("kvm_vcpu_wakeup"), f.count("kvm_vcpu_wakeup", kind="poll"),
              f.count("kvm_vcpu_wakeup", kind="wait"),
              f.count("kvm_vcpu_wakeup", valid="invalid"))
    return None if mine == theirs else f"ipitrace {mine} ftrace {theirs}"


def vcpu1_halts(r):
    """vCPU0 never halts in ipivm; a HLT that finds its IPI already pending
    does not block, so KVM may end fewer halts than vCPU1 executed HLTs"""
    v = [x for x in r.doc["halt"]["per_vcpu"]
         if x["pid"] == r.vm["pid"] and x["vcpu"] == 1]
    if len(v) != 1:
        return f"per_vcpu {r.doc['halt']['per_vcpu']}"
    hlt = r.vm["vcpu1_halts"]
    fhlt = r.ftrace.count("kvm_exit", reason="hlt", vcpu=1)
    if fhlt != hlt:
        return f"lab: ftrace hlt exits of vCPU1 {fhlt}, ipivm HLTs {hlt}"
    return None if v[0]["halts"] == r.doc["halt"]["halts"] and \
        v[0]["halts"] <= hlt else \
        f"vCPU1 {v[0]['halts']} of {r.doc['halt']['halts']} halts, {hlt} HLTs"


def completeness(c, rounds):
    """information, not a check: IPIs whose sample lacks a stage that its
    target state implies (blocked: all; polling: accept, halt_end, vm_entry;
    running: vm_entry)"""
    need = {"blocked": STAGES, "polling": ["icr_write", "accept",
                                           "halt_end", "vm_entry"],
            "running": ["icr_write", "accept", "vm_entry"]}
    total = 0
    short = []
    entries = 0
    for r in rounds:
        for x in r.doc.get("samples", []):
            total += 1
            entries += x["t_ns"].get("vm_entry") is not None
            miss = [s for s in need.get(x["state"], STAGES)
                    if x["t_ns"].get(s) is None]
            if miss:
                short.append(f"{r.tag} ipi {x['ipi']} {x['state']} lacks "
                             f"{','.join(miss)}")
    c.info(f"samples: {total} IPIs, vm_entry seen for {entries}; "
           f"{len(short)} lack a stage their state implies"
           + (": " + "; ".join(short[:8]) if short else ""))


def candidates(lines):
    """{role: [hook types, best first]} from --list-hooks output"""
    out = {}
    for ln in lines[1:]:
        m = re.match(r"(\w+)\s.*?\s((?:[a-z_]+, )*[a-z_]+)\s*$", ln)
        if m and not ln.startswith("rc="):
            out[m.group(1)] = m.group(2).split(", ")
    return out


def htype(desc):
    return (desc or "").split(":")[0]


def check_hooks(c, rounds, feats, kvm, cands):
    plain = [r for r in rounds if not r.forced]
    if plain:
        c.info("hooks: " + " ".join(f"{k}={v}" for k, v in
                                    plain[0].doc["hooks"].items()))
    c.over(plain, "every round chose the same hooks",
           lambda r: None if r.doc["hooks"] == plain[0].doc["hooks"]
           else f"{r.doc['hooks']}")
    if "module_btf" in feats and kvm.get("btf_kvm") == "yes":
        def best(r):
            bad = {k: v for k, v in r.doc["hooks"].items()
                   if ("kvm/" in (v or "") or k == "kick") and k in cands
                   and htype(v) != cands[k][0]}
            return f"not the best candidate: {bad}" if bad else None
        c.over(plain[:1], "kvm:* roles and the kick on their best hook "
               "(module BTF: tp_btf, fentry)", best)
    for rung in FORCED_RUNGS:
        rs = [r for r in rounds if r.forced == rung]
        if not rs:
            continue
        c.info(f"hooks with --force-hooks {rung}: " + " ".join(
            f"{k}={v}" for k, v in rs[0].doc["hooks"].items()))

        def on_rung(r, rung=rung):
            # roles the kernel offers at all (6.1: no ipi tracepoints)
            hit = {k: v for k, v in r.doc["hooks"].items()
                   if rung in cands.get(k, []) and v}
            bad = {k: v for k, v in hit.items() if htype(v) != rung}
            if not hit:
                return "no role has it as a candidate"
            return f"not {rung}: {bad}" if bad else None
        c.over(rs, f"--force-hooks {rung}: every role with a {rung} "
               "candidate uses it", on_rung)


def table(c, rounds):
    print(f"     {c.label}: per round: VM ipis | ipitrace ipis, accept, "
          "vm_entry | halts polled/blocked grow/shrink (ipitrace = ftrace?) | "
          "exits ipitrace (ftrace) | attach/round s | KVM's own vCPU1 "
          "stats: wakeups, polls ok/attempted | counters")
    for r in rounds:
        if r.doc is None or r.vm is None:
            print(f"     {r.tag} {r.name}: no data (ipivm rc {r.vm_rc}, "
                  f"ipitrace rc {r.trace_rc})")
            continue
        h = r.doc["halt"]
        f = r.ftrace
        hf = (f.count("kvm_vcpu_wakeup"), f.count("kvm_vcpu_wakeup", kind="poll"),
              f.count("kvm_vcpu_wakeup", kind="wait"),
              f.count("kvm_halt_poll_ns", dir="grow"),
              f.count("kvm_halt_poll_ns", dir="shrink"))
        hi = (h["halts"], h["polled"], h["blocked"], h["grow"], h["shrink"])
        ex = exits_of(r.doc)
        fx = f.by("kvm_exit", "reason")
        cnt = {k: r.doc.get("counters", {}).get(k) for k in
               ("superseded", "timed_out", "foreign_ipis", "learned_threads",
                "unattributed_halts")}
        cnt["out_of_order"] = r.doc["lost"].get("out_of_order_events")
        ks = (r.vm.get("kvm_stats") or [None, None])[1] or {}
        exs = " ".join(f"{k}={ex.get(k, 0)}" + ("" if ex.get(k) == fx.get(k)
                                              else f"({fx.get(k, 0)})")
                       for k in sorted(set(ex) | set(fx)))
        print(f"     {r.tag:>3} {r.name:<10} hpn={r.halt_poll_ns:<7} "
              f"vm {r.vm['ipis_sent']} | ipis {r.doc['ipis']} accept "
              f"{r.stage('accept')['count']} entry {r.stage('vm_entry')['count']}"
              f" | halts {hi[0]} {hi[1]}/{hi[2]} {hi[3]}/{hi[4]}"
              f" {'=' if hi == hf else '!= ftrace %s' % (hf,)} | {exs}"
              f" | {r.timing.get('attach_s')}/{r.timing.get('round_s')} | "
              + (f"kvm {ks.get('halt_wakeup')} {ks.get('halt_successful_poll')}/"
                 f"{ks.get('halt_attempted_poll')}" if ks else "kvm -")
              + "".join(f" {k}={v}" for k, v in cnt.items() if v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("label")
    ap.add_argument("--features", default="")
    ap.add_argument("--rounds", type=int, default=0,
                    help="rounds the boot was given")
    ap.add_argument("--json-dir", help="save each round's JSON here")
    a = ap.parse_args()
    feats = set(x for x in a.features.split(",") if x)
    c = Checker(a.label)
    with open(a.out, errors="replace") as f:
        sec = sections(f.read())
    kvm = keyvals(sec.get("kvm", []))
    if not c.check(kvm.get("dev_kvm") == "yes" and kvm.get("npt") == "Y",
                   "KVM host: /dev/kvm, npt=Y (kvm-amd on emulated SVM)",
                   str(kvm)):
        return 1
    c.info(f"kvm: npt={kvm.get('npt')} avic={kvm.get('avic')} "
           f"nrips={kvm.get('nrips')} halt_poll_ns={kvm.get('halt_poll_ns')} "
           f"btf vmlinux/kvm/kvm_amd={kvm.get('btf_vmlinux')}/"
           f"{kvm.get('btf_kvm')}/{kvm.get('btf_kvm_amd')}")
    lh = sec.get("list-hooks", [])
    c.check(any(ln.strip() == "rc=0" for ln in lh) and
            any(ln.startswith("accept ") for ln in lh),
            "ipitrace --host --list-hooks", " / ".join(lh[-3:]))
    tags = sorted((k[:-6] for k in sec if re.fullmatch(r"r\d+ round", k)),
                  key=lambda t: int(t[1:]))
    rounds = []
    for t in tags:
        try:
            rounds.append(Round(t, sec))
        except (KeyError, StopIteration, ValueError) as e:
            c.check(False, f"{t}: round output readable", str(e))
    c.check(a.rounds == 0 or len(rounds) == a.rounds,
            f"all {a.rounds} rounds ran", f"{len(rounds)} ran")
    check_rounds(c, rounds, feats, kvm, candidates(lh))
    table(c, rounds)
    if a.json_dir:
        os.makedirs(a.json_dir, exist_ok=True)
        for r in rounds:
            for what, doc in (("ipitrace", r.doc), ("ipivm", r.vm)):
                if doc is not None:
                    with open(os.path.join(a.json_dir, f"{a.label}-{r.tag}-"
                              f"{r.name}-{what}.json"), "w") as f:
                        json.dump(doc, f)
    print(f"{c.passed} passed, {c.failed} failed, {c.skipped} skipped")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
