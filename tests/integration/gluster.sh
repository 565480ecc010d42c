#!/bin/bash
# SPDX-License-Identifier: MIT
#
# gluster.sh - xenshare exporting directories of a GlusterFS volume: a
# cluster file system, and one whose FUSE client has no file handles that
# last (docs/cluster-fs.md).
#
# The suite starts its own glusterd (its state directory, socket and logs
# under the test's directory, not /var/lib/glusterd), makes a one-brick
# volume on this host, mounts it twice with the GlusterFS FUSE client (as
# two dom0s would) and stops and deletes all of it at exit, also when a
# check fails.
#
#   recovery     the backend says at start, and in its status, that
#                restart recovery is limited on this export
#   integration  tests/integration/run.sh on a directory of the volume
#                (posix_ops, fsx with XS_GLUSTER_FSX_OPS operations, 1 and
#                4 processes; not everyday.sh, whose small-file trees took
#                over 8 minutes on a one-brick volume); posix_ops checks
#                that fail on the bare GlusterFS mount as well count as
#                skips
#   restart      tests/integration/restart.sh (upgrade with a descriptor
#                held across it, and two SIGKILLs under load) on the
#                volume: nodes and open files restored by name
#   two-hosts    two backends on the two mounts of the volume (two hosts)
#                exporting one directory: what each guest sees of the
#                other's writes, renames and deletions once its caches
#                expired (timed), quota usage on each, flock across the
#                two guests; the other scenarios' exports are further
#                directories of the same volume
#
# Needs root, glusterfs-server and glusterfs-client (scripts/install-deps.sh)
# and a non-loopback address for the brick (the gluster command refuses
# 127.0.0.1 for bricks; the volume is mounted through 127.0.0.1).  Skipped
# with the reason where they are missing or a glusterd already runs.
#
# Environment: BUILD, XS_WRAP (see tests/lib.sh), XS_GLUSTER_FSX_OPS
# (default 3000).
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
. "$(dirname "$0")/../lib.sh"

xs_require "gluster suite" "$XS_BACK_BIN" "$XS_FRONT_BIN" \
	"$XS_BUILD/tests/integration/posix_ops" "$XS_BUILD/tests/tools/fsx"

skip_all() {
	skip "gluster suite" "$1"
	xs_summary
	exit 0
}

[ "$(id -u)" = 0 ] || skip_all "needs root (glusterd, mount -t glusterfs)"
for tool in glusterd gluster mount.glusterfs; do
	command -v "$tool" >/dev/null ||
		skip_all "$tool is missing (apt-get install glusterfs-server glusterfs-client)"
done
# One glusterd per host: its port is fixed.
if pgrep -x glusterd >/dev/null; then
	skip_all "a glusterd already runs on this host"
fi
BRICK_HOST=$(hostname -I 2>/dev/null | tr ' ' '\n' |
	     grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' | grep -v '^127\.' |
	     head -n 1)
[ -n "$BRICK_HOST" ] || skip_all "no non-loopback IPv4 address for the brick"

FSX_OPS=${XS_GLUSTER_FSX_OPS:-3000}

xs_init
G=$XS_TMP/gluster
VOL=xs$$x$RANDOM
GCLI=(gluster --mode=script --glusterd-sock="$G/glusterd.socket")
GD_PID=

# ---- glusterd and the volume -------------------------------------------------

gluster_start() {
	mkdir -p "$G/state" "$G/brick" "$G/mnt1" "$G/mnt2" "$G/logs" || return 1
	cat >"$G/glusterd.vol" <<-EOF
	volume management
	    type mgmt/glusterd
	    option working-directory $G/state
	    option transport-type socket
	    option transport.socket.listen-port 24007
	    option glusterd-sockfile $G/glusterd.socket
	    option ping-timeout 0
	    option event-threads 1
	end-volume
	EOF
	glusterd -f "$G/glusterd.vol" -p "$G/glusterd.pid" \
		-l "$G/logs/glusterd.log" --log-level=WARNING || return 1
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s "$G/glusterd.pid" ] && "${GCLI[@]}" peer status \
			>/dev/null 2>&1 && break
		sleep 0.1
	done
	GD_PID=$(cat "$G/glusterd.pid" 2>/dev/null)
	"${GCLI[@]}" volume create "$VOL" "$BRICK_HOST:$G/brick" force \
		>"$G/logs/create.out" 2>&1 &&
	"${GCLI[@]}" volume start "$VOL" >>"$G/logs/create.out" 2>&1 &&
	gluster_mount "$G/mnt1" && gluster_mount "$G/mnt2"
}

gluster_mount() {
	mount -t glusterfs -o "log-file=$G/logs/${1##*/}.log" \
		"127.0.0.1:/$VOL" "$1" && chmod 755 "$1"
}

# Everything of ours goes, whatever state the suite is in: xenshare's
# mounts and daemons, the volume's mounts, the volume, glusterd.
gluster_cleanup() {
	local pid mp
	for pid in "${XS_PIDS[@]}"; do
		xs_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	xs_mounts_under "$XS_TMP" fuse.xenshare | sort -r | while read -r mp; do
		fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
	done
	for pid in "${XS_PIDS[@]}"; do
		xs_wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null
	done
	for mp in "$G/mnt1" "$G/mnt2"; do
		xs_is_mounted "$mp" && { umount "$mp" 2>/dev/null || umount -l "$mp"; }
	done
	if [ -n "$GD_PID" ] && xs_alive "$GD_PID"; then
		"${GCLI[@]}" volume stop "$VOL" force >/dev/null 2>&1
		"${GCLI[@]}" volume delete "$VOL" >/dev/null 2>&1
		kill -TERM "$GD_PID" 2>/dev/null
		xs_all_gone 10 "$GD_PID" || kill -KILL "$GD_PID" 2>/dev/null
	fi
	# A brick process left by a glusterd that died first.
	for pid in $(cat /var/run/gluster/vols/"$VOL"/*.pid 2>/dev/null); do
		xs_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	local log=${G#/}
	rm -rf "/var/run/gluster/vols/$VOL" \
		"/var/log/glusterfs/bricks/${log//\//-}-brick.log" 2>/dev/null
	xs_cleanup
}
trap 'gluster_cleanup' EXIT

if ! gluster_start; then
	diag "$(cat "$G/logs/create.out" 2>/dev/null)"
	not_ok "a one-brick GlusterFS volume is created, started and mounted twice" \
		"see $G/logs"
	xs_summary
	exit 1
fi
ok "a one-brick GlusterFS volume is created, started and mounted twice"

# ---- recovery: what the backend says about the export ------------------------

scenario_recovery() {
	local st
	mkdir -p "$G/mnt1/recovery"
	if ! XS_EXPORT_BASE=$G/mnt1/recovery xs_pair_start recovery; then
		not_ok "recovery: a pair serves a directory of the volume" "see logs"
		xs_show_logs recovery
		return
	fi
	check "recovery: the backend says at start that restart recovery is limited" \
		"$(cat "$XS_BACK_LOG")" \
		xs_log_has "$XS_BACK_LOG" 'restart recovery is limited: a FUSE file system' 5
	st=$("$XS_BACK_BIN" --ctl "$XS_SOCK" status 2>&1)
	check "recovery: status says restart-recovery=by-name" "$st" \
		grep -qx 'restart-recovery=by-name' <<<"$st"
	xs_pair_stop
}

# ---- integration: run.sh and posix_ops on the volume -------------------------

scenario_integration() {
	local base=$G/mnt1/integration known=$XS_TMP/gluster-fails
	mkdir -p "$base/bare"
	# What GlusterFS itself cannot do, measured on the bare mount.
	"$XS_BUILD/tests/integration/posix_ops" -u "$base/bare" 2>&1 |
		sed -n 's/^not ok - \([^:]*\):.*/\1/p' >"$known"
	diag "posix_ops on the bare GlusterFS mount fails $(wc -l <"$known") checks:"
	sed 's/^/#   /' "$known"
	XS_EXPORT_BASE=$base XS_FSX_OPS=$FSX_OPS XS_HOST_FAILS=$known XS_EVERYDAY=0 \
		xs_run_counted "run.sh on GlusterFS" "$XS_ROOT/tests/integration/run.sh"
}

# ---- restart ------------------------------------------------------------------

scenario_restart() {
	mkdir -p "$G/mnt1/restart"
	XS_EXPORT_BASE=$G/mnt1/restart XS_RESTART_ONLY="upgrade load" \
		XS_RESTART_KILLS=2 \
		xs_run_counted "restart.sh on GlusterFS" \
		"$XS_ROOT/tests/integration/restart.sh"
}

# ---- two hosts: two backends on one volume ------------------------------------

# wait_for SECONDS CMD...: until CMD succeeds; prints the seconds it took.
wait_for() {
	local n=$1 i t0
	shift
	t0=$(date +%s.%N)
	for ((i = 0; i < n * 10; i++)); do
		if "$@" 2>/dev/null; then
			awk -v a="$t0" -v b="$(date +%s.%N)" \
				'BEGIN { printf "%.1f\n", b - a }'
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# seen NAME DETAIL_CMD CMD...: ok NAME (with the time it took) once CMD
# succeeds within 10 s, else not ok with DETAIL_CMD's output.
seen() {
	local name=$1 detail=$2 t
	shift 2
	if t=$(wait_for 10 "$@"); then
		ok "$name (after $t s)"
	else
		not_ok "$name" "$($detail 2>&1)"
	fi
}

usage_bytes() {
	"$XS_BACK_BIN" --ctl "$1" status 2>/dev/null |
		sed -n 's/^usage-bytes=//p'
}

# host_start NAME EXPORT: a pair (backend and guest) of host NAME serving
# EXPORT.
host_start() {
	xs_pair_dirs "host-$1"
	XS_EXPORT=$2
	xs_start_back || { not_ok "two hosts: backend $1 starts" "see logs"; return 1; }
	xs_start_front || { not_ok "two hosts: guest $1 mounts" "see logs"; return 1; }
}

scenario_two_hosts() {
	local s="two hosts" fails=$XS_FAIL a b sock_a sock_b ua ub a_pid b_pid
	local fa fb
	mkdir -p "$G/mnt1/shared"
	chmod 755 "$G/mnt1/shared"
	# Host A exports through mount 1, host B through mount 2: the same
	# directory "shared".
	host_start A "$G/mnt1/shared" || return
	a_pid=$XS_BACK_PID sock_a=$XS_SOCK a=$XS_MNT fa=$XS_FRONT_PID
	host_start B "$G/mnt2/shared" || return
	b_pid=$XS_BACK_PID sock_b=$XS_SOCK b=$XS_MNT fb=$XS_FRONT_PID
	ok "$s: two backends serve one directory of the volume through two mounts"

	echo "from a" >"$a/f"
	seen "$s: a file written by guest A is seen by guest B" "cat $b/f" \
		grep -qx "from a" "$b/f"
	echo "from b" >>"$b/f"
	seen "$s: an append by guest B is seen by guest A" "cat $a/f" \
		grep -qx "from b" "$a/f"
	mv "$a/f" "$a/g"
	seen "$s: a rename by guest A is seen by guest B" "ls $b" \
		test -e "$b/g" -a ! -e "$b/f"
	rm "$b/g"
	seen "$s: a deletion by guest B is seen by guest A" "ls $a" \
		test ! -e "$a/g"

	# Quota usage: each backend counts what its own guest does.
	dd if=/dev/zero of="$a/big" bs=1M count=8 conv=fsync status=none
	sleep 1
	ua=$(usage_bytes "$sock_a")
	ub=$(usage_bytes "$sock_b")
	diag "usage-bytes after guest A wrote 8 MiB: A $ua, B $ub"
	check "$s: backend A counts its guest's 8 MiB" "A: $ua" \
		test "${ua:-0}" -ge $((8 << 20))
	check "$s: backend B does not see another host's writes in its usage" \
		"B: $ub" test "${ub:-0}" -lt $((8 << 20))
	rm -f "$a/big"

	# Locks are the guest kernel's: no exclusion across guests.
	: >"$a/lock"
	wait_for 10 test -e "$b/lock" >/dev/null
	flock -x "$a/lock" sleep 3 &
	local holder=$!
	sleep 0.5
	if flock -n -x "$b/lock" true; then
		ok "$s: flock is not exclusive across guests (documented)"
	else
		ok "$s: flock held by guest A blocks guest B"
	fi
	wait "$holder" 2>/dev/null

	XS_FRONT_PID=$fb
	xs_pair_stop
	XS_MNT=$a XS_BACK_PID=$a_pid XS_FRONT_PID=$fa
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$s: final stop is clean" "$XS_STOP_WHY"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
}

scenario_recovery
scenario_integration
scenario_restart
scenario_two_hosts

xs_summary
