# SPDX-License-Identifier: GPL-2.0
# Guest side of test-host-lab.sh: runs in the SVM KVM host (sh /guest.sh
# under busybox; stdout is the test's data, stderr the console log).
#
# /lab.conf (written by test-host-lab.sh) holds
#   TRACE_OPTS="..."   ipitrace options of every round (after --host -j)
#   VM_OPTS="..."      ipivm options of every round (after --json)
#   EVENTS="..."       ftrace events, the second opinion
# and /lab.rounds one line per round, in order:
#   NAME|EXTRA IPITRACE OPTIONS|EXTRA IPIVM OPTIONS|HALT_POLL_NS[|FLAGS]
# (HALT_POLL_NS empty: leave kvm.halt_poll_ns as it is). FLAGS, comma
# separated (the advisor rounds, issue 12):
#   pin    the tracer and everything else of the round on CPU 0, so that
#          only the VM's vCPU1 (ipivm --pin1 1) runs on CPU 1 and KVM's
#          polls there end only by a wake-up, not by another runnable task
#   halts  also print the round's halt events (kvm_vcpu_wakeup,
#          kvm_halt_poll_ns, kvm_apic_accept_irq with tgid) as ftrace text
#          for `ipitrace advise`: section "rN halts"
#
# Per round: ftrace on, `ipitrace --host -j` in the background until its
# banner, `ipivm --json`, SIGINT to ipitrace, ftrace off and counted. Output
# sections "== rN <what>" (lib.sh: section), every step under a timeout.
# Needs /bin/ipitrace, /bin/ipivm, /lib/svm-lib.sh.
. /lib/svm-lib.sh
. /lab.conf

echo "== uname"; uname -r
svm_kvm_info || { echo "== end"; echo "no /dev/kvm"; exit 1; }
HPN_DEFAULT=$(kparam kvm halt_poll_ns)

step "ipitrace --host --list-hooks"
echo "== list-hooks"
timeout 120 ipitrace --host --list-hooks 2>&1
echo "rc=$?"

step "hold kernel text still (tracepoints enabled, kick kprobed)"
echo "== held"
svm_hold_text

# the round's halt events as ftrace text (tracing already off)
dump_halts() {
	echo "== $1 halts"
	grep -E ' (kvm_vcpu_wakeup|kvm_halt_poll_ns|kvm_apic_accept_irq):' \
		/sys/kernel/tracing/trace
}

# one round: NAME TOPTS VOPTS FLAGS, sections to stdout; $VRC: ipivm's status
round_once() {
	r=$1 name=$2 topts=$3 vopts=$4 flags=,$5,
	pre=""
	case $flags in *,pin,*) pre="taskset -c 0" ;; esac
	echo "== $r round"
	echo "name=$name halt_poll_ns=$(kparam kvm halt_poll_ns)"
	echo "trace_opts=$TRACE_OPTS $topts"
	echo "vm_opts=$VM_OPTS $vopts"
	t0=$(up)
	# the halts' VM is their tgid (ipitrace advise)
	case $flags in *,halts,*) tgid=1 ;; *) tgid=0 ;; esac
	echo $tgid > /sys/kernel/tracing/options/record-tgid
	# shellcheck disable=SC2086
	ftrace_begin $EVENTS
	step "$r $name: ipitrace --host -j $TRACE_OPTS $topts"
	# shellcheck disable=SC2086
	if tracer_start /tmp/t.json /tmp/t.err $pre timeout -s INT 600 ipitrace --host -j $TRACE_OPTS $topts; then
		banner=yes
	else
		banner=no
	fi
	t1=$(up)
	step "$r $name: ipivm --json $VM_OPTS $vopts"
	# shellcheck disable=SC2086
	$pre timeout 300 ipivm --json $VM_OPTS $vopts > /tmp/vm.json 2> /tmp/vm.err
	VRC=$?
	t2=$(up)
	tracer_stop
	trc=$?
	t3=$(up)
	echo 0 > /sys/kernel/tracing/tracing_on
	case $flags in *,halts,*) dump_halts "$r" ;; esac
	echo "== $r ftrace"
	ftrace_end
	echo "== $r ipivm"; cat /tmp/vm.json
	echo "== $r ipivm-rc"; echo "$VRC"
	echo "== $r ipivm-stderr"; cat /tmp/vm.err
	echo "== $r trace-rc"; echo "$trc"
	echo "== $r trace-json"; cat /tmp/t.json
	echo "== $r trace-stderr"; cat /tmp/t.err
	echo "== $r timing"
	echo "banner=$banner attach_s=$TRACER_WAIT_S vm_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') stop_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.1f", b - a }') round_s=$(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }')"
}

n=0
while IFS='|' read -r name topts vopts hpn flags; do
	n=$((n + 1))
	if [ -n "$hpn" ]; then echo "$hpn" > /sys/module/kvm/parameters/halt_poll_ns; fi
	round_once r$n "$name" "$topts" "$vopts" "$flags" > /tmp/round.out
	if [ "$VRC" != 0 ]; then
		# the VM itself failed (under TCG, rarely, vCPU1 stalls): not a
		# tracer result; run the round once more and say so
		why="ipivm rc $VRC: $(tail -n 1 /tmp/vm.err)"
		step "r$n $name: $why; running the round again"
		round_once r$n "$name" "$topts" "$vopts" "$flags" > /tmp/round.out
		echo "== r$n retry"
		echo "first attempt: $why"
	fi
	cat /tmp/round.out
	if [ -n "$hpn" ]; then echo "$HPN_DEFAULT" > /sys/module/kvm/parameters/halt_poll_ns; fi
done < /lab.rounds
step "done"
echo "== end"
echo "rounds=$n uptime=$(up)"
