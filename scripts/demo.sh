#!/bin/bash
# Serve a demo host directory and mount it through the whole path:
# xenshare-front (FUSE) -> rings over the local transport -> xenshare-back
# -> the host directory.  Installs dependencies and builds first.
#
#   scripts/demo.sh            mount, show a short tour, stay mounted
#                              until Ctrl-C
#   scripts/demo.sh --once     mount, show the tour, unmount, exit
#   DEMO_DIR=/path ...         where the export, mountpoint and socket go
#                              (default /tmp/xenshare-demo)
#   DEMO_ARGS="--mode ro"      extra xenshare-back options (policy)
set -euo pipefail
cd "$(dirname "$0")/.."

once=0
[ "${1:-}" = "--once" ] && once=1
DEMO_DIR=${DEMO_DIR:-/tmp/xenshare-demo}
EXPORT=$DEMO_DIR/export
MNT=$DEMO_DIR/mnt
SOCK=$DEMO_DIR/back.sock

scripts/install-deps.sh
make -j2 >/dev/null

mkdir -p "$EXPORT" "$MNT"
if [ ! -e "$EXPORT/hello.txt" ]; then
	echo "This file lives in the host directory $EXPORT." >"$EXPORT/hello.txt"
	mkdir -p "$EXPORT/docs"
	cp README.md "$EXPORT/docs/"
fi

fusermount3 -u "$MNT" 2>/dev/null || true
back_pid=""
cleanup() {
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	[ -n "$back_pid" ] && kill "$back_pid" 2>/dev/null && wait "$back_pid" 2>/dev/null
	rm -f "$SOCK"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

rm -f "$SOCK"
# shellcheck disable=SC2086
build/xenshare-back --local "$SOCK" "$EXPORT" -f ${DEMO_ARGS:-} &
back_pid=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
build/xenshare-front --local "$SOCK" "$MNT"

echo "== mounted: $(grep " $MNT " /proc/self/mounts)"
echo "== ls -la $MNT"
ls -la "$MNT"
echo "== cat $MNT/hello.txt"
cat "$MNT/hello.txt"
echo "== df -h $MNT"
df -h "$MNT"
if touch "$MNT/.probe" 2>/dev/null; then
	rm -f "$MNT/.probe"
	date >"$MNT/written-through-the-mount.txt"
	echo "== written on the mount, seen in the host directory:"
	ls -l "$EXPORT/written-through-the-mount.txt"
fi
if ((once)); then
	echo "== unmounting"
	exit 0
fi
echo "== $EXPORT is mounted at $MNT; press Ctrl-C to unmount and stop"
wait "$back_pid"
