# SPDX-License-Identifier: GPL-2.0
"""Integration tests for `ipitrace bench` and the ipiload workload.

Run from the repository root after `make`. Each test_*() raises
AssertionError on failure. The IPIs are real; timing assertions compare
within one run (cross-CPU round trip vs the local baseline), never against
absolute numbers.
"""
import glob
import json
import os
import subprocess

try:
    from ipt import IPITRACE as _IPITRACE, BUILD as _BUILD, Skip
except ImportError:     # standalone: run from the repository root
    _IPITRACE, _BUILD = "./ipitrace", "build"

    class Skip(Exception):
        pass

IPITRACE = os.environ.get("IPITRACE", _IPITRACE)
IPILOAD = os.environ.get("IPILOAD", os.path.join(_BUILD, "ipiload"))
IPIS = 2000

ROW_KEYS = {"name", "target", "state", "ipis", "total_ns", "mean_ns",
            "p50_ns", "p99_ns", "src_cpu", "dst_cpus"}
TARGETS = {"all", "same_node", "cross_node", "local"}

_bench_cache = {}


def _online_cpus():
    with open("/sys/devices/system/cpu/online") as f:
        spec = f.read().strip()
    cpus = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def _nr_nodes():
    return max(1, len(glob.glob("/sys/devices/system/node/node[0-9]*")))


def _run(args, timeout=600):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def _bench():
    if "json" not in _bench_cache:
        rc, out, err = _run([IPITRACE, "bench", "--ipis", str(IPIS), "-j"])
        assert rc == 0, "ipitrace bench failed (rc %d): %s" % (rc, err)
        try:
            _bench_cache["json"] = json.loads(out)
        except ValueError as e:
            raise AssertionError("bench -j is not JSON: %s\n%s" % (e, out))
    return _bench_cache["json"]


def _rows(doc, target, state=None, mech=None):
    return [r for r in doc["rows"] if r["target"] == target and
            (state is None or r["state"] == state) and
            (mech is None or r.get("mech") == mech)]


def _two_cpus():
    if len(_online_cpus()) < 2:
        raise Skip("needs two online CPUs")
    return True


def test_bench_json_structure():
    _two_cpus()
    doc = _bench()
    assert doc["ipis"] == IPIS, doc["ipis"]
    assert isinstance(doc["rows"], list) and doc["rows"], "no rows"
    assert isinstance(doc["notes"], list), "notes is not a list"
    for r in doc["rows"]:
        missing = ROW_KEYS - set(r)
        assert not missing, "row %s lacks %s" % (r.get("name"), missing)
        assert r["target"] in TARGETS, r["target"]
        assert r["state"] in ("idle", "busy"), r["state"]
        assert r["ipis"] == IPIS, r
        assert isinstance(r["dst_cpus"], list) and r["dst_cpus"], r
        assert r["src_cpu"] == 0, r
        assert r["total_ns"] > 0 and r["p50_ns"] > 0, r
        assert r["p50_ns"] <= r["p99_ns"], r
        # total is the sum of the per-call times: mean == total / ipis
        assert abs(r["mean_ns"] - r["total_ns"] // r["ipis"]) <= 1, r


def test_bench_rows_match_topology():
    _two_cpus()
    doc = _bench()
    others = [c for c in _online_cpus() if c != 0]
    for state in ("idle", "busy"):
        rows = _rows(doc, "all", state)
        assert rows, "no all-CPUs %s row" % state
        for r in rows:
            assert sorted(r["dst_cpus"]) == others, r
        assert _rows(doc, "same_node", state, "cpuid"), \
            "no same-node cpuid %s row" % state
    local = _rows(doc, "local", mech="cpuid")
    assert local and local[0]["dst_cpus"] == [0], local
    if _nr_nodes() == 1:
        assert not _rows(doc, "cross_node"), "cross-node row on one node"
        assert any("cross-node rows skipped" in n for n in doc["notes"]), \
            doc["notes"]


def _ipis_happened(r):
    # /proc/interrupts CAL on the target(s): the calls really sent IPIs
    cal = r.get("cal_dst", -1)
    return cal < 0 or cal * 10 >= r["ipis"] * len(r["dst_cpus"]) * 9


def test_bench_cross_cpu_slower_than_local():
    _two_cpus()
    doc = _bench()
    for mech in ("cpuid", "membarrier-cpu"):
        base = _rows(doc, "local", mech=mech)
        if not base:
            assert mech != "cpuid", "no local cpuid baseline"
            continue
        for target in ("same_node", "cross_node"):
            for r in _rows(doc, target, mech=mech):
                if mech != "cpuid" and not _ipis_happened(r):
                    continue    # busy target was preempted: no IPI sent
                assert r["p50_ns"] > base[0]["p50_ns"], \
                    "%s %s %s p50 %d <= local %d" % (
                        target, r["state"], mech, r["p50_ns"],
                        base[0]["p50_ns"])


def test_bench_text_table():
    _two_cpus()
    rc, out, err = _run([IPITRACE, "bench", "--ipis", "200",
                         "--state", "idle"])
    assert rc == 0, err
    assert "IPI type" in out and "total ns" in out and "p99 ns" in out, out
    assert "to one CPU, same NUMA node" in out, out
    assert "local CPU (no IPI)" in out, out
    if _nr_nodes() > 1:
        assert "to one CPU, other NUMA node" in out, out
    else:
        assert "notes:" in out and "cross-node rows skipped" in out, out


def test_bench_bad_arguments():
    for args in (["--src", "99999"], ["--state", "sometimes"],
                 ["--ipis", "0"], ["--targets", "0"]):
        rc, out, err = _run([IPITRACE, "bench"] + args, timeout=60)
        assert rc != 0, "bench %s succeeded" % args
        assert "ipitrace bench:" in err, err
    # an unknown option is one line naming it, not the whole usage
    rc, out, err = _run([IPITRACE, "bench", "--foo"], timeout=30)
    assert rc == 2 and err.strip().splitlines() == [
        "ipitrace bench: unknown option '--foo' (see ipitrace bench -h)"], err


def _cal(cpu):
    with open("/proc/interrupts") as f:
        cols = f.readline().split()
        for line in f:
            parts = line.split()
            if parts and parts[0] == "CAL:":
                return int(parts[1 + cols.index("CPU%d" % cpu)])
    return None


def test_ipiload_counts_and_json():
    _two_cpus()
    dst = 1 if 1 in _online_cpus() else _online_cpus()[-1]
    before = _cal(dst)
    rc, out, err = _run([IPILOAD, "--count", "500", "--dst", str(dst),
                         "--json"], timeout=120)
    after = _cal(dst)
    assert rc == 0, err
    doc = json.loads(out)
    for k in ("mode", "src", "dst", "count", "elapsed_ns", "rtt_p50_ns",
              "rtt_mean_ns", "rtt_p99_ns"):
        assert k in doc, "ipiload JSON lacks %s" % k
    assert doc["mode"] == "cpuid" and doc["count"] == 500, doc
    assert doc["src"] == 0 and doc["dst"] == dst, doc
    assert 0 < doc["rtt_p50_ns"] <= doc["rtt_p99_ns"], doc
    if before is not None and after is not None:
        # every call is a function-call IPI to dst; allow a few skipped
        assert after - before >= 450, "CAL on CPU %d grew by %d" % (
            dst, after - before)


def test_ipiload_bad_cpu():
    rc, out, err = _run([IPILOAD, "--dst", "99999", "--count", "1"],
                        timeout=30)
    assert rc != 0 and "not an online CPU" in err, (rc, err)
