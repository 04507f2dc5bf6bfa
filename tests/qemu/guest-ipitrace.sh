# SPDX-License-Identifier: GPL-2.0
# Guest side of test-qemu.sh (runs as `sh /guest.sh` under busybox, stdout is
# the test's data, stderr goes to the console log). Every step is bounded by a
# timeout. Sections start with "== name" lines (lib.sh: section).
#
# Environment (from the kernel command line, via run-guest.sh -e):
#   IPT_PAIRS       driven pairs SRC:DST:COUNT[,SRC:DST:COUNT...]
#                   (default 0:1:500,0:2:500,3:1:300)
#   IPT_BENCH_IPIS  --ipis for `ipitrace bench` (default 200; 0 skips it)
#   IPT_MULTICAST   membarrier multicasts from CPU 0 to busy CPUs (default 200;
#                   0 skips them)
#   IPT_TRACE       per-event (default: -j -C --callers=50) or aggregate
#                   (-j -a -C: in-kernel histograms and the BPF pair map)
# Needs /bin/ipitrace and /bin/ipiload (static builds).
PAIRS=${IPT_PAIRS:-0:1:500,0:2:500,3:1:300}
BENCH_IPIS=${IPT_BENCH_IPIS:-200}
MULTICAST=${IPT_MULTICAST:-200}
TRACE_OPTS="-j -C --callers=50"
[ "${IPT_TRACE:-}" = aggregate ] && TRACE_OPTS="-j -a -C"

up() { read -r u _ < /proc/uptime; echo "$u"; }
step() { echo "guest: $(up) s: $*" >&2; }

echo "== uname"; uname -r
echo "== nodes"
for n in /sys/devices/system/node/node[0-9]*; do echo "${n##*/} $(cat "$n/cpulist")"; done
echo "== features"
if [ -d /sys/kernel/tracing/events/ipi ]; then echo "ipi_events=yes"; else echo "ipi_events=no"; fi
if [ -d /sys/kernel/tracing/events/csd ]; then echo "csd_events=yes"; else echo "csd_events=no"; fi
if [ -e /sys/kernel/btf/vmlinux ]; then echo "btf=yes"; else echo "btf=no"; fi

step "ipitrace --guest --list-hooks"
echo "== list-hooks"
timeout 60 ipitrace --guest --list-hooks 2>&1
echo "rc=$?"

step "ipitrace --guest $TRACE_OPTS (background)"
# shellcheck disable=SC2086
ipitrace --guest $TRACE_OPTS > /tmp/trace.json 2> /tmp/trace.err &
tpid=$!
# wait for the banner (all hooks attached), at most 90 s
t=0 banner=no
while [ $t -lt 900 ]; do
	if grep -q 'Tracing IPIs' /tmp/trace.err; then banner=yes; break; fi
	kill -0 $tpid 2>/dev/null || break
	sleep 0.1
	t=$((t + 1))
done
echo "== banner"
echo "banner=$banner wait_ds=$t uptime=$(up)"

cat /proc/interrupts > /tmp/irq-before
for p in $(echo "$PAIRS" | tr ',' ' '); do
	s=${p%%:*} r=${p#*:}
	d=${r%%:*} n=${r#*:}
	step "ipiload --src $s --dst $d --count $n"
	echo "== ipiload $s $d $n"
	timeout 120 ipiload --src "$s" --dst "$d" --count "$n" --json
	echo "rc=$? uptime=$(up)"
done
if [ "$MULTICAST" != 0 ]; then
	step "ipiload --mode multicast --src 0 --count $MULTICAST"
	echo "== multicast 0 $MULTICAST"
	timeout 120 ipiload --mode multicast --src 0 --count "$MULTICAST" --json
	echo "rc=$? uptime=$(up)"
fi
cat /proc/interrupts > /tmp/irq-after

step "stop ipitrace (SIGINT)"
kill -INT $tpid 2>/dev/null
t=0
while kill -0 $tpid 2>/dev/null && [ $t -lt 300 ]; do sleep 0.1; t=$((t + 1)); done
if kill -0 $tpid 2>/dev/null; then
	echo "guest: ipitrace did not exit 30 s after SIGINT, killing it" >&2
	kill -KILL $tpid
fi
wait $tpid
trc=$?
echo "== trace-rc"; echo "$trc"
echo "== trace-json"; cat /tmp/trace.json
echo "== trace-stderr"; cat /tmp/trace.err
if [ $banner = no ] || [ $trc != 0 ]; then
	# diagnosis for the log: libbpf's messages on this kernel
	step "ipitrace -v (diagnosis)"
	echo "== trace-verbose"
	timeout 90 ipitrace --guest -v -d 1 2>&1 | tail -n 200
fi
echo "== interrupts-before"; cat /tmp/irq-before
echo "== interrupts-after"; cat /tmp/irq-after

if [ "$BENCH_IPIS" != 0 ]; then
	step "ipitrace bench -j --ipis $BENCH_IPIS"
	echo "== bench"
	timeout 150 ipitrace bench -j --ipis "$BENCH_IPIS"
	brc=$?
	echo "== bench-rc"; echo "$brc"
fi
step "done"
echo "== end"
echo "uptime=$(up)"
