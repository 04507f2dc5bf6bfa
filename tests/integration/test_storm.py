"""A 5 s IPI storm (tests/integration/storm.py: ipiload --mode storm, the
fastest IPI rate CPU 0 can make to a busy CPU 1) traced per-event and in
aggregate mode: every function-call IPI /proc/interrupts counted on CPU 1
inside ipitrace's window is traced, or explained by a loss or counter
ipitrace reported; and none is invented. The 60 s figures: `make storm`."""
import os

from ipt import NoLeftovers, Skip, run
import storm

SECONDS = 5
SLACK = 20      # IPIs at the window edges (the CAL reads are not atomic)


def need_two_cpus():
    if os.cpu_count() < 2:
        raise Skip("needs CPU 1")
    if run(["sh", "-c", "grep -q membarrier /proc/kallsyms"]).returncode:
        raise Skip("no membarrier")


def check(mode):
    need_two_cpus()
    clean = NoLeftovers()
    r = storm.storm(mode, SECONDS)
    storm.show(r)
    c = r["counters"]
    # what a CAL IPI can become instead of a traced pair, all reported
    accounted = (r["lost_total"] + c.get("handler_without_send", 0) +
                 c.get("sends_unserved", 0))
    assert r["load"]["count"] > 1000, r["load"]
    assert r["cal_inner"] > 1000, "the storm made no IPIs: %s" % r["cal_inner"]
    assert r["cal_inner"] - r["traced"] <= accounted + SLACK, \
        (r["cal_inner"], r["traced"], accounted)
    # none invented: no more than CPU 1 took over the tracer's whole life
    assert r["traced"] <= r["cal_outer"] + SLACK, (r["traced"], r["cal_outer"])
    clean.check()


def test_storm_per_event():
    check("per-event")


def test_storm_aggregate():
    check("aggregate")
