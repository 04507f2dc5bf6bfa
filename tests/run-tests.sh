#!/usr/bin/env bash
# Runs every test: cmocka unit tests, integration tests on the real
# kernel, then the QEMU cross-kernel tests. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0

count() {	# add "N passed, N failed[, N skipped]" from the last such line
	local line
	line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?' "$1" | tail -n1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	set -- $line
	passed=$((passed + $1)); failed=$((failed + $3))
	[ $# -ge 6 ] && skipped=$((skipped + $5))
}

# tracefs is the independent list of tracepoints some tests compare with
if ! mountpoint -q /sys/kernel/tracing && [ "$(id -u)" = 0 ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null &&
		echo "mounted tracefs on /sys/kernel/tracing"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== unit tests"
for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	"$t" >"$log" 2>&1
	rc=$?
	p=$(grep -Eo '\[  PASSED  \] [0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n1)
	f=$(grep -Eo '\[  FAILED  \] [0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n1)
	# cmocka's skips: "[  SKIPPED ] N test(s), listed below:", then a line each
	k=$(grep -Eo '\[  SKIPPED \] [0-9]+ test' "$log" | grep -Eo '[0-9]+' | tail -n1)
	p=${p:-0} f=${f:-0} k=${k:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	[ "$f" -ne 0 ] && cat "$log"
	echo "$(basename "$t"): $p passed, $f failed, $k skipped"
	[ "$k" -ne 0 ] && grep -E '^\[  SKIPPED \] test_' "$log" | sort -u | sed 's/^/  /'
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
done

echo "== integration tests (real kernel)"
python3 tests/integration/runner.py 2>&1 | tee "$log"
count "$log"

# where host mode ran: the local /dev/kvm (integration tests), the host lab
hosts=""
if grep -q '^PASS test_host\.test_vcpu_kick' "$log"; then
	kind=?
	for m in kvm_pvm:PVM kvm_amd:SVM kvm_intel:VMX; do
		[ -d "/sys/module/${m%:*}" ] && { kind=${m#*:}; break; }
	done
	hosts="local /dev/kvm ($kind)"
elif grep -q '^FAIL test_host\.test_vcpu_kick' "$log"; then
	hosts="local /dev/kvm (FAILED)"
fi

if [ -x tests/qemu/test-qemu.sh ] && [ "${IPT_SKIP_QEMU:-0}" != 1 ]; then
	echo "== QEMU guests (other kernels, 2 NUMA nodes)"
	tests/qemu/test-qemu.sh 2>&1 | tee "$log"
	count "$log"
	echo "== host lab (KVM on emulated AMD SVM in QEMU, both kernels)"
	tests/qemu/test-host-lab.sh 2>&1 | tee "$log"
	count "$log"
	lab=$(sed -n 's/^host mode tested on: //p' "$log" | tail -n1)
	hosts="$hosts${hosts:+, }${lab:-QEMU SVM (host lab did not report)}"
	echo "== end to end (a real Linux guest in the host lab, guest and host joined)"
	tests/qemu/test-e2e.sh -k "${IPT_E2E_KERNELS:-6.12 6.1}" 2>&1 | tee "$log"
	count "$log"
fi

echo
echo "host mode tested on: ${hosts:-nothing (no /dev/kvm here and the QEMU tests skipped)}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
