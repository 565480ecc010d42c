#!/bin/bash
# SPDX-License-Identifier: MIT
#
# quota.sh - byte and inode quotas over the local transport, seen from a
# mounted frontend and checked on the host with du:
#   - a guest at its byte quota gets EDQUOT and df shows the quota;
#   - 8 concurrent writers never push usage (du, and status) past it;
#   - raising the quota live lets a writer blocked on EDQUOT continue;
#     lowering it blocks growth and loses nothing;
#   - inode quota: create until EDQUOT, remove one, create again;
#   - usage after kill -9 of the backend and a restart equals du;
#   - a file unlinked (or renamed over) while open stays charged, with
#     what is written to it afterwards, until its last handle is closed;
#     usage then returns to what it was before the file was made, and a
#     worker restart while it is open agrees with du.
#
# usage: tests/integration/quota.sh   (as root; BUILD as for tests/lib.sh)
#
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

CTL=$XS_ROOT/xenstore-scripts/xenshare-ctl
export XENSHARE_BACK=$XS_BACK_BIN
MiB=$((1024 * 1024))

du_bytes() { du -sB1 "$1" | cut -f1; }
du_inodes() { du --inodes -s "$1" | cut -f1; }

# usage_matches_du NAME: status usage equals du on the export.
usage_matches_du() {
	local ub ui db di
	ub=$(xs_ctl_field usage-bytes)
	ui=$(xs_ctl_field usage-inodes)
	db=$(du_bytes "$XS_EXPORT")
	di=$(du_inodes "$XS_EXPORT")
	if [ "$ub" = "$db" ] && [ "$ui" = "$di" ]; then
		ok "$1"
	else
		not_ok "$1" "status says $ub bytes $ui inodes, du $db bytes $di inodes"
	fi
}

ctl_set() {
	"$CTL" --local "$XS_SOCK" set "$@" >/dev/null
}

start_pair() {
	local name=$1
	shift
	# shellcheck disable=SC2034  # read by xs_pair_start
	XS_BACK_ARGS=("$@")
	# shellcheck disable=SC2034
	XS_FRONT_ARGS=()
	if ! xs_pair_start "$name"; then
		not_ok "$name: start backend and frontend" "see the logs above"
		return 1
	fi
}

# ---- a guest at its byte quota ----------------------------------------------

test_edquot() {
	local q=$((4 * MiB)) err size used avail

	start_pair bytes --quota-bytes 4M || return
	size=$(df -B1 --output=size "$XS_MNT" | tail -n 1 | tr -d ' ')
	check "df in the guest shows the quota as the size" \
		"size $size, quota $q" [ "$size" = "$q" ]

	err=$(dd if=/dev/zero of="$XS_MNT/big" bs=1M count=10 2>&1)
	case $err in
	*"Disk quota exceeded"*) ok "a write past the byte quota gets EDQUOT" ;;
	*) not_ok "a write past the byte quota gets EDQUOT" "dd said: $err" ;;
	esac
	check "du on the host stays within the quota" \
		"du $(du_bytes "$XS_EXPORT") > $q" \
		[ "$(du_bytes "$XS_EXPORT")" -le "$q" ]
	used=$(df -B1 --output=used "$XS_MNT" | tail -n 1 | tr -d ' ')
	avail=$(df -B1 --output=avail "$XS_MNT" | tail -n 1 | tr -d ' ')
	check "df in the guest shows the usage as used" \
		"df used $used, status $(xs_ctl_field usage-bytes)" \
		[ "$used" = "$(xs_ctl_field usage-bytes)" ]
	check "df shows less than two blocks available at the limit" \
		"avail $avail" [ "$avail" -lt 8192 ]
	check "status says hard-limit" "status $(xs_ctl_field status)" \
		[ "$(xs_ctl_field status)" = hard-limit ]
	check "the soft limit was logged" "no warning in the backend log" \
		grep -q "over the soft limit\|at the hard limit" "$XS_BACK_LOG"
	usage_matches_du "usage at the limit equals du"

	rm -f "$XS_MNT/big"
	check "the guest keeps working when space is freed" \
		"writing after rm failed" \
		dd if=/dev/zero of="$XS_MNT/small" bs=64k count=16 status=none
	check "status is ok again" "status $(xs_ctl_field status)" \
		[ "$(xs_ctl_field status)" = ok ]
	usage_matches_du "usage after freeing equals du"
	xs_pair_stop || not_ok "bytes: clean stop" "see logs"
}

# ---- concurrent writers, live changes -------------------------------------

# writer FILE BYTES [TRIES]: append 64 KiB at a time until FILE holds
# BYTES, retrying after EDQUOT (a short write is fine) every 0.1 s, for at
# most 60 s, or giving up after TRIES refusals.
writer() {
	local f=$1 want=$2 tries=${3:-0} end=$((SECONDS + 60)) have fails=0
	while [ $SECONDS -lt $end ]; do
		have=$(stat -c %s "$f" 2>/dev/null || echo 0)
		[ "$have" -ge "$want" ] && return 0
		if ! dd if=/dev/zero of="$f" bs=64k count=1 oflag=append \
			conv=notrunc status=none 2>/dev/null; then
			fails=$((fails + 1))
			[ "$tries" -gt 0 ] && [ "$fails" -ge "$tries" ] && return 1
			sleep 0.1
		fi
	done
	return 1
}

# sampler STOPFILE OUT: until STOPFILE exists, record the largest du of
# the export and usage-bytes of the status in OUT ("samples du status").
sampler() {
	local n=0 d s max_du=0 max_st=0
	while [ ! -e "$1" ]; do
		d=$(du_bytes "$XS_EXPORT")
		s=$(xs_ctl_field usage-bytes)
		[ "$d" -gt "$max_du" ] && max_du=$d
		[ -n "$s" ] && [ "$s" -gt "$max_st" ] && max_st=$s
		n=$((n + 1))
	done
	echo "$n $max_du $max_st" >"$2"
}

test_writers() {
	local q=$((24 * MiB)) i pids=() max_du max_st d n before after size
	local f sums spid stop=$XS_TMP/writers.stop out=$XS_TMP/writers.max

	start_pair writers --quota-bytes 24M || return
	sampler "$stop" "$out" &
	spid=$!
	# Each wants more than its share and keeps trying for a while at the
	# limit, so that all eight compete for the last blocks.
	for i in 1 2 3 4 5 6 7 8; do
		writer "$XS_MNT/w$i" $((8 * MiB)) 15 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	touch "$stop"
	wait "$spid"
	read -r n max_du max_st <"$out"
	d=$(du_bytes "$XS_EXPORT")
	[ "$d" -gt "$max_du" ] && max_du=$d
	diag "writers: $n samples, at most $max_du bytes by du, $max_st by status"
	check "8 concurrent writers never push du past the quota" \
		"du reached $max_du > $q" [ "$max_du" -le "$q" ]
	check "8 concurrent writers never push status usage past the quota" \
		"status reached $max_st > $q" [ "$max_st" -le "$q" ]
	check "the writers filled the quota" "du $d, quota $q" \
		[ "$d" -gt $((q - MiB)) ]
	usage_matches_du "usage after concurrent writers equals du"

	# Raising the quota live lets a writer blocked on EDQUOT continue.
	before=$(du_bytes "$XS_EXPORT")
	writer "$XS_MNT/grow" $((4 * MiB)) &
	i=$!
	sleep 1
	check "a writer at the quota is blocked" "it grew to $(stat -c %s \
		"$XS_EXPORT/grow" 2>/dev/null)" \
		[ "$(stat -c %s "$XS_EXPORT/grow" 2>/dev/null || echo 0)" -lt $((128 * 1024)) ]
	check "xenshare-ctl set quota-bytes raises the quota live" \
		"xenshare-ctl failed" ctl_set quota-bytes=32M
	if xs_wait_exit "$i" 60 && wait "$i"; then
		ok "raising the quota lets the blocked writer continue"
	else
		not_ok "raising the quota lets the blocked writer continue" \
			"grow is $(stat -c %s "$XS_EXPORT/grow" 2>/dev/null) bytes"
		kill "$i" 2>/dev/null
	fi
	size=$(df -B1 --output=size "$XS_MNT" | tail -n 1 | tr -d ' ')
	check "df follows the live change" "size $size" \
		[ "$size" = $((32 * MiB)) ]

	# Lowering it below the usage blocks growth and loses nothing.
	sums=$(cd "$XS_EXPORT" && md5sum w* grow)
	after=$(du_bytes "$XS_EXPORT")
	check "xenshare-ctl set lowers the quota below the usage" \
		"xenshare-ctl failed" ctl_set quota-bytes=8M
	if dd if=/dev/zero of="$XS_MNT/more" bs=4k count=1 status=none \
		2>/dev/null; then
		not_ok "a lowered quota blocks growth" "a new write succeeded"
	else
		ok "a lowered quota blocks growth"
	fi
	check "a lowered quota loses nothing" "files changed" \
		[ "$sums" = "$(cd "$XS_EXPORT" && md5sum w* grow)" ]
	check "status is hard-limit when over a lowered quota" \
		"status $(xs_ctl_field status)" [ "$(xs_ctl_field status)" = hard-limit ]
	f=$(df -B1 --output=avail "$XS_MNT" | tail -n 1 | tr -d ' ')
	check "df shows nothing available over a lowered quota" "avail $f" \
		[ "$f" = 0 ]
	rm -f "$XS_MNT"/w*
	check "writes work again once usage is below the lowered quota" \
		"write failed (du $(du_bytes "$XS_EXPORT"))" \
		dd if=/dev/zero of="$XS_MNT/more" bs=64k count=4 status=none
	check "a bad value is refused and changes nothing" \
		"xenshare-ctl accepted quota-bytes=lots" \
		bash -c "! '$CTL' --local '$XS_SOCK' set quota-bytes=8M quota-inodes=lots 2>/dev/null"
	diag "usage before the writer $before, after $after"
	usage_matches_du "usage after live changes equals du"
	xs_pair_stop || not_ok "writers: clean stop" "see logs"
}

# ---- inodes ------------------------------------------------------------------

test_inodes() {
	local i n=0 err files

	start_pair inodes --quota-inodes 10 || return
	files=$(df --output=itotal "$XS_MNT" | tail -n 1 | tr -d ' ')
	check "df -i in the guest shows the inode quota" "itotal $files" \
		[ "$files" = 10 ]
	for i in $(seq 1 20); do
		if ! err=$(touch "$XS_MNT/f$i" 2>&1); then
			break
		fi
		n=$((n + 1))
	done
	case $err in
	*"Disk quota exceeded"*) ok "creating past the inode quota gets EDQUOT" ;;
	*) not_ok "creating past the inode quota gets EDQUOT" "touch said: $err" ;;
	esac
	# The export's root is one of the ten.
	check "exactly the quota's inodes were created" "$n files" [ "$n" = 9 ]
	if mkdir "$XS_MNT/d" 2>/dev/null; then
		not_ok "mkdir at the inode quota fails" "it succeeded"
	else
		ok "mkdir at the inode quota fails"
	fi
	rm -f "$XS_MNT/f1"
	check "after rm, touch works again" "touch failed" touch "$XS_MNT/new"
	check "xenshare-ctl raises the inode quota" "set failed" \
		ctl_set quota-inodes=12
	check "after raising it, mkdir works" "mkdir failed" mkdir "$XS_MNT/d"
	usage_matches_du "inode usage equals du --inodes"
	xs_pair_stop || not_ok "inodes: clean stop" "see logs"
}

# ---- crash and restart ---------------------------------------------------------

test_restart() {
	local i wpid

	start_pair restart --quota-bytes 64M --quota-inodes 1000 || return
	mkdir -p "$XS_MNT/a/b/c"
	for i in 1 2 3 4 5; do
		dd if=/dev/urandom of="$XS_MNT/a/b/f$i" bs=37k count=$i \
			status=none
	done
	ln "$XS_MNT/a/b/f1" "$XS_MNT/a/hard1"
	ln "$XS_MNT/a/b/f1" "$XS_MNT/a/b/c/hard2"
	ln -s ../b/f2 "$XS_MNT/a/sym"
	truncate -s 100M "$XS_MNT/sparse"
	dd if=/dev/zero of="$XS_MNT/sparse" bs=4k count=3 seek=1000 \
		conv=notrunc status=none
	usage_matches_du "usage before the crash equals du"
	# Crash with a writer running.
	dd if=/dev/zero of="$XS_MNT/running" bs=64k count=400 status=none \
		2>/dev/null &
	wpid=$!
	sleep 0.2
	kill -KILL "$XS_BACK_PID"
	xs_wait_exit "$XS_BACK_PID" 5
	wait "$wpid" 2>/dev/null
	xs_wait_exit "$XS_FRONT_PID" 10 || xs_kill "$XS_FRONT_PID" 2
	xs_is_mounted "$XS_MNT" && xs_unmount "$XS_MNT"
	# The dead backend's socket is still there: wait for the new one.
	rm -f "$XS_SOCK"
	if ! xs_start_back --quota-bytes 64M --quota-inodes 1000 ||
		! xs_wait_ctl; then
		not_ok "restart the backend" "see the log"
		return
	fi
	usage_matches_du "usage after kill -9 and a restart equals du"
	check "the quotas are back after the restart" \
		"quota-bytes $(xs_ctl_field quota-bytes)" \
		[ "$(xs_ctl_field quota-bytes)" = $((64 * MiB)) ]
	xs_kill "$XS_BACK_PID" 10 || not_ok "restart: clean stop" "see logs"
}

# ---- files with no name left, still open -----------------------------------

# wait_usage BYTES INODES: until the status says so (5 s; a release
# reaches the backend after close returns).
wait_usage() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(xs_ctl_field usage-bytes)" = "$1" ] &&
			[ "$(xs_ctl_field usage-inodes)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# charged_at_least BYTES INODES: usage is at least that.
charged_at_least() {
	[ "$(xs_ctl_field usage-bytes)" -ge "$1" ] && [ "$(xs_ctl_field usage-inodes)" -ge "$2" ]
}

usage_now() {
	echo "usage $(xs_ctl_field usage-bytes) bytes $(xs_ctl_field usage-inodes) inodes"
}

# charged NAME BYTES INODES: the test NAME, usage at least that.
charged() {
	if charged_at_least "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "$(usage_now), want at least $2 $3"
	fi
}

# released NAME BYTES INODES: the test NAME, usage back to exactly that.
released() {
	if wait_usage "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "$(usage_now), want $2 $3"
	fi
}

test_unlinked_open() {
	local b0 i0 b1

	start_pair unlinked --quota-bytes 64M || return
	b0=$(xs_ctl_field usage-bytes)
	i0=$(xs_ctl_field usage-inodes)

	# open, unlink, write, close.
	dd if=/dev/zero of="$XS_MNT/gone" bs=1M count=1 status=none
	exec 3>>"$XS_MNT/gone"
	rm -f "$XS_MNT/gone"
	charged "an unlinked open file stays charged" $((b0 + MiB)) $((i0 + 1))
	dd if=/dev/zero bs=1M count=2 conv=fsync status=none >&3
	charged "writes after the unlink are charged" $((b0 + 3 * MiB)) $((i0 + 1))
	exec 3>&-
	released "closing it gives back everything it held" "$b0" "$i0"
	usage_matches_du "usage after the last close equals du"

	# rename over an open file.
	dd if=/dev/zero of="$XS_MNT/target" bs=1M count=1 status=none
	echo new >"$XS_MNT/src"
	b1=$(du_bytes "$XS_MNT/src")
	exec 3>>"$XS_MNT/target"
	mv "$XS_MNT/src" "$XS_MNT/target"
	dd if=/dev/zero bs=1M count=1 conv=fsync status=none >&3
	charged "a file renamed over while open stays charged, writes too" \
		$((b0 + 2 * MiB + b1)) $((i0 + 2))
	exec 3>&-
	released "closing the replaced file gives back what it held" \
		$((b0 + b1)) $((i0 + 1))
	rm -f "$XS_MNT/target"
	released "usage is back where it started" "$b0" "$i0"

	# two handles: the first close keeps it, the last gives it back.
	echo x >"$XS_MNT/two"
	exec 3>>"$XS_MNT/two" 4>>"$XS_MNT/two"
	rm -f "$XS_MNT/two"
	dd if=/dev/zero bs=1M count=1 conv=fsync status=none >&3
	exec 3>&-
	sleep 0.3
	charged "closing one of two handles keeps the file charged" \
		$((b0 + MiB)) $((i0 + 1))
	dd if=/dev/zero bs=1M count=1 conv=fsync status=none >&4
	charged "the other handle's writes are charged" $((b0 + 2 * MiB)) $((i0 + 1))
	exec 4>&-
	released "the last close gives back everything" "$b0" "$i0"

	# a worker restart while it is open: the rescan and the release of
	# the handle the frontend restores (or not) agree with du.
	dd if=/dev/zero of="$XS_MNT/held" bs=1M count=1 status=none
	exec 3>>"$XS_MNT/held"
	rm -f "$XS_MNT/held"
	dd if=/dev/zero bs=1M count=1 conv=fsync status=none >&3
	kill -KILL $(cat /proc/"$XS_BACK_PID"/task/*/children) 2>/dev/null
	sleep 1
	wait_ctl
	ls "$XS_MNT" >/dev/null 2>&1
	exec 3>&-
	sleep 0.5
	released "after a worker restart with it open, usage is back where it started" \
		"$b0" "$i0"
	usage_matches_du "usage after the restart and the close equals du"
	xs_pair_stop || not_ok "unlinked: clean stop" "see logs"
}

main() {
	if [ "$(id -u)" != 0 ]; then
		skip "quota" "needs root (FUSE mounts, the backend's id switching)"
		xs_summary
		exit 0
	fi
	if [ ! -x "$XS_BACK_BIN" ] || [ ! -x "$XS_FRONT_BIN" ]; then
		not_ok "quota" "build $XS_BACK_BIN and $XS_FRONT_BIN first"
		xs_summary
		exit 1
	fi
	if [ ! -c /dev/fuse ]; then
		skip "quota" "no /dev/fuse"
		xs_summary
		exit 0
	fi
	xs_init
	test_edquot
	test_writers
	test_inodes
	test_restart
	test_unlinked_open
	xs_summary
}

main "$@"
