"""What the QEMU checkers share: one labelled pass/fail/skip counter that
prints a line per check and the closing 'N passed, N failed' counts."""


class Checks:
    def __init__(self, label):
        self.label = label
        self.passed = self.failed = self.skipped = 0

    def check(self, ok, desc, why=""):
        if ok:
            self.passed += 1
            print(f"ok   {self.label}: {desc}")
        else:
            self.failed += 1
            print(f"FAIL {self.label}: {desc}{': ' + why if why else ''}")
        return ok

    def skip(self, desc, why):
        self.skipped += 1
        print(f"SKIP {self.label}: {desc}: {why}")

    def info(self, text):
        print(f"     {self.label}: {text}")
