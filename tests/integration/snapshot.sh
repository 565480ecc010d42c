#!/bin/bash
# SPDX-License-Identifier: MIT
#
# snapshot.sh - snapshots of a running export over the local transport
# (docs/snapshots.md):
#   - a snapshot taken while the guest writes and fsyncs numbered records
#     holds every record acknowledged before it began, and the guest's
#     workload sees no error;
#   - owner, mode, times, user xattrs, symlinks, hard links, FIFOs and
#     holes are kept;
#   - list, delete, restore (the guest's stale handles get ESTALE, the
#     quota usage is the restored tree's);
#   - bad names, a duplicate, a snapshot directory inside the export and
#     a backend without --snapshot-dir are refused with clear messages;
#   - a worker that does not answer, or is killed, during a snapshot
#     leaves no paused device;
#   - on XFS the snapshot is a reflink copy and takes little space, on
#     ext4 a full copy; deleting it frees its space (df); on btrfs a
#     subvolume export gets a btrfs snapshot.
#
# usage: tests/integration/snapshot.sh   (as root; BUILD as for tests/lib.sh)
#
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

CTL=$XS_ROOT/xenstore-scripts/xenshare-ctl
export XENSHARE_BACK=$XS_BACK_BIN
RECORDS=$XS_BUILD/tests/integration/snap_records
MiB=$((1024 * 1024))

xs_require snapshot "$XS_BACK_BIN" "$XS_FRONT_BIN" "$RECORDS"
xs_init

snap() { "$CTL" --local "$XS_SOCK" "$@"; }

# method NAME: the method list shows for a snapshot.
method() { snap snapshots list | awk -v n="$1" '$1 == n { print $4 }'; }

# df_used DIR: bytes in use on DIR's file system.
df_used() { sync; df -B1 --output=used "$1" | tail -1 | tr -d ' '; }

# guest_writes_ok WHAT: a write through the mount succeeds within 20 s.
guest_writes_ok() {
	if timeout 20 sh -c "echo alive > '$XS_MNT/alive.$1' && cat '$XS_MNT/alive.$1'" >/dev/null 2>&1; then
		ok "$1: the guest writes again afterwards (no paused device)"
	else
		not_ok "$1: the guest writes again afterwards (no paused device)" \
			"write through the mount failed or hung"
	fi
}

worker_pid() { pgrep -P "$XS_BACK_PID" | head -1; }

# start PAIR SNAPDIR [BACKEND ARGS...]: a pair on XS_EXPORT (set by the
# caller, or fresh under PAIR) with snapshots in SNAPDIR.
start() {
	local name=$1 dir=$2
	shift 2
	xs_pair_dirs "$name"
	[ -n "${EXPORT:-}" ] && XS_EXPORT=$EXPORT
	mkdir -p "$dir"
	xs_start_back --snapshot-dir "$dir" "$@" && xs_start_front
}

stop() {
	xs_pair_stop || diag "stopping: $XS_STOP_WHY"
}

# ---- consistency under a writer ---------------------------------------

SNAPS=$XS_TMP/snaps
start main "$SNAPS" --quiesce-timeout 1000 || { xs_summary; exit 1; }

"$RECORDS" write "$XS_MNT/records" "$XS_TMP/records.log" 5 \
	>"$XS_TMP/writer.out" 2>&1 &
writer=$!
sleep 1.5
t0=$(date +%s.%N)
out=$(snap snapshot during-writes 2>&1)
check "snapshot while the guest writes and fsyncs" "$out" test $? -eq 0
sleep 1
t1=$(date +%s.%N)
snap snapshot during-writes-2 >/dev/null 2>&1
wait "$writer"
rc=$?
check "the guest's writer saw no error" "$(cat "$XS_TMP/writer.out")" test $rc -eq 0
for s in during-writes:$t0 during-writes-2:$t1; do
	if res=$("$RECORDS" check "$SNAPS/${s%%:*}/records" "$XS_TMP/records.log" "${s#*:}"); then
		ok "${s%%:*}: $res"
	else
		not_ok "${s%%:*}: every record fsync'ed before the snapshot is in it" "$res"
	fi
done
diag "$out"

# ---- what a copy keeps --------------------------------------------------

d=$XS_MNT/kept
mkdir "$d" "$d/sub"
echo data >"$d/file"
chmod 640 "$d/file"
chown 1234:2345 "$d/file"
setfattr -n user.colour -v blue "$d/file"
ln "$d/file" "$d/sub/hardlink"
ln -s ../file "$d/sub/symlink"
truncate -s 64M "$d/sparse"
echo end | dd of="$d/sparse" bs=1 seek=$((32 * MiB)) conv=notrunc status=none
touch -h -d 2001-02-03T04:05:06 "$d/sub/symlink"
touch -d 2001-02-03T04:05:06 "$d/sub"
mkfifo "$XS_EXPORT/kept/fifo"
ln -s /etc "$d/escape-dir"
ln -s /etc/passwd "$d/escape-file"
mkdir "$XS_EXPORT/kept/mounted"
mount -t tmpfs -o size=1m xenshare-test "$XS_EXPORT/kept/mounted"
touch "$XS_EXPORT/kept/mounted/on-another-fs"
snap snapshot kept >/dev/null
umount "$XS_EXPORT/kept/mounted"
k=$SNAPS/kept/kept
check "owner and mode kept" "see the backend log" test "$(stat -c '%u:%g %a' "$k/file")" = "1234:2345 640"
check "user xattr kept" "see the backend log" test "$(getfattr --only-values -n user.colour "$k/file" 2>/dev/null)" = blue
check "hard link kept as a hard link" "see the backend log" test "$(stat -c %i "$k/file")" = "$(stat -c %i "$k/sub/hardlink")"
check "symlink kept" "see the backend log" test "$(readlink "$k/sub/symlink")" = ../file
check "symlink and directory times kept" "see the backend log" test "$(stat -c %Y "$k/sub/symlink") $(stat -c %Y "$k/sub")" = \
	"$(stat -c %Y "$d/sub/symlink") $(stat -c %Y "$d/sub")"
check "FIFO kept" "see the backend log" test -p "$k/fifo"
check "symlinks out of the export copied as symlinks, never followed" "see the backend log" \
	test -L "$k/escape-dir" -a -L "$k/escape-file" -a "$(readlink "$k/escape-dir")" = /etc
check "a mount point inside the export is not entered" "$(ls -A "$k" | tr '\n' ' ')" \
	test ! -e "$k/mounted/on-another-fs"
check "sparse file kept sparse" "$(du -k "$k/sparse" | cut -f1) KiB of 64 MiB allocated" \
	test "$(du -k "$k/sparse" | cut -f1)" -lt 1024
check "sparse file's data kept" "see the backend log" cmp -s "$XS_EXPORT/kept/sparse" "$k/sparse"

# ---- list, names, delete ------------------------------------------------

list=$(snap snapshots list)
check "list names every snapshot with its method" "see the backend log" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^kept .* full-copy\$' &&
	       printf '%s\n' \"\$1\" | grep -q '^during-writes '" _ "$list"
printf '%s\n' "$list" | sed 's/^/#   /'

bad_name() {
	local out
	out=$(snap snapshot "$1" 2>&1)
	if [ $? -ne 0 ] && printf '%s' "$out" | grep -q "$2"; then
		ok "name '$1' refused: $out"
	else
		not_ok "name '$1' refused" "got: $out"
	fi
}
bad_name .hidden "starts with a dot"
bad_name .. "starts with a dot"
bad_name a/b "one path component"
bad_name "$(printf 'x%.0s' {1..65})" "1 to 64 characters"
bad_name kept "exists"
out=$(snap snapshots restore ../etc 2>&1)
check "restore of a bad name refused: $out" "see the backend log" sh -c "! printf '%s' \"\$1\" | grep -q '^snapshot'" _ "$out"
check "no stray entries in the snapshot directory" "see the backend log" \
	test -z "$(ls -A "$SNAPS" | grep -vE '^(kept|during-writes|during-writes-2|\.(kept|during-writes|during-writes-2)\.snap)$')"

snap snapshots delete during-writes-2 >/dev/null
check "delete removes the snapshot and its entry in the list" "see the backend log" \
	sh -c "[ ! -e '$SNAPS/during-writes-2' ] && ! '$CTL' --local '$XS_SOCK' snapshots list | grep -q '^during-writes-2 '"
out=$(snap snapshots delete during-writes-2 2>&1)
check "deleting it twice: $out" "see the backend log" sh -c "printf '%s' \"\$1\" | grep -q 'no snapshot named'" _ "$out"

# ---- restore ------------------------------------------------------------

echo before >"$XS_MNT/restore-me"
snap snapshot before-change >/dev/null
echo after >"$XS_MNT/restore-me"
echo new >"$XS_MNT/created-later"
dd if=/dev/zero of="$XS_MNT/big-later" bs=1M count=8 status=none
rm "$XS_MNT/records"
exec 7<"$XS_MNT/created-later"
# A guest that keeps listing the root (which a restore keeps) while the
# restore runs sees a pause, never an error.  Files it holds open that
# the restore replaces do fail afterwards, as on a freshly mounted copy.
(
	for ((i = 0; i < 400; i++)); do
		ls "$XS_MNT" >/dev/null || exit 1
	done
) 2>"$XS_TMP/during-restore.err" &
busy=$!
sleep 0.2
snap snapshots restore before-change >/dev/null
check "restore succeeds" "see the backend log" test $? -eq 0
wait "$busy"
rc=$?
check "a guest listing the root during the restore saw no error" "$(head -3 "$XS_TMP/during-restore.err")" \
	test $rc -eq 0 -a ! -s "$XS_TMP/during-restore.err"
sleep 1
check "restore brings back the snapshot's content" "see the backend log" test "$(cat "$XS_MNT/restore-me" 2>/dev/null)" = before
check "restore brings back a deleted file" "see the backend log" test -s "$XS_MNT/records"
check "restore removes files made after the snapshot" "see the backend log" test ! -e "$XS_MNT/created-later"
out=$(cat <&7 2>&1)
check "an open file that the restore removed answers ESTALE ($out)" "see the backend log" \
	sh -c "printf '%s' \"\$1\" | grep -qi 'stale'" _ "$out"
exec 7<&-
ub=$(snap status --json | sed -n 's/.*"usage-bytes": \([0-9]*\).*/\1/p')
db=$(du -sB1 "$XS_EXPORT" | cut -f1)
check "usage after the restore is the restored tree's ($ub, du $db)" "see the backend log" test "$ub" = "$db"

# ---- a worker that does not answer, or dies --------------------------------

# A worker slow to answer (XS_QUIESCE_DELAY_MS: it sleeps 3 s before it
# quiesces) against a 1 s bound: refused, and its late answer must not
# leave the device held.
stop
export XS_QUIESCE_DELAY_MS=3000
start slow "$XS_TMP/slow-snaps" --quiesce-timeout 1000 || { xs_summary; exit 1; }
unset XS_QUIESCE_DELAY_MS
start_ms=$(date +%s%3N)
out=$(snap snapshot stalled 2>&1)
rc=$?
took=$(( $(date +%s%3N) - start_ms ))
check "a worker that does not answer: refused after the bound ($took ms)" "$out" \
	sh -c "[ $rc -ne 0 ] && [ $took -lt 3000 ] && printf '%s' \"\$1\" | grep -q 'did not quiesce within'" _ "$out"
diag "$out"
check "no half snapshot left" "$(ls -A "$XS_TMP/slow-snaps")" test -z "$(ls -A "$XS_TMP/slow-snaps")"
sleep 2.5
guest_writes_ok late-answer

w=$(worker_pid)
snap snapshot killed >"$XS_TMP/killed.out" 2>&1 &
ctlpid=$!
sleep 0.5
kill -KILL "$w"
wait "$ctlpid"
rc=$?
out=$(cat "$XS_TMP/killed.out")
check "a worker killed during the snapshot: refused" "$out" \
	sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'not serving'" _ "$out"
diag "$out"
guest_writes_ok killed-worker
stop

# ---- refusals at start and without --snapshot-dir ----------------------

xs_pair_dirs inside
mkdir -p "$XS_EXPORT/snaps"
xs_launch_back --snapshot-dir "$XS_EXPORT/snaps"
xs_wait_exit "$XS_BACK_PID" 10
check "a snapshot directory inside the export is refused at start" "see the backend log" \
	xs_log_has "$XS_BACK_LOG" "inside the export"
grep 'refused' "$XS_BACK_LOG" | sed 's/^/#   /'

xs_pair_dirs plain
xs_start_back && xs_start_front
out=$(snap snapshot x 2>&1)
check "without --snapshot-dir: $out" "see the backend log" sh -c "printf '%s' \"\$1\" | grep -q 'snapshot-dir'" _ "$out"
stop

# ---- methods and space, on real file systems ------------------------------

# space_test TYPE WANT_METHOD: 64 MiB written by the guest, a snapshot
# (its method, what df says it took), then its deletion (df again).
space_test() {
	local type=$1 want=$2 mp before after freed used
	if ! mp=$(xs_loopfs "$type" 512 "fs-$type" 2>&1); then
		skip "$type: $mp"
		return
	fi
	mkdir -p "$mp/export"
	if [ "$type" = btrfs ]; then
		rmdir "$mp/export"
		btrfs -q subvolume create "$mp/export" >/dev/null
	fi
	EXPORT=$mp/export
	start "$type" "$mp/snaps" || { not_ok "$type: pair starts"; EXPORT=; return; }
	EXPORT=
	dd if=/dev/urandom of="$XS_MNT/data" bs=1M count=64 conv=fsync status=none
	before=$(df_used "$mp")
	snap snapshot s >/dev/null
	after=$(df_used "$mp")
	used=$(( (after - before) / MiB ))
	check "$type: method $(method s) (want $want)" "see the backend log" test "$(method s)" = "$want"
	check "$type: the snapshot holds the data" "see the backend log" cmp -s "$XS_MNT/data" "$mp/snaps/s/data"
	if [ "$want" = full-copy ]; then
		check "$type: a full copy takes the data's space ($used MiB for 64)" "see the backend log" test $used -ge 60
	else
		check "$type: the snapshot takes little space ($used MiB for 64)" "see the backend log" test $used -lt 8
	fi
	snap snapshots delete s >/dev/null
	sleep 1
	freed=$(( (after - $(df_used "$mp")) / MiB ))
	check "$type: deleting it frees what it took ($freed MiB freed)" "see the backend log" test $freed -ge $(( used - 2 ))
	stop
}

space_test xfs reflink
space_test ext4 full-copy
if command -v btrfs >/dev/null; then
	space_test btrfs btrfs-snapshot
else
	skip "btrfs: btrfs-progs is not installed"
fi

xs_summary
