#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The halt_poll_ns advisor against real settings (issue 12 item 4), outside
the guest, on one boot's output of tests/qemu/host-lab.sh.

Usage: check-advisor-lab.py OUT LABEL --ipitrace BIN [--save DIR]

The boot ran the same VM workload (ipivm, fixed IPI count and gaps, vCPU
threads pinned, the tracer on the other CPU) at several real
kvm.halt_poll_ns settings, each traced with `ipitrace --host --halt
--advise -j` and its halt events kept as ftrace text (rounds named adv*):

  advcal   halt_poll_ns = 50 ms, short gaps only: this host's wake-up
           latency of a *polling* vCPU (ipitrace's live advice,
           costs.polled: accept -> halt end), which a run without polling
           cannot show
  adv0     halt_poll_ns = 0: the prediction's source
  advNms   the settings predicted
  adv0b    halt_poll_ns = 0 again: how stable the workload is

The prediction: `ipitrace advise` on adv0's halts (its own blocked wake-up
latency per halt; the polling one from advcal; KVM's grow/shrink
parameters as the live trace read them) at each setting's adaptive cap.
Measured at each setting: KVM's own per-vCPU stats (ipivm's kvm_stats:
halt_successful_poll, halt_poll_success_ns + halt_poll_fail_ns) and the
trace (ipitrace's halt.polled and halt.poll_ns).

Checks (per setting): poll success share within SHARE_PTS points of KVM's,
poll CPU per halt within CPU_REL of KVM's (or both under CPU_FLOOR of the
mean halt: a setting that barely polls). And that the check can fail: the
same prediction made with the other kernel's shrink rule, with fixed
windows instead of KVM's adaptive ones, or with the default polled
wake-up latency (1.5 us) must miss the bound at some setting.

Prints "ok   ...", "FAIL ...", "SKIP ..." lines and information lines
(five spaces), the predicted-vs-measured table included.
"""
import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

SHARE_PTS = 10.0        # poll success share, percentage points
CPU_REL = 0.25          # poll CPU, relative to KVM's
CPU_FLOOR = 0.02        # ... or both below this share of the mean halt
STALL_NS = 50000000     # a halt this much over the run at 0's p99: a stall
STALLS_MAX = 2          # more stalls than this: the run is not comparable

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "chl", os.path.join(_here, "check-host-lab.py"))
chl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chl)


class AdvRound:
    def __init__(self, r, sec):
        self.r = r
        self.name = r.name
        self.hpn = int(r.halt_poll_ns)
        self.halts_text = sec.get(f"{r.tag} halts", [])

    @property
    def ok(self):
        return (self.r.vm is not None and self.r.doc is not None and
                self.r.vm_rc == 0 and self.r.trace_rc == 0 and
                "advice" in self.r.doc)

    def kvm(self):
        return self.r.vm["kvm_stats"][1]

    def measured(self):
        """{share, cpu} per halt from KVM's stats, and from the trace"""
        h = self.r.doc["halt"]
        k = self.kvm()
        n = h["halts"]
        return {
            "halts": n,
            "kvm_share": k["halt_successful_poll"] / n,
            "kvm_cpu": (k["halt_poll_success_ns"] + k["halt_poll_fail_ns"]) / n,
            "trace_share": h["polled"] / n,
            "trace_cpu": h["poll_ns"] / n,
        }

    def durations(self):
        """halt durations (ns) from the kvm_vcpu_wakeup lines"""
        return [d for d, _, _ in self.halts()]

    def halts(self):
        """(duration, idle, polled) per halt from the ftrace text; idle =
        halt start to the kvm_apic_accept_irq inside it (None if none)"""
        out = []
        acc = None
        for ln in self.halts_text:
            m = re.search(r" (\d+)\.(\d+): (kvm_\w+): (.*)", ln)
            if not m:
                continue
            ts = int(m.group(1)) * 10**9 + int(m.group(2).ljust(9, "0")[:9])
            if m.group(3) == "kvm_apic_accept_irq":
                acc = ts
            elif m.group(3) == "kvm_vcpu_wakeup":
                w = m.group(4).split()     # "wait|poll time N ns ..."
                dur = int(w[2])
                idle = acc - (ts - dur) if acc and ts - dur <= acc <= ts \
                    else None
                out.append((dur, idle, w[0] == "poll"))
                acc = None
        return out

    def mean_idle(self, lim=None):
        """mean idle time of the halts up to lim ns long (stalls out)"""
        v = [i for d, i, _ in self.halts()
             if i is not None and (lim is None or d <= lim)]
        return statistics.mean(v) if v else None

    def polled_median(self):
        """ipitrace's live median wake-up latency of a polling vCPU in
        this run, or None if it had none measured"""
        p = self.r.doc["advice"]["costs"]["polled"]
        return p["ns"] if p["source"] == "measured" else None


def params(doc):
    a = doc["advice"]["advisor"]
    return {k: a[k] for k in ("grow", "grow_start", "shrink")}


def advise(binary, rnd, prm, polled_ns, max_ns, tmp, tag):
    """ipitrace advise -j on a round's halts; the parsed JSON"""
    path = os.path.join(tmp, f"{rnd.r.tag}-{tag}.halts")
    with open(path, "w") as f:
        for k, v in prm.items():
            f.write(f"{k}={v}\n")
        f.write(f"halt_poll_ns={rnd.hpn}\n")
        f.write("\n".join(rnd.halts_text) + "\n")
    out = subprocess.run([binary, "advise", "-j", "--polled-ns",
                          str(polled_ns), "--max-ns", str(max_ns), path],
                         capture_output=True, text=True, timeout=60)
    if out.returncode:
        raise RuntimeError(f"ipitrace advise: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout), path


def row(adv, kind, ns):
    for s in adv["groups"][0]["settings"]:
        if s["ns"] == ns and (s["kind"] == kind or ns == 0):
            return s
    return None


def predicted(adv, kind, ns):
    s = row(adv, kind, ns)
    if s is None or not s["wakeups"]:
        return None
    return {"share": s["caught"] / s["wakeups"],
            "cpu": (s["poll_ok_ns"] + s["poll_fail_ns"]) / s["wakeups"],
            "grow": s["grow"], "shrink": s["shrink"]}


def errors(p, m, mean_halt, drift=0.0):
    """(share error in points, cpu error: relative, or ("abs", ns) when
    KVM's is under the floor, or None when both are; within bound).
    drift: the workload's measured change under this setting (ns per
    halt of poll CPU it accounts for), allowed on top of CPU_REL."""
    es = (p["share"] - m["kvm_share"]) * 100
    floor = CPU_FLOOR * mean_halt
    if p["cpu"] < floor and m["kvm_cpu"] < floor:
        ec, cpu_ok = None, True
    elif m["kvm_cpu"] < floor:
        ec, cpu_ok = ("abs", p["cpu"] - m["kvm_cpu"]), False
    else:
        ec = (p["cpu"] - m["kvm_cpu"]) / m["kvm_cpu"]
        cpu_ok = abs(p["cpu"] - m["kvm_cpu"]) <= CPU_REL * m["kvm_cpu"] + drift
    return es, ec, abs(es) <= SHARE_PTS and cpu_ok


def drift_ns(base, r, polled_cal, m, lim):
    """Poll CPU per halt that the workload's own change under setting r
    accounts for: a caught halt costs its idle time plus the polling
    wake-up latency, and under TCG both move with the host's load (a
    polling vCPU is a spinning QEMU thread; on an overcommitted host it
    is descheduled and the sender's CPU runs slower). Measured without
    the simulator: mean idle time (halt start to accept_irq) at r vs at
    0 (halts up to lim: stalls out), and ipitrace's median polling
    wake-up latency at r vs the calibration's, weighted by KVM's poll
    success share at r."""
    i0, i1 = base.mean_idle(lim), r.mean_idle(lim)
    p1 = r.polled_median()
    d = abs(i1 - i0) if i0 is not None and i1 is not None else 0.0
    d += abs(p1 - polled_cal) if p1 is not None else 0.0
    return m["kvm_share"] * d, i0, i1, p1


def quantiles(v):
    v = sorted(v)
    return [v[min(len(v) - 1, int(q * len(v)))] for q in (0.1, 0.5, 0.9)]


def fmt_err(es, ec):
    if ec is None:
        cpu = "both under the floor"
    elif isinstance(ec, tuple):
        cpu = f"{ec[1] / 1e3:+.0f} us/halt over ~0"
    else:
        cpu = f"{ec * 100:+.0f}%"
    return f"{es:+.1f} pts / {cpu}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("label")
    ap.add_argument("--ipitrace", required=True)
    ap.add_argument("--save", help="write the advice (text, JSON, SVG) "
                    "from the prediction's run here")
    a = ap.parse_args()
    c = chl.Checker(a.label + " advisor")
    with open(a.out, errors="replace") as f:
        sec = chl.sections(f.read())
    tags = sorted((k[:-6] for k in sec if k.endswith(" round")),
                  key=lambda t: int(t[1:]))
    rounds = []
    for t in tags:
        try:
            r = chl.Round(t, sec)
        except (KeyError, StopIteration, ValueError):
            continue
        if r.name.startswith("adv"):
            rounds.append(AdvRound(r, sec))
    by = {r.name: r for r in rounds}
    cal, base, again = by.get("advcal"), by.get("adv0"), by.get("adv0b")
    sets = sorted((r for r in rounds if r.hpn > 0 and r is not cal),
                  key=lambda r: r.hpn)
    if not rounds:
        c.skip("predicted vs measured", "no advisor rounds in this boot")
        return finish(c)
    bad = [r.name for r in rounds if not r.ok]
    if not c.check(cal and base and len(sets) >= 3 and not bad,
                   f"advisor rounds ran: calibration, 0, {len(sets)} "
                   "settings, 0 again (ipivm and ipitrace --advise rc 0)",
                   f"missing or failed: {bad or 'advcal/adv0/3 settings'}"):
        return finish(c)
    costs = cal.r.doc["advice"]["costs"]
    pol = costs["polled"]
    if not c.check(pol["source"] == "measured" and pol["samples"] >= 10,
                   f"polled wake-up latency measured at {cal.hpn // 1000000}"
                   f" ms: {pol['ns'] / 1e3:.0f} us (median of "
                   f"{pol['samples']} IPIs to a polling vCPU)", str(pol)):
        return finish(c)
    if again and again.ok:
        n, worst, lim = stalls(again, base)
        if n > STALLS_MAX:
            c.skip("predicted vs measured", f"the run at 0 itself stalled: "
                   f"{n} halts over {lim / 1e6:.0f} ms ({again.r.tag}'s p99 "
                   f"+ {STALL_NS / 1e6:g} ms), up to {worst / 1e6:.0f} ms")
            return finish(c)
    prm = params(base.r.doc)
    max_ns = max(r.hpn for r in sets)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            pred, hfile = advise(a.ipitrace, base, prm, pol["ns"], max_ns,
                                 tmp, "pred")
            other = dict(prm, shrink=0 if prm["shrink"] else 2)
            p_other, _ = advise(a.ipitrace, base, other, pol["ns"], max_ns,
                                tmp, "other")
            p_again = (advise(a.ipitrace, again, prm, pol["ns"], max_ns,
                              tmp, "again")[0] if again and again.ok else None)
        except (RuntimeError, ValueError, subprocess.SubprocessError) as e:
            c.check(False, "ipitrace advise on the run at 0", str(e))
            return finish(c)
        if a.save:
            save(a, hfile, pol["ns"], max_ns)
    c.info(f"prediction from {base.r.tag} (halt_poll_ns 0, "
           f"{pred['advisor']['halts']} halts): blocked wake-up "
           f"{pred['advisor']['blocked_ns'] / 1e3:.0f} us (measured, "
           f"{pred['advisor']['blocked_ns_samples']} halts), polling "
           f"{pol['ns'] / 1e3:.0f} us ({cal.r.tag}); KVM grow "
           f"{prm['grow']} grow_start {prm['grow_start']} shrink "
           f"{prm['shrink']}")
    durs = base.durations()
    mean_halt = statistics.mean(durs) if durs else 1e6
    stability(c, base, again, p_again, sets)
    compare(c, base, sets, pred, p_other, prm, mean_halt, pol["ns"])
    return finish(c)


def stability(c, base, again, p_again, sets):
    d0 = base.durations()
    if not again or not again.ok or not d0:
        c.info("stability: no second run at 0")
        return
    d1 = again.durations()
    q0, q1 = quantiles(d0), quantiles(d1)
    c.info("stability: halt duration p10/p50/p90 "
           f"{'/'.join(f'{x / 1e6:.2f}' for x in q0)} ms ({base.r.tag}) vs "
           f"{'/'.join(f'{x / 1e6:.2f}' for x in q1)} ms ({again.r.tag}), "
           f"{len(d0)} vs {len(d1)} halts; mean idle (halt start to "
           f"accept) {base.mean_idle() / 1e6:.2f} vs "
           f"{again.mean_idle() / 1e6:.2f} ms")
    for r in sets:
        p = predicted(p_again, "adaptive", r.hpn)
        m = r.measured()
        if p:
            es, ec, _ = errors(p, m, statistics.mean(d1))
            c.info(f"stability: predicted from {again.r.tag} instead: "
                   f"{r.hpn / 1e6:g} ms share {p['share'] * 100:.1f}% cpu "
                   f"{p['cpu'] / 1e3:.0f} us/halt, error {fmt_err(es, ec)}")
    for r in sets:
        d = r.durations()
        if d:
            q = quantiles(d)
            c.info(f"workload under polling: {r.r.tag} {r.hpn / 1e6:g} ms "
                   f"halt p10/p50/p90 {'/'.join(f'{x / 1e6:.2f}' for x in q)}"
                   f" ms (duration includes the wake-up), mean idle "
                   f"{r.mean_idle() / 1e6:.2f} ms")


def stalls(base, r):
    """halts of r longer than anything the workload made at 0 (its p99 +
    STALL_NS): the machine stopped the VM, not the workload's gaps; under
    TCG on an overcommitted machine they reach seconds"""
    d = sorted(base.durations())
    lim = d[min(len(d) - 1, int(0.99 * len(d)))] + STALL_NS
    long = [x for x in r.durations() if x > lim]
    return len(long), max(long, default=0), lim


def compare(c, base, sets, pred, p_other, prm, mean_halt, polled_cal):
    c.info("predicted (from the run at 0) vs measured (KVM's stats; trace):"
           " poll success share | poll CPU per halt | workload drift")
    bad = []
    drifts = {}
    comparable = []
    for r in sets:
        p = predicted(pred, "adaptive", r.hpn)
        m = r.measured()
        if p is None:
            bad.append(f"{r.hpn}: not priced")
            continue
        n, worst, lim = stalls(base, r)
        if n > STALLS_MAX:
            c.skip(f"prediction at {r.hpn / 1e6:g} ms", f"not comparable: "
                   f"{n} halts over {lim / 1e6:.0f} ms (the run at 0's p99 "
                   f"+ {STALL_NS / 1e6:g} ms), up to {worst / 1e6:.0f} ms: "
                   "the machine stalled the VM (overcommitted host under "
                   f"TCG); predicted share {p['share'] * 100:.1f}% vs KVM's "
                   f"{m['kvm_share'] * 100:.1f}%")
            continue
        comparable.append(r)
        d, i0, i1, p1 = drift_ns(base, r, polled_cal, m, lim)
        drifts[r.hpn] = d
        es, ec, ok = errors(p, m, mean_halt, d)
        c.info(f"  {r.hpn / 1e6:>4g} ms: share {p['share'] * 100:5.1f}% vs "
               f"{m['kvm_share'] * 100:5.1f}% ({m['trace_share'] * 100:.1f}%)"
               f" | cpu {p['cpu'] / 1e3:6.0f} vs {m['kvm_cpu'] / 1e3:6.0f} us "
               f"({m['trace_cpu'] / 1e3:.0f}) | error {fmt_err(es, ec)}"
               f" | idle {i0 / 1e6:.2f} -> {i1 / 1e6:.2f} ms, polling "
               f"wake-up {polled_cal / 1e3:.0f} -> "
               f"{'-' if p1 is None else f'{p1 / 1e3:.0f}'} us: "
               f"{d / 1e3:.0f} us/halt"
               f"{'' if ok else '  OUT OF BOUND'}")
        if not ok:
            bad.append(f"{r.hpn / 1e6:g} ms {fmt_err(es, ec)}")
    pays = [r for r in comparable if r.measured()["kvm_share"] >= 0.2]
    if not pays:
        c.skip("prediction within the bound", "no comparable setting where "
               "polling catches >= 20% of wake-ups (see above)")
        return
    c.check(not bad, f"prediction within {SHARE_PTS:g} points (share) and "
            f"{CPU_REL * 100:g}% + the measured workload drift (poll CPU; "
            f"or both < {CPU_FLOOR * 100:g}% of the {mean_halt / 1e6:.1f} ms "
            f"mean halt) at {len(comparable)} of {len(sets)} settings",
            "; ".join(bad))
    nsets, sets = len(sets), comparable
    # the check can tell a wrong simulator
    live = base.r.doc["advice"]
    wrong = {
        f"shrink={0 if prm['shrink'] else 2} (the other kernel's rule)":
            lambda r: predicted(p_other, "adaptive", r.hpn),
        "fixed windows instead of KVM's adaptive ones":
            lambda r: predicted(pred, "fixed", r.hpn),
        "the default polled wake-up latency (the live advice of the run "
        "at 0)": lambda r: predicted(live, "adaptive", r.hpn),
    }
    caught = []
    for what, fn in wrong.items():
        miss = []
        for r in sets:
            p = fn(r)
            if p is None:
                continue
            es, ec, ok = errors(p, r.measured(), mean_halt,
                                drifts.get(r.hpn, 0.0))
            if not ok:
                miss.append(f"{r.hpn / 1e6:g} ms {fmt_err(es, ec)}")
        c.info(f"wrong simulator, {what}: "
               + ("; ".join(miss) if miss else "within the bound"))
        caught.append(bool(miss))
    desc = ("the bound tells a wrong simulator: at least 2 of 3 perturbed "
            "predictions miss it")
    if sum(caught) < 2 and len(sets) < nsets:
        c.skip(desc, f"only {len(sets)} of {nsets} settings comparable")
        return
    c.check(sum(caught) >= 2, desc, str(caught))


def save(a, hfile, polled_ns, max_ns):
    os.makedirs(a.save, exist_ok=True)
    stem = os.path.join(a.save, f"advisor-lab-{a.label}")
    args = [a.ipitrace, "advise", "--polled-ns", str(polled_ns),
            "--max-ns", str(max_ns)]
    with open(stem + ".txt", "w") as f:
        subprocess.run(args + ["--svg", stem + ".svg", hfile], stdout=f,
                       timeout=60)
    with open(stem + ".json", "w") as f:
        subprocess.run(args + ["-j", hfile], stdout=f, timeout=60)
    with open(stem + ".halts", "w") as f, open(hfile) as g:
        f.write(g.read())


def finish(c):
    print(f"{c.passed} passed, {c.failed} failed, {c.skipped} skipped")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
