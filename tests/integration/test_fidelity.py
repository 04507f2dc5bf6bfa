"""ipitrace --guest against a second opinion: a raw trace of the same hooks
in a private tracefs instance (mono clock, the clock bpf_ktime_get_ns()
reads), paired offline by a plain reference pairing written here, during
a function-call and a reschedule workload. The count and the p50/p90 of
every kind the workloads drive must agree within the bounds below, and no
latency ipitrace reports may exceed the longest the raw trace saw over
ipitrace's whole run (a send must never be paired with an unrelated later
handler). A second test checks every recorded IPI against the raw pairing
of its own handler, on busy CPUs."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from bisect import bisect_right

from ipt import NoLeftovers, Skip, Tracer, ipiload, run

TRACEFS = "/sys/kernel/tracing"
EVENTS = ("ipi/ipi_send_cpu", "irq_vectors/call_function_single_entry",
          "irq_vectors/reschedule_entry", "irq_vectors/irq_work_entry")
HANDLER_KIND = {"call_function_single_entry": "call_single",
                "reschedule_entry": "resched", "irq_work_entry": "irq_work"}
RECORD_KIND = {0: "call_single", 2: "resched", 3: "irq_work"}	# docs/record-format.md
N = 3000
# Bounds. Counts: ipitrace's window (attach .. stop) holds the raw trace's
# (tracing on .. off), so ipitrace may see a few background IPIs more.
COUNT_SLACK = (0.03, 40)	# relative, absolute
# Percentiles: the raw trace's times are printed in microseconds, and each
# side stamps its own hook (a few hundred ns apart): within 10% or 2 us,
# plus 12.5% for ipitrace's histogram bucket width.
PCT_SLACK = (0.10, 2000)
PREEMPT_SLACK_NS = 1000000

LINE = re.compile(r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+"
                  r"(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s*(?P<rest>.*)$")


class Instance:
    """A tracefs instance of our own: its buffer, clock and events."""

    def __init__(self):
        if not os.path.isdir(TRACEFS + "/instances"):
            raise Skip("tracefs not mounted")
        for ev in EVENTS:
            if not os.path.isdir("%s/events/%s" % (TRACEFS, ev)):
                raise Skip("no tracepoint %s" % ev)
        self.path = "%s/instances/ipt_fidelity_%d" % (TRACEFS, os.getpid())
        os.mkdir(self.path)
        self.write("tracing_on", "0")
        self.write("trace_clock", "mono")
        self.write("buffer_size_kb", "16384")
        for ev in EVENTS:
            self.write("events/%s/enable" % ev, "1")

    def write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(value)

    def on(self, yes):
        self.write("tracing_on", "1" if yes else "0")

    def text(self):
        with open(os.path.join(self.path, "trace")) as f:
            return f.read()

    def lost(self):
        n = 0
        for cpu in os.listdir(os.path.join(self.path, "per_cpu")):
            with open(os.path.join(self.path, "per_cpu", cpu, "stats")) as f:
                m = re.search(r"overrun:\s*(\d+)", f.read())
                n += int(m.group(1)) if m else 0
        return n

    def close(self):
        try:
            self.on(False)
            for ev in EVENTS:
                self.write("events/%s/enable" % ev, "0")
        finally:
            os.rmdir(self.path)


def send_kind(rest, src):
    """Kind of an ipi_send_cpu line, as the kernel code that emits it
    means it (see kernel/smp.c, kernel/irq_work.c, include/linux/smp.h)."""
    m = re.search(r"cpu=(\d+) callsite=\S+ callback=(\S+)", rest)
    dst, cb = int(m.group(1)), m.group(2)
    if cb in ("0x0", "(nil)", "0"):
        return dst, "resched"
    if cb.startswith("generic_smp_call_function_single_interrupt"):
        return dst, "call_single"
    if dst == src:
        return dst, "irq_work"
    return dst, "other"


def raw_handlers(text):
    """The reference pairing: the oldest pending send per (target CPU,
    kind) completed by the next handler of that kind on that CPU. Every
    handler entry of the raw trace, per (CPU, kind), in time order:
    (time ns, its latency or None when no send was pending); and the
    sends made while one was pending."""
    pending, out = {}, {}
    coalesced = 0
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        cpu, ev = int(m.group("cpu")), m.group("event")
        ts = int(round(float(m.group("ts")) * 1e9))
        if ev == "ipi_send_cpu":
            dst, kind = send_kind(m.group("rest"), cpu)
            if kind == "other":
                continue
            if (dst, kind) in pending:
                coalesced += 1
            else:
                pending[(dst, kind)] = ts
        elif ev in HANDLER_KIND:
            kind = HANDLER_KIND[ev]
            sent = pending.pop((cpu, kind), None)
            out.setdefault((cpu, kind), []).append(
                (ts, None if sent is None else max(ts - sent, 0)))
    return out, coalesced


def reference_pairing(text, t0=0.0, t1=float("inf")):
    """Latencies per kind (ns) of the reference pairing's handlers in
    [t0, t1] (seconds, mono clock), the handlers without a send, and the
    sends made while one was pending."""
    handlers, coalesced = raw_handlers(text)
    lat, unpaired = {}, 0
    for (_, kind), hs in handlers.items():
        for ts, l in hs:
            if l is None:
                unpaired += 1
            elif t0 * 1e9 <= ts <= t1 * 1e9:
                lat.setdefault(kind, []).append(l)
    return lat, unpaired, coalesced


def pct(sorted_v, p):
    """Nearest-rank percentile."""
    if not sorted_v:
        return 0
    k = max(0, min(len(sorted_v) - 1, int(-(-p * len(sorted_v) // 100)) - 1))
    return sorted_v[k]


def within(a, b, slack):
    rel, ab = slack
    return abs(a - b) <= max(rel * max(a, b), ab)


def test_pairing_agrees_with_a_raw_trace():
    if os.cpu_count() < 2 or not os.path.exists("/dev/cpu/1/cpuid") and \
            run(["modprobe", "cpuid"]).returncode:
        raise Skip("needs CPU 1 and the cpuid driver")
    clean = NoLeftovers()
    inst = Instance()
    try:
        # the raw trace covers ipitrace's whole run; counts and percentiles
        # are compared over the workload's window inside it
        inst.on(True)
        t = Tracer(["--guest", "-j"])
        t.wait_attached()
        time.sleep(0.2)
        t0 = time.monotonic()
        ipiload("--src", "0", "--dst", "1", "--count", str(N))
        ipiload("--src", "0", "--dst", "1", "--count", str(N), "--mode", "resched")
        t1 = time.monotonic()
        time.sleep(0.2)
        rc, out, err = t.stop()
        inst.on(False)
        text, lost = inst.text(), inst.lost()
    finally:
        inst.close()
    assert rc == 0, err
    assert lost == 0, "the raw trace lost %d events: enlarge its buffer" % lost
    doc = json.loads(out)
    ref, ref_unpaired, ref_coalesced = reference_pairing(text, t0, t1)
    whole, _, _ = reference_pairing(text)
    print("  ipitrace counters %s lost %s" % (doc["counters"], doc["lost"]))
    print("  reference: %s; unpaired handlers %d, coalesced sends %d"
          % (", ".join("%s %d" % (k, len(v)) for k, v in sorted(ref.items())),
             ref_unpaired, ref_coalesced))
    for kind in ("call_single", "resched"):
        mine = [c for c in doc["classes"] if c["kind"] == kind]
        assert mine, "ipitrace saw no %s IPIs" % kind
        count = sum(c["count"] for c in mine)
        # one NUMA node here: one class per kind; take the largest
        c = max(mine, key=lambda c: c["count"])
        r = sorted(ref.get(kind, []))
        # the workload drove them: a resched call sends no IPI when the
        # woken thread had not slept yet or CPU 1 was rescheduling anyway
        # (seen: 2675 of 3000)
        assert len(r) >= N * 0.8, (kind, len(r))
        rp50, rp90 = pct(r, 50), pct(r, 90)
        print("  %-11s ipitrace n=%d p50=%d p90=%d | reference n=%d (whole "
              "run %d) p50=%d p90=%d" % (kind, count, c["p50_ns"], c["p90_ns"],
                                       len(r), len(whole.get(kind, [])),
                                       rp50, rp90))
        # ipitrace counts its whole run: at least the workload's window,
        # at most what the raw trace (on from before the attach to after
        # the detach) paired over its whole run
        w = len(whole.get(kind, []))
        assert count >= len(r) - max(COUNT_SLACK[0] * len(r), COUNT_SLACK[1]), \
            (kind, count, len(r))
        assert count <= w + max(COUNT_SLACK[0] * w, COUNT_SLACK[1]), \
            (kind, count, w)
        # ipitrace's histogram buckets are 1/8 of a power of two wide: its
        # percentiles are bucket bounds, within 12.5% of the value
        assert within(c["p50_ns"], rp50, (PCT_SLACK[0] + 0.125, PCT_SLACK[1])), \
            (kind, c["p50_ns"], rp50)
        assert within(c["p90_ns"], rp90, (PCT_SLACK[0] + 0.125, PCT_SLACK[1])), \
            (kind, c["p90_ns"], rp90)
        # ipitrace's max is exact; the raw trace's is in whole microseconds
        ref_max = max(whole.get(kind, [0]))
        mx = max(c["max_ns"] for c in mine)
        print("  %-11s max: ipitrace %d ns, raw trace over the whole run %d ns; "
              "sends_unserved %d" % (kind, mx, ref_max,
                                    doc["counters"].get("sends_unserved", 0)))
        # Both stamp the same tracepoints, but not at the same instant:
        # when the host preempts this vCPU between ftrace's timestamp and
        # our program's clock read, one IPI differs by the preemption
        # (156 us seen in a CI-like run, with the sends behind it counted
        # as coalesced). What this catches are the pairings no IPI had, 6
        # to 609 ms before the unserved-send rules: 1 ms tells them apart.
        assert mx <= ref_max * 1.1 + PREEMPT_SLACK_NS, (kind, mx, ref_max)
    clean.check()


def test_no_pairing_across_unseen_handlers():
    """Each IPI ipitrace records against the raw trace's pairing of the same
    handler. A kernel may skip BPF programs in some context (on this
    project's 6.18 KVM guest none runs while one task of the machine's own
    runs, not even in the IPI handlers that interrupt it; ftrace records
    them), and a send whose handler went unseen must not be paired with a
    later handler: that latency no IPI had (the rules before this test
    paired such sends across 0.7 to 707 ms) is what this catches. Busy CPUs
    and a few seconds of mixed IPIs, since when such stretches come is not
    ours to choose; each record is checked, not only the maximum."""
    if os.cpu_count() < 2 or not os.path.exists("/dev/cpu/1/cpuid") and \
            run(["modprobe", "cpuid"]).returncode:
        raise Skip("needs CPU 1 and the cpuid driver")
    clean = NoLeftovers()
    inst = Instance()
    tmp = tempfile.mkdtemp(prefix="ipt_fidelity_")
    rec = os.path.join(tmp, "rec")
    hogs = []
    try:
        inst.on(True)
        t = Tracer(["--guest", "-j", "--record", rec])
        t.wait_attached()
        hogs = [subprocess.Popen(["taskset", "-c", str(c), "sh", "-c",
                                  "while :; do :; done"]) for c in (0, 1)]
        end = time.monotonic() + 6
        while time.monotonic() < end:
            ipiload("--src", "0", "--dst", "1", "--count", "1000")
            ipiload("--src", "0", "--dst", "1", "--count", "1000",
                    "--mode", "resched")
            ipiload("--src", "1", "--dst", "0", "--count", "1000")
        for h in hogs:
            h.kill()
            h.wait()
        hogs = []
        rc, out, err = t.stop()
        inst.on(False)
        text, lost = inst.text(), inst.lost()
        with open(rec) as f:
            records = [ln.split() for ln in f if ln.startswith("g ")]
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        inst.close()
        shutil.rmtree(tmp, ignore_errors=True)
    assert rc == 0, err
    assert lost == 0, "the raw trace lost %d events: enlarge its buffer" % lost
    counters = json.loads(out)["counters"]
    raw, _ = raw_handlers(text)
    bad, checked = [], 0
    for r in records:
        send, lat, dst, kind = int(r[1]), int(r[2]), int(r[4]), int(r[5])
        if kind not in RECORD_KIND:
            continue
        handler = send + lat
        # the same handler in the raw trace: ftrace stamps it first, in
        # whole microseconds
        entries = raw.get((dst, RECORD_KIND[kind]), [])
        i = max(0, bisect_right(entries, (handler + 1000, 0)) - 1)
        if not entries or entries[i][0] > handler + 1000:
            continue
        checked += 1
        ref = entries[i][1]
        # newest-send pairing may be shorter than the reference's, never
        # longer, but for one preemption between the two stamps
        limit = (ref or 0) * 1.1 + PREEMPT_SLACK_NS
        if lat > limit:
            bad.append((send, lat, ref, dst, RECORD_KIND[kind]))
    print("  %d records, %d checked against the raw pairing of their "
          "handler; raw handlers %d; sends_unserved %d coalesced_sends %d"
          % (len(records), checked, sum(len(v) for v in raw.values()),
             counters.get("sends_unserved", 0),
             counters.get("coalesced_sends", 0)))
    assert checked >= 0.9 * len(records), (checked, len(records))
    assert not bad, "paired with a later handler (send ns, latency ns, " \
        "raw latency ns, CPU, kind): %s" % bad[:5]
    clean.check()
