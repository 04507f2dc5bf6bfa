#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The host lab (issue 9): ipitrace --host on a real KVM that makes VM exits,
# on every machine, whether or not it has a /dev/kvm of its own.
#
# QEMU's TCG emulates AMD SVM: each Debian kernel (bookworm 6.1, bookworm-
# backports 6.12) boots with -accel tcg,thread=multi -cpu qemu64,+svm,+npt
# -smp 2 -m 1024, insmods its own irqbypass, kvm, ccp and kvm-amd modules
# and becomes a KVM host (run-guest.sh -M svm, lib.sh qemu_svm_host). In it
# (tests/qemu/host-lab.sh), round after round: ftrace's kvm:* events on,
# `ipitrace --host -j --halt --samples N` in the background, ipivm (a
# 2-vCPU KVM-API VM: vCPU0 sends --ipis x2APIC IPIs to halted vCPU1, and
# counts them itself), SIGINT, ftrace off and counted.
#
# Checked outside (tests/qemu/check-host-lab.py), in every round: ipis ==
# the VM's IPIs; the accept stage == ipis == ftrace's kvm_apic_accept_irq;
# halts/polled/blocked/invalid/grow/shrink == ftrace's kvm_vcpu_wakeup and
# kvm_halt_poll_ns; exit counts per reason == ftrace's kvm_exit, with the
# kernel's own reason names; vm_entry counted for every IPI; each IPI's
# stage timestamps in path order; nothing lost. Counts and order only
# (TCG runs ~100x slower than hardware). Also: one round per forced
# fallback rung (--force-hooks raw_tp|kprobe|tracepoint), one with unnamed
# vCPU threads (ipivm --anonymous). Rounds whose option the binaries lack
# are reported SKIP.
#
# The halt_poll_ns advisor against real settings (issue 12 item 4,
# tests/qemu/check-advisor-lab.py): the same VM workload (ADV_VM: gaps of
# 2 ms and, every 6th IPI, 30 ms, so that halts last ~3-35 ms under TCG;
# vCPU threads pinned, the tracer on the sender's CPU, the sender sleeping
# while it waits for each IPI's ack) at kvm.halt_poll_ns = 0, 2 ms, 20 ms,
# 100 ms and 0 again, each traced with `--advise`, its halt events kept
# as ftrace text; one calibration round first (100 ms, short gaps)
# measures this host's wake-up latency of a polling vCPU. The
# prediction made from the run at 0 (`ipitrace advise`) is held against
# KVM's own stats (ipivm's kvm_stats) at the other settings. The JSON of
# every round (ipitrace's, ipivm's) and the advice of the run at 0 (text,
# JSON, SVG) are kept in $IPT_QEMU_OUT.
#
# Usage: test-host-lab.sh [-k "6.1 6.12"] [-n ROUNDS] [-i IPIS] [-p] [-t SECS]
#   -k  kernels (default "6.1 6.12")
#   -n  plain rounds per boot (default 10)
#   -i  IPIs per round (default 50)
#   -p  boot the kernels concurrently (default: one after the other; each
#       host already runs two TCG threads)
#   -t  wall-clock limit per boot (default 420 s)
# Environment: IPT_QEMU_CACHE, IPT_QEMU_OUT (outputs: host-lab-<kernel>.
# {out,console.log,stderr}, JSON of each round in host-lab-json/).
# Ends with "host mode tested on: ..." and "N passed, N failed, N skipped".
set -uo pipefail

# shellcheck source=tests/qemu/lib.sh
. "$(dirname "$0")/lib.sh"

KERNELS="6.1 6.12"
PLAIN=10
IPIS=50
PARALLEL=0
TLIMIT=420
NAME=host-lab
ADV_IPIS=200
while getopts "k:n:i:pt:h" opt; do
	case $opt in
	k) KERNELS=$OPTARG ;;
	n) PLAIN=$OPTARG ;;
	i) IPIS=$OPTARG ;;
	p) PARALLEL=1 ;;
	t) TLIMIT=$OPTARG ;;
	h) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
t_start=$EPOCHREALTIME
QEMU_SKIPPED=0
ADV_PIN="--pin0 0 --pin1 1 --ack-sleep-us 100"
ADV_VM="--ipis $ADV_IPIS --short-gap-us 2000 --long-gap-us 30000 --long-every 6 $ADV_PIN"
ADV_CAL_VM="--ipis 60 --short-gap-us 2000 --long-every 0 $ADV_PIN"
ADV_TRACE="--advise --max-ns 100000000"
IPITRACE=$QEMU_REPO/build/ipitrace-static
IPIVM=$QEMU_REPO/build/ipivm-static

# ---- what the binaries can do: the one place where options turn on -------
# feature -> detected from the binaries' help text
has_opt() { "$1" --help 2>&1 | grep -q -- "$2"; }
features() {
	local f=()
	has_opt "$IPITRACE" '--exits' && f+=(exits)
	# forced rungs and hooks from module BTF come together (issue 9 item 3)
	has_opt "$IPITRACE" '--force-hooks' && f+=(force_hooks module_btf)
	has_opt "$IPIVM" '--anonymous' && f+=(ipivm_anonymous)
	has_opt "$IPITRACE" '--max-ns' && has_opt "$IPIVM" '--ack-sleep-us' &&
		f+=(advise)
	(IFS=,; echo "${f[*]}")
}
# ipitrace options of every round (after --host -j), by feature
trace_opts() { # FEATURES
	local o="--halt --samples $((ADV_IPIS > IPIS ? ADV_IPIS * 2 : IPIS * 2))"
	case ",$1," in *,exits,*) o="$o --exits" ;; esac
	echo "$o"
}
# The rounds of one boot: NAME|ipitrace options|ipivm options|halt_poll_ns|
# flags (host-lab.sh)|feature it needs (empty: none). Plain rounds come
# first.
ROUNDS_EXTRA=(
	"raw_tp|--force-hooks raw_tp||||force_hooks"
	"kprobe|--force-hooks kprobe||||force_hooks"
	"tracepoint|--force-hooks tracepoint||||force_hooks"
	"anonymous||--anonymous|||ipivm_anonymous"
	# the advisor against real kvm.halt_poll_ns settings (issue 12 item 4)
	"advcal|$ADV_TRACE|$ADV_CAL_VM|100000000|pin|advise"
	"adv0|$ADV_TRACE|$ADV_VM|0|pin,halts|advise"
	"adv2ms|$ADV_TRACE|$ADV_VM|2000000|pin,halts|advise"
	"adv20ms|$ADV_TRACE|$ADV_VM|20000000|pin,halts|advise"
	"adv100ms|$ADV_TRACE|$ADV_VM|100000000|pin,halts|advise"
	"adv0b|$ADV_TRACE|$ADV_VM|0|pin,halts|advise"
)
EVENTS="kvm:kvm_exit kvm:kvm_entry kvm:kvm_apic_ipi kvm:kvm_apic_accept_irq
	kvm:kvm_vcpu_wakeup kvm:kvm_halt_poll_ns kvm:kvm_msr kvm:kvm_inj_virq"

# shellcheck disable=SC2086
if ! qemu_setup $KERNELS >/dev/null; then
	fail "fetch kernels" "tests/qemu/fetch-kernels.sh failed"
	echo "host mode tested on: (none: no kernels)"
	echo "$QEMU_PASSED passed, $QEMU_FAILED failed, 0 skipped"; exit 1
fi
if { ! [ -x "$IPITRACE" ] || ! [ -x "$IPIVM" ]; } &&
   ! make --no-print-directory -s -C "$QEMU_REPO" static >"$QEMU_OUT/make-static.log" 2>&1; then
	fail "make static" "see $QEMU_OUT/make-static.log"
	echo "host mode tested on: (none: no static build)"
	echo "$QEMU_PASSED passed, $QEMU_FAILED failed, 0 skipped"; exit 1
fi

KVM_HOLD=$(qemu_static "$QEMU_DIR/kvm-hold.c") || {
	fail "build kvm-hold"; echo "$QEMU_PASSED passed, $QEMU_FAILED failed, 0 skipped"; exit 1; }
FEATURES=$(features)
CONF=$QEMU_OUT/$NAME.conf
ROUNDS_FILE=$QEMU_OUT/$NAME.rounds
{
	echo "TRACE_OPTS=\"$(trace_opts "$FEATURES")\""
	echo "VM_OPTS=\"--ipis $IPIS\""
	echo "EVENTS=\"$(echo "$EVENTS" | tr -s " \t\n" " ")\""
} > "$CONF"
: > "$ROUNDS_FILE"
nrounds=0
for ((i = 0; i < PLAIN; i++)); do echo "plain|||" >> "$ROUNDS_FILE"; nrounds=$((nrounds + 1)); done
for r in "${ROUNDS_EXTRA[@]}"; do
	need=${r##*|}
	if [ -n "$need" ] && [[ ",$FEATURES," != *",$need,"* ]]; then
		echo "SKIP round ${r%%|*}: the binaries lack $need"
		QEMU_SKIPPED=$((QEMU_SKIPPED + 1))
		continue
	fi
	echo "${r%|*}" >> "$ROUNDS_FILE"
	nrounds=$((nrounds + 1))
done
FILES=("$IPITRACE:/bin/ipitrace" "$IPIVM:/bin/ipivm" "$KVM_HOLD:/bin/kvm-hold"
       "$CONF:/lab.conf" "$ROUNDS_FILE:/lab.rounds")
QEMU_GUEST_OPTS+=(-t "$TLIMIT")

declare -A TESTED
run_one() { # KERNEL
	qemu_svm_host "$1" "$NAME" "$QEMU_DIR/host-lab.sh" "${FILES[@]}" \
		2> "$QEMU_OUT/$NAME-$1.stderr"
}

check_kernel() { # KERNEL
	local k=$1 res before
	qemu_guest_status "$k" "$NAME"
	[ "$GUEST_RETRIED" = 1 ] &&
		echo "     $k: $(cat "$QEMU_OUT/$NAME-$k.retried"); booted again"
	before=$QEMU_FAILED
	if [ "$GUEST_RESULT" = ok ]; then
		pass "$k: SVM host booted and ran $nrounds rounds, clean kernel log (boot ${GUEST_BOOT_S} s, run ${GUEST_TOTAL_S} s$([ "$GUEST_RETRIED" = 1 ] && echo ', second boot'))"
	else
		fail "$k: SVM host run" "result=$GUEST_RESULT rc=${GUEST_RC:-none}, console log $GUEST_LOG"
		grep -v '^guest: ' "$QEMU_OUT/$NAME-$k.stderr" 2>/dev/null | tail -n 30 | sed 's/^/     /'
	fi
	if [ -s "$GUEST_OUT" ]; then
		res=$(python3 "$QEMU_DIR/check-host-lab.py" "$GUEST_OUT" "$k" \
			--features "$FEATURES" --rounds "$nrounds" \
			--json-dir "$QEMU_OUT/$NAME-json" 2>&1)
		echo "$res"
		QEMU_PASSED=$((QEMU_PASSED + $(grep -c '^ok   ' <<<"$res")))
		QEMU_FAILED=$((QEMU_FAILED + $(grep -c '^FAIL ' <<<"$res")))
		QEMU_SKIPPED=$((QEMU_SKIPPED + $(grep -c '^SKIP ' <<<"$res")))
		if ! grep -q '^ok   ' <<<"$res" || grep -q '^Traceback' <<<"$res"; then
			fail "$k: check-host-lab.py ran"
		fi
		if [[ ",$FEATURES," == *",advise,"* ]]; then
			res=$(python3 "$QEMU_DIR/check-advisor-lab.py" "$GUEST_OUT" "$k" \
				--ipitrace "$IPITRACE" --save "$QEMU_OUT" 2>&1)
			echo "$res"
			QEMU_PASSED=$((QEMU_PASSED + $(grep -c '^ok   ' <<<"$res")))
			QEMU_FAILED=$((QEMU_FAILED + $(grep -c '^FAIL ' <<<"$res")))
			QEMU_SKIPPED=$((QEMU_SKIPPED + $(grep -c '^SKIP ' <<<"$res")))
			grep -q '^Traceback' <<<"$res" && fail "$k: check-advisor-lab.py ran"
		fi
	fi
	TESTED[$k]="QEMU SVM ${GUEST_RELEASE:-$k}"
	[ "$QEMU_FAILED" = "$before" ] || TESTED[$k]="${TESTED[$k]} (FAILED)"
	[ "$GUEST_RESULT" = ok ] || [ -s "$GUEST_OUT" ] || TESTED[$k]="${TESTED[$k]%% (*} (did not run)"
}

echo "test-host-lab: kernels $KERNELS, $nrounds rounds per boot ($PLAIN plain), $IPIS IPIs each, features: ${FEATURES:-none}, limit $TLIMIT s per boot"
for k in $KERNELS; do rm -f "$QEMU_OUT/$NAME-$k.status"; done
rm -rf "$QEMU_OUT/$NAME-json"
if [ $PARALLEL = 1 ]; then
	pids=()
	for k in $KERNELS; do run_one "$k" & pids+=($!); done
	wait "${pids[@]}"
	for k in $KERNELS; do check_kernel "$k"; done
else
	for k in $KERNELS; do run_one "$k"; check_kernel "$k"; done
fi

awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "host lab: %.1f s\n", b - a }'
echo "outputs: $QEMU_OUT/$NAME-<kernel>.{out,console.log,stderr}, $QEMU_OUT/$NAME-json/"
tested=""
for k in $KERNELS; do tested="$tested${tested:+, }${TESTED[$k]:-QEMU SVM $k (did not run)}"; done
echo "host mode tested on: $tested"
echo "$QEMU_PASSED passed, $QEMU_FAILED failed, $QEMU_SKIPPED skipped"
[ "$QEMU_FAILED" = 0 ]
