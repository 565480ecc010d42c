#!/bin/bash
# build-images.sh - build the cached images of the real-Xen test rig.
#
# Builds, into a cache directory outside the checkout:
#   xen              the Xen 4.17 hypervisor, an ELF that QEMU's -kernel loads
#   vmlinuz          the dom0 kernel (Debian's linux-image-amd64)
#   dom0-root.cpio   dom0's root file system as one uncompressed initramfs:
#                    debootstrap'ed bookworm minbase + the Xen toolstack,
#                    xenstore-utils, fuse3, kmod, busybox, qemu-system-xen
#                    (Xen's own 9pfs backend); it also carries
#                    /rig/images/{vmlinux,domu-base.cpio} for the domUs
#   dom0-files.txt   every path in dom0-root.cpio (run.sh injects only the
#   domu-files.txt   libraries an image lacks)
#
# Nothing of the project is baked in: run.sh appends a small cpio with the
# rig's init scripts, the scenario and the project's binaries at every run,
# so a code change never rebuilds an image.
#
# The cache is keyed by a hash of this script: rerunning it is instant until
# the script changes.  Prints the image directory on stdout, logs on stderr.
#
# Environment:
#   XENSHARE_RIG_CACHE   cache directory (default /var/cache/xenshare-xen-rig)
#   XENSHARE_RIG_MIRROR  Debian mirror for debootstrap (default: the first
#                        deb.debian.org-style URI apt is configured with)
#   XENSHARE_RIG_REBUILD=1  ignore the cache
#
# Exit status: 0 built or cached; 77 a host prerequisite cannot be installed
# (run.sh turns that into a skip); 1 any other failure.

set -euo pipefail

SELF=$(readlink -f "$0")
CACHE=${XENSHARE_RIG_CACHE:-/var/cache/xenshare-xen-rig}
KEY=$(sha256sum "$SELF" | cut -c1-16)
OUT=$CACHE/images-$KEY
SUITE=bookworm
ARCH=amd64

log() { printf 'build-images: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Modules each kernel loads, by module name; their dependencies come along.
DOM0_MODULES="xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd fuse overlay loop ext4 9p 9pnet_xen"
DOMU_MODULES="xen-evtchn xen-gntalloc xen-gntdev fuse 9p 9pnet_xen"
# Packages of dom0's root beyond minbase.  qemu-system-xen is the device
# model xl starts for a domain with p9 devices: its Xen 9pfs backend
# (/usr/libexec/xen-qemu-system-i386, the path libxenlight runs).
DOM0_PACKAGES="xen-utils-4.17,xenstore-utils,fuse3,kmod,busybox,libfuse3-3,\
libxenstore4,libxenevtchn1,libxengnttab1,libxenforeignmemory1,libxencall1,\
libxendevicemodel1,libxentoollog1,libxentoolcore1,libxenhypfs1,libxenmisc4.17,\
libseccomp2,libcap2,attr,procps,qemu-system-xen"
# Tools the host needs to build and boot the images.
HOST_PACKAGES="qemu-system-x86 debootstrap busybox-static cpio kmod xz-utils"

# --- host prerequisites ----------------------------------------------------

need_host_packages() {
	local missing=() p
	for p in $HOST_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing host packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
		apt-get update >&2 || true
		apt-get install -y --no-install-recommends "${missing[@]}" >&2 || {
			log "cannot install host packages: ${missing[*]}"
			exit 77
		}
	fi
}

# --- helpers -----------------------------------------------------------------

# Download a package's .deb with apt and unpack it into a directory, without
# installing it on the host (no grub or initramfs hooks run here).
fetch_deb() { # PKG DESTDIR
	local pkg=$1 dest=$2 dl
	dl=$(mktemp -d "$WORK/dl.XXXXXX")
	chmod 755 "$dl"
	chown _apt "$dl" 2>/dev/null || true
	(cd "$dl" && apt-get download "$pkg" >&2) ||
		{ apt-get update >&2 && (cd "$dl" && apt-get download "$pkg" >&2); } ||
		die "cannot download $pkg"
	dpkg-deb -x "$dl"/*.deb "$dest"
	rm -rf "$dl"
}

# Unpack the kernel image inside a bzImage (what scripts/extract-vmlinux
# does): the boot header gives the compressed payload's offset and length.
extract_vmlinux() { # BZIMAGE OUT
	local bz=$1 out=$2 setup off len start magic dec size
	setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
	[ "$setup" -eq 0 ] && setup=4
	off=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
	start=$(((setup + 1) * 512 + off))
	magic=$(od -An -tx1 -j "$start" -N4 "$bz" | tr -d ' ')
	case $magic in
	fd377a58) dec="xz -dc" ;;
	1f8b*) dec="gzip -dc" ;;
	28b52ffd) dec="zstd -dc" ;;
	5d00*) dec="xz -dc --format=lzma" ;;
	*) die "unknown kernel payload compression (magic $magic)" ;;
	esac
	# The build appends the uncompressed size to the stream, which the
	# decompressors report as trailing garbage: judge by the output instead.
	tail -c +$((start + 1)) "$bz" | head -c "$len" | $dec >"$out" 2>/dev/null || true
	size=$(od -An -tu4 -j $((start + len - 4)) -N4 "$bz" | tr -d ' ')
	[ "$(stat -c %s "$out")" = "$size" ] ||
		die "extracted kernel has $(stat -c %s "$out") bytes, expected $size"
	[ "$(od -An -tx1 -N4 "$out" | tr -d ' ')" = 7f454c46 ] ||
		die "extracted kernel is not an ELF file"
}

# Copy modules and everything they depend on from the kernel package into a
# root, then index them there.
install_modules() { # ROOT MODULE...
	local root=$1 m line f
	shift
	for m in "$@"; do
		modprobe -d "$KPKG" -S "$KVER" --show-depends "$m" |
			while read -r line; do
				case $line in
				insmod\ *)
					f=${line#insmod }
					f=${f%% *}
					f=${f#"$KPKG"}
					mkdir -p "$root$(dirname "$f")"
					cp -n "$KPKG$f" "$root$f"
					;;
				esac
			done
	done
	cp "$KPKG/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} \
		"$root/lib/modules/$KVER/" 2>/dev/null || true
	depmod -b "$root" "$KVER"
}

# Copy a dynamically linked program of ROOT and the libraries it needs into
# DEST at the same paths.
copy_with_libs() { # ROOT PROG DEST
	local root=$1 prog=$2 dest=$3 lib
	mkdir -p "$dest$(dirname "$prog")"
	cp -a "$root$prog" "$dest$prog"
	if [ -L "$root$prog" ]; then
		prog=$(chroot "$root" readlink -f "$prog")
		mkdir -p "$dest$(dirname "$prog")"
		cp -a "$root$prog" "$dest$prog"
	fi
	chroot "$root" ldd "$prog" | awk '/=> \//{print $3} /^\t\//{print $1}' |
		while read -r lib; do
			mkdir -p "$dest$(dirname "$lib")"
			cp -L "$root$lib" "$dest$lib"
		done
}

pack_cpio() { # DIR OUT
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$2"
}

# --- main --------------------------------------------------------------------

need_host_packages

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

if [ -f "$OUT/.complete" ] && [ "${XENSHARE_RIG_REBUILD:-0}" != 1 ]; then
	echo "$OUT"
	exit 0
fi

T0=$(date +%s)
WORK=$CACHE/work-$KEY
rm -rf "$WORK" "$OUT"
mkdir -p "$WORK" "$OUT"
chmod 755 "$WORK"

# Kernel and hypervisor, unpacked from their packages.
KPKG=$WORK/kpkg
mkdir -p "$KPKG"
KIMG=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KIMG" ] || { apt-get update >&2; KIMG=$(apt-cache depends linux-image-amd64 |
	awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
[ -n "$KIMG" ] || die "cannot resolve linux-image-amd64"
log "kernel package $KIMG"
fetch_deb "$KIMG" "$KPKG"
fetch_deb xen-hypervisor-4.17-amd64 "$KPKG"
KVER=$(ls "$KPKG/lib/modules" | head -n1)
depmod -b "$KPKG" "$KVER"
zcat "$KPKG/boot/xen-4.17-amd64.gz" >"$OUT/xen"
cp "$KPKG/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
log "extracting the domU vmlinux"
extract_vmlinux "$OUT/vmlinuz" "$WORK/vmlinux"

# dom0 root.
ROOT=$WORK/dom0
MIRROR=${XENSHARE_RIG_MIRROR:-$(grep -rhoE '(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
	/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
	awk '{print $2; exit}' || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
log "debootstrap $SUITE from $MIRROR"
debootstrap --variant=minbase --arch=$ARCH --include="$DOM0_PACKAGES" \
	"$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
	tail -n 30 "$WORK/debootstrap.log" >&2
	die "debootstrap failed (log: $WORK/debootstrap.log)"
}

# Bring the root up to the point release and security fixes the host has,
# so dom0's toolstack and libraries match the hypervisor and the libraries
# the project is built against.
SECURITY_MIRROR=${XENSHARE_RIG_SECURITY_MIRROR:-${MIRROR%/}-security}
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
log "upgrading dom0's root from $SUITE-updates and $SUITE-security"
{ chroot "$ROOT" apt-get update &&
	DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get -y upgrade; } \
	>"$WORK/upgrade.log" 2>&1 || {
	tail -n 30 "$WORK/upgrade.log" >&2
	die "upgrading dom0's root failed (log: $WORK/upgrade.log)"
}
chroot "$ROOT" apt-get clean
rm -f "$ROOT/usr/sbin/policy-rc.d"

install_modules "$ROOT" $DOM0_MODULES
chroot "$ROOT" dpkg-query -W -f '${Package} ${Version}\n' >"$OUT/dom0-packages.txt"

# What boots from RAM should be small: drop what a test never reads.
rm -rf "$ROOT"/usr/share/{doc,man,info,locale,lintian,linda} \
	"$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/* \
	"$ROOT"/usr/lib/python3* "$ROOT"/usr/lib/x86_64-linux-gnu/perl* \
	"$ROOT"/usr/share/perl* "$ROOT"/usr/share/python3* \
	"$ROOT"/usr/share/zoneinfo "$ROOT"/usr/share/i18n
rm -rf "$ROOT"/usr/lib/udev/hwdb.d "$ROOT"/usr/lib/udev/hwdb.bin \
	"$ROOT"/usr/lib/xen-4.17/boot "$ROOT"/usr/lib/x86_64-linux-gnu/gconv
rm -f "$ROOT"/usr/bin/python3* "$ROOT"/usr/bin/perl*
mkdir -p "$ROOT"/{proc,sys,dev,run,tmp,rig/images,srv,mnt} \
	"$ROOT"/var/{log/xen/console,lib/xen,run}
echo xen-rig-dom0 >"$ROOT/etc/hostname"

# domU initramfs base: static busybox, the modules, xenstore-utils with
# their libraries.  The rig's /init and the project's frontend come per run.
DU=$WORK/domu
mkdir -p "$DU"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64} \
	"$DU"/{dev,proc,sys,run,tmp,mnt,rig,etc,root}
ln -s usr/bin "$DU/bin"
ln -s usr/sbin "$DU/sbin"
ln -s usr/lib "$DU/lib"
ln -s usr/lib64 "$DU/lib64"
cp /bin/busybox "$DU/usr/bin/busybox"
for a in $("$DU/usr/bin/busybox" --list); do
	[ -e "$DU/usr/bin/$a" ] || ln -s busybox "$DU/usr/bin/$a"
done
for p in /usr/bin/xenstore /usr/bin/xenstore-read /usr/bin/xenstore-write \
	/usr/bin/xenstore-ls /usr/bin/xenstore-list /usr/bin/xenstore-exists \
	/usr/bin/xenstore-rm /usr/bin/xenstore-chmod /usr/bin/xenstore-watch \
	/usr/bin/fusermount3; do
	[ -e "$ROOT$p" ] || [ -L "$ROOT$p" ] || continue
	rm -f "$DU$p"
	copy_with_libs "$ROOT" "$p" "$DU"
done
[ -e "$DU/usr/bin/xenstore-read" ] || die "xenstore-utils missing from the domU base"
chmod u+s "$DU/usr/bin/fusermount3" 2>/dev/null || true
mkdir -p "$DU/lib/modules"
install_modules "$DU" $DOMU_MODULES
echo 'root:x:0:0:root:/root:/bin/sh' >"$DU/etc/passwd"
echo 'root:x:0:' >"$DU/etc/group"
echo user_allow_other >"$DU/etc/fuse.conf"

pack_cpio "$DU" "$WORK/domu-base.cpio"
(cd "$DU" && find . -mindepth 1 | sed 's|^\.||') | LC_ALL=C sort >"$OUT/domu-files.txt"
mv "$WORK/vmlinux" "$ROOT/rig/images/vmlinux"
cp "$WORK/domu-base.cpio" "$ROOT/rig/images/domu-base.cpio"

pack_cpio "$ROOT" "$OUT/dom0-root.cpio"
(cd "$ROOT" && find . -mindepth 1 | sed 's|^\.||') | LC_ALL=C sort >"$OUT/dom0-files.txt"

echo "$KVER" >"$OUT/kernel-version"
rm -rf "$WORK"
touch "$OUT/.complete"
# Older images, built by older versions of this script, are of no more use.
for d in "$CACHE"/images-* "$CACHE"/work-*; do
	[ "$d" = "$OUT" ] || rm -rf "$d"
done
log "images built in $(($(date +%s) - T0)) s: $(du -sh "$OUT" | cut -f1) in $OUT"
echo "$OUT"
