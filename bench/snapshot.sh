#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Snapshots leave no chain behind: the read speed of a file through a
# xenshare mount, cold cache, before and after N snapshot-and-delete
# cycles of its export, and the ratio after / before (1.00: no cost).
# The export and the snapshot directory are on a fresh loop-mounted file
# system (XFS by default: reflink snapshots share the file's extents
# while they exist).  docs/benchmarks.md, docs/snapshots.md.
#
#   bench/snapshot.sh [--fs xfs|ext4|btrfs] [--size MiB] [--cycles N]
#                     [--reps N] [--out FILE]
#
# Needs root (loop mounts, drop_caches) and the daemons in build/
# (BUILD as for tests/lib.sh).  Everything it mounts or starts goes away
# when it exits (tests/lib.sh's cleanup).

set -u
export LC_ALL=C

FS=xfs
SIZE=256
CYCLES=16
REPS=3
OUT=
while (($#)); do
	case $1 in
	--fs) FS=${2:?--fs needs a type}; shift ;;
	--size) SIZE=${2:?--size needs MiB}; shift ;;
	--cycles) CYCLES=${2:?--cycles needs a number}; shift ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--out) OUT=$(realpath -m -- "${2:?--out needs a file}"); shift ;;
	-h | --help) sed -n 3,17p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--fs TYPE] [--size MiB] [--cycles N] [--reps N] [--out FILE]" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
CTL=$XS_ROOT/xenstore-scripts/xenshare-ctl
export XENSHARE_BACK=$XS_BACK_BIN

die() { echo "bench/snapshot.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (loop mounts, drop_caches)"
[ -x "$XS_BACK_BIN" ] && [ -x "$XS_FRONT_BIN" ] || die "build the daemons first (make)"
xs_init
mp=$(xs_loopfs "$FS" $((SIZE * 3 + 256)) "bench-$FS") || die "no $FS file system"
xs_pair_dirs pair
XS_EXPORT=$mp/export
if [ "$FS" = btrfs ]; then
	btrfs -q subvolume create "$XS_EXPORT" >/dev/null || die "btrfs subvolume create failed"
else
	mkdir -p "$XS_EXPORT"
fi
mkdir -p "$mp/snaps"
xs_start_back --snapshot-dir "$mp/snaps" || die "backend did not start"
xs_start_front || die "frontend did not mount"

dd if=/dev/urandom of="$XS_MNT/file" bs=1M count="$SIZE" conv=fsync status=none ||
	die "writing the file failed"

# read_mib_s: the median over REPS cold-cache reads of the file, MiB/s.
read_mib_s() {
	local i t0 t1 all=()
	for ((i = 0; i < REPS; i++)); do
		sync
		echo 3 >/proc/sys/vm/drop_caches
		t0=$(date +%s%N)
		cat "$XS_MNT/file" >/dev/null || die "reading the file failed"
		t1=$(date +%s%N)
		all+=("$(awk -v s="$SIZE" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", s / (ns / 1e9) }')")
	done
	printf '%s\n' "${all[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

before=$(read_mib_s)
method=
pause_total=0
for ((c = 1; c <= CYCLES; c++)); do
	out=$("$CTL" --local "$XS_SOCK" snapshot "cycle-$c") || die "snapshot $c: $out"
	method=$(printf '%s\n' "$out" | sed -n 's/.*taken: \([^,]*\),.*/\1/p')
	pause=$(printf '%s\n' "$out" | sed -n 's/.*held \([0-9]*\) ms.*/\1/p')
	pause_total=$((pause_total + ${pause:-0}))
	"$CTL" --local "$XS_SOCK" snapshots delete "cycle-$c" >/dev/null || die "delete $c failed"
done
after=$(read_mib_s)
ratio=$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a / b }')

printf '%-44s %10s\n' "snapshot cycles ($FS, $method, $SIZE MiB file)" ""
printf '%-44s %10s MiB/s\n' "cold read before" "$before"
printf '%-44s %10s MiB/s\n' "cold read after $CYCLES snapshot+delete cycles" "$after"
printf '%-44s %10s\n' "ratio after / before" "$ratio"
printf '%-44s %10s ms\n' "mean time the device was held" "$((pause_total / CYCLES))"
if [ -n "$OUT" ]; then
	printf '{"workload": "snapshot-cycles", "fs": "%s", "method": "%s", "size_mib": %s, "cycles": %s, "reps": %s, "read_before_mib_s": %s, "read_after_mib_s": %s, "ratio": %s, "mean_pause_ms": %s}\n' \
		"$FS" "$method" "$SIZE" "$CYCLES" "$REPS" "$before" "$after" "$ratio" "$((pause_total / CYCLES))" >"$OUT"
fi
xs_pair_stop >/dev/null 2>&1
exit 0
