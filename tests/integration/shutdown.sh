#!/bin/bash
# SPDX-License-Identifier: MIT
#
# shutdown.sh - unmount and shutdown in every order, over the local
# transport.  Each scenario runs on its own pair and must leave no process
# and no mount behind:
#
#   a  fusermount3 -u, then SIGTERM to the backend
#   b  SIGTERM to the frontend: the mount goes, the backend serves a new
#      frontend
#   c  SIGKILL to the frontend: the dead mount can be removed, the backend
#      closes the connection and serves a new frontend
#   d  SIGKILL to the backend while a reader loops on the mount, and no
#      backend comes back within the frontend's --reconnect-timeout (2 s
#      here): the frontend reports the lost backend and exits, the mount
#      goes, the reader gets an error instead of hanging
#   e  SIGTERM to the backend while mounted: the same
#   (A backend that comes back: tests/integration/restart.sh.)
#
# Environment: BUILD, XS_WRAP (see tests/lib.sh).
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
. "$(dirname "$0")/../lib.sh"

WAIT=10

xs_require "shutdown suite" "$XS_BACK_BIN" "$XS_FRONT_BIN"

xs_init
# bash reports the daemons this suite kills on stderr: keep such lines
# comments.
exec 2> >(sed -u 's/^/# /' >&2)

# log_has FILE PATTERN [SECONDS]: wait for an extended regex in a log.
log_has() {
	xs_log_has "$1" "$2" "${3:-$WAIT}"
}

# mount_works LABEL: a round trip through the mount reaches the export.
mount_works() {
	local f="works.$RANDOM"
	echo "$1" >"$XS_MNT/$f" 2>/dev/null &&
		[ "$(cat "$XS_EXPORT/$f" 2>/dev/null)" = "$1" ] &&
		[ "$(cat "$XS_MNT/$f" 2>/dev/null)" = "$1" ] &&
		rm -f "$XS_MNT/$f"
}

no_leftovers() {
	local procs
	procs=$(pgrep -af -- "$XS_SOCK")
	if [ -z "$procs" ]; then
		ok "$1: no process left"
	else
		not_ok "$1: no process left" "$(echo "$procs" | tr '\n' ';')"
		pkill -KILL -f -- "$XS_SOCK"
	fi
	if xs_any_mount "$XS_MNT"; then
		not_ok "$1: no mount left" "$XS_MNT still mounted"
		xs_unmount "$XS_MNT"
	else
		ok "$1: no mount left"
	fi
}

# start_pair LABEL: a mounted pair with a file to read.
start_pair() {
	if ! xs_pair_start "$1"; then
		not_ok "$1: pair mounts" "see logs above"
		return 1
	fi
	head -c 1048576 /dev/urandom >"$XS_EXPORT/data"
	return 0
}

# remount_and_stop S LABEL FAILS: after the pair's frontend is gone, a new
# one mounts on the same backend and works; then the pair stops cleanly
# and leaves nothing behind.  The logs are shown if a check since FAILS
# failed.
remount_and_stop() {
	local s=$1
	if xs_start_front; then
		ok "$s: a new frontend mounts on the same backend"
		check "$s: the new mount works" "round trip failed" mount_works "$2"
	else
		not_ok "$s: a new frontend mounts on the same backend" "no mount"
	fi
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$s: final stop is clean" "$XS_STOP_WHY"
	no_leftovers "$s"
	[ "$XS_FAIL" -eq "$3" ] || xs_show_logs "$2"
}

scenario_a() {
	local s="a (fusermount3 -u, then SIGTERM backend)" fails=$XS_FAIL
	start_pair a || return
	check "$s: mount works" "round trip failed" mount_works a
	check "$s: fusermount3 -u succeeds" "it failed" fusermount3 -u "$XS_MNT"
	XS_STOP_WHY=
	xs_front_gone_after_unmount $WAIT
	case $? in
	0)
		ok "$s: frontend exits after the unmount"
		check "$s: frontend exit status 0" "status $XS_EXIT_STATUS" \
			test "$XS_EXIT_STATUS" -eq 0
		;;
	2) skip "$s: frontend exits after the unmount" "$XS_STOP_WHY" ;;
	*) not_ok "$s: frontend exits after the unmount" "$XS_STOP_WHY" ;;
	esac
	check "$s: backend logs closing for the connection" "no closing line" \
		log_has "$XS_BACK_LOG" 'xenshare-back: local\.[0-9]+: closing: '
	check "$s: backend still running" "it exited" xs_alive "$XS_BACK_PID"
	kill -TERM "$XS_BACK_PID"
	if xs_wait_exit "$XS_BACK_PID" $WAIT; then
		ok "$s: backend exits on SIGTERM"
		check "$s: backend exit status 0" "status $XS_EXIT_STATUS" \
			test "$XS_EXIT_STATUS" -eq 0
	else
		not_ok "$s: backend exits on SIGTERM" "still running after ${WAIT}s"
	fi
	check "$s: backend removed its socket" "$XS_SOCK still there" \
		test ! -e "$XS_SOCK"
	no_leftovers "$s"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs a
}

scenario_b() {
	local s="b (SIGTERM frontend)" fails=$XS_FAIL
	start_pair b || return
	kill -TERM "$XS_FRONT_PID"
	if xs_wait_exit "$XS_FRONT_PID" $WAIT; then
		ok "$s: frontend exits on SIGTERM"
		check "$s: frontend exit status 0" "status $XS_EXIT_STATUS" \
			test "$XS_EXIT_STATUS" -eq 0
	else
		not_ok "$s: frontend exits on SIGTERM" "still running after ${WAIT}s"
	fi
	check "$s: mount disappears" "still mounted after ${WAIT}s" \
		xs_wait_unmount "$XS_MNT" $WAIT
	check "$s: backend logs closing for the connection" "no closing line" \
		log_has "$XS_BACK_LOG" 'xenshare-back: local\.1: closing: '
	check "$s: backend still running" "it exited" xs_alive "$XS_BACK_PID"
	remount_and_stop "$s" b "$fails"
}

scenario_c() {
	local s="c (SIGKILL frontend)" fails=$XS_FAIL out
	start_pair c || return
	kill -KILL "$XS_FRONT_PID"
	xs_wait_exit "$XS_FRONT_PID" $WAIT
	check "$s: backend logs closing for the connection" "no closing line" \
		log_has "$XS_BACK_LOG" 'xenshare-back: local\.1: closing: '
	check "$s: backend still running" "it exited" xs_alive "$XS_BACK_PID"
	if xs_any_mount "$XS_MNT"; then
		check "$s: dead mount fails instead of hanging" "stat hung or succeeded" \
			sh -c '! timeout 10 stat "$1/data" >/dev/null 2>&1' sh "$XS_MNT"
		if out=$(fusermount3 -u "$XS_MNT" 2>&1 || umount "$XS_MNT" 2>&1); then
			ok "$s: dead mount is unmounted"
		else
			not_ok "$s: dead mount is unmounted" "$out"
		fi
	else
		ok "$s: dead mount is unmounted"
	fi
	check "$s: no stuck mount" "$XS_MNT still mounted" \
		xs_wait_unmount "$XS_MNT" 2
	remount_and_stop "$s" c "$fails"
}

# lose_backend LABEL SIGNAL
lose_backend() {
	local s=$1 sig=$2 label=$3 fails=$XS_FAIL reader errf
	local -a XS_FRONT_ARGS=(--reconnect-timeout 2)
	start_pair "$label" || return
	errf=$XS_TMP/$label/reader.err
	(
		while cat "$XS_MNT/data" >/dev/null 2>"$errf"; do
			:
		done
	) &
	reader=$!
	XS_PIDS+=("$reader")
	sleep 1
	check "$s: reader is running before the signal" "it stopped: $(cat "$errf")" \
		xs_alive "$reader"
	kill "-$sig" "$XS_BACK_PID"
	if xs_wait_exit "$reader" $WAIT; then
		ok "$s: reader gets an error instead of hanging"
		diag "$s: reader: $(head -c 200 "$errf" | tr '\n' ' ')"
	else
		not_ok "$s: reader gets an error instead of hanging" \
			"still reading ${WAIT}s later"
		kill -KILL "$reader" 2>/dev/null
		xs_wait_exit "$reader" 5
	fi
	if xs_wait_exit "$XS_BACK_PID" $WAIT; then
		ok "$s: backend exited"
		if [ "$sig" = TERM ]; then
			check "$s: backend exit status 0" "status $XS_EXIT_STATUS" \
				test "$XS_EXIT_STATUS" -eq 0
			check "$s: backend logs closing for the connection" \
				"no closing line" log_has "$XS_BACK_LOG" \
				'xenshare-back: local\.1: closing: daemon shutting down'
			check "$s: backend removed its socket" \
				"$XS_SOCK still there" test ! -e "$XS_SOCK"
		fi
	else
		not_ok "$s: backend exited" "still running ${WAIT}s after SIG$sig"
	fi
	check "$s: frontend logs the lost backend" "no such line" \
		log_has "$XS_FRONT_LOG" 'lost connection to backend'
	if xs_wait_exit "$XS_FRONT_PID" $WAIT; then
		ok "$s: frontend exits"
		check "$s: frontend exit status is non-zero" "status 0" \
			test "$XS_EXIT_STATUS" -ne 0
	else
		not_ok "$s: frontend exits" "still running ${WAIT}s later"
	fi
	check "$s: mount gone" "still mounted ${WAIT}s later" \
		xs_wait_unmount "$XS_MNT" $WAIT
	no_leftovers "$s"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$label"
}

scenario_a
scenario_b
scenario_c
lose_backend "d (SIGKILL backend under a reader)" KILL d
lose_backend "e (SIGTERM backend while mounted)" TERM e
xs_summary
