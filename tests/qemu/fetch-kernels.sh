#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the Debian kernels the QEMU integration tests boot, into a cache
# outside the repository:
#
#   $IPT_QEMU_CACHE (default /var/cache/ipitrace-qemu)
#     6.1/   bookworm's kernel           (picked via linux-image-amd64/bookworm)
#     6.12/  bookworm-backports' kernel  (picked via linux-image-amd64/bookworm-backports)
#       vmlinux     uncompressed ELF kernel (booted through QEMU's PVH entry)
#       cpuid.ko    uncompressed cpuid driver module of the same kernel
#       kvm/        uncompressed irqbypass.ko kvm.ko ccp.ko kvm-amd.ko of the
#                   same kernel (the host lab's KVM, insmod'ed in that order)
#       config      the kernel's /boot/config-*
#       VERSION     "<package> <version>"
#     apt/   private apt configuration, lists and downloaded .debs
#
# Usage: fetch-kernels.sh [--refresh] [6.1|6.12 ...]   (default: both)
#   --refresh  re-resolve the metapackages (apt-get update) even if the cache
#              is warm; without it a warm cache does no network work at all.
#
# The Debian mirror is the one the machine already uses (read from
# /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list); nothing
# system-wide is changed: apt runs with its own sources list, lists and cache
# directories under $IPT_QEMU_CACHE/apt.
set -euo pipefail

CACHE=${IPT_QEMU_CACHE:-/var/cache/ipitrace-qemu}
SUITE=${IPT_QEMU_SUITE:-bookworm}
REFRESH=0
KERNELS=()
for a in "$@"; do
	case $a in
	--refresh) REFRESH=1 ;;
	6.1|6.12) KERNELS+=("$a") ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "fetch-kernels: unknown argument '$a'" >&2; exit 2 ;;
	esac
done
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(6.1 6.12)

log() { echo "fetch-kernels: $*" >&2; }
die() { log "error: $*"; exit 1; }

# suite for each kernel label
suite_of() {
	case $1 in
	6.1) echo "$SUITE" ;;
	6.12) echo "$SUITE-backports" ;;
	esac
}

# modules kept besides cpuid.ko, "name:path in the package" in insmod order
KVM_MODULES="irqbypass:kernel/virt/lib/irqbypass.ko kvm:kernel/arch/x86/kvm/kvm.ko
	ccp:kernel/drivers/crypto/ccp/ccp.ko kvm-amd:kernel/arch/x86/kvm/kvm-amd.ko"

complete() { # cache dir of a kernel is usable
	local d=$CACHE/$1 m
	[ -s "$d/vmlinux" ] && [ -s "$d/cpuid.ko" ] && [ -s "$d/VERSION" ] || return 1
	for m in $KVM_MODULES; do [ -s "$d/kvm/${m%%:*}.ko" ] || return 1; done
}

# the package a cache dir was made from, if its .deb is still in the apt
# cache: lets a cache made before a file was added be completed offline
cached_deb() { # kernel label
	local pkg ver deb
	read -r pkg ver < "$CACHE/$1/VERSION" 2>/dev/null || return 1
	deb=$(find "$CACHE/apt/debs" -name "${pkg}_*.deb" 2>/dev/null | head -n1)
	[ -n "$deb" ] && dpkg-deb -f "$deb" Version | grep -qxF "$ver" || return 1
	echo "$pkg $ver $deb"
}

# extract-vmlinux: find an xz or zstd stream in a bzImage and decompress it
extract_vmlinux() { # bzImage out
	local img=$1 out=$2 magic tool off
	for magic in xz zstd; do
		case $magic in
		xz)   tool="xz -dc";   pat='\xfd\x37\x7a\x58\x5a\x00' ;;
		zstd) tool="zstd -dcq"; pat='\x28\xb5\x2f\xfd' ;;
		esac
		command -v "${tool%% *}" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "$pat" "$img" | cut -d: -f1); do
			# trailing data after the stream makes the tools complain: ignore,
			# accept the result if it is an ELF image
			tail -c +$((off + 1)) "$img" | $tool > "$out.tmp" 2>/dev/null || true
			if [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
				mv "$out.tmp" "$out"
				log "  vmlinux: $magic stream at offset $off"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

# unpack what the tests need from a kernel .deb into $CACHE/<kernel label>
extract_deb() { # label package version deb
	local k=$1 pkg=$2 ver=$3 deb=$4 d=$CACHE/$1 tmp kver new ko m pats=()
	for m in $KVM_MODULES; do pats+=("*/${m#*:}*"); done
	tmp=$(mktemp -d "$CACHE/.x.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# dpkg -x, restricted to the files we need (the modules tree is ~400 MB)
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' './boot/config-*' \
			'*/kernel/arch/x86/kernel/cpuid.ko*' "${pats[@]}"
	kver=${pkg#linux-image-}
	new=$tmp/out; mkdir -p "$new/kvm"
	extract_vmlinux "$tmp/boot/vmlinuz-$kver" "$new/vmlinux" ||
		die "no xz/zstd-compressed ELF kernel found in vmlinuz-$kver"
	ko=$(find "$tmp" -name 'cpuid.ko*' | head -n1)
	[ -n "$ko" ] || die "cpuid.ko not in $pkg"
	unpack_ko "$ko" "$new/cpuid.ko"
	for m in $KVM_MODULES; do
		ko=$(find "$tmp" -path "*/${m#*:}*" | head -n1)
		[ -n "$ko" ] || die "${m#*:} not in $pkg"
		unpack_ko "$ko" "$new/kvm/${m%%:*}.ko"
	done
	cp "$tmp/boot/config-$kver" "$new/config"
	echo "$kver" > "$new/KERNELRELEASE"
	echo "$pkg $ver" > "$new/VERSION"
	rm -rf "$d"; mv "$new" "$d"
	rm -rf "$tmp"; trap - EXIT
}

unpack_ko() { # module(.xz|.zst|.gz) out.ko
	case $1 in
	*.xz)  xz -dc "$1" > "$2" ;;
	*.zst) zstd -dcq "$1" > "$2" ;;
	*.gz)  gzip -dc "$1" > "$2" ;;
	*)     cp "$1" "$2" ;;
	esac
}

need=()
for k in "${KERNELS[@]}"; do
	if [ $REFRESH = 1 ] || ! complete "$k"; then need+=("$k"); fi
done
# a cache made before a file was added: complete it offline from its .deb
if [ $REFRESH = 0 ]; then
	left=()
	for k in ${need[@]+"${need[@]}"}; do
		if [ -s "$CACHE/$k/vmlinux" ] && read -r pkg ver deb < <(cached_deb "$k"); then
			log "$k: completing the cache from $(basename "$deb")"
			extract_deb "$k" "$pkg" "$ver" "$deb"
		else
			left+=("$k")
		fi
	done
	need=(${left[@]+"${left[@]}"})
fi
if [ ${#need[@]} -eq 0 ]; then
	for k in "${KERNELS[@]}"; do
		echo "$k: $(cat "$CACHE/$k/VERSION") (cached in $CACHE/$k)"
	done
	exit 0
fi

for t in apt-get apt-cache dpkg-deb; do
	command -v $t >/dev/null || die "$t not found"
done

# ---- the machine's Debian mirror URI ---------------------------------------
# First source whose suites include "$SUITE" itself (not -security/-updates).
find_mirror() {
	local f
	# deb822 .sources files
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$SUITE" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && uris != "" && enabled != "no") {
					n = split(suites, s, " ")
					for (i = 1; i <= n; i++) if (s[i] == suite) { split(uris, u, " "); print u[1]; found = 1; exit }
				}
				types = uris = suites = ""; enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:"   { $1 = ""; types = $0 }
			tolower($1) == "uris:"    { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
			tolower($1) == "suites:"  { $1 = ""; suites = $0 }
			tolower($1) == "enabled:" { enabled = tolower($2) }
			END { if (!found) flush() }
		' "$f" | head -n1
	done
	# one-line format
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v suite="$SUITE" '
			$1 != "deb" { next }
			{ i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } }
			$(i + 1) == suite { print $i; exit }
		' "$f"
	done
}
MIRROR=$(find_mirror | head -n1)
[ -n "$MIRROR" ] || die "no Debian source for suite '$SUITE' in /etc/apt/sources.list{,.d}"
MIRROR=${MIRROR%/}

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
APTDIR=$CACHE/apt
mkdir -p "$APTDIR"/{lists/partial,cache/archives/partial,sources.list.d,preferences.d,debs}
{
	signed=""
	[ -r "$KEYRING" ] && signed="[signed-by=$KEYRING] "
	echo "deb ${signed}$MIRROR $SUITE main"
	echo "deb ${signed}$MIRROR $SUITE-backports main"
} > "$APTDIR/sources.list"
touch "$APTDIR/preferences"

APT_OPTS=(
	-o "Dir::Etc::SourceList=$APTDIR/sources.list"
	-o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
	-o "Dir::Etc::Preferences=$APTDIR/preferences"
	-o "Dir::Etc::PreferencesParts=$APTDIR/preferences.d"
	-o "Dir::State::Lists=$APTDIR/lists"
	-o "Dir::Cache=$APTDIR/cache"
	-o "Dir::Cache::Archives=$APTDIR/cache/archives"
	-o "APT::Default-Release="
	-o "Acquire::Languages=none"
	-o "APT::Sandbox::User=root"
)
if [ "$(id -u)" != 0 ]; then APT_OPTS+=(-o Debug::NoLocking=1); fi

log "apt-get update (private lists in $APTDIR, suites $SUITE, $SUITE-backports)"
apt-get -q "${APT_OPTS[@]}" update >"$APTDIR/update.log" 2>&1 || {
	cat "$APTDIR/update.log" >&2; die "apt-get update failed"; }

# Package that linux-image-amd64 of a suite depends on, "name version".
resolve() {
	apt-cache "${APT_OPTS[@]}" show "linux-image-amd64/$1" 2>/dev/null |
	awk '/^Depends:/ {
		n = split(substr($0, 10), d, ",")
		for (i = 1; i <= n; i++) {
			if (match(d[i], /linux-image-[0-9][^ (]*/)) {
				name = substr(d[i], RSTART, RLENGTH)
				ver = ""
				if (match(d[i], /= [^)]*/)) ver = substr(d[i], RSTART + 2, RLENGTH - 2)
				print name, ver; exit
			}
		}
	}'
}

for k in "${need[@]}"; do
	suite=$(suite_of "$k")
	read -r pkg ver < <(resolve "$suite") || true
	[ -n "${pkg:-}" ] || die "cannot resolve linux-image-amd64/$suite"
	case $pkg in
	linux-image-$k.*|linux-image-$k-*) ;;
	*) die "linux-image-amd64/$suite depends on $pkg, expected a $k kernel" ;;
	esac
	d=$CACHE/$k
	if complete "$k" && [ "$(cat "$d/VERSION")" = "$pkg $ver" ]; then
		echo "$k: $pkg $ver (up to date in $d)"
		continue
	fi
	log "$k: $pkg $ver from $suite"
	deb=$(find "$APTDIR/debs" -name "${pkg}_*.deb" | head -n1)
	if [ -z "$deb" ] || ! dpkg-deb -f "$deb" Version | grep -qxF "$ver"; then
		find "$APTDIR/debs" -name "${pkg}_*.deb" -delete
		(cd "$APTDIR/debs" && apt-get -q "${APT_OPTS[@]}" download "$pkg=$ver") >&2 ||
			die "apt-get download $pkg=$ver failed"
		deb=$(find "$APTDIR/debs" -name "${pkg}_*.deb" | head -n1)
		[ -n "$deb" ] || die "apt-get download left no ${pkg}_*.deb"
	fi
	extract_deb "$k" "$pkg" "$ver" "$deb"
	echo "$k: fetched $pkg $ver -> $d ($(( $(stat -c %s "$d/vmlinux") / 1048576 )) MiB vmlinux)"
done
for k in "${KERNELS[@]}"; do
	case " ${need[*]} " in *" $k "*) ;; *) echo "$k: $(cat "$CACHE/$k/VERSION") (cached in $CACHE/$k)" ;; esac
done
