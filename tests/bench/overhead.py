#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Overhead benchmark for ipitrace (`make bench`).

Runs the IPI workload (build/ipiload: cpuid reads from CPU 0 to CPU 1, each
one a smp_call_function_single() IPI plus the wake-up IPI back) with no
tracer and under each tracer, interleaved A B A B ... over several rounds:

  ipitrace   ./ipitrace --guest -j (per-event mode)
  ipitrace_csd        ./ipitrace --guest -j --callers=10 (CSD pairing: four
                      programs per function-call IPI, not two)
  ipitrace_aggregate  ./ipitrace --guest -j --aggregate (if the binary has it)
  bpftrace   tests/bench/ipi_pair.bt (same pairing, send -> handler hist())
  perf       perf record -a -e ipi:ipi_send_cpu
                          -e irq_vectors:call_function_single_entry
  floor      build/ipt_floor (tp_btf programs doing one atomic add)
  floor_clock  build/ipt_floor --clock (the floor plus a clock read on both
             sides and a subtraction: the least any pairing can cost)

Each tracer run has two phases, both with the tracer attached:
  1. the workload with kernel.bpf_stats_enabled=0: round-trip time, compared
     with the adjacent no-tracer run (ratio of ipiload's rtt p50 and mean);
  2. a shorter workload with kernel.bpf_stats_enabled=1: per-hook cost,
     run_time_ns / run_cnt of the tracer's programs (found by the ids that
     appeared while it ran and that `bpftool perf show` lists for its pid).
The tracer's own CPU time (utime+stime from /proc/PID/stat just before it is
stopped) is divided by the events it saw.

Prints a markdown table and JSON and writes them to results/overhead.{md,json}.
Timing never fails the run: the exit status is 0 unless something broke
(a tool missing, a tracer that did not start).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
IPITRACE = os.path.join(REPO, "ipitrace")
IPILOAD = os.path.join(REPO, "build", "ipiload")
FLOOR = os.path.join(REPO, "build", "ipt_floor")
BT_SCRIPT = os.path.join(HERE, "ipi_pair.bt")
STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"

SEND_TP = "ipi_send_cpu"
HANDLER_TP = "call_function_single_entry"
PERF_EVENTS = ["ipi:ipi_send_cpu", "irq_vectors:call_function_single_entry"]
# every tracer attaches these two before a run starts
ATTACH_TPS = {"ipi_send_cpu", "call_function_single_entry"}
CSD_TPS = ("csd_queue_cpu", "csd_function_entry")

# IPI workloads: ipiload mode, send and handler tracepoints of that kind
WORKLOADS = {
    "call_single": ("cpuid", "ipi_send_cpu", "call_function_single_entry"),
    "resched": ("resched", "ipi_send_cpu", "reschedule_entry"),
    "multicast": ("multicast", "ipi_send_cpumask", "call_function_entry"),
}
WL_MODE = "cpuid"

# targets (issue 10): whole-IPI cost against the floor pair and bpftrace
FLOOR_FACTOR = 2.0		# per-event: whole IPI, and each hook
AGG_FLOOR_FACTOR = 1.5		# aggregate: whole IPI
BPFTRACE_FACTOR = 0.35		# both: whole IPI
RTT_PER_EVENT = 0.03
RTT_AGGREGATE = 0.01
AGG_RTT_OVER_FLOOR = 0.02	# aggregate: within 2 points of the floor's own

CLK_TCK = os.sysconf("SC_CLK_TCK")

live = []		# tracer processes to clean up on the way out


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- helpers

def bpftool_json(*args):
    out = subprocess.run(["bpftool", "-j"] + list(args), check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def prog_table():
    return {p["id"]: p for p in bpftool_json("prog", "show")}


def attachments(pid):
    """prog_id -> tracepoint name for programs attached by process pid."""
    res = {}
    for e in bpftool_json("perf", "show"):
        if e.get("pid") == pid and "tracepoint" in e:
            res[e["prog_id"]] = e["tracepoint"]
    return res


def read_sysctl():
    with open(STATS_SYSCTL) as f:
        return int(f.read().strip())


def write_sysctl(v):
    with open(STATS_SYSCTL, "w") as f:
        f.write("%d\n" % v)


def proc_cpu(pid):
    """(utime+stime in seconds from /proc/PID/stat, on-CPU ns summed over
    the threads' schedstat) or (None, None) if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])
        ns = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    ns += int(f.read().split()[0])
            except OSError:
                pass
        return ticks / CLK_TCK, ns
    except (OSError, ValueError, IndexError):
        return None, None


def perf_fds(pid):
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if "perf_event" in os.readlink("/proc/%d/fd/%s" % (pid, fd)):
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


def run_workload(count):
    cmd = [IPILOAD, "--src", "0", "--dst", "1", "--count", str(count), "--json",
           "--mode", WL_MODE]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise BenchError("cannot run ipiload: %s" % e)
    if p.returncode != 0:
        raise BenchError("ipiload failed (rc %d): %s" % (p.returncode, p.stderr.strip()))
    return json.loads(p.stdout.strip().splitlines()[-1])


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- tracers

class Tracer:
    """One tracer process: start, wait until attached, stop, collect."""
    key = label = None
    bpf = True		# has BPF programs whose cost bpf_stats can show

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.proc = None

    def cmd(self):
        raise NotImplementedError

    def start(self):
        self.before = set(prog_table()) if self.bpf else set()
        self.out_path = os.path.join(self.tmpdir, self.key + ".out")
        self.err_path = os.path.join(self.tmpdir, self.key + ".err")
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(self.cmd(), stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, cwd=REPO)
        live.append(self.proc)
        self.t_start = time.monotonic()
        try:
            self.wait_attached()
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            live.remove(self.proc)
            self.out.close()
            self.err.close()
            raise
        self.attached_at = time.monotonic() - self.t_start
        self.cpu_attached = proc_cpu(self.proc.pid)

    def died(self):
        if self.proc.poll() is not None:
            self.out.flush()
            self.err.flush()
            with open(self.err_path) as f:
                err = f.read().strip()
            raise BenchError("%s exited (rc %d) before attaching: %s"
                             % (self.label, self.proc.returncode, err[-500:]))

    def wait_attached(self, timeout=30.0):
        want = ATTACH_TPS
        last, stable = None, 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.died()
            att = attachments(self.proc.pid)
            att = {k: v for k, v in att.items() if k not in self.before}
            if want <= set(att.values()):
                stable = stable + 1 if att == last else 0
                if stable >= 2:
                    self.progs = att
                    return
            last = att
            time.sleep(0.05)
        raise BenchError("%s did not attach within %.0f s" % (self.label, timeout))

    def hook_costs(self):
        table = prog_table()
        hooks = {}
        for pid_, tp in sorted(self.progs.items()):
            p = table.get(pid_)
            if not p:
                continue
            hooks.setdefault(tp, []).append({
                "id": pid_, "name": p.get("name", ""),
                "run_time_ns": p.get("run_time_ns", 0),
                "run_cnt": p.get("run_cnt", 0),
                "recursion_misses": p.get("recursion_misses", 0),
            })
        return hooks

    def stop(self):
        self.cpu_before_stop = proc_cpu(self.proc.pid)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            log("%s did not stop on SIGINT; killed" % self.label)
        live.remove(self.proc)
        self.out.close()
        self.err.close()
        with open(self.out_path) as f:
            self.stdout = f.read()
        with open(self.err_path) as f:
            self.stderr = f.read()
        return self.events()

    def events(self):
        """Events the tracer saw (for CPU time per event), or None."""
        return None


class Ipitrace(Tracer):
    key, label = "ipitrace", "ipitrace --guest (per-event)"
    binary = IPITRACE

    def cmd(self):
        return [self.binary, "--guest", "-j"]

    def events(self):
        try:
            doc = json.loads(self.stdout)
        except ValueError:
            m = re.search(r"\{.*\}", self.stdout, re.S)
            if not m:
                raise BenchError("ipitrace printed no JSON: %s" % self.stderr.strip()[-300:])
            doc = json.loads(m.group(0))
        self.doc = doc
        return doc.get("counters", {}).get("paired")


class IpitraceAggregate(Ipitrace):
    key, label = "ipitrace_aggregate", "ipitrace --guest --aggregate"

    def cmd(self):
        return [self.binary, "--guest", "-j", "--aggregate"]


def before_classes(binary):
    """Per-event and aggregate rows for another build (--before): the same
    runs, interleaved with this build's, so before and after share a machine
    and its moment."""
    class Before(Ipitrace):
        key, label = "ipitrace_before", "ipitrace --guest (per-event), before"

    class AggBefore(IpitraceAggregate):
        key, label = ("ipitrace_aggregate_before",
                      "ipitrace --guest --aggregate, before")
    Before.binary = AggBefore.binary = binary
    return [Before, AggBefore]


class IpitraceCsd(Ipitrace):
    key, label = "ipitrace_csd", "ipitrace --guest --callers 10 (per-event, CSD pairing)"

    def cmd(self):
        return [IPITRACE, "--guest", "-j", "--callers=10"]


class Bpftrace(Tracer):
    key, label = "bpftrace", "bpftrace (ipi_pair.bt)"

    def cmd(self):
        return ["bpftrace", BT_SCRIPT]

    def events(self):
        n = 0
        for line in self.stdout.splitlines():
            m = re.match(r"\[[^\]\[]*?[\])]\s+(\d+)\s+\|", line)
            if m:
                n += int(m.group(1))
        return n


class Floor(Tracer):
    key, label = "floor", "floor (ipt_floor: one atomic add)"

    def __init__(self, tmpdir, companion=False):
        super().__init__(tmpdir)
        if companion:
            self.key = "floor-companion"

    def cmd(self):
        return [FLOOR, "-j"]

    def events(self):
        try:
            return json.loads(self.stdout.strip().splitlines()[-1]).get("handler")
        except (ValueError, IndexError):
            raise BenchError("ipt_floor printed no JSON: %s" % self.stderr.strip()[-300:])


class FloorClock(Floor):
    key, label = "floor_clock", "floor + clock (ipt_floor --clock)"

    def cmd(self):
        return [FLOOR, "-j", "--clock"]


class Perf(Tracer):
    key, label = "perf", "perf record -a"
    bpf = False

    def cmd(self):
        cmd = ["perf", "record", "-a", "--no-buildid", "--no-buildid-cache",
               "-o", os.path.join(self.tmpdir, "perf.data")]
        for e in PERF_EVENTS:
            cmd += ["-e", e]
        return cmd

    def wait_attached(self, timeout=30.0):
        want = len(PERF_EVENTS) * (os.cpu_count() or 1)
        last, stable = -1, 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.died()
            n = perf_fds(self.proc.pid)
            if n >= want:
                stable = stable + 1 if n == last else 0
                if stable >= 3:
                    self.progs = {}
                    time.sleep(0.2)
                    return
            last = n
            time.sleep(0.05)
        raise BenchError("perf record did not open its events within %.0f s" % timeout)

    def events(self):
        data = os.path.join(self.tmpdir, "perf.data")
        m = re.search(r"\((\d+) samples\)", self.stderr)
        if not m:
            p = subprocess.run(["perf", "report", "-i", data, "--stats"],
                               capture_output=True, text=True)
            m = re.search(r"SAMPLE events:\s+(\d+)", p.stdout)
        try:
            os.unlink(data)
        except OSError:
            pass
        return int(m.group(1)) if m else None


def perf_works(tmpdir):
    if not shutil.which("perf"):
        return "perf is not installed (Debian package linux-perf)"
    out = os.path.join(tmpdir, "probe.data")
    cmd = ["perf", "record", "-a", "--no-buildid", "--no-buildid-cache", "-o", out]
    for e in PERF_EVENTS:
        cmd += ["-e", e]
    try:
        p = subprocess.run(cmd + ["--", "true"], capture_output=True, text=True,
                           timeout=30)
    except subprocess.TimeoutExpired:
        return "perf record timed out"
    ok = p.returncode == 0 and os.path.exists(out)
    if os.path.exists(out):
        os.unlink(out)
    if not ok:
        msg = (p.stderr or p.stdout).strip().splitlines()
        return "perf record does not work here (rc %d): %s" % (
            p.returncode, msg[-1] if msg else "no output")
    return None


# ---------------------------------------------------------------- the run

def stats_phase(t, tmpdir, stats_count):
    """Per-hook cost of tracer t, with the floor programs attached alongside
    (unless t is the floor): both measured on the same IPIs at the same
    time, so their ratio does not drift with the machine's load."""
    floor = None
    if type(t) is not Floor:
        floor = Floor(tmpdir, companion=True)
        floor.start()
    try:
        write_sysctl(1)
        try:
            run_workload(stats_count)
        finally:
            write_sysctl(0)
        hooks = t.hook_costs()
        floor_hooks = floor.hook_costs() if floor else {}
    finally:
        if floor:
            floor.stop()
    return hooks, floor_hooks


def one_tracer_run(cls, tmpdir, count, stats_count):
    t = cls(tmpdir)
    t.start()
    try:
        rtt = run_workload(count)
        hooks = floor_hooks = {}
        if t.bpf:
            hooks, floor_hooks = stats_phase(t, tmpdir, stats_count)
        else:
            run_workload(stats_count)
    except BaseException:
        t.stop()
        raise
    events = t.stop()
    cpu_s, _ = t.cpu_before_stop
    _, ns0 = t.cpu_attached
    _, ns1 = t.cpu_before_stop
    return {
        "rtt": rtt, "hooks": hooks, "floor_hooks": floor_hooks, "events": events,
        "attach_s": round(t.attached_at, 3),
        "cpu_s": cpu_s,
        "cpu_attached_ns": (ns1 - ns0) if ns0 is not None and ns1 is not None else None,
        "doc": getattr(t, "doc", None),
    }


def hook_summary(runs, tp, field="hooks"):
    """sum(run_time_ns)/sum(run_cnt) over rounds for hook tp."""
    rt = cnt = 0
    names = set()
    per_round = []
    for r in runs:
        progs = r[field].get(tp, [])
        r_rt = sum(p["run_time_ns"] for p in progs)
        r_cnt = sum(p["run_cnt"] for p in progs)
        names.update(p["name"] for p in progs)
        rt += r_rt
        cnt += r_cnt
        per_round.append(round(r_rt / r_cnt, 1) if r_cnt else None)
    if not cnt:
        return None
    return {"ns_per_call": round(rt / cnt, 1), "run_time_ns": rt, "run_cnt": cnt,
            "per_round": per_round, "programs": sorted(names)}


def run_set(classes, rounds, count, stats_count, tmpdir, broken):
    """One workload: every tracer, A B interleaved, over rounds."""
    configs = {}
    runs = {c.key: [] for c in classes}
    pairs = {c.key: {"p50": [], "mean": []} for c in classes}
    base_runs = []
    for rnd in range(rounds):
        order = classes[rnd % len(classes):] + classes[:rnd % len(classes)] if classes else []
        for cls in order:
            if cls.key in broken:
                continue
            log("round %d/%d: %s" % (rnd + 1, rounds, cls.key))
            base_first = (rnd % 2 == 0)
            try:
                if base_first:
                    base = run_workload(count)
                    r = one_tracer_run(cls, tmpdir, count, stats_count)
                else:
                    r = one_tracer_run(cls, tmpdir, count, stats_count)
                    base = run_workload(count)
            except BenchError as e:
                log("%s: %s" % (cls.key, e))
                broken.append(cls.key)
                configs[cls.key] = {"label": cls.label, "status": "failed",
                                           "reason": str(e)}
                continue
            base_runs.append(base)
            runs[cls.key].append(r)
            pairs[cls.key]["p50"].append((base["rtt_p50_ns"], r["rtt"]["rtt_p50_ns"]))
            pairs[cls.key]["mean"].append((base["rtt_mean_ns"], r["rtt"]["rtt_mean_ns"]))
            time.sleep(0.2)	# let detach settle before the next run
    baseline = {
        "rtt_p50_ns": median([b["rtt_p50_ns"] for b in base_runs]),
        "rtt_mean_ns": median([b["rtt_mean_ns"] for b in base_runs]),
        "rtt_p50_ns_all": [b["rtt_p50_ns"] for b in base_runs],
        "runs": len(base_runs)}
    for cls in classes:
        if cls.key in broken or not runs[cls.key]:
            continue
        configs[cls.key] = summarize(cls.key, cls.label, runs[cls.key],
                                            pairs[cls.key])
    return {"configs": configs, "baseline": baseline}


def summarize(key, label, runs, pairs):
    s = {"label": label, "status": "ok", "rounds": len(runs)}
    s["rtt_p50_ratio"] = median([b / a for a, b in pairs["p50"]])
    s["rtt_mean_ratio"] = median([b / a for a, b in pairs["mean"]])
    s["rtt_p50_ns"] = median([r["rtt"]["rtt_p50_ns"] for r in runs])
    s["rtt_mean_ns"] = median([r["rtt"]["rtt_mean_ns"] for r in runs])
    s["pairs"] = [{"base_p50_ns": a, "p50_ns": b, "base_mean_ns": c, "mean_ns": d}
                  for (a, b), (c, d) in zip(pairs["p50"], pairs["mean"])]
    s["attach_s"] = median([r["attach_s"] for r in runs])
    tps = sorted({tp for r in runs for tp in r["hooks"]})
    s["hooks"] = {}
    if SEND_TP in tps:
        s["hooks"]["send"] = hook_summary(runs, SEND_TP)
    if HANDLER_TP in tps:
        s["hooks"]["handler"] = hook_summary(runs, HANDLER_TP)
    others = {tp: hook_summary(runs, tp) for tp in tps if tp not in (SEND_TP, HANDLER_TP)}
    s["hooks"]["other"] = {k: v for k, v in others.items() if v}
    fl = {}
    for role, tp in (("send", SEND_TP), ("handler", HANDLER_TP)):
        h = hook_summary(runs, tp, "floor_hooks")
        if h and s["hooks"].get(role):
            mine = s["hooks"][role]["per_round"]
            h["tracer_to_floor_per_round"] = [
                round(a / b, 3) if a and b else None for a, b in zip(mine, h["per_round"])]
            h["tracer_to_floor"] = median(h["tracer_to_floor_per_round"])
            fl[role] = h
    if fl:
        s["floor_alongside"] = fl
    ev = [r["events"] for r in runs]
    if all(e for e in ev):
        tot_ev = sum(ev)
        tot_cpu = sum(r["cpu_s"] for r in runs)
        s["events"] = tot_ev
        s["cpu_s"] = round(tot_cpu, 3)
        s["cpu_ms_per_mevents"] = round(tot_cpu * 1e3 / tot_ev * 1e6, 1)
        ns = [r["cpu_attached_ns"] for r in runs]
        if all(n is not None for n in ns):
            s["cpu_ms_per_mevents_while_attached"] = round(sum(ns) / 1e6 / tot_ev * 1e6, 1)
    if key.startswith("ipitrace"):
        lost = {}
        for r in runs:
            for k, v in (r["doc"] or {}).get("lost", {}).items():
                lost[k] = lost.get(k, 0) + v
        s["lost"] = lost
        s["tracer_ipis"] = sum((r["doc"] or {}).get("counters", {}).get("tracer_ipis", 0)
                               for r in runs)
    return s


def calibrate(target_s):
    # the quietest of three short runs: a busy moment should not shrink N
    mean = max(min(run_workload(3000)["rtt_mean_ns"] for _ in range(3)), 1)
    n = int(target_s * 1e9 / mean)
    n = max(20000, min(200000, int(round(n, -3))))
    return n, mean


def machine_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    hyp = ""
    try:
        with open("/proc/cpuinfo") as f:
            hyp = "hypervisor" if " hypervisor" in f.read() else "bare metal"
    except OSError:
        pass
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "cpu_model": model,
            "virt": hyp, "bpftrace": bt_version(), "date":
            datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


def bt_version():
    try:
        return subprocess.run(["bpftrace", "--version"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return None


def has_aggregate_mode():
    try:
        h = subprocess.run([IPITRACE, "--help"], capture_output=True, text=True)
        return "--aggregate" in h.stdout + h.stderr
    except OSError:
        return False


# ---------------------------------------------------------------- verdicts

def verdict(ok):
    return "holds" if ok else "falls short"


def targets(res):
    out = []
    for key, mode, rtt_limit in (("ipitrace", "per-event", RTT_PER_EVENT),
                                 ("ipitrace_aggregate", "aggregate", RTT_AGGREGATE)):
        out += mode_targets(res, key, mode, rtt_limit)
    return out


def mode_targets(res, key, mode, rtt_limit):
    cfg = res["configs"]
    out = []
    ipt = cfg.get(key, {})
    fl = cfg.get("floor", {})
    bt = cfg.get("bpftrace", {})
    if ipt.get("status") == "skipped":
        return [{"target": "%s mode: all targets" % mode, "measured": "n/a",
                 "verdict": ipt.get("reason", "skipped")}]
    for role, tp in (("send", SEND_TP), ("handler", HANDLER_TP)):
        mine = (ipt.get("hooks") or {}).get(role)
        along = (ipt.get("floor_alongside") or {}).get(role)
        alone = (fl.get("hooks") or {}).get(role)
        name = "ipitrace %s: %s hook (%s) <= %gx floor" % (mode, role, tp, FLOOR_FACTOR)
        if mine and along and along.get("tracer_to_floor"):
            x = along["tracer_to_floor"]
            txt = ("%.0f ns vs floor %.0f ns attached alongside: %.2fx (median of rounds)"
                   % (mine["ns_per_call"], along["ns_per_call"], x))
            if alone:
                txt += "; floor alone %.0f ns" % alone["ns_per_call"]
            out.append({"target": name, "measured": txt, "ratio": round(x, 3),
                        "limit": FLOOR_FACTOR, "verdict": verdict(x <= FLOOR_FACTOR)})
        elif mine and alone:
            x = mine["ns_per_call"] / alone["ns_per_call"]
            out.append({"target": name, "measured": "%.0f ns vs floor %.0f ns = %.2fx"
                        % (mine["ns_per_call"], alone["ns_per_call"], x),
                        "ratio": round(x, 3), "limit": FLOOR_FACTOR,
                        "verdict": verdict(x <= FLOOR_FACTOR)})
        else:
            out.append({"target": name, "measured": "n/a", "verdict": "not measured"})
        theirs = (bt.get("hooks") or {}).get(role)
        name = "ipitrace %s: %s hook (%s) <= %gx bpftrace" % (mode, role, tp,
                                                               BPFTRACE_FACTOR)
        if mine and theirs:
            rr = [a / b for a, b in zip(mine["per_round"], theirs["per_round"]) if a and b]
            x = median(rr) if rr else mine["ns_per_call"] / theirs["ns_per_call"]
            txt = ("%.0f ns vs bpftrace %.0f ns: %.2fx (median of rounds)"
                   % (mine["ns_per_call"], theirs["ns_per_call"], x))
            bt_along = (bt.get("floor_alongside") or {}).get(role)
            if along and bt_along and along.get("tracer_to_floor") and \
               bt_along.get("tracer_to_floor"):
                txt += "; in floor units %.2fx vs %.2fx = %.2fx" % (
                    along["tracer_to_floor"], bt_along["tracer_to_floor"],
                    along["tracer_to_floor"] / bt_along["tracer_to_floor"])
            out.append({"target": name, "measured": txt, "ratio": round(x, 3),
                        "limit": BPFTRACE_FACTOR, "verdict": verdict(x <= BPFTRACE_FACTOR)})
        else:
            out.append({"target": name, "measured": "n/a", "verdict": "not measured"})
    name = "ipitrace %s: round-trip overhead <= %g%%" % (mode, rtt_limit * 100)
    if ipt.get("rtt_p50_ratio"):
        p50 = ipt["rtt_p50_ratio"] - 1
        mean = ipt["rtt_mean_ratio"] - 1
        ref = ""
        if fl.get("rtt_p50_ratio"):
            ref = " (floor program: p50 %+.1f%%, mean %+.1f%%)" % (
                (fl["rtt_p50_ratio"] - 1) * 100, (fl["rtt_mean_ratio"] - 1) * 100)
        out.append({"target": name, "measured": "p50 %+.1f%%, mean %+.1f%%%s"
                    % (p50 * 100, mean * 100, ref),
                    "overhead_p50": round(p50, 4), "overhead_mean": round(mean, 4),
                    "floor_overhead_p50": round(fl["rtt_p50_ratio"] - 1, 4)
                    if fl.get("rtt_p50_ratio") else None,
                    "limit": rtt_limit,
                    "verdict": verdict(p50 <= rtt_limit and mean <= rtt_limit)})
    else:
        out.append({"target": name, "measured": "n/a", "verdict": "not measured"})
    return out


# ---------------------------------------------------------------- whole IPI

ROWS = (("ipitrace_before", "per-event, before"),
        ("ipitrace_aggregate_before", "--aggregate, before"),
        ("ipitrace", "per-event"), ("ipitrace_csd", "per-event + CSD (--callers)"),
        ("ipitrace_aggregate", "--aggregate"), ("floor", "floor"),
        ("floor_clock", "floor + clock on both sides"),
        ("bpftrace", "bpftrace pairing"))


def per_round(c, role, field="hooks"):
    """ns/call per round of one role's hook (send or handler)."""
    h = (c.get(field) or {}).get(role) if field == "hooks" else \
        (c.get("floor_alongside") or {}).get(role)
    return h["per_round"] if h else None


def whole_ipi(res):
    """Per workload and config: the sum of every program an IPI runs (send,
    handler, and the CSD programs where attached), its ratio to the floor
    pair attached alongside (median of rounds) and to bpftrace's whole IPI."""
    for wl, w in res.get("workloads", {}).items():
        cfg = w["configs"]
        rows = w["whole"] = {}
        for key, _ in ROWS:
            c = cfg.get(key)
            if not c or c.get("status") != "ok":
                continue
            h = c.get("hooks", {})
            if not h.get("send") or not h.get("handler"):
                continue
            other = h.get("other", {})
            # CSD programs run for function-call IPIs only
            csd = {tp: other[tp]["ns_per_call"] for tp in CSD_TPS
                   if tp in other and w["mode"] != "resched"}
            whole = h["send"]["ns_per_call"] + h["handler"]["ns_per_call"] + sum(csd.values())
            r = {"send": h["send"]["ns_per_call"], "handler": h["handler"]["ns_per_call"],
                 "csd_queue": csd.get("csd_queue_cpu"),
                 "csd_function": csd.get("csd_function_entry"), "whole": round(whole, 1),
                 "rtt_p50_ratio": c.get("rtt_p50_ratio"),
                 "cpu_ms_per_mevents": c.get("cpu_ms_per_mevents_while_attached")}
            fa = c.get("floor_alongside", {})
            if fa.get("send") and fa.get("handler"):
                fpair = fa["send"]["ns_per_call"] + fa["handler"]["ns_per_call"]
                r["floor_pair"] = round(fpair, 1)
                # per round: (whole of that round) / (floor pair of that round)
                sr, hr = h["send"]["per_round"], h["handler"]["per_round"]
                fs, fh = fa["send"]["per_round"], fa["handler"]["per_round"]
                ratios = []
                for i in range(len(sr)):
                    try:
                        ratios.append((sr[i] + hr[i] + sum(csd.values())) / (fs[i] + fh[i]))
                    except (TypeError, IndexError, ZeroDivisionError):
                        pass
                r["x_floor"] = round(median(ratios), 2) if ratios else round(whole / fpair, 2)
                r["send_x_floor"] = fa["send"].get("tracer_to_floor")
                r["handler_x_floor"] = fa["handler"].get("tracer_to_floor")
            rows[key] = r
        bt = rows.get("bpftrace")
        for key, r in rows.items():
            if bt and key != "bpftrace":
                r["x_bpftrace"] = round(r["whole"] / bt["whole"], 2)
        w["goals"] = whole_goals(rows)
    res["whole_goals"] = {wl: w.get("goals", []) for wl, w in res.get("workloads", {}).items()}


def fmt_x(x):
    return "%.2fx" % x if x is not None else "-"


def whole_goals(rows):
    out = []
    fl = rows.get("floor")

    def add(name, ok, measured):
        out.append({"goal": name, "measured": measured,
                    "verdict": "not measured" if ok is None else verdict(ok)})

    a = rows.get("ipitrace_aggregate")
    e = rows.get("ipitrace")
    if a and a.get("x_floor"):
        add("aggregate: whole IPI <= %gx floor pair" % AGG_FLOOR_FACTOR,
            a["x_floor"] <= AGG_FLOOR_FACTOR, "%.2fx" % a["x_floor"])
    if a and fl and a.get("rtt_p50_ratio") and fl.get("rtt_p50_ratio"):
        d = a["rtt_p50_ratio"] - fl["rtt_p50_ratio"]
        add("aggregate: round trip within %g points of the floor's" % (AGG_RTT_OVER_FLOOR * 100),
            d <= AGG_RTT_OVER_FLOOR, "%+.1f%% vs floor %+.1f%%" % (
                (a["rtt_p50_ratio"] - 1) * 100, (fl["rtt_p50_ratio"] - 1) * 100))
    if e and e.get("x_floor"):
        add("per-event: whole IPI <= %gx floor pair" % FLOOR_FACTOR,
            e["x_floor"] <= FLOOR_FACTOR, "%.2fx" % e["x_floor"])
        worst = max(x for x in (e.get("send_x_floor"), e.get("handler_x_floor"), 0) if x is not None)
        add("per-event: no hook > %gx its floor" % FLOOR_FACTOR, worst <= FLOOR_FACTOR,
            "send %s, handler %s" % (fmt_x(e.get("send_x_floor")),
                                     fmt_x(e.get("handler_x_floor"))))
    fc = rows.get("floor_clock")
    if fc and fc.get("x_floor"):
        add("limit: two clock reads alone (floor + clock) <= %gx floor pair"
            % AGG_FLOOR_FACTOR, fc["x_floor"] <= AGG_FLOOR_FACTOR,
            "%.2fx (%.0f ns; send %s, handler %s)" % (
                fc["x_floor"], fc["whole"], fmt_x(fc.get("send_x_floor")),
                fmt_x(fc.get("handler_x_floor"))))
    for key, name in (("ipitrace", "per-event"), ("ipitrace_aggregate", "aggregate")):
        r = rows.get(key)
        if r and r.get("x_bpftrace") is not None:
            add("%s: whole IPI <= %gx bpftrace's" % (name, BPFTRACE_FACTOR),
                r["x_bpftrace"] <= BPFTRACE_FACTOR, "%.2fx" % r["x_bpftrace"])
    return out


def whole_ipi_markdown(res):
    lines = []
    for wl, w in res.get("workloads", {}).items():
        rows = w.get("whole", {})
        lines.append("Workload %s (`ipiload --mode %s`): %s -> %s; ns per call from "
                     "bpf_stats; x = median over rounds of (tracer / floor programs "
                     "attached alongside); no-tracer round trip p50 %s ns."
                     % (wl, w["mode"], w["send_tp"], w["handler_tp"],
                        w["baseline"].get("rtt_p50_ns")))
        lines.append("")
        lines.append("| mode | send | handler | CSD queue | CSD function | whole IPI "
                     "| floor pair | vs bpftrace | round trip vs none "
                     "| user CPU ms / 1M events |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")

        def n(v, x=None):
            if v is None:
                return "-"
            return "%.0f (%.1fx)" % (v, x) if x else "%.0f" % v
        for key, label in ROWS:
            r = rows.get(key)
            if not r:
                continue
            fl = key == "floor"
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, n(r["send"], None if fl else r.get("send_x_floor")),
                n(r["handler"], None if fl else r.get("handler_x_floor")),
                n(r.get("csd_queue")), n(r.get("csd_function")),
                "%.0f ns%s" % (r["whole"], "" if fl or not r.get("x_floor")
                               else " (%.2fx)" % r["x_floor"]),
                "%.0f ns" % r["floor_pair"] if r.get("floor_pair") and not fl else
                ("%.0f ns" % r["whole"] if fl else "-"),
                "%.2fx" % r["x_bpftrace"] if r.get("x_bpftrace") is not None else "-",
                "%+.1f%%" % ((r["rtt_p50_ratio"] - 1) * 100) if r.get("rtt_p50_ratio") else "-",
                "%.1f" % r["cpu_ms_per_mevents"] if r.get("cpu_ms_per_mevents") is not None
                else "-"))
        lines.append("")
        goals = w.get("goals", [])
        if goals:
            lines.append("| goal (%s) | measured | verdict |" % wl)
            lines.append("|---|---|---|")
            for g in goals:
                lines.append("| %s | %s | %s |" % (g["goal"], g["measured"], g["verdict"]))
            lines.append("")
    return lines


# ---------------------------------------------------------------- output

def fmt_ratio(x):
    return "%.3f" % x if x is not None else "-"


def fmt_hook(h):
    return "%.0f" % h["ns_per_call"] if h else "-"


def markdown(res):
    m = res["machine"]
    p = res["params"]
    lines = []
    lines.append("# ipitrace overhead benchmark")
    lines.append("")
    lines.append("%s; kernel %s, %d CPUs (%s, %s); %s" % (
        m["date"], m["kernel"], m["cpus"], m["cpu_model"], m["virt"], m["bpftrace"] or "no bpftrace"))
    lines.append("")
    lines.append("Workload: `ipiload --src 0 --dst 1 --count %d` (cpuid reads, %d rounds, "
                 "A B interleaved); per-hook cost from a further %d calls with "
                 "kernel.bpf_stats_enabled=1. No-tracer round trip: p50 %s ns, mean %s ns."
                 % (p["count"], p["rounds"], p["stats_count"],
                    res["baseline"]["rtt_p50_ns"], res["baseline"]["rtt_mean_ns"]))
    lines.append("")
    lines += whole_ipi_markdown(res)
    lines.append("Details of the %s workload:" % (res.get("first_workload") or "first"))
    lines.append("")
    lines.append("| configuration | rtt p50 ratio | rtt mean ratio | send hook ns/call "
                 "| handler hook ns/call | floor alongside send / handler ns/call "
                 "| other hooks ns/call | CPU ms / 1M events "
                 "| CPU ms / 1M events, attached | notes |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    lines.append("| no tracer | 1.000 | 1.000 | - | - | - | - | - | - | p50 %s ns, mean %s ns |"
                 % (res["baseline"]["rtt_p50_ns"], res["baseline"]["rtt_mean_ns"]))
    for key in ("ipitrace_before", "ipitrace_aggregate_before", "ipitrace",
                "ipitrace_csd", "ipitrace_aggregate", "bpftrace", "perf", "floor",
                "floor_clock"):
        c = res["configs"].get(key)
        if not c:
            continue
        if c["status"] != "ok":
            lines.append("| %s | - | - | - | - | - | - | - | - | %s: %s |"
                         % (c["label"], c["status"], c.get("reason", "")))
            continue
        h = c.get("hooks", {})
        other = "; ".join("%s %.0f" % (tp, v["ns_per_call"])
                          for tp, v in sorted(h.get("other", {}).items()))
        cpu = c.get("cpu_ms_per_mevents")
        notes = []
        if "events" in c:
            notes.append("%d events" % c["events"])
        if key.startswith("ipitrace"):
            notes.append("lost %d, tracer IPIs %d" % (sum(c.get("lost", {}).values()),
                                                     c.get("tracer_ipis", 0)))
        if key == "perf":
            notes.append("no BPF programs")
        att = c.get("cpu_ms_per_mevents_while_attached")
        fa = c.get("floor_alongside", {})
        along = "%s / %s" % (fmt_hook(fa.get("send")), fmt_hook(fa.get("handler"))) \
            if fa else "-"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c["label"], fmt_ratio(c["rtt_p50_ratio"]), fmt_ratio(c["rtt_mean_ratio"]),
            fmt_hook(h.get("send")), fmt_hook(h.get("handler")), along, other or "-",
            "%.1f" % cpu if cpu is not None else "-",
            "%.1f" % att if att is not None else "-", ", ".join(notes)))
    lines.append("")
    lines.append("| target | measured | verdict |")
    lines.append("|---|---|---|")
    for t in res["targets"]:
        lines.append("| %s | %s | %s |" % (t["target"], t["measured"], t["verdict"]))
    lines.append("")
    lines.append("Ratios: median over rounds of (tracer run / adjacent no-tracer run) of "
                 "ipiload's rtt p50 and mean. Hook cost: sum(run_time_ns)/sum(run_cnt) "
                 "over rounds, send = ipi:ipi_send_cpu, handler = "
                 "irq_vectors:call_function_single_entry; 'floor alongside': the floor "
                 "programs attached next to the tracer's during its cost phase (same "
                 "IPIs, same moment), which the 2x-floor targets use (median of per-round "
                 "ratios); the bpftrace targets use the median of per-round ratios too. CPU: utime+stime of the tracer "
                 "process just before it was stopped (start-up included), per event it "
                 "reported (ipitrace: counters.paired; bpftrace: hist total; perf: samples "
                 "of both events; floor: handler count); 'attached': on-CPU time of all "
                 "its threads (/proc/PID/task/*/schedstat) from attach to stop.")
    for n in res.get("notes", []):
        lines.append("")
        lines.append("Note: " + n)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main

def main():
    global WL_MODE, SEND_TP, HANDLER_TP
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run (a few seconds per config)")
    ap.add_argument("--count", type=int, help="IPIs (cpuid calls) per run "
                    "(default: sized for ~1.5 s, --quick: 5000)")
    ap.add_argument("--rounds", type=int, help="A B rounds per tracer (default 5, --quick 3)")
    ap.add_argument("--out", default=os.path.join(REPO, "results"), help="results folder")
    ap.add_argument("--only", help="comma-separated subset of "
                    "ipitrace,ipitrace_csd,ipitrace_aggregate,bpftrace,perf,floor,floor_clock"
                    " (and ipitrace_before,ipitrace_aggregate_before with --before)")
    ap.add_argument("--before", metavar="BINARY", help="also run this ipitrace "
                    "build (e.g. an older commit's) per-event and --aggregate, "
                    "interleaved with this one: before/after rows")
    ap.add_argument("--workloads", help="comma-separated subset of %s (default: "
                    "all; multicast needs 3 CPUs)" % ",".join(WORKLOADS))
    args = ap.parse_args()
    if args.workloads:
        wls = args.workloads.split(",")
        bad = [w for w in wls if w not in WORKLOADS]
        if bad:
            log("unknown workload %s" % ",".join(bad))
            return 2
    else:
        wls = [w for w in WORKLOADS if w != "multicast" or (os.cpu_count() or 1) >= 3]

    if os.geteuid() != 0:
        log("needs root (BPF, perf -a, sysctl)")
        return 1
    for path, what in ((IPITRACE, "ipitrace"), (IPILOAD, "build/ipiload"),
                       (FLOOR, "build/ipt_floor")):
        if not os.access(path, os.X_OK):
            log("%s not built (run make all)" % what)
            return 1
    if not shutil.which("bpftool"):
        log("bpftool not found")
        return 1

    rounds = args.rounds or (3 if args.quick else 5)
    tmpdir = tempfile.mkdtemp(prefix="ipt-bench-")
    notes = []
    res = {"machine": machine_info(), "configs": {}}

    classes = [Ipitrace, IpitraceCsd, IpitraceAggregate, Bpftrace, Perf, Floor,
               FloorClock]
    if not has_aggregate_mode():
        classes.remove(IpitraceAggregate)
        res["configs"]["ipitrace_aggregate"] = {
            "label": IpitraceAggregate.label, "status": "skipped",
            "reason": "not implemented yet"}
    if args.before:
        if not os.access(args.before, os.X_OK):
            log("--before %s: not an executable" % args.before)
            return 2
        classes[:0] = before_classes(os.path.abspath(args.before))
    if args.only:
        keep = set(args.only.split(","))
        classes = [c for c in classes if c.key in keep]
    if Bpftrace in classes and not shutil.which("bpftrace"):
        reason = "bpftrace is not installed"
        log(reason + "; skipping the bpftrace row")
        res["configs"]["bpftrace"] = {"label": Bpftrace.label, "status": "skipped",
                                      "reason": reason}
        classes.remove(Bpftrace)
    if Perf in classes:
        reason = perf_works(tmpdir)
        if reason:
            print("bench: perf: %s -- skipping the perf row" % reason, flush=True)
            res["configs"]["perf"] = {"label": Perf.label, "status": "skipped",
                                      "reason": reason}
            classes.remove(Perf)

    saved = read_sysctl()
    broken = []
    try:
        write_sysctl(0)
        if args.count:
            count = args.count
        elif args.quick:
            count = 5000
        else:
            count, mean = calibrate(1.5)
            log("calibration: rtt mean %d ns -> %d calls per run" % (mean, count))
        stats_count = max(2000, count // 4)
        t0 = time.monotonic()
        res["params"] = {"count": count, "stats_count": stats_count, "rounds": rounds,
                         "quick": bool(args.quick), "src_cpu": 0, "dst_cpu": 1,
                         "mode": "cpuid"}
        res["workloads"] = {}
        for wl in wls:
            WL_MODE, SEND_TP, HANDLER_TP = WORKLOADS[wl]
            log("workload %s (ipiload --mode %s): %s -> %s"
                % (wl, WL_MODE, SEND_TP, HANDLER_TP))
            w = run_set(classes, rounds, count, stats_count, tmpdir, broken)
            w.update({"mode": WL_MODE, "send_tp": SEND_TP, "handler_tp": HANDLER_TP})
            res["workloads"][wl] = w
        # the detailed table and targets below are the first workload's
        first = res["workloads"][wls[0]]
        res["first_workload"] = wls[0]
        WL_MODE, SEND_TP, HANDLER_TP = WORKLOADS[wls[0]]
        res["baseline"] = first["baseline"]
        res["configs"].update(first["configs"])
        res["params"]["elapsed_s"] = round(time.monotonic() - t0, 1)
    except BenchError as e:
        log(str(e))
        broken.append("workload")
        res.setdefault("params", {})
        res.setdefault("baseline", {"rtt_p50_ns": None, "rtt_mean_ns": None})
    finally:
        for p in list(live):
            try:
                p.kill()
                p.wait()
            except OSError:
                pass
        write_sysctl(saved)
        shutil.rmtree(tmpdir, ignore_errors=True)

    notes.append("kernel.bpf_stats_enabled was %d before the run and is restored; "
                 "it is on only during the per-hook cost phase, so round-trip ratios "
                 "do not include its accounting." % saved)
    notes.append("ipitrace also runs programs on other hooks per IPI (csd_queue_cpu, "
                 "csd_function_entry, ...): see 'other hooks'.")
    if "multicast" not in wls:
        notes.append("multicast not measured: with 2 CPUs a membarrier to the one other "
                     "CPU is a single-target call (smp_call_function_many() sends "
                     "CALL_FUNCTION_SINGLE when one CPU is targeted); the QEMU guests "
                     "(4 vCPUs) trace call_many for real.")
    if res.get("params", {}).get("quick"):
        notes.append("--quick: runs of a few tens of ms; round-trip ratios are mostly "
                     "noise here, hook costs are indicative.")
    res["notes"] = notes
    res["targets"] = targets(res)
    whole_ipi(res)
    res["broken"] = broken

    md = markdown(res)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "overhead.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "overhead.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(md)
    print(json.dumps(res, indent=2))
    print("bench: wrote %s and %s" % (os.path.join(args.out, "overhead.md"),
                                      os.path.join(args.out, "overhead.json")))
    if broken:
        log("broken: %s" % ", ".join(broken))
        return 1
    return 0


def on_term(sig, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    sys.exit(main())
