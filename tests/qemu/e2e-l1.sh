# SPDX-License-Identifier: GPL-2.0
# L1 side of test-e2e.sh: runs in the SVM KVM host (sh /guest.sh under
# busybox). Starts `ipitrace --host --record`, boots L2 (the same Debian
# kernel, 4 vCPUs in 2 NUMA nodes, PV send-IPI on, /l2/initrd.cpio running
# e2e-l2.sh) with the machine's own QEMU on KVM, waits for L2's workload to
# finish, stops the tracer while L2 still runs (the host record samples the
# VM's kvmclock then), and prints both records. A second opinion on the PV
# path: ftrace's own kvm_hypercall events on CLOCK_MONOTONIC (the clock of
# the host record) from before the tracer starts to after it stops, printed
# as "hc SECONDS TID NR A0 A1 A2 A3" (section "l1 hypercalls"), and L2's
# QEMU threads as "task TID COMM" ("CPU N/KVM": vCPU N; QEMU names them so
# with debug-threads=on).
# Needs /bin/ipitrace, /l2/{vmlinuz,initrd.cpio}, /usr/bin/qemu-system-x86_64
# with its libraries, /usr/share/qemu-l2 (ROMs), /lib/svm-lib.sh.
. /lib/svm-lib.sh
echo "== uname"; uname -r
svm_kvm_info || { echo "== end"; echo "no /dev/kvm"; exit 1; }
echo "== held"
svm_hold_text
echo mono > $T/trace_clock
ftrace_begin kvm:kvm_hypercall
step "ipitrace --host -j --record"
if tracer_start /tmp/h.out /tmp/h.err timeout -s INT 900 ipitrace --host -j --record /tmp/h.rec; then
	echo "== host attach"; echo "attach_s=$TRACER_WAIT_S"
else
	echo "== host attach"; echo "failed"; cat /tmp/h.err; echo "== end"; exit 1
fi
step "L2 boots"
: > /tmp/l2.out
timeout 600 qemu-system-x86_64 -L /usr/share/qemu-l2 -machine pc,accel=kvm \
	-cpu "${E2E_CPU:-qemu64,+kvm-pv-ipi}" -name l2,debug-threads=on \
	-nodefaults -no-user-config -display none -no-reboot \
	-m 512 -smp 4,sockets=2,cores=2 \
	-object memory-backend-ram,id=m0,size=256M \
	-object memory-backend-ram,id=m1,size=256M \
	-numa node,nodeid=0,cpus=0-1,memdev=m0 \
	-numa node,nodeid=1,cpus=2-3,memdev=m1 \
	-kernel /l2/vmlinuz -initrd /l2/initrd.cpio \
	-append "console=ttyS0 quiet panic=-1 E2E_N=${E2E_N:-100}" \
	-serial file:/tmp/l2.log -serial file:/tmp/l2.out 2> /tmp/qemu.err &
QP=$!
t=0
while ! grep -q '^== l2 record-b64' /tmp/l2.out && [ $t -lt 6000 ]; do
	kill -0 $QP 2>/dev/null || break
	sleep 0.1; t=$((t + 1))
done
step "L2 workload done; stopping the host tracer"
# builtins only: L2 is still printing, and each fork in L1 is time its
# vCPUs do not get (a UART that stalls a while makes L2 power off early)
for t in /proc/[0-9]*/task/*; do
	read -r c < "$t/comm" 2>/dev/null || continue
	case $c in "CPU "*/KVM) echo "task ${t##*/} $c" ;; esac
done > /tmp/tasks
tracer_stop
rc=$?
echo "== host tracer"; echo "rc=$rc"; tail -n 5 /tmp/h.err
echo 0 > $T/tracing_on
wait $QP
rc=$?
echo "== qemu"; echo "rc=$rc"; tail -n 5 /tmp/qemu.err
echo "== l2 console"; tail -c 2000 /tmp/l2.log
cat /tmp/l2.out
echo "== host report"
cat /tmp/h.out
echo "== host record"
cat /tmp/h.rec
echo "== l1 hypercalls"
awk '/ kvm_hypercall: / {
	v = 0
	if (match($0, /-[0-9]+ +\[[0-9]+\]/)) { v = substr($0, RSTART + 1); sub(/ .*/, "", v) }
	for (i = 1; i <= NF && $i != "kvm_hypercall:"; i++) ;
	ts = $(i - 1); sub(/:$/, "", ts)
	print "hc", ts, v, $(i + 2), $(i + 4), $(i + 6), $(i + 8), $(i + 10)
}' $T/trace
cat /tmp/tasks
ftrace_end
echo "== end"
