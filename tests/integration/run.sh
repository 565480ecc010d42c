#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh - the integration suite over the local transport: mount a fresh
# export with xenshare-back + xenshare-front, then run on the mount
#
#   posix_ops -u -x OTHERFS   every operation and its error cases (EXDEV
#                             against a tmpfs of ours)
#   fsx -N 100000 -u          one process, data integrity
#   fsx -N 100000 -P 4 -u     four processes
#   everyday.sh               cp -a, tar, git, rsync round trips
#
# and checks of its own: host-side symlinks are never followed by the
# backend, files created by a non-root user belong to that user on the
# host, the daemons survive it all and shut down cleanly.
#
# Environment: BUILD, XS_WRAP, XS_EXPORT_BASE (see tests/lib.sh);
# XS_FSX_OPS (operations per fsx run, default 100000); XS_HOST_FAILS, a
# file of posix_ops check names that the host file system fails by itself
# (they count as skips, see xs_host_fails); XS_EVERYDAY=0 leaves
# everyday.sh out.
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
. "$(dirname "$0")/../lib.sh"

TEST_UID=4321
TEST_GID=4321

xs_require "integration suite" "$XS_BACK_BIN" "$XS_FRONT_BIN" \
	"$XS_BUILD/tests/integration/posix_ops" "$XS_BUILD/tests/tools/fsx"

xs_init
# cp -a, tar and rsync of set-uid files, and posix_ops's set-id checks,
# need set-id bits allowed; the default policy's refusal is checked last.
XS_BACK_ARGS=(--allow-setid)
if ! xs_pair_start main; then
	not_ok "backend and frontend mount a fresh export" "see logs above"
	xs_summary
	exit 1
fi
ok "backend and frontend mount a fresh export"

# ---- the test programs ----------------------------------------------------

FSX_OPS=${XS_FSX_OPS:-100000}
if other=$(xs_other_fs); then
	xs_run_counted posix_ops xs_host_fails "${XS_HOST_FAILS:-/dev/null}" \
		"$XS_BUILD/tests/integration/posix_ops" -u -x "$other" "$XS_MNT"
else
	skip "EXDEV checks" "cannot mount a tmpfs"
	xs_run_counted posix_ops xs_host_fails "${XS_HOST_FAILS:-/dev/null}" \
		"$XS_BUILD/tests/integration/posix_ops" -u "$XS_MNT"
fi
xs_run_counted "fsx -N $FSX_OPS" "$XS_BUILD/tests/tools/fsx" -N "$FSX_OPS" \
	-u "$XS_MNT"
xs_run_counted "fsx -N $FSX_OPS -P 4" "$XS_BUILD/tests/tools/fsx" \
	-N "$FSX_OPS" -P 4 -u "$XS_MNT"
if [ "${XS_EVERYDAY:-1}" = 0 ]; then
	skip everyday.sh "left out (XS_EVERYDAY=0)"
else
	xs_run_counted everyday.sh "$XS_ROOT/tests/integration/everyday.sh" \
		"$XS_MNT"
fi

# ---- host-side symlinks ---------------------------------------------------
#
# A symlink on the host that points outside the export must reach the
# guest as a symlink, never be followed by the backend.  The guest's kernel
# resolves the target in the guest's own namespace; here guest and host
# share one, so the reads below run in a private mount namespace whose /etc
# is an empty tmpfs: whatever they find under /etc can only have come
# through the backend.

ln -s /etc "$XS_EXPORT/escape"
ln -s /etc/passwd "$XS_EXPORT/pw"

in_hidden_etc() {
	unshare -m --propagation private sh -c \
		'mount -t tmpfs -o size=1m xenshare-hide /etc && exec "$@"' sh "$@"
}

if ! in_hidden_etc true 2>/dev/null; then
	skip "host symlink escape checks" "cannot make a private mount namespace"
else
	check "cat MNT/escape/passwd (host symlink to /etc) fails" \
		"read the host's /etc/passwd through the export" \
		in_hidden_etc sh -c '! cat "$1/escape/passwd" >/dev/null 2>&1' sh "$XS_MNT"
	check "cat MNT/pw (host symlink to /etc/passwd) fails" \
		"read the host's /etc/passwd through the export" \
		in_hidden_etc sh -c '! cat "$1/pw" >/dev/null 2>&1' sh "$XS_MNT"
	listing=$(in_hidden_etc ls -A "$XS_MNT/escape/" 2>/dev/null)
	if [ -z "$listing" ]; then
		ok "ls MNT/escape/ does not list the host's /etc"
	else
		not_ok "ls MNT/escape/ does not list the host's /etc" \
			"listed: $(echo "$listing" | head -5 | tr '\n' ' ')"
	fi
fi
check "host symlink appears as a symlink" \
	"stat says $(stat -c %F "$XS_MNT/escape" 2>&1)" \
	test "$(stat -c %F "$XS_MNT/escape" 2>&1)" = "symbolic link"
check "readlink MNT/escape shows the target" \
	"got '$(readlink "$XS_MNT/escape" 2>&1)'" \
	test "$(readlink "$XS_MNT/escape")" = /etc
check "readlink MNT/pw shows the target" \
	"got '$(readlink "$XS_MNT/pw" 2>&1)'" \
	test "$(readlink "$XS_MNT/pw")" = /etc/passwd
check "open with O_NOFOLLOW of a host symlink fails" \
	"opened it" \
	sh -c '! dd if="$1/pw" iflag=nofollow of=/dev/null count=1 2>/dev/null' \
	sh "$XS_MNT"
rm -f "$XS_EXPORT/escape" "$XS_EXPORT/pw"

# ---- ownership of files made by a non-root user --------------------------

as_user() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups "$@"
}

mkdir "$XS_EXPORT/shared" && chmod 1777 "$XS_EXPORT/shared"
if ! command -v setpriv >/dev/null; then
	skip "files made by a non-root user belong to that user" "no setpriv"
elif ! as_user touch "$XS_MNT/shared/by-user" 2>/dev/null; then
	not_ok "non-root user creates a file in a 1777 directory" \
		"touch as $TEST_UID failed"
else
	ok "non-root user creates a file in a 1777 directory"
	own=$(stat -c %u:%g "$XS_EXPORT/shared/by-user" 2>&1)
	check "file created by uid $TEST_UID is owned by $TEST_UID on the host" \
		"host owner is $own" test "$own" = "$TEST_UID:$TEST_GID"
	as_user mkdir "$XS_MNT/shared/dir-by-user" 2>/dev/null
	own=$(stat -c %u:%g "$XS_EXPORT/shared/dir-by-user" 2>&1)
	check "directory created by uid $TEST_UID is owned by $TEST_UID on the host" \
		"host owner is $own" test "$own" = "$TEST_UID:$TEST_GID"
	own=$(stat -c %u:%g "$XS_MNT/shared/by-user" 2>&1)
	check "the mount shows the same owner" "mount shows $own" \
		test "$own" = "$TEST_UID:$TEST_GID"
	check "another user cannot remove it from the sticky directory" \
		"removed" sh -c '! setpriv --reuid=4322 --regid=4322 --clear-groups rm -f "$1" 2>/dev/null && test -e "$1"' \
		sh "$XS_MNT/shared/by-user"
fi
rm -rf "$XS_EXPORT/shared"

# ---- the daemons came through ---------------------------------------------

check "backend still running after the suites" "it exited" xs_alive "$XS_BACK_PID"
check "frontend still running after the suites" "it exited" xs_alive "$XS_FRONT_PID"
if grep -q 'protocol violation' "$XS_BACK_LOG"; then
	not_ok "no protocol violation logged by the backend" \
		"$(grep 'protocol violation' "$XS_BACK_LOG" | head -3 | tr '\n' ' ')"
else
	ok "no protocol violation logged by the backend"
fi
if grep -qi 'lost connection' "$XS_FRONT_LOG"; then
	not_ok "frontend never lost the backend" \
		"$(grep -i 'lost connection' "$XS_FRONT_LOG" | head -1)"
else
	ok "frontend never lost the backend"
fi
xs_pair_stop
case $? in
0) ok "unmount and shutdown are clean" ;;
2) skip "unmount and shutdown are clean" "$XS_STOP_WHY" ;;
*) not_ok "unmount and shutdown are clean" "$XS_STOP_WHY" ;;
esac
if [ "$XS_FAIL" -ne 0 ]; then
	MAIN_BACK_LOG=$XS_BACK_LOG
	MAIN_FRONT_LOG=$XS_FRONT_LOG
fi

# ---- the default policy ---------------------------------------------------

XS_BACK_ARGS=()
if xs_pair_start default-policy; then
	echo x >"$XS_MNT/f" && chmod 0755 "$XS_MNT/f"
	check "default policy refuses set-uid bits" "chmod u+s succeeded" \
		sh -c '! chmod u+s "$1" 2>/dev/null' sh "$XS_MNT/f"
	check "default policy refuses device nodes" "mknod succeeded" \
		sh -c '! mknod "$1/null" c 1 3 2>/dev/null' sh "$XS_MNT"
	check "default policy still makes FIFOs" "mknod p failed" \
		mknod "$XS_MNT/fifo" p
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "default policy pair stops cleanly" "$XS_STOP_WHY"
else
	not_ok "default policy pair mounts" "see logs above"
fi

# ---- the connection limit ----------------------------------------------------

XS_BACK_ARGS=(--max-conns 1)
if xs_pair_start max-conns; then
	first_mnt=$XS_MNT
	mkdir -p "$XS_TMP/max-conns/mnt2"
	out=$(timeout 20 "$XS_FRONT_BIN" --local "$XS_SOCK" "$XS_TMP/max-conns/mnt2" -f 2>&1)
	rc=$?
	check "--max-conns 1 refuses a second frontend at the handshake" \
		"status $rc: $out" sh -c '[ "$1" -ne 0 ] && echo "$2" | grep -q "busy"' \
		sh "$rc" "$out"
	check "the refused frontend mounted nothing" "it did" \
		sh -c '! grep -q " $1 " /proc/self/mountinfo' sh "$XS_TMP/max-conns/mnt2"
	xs_any_mount "$XS_TMP/max-conns/mnt2" && xs_unmount "$XS_TMP/max-conns/mnt2"
	check "the backend logs the refusal" "no refused line" \
		grep -q 'local\.2: refused: ' "$XS_BACK_LOG"
	echo served >"$first_mnt/f" 2>/dev/null
	check "the first frontend is still served" "round trip failed" \
		test "$(cat "$XS_EXPORT/f" 2>/dev/null)" = served
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "connection limit pair stops cleanly" "$XS_STOP_WHY"
else
	not_ok "connection limit pair mounts" "see logs above"
fi

if [ -n "${MAIN_BACK_LOG:-}" ]; then
	XS_BACK_LOG=$MAIN_BACK_LOG
	XS_FRONT_LOG=$MAIN_FRONT_LOG
	diag "backend log (last lines):"
	tail -n 20 "$XS_BACK_LOG" | sed 's/^/#   /'
	diag "frontend log (last lines):"
	tail -n 20 "$XS_FRONT_LOG" | sed 's/^/#   /'
fi
xs_summary
