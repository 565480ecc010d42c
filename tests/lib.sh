# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib.sh - helpers for the shell test suites: result counting in the
# ok / not ok / skip convention, running a test program and adding up its
# counts, and a backend + frontend pair over the local transport on a
# fresh export and mountpoint under /tmp/xenshare-test.XXXX.
#
# Source it, then call xs_init once: it installs an EXIT trap that never
# leaves a mount or a process behind (fusermount3 -u, then umount -l;
# SIGTERM, then SIGKILL).
#
# Environment:
#   BUILD     build directory (default build, relative to the checkout)
#   XS_WRAP   command prefix for running the daemons (e.g. "valgrind -q")
#   XS_MOUNT_TIMEOUT  seconds to wait for a mount (default 10)
#   XS_EXPORT_BASE  make each pair's export a fresh directory in here (a
#             file system under test) instead of under XS_TMP
#
# After xs_pair_start: XS_EXPORT, XS_MNT, XS_SOCK, XS_BACK_PID,
# XS_FRONT_PID, XS_BACK_LOG, XS_FRONT_LOG.

XS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) XS_BUILD=$BUILD ;;
*) XS_BUILD=$XS_ROOT/$BUILD ;;
esac
XS_BACK_BIN=$XS_BUILD/xenshare-back
XS_FRONT_BIN=$XS_BUILD/xenshare-front
XS_WRAP=${XS_WRAP:-}
XS_MOUNT_TIMEOUT=${XS_MOUNT_TIMEOUT:-10}

[ -v XS_BACK_ARGS ] || XS_BACK_ARGS=()
[ -v XS_FRONT_ARGS ] || XS_FRONT_ARGS=()

XS_PASS=0
XS_FAIL=0
XS_SKIP=0
XS_TMP=
XS_PIDS=()

ok() {
	echo "ok - $1"
	XS_PASS=$((XS_PASS + 1))
}

not_ok() {
	echo "not ok - $1: $2"
	XS_FAIL=$((XS_FAIL + 1))
}

skip() {
	echo "skip - $1: $2"
	XS_SKIP=$((XS_SKIP + 1))
}

# check NAME DETAIL CMD...: ok if CMD succeeds.
check() {
	local name=$1 detail=$2
	shift 2
	if "$@"; then
		ok "$name"
	else
		not_ok "$name" "$detail"
	fi
}

diag() {
	echo "# $*"
}

xs_summary() {
	echo "$XS_PASS passed, $XS_FAIL failed, $XS_SKIP skipped"
	[ "$XS_FAIL" -eq 0 ]
}

# xs_require SUITE BIN...: end the script with its total line unless every
# BIN is built (else one failure of SUITE) and /dev/fuse exists (else one
# skip).
xs_require() {
	local suite=$1 bin
	shift
	for bin in "$@"; do
		if [ ! -x "$bin" ]; then
			not_ok "$suite" "$bin is missing (run make first)"
			xs_summary
			exit 1
		fi
	done
	if [ ! -e /dev/fuse ]; then
		skip "$suite" "/dev/fuse is missing"
		xs_summary
		exit 0
	fi
}

# xs_log_has FILE PATTERN [SECONDS]: wait (default 10 s) for an extended
# regex in a log.
xs_log_has() {
	local i n=$(( ${3:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		grep -qE -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# xs_show_logs LABEL: both daemons' logs as comment lines.
xs_show_logs() {
	diag "$1: backend log:"
	sed 's/^/#   /' "$XS_BACK_LOG"
	diag "$1: frontend log:"
	sed 's/^/#   /' "$XS_FRONT_LOG"
}

# xs_run_counted NAME CMD...: run a program that prints ok/not ok lines
# and a final "N passed, N failed, N skipped"; pass its lines through
# (except the total) and add its counts to ours.  A missing total, or a
# non-zero exit with no failure counted, is one failure of NAME.
xs_run_counted() {
	local name=$1 out rc line p f s
	shift
	out=$(mktemp "${TMPDIR:-/tmp}/xenshare-out.XXXXXX")
	"$@" >"$out" 2>&1
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" |
	       tail -n 1)
	grep -vxF -e "$line" "$out"
	rm -f "$out"
	if [ -z "$line" ]; then
		not_ok "$name" "exited with status $rc without a total line"
		return 1
	fi
	read -r p _ f _ s _ <<<"$line"
	XS_PASS=$((XS_PASS + p))
	XS_FAIL=$((XS_FAIL + f))
	XS_SKIP=$((XS_SKIP + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		not_ok "$name" "exited with status $rc but counted no failure"
		return 1
	fi
	[ "$rc" -eq 0 ]
}

# xs_host_fails FILE CMD...: run a program that prints ok/not ok lines and
# a total (as for xs_run_counted), turning each "not ok - NAME: ..." whose
# NAME is a line of FILE (checks the host file system fails by itself,
# without xenshare) into a skip saying so; the total and the exit status
# follow.  An empty FILE changes nothing.
xs_host_fails() {
	local known=$1
	shift
	"$@" 2>&1 | awk -v known="$known" '
		BEGIN { while ((getline l < known) > 0) k[l] = 1 }
		/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ {
			p = $1; f = $3; s = $5; total = 1; next
		}
		/^not ok - / {
			n = substr($0, 10)
			sub(/: .*/, "", n)
			if (n in k) {
				print "skip - " n ": fails on the host file system without xenshare too"
				moved++
				next
			}
		}
		{ print }
		END {
			if (!total)
				exit 1
			printf "%d passed, %d failed, %d skipped\n", p, f - moved, s + moved
			exit f - moved > 0
		}'
}

# ---- mounts and processes -----------------------------------------------

# Mount points (octal escapes undone) whose fs type is $2 (any if empty)
# and that lie at or under $1.
xs_mounts_under() {
	awk -v dir="$1" -v type="${2:-}" '
	function unesc(s,  out, i, c) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "\\" && substr(s, i + 1, 3) ~ /^[0-7][0-7][0-7]$/) {
				out = out sprintf("%c", (substr(s, i + 1, 1) * 64) + \
					(substr(s, i + 2, 1) * 8) + substr(s, i + 3, 1))
				i += 3
			} else {
				out = out c
			}
		}
		return out
	}
	{
		for (sep = 7; sep <= NF && $sep != "-"; sep++)
			;
		mp = unesc($5)
		if (type != "" && $(sep + 1) != type)
			next
		if (mp == dir || index(mp, dir "/") == 1)
			print mp
	}' /proc/self/mountinfo
}

xs_is_mounted() {
	[ -n "$(xs_mounts_under "$1" fuse.xenshare | grep -xF -- "$1")" ]
}

xs_any_mount() {
	[ -n "$(xs_mounts_under "$1" | grep -xF -- "$1")" ]
}

# xs_wait_mount MNT [SECONDS]
xs_wait_mount() {
	local i n=$(( ${2:-$XS_MOUNT_TIMEOUT} * 10 ))
	for ((i = 0; i < n; i++)); do
		xs_is_mounted "$1" && return 0
		sleep 0.1
	done
	return 1
}

# xs_wait_unmount MNT [SECONDS]
xs_wait_unmount() {
	local i n=$(( ${2:-$XS_MOUNT_TIMEOUT} * 10 ))
	for ((i = 0; i < n; i++)); do
		xs_any_mount "$1" || return 0
		sleep 0.1
	done
	return 1
}

xs_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# xs_wait_exit PID [SECONDS]: 0 once PID is gone; a child of ours is
# reaped and its exit status left in XS_EXIT_STATUS.
xs_wait_exit() {
	local i n=$(( ${2:-10} * 10 ))
	XS_EXIT_STATUS=
	for ((i = 0; i < n; i++)); do
		if ! xs_alive "$1"; then
			wait "$1" 2>/dev/null
			XS_EXIT_STATUS=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# xs_kill PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10).
xs_kill() {
	xs_alive "$1" || { wait "$1" 2>/dev/null; return 0; }
	kill -TERM "$1" 2>/dev/null
	xs_wait_exit "$1" "${2:-10}" && return 0
	kill -KILL "$1" 2>/dev/null
	xs_wait_exit "$1" 5
	return 1
}

xs_unmount() {
	fusermount3 -u "$1" 2>/dev/null || umount "$1" 2>/dev/null ||
		umount -l "$1" 2>/dev/null
}

xs_cleanup() {
	local pid mp
	for pid in "${XS_PIDS[@]}"; do
		xs_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	if [ -n "$XS_TMP" ]; then
		# Deepest first.
		xs_mounts_under "$XS_TMP" | sort -r | while read -r mp; do
			fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
		done
	fi
	for pid in "${XS_PIDS[@]}"; do
		xs_wait_exit "$pid" 3 || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	done
	XS_PIDS=()
	if [ -n "$XS_TMP" ]; then
		xs_mounts_under "$XS_TMP" | sort -r | while read -r mp; do
			umount -l "$mp" 2>/dev/null
		done
		if [ -z "$(xs_mounts_under "$XS_TMP")" ]; then
			rm -rf --one-file-system "$XS_TMP"
		else
			echo "# leaving $XS_TMP: still mounted" >&2
		fi
		XS_TMP=
	fi
}

xs_init() {
	XS_TMP=$(mktemp -d /tmp/xenshare-test.XXXX) || exit 1
	chmod 755 "$XS_TMP"
	trap 'xs_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# xs_pair_dirs [NAME]: fresh export, mountpoint and socket for a pair.
xs_pair_dirs() {
	local d=$XS_TMP/${1:-pair}
	mkdir -p "$d/export" "$d/mnt"
	chmod 755 "$d" "$d/export" "$d/mnt"
	XS_EXPORT=$d/export
	if [ -n "${XS_EXPORT_BASE:-}" ]; then
		XS_EXPORT=$(mktemp -d "$XS_EXPORT_BASE/${1:-pair}.XXXX") ||
			return 1
		chmod 755 "$XS_EXPORT"
	fi
	XS_MNT=$d/mnt
	XS_SOCK=$d/sock
	XS_BACK_LOG=$d/back.log
	XS_FRONT_LOG=$d/front.log
	: >"$XS_BACK_LOG"
	: >"$XS_FRONT_LOG"
}

# xs_launch_back [ARGS...]: backend in the foreground on XS_SOCK, logging
# to XS_BACK_LOG, without waiting for it.  Its state directory (handle
# keys) is XS_TMP/state unless ARGS name another.
xs_launch_back() {
	# shellcheck disable=SC2086
	$XS_WRAP "$XS_BACK_BIN" --local "$XS_SOCK" "$XS_EXPORT" -f \
		${XS_TMP:+--state-dir "$XS_TMP/state"} "$@" \
		>>"$XS_BACK_LOG" 2>&1 &
	XS_BACK_PID=$!
	XS_PIDS+=("$XS_BACK_PID")
}

# xs_start_back [ARGS...]: xs_launch_back, then wait until the socket
# accepts.
xs_start_back() {
	local i
	xs_launch_back "$@"
	for ((i = 0; i < XS_MOUNT_TIMEOUT * 10; i++)); do
		[ -S "$XS_SOCK" ] && return 0
		xs_alive "$XS_BACK_PID" || break
		sleep 0.1
	done
	echo "# backend did not start; its log:" >&2
	sed 's/^/#   /' "$XS_BACK_LOG" >&2
	return 1
}

# xs_start_front_at MNT [ARGS...]: a frontend in the foreground on
# XS_SOCK mounting MNT, logging to XS_FRONT_LOG; its pid is
# XS_FRONT_AT_PID.  Waits for the mount.
xs_start_front_at() {
	local mnt=$1
	shift
	# shellcheck disable=SC2086
	$XS_WRAP "$XS_FRONT_BIN" --local "$XS_SOCK" "$mnt" -f "$@" \
		>>"$XS_FRONT_LOG" 2>&1 &
	XS_FRONT_AT_PID=$!
	XS_PIDS+=("$XS_FRONT_AT_PID")
	xs_wait_mount "$mnt" && return 0
	echo "# frontend did not mount $mnt; its log:" >&2
	sed 's/^/#   /' "$XS_FRONT_LOG" >&2
	return 1
}

# xs_start_front [ARGS...]: the pair's frontend, mounting XS_MNT
# (XS_FRONT_PID, XS_FUSE_DEV).
xs_start_front() {
	local rc
	xs_start_front_at "$XS_MNT" "$@"
	rc=$?
	XS_FRONT_PID=$XS_FRONT_AT_PID
	[ $rc -eq 0 ] && XS_FUSE_DEV=$(xs_fuse_dev "$XS_MNT")
	return $rc
}

# xs_pair_start [NAME]: fresh dirs, backend, frontend, mounted.  Extra
# daemon arguments: XS_BACK_ARGS and XS_FRONT_ARGS (arrays).
xs_pair_start() {
	xs_pair_dirs "${1:-pair}"
	xs_start_back "${XS_BACK_ARGS[@]}" || return 1
	xs_start_front "${XS_FRONT_ARGS[@]}"
}

# xs_fuse_dev MNT: the device (major:minor) of the mount at MNT, which
# names its FUSE connection.
xs_fuse_dev() {
	awk -v mp="$1" '$5 == mp { print $3; exit }' /proc/self/mountinfo
}

# xs_fuse_holders DEV: "pid comm" of a process in each other mount
# namespace that still has a fuse.xenshare mount of DEV.  A namespace made
# (unshare, clone) while the mount existed holds a copy of it, which keeps
# the FUSE connection open after the unmount here: the frontend then
# cannot see the unmount.
xs_fuse_holders() {
	local dev=$1 self ns pid
	local -A seen=()
	self=$(readlink /proc/self/ns/mnt)
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null) || continue
		[ "$ns" = "$self" ] && continue
		[ -n "${seen[$ns]:-}" ] && continue
		seen[$ns]=1
		if awk -v dev="$dev" '$3 == dev { for (i = 7; $i != "-"; i++) ; if ($(i + 1) == "fuse.xenshare") found = 1 }
		    END { exit !found }' "/proc/$pid/mountinfo" 2>/dev/null; then
			echo "$pid $(cat "/proc/$pid/comm" 2>/dev/null)"
		fi
	done
}

# xs_front_gone_after_unmount [SECONDS]: wait for the frontend to exit
# after its mount was removed.  0 when it exited, 1 when it did not (with
# XS_STOP_WHY set), 2 when it could not: another mount namespace holds a
# copy of the mount (XS_STOP_WHY names it).  Always leaves the frontend
# stopped.
xs_front_gone_after_unmount() {
	local holders
	xs_wait_exit "$XS_FRONT_PID" "${1:-10}" && return 0
	holders=$(xs_fuse_holders "$XS_FUSE_DEV" | head -3 | tr '\n' ';')
	xs_kill "$XS_FRONT_PID" 1
	if [ -n "$holders" ]; then
		XS_STOP_WHY+="frontend cannot see the unmount: a copy of the mount lives in another mount namespace (pid $holders); "
		return 2
	fi
	XS_STOP_WHY+="frontend still running ${1:-10} s after unmount; "
	if command -v gdb >/dev/null && [ -n "${XS_STUCK_BT:-1}" ]; then
		diag "frontend stacks:"
		gdb -p "$XS_FRONT_PID" -batch -ex "thread apply all bt" 2>/dev/null |
			grep -E '^(Thread|#)' | head -60 | sed 's/^/#   /'
	fi
	return 1
}

# xs_pair_stop: unmount, then stop both daemons.  0 if all went cleanly;
# else XS_STOP_WHY says what did not, and the status is 2 when only the
# frontend's exit could not be observed (see xs_front_gone_after_unmount).
xs_pair_stop() {
	local out failed=0 front
	XS_STOP_WHY=
	if xs_is_mounted "$XS_MNT"; then
		if ! out=$(fusermount3 -u "$XS_MNT" 2>&1); then
			XS_STOP_WHY+="fusermount3 -u: $out; "
			failed=1
		fi
	fi
	xs_front_gone_after_unmount 10
	front=$?
	[ $front -eq 1 ] && failed=1
	if ! xs_kill "$XS_BACK_PID" 10; then
		XS_STOP_WHY+="backend ignored SIGTERM for 10 s; "
		failed=1
	fi
	if xs_any_mount "$XS_MNT"; then
		XS_STOP_WHY+="mount left behind; "
		xs_unmount "$XS_MNT"
		failed=1
	fi
	[ $failed -eq 1 ] && return 1
	[ $front -eq 2 ] && return 2
	return 0
}

# xs_ctl_field KEY: one value of the pair's backend status
# (xenshare-ctl --local XS_SOCK status --json).
xs_ctl_field() {
	XENSHARE_BACK=$XS_BACK_BIN "$XS_ROOT/xenstore-scripts/xenshare-ctl" \
		--local "$XS_SOCK" status --json |
		sed -n "s/.*\"$1\": \"\{0,1\}\([^,\"}]*\).*/\1/p"
}

# xs_wait_ctl: until the pair's backend answers on its control channel
# (5 s).
xs_wait_ctl() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -n "$(xs_ctl_field usage-bytes 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

# xs_back_pids PID: PID and all its descendants (a backend's supervisor
# and its workers).
xs_back_pids() {
	local c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		xs_back_pids "$c"
	done
}

# xs_all_gone SECONDS PID...: wait until none of them exists (they need
# not be ours).
xs_all_gone() {
	local i p left n=$(( $1 * 10 ))
	shift
	for ((i = 0; i < n; i++)); do
		left=0
		for p in "$@"; do
			xs_alive "$p" && left=1
		done
		[ $left -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# xs_restart_back SIGNAL [SECONDS]: stop every process of the pair's
# backend with SIGNAL, wait (default 20 s) until all are gone, start a new
# one on the same socket, export and state directory with XS_BACK_ARGS.
xs_restart_back() {
	local pids
	pids=$(xs_back_pids "$XS_BACK_PID")
	# shellcheck disable=SC2086
	kill "-$1" $pids 2>/dev/null
	wait "$XS_BACK_PID" 2>/dev/null
	# shellcheck disable=SC2086
	xs_all_gone "${2:-20}" $pids || return 1
	xs_start_back "${XS_BACK_ARGS[@]}"
}

# A directory on another file system (a tmpfs of ours) for EXDEV checks.
xs_other_fs() {
	local d=$XS_TMP/otherfs
	mkdir -p "$d"
	if ! xs_any_mount "$d"; then
		mount -t tmpfs -o size=16m,mode=1777 xenshare-test "$d" || return 1
	fi
	echo "$d"
}

# xs_loopfs TYPE SIZE_MB NAME: a fresh file system of TYPE (ext4, xfs,
# btrfs) on a sparse loop image under XS_TMP, mounted at XS_TMP/NAME;
# prints the mount point.  xs_cleanup unmounts it (it is under XS_TMP);
# the loop device goes with the last reference (autoclear).  Fails (with
# a reason on stderr) where the mkfs tool or loop devices are missing.
xs_loopfs() {
	local type=$1 size=$2 name=$3 img=$XS_TMP/$3.img mp=$XS_TMP/$3
	command -v "mkfs.$type" >/dev/null || {
		echo "xs_loopfs: mkfs.$type is not installed" >&2
		return 1
	}
	truncate -s "${size}M" "$img" || return 1
	case $type in
	ext4)	mkfs.ext4 -q -F "$img" ;;
	xfs)	mkfs.xfs -q -f -m reflink=1 "$img" ;;
	*)	"mkfs.$type" -q -f "$img" ;;
	esac >/dev/null 2>&1 || {
		echo "xs_loopfs: mkfs.$type failed on $img" >&2
		return 1
	}
	mkdir -p "$mp"
	mount -o loop "$img" "$mp" || {
		echo "xs_loopfs: cannot loop-mount $img" >&2
		return 1
	}
	chmod 755 "$mp"
	echo "$mp"
}
