# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
# Guest-side helpers for scripts run in the SVM KVM host (lib.sh:
# qemu_svm_host puts this file in the image as /lib/svm-lib.sh). Busybox sh.
#
#   . /lib/svm-lib.sh
#   svm_kvm_info                  # "== kvm" section: /dev/kvm, module
#                                 # parameters, BTF; returns 1 without /dev/kvm
#   svm_hold_text                 # keep kernel text still (below)
#   ftrace_begin kvm:kvm_exit ... # clear and record these events
#   ftrace_end                    # stop; print the counts (see below)
#   tracer_start OUT ERR CMD...   # start a tracer in the background and wait
#                                 # for its banner on ERR; $TRACER_PID,
#                                 # $TRACER_WAIT_S; 1 if it never came
#   tracer_stop                   # SIGINT, wait (60 s, then SIGKILL); its rc
#   up                            # uptime in seconds
#
# ftrace_end prints one "EVENT[ KEY=VALUE...] COUNT" line per distinct key:
#   kvm_exit reason=R vcpu=V        kvm_entry vcpu=V
#   kvm_apic_ipi vec=V              kvm_apic_accept_irq vec=V
#   kvm_vcpu_wakeup kind=wait|poll valid=valid|invalid
#   kvm_halt_poll_ns dir=grow|shrink vcpu=V
#   kvm_msr op=msr_write msr=830    kvm_inj_virq vec=V (decimal or 0x..)
#   any other event: its name only
# and "overrun N" (events ftrace itself lost: then counts are not exact).
#
# svm_hold_text: multi-threaded TCG sometimes runs stale code after the
# kernel patches its own text (a tracepoint's static key, a kprobe's int3)
# and the guest dies with "Oops: int3". A tracer attached and detached
# round after round patches text each time; so for the whole boot every
# tracepoint a host tracer uses (kvm:*, sched_waking/wakeup/switch, ipi:*)
# is kept enabled in ftrace behind a filter that never matches, and the
# kick functions are kept kprobed (kprobe events, the same filter, jump
# optimization off): a later attach then joins an enabled tracepoint or an
# armed kprobe and patches nothing. ftrace_begin/_end only swap filters.
# And an idle VM (/bin/kvm-hold, if in the image) stays open, so that KVM's
# shared static keys (preempt notifiers in __schedule, ...) stay on while
# test VMs come and go.
T=/sys/kernel/tracing
NEVER='common_pid < 0'

up() { read -r u _ < /proc/uptime; echo "$u"; }
step() { echo "guest: $(up) s: $*" >&2; }

kparam() { cat "/sys/module/$1/parameters/$2" 2>/dev/null || echo "?"; }

svm_kvm_info() {
	echo "== kvm"
	if [ -c /dev/kvm ]; then echo "dev_kvm=yes"; else echo "dev_kvm=no"; fi
	echo "npt=$(kparam kvm_amd npt) avic=$(kparam kvm_amd avic) nrips=$(kparam kvm_amd nrips)"
	echo "halt_poll_ns=$(kparam kvm halt_poll_ns)"
	for b in vmlinux kvm kvm_amd; do
		if [ -e "/sys/kernel/btf/$b" ]; then echo "btf_$b=yes"; else echo "btf_$b=no"; fi
	done
	echo "modules=$(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
	echo "cpus=$(grep -c ^processor /proc/cpuinfo) tsc_khz_cmdline=$(sed -n 's/.*tsc_early_khz=\([0-9]*\).*/\1/p' /proc/cmdline)"
	[ -c /dev/kvm ]
}

svm_hold_text() {
	HOLD=1
	if command -v kvm-hold >/dev/null; then
		kvm-hold > /tmp/kvm-hold.out 2>&1 &
		_t=0
		while ! grep -q held /tmp/kvm-hold.out && [ $_t -lt 100 ]; do
			sleep 0.1; _t=$((_t + 1))
		done
		echo "kvm-hold: $(cat /tmp/kvm-hold.out)"
	fi
	echo 0 > $T/tracing_on
	echo 4096 > $T/buffer_size_kb
	echo 0 > /proc/sys/debug/kprobes-optimization 2>/dev/null
	for f in kvm_vcpu_kick __kvm_vcpu_kick; do
		awk -v f=$f '$3 == f { n = 1; exit } END { exit !n }' /proc/kallsyms &&
			echo "p:ipt_hold/$f $f" >> $T/kprobe_events
	done
	for d in $T/events/kvm/* $T/events/ipi/* $T/events/ipt_hold/* \
		 $T/events/sched/sched_waking $T/events/sched/sched_wakeup \
		 $T/events/sched/sched_switch; do
		[ -e "$d/enable" ] || continue
		echo "$NEVER" > "$d/filter" && echo 1 > "$d/enable" &&
			echo "${d#"$T"/events/}"
	done | tr '\n' ' '
	echo
}

# an event's directory from "system:event"
evdir() { echo "$T/events/${1%%:*}/${1#*:}"; }

ftrace_begin() {
	echo 0 > $T/tracing_on
	[ -n "${HOLD:-}" ] || echo 4096 > $T/buffer_size_kb
	: > $T/trace
	for e in "$@"; do
		echo 0 > "$(evdir "$e")/filter"
		echo 1 > "$(evdir "$e")/enable"
	done
	FTRACE_EVENTS="$*"
	echo 1 > $T/tracing_on
}

ftrace_end() {
	echo 0 > $T/tracing_on
	awk '
	/^#/ { next }
	{
		for (i = 1; i <= NF; i++) if ($i ~ /^[a-z_0-9]+:$/ && $(i - 1) ~ /^[0-9.]+:$/) break
		if (i > NF) next
		ev = substr($i, 1, length($i) - 1)
		rest = ""
		for (j = i + 1; j <= NF; j++) rest = rest " " $j
		key = ""
		if (ev == "kvm_exit") {
			match(rest, /reason [^ ]+/); r = substr(rest, RSTART + 7, RLENGTH - 7)
			match(rest, /vcpu [0-9]+/); v = substr(rest, RSTART + 5, RLENGTH - 5)
			key = " reason=" r " vcpu=" v
		} else if (ev == "kvm_entry") {
			match(rest, /vcpu [0-9]+/); key = " vcpu=" substr(rest, RSTART + 5, RLENGTH - 5)
		} else if (ev == "kvm_apic_ipi" || ev == "kvm_apic_accept_irq") {
			match(rest, /vec [0-9]+/); key = " vec=" substr(rest, RSTART + 4, RLENGTH - 4)
		} else if (ev == "kvm_inj_virq") {
			key = " vec=" $(i + 2)	# "irq 240" (6.1) or "IRQ 0xf0" (6.12)
		} else if (ev == "kvm_vcpu_wakeup") {
			key = " kind=" $(i + 1) " valid=" $NF
		} else if (ev == "kvm_halt_poll_ns") {
			match(rest, /\((grow|shrink)/); d = substr(rest, RSTART + 1, RLENGTH - 1)
			match(rest, /vcpu [0-9]+/); v = substr(rest, RSTART + 5, RLENGTH - 5)
			key = " dir=" d " vcpu=" v
		} else if (ev == "kvm_msr") {
			key = " op=" $(i + 1) " msr=" $(i + 2)
		}
		n[ev key]++
	}
	END { for (k in n) print k, n[k] }' $T/trace | sort
	o=0
	for f in $T/per_cpu/cpu*/stats; do
		v=$(sed -n 's/^overrun: //p' "$f")
		o=$((o + ${v:-0}))
	done
	echo "overrun $o"
	# back to held (enabled, never matching), or off if never held
	for e in $FTRACE_EVENTS; do
		if [ -n "${HOLD:-}" ]; then
			echo "$NEVER" > "$(evdir "$e")/filter"
		else
			echo 0 > "$(evdir "$e")/enable"
		fi
	done
	: > $T/trace
}

tracer_start() { # OUT ERR CMD...
	_out=$1 _err=$2
	shift 2
	_t0=$(up)
	# not a stale banner: the shell opens them only once the child runs
	rm -f "$_out" "$_err"
	"$@" > "$_out" 2> "$_err" &
	TRACER_PID=$!
	_t=0
	while [ $_t -lt 1200 ]; do
		if grep -q 'Tracing' "$_err" 2>/dev/null; then
			TRACER_WAIT_S=$(awk -v a="$_t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }')
			return 0
		fi
		kill -0 "$TRACER_PID" 2>/dev/null || break
		sleep 0.1
		_t=$((_t + 1))
	done
	TRACER_WAIT_S=$(awk -v a="$_t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }')
	return 1
}

tracer_stop() {
	kill -INT "$TRACER_PID" 2>/dev/null
	_t=0
	while kill -0 "$TRACER_PID" 2>/dev/null && [ $_t -lt 600 ]; do
		sleep 0.1
		_t=$((_t + 1))
	done
	if kill -0 "$TRACER_PID" 2>/dev/null; then
		echo "guest: tracer did not exit 60 s after SIGINT, killing it" >&2
		kill -KILL "$TRACER_PID"
	fi
	wait "$TRACER_PID"
}
