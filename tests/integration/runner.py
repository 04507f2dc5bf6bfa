#!/usr/bin/env python3
"""Runs the integration tests: every test_* function of tests/integration/test_*.py.

A test raises AssertionError (fail) or Skip (skipped, with the reason).
Prints one line per test and a closing line: N passed, N failed, N skipped.
"""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ipt  # noqa: E402


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv):
    files = argv[1:] or sorted(
        os.path.join(HERE, f) for f in os.listdir(HERE)
        if f.startswith("test_") and f.endswith(".py"))
    passed = failed = skipped = 0
    for path in files:
        mod = load(path)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            fn = getattr(mod, name)
            if not callable(fn):
                continue
            label = "%s.%s" % (mod.__name__, name)
            t0 = time.monotonic()
            try:
                fn()
            except ipt.Skip as e:
                ipt.Tracer.kill_leftovers()
                skipped += 1
                print("SKIP %s: %s" % (label, e), flush=True)
                continue
            except Exception:
                ipt.Tracer.kill_leftovers()
                failed += 1
                print("FAIL %s (%.1fs)" % (label, time.monotonic() - t0))
                traceback.print_exc(file=sys.stdout)
                sys.stdout.flush()
                continue
            passed += 1
            print("PASS %s (%.1fs)" % (label, time.monotonic() - t0),
                  flush=True)
    print("integration: %d passed, %d failed, %d skipped"
          % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
