# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: GPL-2.0
# Helpers for QEMU guest tests; source it from bash:
#
#   . tests/qemu/lib.sh
#   qemu_setup                      # fetch kernels, create $QEMU_OUT
#   qemu_static tests/qemu/foo.c    # -> $QEMU_OUT/foo, statically linked
#   qemu_guest 6.12 mytest script.sh $QEMU_OUT/foo build/ipitrace:/bin/ipitrace
#       # runs the guest; results in
#       #   $GUEST_OUT     the script's stdout (file)
#       #   $GUEST_LOG     the console log (file)
#       #   $GUEST_RESULT  ok | script-failed | timeout | kernel-error | no-end-marker
#       #   $GUEST_RC      the script's exit status ("" if it did not finish)
#       #   $GUEST_BOOT_S  host seconds from QEMU start to /init
#       #   $GUEST_INIT_S  guest uptime at /init,  $GUEST_TOTAL_S  whole run
#       #   $GUEST_RELEASE the kernel release
#       # returns run-guest.sh's exit status; qemu_guest_status KERNEL NAME
#       # reloads these after a run in the background
#   qemu_svm_host 6.12 lab script.sh FILE[:DEST]...
#       # the same for a KVM host (run-guest.sh -M svm: AMD SVM under
#       # multi-threaded TCG, the kernel's kvm modules loaded, /dev/kvm);
#       # a boot that dies with "Oops: int3" (an MTTCG flake) is retried
#       # once, saying so; $GUEST_RETRIED is then 1 (qemu_guest_status
#       # reloads it too)
#   check "description" command args...   # counts a pass/fail
#   pass "description"; fail "description" "why"
#   section "name" < $GUEST_OUT   # the lines after "== name" up to the next "== "
#   qemu_summary                  # prints "N passed, N failed", returns 1 on failures
#
# Extra run-guest.sh options for every guest: QEMU_GUEST_OPTS (array),
# e.g. QEMU_GUEST_OPTS=(-t 180 -e IPT_COUNT=500).

QEMU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QEMU_REPO=$(cd "$QEMU_DIR/../.." && pwd)
export IPT_QEMU_OUT=${IPT_QEMU_OUT:-$QEMU_REPO/build/qemu}
QEMU_OUT=$IPT_QEMU_OUT
QEMU_PASSED=0
QEMU_FAILED=0
QEMU_GUEST_OPTS=(${QEMU_GUEST_OPTS[@]+"${QEMU_GUEST_OPTS[@]}"})

pass() { QEMU_PASSED=$((QEMU_PASSED + 1)); echo "ok   $1"; }
fail() { QEMU_FAILED=$((QEMU_FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
check() {
	local desc=$1; shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

qemu_setup() {
	mkdir -p "$QEMU_OUT" || return 1
	"$QEMU_DIR/fetch-kernels.sh" "$@"
}

# qemu_static SRC.c [OUT] [extra cc args...]: static build, only when stale
qemu_static() {
	local src=$1 out=${2:-$QEMU_OUT/$(basename "${1%.c}")}
	shift; [ $# -gt 0 ] && shift
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
		${CC:-cc} -static -O2 -Wall -Wextra -o "$out" "$src" "$@" || return 1
	fi
	echo "$out"
}

qemu_guest() { # KERNEL NAME SCRIPT [FILE[:DEST]]...
	local kernel=$1 name=$2 script=$3 rc
	shift 3
	rm -f "$QEMU_OUT/$name-$kernel.status"
	"$QEMU_DIR/run-guest.sh" -q ${QEMU_GUEST_OPTS[@]+"${QEMU_GUEST_OPTS[@]}"} \
		-o "$QEMU_OUT/$name-$kernel.out" -l "$QEMU_OUT/$name-$kernel.console.log" \
		-s "$QEMU_OUT/$name-$kernel.status" "$kernel" "$script" "$@"
	rc=$?
	qemu_guest_status "$kernel" "$name"
	return $rc
}

# qemu_svm_host KERNEL NAME SCRIPT [FILE[:DEST]]...: qemu_guest on the svm
# machine. QEMU_SVM_OPTS (array) adds run-guest.sh options for it alone.
# svm-lib.sh (guest helpers: KVM checks, ftrace counts, tracer start/stop)
# is in the image as /lib/svm-lib.sh.
qemu_svm_host() {
	local kernel=$1 name=$2 script=$3 rc log retried
	local saved=(${QEMU_GUEST_OPTS[@]+"${QEMU_GUEST_OPTS[@]}"})
	shift 3
	retried=$QEMU_OUT/$name-$kernel.retried
	rm -f "$retried"
	QEMU_GUEST_OPTS+=(-M svm ${QEMU_SVM_OPTS[@]+"${QEMU_SVM_OPTS[@]}"})
	qemu_guest "$kernel" "$name" "$script" "$QEMU_DIR/svm-lib.sh:/lib/svm-lib.sh" "$@"
	rc=$?
	log=$QEMU_OUT/$name-$kernel.console.log
	if [ "$GUEST_RESULT" = kernel-error ] && grep -aq 'Oops: int3' "$log"; then
		echo "qemu_svm_host: $kernel: the boot died with 'Oops: int3' (a multi-threaded TCG flake): retrying once; its log is kept as $log.int3" >&2
		mv "$log" "$log.int3"
		echo "first boot: Oops: int3, log $log.int3" > "$retried"
		qemu_guest "$kernel" "$name" "$script" "$QEMU_DIR/svm-lib.sh:/lib/svm-lib.sh" "$@"
		rc=$?
	fi
	QEMU_GUEST_OPTS=(${saved[@]+"${saved[@]}"})
	return $rc
}

# qemu_guest_status KERNEL NAME: (re)load GUEST_* of a finished run, e.g.
# after running qemu_guest in the background
qemu_guest_status() {
	local st=$QEMU_OUT/$2-$1.status
	GUEST_OUT=$QEMU_OUT/$2-$1.out
	GUEST_LOG=$QEMU_OUT/$2-$1.console.log
	GUEST_RELEASE=$(sed -n 's/^release=//p' "$st" 2>/dev/null)
	GUEST_RESULT=$(sed -n 's/^result=//p' "$st" 2>/dev/null)
	GUEST_RC=$(sed -n 's/^rc=//p' "$st" 2>/dev/null)
	GUEST_BOOT_S=$(sed -n 's/^boot_s=//p' "$st" 2>/dev/null)
	GUEST_INIT_S=$(sed -n 's/^init_uptime_s=//p' "$st" 2>/dev/null)
	GUEST_TOTAL_S=$(sed -n 's/^total_s=//p' "$st" 2>/dev/null)
	GUEST_RETRIED=0
	[ -e "$QEMU_OUT/$2-$1.retried" ] && GUEST_RETRIED=1
	: "${GUEST_RESULT:=setup-error}"
}

section() {
	awk -v s="== $1" '$0 == s { on = 1; next } /^== / { on = 0 } on'
}

qemu_summary() {
	echo "$QEMU_PASSED passed, $QEMU_FAILED failed"
	[ "$QEMU_FAILED" = 0 ]
}
