#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a Debian kernel in a 4-vCPU, 2-NUMA-node QEMU TCG guest with a busybox
# initramfs, run one script in it and return the script's output.
#
# Usage: run-guest.sh [options] KERNEL SCRIPT [FILE[:DEST]]...
#
#   KERNEL     6.1 | 6.12 (fetched on demand into $IPT_QEMU_CACHE by
#              fetch-kernels.sh), or a directory holding vmlinux (and
#              optionally cpuid.ko)
#   SCRIPT     host shell script, run in the guest as `sh /guest.sh`
#   FILE:DEST  extra files for the initramfs (static binaries, data);
#              default DEST /bin/<basename> (see mkinitramfs.sh)
#
# Options:
#   -o FILE    write the guest script's stdout to FILE (default: our stdout)
#   -l FILE    console log (default: $IPT_QEMU_OUT/guest-<kernel>.console.log)
#   -s FILE    write a key=value status summary (result, rc, boot_s, ...)
#   -t SECS    wall-clock limit for the whole QEMU run (default 120)
#   -a ARGS    extra kernel command line arguments
#   -e VAR=VAL environment variable for the guest script (via the kernel
#              command line: no spaces, no dot in VAR)
#   -m KO      extra kernel module to insmod (after cpuid.ko)
#   -M MACHINE numa (default): the 4-vCPU, 2-node guest below;
#              numa16: 16 vCPUs in 4 nodes (node N = CPUs 4N..4N+3,
#              256M each), otherwise like numa;
#              svm: a KVM host (the host lab): -accel tcg,thread=multi
#              -cpu qemu64,+svm,+npt -smp 2 -m 1024, tsc_early_khz=<this
#              host's TSC kHz> on the command line, and the kernel's
#              irqbypass, kvm, ccp, kvm-amd modules insmod'ed after cpuid.ko
#   -c N       vCPUs of the svm machine (default 2)
#   -q         do not copy the guest script's stderr (console) to our stderr
#   -v         stream the whole console to stderr while the guest runs
#
# Guest (-M numa): qemu-system-x86_64 -accel tcg,thread=single -smp 4,sockets=2,cores=2
# -m 1G, NUMA node0 = CPUs 0-1 (512M), node1 = CPUs 2-3 (512M), PVH boot of
# the uncompressed vmlinux, console on ttyS0 (the log), script stdout on ttyS1.
#
# Exit status: the guest script's exit status if the guest ran to the end
# with a clean kernel log; otherwise
#   201  timeout                 202  kernel panic/Oops/BUG/WARNING in the log
#   203  guest died without the end marker
#   204  setup error (missing tools, kernel, bad arguments)
# A one-line summary with the boot time goes to stderr:
#   run-guest: 6.12 (6.12.x-amd64) ok rc=0 boot 6.1 s (...) total 9.0 s log ...
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${IPT_QEMU_CACHE:-/var/cache/ipitrace-qemu}
OUTDIR=${IPT_QEMU_OUT:-$REPO/build/qemu}
QEMU=${QEMU:-qemu-system-x86_64}
# quiet: the 8250 console is slow under TCG; each printk costs boot time
BASE_CMDLINE=${IPT_QEMU_CMDLINE:-"console=ttyS0 panic=-1 quiet"}

OUT="" LOG="" STATUS="" TIMEOUT=120 EXTRA_ARGS="" QUIET=0 VERBOSE=0
MACHINE=numa SVM_CPUS=2
MODULES=()
usage() { sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while getopts "o:l:s:t:a:e:m:M:c:qvh" opt; do
	case $opt in
	o) OUT=$OPTARG ;;
	l) LOG=$OPTARG ;;
	s) STATUS=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	a) EXTRA_ARGS="$EXTRA_ARGS $OPTARG" ;;
	e) case $OPTARG in
	   *' '*|*.*=*|=*|[!A-Za-z_]*) echo "run-guest: bad -e '$OPTARG'" >&2; exit 204 ;;
	   *=*) EXTRA_ARGS="$EXTRA_ARGS $OPTARG" ;;
	   *) echo "run-guest: -e needs VAR=VAL" >&2; exit 204 ;;
	   esac ;;
	m) MODULES+=(-m "$OPTARG") ;;
	M) case $OPTARG in numa|numa16|svm) MACHINE=$OPTARG ;;
	   *) echo "run-guest: -M numa|numa16|svm" >&2; exit 204 ;; esac ;;
	c) [[ $OPTARG =~ ^[1-9][0-9]*$ ]] || { echo "run-guest: bad -c '$OPTARG'" >&2; exit 204; }
	   SVM_CPUS=$OPTARG ;;
	q) QUIET=1 ;;
	v) VERBOSE=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 204 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { usage >&2; exit 204; }
KERNEL=$1 SCRIPT=$2; shift 2

say() { echo "run-guest: $*" >&2; }
die() { say "error: $*"; exit 204; }

command -v "$QEMU" >/dev/null || die "$QEMU not found (apt-get install qemu-system-x86)"
command -v timeout >/dev/null || die "timeout (coreutils) not found"

case $KERNEL in
6.1|6.12)
	kdir=$CACHE/$KERNEL
	if ! [ -s "$kdir/vmlinux" ] || ! [ -s "$kdir/cpuid.ko" ] ||
	   { [ "$MACHINE" = svm ] && ! [ -s "$kdir/kvm/kvm-amd.ko" ]; }; then
		"$HERE/fetch-kernels.sh" "$KERNEL" >&2 || die "fetch-kernels.sh $KERNEL failed"
	fi
	label=$KERNEL ;;
*)
	[ -d "$KERNEL" ] || die "KERNEL must be 6.1, 6.12 or a directory with vmlinux"
	kdir=$(cd "$KERNEL" && pwd)
	label=$(basename "$kdir") ;;
esac
[ -s "$kdir/vmlinux" ] || die "$kdir/vmlinux missing"
release=$(cat "$kdir/KERNELRELEASE" 2>/dev/null || echo "$label")
[ -r "$SCRIPT" ] || die "script '$SCRIPT' not readable"

mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
LOG=${LOG:-$OUTDIR/guest-$label.console.log}
mkdir -p "$(dirname "$LOG")"
work=$(mktemp -d "$OUTDIR/.run-$label.XXXXXX") || die "mktemp failed"
# shellcheck disable=SC2317
cleanup() { [ -n "${tailpid:-}" ] && kill "$tailpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

kmods=()
[ -s "$kdir/cpuid.ko" ] && kmods+=(-m "$kdir/cpuid.ko")
if [ "$MACHINE" = svm ]; then
	for m in irqbypass kvm ccp kvm-amd; do
		[ -s "$kdir/kvm/$m.ko" ] || die "$kdir/kvm/$m.ko missing (fetch-kernels.sh $label)"
		kmods+=(-m "$kdir/kvm/$m.ko")
	done
	# TCG's TSC runs at this host's TSC rate; the guest's own calibration of
	# it is flaky under TCG (seen: 27 MHz), and a nested guest inherits it
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	[ -n "$khz" ] && EXTRA_ARGS="$EXTRA_ARGS tsc_early_khz=$khz"
fi
"$HERE/mkinitramfs.sh" -o "$work/initramfs.cpio" ${kmods[@]+"${kmods[@]}"} \
	${MODULES[@]+"${MODULES[@]}"} "$SCRIPT" "$@" || die "mkinitramfs.sh failed"

: > "$LOG"
: > "$work/stdout"
cmdline="$BASE_CMDLINE$EXTRA_ARGS"
# shellcheck disable=SC2054
if [ "$MACHINE" = svm ]; then
	machine_args=(-accel tcg,thread=multi -cpu qemu64,+svm,+npt
		      -smp "$SVM_CPUS" -m 1024)
elif [ "$MACHINE" = numa16 ]; then
	machine_args=(-accel tcg,thread=single -smp 16,sockets=4,cores=4 -m 1G)
	for n in 0 1 2 3; do
		machine_args+=(-object "memory-backend-ram,id=mem$n,size=256M"
			       -numa "node,nodeid=$n,cpus=$((4 * n))-$((4 * n + 3)),memdev=mem$n")
	done
else
	machine_args=(-accel tcg,thread=single -smp 4,sockets=2,cores=2 -m 1G
		-object memory-backend-ram,id=mem0,size=512M
		-object memory-backend-ram,id=mem1,size=512M
		-numa node,nodeid=0,cpus=0-1,memdev=mem0
		-numa node,nodeid=1,cpus=2-3,memdev=mem1)
fi
# shellcheck disable=SC2054
qemu_args=(
	"${machine_args[@]}"
	-kernel "$kdir/vmlinux"
	-initrd "$work/initramfs.cpio"
	-append "$cmdline"
	-nographic -nodefaults -no-user-config -no-reboot
	-serial "file:$LOG"
	-serial "file:$work/stdout"
)

if [ $VERBOSE = 1 ]; then
	tail -n +1 -f "$LOG" >&2 &
	tailpid=$!
fi

t0=$EPOCHREALTIME
timeout -k 5 "$TIMEOUT" "$QEMU" "${qemu_args[@]}" </dev/null >"$work/qemu.out" 2>&1 &
qpid=$!
tboot=""
while kill -0 $qpid 2>/dev/null; do
	if [ -z "$tboot" ] && grep -aq '@@IPT-GUEST-BEGIN' "$LOG"; then
		tboot=$EPOCHREALTIME
	fi
	sleep 0.1
done
wait $qpid
qrc=$?
t1=$EPOCHREALTIME
[ -z "$tboot" ] && grep -aq '@@IPT-GUEST-BEGIN' "$LOG" && tboot=$t1
if [ -n "${tailpid:-}" ]; then sleep 0.2; kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null; tailpid=""; fi

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
total_s=$(secs "$t0" "$t1")
boot_s=""; [ -n "$tboot" ] && boot_s=$(secs "$t0" "$tboot")

# the console log without carriage returns
tr -d '\r' < "$LOG" > "$work/console"
begin_up=$(sed -n 's/.*@@IPT-GUEST-BEGIN uptime=\([0-9.]*\)@@.*/\1/p' "$work/console" | head -n1)
endline=$(grep -a '@@IPT-GUEST-END rc=' "$work/console" | head -n1)
rc=""; end_up=""
if [ -n "$endline" ]; then
	rc=$(echo "$endline" | sed 's/.*rc=\([0-9]*\).*/\1/')
	end_up=$(echo "$endline" | sed 's/.*uptime=\([0-9.]*\)@@.*/\1/')
fi

# kernel problems anywhere in the log
problem=$(grep -aE 'Kernel panic|Oops|BUG:|WARNING:|general protection fault|Call Trace:|rcu: INFO:|self-detected stall|soft lockup|hung_task|Unable to handle|Kernel Offset' \
	"$work/console" | head -n 5)

if [ $qrc = 124 ] || [ $qrc = 137 ]; then
	result=timeout; code=201
elif [ -n "$problem" ]; then
	result=kernel-error; code=202
elif [ -z "$rc" ]; then
	result=no-end-marker; code=203
else
	code=$rc
	if [ "$rc" = 0 ]; then result=ok; else result=script-failed; fi
fi

# the script's stdout: from ttyS1, or from the console fallback markers
if grep -aq '^@@IPT-STDOUT-BEGIN@@' "$work/console"; then
	sed -n '/^@@IPT-STDOUT-BEGIN@@$/,/^@@IPT-STDOUT-END@@$/p' "$work/console" | sed '1d;$d' > "$work/stdout"
fi
if [ -n "$OUT" ]; then
	mkdir -p "$(dirname "$OUT")" && cp "$work/stdout" "$OUT"
else
	cat "$work/stdout"
fi

# the script's stderr: console lines between the markers
if [ $QUIET = 0 ] && [ $VERBOSE = 0 ]; then
	sed -n '/@@IPT-GUEST-BEGIN/,/@@IPT-GUEST-END/p' "$work/console" |
		sed '1d;/@@IPT-GUEST-END/d' >&2
fi

if [ -s "$work/qemu.out" ] && [ "$code" -ge 200 ]; then
	say "qemu said:"; sed 's/^/  /' "$work/qemu.out" >&2
fi
if [ -n "$problem" ]; then
	say "kernel log problems:"; echo "$problem" | sed 's/^/  /' >&2
fi
if [ "$code" -ge 200 ] && [ $VERBOSE = 0 ] && { [ $QUIET = 1 ] || [ -z "$begin_up" ]; }; then
	say "last console lines:"; tail -n 25 "$work/console" | sed 's/^/  /' >&2
fi

say "$label ($release) $result rc=${rc:-none} boot ${boot_s:-?} s (guest uptime at init ${begin_up:-?} s) script $( [ -n "$end_up" ] && [ -n "$begin_up" ] && secs "$begin_up" "$end_up" || echo '?') s total $total_s s log $LOG"

if [ -n "$STATUS" ]; then
	{
		echo "kernel=$label"
		echo "machine=$MACHINE"
		echo "release=$release"
		echo "result=$result"
		echo "rc=${rc:-}"
		echo "exit=$code"
		echo "boot_s=${boot_s:-}"
		echo "init_uptime_s=${begin_up:-}"
		echo "end_uptime_s=${end_up:-}"
		echo "total_s=$total_s"
		echo "log=$LOG"
		echo "cmdline=$cmdline"
	} > "$STATUS"
fi
exit "$code"
