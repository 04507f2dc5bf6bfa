# SPDX-License-Identifier: GPL-2.0
# L2 side of test-e2e.sh: runs in the real Linux guest that QEMU/KVM runs
# inside the SVM host (sh /guest.sh; stdout is L2's ttyS1, a file in L1).
# Every byte L2 prints is a VM exit: the record goes out gzip'ed + base64
# after the workload, and the console stays quiet.
#
# Environment (kernel command line): E2E_N calls per ipiload pair.
# Workload: ipiload's cpuid calls within and across the nodes (single
# target: ICR writes), then its multicast from CPU 0 to spinners on CPUs 1
# and 2 (with +kvm-pv-ipi one KVM_HC_SEND_IPI per call; CPU 3 is left out:
# an IPI to all other CPUs is one ICR write with the all-but-self
# shorthand, which KVM's PV send-IPI does not replace), between two reads
# of the CPUs' function call interrupt counts (/proc/interrupts CAL).
# Output sections: "== l2 info", "== l2 workload", "== l2 record-b64",
# "== l2 report" (the live guest -j report).
N=${E2E_N:-100}
up() { read -r u _ < /proc/uptime; echo "$u"; }
echo "== l2 info"
echo "release=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
for n in /sys/devices/system/node/node[0-9]*; do
	[ -e "$n/cpulist" ] && echo "${n##*/}=$(cat "$n/cpulist")"
done
ipitrace --guest -j --record /tmp/g.rec > /tmp/t.out 2> /tmp/t.err &
TP=$!
t=0
while ! grep -q Tracing /tmp/t.err 2>/dev/null && [ $t -lt 1200 ]; do
	kill -0 $TP 2>/dev/null || break
	sleep 0.1; t=$((t + 1))
done
echo "attach_s=$((t / 10)) up=$(up)"
echo "== l2 workload"
# same node: 0->1, 3->2; across: 0->2, 3->1 (node0 = 0-1, node1 = 2-3)
for p in "0 1" "0 2" "3 2" "3 1"; do
	set -- $p
	ipiload -s "$1" -d "$2" -n "$N" -g 2000 -j > /tmp/w.json 2>&1
	echo "pair=$1-$2 rc=$? $(cat /tmp/w.json)"
done
cal() { awk '$1 == "CAL:" { print $2, $3, $4, $5 }' /proc/interrupts; }
c0=$(cal)
ipiload -s 0 -m multicast -x 3 -n "$N" -g 2000 -j > /tmp/w.json 2>&1
echo "multicast rc=$? $(cat /tmp/w.json)"
echo "cal $c0 $(cal)"
kill -INT $TP
t=0
while kill -0 $TP 2>/dev/null && [ $t -lt 600 ]; do sleep 0.1; t=$((t + 1)); done
wait $TP
echo "tracer_rc=$? up=$(up)"
echo "== l2 tracer-stderr"
tail -n 5 /tmp/t.err
echo "== l2 record-b64"
gzip -c /tmp/g.rec | base64
echo "== l2 report"
cat /tmp/t.out
echo "== l2 end"
# poweroff drops what the UART has not sent yet, and under TCG every byte is
# an exit (~1-2 KB/s): wait until ttyS1's transmit count stops moving, for
# 3 s (L1 busy with its own tracer can stall the UART for a second)
p=-1
t=0
same=0
while [ $t -lt 120 ] && [ $same -lt 3 ]; do
	n=$(sed -n 's/^1:.* tx:\([0-9]*\).*/\1/p' /proc/tty/driver/serial 2>/dev/null)
	[ -n "$n" ] || { sleep 5; break; }
	if [ "$n" = "$p" ]; then same=$((same + 1)); else same=0; fi
	p=$n
	sleep 1
	t=$((t + 1))
done
