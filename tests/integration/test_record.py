"""--record and `ipitrace report` on this machine's own IPIs: the report
printed again offline from the record equals the one the live run printed
(the same IPIs, per kind and NUMA class, the same percentiles), and the
record file is the documented format."""
import json
import os
import tempfile

from ipt import IPITRACE, NoLeftovers, Tracer, ipiload, run
from test_guest import need_two_cpus

N_IPIS = 300


def test_guest_record_reported_offline():
    need_two_cpus()
    clean = NoLeftovers()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "guest.rec")
        t = Tracer(["--guest", "-j", "--record", path])
        t.wait_attached()
        ipiload("--src", "0", "--dst", "1", "--count", str(N_IPIS))
        rc, out, err = t.stop()
        assert rc == 0, "ipitrace exited %d: %s" % (rc, err)
        live = json.loads(out)
        with open(path) as f:
            lines = f.read().splitlines()
        assert lines[0] == "ipitrace-record 2 guest", lines[0]
        assert lines[-1].startswith("end "), lines[-1]
        g = [ln for ln in lines if ln.startswith("g ")]
        assert int(lines[-1].split()[1]) == len(g)
        to_cpu1 = sum(1 for ln in g if ln.split()[4] == "1" and ln.split()[5] == "0")
        assert to_cpu1 >= 0.95 * N_IPIS, (to_cpu1, N_IPIS)
        r = run([IPITRACE, "report", "-j", path])
        assert r.returncode == 0, r.stderr
        offline = json.loads(r.stdout)

        def classes(doc):
            return {(c["kind"], c["numa"]): (c["count"], c["p50_ns"], c["p99_ns"])
                    for c in doc["classes"]}
        print("  live %s; offline %s" % (classes(live), classes(offline)))
        assert classes(offline) == classes(live)
        # one byte changed: refused, with the line and the reason
        with open(path, "r+b") as f:
            f.seek(len(lines[0]) + 3)
            c = f.read(1)
            f.seek(-1, 1)
            f.write(b"x" if c != b"x" else b"y")
        r = run([IPITRACE, "report", path])
        assert r.returncode == 1 and "line " in r.stderr, (r.returncode, r.stderr)
    clean.check()
