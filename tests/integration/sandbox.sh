#!/bin/bash
# SPDX-License-Identifier: MIT
#
# sandbox.sh - the worker process and its sandbox (backend/daemon/sandbox.h,
# docs/security.md), over the local transport:
#   - the worker's view: a root holding only the export (at its host path)
#     and /proc, read-only; its own mount and PID namespaces; only the
#     allowed capabilities (CapEff, CapPrm, CapBnd); Seccomp 2; NoNewPrivs 1;
#   - a worker cannot open a file outside its export, through libc or the
#     raw system call interface, by path, by "..", by a planted symlink,
#     through /proc, or (export on its own file system) by file handle;
#   - a system call outside the filter stops the worker, and the log names
#     it;
#   - kill -9 of the worker: the supervisor restarts it, the frontend
#     reconnects, a new frontend mounts; a worker that keeps dying is
#     restarted with a growing delay; live policy survives a restart;
#   - SIGTERM or kill -9 of the supervisor leaves no worker behind;
#   - --no-sandbox and --allow-devices.
#
# usage: tests/integration/sandbox.sh   (as root; BUILD as for tests/lib.sh)
#
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

CTL=$XS_ROOT/xenstore-scripts/xenshare-ctl
export XENSHARE_BACK=$XS_BACK_BIN

# CAP_CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID SETGID SETUID
CAPS_KEPT=$((0xdf))
CAP_MKNOD=$((1 << 27))

xs_require "sandbox suite" "$XS_BACK_BIN" "$XS_FRONT_BIN"

xs_init
# bash reports the daemons this suite kills on stderr: keep such lines
# comments.
exec 2> >(sed -u 's/^/# /' >&2)

# worker_of PID: the supervisor's child (the worker), empty if none.
worker_of() {
	local c
	c=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
	echo "${c%% *}"
}

# wait_worker SUP [NOT_PID]: until SUP has a worker serving (a "serving"
# line for it in the log) other than NOT_PID; prints its pid.
wait_worker() {
	local i w
	for ((i = 0; i < 100; i++)); do
		w=$(worker_of "$1")
		if [ -n "$w" ] && [ "$w" != "${2:-}" ] &&
		   grep -q "worker $w serving" "$XS_BACK_LOG"; then
			echo "$w"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

status_field() {
	local v
	v=$(grep "^$2:" "/proc/$1/status" | cut -f2)
	echo "${v// /}"
}

# caps_only PID FIELD MASK: the capability set holds nothing outside MASK.
caps_only() {
	local v
	v=$(status_field "$1" "$2")
	[ -n "$v" ] && [ $((0x$v & ~$3)) -eq 0 ]
}

mount_works() {
	local mnt=$1 f="works.$RANDOM"
	echo "$2" >"$mnt/$f" 2>/dev/null &&
		[ "$(cat "$XS_EXPORT/$f" 2>/dev/null)" = "$2" ] &&
		rm -f "$mnt/$f"
}

# wait_works MNT LABEL [SECONDS]
wait_works() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		mount_works "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}

start_pair() {
	local name=$1
	shift
	# shellcheck disable=SC2034  # read by xs_pair_start
	XS_BACK_ARGS=("$@")
	if ! xs_pair_start "$name"; then
		not_ok "$name: start backend and frontend" "see the logs above"
		return 1
	fi
}

stop_pair() {
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$1: clean stop" "$XS_STOP_WHY"
	return 0
}

# ---- the worker's view, escape probes on a shared file system ------------

test_view() {
	local sup w root want top
	local outside=$XS_TMP/outside/secret

	mkdir -p "$XS_TMP/outside"
	echo secret >"$outside"
	XS_SANDBOX_SELFTEST=$outside start_pair view || return
	sup=$XS_BACK_PID
	if ! w=$(wait_worker "$sup"); then
		not_ok "view: a worker serves" "none in $(worker_of "$sup")"
		stop_pair view
		return
	fi
	ok "view: the supervisor forked one worker that serves"

	check "view: the worker has its own mount namespace" "same as the supervisor's" \
		test "$(readlink "/proc/$w/ns/mnt")" != "$(readlink "/proc/$sup/ns/mnt")"
	check "view: the worker has its own PID namespace" "same as the supervisor's" \
		test "$(readlink "/proc/$w/ns/pid")" != "$(readlink "/proc/$sup/ns/pid")"
	root=/proc/$w/root
	top=${XS_EXPORT#/}
	top=${top%%/*}
	want=$(printf '%s\n' proc "$top" | sort | tr '\n' ' ')
	check "view: the worker's root holds only /proc and the export's path" \
		"it holds: $(ls -A "$root" | tr '\n' ' ')" \
		test "$(ls -A "$root" | sort | tr '\n' ' ')" = "$want"
	check "view: the export is at its host path in the worker's root" \
		"$(stat -Lc %d:%i "$root$XS_EXPORT" 2>&1) vs $(stat -c %d:%i "$XS_EXPORT")" \
		test "$(stat -Lc %d:%i "$root$XS_EXPORT" 2>/dev/null)" = "$(stat -c %d:%i "$XS_EXPORT")"
	check "view: /etc is not in the worker's root" "it is" \
		test ! -e "$root/etc"
	check "view: the worker's root is read-only" "touch succeeded" \
		sh -c '! touch "$1/x" 2>/dev/null' sh "$root"
	check "view: the worker's /proc shows only its own process" \
		"it shows: $(ls "$root/proc" | head -5 | tr '\n' ' ')" \
		test "$(ls "$root/proc" | sort | tr '\n' ' ')" = "1 self thread-self "
	check "view: CapEff holds only the allowed capabilities" \
		"CapEff $(status_field "$w" CapEff)" caps_only "$w" CapEff $CAPS_KEPT
	check "view: CapPrm holds only the allowed capabilities" \
		"CapPrm $(status_field "$w" CapPrm)" caps_only "$w" CapPrm $CAPS_KEPT
	check "view: CapBnd holds only the allowed capabilities" \
		"CapBnd $(status_field "$w" CapBnd)" caps_only "$w" CapBnd $CAPS_KEPT
	check "view: no inheritable or ambient capabilities" \
		"CapInh $(status_field "$w" CapInh) CapAmb $(status_field "$w" CapAmb)" \
		test "$(status_field "$w" CapInh)$(status_field "$w" CapAmb)" = 00000000000000000000000000000000
	check "view: Seccomp: 2 (filter)" "Seccomp $(status_field "$w" Seccomp)" \
		test "$(status_field "$w" Seccomp)" = 2
	check "view: NoNewPrivs: 1" "NoNewPrivs $(status_field "$w" NoNewPrivs)" \
		test "$(status_field "$w" NoNewPrivs)" = 1
	check "view: the supervisor keeps no filter" \
		"Seccomp $(status_field "$sup" Seccomp)" \
		test "$(status_field "$sup" Seccomp)" = 0

	check_probes view "$outside" shared
	check "view: the mount works after the probes" "round trip failed" \
		mount_works "$XS_MNT" view
	stop_pair view
}

# check_probes LABEL PATH shared|own: every selftest line is a refusal,
# but for the file handle on a shared file system (docs/security.md).
check_probes() {
	local label=$1 path=$2 fs=$3 lines n bad handle
	lines=$(grep 'sandbox selftest: ' "$XS_BACK_LOG")
	n=$(grep -c ': refused (' <<<"$lines")
	check "$label: the selftest ran every probe" \
		"lines: $(tr '\n' ';' <<<"$lines")" \
		sh -c '[ "$1" -ge 8 ] && echo "$2" | grep -q "selftest: done"' sh "$n" "$lines"
	bad=$(grep -v 'open_by_handle_at' <<<"$lines" | grep ': OPENED')
	check "$label: no way to $path by path, .., symlink or /proc" \
		"$(tr '\n' ';' <<<"$bad")" test -z "$bad"
	handle=$(grep 'open_by_handle_at' <<<"$lines")
	if [ "$fs" = own ]; then
		check "$label: nor by file handle (export on its own file system)" \
			"$handle" grep -q ': refused (' <<<"$handle"
	else
		diag "$label: ${handle#*selftest: } (export shares the file system: the limit docs/security.md states)"
	fi
}

# ---- an export on its own file system ------------------------------------

test_own_fs() {
	local outside=$XS_TMP/outside/secret2

	mkdir -p "$XS_TMP/outside"
	echo secret >"$outside"
	xs_pair_dirs ownfs
	if ! mount -t tmpfs -o size=16m,mode=0755 xenshare-test "$XS_EXPORT"; then
		skip "ownfs: export on its own file system" "cannot mount a tmpfs"
		return
	fi
	if ! XS_SANDBOX_SELFTEST=$outside xs_start_back ||
	   ! xs_start_front; then
		not_ok "ownfs: start backend and frontend" "see the logs above"
		return
	fi
	check_probes ownfs "$outside" own
	check "ownfs: the mount works" "round trip failed" \
		mount_works "$XS_MNT" ownfs
	stop_pair ownfs
}

# ---- /etc/passwd, the default probe; a refused system call ----------------

test_refused_call() {
	local st
	xs_pair_dirs refuse
	XS_SANDBOX_SELFTEST=1 XS_SANDBOX_SELFTEST_REFUSE=1 xs_launch_back
	if ! xs_wait_exit "$XS_BACK_PID" 10; then
		not_ok "refuse: a worker that fails its first start stops the backend" \
			"still running"
		xs_kill "$XS_BACK_PID" 2
		return
	fi
	st=$XS_EXIT_STATUS
	check "refuse: no way to /etc/passwd either" \
		"$(grep 'selftest' "$XS_BACK_LOG" | grep -v handle | grep OPENED)" \
		sh -c '! grep selftest "$1" | grep -v handle | grep -q OPENED &&
		       grep -q "selftest: done" "$1"' sh "$XS_BACK_LOG"
	check "refuse: the log names the refused system call" \
		"$(grep -i 'refused\|worker' "$XS_BACK_LOG" | grep -v selftest | tr '\n' ';')" \
		grep -q 'the sandbox refused system call [0-9]* (ptrace)' "$XS_BACK_LOG"
	check "refuse: the filter stopped the worker" "no such line" \
		grep -q 'stopped by the sandbox.s system call filter' "$XS_BACK_LOG"
	check "refuse: a first start that fails is the backend's exit status 1" \
		"status $st" test "$st" -eq 1
}

# ---- restarts -------------------------------------------------------------

test_restart() {
	local sup w w2 w3 i mnt2 fpid rc
	start_pair restart || return
	sup=$XS_BACK_PID
	if ! w=$(wait_worker "$sup"); then
		not_ok "restart: a worker serves" "none"
		stop_pair restart
		return
	fi
	"$CTL" --local "$XS_SOCK" set quota-bytes=7M >/dev/null
	kill -KILL "$w"
	if w2=$(wait_worker "$sup" "$w"); then
		ok "restart: kill -9 of the worker: the supervisor starts another"
	else
		not_ok "restart: kill -9 of the worker: the supervisor starts another" \
			"$(grep worker "$XS_BACK_LOG" | tail -3 | tr '\n' ';')"
		stop_pair restart
		return
	fi
	check "restart: the supervisor logs the death" "no line" \
		grep -q "worker $w killed by signal 9" "$XS_BACK_LOG"
	check "restart: the supervisor is still running" "it exited" \
		xs_alive "$sup"
	check "restart: the frontend reconnects to the new worker" \
		"round trip failed for 20 s" wait_works "$XS_MNT" reconnected
	mnt2=$XS_TMP/restart/mnt2
	mkdir -p "$mnt2"
	xs_start_front_at "$mnt2"
	rc=$?
	fpid=$XS_FRONT_AT_PID
	if [ $rc -eq 0 ]; then
		check "restart: a new frontend mounts and works" "round trip failed" \
			mount_works "$mnt2" second
		fusermount3 -u "$mnt2" 2>/dev/null || xs_unmount "$mnt2"
	else
		not_ok "restart: a new frontend mounts and works" "no mount"
	fi
	xs_wait_exit "$fpid" 10 || xs_kill "$fpid" 2
	check "restart: a quota set live survives the restart" \
		"status: $("$CTL" --local "$XS_SOCK" status | grep quota-bytes)" \
		sh -c '"$1" --local "$2" status --json | grep -q "\"quota-bytes\": \"\{0,1\}7340032"' \
		sh "$CTL" "$XS_SOCK"

	# Three quick deaths in a row: the delay grows.
	w3=$w2
	for i in 1 2 3; do
		kill -KILL "$w3"
		w3=$(wait_worker "$sup" "$w3") || break
	done
	check "restart: a worker that keeps dying is restarted with a delay" \
		"$(grep 'restart' "$XS_BACK_LOG" | tail -4 | tr '\n' ';')" \
		grep -q 'keeps dying: restarting it in [0-9]* ms' "$XS_BACK_LOG"
	check "restart: and still comes back" "no worker" test -n "$w3"
	check "restart: the frontend still works after all that" "round trip failed" \
		wait_works "$XS_MNT" again
	stop_pair restart
}

# ---- stopping the supervisor ----------------------------------------------

# gone PID: PID is not running (or a zombie) within 5 s.
gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		xs_alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

test_stop() {
	local sig w
	for sig in TERM KILL; do
		start_pair "stop-$sig" || continue
		w=$(wait_worker "$XS_BACK_PID") || w=
		kill "-$sig" "$XS_BACK_PID"
		xs_wait_exit "$XS_BACK_PID" 10
		check "stop-$sig: no worker left after SIG$sig to the supervisor" \
			"worker $w still running" gone "${w:-0}"
		xs_wait_exit "$XS_FRONT_PID" 10 || xs_kill "$XS_FRONT_PID" 2
		xs_is_mounted "$XS_MNT" && xs_unmount "$XS_MNT"
	done
}

# ---- options ----------------------------------------------------------------

test_options() {
	local w
	start_pair nosandbox --no-sandbox || return
	w=$(wait_worker "$XS_BACK_PID")
	check "--no-sandbox: no filter" "Seccomp $(status_field "$w" Seccomp)" \
		test "$(status_field "$w" Seccomp)" = 0
	check "--no-sandbox: the host's mount namespace" "a new one" \
		test "$(readlink "/proc/$w/ns/mnt")" = "$(readlink "/proc/$XS_BACK_PID/ns/mnt")"
	check "--no-sandbox: the mount works" "round trip failed" \
		mount_works "$XS_MNT" nosandbox
	stop_pair nosandbox

	start_pair devices --allow-devices || return
	w=$(wait_worker "$XS_BACK_PID")
	check "--allow-devices: the worker keeps CAP_MKNOD" \
		"CapEff $(status_field "$w" CapEff)" \
		sh -c '[ $((0x$1 & $2)) -ne 0 ]' sh "$(status_field "$w" CapEff)" $CAP_MKNOD
	check "--allow-devices: and nothing else beyond the allowed set" \
		"CapBnd $(status_field "$w" CapBnd)" \
		caps_only "$w" CapBnd $((CAPS_KEPT | CAP_MKNOD))
	check "--allow-devices: a guest makes a device node" "mknod failed" \
		mknod "$XS_MNT/null" c 1 3
	stop_pair devices
}

test_view
test_own_fs
test_refused_call
test_restart
test_stop
test_options
xs_summary
