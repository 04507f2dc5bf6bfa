#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks of the end-to-end lab (test-e2e.sh): DIR holds the guest and host
records (guest.rec, host.rec), L1's output (out: the workload's own
counts, L1's ftrace of the PV send-IPI hypercalls, L2's function call
interrupt counts), `ipitrace join -j` (join.json) and its Perfetto export
(trace.json). The records are read here with a parser of our own, and the
join is checked against them and against the workload: counts, order and
consistency, never TCG durations. Prints "ok ..." / "FAIL ..." lines."""
import json
import re
import statistics
import sys

KINDS = ["call_single", "call_many", "resched", "irq_work", "other"]
fails = 0


def check(ok, what, why=""):
    global fails
    print(("ok   " if ok else "FAIL ") + what + ("" if ok or not why else ": " + why))
    fails += 0 if ok else 1


def read_record(path):
    """(meta dict, list of records) of a record file, trailer checked."""
    meta, recs = {"node": {}}, []
    lines = open(path, "rb").read().split(b"\n")
    assert lines[-1] == b"", "no final newline"
    h = 0xcbf29ce484222325
    for raw in lines[:-1]:
        f = raw.decode().split(" ")
        if f[0] == "end":
            assert int(f[1]) == len(recs) and int(f[2], 16) == h, "bad trailer"
            return meta, recs
        for c in raw + b"\n":
            h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        if f[0] == "g":
            recs.append(dict(zip(["send", "lat", "src", "dst", "kind", "vec", "flags", "co"],
                                 map(int, f[1:]))))
        elif f[0] == "h":
            v = list(map(int, f[1:]))
            recs.append(dict(id=v[0], pid=v[1], src=v[2], dst=v[3], state=v[8],
                             vec=v[9], flags=v[10], exit=v[11], t=v[13:20]))
        elif f[0] == "pv":
            v = list(map(int, f[1:]))
            meta.setdefault("pv", []).append(dict(ts=v[0], pid=v[1], src=v[2], vec=v[4],
                                                  min=v[5], lo=v[6], hi=v[7]))
        elif f[0] == "vmtsc":
            meta.setdefault("vmtsc", []).append((int(f[1]), int(f[3])))
        elif f[0] == "node":
            meta["node"][int(f[1])] = int(f[2])
        elif f[0] in ("start", "stop"):
            meta[f[0]] = int(f[1])
    raise AssertionError("no end line")


def covers(x, apicid):
    d = apicid - x["min"]
    return 0 <= d < 64 and x["lo"] >> d & 1 or 64 <= d < 128 and x["hi"] >> (d - 64) & 1


def l1_hypercalls(out):
    """L1 ftrace's KVM_HC_SEND_IPI hypercalls (mono ns), senders named by
    L2's QEMU threads ("CPU N/KVM")."""
    tasks = {int(m.group(1)): int(m.group(2))
             for m in re.finditer(r"^task (\d+) CPU (\d+)/KVM$", out, re.M)}
    hc = []
    for m in re.finditer(r"^hc (\d+)\.(\d+) (\d+) 0x(\w+) 0x(\w+) 0x(\w+) 0x(\w+) 0x(\w+)$",
                         out, re.M):
        nr, a0, a1, a2, a3 = (int(m.group(i), 16) for i in range(4, 9))
        if nr == 10:
            hc.append(dict(ts=int(m.group(1)) * 10**9 + int(m.group(2).ljust(9, "0")),
                           src=tasks.get(int(m.group(3)), -1), lo=a0, hi=a1, min=a2,
                           vec=a3 & 0xff))
    return hc


def check_pv(kernel, out, g, h, hmeta, j, folded, span):
    """The PV path against what the join did not compute: L1 ftrace's own
    kvm_hypercall nr=10 events, L2's CAL counts."""
    hc = l1_hypercalls(out)
    # the recorder: each `pv` line is one of ftrace's, and none missing
    in_rec = [x for x in hc if hmeta["start"] <= x["ts"] <= hmeta["stop"]]
    left, missing = list(in_rec), 0
    for p in hmeta.get("pv", []):
        k = min((i for i, x in enumerate(left) if
                 (x["src"], x["lo"], x["hi"], x["min"], x["vec"]) ==
                 (p["src"], p["lo"], p["hi"], p["min"], p["vec"]) and
                 abs(x["ts"] - p["ts"]) <= 2000000),
                key=lambda i: abs(left[i]["ts"] - p["ts"]), default=None)
        if k is None:
            missing += 1
        else:
            left.pop(k)
    npv = len(hmeta.get("pv", []))
    check(npv and not missing and not left,
          f"{kernel}: host record: its {npv} PV send-IPI hypercalls are L1 ftrace's "
          f"{len(in_rec)} kvm_hypercall nr=10 (sender, bitmap, vector, within 2 ms)",
          f"{missing} not in ftrace, {len(left)} not recorded")
    m = re.search(r"^multicast rc=(\d+) (\{.*\})$", out, re.M)
    calls = json.loads(m.group(2))["count"] if m and m.group(1) == "0" else 0
    check(calls > 0, f"{kernel}: the L2 multicast workload ran ({calls} calls)")
    # per-target deliveries of vector 0xfc hypercalls from vCPU 0 while
    # the guest recorded, by L1's ftrace
    t0, t1 = span
    dl = [(x, t) for x in hc if x["src"] == 0 and x["vec"] == 0xfc and t0 <= x["ts"] <= t1
          for t in range(4) if covers(x, t)]
    pvm = [mm for mm in j["ipis"] if mm["path"] == "pv_hypercall"]
    pvm0 = [mm for mm in pvm if mm["src"] == 0 and mm["kind"] == "call_many"]
    upv = j["matching"]["unmatched"]["pv_hypercall"]
    # a delivery the guest folded into a newer send to the same CPU (one
    # handler for both) or counted as unserved has no record of its own
    check(dl and len(pvm0) <= len(dl) and len(pvm0) + upv + folded >= 0.99 * len(dl),
          f"{kernel}: the join's pv_hypercall path (matched {len(pvm0)} from vCPU 0 + "
          f"unmatched for that reason {upv}, + {folded} sends the guest counted as "
          f"coalesced or unserved) holds >= 99% of the {len(dl)} per-target "
          "deliveries L1 ftrace's hypercalls from vCPU 0 made while the guest recorded")
    # every PV match: a host IPI flagged PV whose sender made a hypercall
    # naming its target (ftrace) within 2 ms
    bad = 0
    for mm in pvm:
        hr = h[mm["host_index"]]
        bad += not (hr["flags"] & 8 and any(
            x["src"] == mm["src"] and x["vec"] == hr["vec"] and covers(x, mm["dst"]) and
            abs(x["ts"] - hr["t"][0]) <= 2000000 for x in hc))
    check(pvm and not bad, f"{kernel}: each of the {len(pvm)} pv_hypercall matches is a "
          "host IPI of an L1 ftrace hypercall naming its target", f"{bad} are not")
    # L2's own count of function call interrupts on each spinner CPU
    # over the multicast phase bounds the PV matches from vCPU 0 to it
    cal = list(map(int, re.search(r"^cal ((?:\d+ ){7}\d+)$", out, re.M).group(1).split()))
    for c in (1, 2):
        n = sum(1 for mm in pvm0 if mm["dst"] == c)
        check(0 < n <= cal[4 + c] - cal[c],
              f"{kernel}: pv_hypercall matches vCPU 0 -> {c}: {n}, within L2's CAL count "
              f"on CPU {c} over the multicast ({cal[4 + c] - cal[c]})")
    gcm = [sum(1 for r in g if r["kind"] == 1 and r["src"] == 0 and r["dst"] == c)
           for c in range(4)]
    print(f"figures {kernel}: multicast calls={calls} L1 hypercalls nr=10 in the host "
          f"record={len(in_rec)}, from vCPU 0 while the guest recorded={len({id(x) for x, _ in dl})} "
          f"naming {len(dl)} targets; L2 CAL deltas per CPU="
          f"{[b - a for a, b in zip(cal[:4], cal[4:])]}; guest call_many from CPU 0 per "
          f"target={gcm}; join: matched by path={j['matching']['matched_by_path']} "
          f"unmatched={j['matching']['unmatched']}")


def main():
    kernel, d = sys.argv[1], sys.argv[2]
    out = open(d + "/out").read()
    pairs = {}
    for m in re.finditer(r"^pair=(\d+)-(\d+) rc=(\d+) (\{.*\})$", out, re.M):
        w = json.loads(m.group(4))
        pairs[(int(m.group(1)), int(m.group(2)))] = w["count"] if m.group(3) == "0" else -1
    check(len(pairs) == 4 and all(c > 0 for c in pairs.values()),
          f"{kernel}: the L2 workload ran on its 4 CPU pairs", str(pairs))
    gmeta, g = read_record(d + "/guest.rec")
    hmeta, h = read_record(d + "/host.rec")
    check(gmeta["node"] == {0: 0, 1: 0, 2: 1, 3: 1},
          f"{kernel}: the guest record has L2's topology (2 nodes)", str(gmeta["node"]))
    # a call whose IPI the kernel skipped because the target was polling
    # in idle (sched_wake_idle_without_ipi: L2 runs cpuidle-haltpoll) has
    # no send; a send the guest counted as unserved (its handler ran
    # unseen, or so it looked: a sender vCPU preempted between its
    # timestamp and its IPI looks the same) has no record: both counted
    counters = json.load(open(f"{d}/guest-live.json"))["counters"]
    unserved = counters.get("sends_unserved", 0) + \
        counters.get("wake_idle_without_ipi", 0)
    for (s, t), n in pairs.items():
        gn = sum(1 + r["co"] for r in g
                 if r["kind"] == 0 and r["src"] == s and r["dst"] == t)
        hn = sum(1 for r in h if r["vec"] == 0xfb and r["src"] == s and r["dst"] == t)
        check(gn + unserved >= n, f"{kernel}: guest record: >= {n} call_single {s}->{t} "
              "(the workload's calls), but for IPIs polling idle saved and sends "
              "counted as unserved", f"{gn} recorded, {unserved} saved or unserved")
        check(hn >= n, f"{kernel}: host record: >= {n} vector 0xfb ICR writes vCPU {s}->{t}",
              f"{hn}")
    # `ipitrace report` of each record == the live report of the same run
    live, off = (json.load(open(f"{d}/{s}.json")) for s in ("host-live", "host-offline"))
    st = [(x["name"], x["count"], x.get("p50_ns"), x.get("p99_ns")) for x in live["stages"]]
    check(st == [(x["name"], x["count"], x.get("p50_ns"), x.get("p99_ns"))
                 for x in off["stages"]] and live["ipis"] == off["ipis"],
          f"{kernel}: host: the offline report of the record equals the live one "
          f"({live['ipis']} IPIs)")
    live, off = (json.load(open(f"{d}/{s}.json")) for s in ("guest-live", "guest-offline"))
    cl = sorted((c["kind"], c["numa"], c["count"], c["p50_ns"], c["p99_ns"]) for c in live["classes"])
    check(cl == sorted((c["kind"], c["numa"], c["count"], c["p50_ns"], c["p99_ns"])
                       for c in off["classes"]),
          f"{kernel}: guest: the offline report of the record equals the live one")
    j = json.load(open(d + "/join.json"))
    clk, mt = j["clock"], j["matching"]
    # 6.1 rewrites a vCPU's TSC offset each time it is loaded: when the
    # record's offsets spread beyond what the chain allows (100k cycles),
    # the join must say so and align on the matches instead
    offs = [o for p, o in hmeta.get("vmtsc", []) if p == mt["vm_pid"]]
    spread = max(offs) - min(offs) if offs else None
    if spread is not None and spread > 100000:
        check(clk["method"] == "aligned" and not clk["tsc_chain"],
              f"{kernel}: the VM's TSC offsets spread {spread} cycles: the join "
              "aligned on the matches instead of the TSC chain", clk["method"])
    else:
        check(clk["method"] == "tsc" and clk["tsc_chain"],
              f"{kernel}: the join converted the clocks by the TSC chain "
              f"(offset spread {spread})", clk["method"])
    off = clk["offset_ns"]
    matched_g = {m["guest_index"] for m in j["ipis"]}
    inside = [i for i, r in enumerate(g) if not r["flags"] & 1 and
              (hmeta["start"] <= r["send"] + off <= hmeta["stop"] or i in matched_g)]
    check(mt["guest_ipis"] == len(inside),
          f"{kernel}: guest IPIs in the host record's span: {len(inside)}", str(mt["guest_ipis"]))
    # single-target IPIs; multicast ones are checked by check_pv()
    single = [i for i in inside if g[i]["kind"] != 1]
    nm = len(matched_g & set(single))
    rate = nm / max(1, len(single))
    check(rate >= 0.99, f"{kernel}: match rate of single-target IPIs {rate:.4f} >= 0.99 "
          f"({nm}/{len(single)}, unmatched of all kinds {mt['unmatched']})")
    ipis = j["ipis"]
    check(len(ipis) == mt["matched"], f"{kernel}: one JSON entry per matched IPI")
    bad_id = bad_neg = bad_sum = outlast = 0
    rel, halted = [], 0
    work = 0
    seen_h = set()
    for m in ipis:
        gr, hr = g[m["guest_index"]], h[m["host_index"]]
        if (gr["src"], gr["dst"], KINDS[gr["kind"]]) != (m["src"], m["dst"], m["kind"]) or \
           (hr["dst"], hr["vec"]) != (gr["dst"], gr["vec"]) or \
           hr["src"] not in (-1, gr["src"]) or m["host_index"] in seen_h:
            bad_id += 1
        seen_h.add(m["host_index"])
        # its host path (exit .. VM entry) longer than the guest latency:
        # the clocks stepped while it ran; counted, not cut (bound below)
        if m["outlasts"]:
            hr_path = hr["t"][6] - (hr["exit"] or hr["t"][0])
            outlast += hr_path > gr["lat"]
            continue
        segs = m["seg_ns"]
        bad_neg += any(v < 0 for v in segs.values())
        total = sum(segs.values())
        bad_sum += total != gr["lat"]
        rel.append(abs(total - gr["lat"]) / max(1, gr["lat"]))
        if gr["kind"] == 0 and (gr["src"], gr["dst"]) in pairs:
            work += 1
            halted += m["state"] in ("blocked", "polling")
    check(not bad_id, f"{kernel}: each match pairs a guest IPI with a distinct host IPI "
          "to the same vCPU, vector and sender", f"{bad_id} do not")
    n_out = mt["host_path_outlasts_latency"]
    check(outlast == n_out == sum(m["outlasts"] for m in ipis) and
          n_out <= 0.005 * len(ipis),
          f"{kernel}: matches whose host path outlasts the guest latency (the "
          f"clocks stepped): {n_out} <= 0.5%, each one so by the records",
          f"{outlast} by the records, {n_out} reported")
    check(not bad_neg, f"{kernel}: every segment >= 0", f"{bad_neg} IPIs with a negative one")
    check(not bad_sum, f"{kernel}: each IPI's segments sum to its guest-observed latency",
          f"{bad_sum} do not")
    check(rel and statistics.median(rel) <= 0.05,
          f"{kernel}: at the median, segments within 5% of the guest latency")
    # the other way round: the host's IPIs to halted vCPUs of the
    # workload's pairs while the guest recorded, all found by the join
    sends = [r["send"] + off for r in g]
    t0, t1 = min(sends), max(sends)
    mh = {m["host_index"] for m in ipis}
    hh = [i for i, r in enumerate(h) if r["vec"] == 0xfb and (r["src"], r["dst"]) in pairs
          and r["state"] in (0, 1) and t0 <= r["t"][0] <= t1]
    found = sum(1 for i in hh if i in mh)
    check(hh and found / len(hh) >= 0.99,
          f"{kernel}: host IPIs to halted vCPUs of the workload matched: {found}/{len(hh)}")
    print(f"figures {kernel}: workload IPIs whose target the host saw halted: {halted}/{work}")
    folded = counters.get("coalesced_sends", 0) + counters.get("sends_unserved", 0)
    check_pv(kernel, out, g, h, hmeta, j, folded,
             (t0 - 2000000, max(r["send"] + r["lat"] for r in g) + off + 2000000))
    groups = {(b["kind"], b["numa"], b["target_state"]): b for b in j["breakdown"]}
    for numa in ("same", "cross"):
        b = groups.get(("call_single", numa, "blocked"))
        check(b is not None and b["count"] > 0,
              f"{kernel}: a call_single {numa}-node breakdown to blocked vCPUs")
        if b:
            lat = b["latency_mean_ns"]
            check(abs(b["segment_means_sum_ns"] - lat) <= max(2, 0.01 * lat),
                  f"{kernel}: {numa}-node segment means add up to the mean latency",
                  f'{b["segment_means_sum_ns"]} vs {lat}')
    t = json.load(open(d + "/trace.json"))
    ev = t["traceEvents"]
    names = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
    flows = {}
    for e in ev:
        if e["ph"] in "stf":
            flows.setdefault(e["id"], []).append(e)
    ok_flows = sum(1 for f in flows.values() if f[0]["ph"] == "s" and f[-1]["ph"] == "f" and
                   all(a["ts"] <= b["ts"] for a, b in zip(f, f[1:])))
    check(len(flows) == mt["matched"] - n_out == ok_flows,
          f"{kernel}: Perfetto export: one flow per matched IPI (but those "
          "outlasting their latency), s..f in time order",
          f"{len(flows)} flows, {ok_flows} well-formed, {mt['matched']} matches, "
          f"{n_out} outlasting")
    check(all((e["pid"], e["tid"]) in names for e in ev if e["ph"] != "M") and
          all(e["dur"] >= 0 for e in ev if e["ph"] == "X"),
          f"{kernel}: Perfetto export: every event on a named track, durations >= 0")
    # slices on one track nest (the format's rule), and every flow event
    # starts a slice of its track (what it binds to)
    tracks, starts = {}, set()
    for e in ev:
        if e["ph"] == "X":
            a, b = round(e["ts"] * 1000), round((e["ts"] + e["dur"]) * 1000)
            tracks.setdefault((e["pid"], e["tid"]), []).append((a, b))
            starts.add((e["pid"], e["tid"], a))
    misnested = 0
    for v in tracks.values():
        stack = []
        for a, b in sorted(v):
            while stack and stack[-1] <= a:
                stack.pop()
            misnested += bool(stack and b > stack[-1])
            stack.append(b)
    unbound = sum(1 for e in ev if e["ph"] in "stf" and
                  (e["pid"], e["tid"], round(e["ts"] * 1000)) not in starts)
    check(not misnested and not unbound,
          f"{kernel}: Perfetto export: slices nest on every track, every flow event on a slice",
          f"{misnested} misnested, {unbound} unbound")
    print(f"figures {kernel}: match_rate={rate:.4f} matched={mt['matched']} "
          f"residual_ns={clk['residual_ns']} offset_ns={off} "
          f"chain_uncertainty_ns={clk.get('chain_uncertainty_ns')} "
          f"fit=[{clk.get('fit_lo_ns')}, {clk.get('fit_hi_ns')}]")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
