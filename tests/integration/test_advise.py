# SPDX-License-Identifier: GPL-2.0
"""Integration tests for `ipitrace advise` (the halt_poll_ns advisor).

The binary runs on KVM halts recorded with ftrace in the SVM lab
(tests/fixtures/kvm-halts-*.trace); the checks count from the trace text
itself, independently of the advisor's reader and replay.
"""
import json
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET

try:
    from ipt import IPITRACE as _IPITRACE
except ImportError:     # standalone: run from the repository root
    _IPITRACE = "./ipitrace"

IPITRACE = os.environ.get("IPITRACE", _IPITRACE)
FIXTURES = os.environ.get("IPT_FIXTURES", "tests/fixtures")


def _advise(*args, check=True):
    p = subprocess.run([IPITRACE, "advise", *args], capture_output=True,
                       text=True, timeout=60)
    if check:
        assert p.returncode == 0, (p.returncode, p.stderr)
    return p


def _trace_counts(path):
    text = open(path).read()
    cap = int(re.search(r"^halt_poll_ns=(\d+)$", text, re.M).group(1))
    shrink = int(re.search(r"^shrink=(\d+)$", text, re.M).group(1))
    return {
        "cap": cap,
        "kvm": "6.1" if shrink == 0 else "6.12",
        "halts": len(re.findall(r"kvm_vcpu_wakeup: ", text)),
        "polled": len(re.findall(r"kvm_vcpu_wakeup: poll time", text)),
        "grow": len(re.findall(r"halt_poll_ns \d+ \(grow", text)),
        "shrink": len(re.findall(r"halt_poll_ns \d+ \(shrink", text)),
    }


def _check_recorded(name):
    path = os.path.join(FIXTURES, name)
    want = _trace_counts(path)
    out = _advise("-j", "--kvm", want["kvm"], "--halt-poll-ns",
                  str(want["cap"]), "--max-ns", str(want["cap"]),
                  "--blocked-ns", "100000", "--polled-ns", "10000", path)
    doc = json.loads(out.stdout)
    total = doc["groups"][0]
    assert total["vm"] is None and total["halts"] == want["halts"]
    at_cap = [s for s in total["settings"]
              if s["kind"] == "adaptive" and s["ns"] == want["cap"]]
    assert len(at_cap) == 1, total["settings"]
    s = at_cap[0]
    # replayed at the recorded setting: KVM's own outcome and window events
    # (every vCPU thread starts at window 0: the VM was made while tracing)
    assert s["wakeups"] == want["halts"]
    assert s["caught"] == want["polled"], (s, want)
    assert (s["grow"], s["shrink"]) == (want["grow"], want["shrink"]), (s, want)
    # fixed windows: CPU grows with the window, 0 costs nothing
    fixed = [x for x in total["settings"] if x["kind"] == "fixed"]
    assert fixed[0]["ns"] == 0 and fixed[0]["cores"] == 0
    assert all(a["cores"] <= b["cores"] for a, b in zip(fixed, fixed[1:]))


def test_advise_reproduces_kvm_6_1():
    _check_recorded("kvm-halts-6.1.trace")


def test_advise_reproduces_kvm_6_12():
    _check_recorded("kvm-halts-6.12.trace")


def test_advise_text_and_svg():
    path = os.path.join(FIXTURES, "kvm-halts-6.12.trace")
    with tempfile.TemporaryDirectory() as d:
        svg = os.path.join(d, "advice.svg")
        out = _advise("--kvm", "6.12", "--blocked-ns", "100000",
                      "--polled-ns", "10000", "--budget", "0.5",
                      "--svg", svg, path)
        assert "halt_poll_ns advice: %d halts" % _trace_counts(path)["halts"] \
            in out.stdout
        assert re.search(r"(recommended|NOT reached), 90%", out.stdout)
        assert "KVM default:" in out.stdout and "budget 0.5 cores:" in out.stdout
        root = ET.parse(svg).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        assert root.tag == ns + "svg"
        texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
        assert "KVM default" in texts and "target 90%" in texts
        # one marker per fixed window > 0 (circles) and adaptive cap (rects)
        assert len(list(root.iter(ns + "circle"))) >= 11
        assert len(list(root.iter(ns + "rect"))) >= 11


def test_advise_guest_idle_poll():
    periods = [(0, 30000, 1), (1, 20000, 0), (0, 500000, 1), (1, 7000, 1)]
    span = 10_000_000
    with tempfile.NamedTemporaryFile("w", suffix=".csv") as f:
        f.write("halted_ns=30000\npolling_ns=2000\nspan_ns=%d\n" % span)
        f.writelines("%d,%d,%d\n" % p for p in periods)
        f.flush()
        doc = json.loads(_advise("--guest", "-j", f.name).stdout)
    poll = [s for s in doc["settings"] if s["kind"] == "idle_poll"][0]
    # idle=poll polls every idle period whole and catches every IPI
    assert poll["poll_ns"] == sum(p[1] for p in periods)
    assert abs(poll["cores"] - sum(p[1] for p in periods) / span) < 1e-12
    assert poll["ipi_caught"] == sum(p[2] for p in periods)
    off = [s for s in doc["settings"] if s["kind"] == "off"][0]
    assert off["caught"] == 0 and off["cores"] == 0


def test_advise_rejects_bad_input():
    with tempfile.NamedTemporaryFile("w", suffix=".csv") as f:
        f.write("blocked_ns=1\npolled_ns=1\n1,0,100,50,0,1,0\n1,0,oops\n")
        f.flush()
        p = _advise(f.name, check=False)
    assert p.returncode == 1 and "line 4" in p.stderr, p.stderr
    p = _advise("--share", "150", "x", check=False)
    assert p.returncode == 2 and "--share" in p.stderr
    p = _advise(check=False)
    assert p.returncode == 2


def _kvm_params():
    d = "/sys/module/kvm/parameters"
    return {k: int(open(os.path.join(d, k)).read())
            for k in ("halt_poll_ns", "halt_poll_ns_grow",
                      "halt_poll_ns_grow_start", "halt_poll_ns_shrink")}


def _median_low(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2]


def check_vm_group(doc, vm, params):
    """One VM's advice group against the VM's own HLT count and what KVM
    did to it (polled halts, window grow/shrink from the trace)."""
    adv = doc["advice"]
    mine = [g for g in adv["groups"] if g["vm"] == vm["pid"]]
    assert len(mine) == 1, [g["vm"] for g in adv["groups"]]
    g = mine[0]
    per_vcpu = [v for v in doc["halt"]["per_vcpu"] if v["pid"] == vm["pid"]]
    # every HLT of vCPU1 that halted in KVM (one finding its IPI already
    # pending does not: 2% slack, as in test_host), and vCPU0 never halts
    assert vm["vcpu1_halts"] * 0.98 <= g["halts"] <= vm["vcpu1_halts"], \
        (g["halts"], vm["vcpu1_halts"])
    assert g["halts"] == sum(v["halts"] for v in per_vcpu)
    # the replay at the traced setting is what KVM did to this VM
    at = [s for s in g["settings"] if s["kind"] == "adaptive" and
          s["ns"] == params["halt_poll_ns"]]
    polled = sum(v["polled"] for v in per_vcpu)
    grow = sum(v["grow"] for v in per_vcpu)
    shrink = sum(v["shrink"] for v in per_vcpu)
    print("  ipivm pid %d: %d IPIs, vCPU1 %d HLTs; advisor: %d halts; KVM: "
          "polled %d grow %d shrink %d; replay at halt_poll_ns=%d: %s"
          % (vm["pid"], vm["ipis_sent"], vm["vcpu1_halts"], g["halts"],
             polled, grow, shrink, params["halt_poll_ns"],
             {k: at[0][k] for k in ("caught", "grow", "shrink", "cores")}
             if at else "not a candidate"))
    if at:
        s = at[0]
        assert s["wakeups"] == g["halts"]
        assert (s["caught"], s["grow"], s["shrink"]) == (polled, grow, shrink), \
            (s, polled, grow, shrink)


class VMStall(Exception):
    """the test VM itself stopped making progress (ipivm's own timeout)"""


def test_live_advice_on_the_local_vm():
    """The check below, once more when the VM (not the tracer) stalls: the
    local PVM /dev/kvm has left vCPU1 unscheduled past ipivm's timeout
    (seen once in ~10 runs, with ipitrace's run clean)."""
    try:
        live_advice_on_the_local_vm()
    except VMStall as e:
        print("  the VM stalled (%s): once more" % e)
        live_advice_on_the_local_vm()


def live_advice_on_the_local_vm():
    """ipitrace --host --halt --advise around the KVM-API VM: the halts it
    replays are the VM's HLTs, the setting and KVM's adaptive parameters
    are the module's, the wake-up costs are the medians of the raw stage
    timestamps by target state (or the documented defaults, said so),
    and the replay at the traced setting reproduces what KVM did."""
    from ipt import BUILD, NoLeftovers, Skip, Tracer, run
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise Skip("no /dev/kvm")
    params = _kvm_params()
    with tempfile.TemporaryDirectory() as d:
        svg = os.path.join(d, "live.svg")
        clean = NoLeftovers()
        t = Tracer(["--host", "--halt", "--advise", "-j", "--samples",
                    "5000", "--budget", "0.05", "--svg", svg])
        t.wait_attached()
        # the default 2 ms / 20 us gaps, then 20 us only (polls succeed)
        rs = [run([os.path.join(BUILD, "ipivm"), "--json", "--ipis", "300"]
                  + extra, timeout=120)
              for extra in ([], ["--long-every", "0"])]
        rc, out, err = t.stop()
        clean.check()
        assert rc == 0, err
        stalled = [r.stderr.strip() for r in rs if "not acknowledged" in r.stderr]
        if stalled:
            raise VMStall(stalled[0])
        assert all(r.returncode == 0 for r in rs), [r.stderr for r in rs]
        vms = [json.loads(r.stdout) for r in rs]
        root = ET.parse(svg).getroot()
        texts = " ".join(x.text or "" for x in root.iter())
        assert "KVM default" in texts
    doc = json.loads(out)
    adv, a = doc["advice"], doc["advice"]["advisor"]
    assert (a["traced_halt_poll_ns"], a["grow"], a["grow_start"],
            a["shrink"]) == (params["halt_poll_ns"], params["halt_poll_ns_grow"],
                             params["halt_poll_ns_grow_start"],
                             params["halt_poll_ns_shrink"]), a

    for vm in vms:
        check_vm_group(doc, vm, params)

    # costs: accept (else ICR) -> halt end of each traced IPI, by state
    for state, key, default in (("blocked", "blocked", 25000),
                                ("polling", "polled", 1500)):
        w = [x["t_ns"]["halt_end"] - (x["t_ns"]["accept"] or
                                      x["t_ns"]["icr_write"])
             for x in doc["samples"]
             if x["state"] == state and x["t_ns"]["halt_end"]]
        c = adv["costs"][key]
        if w:
            assert (c["source"], c["samples"], c["ns"]) == \
                ("measured", len(w), _median_low(w)), (state, c, len(w))
        else:
            assert (c["source"], c["ns"]) == ("default", default), c
        assert a[key + "_ns"] == c["ns"]

    g = adv["groups"][0]
    span = a["span_ns"]
    print("  advisor: %d halts of %d VMs; costs blocked %.0f ns (%s, %d), "
          "polled %.0f ns (%s, %d); halt_poll_ns=%d; recommended %s %d ns "
          "at %.4f cores"
          % (g["halts"], len(adv["groups"]) - 1, a["blocked_ns"],
             adv["costs"]["blocked"]["source"],
             adv["costs"]["blocked"]["samples"], a["polled_ns"],
             adv["costs"]["polled"]["source"],
             adv["costs"]["polled"]["samples"], a["traced_halt_poll_ns"],
             g["recommended"]["kind"], g["recommended"]["ns"],
             g["recommended"]["cores"]))
    # a setting's CPU is its replayed polling over the span (JSON has
    # cores to 6 decimals)
    for s in g["settings"] + [g["recommended"], g["kvm_default"]]:
        assert abs(s["cores"] * span - s["poll_ok_ns"] - s["poll_fail_ns"]) \
            <= 5e-7 * span + 1, s
    fixed = [s for s in g["settings"] if s["kind"] == "fixed"]
    assert fixed[0]["ns"] == 0 and fixed[0]["cores"] == 0
    assert all(x["cores"] <= y["cores"] for x, y in zip(fixed, fixed[1:]))
    assert g["within_budget"] is None or g["within_budget"]["cores"] <= 0.05
