"""Helpers for ipitrace's integration tests: run the real binary against
the real kernel, and read independent evidence (/proc/interrupts, bpftool)."""
import json
import os
import select
import signal
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IPITRACE = os.path.join(ROOT, "ipitrace")
BUILD = os.path.join(ROOT, "build")

# Prefixes of our BPF program names as the kernel keeps them (15 chars).
OUR_PROG_PREFIXES = ("tp_btf_", "raw_tp_", "fentry_send_", "kprobe_send_",
                     "tp_kvm_", "fentry_kick", "kprobe_kick")


class Skip(Exception):
    pass


def run(args, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, **kw)


def bpf_progs():
    out = run(["bpftool", "-j", "prog", "show"]).stdout
    return {p["id"]: p.get("name", "") for p in json.loads(out or "[]")}


def bpf_prog_names():
    return list(bpf_progs().values())


def our_progs():
    """ids of loaded programs named like ours"""
    return {i for i, n in bpf_progs().items()
            if n.startswith(OUR_PROG_PREFIXES)}


class NoLeftovers:
    """Asserts that no program named like ours appeared since creation
    (ids are never reused, so other tracers' programs do not count)."""

    def __init__(self):
        self.before = our_progs()

    def check(self, timeout=5):
        # The kernel frees a closed program after an RCU grace period.
        deadline = time.monotonic() + timeout
        while True:
            new = our_progs() - self.before
            if not new or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not new, "programs left attached: %s" % sorted(new)


def interrupts():
    """{row: [count per CPU]} from /proc/interrupts."""
    rows = {}
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        for line in f:
            parts = line.split()
            if not parts:
                continue
            name = parts[0].rstrip(":")
            vals = []
            for p in parts[1:1 + ncpu]:
                if not p.isdigit():
                    break
                vals.append(int(p))
            rows[name] = vals
    return rows


class Tracer:
    """ipitrace running in the background until stop()."""
    live = []

    @classmethod
    def kill_leftovers(cls):
        """After a failed test: no tracer may outlive its test."""
        for t in cls.live:
            if t.proc.poll() is None:
                t.proc.kill()
                t.proc.communicate()
        cls.live = []

    def __init__(self, args):
        self.json = "-j" in args or "--json" in args
        self.proc = subprocess.Popen([IPITRACE] + args,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.head = ""
        Tracer.live.append(self)

    def wait_attached(self, timeout=20):
        """ipitrace prints its banner once every hook is attached: on
        stderr with -j, else on stdout."""
        stream = self.proc.stderr if self.json else self.proc.stdout
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([stream], [], [], 0.2)
            if ready:
                line = stream.readline()
                if not line:
                    break
                if "Hit Ctrl-C" in line:
                    if not self.json:
                        self.head = line
                    return
            if self.proc.poll() is not None:
                break
        rc, out, err = self.stop()
        raise AssertionError("ipitrace did not attach (rc %s): %s %s"
                             % (rc, line, err))

    def stop(self, sig=signal.SIGINT, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, self.head + out, err


def ipiload(*args):
    exe = os.path.join(BUILD, "ipiload")
    r = run([exe, "--json"] + list(args), timeout=120)
    assert r.returncode == 0, "ipiload failed: %s" % r.stderr
    return json.loads(r.stdout)
