#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# QEMU guest check: boot bookworm's 6.1 and bookworm-backports' 6.12 kernels
# in a 4-vCPU, 2-node TCG guest, drive a known number of function-call IPIs
# from CPU 0 to CPUs 1, 2, 3 (reads of /dev/cpu/N/cpuid, tests/qemu/cpuid-ipi.c)
# and check, outside the guest, against independent facts:
#   - the guest ran to the end with a clean kernel log
#   - NUMA topology: node0 = 0-1, node1 = 2-3
#   - /proc/interrupts CAL deltas on CPUs 1..3 >= the reads driven to them
#   - /sys/kernel/tracing/events/ipi exists on 6.12 and not on 6.1
#   - /sys/kernel/btf/vmlinux exists
#
# Usage: test-qemu.sh [-k "6.1 6.12"] [-n COUNT] [-j] [-x FILE[:DEST]]...
#   -k  kernels to test (default "6.1 6.12")
#   -n  reads per target CPU (default 1000)
#   -j  boot the kernels concurrently (one QEMU per host core)
#   -x  extra file for the initramfs (repeatable; e.g. a static ipitrace)
# Environment: IPT_QEMU_CACHE (kernel cache), IPT_QEMU_OUT (logs, default
# build/qemu), IPT_QEMU_CAL_SLACK (IPIs the CAL deltas may fall short of
# COUNT, default 0).
# Prints "N passed, N failed" last; exits non-zero on any failure.
set -uo pipefail

# shellcheck source=tests/qemu/lib.sh
. "$(dirname "$0")/lib.sh"

KERNELS="6.1 6.12"
COUNT=1000
PARALLEL=0
EXTRA=()
while getopts "k:n:jx:h" opt; do
	case $opt in
	k) KERNELS=$OPTARG ;;
	n) COUNT=$OPTARG ;;
	j) PARALLEL=1 ;;
	x) EXTRA+=("$OPTARG") ;;
	h) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
SLACK=${IPT_QEMU_CAL_SLACK:-0}
t_start=$EPOCHREALTIME

# shellcheck disable=SC2086
if ! qemu_setup $KERNELS >/dev/null; then
	fail "fetch kernels" "tests/qemu/fetch-kernels.sh failed"
	qemu_summary; exit 1
fi
if ! CPUID_IPI=$(qemu_static "$QEMU_DIR/cpuid-ipi.c"); then
	fail "build cpuid-ipi (cc -static)"
	qemu_summary; exit 1
fi

SCRIPT=$QEMU_OUT/cpuid-ipi.guest.sh
cat > "$SCRIPT" <<'EOF'
# guest side: facts first, then the workload between two /proc/interrupts
echo "== uname"; uname -r
echo "== nodes"
for n in /sys/devices/system/node/node[0-9]*; do echo "${n##*/} $(cat "$n/cpulist")"; done
echo "== features"
if [ -d /sys/kernel/tracing/events/ipi ]; then echo "ipi_events=yes"; else echo "ipi_events=no"; fi
if [ -e /sys/kernel/btf/vmlinux ]; then echo "btf=yes"; else echo "btf=no"; fi
echo "== interrupts-before"; cat /proc/interrupts
echo "== workload"
cpuid-ipi -c 0 -n "$IPT_COUNT" 1 2 3; wrc=$?
echo "== interrupts-after"; cat /proc/interrupts
exit $wrc
EOF

# CAL counts per CPU from a /proc/interrupts snapshot: "c0 c1 c2 c3"
cal_row() { awk '$1 == "CAL:" { print $2, $3, $4, $5 }'; }

check_kernel() { # KERNEL
	local k=$1 out nodes feat before after i want
	if ! qemu_guest_done "$k"; then return; fi
	out=$GUEST_OUT
	nodes=$(section nodes < "$out" | tr '\n' ' ')
	check "$k: NUMA topology node0=0-1 node1=2-3 (got: ${nodes% })" \
		[ "${nodes% }" = "node0 0-1 node1 2-3" ]
	feat=$(section features < "$out")
	case $k in
	6.1) want=no ;; *) want=yes ;;
	esac
	check "$k: events/ipi present=$want" grep -qx "ipi_events=$want" <<<"$feat"
	check "$k: /sys/kernel/btf/vmlinux present" grep -qx "btf=yes" <<<"$feat"
	read -r -a before < <(section interrupts-before < "$out" | cal_row)
	read -r -a after < <(section interrupts-after < "$out" | cal_row)
	if [ ${#before[@]} != 4 ] || [ ${#after[@]} != 4 ]; then
		fail "$k: CAL rows for 4 CPUs in /proc/interrupts"
		return
	fi
	for i in 1 2 3; do
		local d=$((after[i] - before[i]))
		local n
		n=$(section workload < "$out" | sed -n "s/^target=$i .*count=\([0-9]*\).*/\1/p")
		check "$k: cpuid-ipi did $COUNT reads on CPU $i (got ${n:-none})" [ "${n:-0}" = "$COUNT" ]
		check "$k: CAL delta on CPU $i = $d >= $COUNT$( [ "$SLACK" != 0 ] && echo " - $SLACK")" [ "$d" -ge $((COUNT - SLACK)) ]
	done
	echo "     $k: $(section workload < "$out" | awk '{ printf "%s %s  ", $1, $5 }')"
}

# run (possibly in the background) and collect
run_one() { # KERNEL
	qemu_guest "$1" cpuid-ipi "$SCRIPT" "$CPUID_IPI" ${EXTRA[@]+"${EXTRA[@]}"} \
		2> "$QEMU_OUT/cpuid-ipi-$1.stderr"
}
qemu_guest_done() { # load the status of a finished run into GUEST_*
	local k=$1
	qemu_guest_status "$k" cpuid-ipi
	BOOT_LINE[$k]="$k: ${GUEST_RELEASE:-?} boot ${GUEST_BOOT_S:-?} s (guest uptime at /init ${GUEST_INIT_S:-?} s), total ${GUEST_TOTAL_S:-?} s"
	if [ "$GUEST_RESULT" = ok ]; then
		pass "$k: guest booted and ran the workload (boot ${GUEST_BOOT_S} s)"
		return 0
	fi
	fail "$k: guest run" "result=$GUEST_RESULT rc=${GUEST_RC:-none}, log $GUEST_LOG"
	sed 's/^/     /' "$QEMU_OUT/cpuid-ipi-$k.stderr" 2>/dev/null | tail -n 30
	return 1
}

declare -A BOOT_LINE
export IPT_QEMU_OUT
QEMU_GUEST_OPTS+=(-e "IPT_COUNT=$COUNT")
for k in $KERNELS; do rm -f "$QEMU_OUT/cpuid-ipi-$k.status"; done
if [ $PARALLEL = 1 ]; then
	pids=()
	for k in $KERNELS; do run_one "$k" & pids+=($!); done
	wait "${pids[@]}"
	for k in $KERNELS; do check_kernel "$k"; done
else
	for k in $KERNELS; do run_one "$k"; check_kernel "$k"; done
fi

echo "boot timings:"
for k in $KERNELS; do echo "  ${BOOT_LINE[$k]:-$k: ?}"; done
awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "  all: %.1f s\n", b - a }'
qemu_summary
