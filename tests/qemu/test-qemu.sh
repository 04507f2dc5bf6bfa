#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# QEMU guest test (issue 5): ipitrace on other kernels and on two NUMA nodes.
#
# Boots bookworm's 6.1 (no ipi/csd tracepoints: the fentry/kprobe fallback)
# and bookworm-backports' 6.12 (ipi/csd tracepoints) in a 4-vCPU QEMU TCG
# guest with node0 = CPUs 0-1 and node1 = CPUs 2-3 (run-guest.sh). In each
# guest (tests/qemu/guest-ipitrace.sh): `ipitrace --guest --list-hooks`;
# `ipitrace --guest -j -C --callers=50` in the background (the workload
# starts once its banner says the hooks are attached); `ipiload` drives a
# known number of function-call IPIs per CPU pair, same node and cross node;
# SIGINT, then the JSON; /proc/interrupts before/after the workload; then
# `ipitrace bench -j` (its cross-node rows need the second node).
#
# Checked outside the guest (tests/qemu/check-ipitrace.py), against facts
# independent of ipitrace:
#   - the guest ran to the end with a clean kernel log (no panic/Oops/WARNING)
#   - NUMA topology node0=0-1 node1=2-3; ipi tracepoints absent on 6.1 and
#     present on 6.12 (tracefs)
#   - hooks: 6.1 sends via fentry:/kprobe: with csd_queue null, 6.12 via
#     ipi/ipi_send_cpu (tp_btf or raw_tp) and csd/csd_queue_cpu; the
#     --list-hooks output agrees with the traced run
#   - per driven pair: ipiload's own count == asked; cpu_pairs[].kinds.
#     call_single in [95% of it, count + 10% + 10] (the slack: background
#     IPIs on the same pair, mostly nohz idle-balance kicks from the busy
#     sender and remote wakeups, measured up to +8%); numa "same"/"cross" as
#     the VM's topology says, for every traced pair; with csd tracepoints,
#     the csd callers naming cpuid_smp_cpuid (the workload's callback) add
#     up to the cpuid reads done (-1%)
#   - lost: ring-buffer drops, overwritten pendings, full maps, out-of-range
#     CPUs all 0; recursion_misses (the kernel skipping a BPF program that
#     was already running on that CPU, e.g. an interrupt sending an IPI while
#     the send hook runs: rare, real, reported; 0-4 per run here) <= 1% of
#     the driven IPIs
#   - /proc/interrupts: CAL delta on each target >= 95% of the IPIs driven
#     to it, and per CPU the traced call IPIs agree with the CAL delta
#     within 5% + 25
#   - bench printed JSON with cross_node rows (target on the other node)
#     and same_node rows
# Then the many-vCPU guest (issue 11): 16 vCPUs in 4 NUMA nodes (node N =
# CPUs 4N..4N+3, run-guest.sh -M numa16), per-event -C --callers on 6.12
# and aggregate -a -C (the BPF pair map) on 6.1, pairs within and across
# every node ($PAIRS16) and a multicast to all 15 others, checked by the
# same script with --many: NUMA classes from the known topology, nothing
# lost, and every CPU's traced call IPIs against its CAL delta.
# Prints the per-pair counts and classifications, the hooks, the boot
# timings and the total time, and last "N passed, N failed".
#
# Usage: test-qemu.sh [-k "6.1 6.12"] [-p PAIRS] [-b N] [-s] [-t SECS] [-n]
#   -k  kernels (default "6.1 6.12"; a directory with vmlinux also works)
#   -p  driven pairs SRC:DST:COUNT,... (default 0:1:500,0:2:500,3:1:300)
#   -b  `ipitrace bench --ipis N` in the guest (default 200; 0: no bench)
#   -s  boot the kernels one after the other (default: concurrently, one
#       single-threaded QEMU per kernel, when the host has >= 2 CPUs)
#   -t  wall-clock limit per guest (default 240 s)
#   -n  no 16-vCPU guests
# Environment: IPT_QEMU_CACHE (kernel cache), IPT_QEMU_OUT (logs and
# outputs, default build/qemu: <name>-<kernel>.out / .console.log / .stderr).
# Uses build/ipitrace-static and build/ipiload-static (`make static`; built
# here if missing).
set -uo pipefail

# shellcheck source=tests/qemu/lib.sh
. "$(dirname "$0")/lib.sh"

KERNELS="6.1 6.12"
PAIRS=0:1:500,0:2:500,3:1:300
BENCH=200
PARALLEL=1
TLIMIT=240
# the topology run-guest.sh gives the guest (-numa options)
NODES=0-1:0/2-3:1
NAME=ipitrace
MANY=1
PAIRS16=0:1:200,0:6:200,5:10:200,9:14:200,15:3:200,13:12:200
NODES16=0-3:0/4-7:1/8-11:2/12-15:3
while getopts "k:p:b:st:nh" opt; do
	case $opt in
	k) KERNELS=$OPTARG ;;
	p) PAIRS=$OPTARG ;;
	b) BENCH=$OPTARG ;;
	s) PARALLEL=0 ;;
	t) TLIMIT=$OPTARG ;;
	n) MANY=0 ;;
	h) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
[ "$(nproc 2>/dev/null || echo 1)" -ge 2 ] || PARALLEL=0
t_start=$EPOCHREALTIME

if ! [[ $PAIRS =~ ^[0-3]:[0-3]:[0-9]+(,[0-3]:[0-3]:[0-9]+)*$ ]]; then
	echo "test-qemu: bad -p '$PAIRS' (SRC:DST:COUNT,... with CPUs 0-3)" >&2
	exit 2
fi

# shellcheck disable=SC2086
if ! qemu_setup $KERNELS >/dev/null; then
	fail "fetch kernels" "tests/qemu/fetch-kernels.sh failed"
	qemu_summary; exit 1
fi
# `make check` builds them first (make all unit static); build them here only
# when they are missing, e.g. for a bare `make qemu-check`
if { ! [ -x "$QEMU_REPO/build/ipitrace-static" ] || ! [ -x "$QEMU_REPO/build/ipiload-static" ]; } &&
   ! make --no-print-directory -s -C "$QEMU_REPO" static >"$QEMU_OUT/make-static.log" 2>&1; then
	fail "make static" "see $QEMU_OUT/make-static.log"
	tail -n 20 "$QEMU_OUT/make-static.log" | sed 's/^/     /'
	qemu_summary; exit 1
fi
FILES=("$QEMU_REPO/build/ipitrace-static:/bin/ipitrace"
       "$QEMU_REPO/build/ipiload-static:/bin/ipiload")

declare -A BOOT_LINE
QEMU_GUEST_OPTS+=(-t "$TLIMIT" -e "IPT_PAIRS=$PAIRS" -e "IPT_BENCH_IPIS=$BENCH")

run_one() { # KERNEL
	qemu_guest "$1" "$NAME" "$QEMU_DIR/guest-ipitrace.sh" "${FILES[@]}" \
		2> "$QEMU_OUT/$NAME-$1.stderr"
}

check_kernel() { # KERNEL
	local k=$1 label expect res
	label=$(basename "$k")
	qemu_guest_status "$label" "$NAME"
	BOOT_LINE[$k]="$label: ${GUEST_RELEASE:-?} boot ${GUEST_BOOT_S:-?} s (guest uptime at /init ${GUEST_INIT_S:-?} s), whole run ${GUEST_TOTAL_S:-?} s, $GUEST_RESULT"
	if [ "$GUEST_RESULT" = ok ]; then
		pass "$label: guest booted and ran to the end, clean kernel log (boot ${GUEST_BOOT_S} s, run ${GUEST_TOTAL_S} s)"
	else
		fail "$label: guest run" "result=$GUEST_RESULT rc=${GUEST_RC:-none}, console log $GUEST_LOG"
		sed 's/^/     /' "$QEMU_OUT/$NAME-$label.stderr" 2>/dev/null | tail -n 30
		# a guest that died early has no output worth checking
		[ -s "$GUEST_OUT" ] || return
	fi
	# the kernel itself: which tracepoints it must have
	case $label in
	6.1) expect=fallback
	     check "$label: no ipi tracepoints in tracefs" grep -qx ipi_events=no <(section features < "$GUEST_OUT") ;;
	6.12) expect=tracepoint
	      check "$label: ipi tracepoints in tracefs" grep -qx ipi_events=yes <(section features < "$GUEST_OUT") ;;
	*) expect=auto ;;
	esac
	res=$(python3 "$QEMU_DIR/check-ipitrace.py" "$GUEST_OUT" "$label" \
		--pairs "$PAIRS" --nodes "$NODES" --expect-send "$expect" 2>&1)
	echo "$res"
	QEMU_PASSED=$((QEMU_PASSED + $(grep -c '^ok   ' <<<"$res")))
	QEMU_FAILED=$((QEMU_FAILED + $(grep -c '^FAIL ' <<<"$res")))
	# the checker must have said something, and not crashed
	if ! grep -q '^\(ok\|FAIL\) ' <<<"$res" || grep -q '^Traceback' <<<"$res"; then
		fail "$label: check-ipitrace.py ran"
	fi
}

echo "test-qemu: kernels $KERNELS, pairs $PAIRS, bench --ipis $BENCH, $( [ $PARALLEL = 1 ] && echo concurrent || echo serial) guests, limit $TLIMIT s each"
for k in $KERNELS; do rm -f "$QEMU_OUT/$NAME-$(basename "$k").status"; done
if [ $PARALLEL = 1 ]; then
	pids=()
	for k in $KERNELS; do run_one "$k" & pids+=($!); done
	wait "${pids[@]}"
	for k in $KERNELS; do check_kernel "$k"; done
else
	for k in $KERNELS; do run_one "$k"; check_kernel "$k"; done
fi

# the many-vCPU guests: 6.12 per-event, 6.1 aggregate, side by side
many_one() { # KERNEL TRACE
	local saved=("${QEMU_GUEST_OPTS[@]}")
	QEMU_GUEST_OPTS+=(-M numa16 -e "IPT_PAIRS=$PAIRS16" -e IPT_BENCH_IPIS=0
			  -e IPT_MULTICAST=100 -e "IPT_TRACE=$2")
	qemu_guest "$1" "${NAME}16" "$QEMU_DIR/guest-ipitrace.sh" "${FILES[@]}" \
		2> "$QEMU_OUT/${NAME}16-$1.stderr"
	QEMU_GUEST_OPTS=("${saved[@]}")
}
many_check() { # KERNEL TRACE
	local k=$1 res
	qemu_guest_status "$k" "${NAME}16"
	BOOT_LINE[$k-16]="$k 16 vCPUs/4 nodes ($2): ${GUEST_RELEASE:-?} boot ${GUEST_BOOT_S:-?} s, whole run ${GUEST_TOTAL_S:-?} s, $GUEST_RESULT"
	if [ "$GUEST_RESULT" != ok ]; then
		fail "$k-16: guest run" "result=$GUEST_RESULT rc=${GUEST_RC:-none}, console log $GUEST_LOG"
		[ -s "$GUEST_OUT" ] || return
	fi
	res=$(python3 "$QEMU_DIR/check-ipitrace.py" "$GUEST_OUT" "$k-16vcpu-$2" \
		--pairs "$PAIRS16" --nodes "$NODES16" --many 2>&1)
	echo "$res"
	QEMU_PASSED=$((QEMU_PASSED + $(grep -c '^ok   ' <<<"$res")))
	QEMU_FAILED=$((QEMU_FAILED + $(grep -c '^FAIL ' <<<"$res")))
	grep -q '^Traceback' <<<"$res" && fail "$k-16: check-ipitrace.py ran"
}
MANY_RUNS=()
if [ $MANY = 1 ]; then
	for k in $KERNELS; do
		case $k in 6.12) MANY_RUNS+=("6.12:per-event") ;; 6.1) MANY_RUNS+=("6.1:aggregate") ;; esac
	done
fi
if [ ${#MANY_RUNS[@]} -gt 0 ]; then
	echo "test-qemu: 16 vCPUs in 4 NUMA nodes: ${MANY_RUNS[*]}, pairs $PAIRS16"
	pids=()
	for r in "${MANY_RUNS[@]}"; do
		if [ $PARALLEL = 1 ]; then many_one "${r%%:*}" "${r#*:}" & pids+=($!)
		else many_one "${r%%:*}" "${r#*:}"; fi
	done
	[ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
	for r in "${MANY_RUNS[@]}"; do many_check "${r%%:*}" "${r#*:}"; done
fi

echo "boot timings:"
for k in $KERNELS; do echo "  ${BOOT_LINE[$k]:-$k: ?}"; done
for r in "${MANY_RUNS[@]}"; do echo "  ${BOOT_LINE[${r%%:*}-16]:-${r%%:*} 16 vCPUs: ?}"; done
awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "  all: %.1f s\n", b - a }'
echo "outputs: $QEMU_OUT/$NAME-<kernel>.{out,console.log,stderr}"
qemu_summary
