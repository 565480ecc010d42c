#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh - hostile frontends against one backend that also serves a
# well-behaved one.  Starts xenshare-back on a fresh export, mounts it with
# xenshare-front, keeps a verification workload running on the mount
# (write a file, read it back, compare checksums, time each iteration),
# measures a baseline, then runs every attack of tests/hostile/hostile in
# turn against the same backend.  After each attack:
#
#   - the attack's own checks (its ok / not ok lines are counted here);
#   - the backend process is still alive;
#   - the well-behaved client saw no error, and its mean iteration time
#     while the attack ran stayed within XS_HOSTILE_FACTOR (default 5) of
#     the baseline;
#   - the backend's descriptor count (/proc/PID/fd) came back to its
#     baseline once the attacker was gone;
#   - nothing outside the export changed: a sentinel directory that
#     symlinks in the export point to, the directories around the export,
#     and /etc.
#
#   tests/hostile/run.sh [ATTACK...]      (default: all of them)
#
# Environment: BUILD, XS_WRAP (see tests/lib.sh), XS_HOSTILE_FACTOR.
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
. "$(dirname "$0")/../lib.sh"

HOSTILE=$XS_BUILD/tests/hostile/hostile
FACTOR=${XS_HOSTILE_FACTOR:-5}
SLACK_MS=150		# added to the allowed time: fast baselines are noisy

xs_require "hostile suite" "$XS_BACK_BIN" "$XS_FRONT_BIN" "$HOSTILE"

if [ $# -gt 0 ]; then
	ATTACKS=("$@")
else
	mapfile -t ATTACKS < <("$HOSTILE" --list)
fi

xs_init
WORK=$XS_TMP/work
mkdir -p "$WORK" "$XS_TMP/outside"
: >"$WORK/errors"
: >"$WORK/times"
xs_pair_dirs hostile

# ---- what must never change ----------------------------------------------

echo "secret" >"$XS_TMP/outside/secret"
mkdir "$XS_TMP/outside/dir"
ln -s ../../outside "$XS_EXPORT/escape"
ln -s "$XS_TMP/outside" "$XS_EXPORT/abs"
ln -s /etc "$XS_EXPORT/etc"
ln -s /etc/passwd "$XS_EXPORT/passwd"

snapshot() {
	stat -c '%n %s %y %z %a %u %g %h' /etc /etc/passwd /etc/shadow \
		"$XS_TMP" "$XS_TMP/outside" "$XS_TMP/outside/"* \
		"$(dirname "$XS_EXPORT")" 2>/dev/null
	echo "--"
	ls -a "$XS_TMP" "$XS_TMP/outside" "$(dirname "$XS_EXPORT")"
}

# ---- the well-behaved client -----------------------------------------------

head -c $((1024 * 1024)) /dev/urandom >"$WORK/src"
SRC_SUM=$(sha256sum <"$WORK/src")

# One iteration: write 1 MiB, read it back, small rewrite, stat and list.
iteration() {
	local d=$1 f=$1/f$(($2 % 4)) sum
	cp "$WORK/src" "$f" || return 1
	sum=$(sha256sum <"$f") || return 1
	[ "$sum" = "$SRC_SUM" ] || { echo "checksum mismatch on $f"; return 1; }
	echo "iteration $2" >"$d/counter" || return 1
	[ "$(cat "$d/counter")" = "iteration $2" ] || return 1
	stat "$f" >/dev/null && ls "$d" >/dev/null
}

workload() {
	local d=$XS_MNT/wb i=0 t0 t1
	mkdir -p "$d" || { echo "mkdir $d failed" >>"$WORK/errors"; return; }
	while [ ! -e "$WORK/stop" ]; do
		if [ -e "$WORK/pause" ]; then
			: >"$WORK/paused"
			sleep 0.05
			continue
		fi
		rm -f "$WORK/paused"
		t0=$(date +%s%N)
		if ! out=$(iteration "$d" "$i" 2>&1); then
			echo "iteration $i: ${out:-failed}" >>"$WORK/errors"
		fi
		t1=$(date +%s%N)
		echo "$t0 $t1" >>"$WORK/times"
		i=$((i + 1))
	done
}

pause_workload() {
	local n
	: >"$WORK/pause"
	for ((n = 0; n < 600; n++)); do
		[ -e "$WORK/paused" ] && return 0
		sleep 0.05
	done
	return 1
}

resume_workload() {
	rm -f "$WORK/pause" "$WORK/paused"
}

iterations_done() {
	wc -l <"$WORK/times"
}

# wait_iterations N: until N more iterations have ended (60 s at most).
wait_iterations() {
	local want=$(( $(iterations_done) + $1 )) n
	for ((n = 0; n < 600; n++)); do
		[ "$(iterations_done)" -ge "$want" ] && return 0
		xs_alive "$WL_PID" || return 1
		sleep 0.1
	done
	return 1
}

# mean_ms FROM_NS TO_NS: mean duration of iterations that overlap the
# window, and their count.
mean_ms() {
	awk -v a="$1" -v b="$2" '
		$2 >= a && $1 <= b { s += $2 - $1; n++ }
		END { if (n) printf "%d %d\n", s / n / 1000000, n; else print "0 0" }
	' "$WORK/times"
}

fd_count() {
	ls "/proc/$XS_BACK_PID/fd" 2>/dev/null | wc -l
}

# fds_settle: with the workload paused, wait until the backend holds no
# more descriptors than at the baseline; prints the last count.
fds_settle() {
	local n c
	for ((n = 0; n < 100; n++)); do
		c=$(fd_count)
		[ "$c" -le "$FD_BASE" ] && break
		sleep 0.1
	done
	echo "$c"
}

# ---- set up ------------------------------------------------------------------

if ! xs_start_back; then
	not_ok "backend starts" "see its log above"
	xs_summary
	exit 1
fi
if ! xs_start_front; then
	not_ok "frontend mounts the export" "see its log above"
	xs_summary
	exit 1
fi
ok "backend serves a well-behaved frontend"

workload &
WL_PID=$!
XS_PIDS+=("$WL_PID")

if ! wait_iterations 3; then
	not_ok "workload runs" "$(cat "$WORK/errors" 2>/dev/null)"
	xs_summary
	exit 1
fi
t0=$(date +%s%N)
sleep 3
wait_iterations 2
t1=$(date +%s%N)
read -r BASE_MS BASE_N <<<"$(mean_ms "$t0" "$t1")"
[ "$BASE_MS" -ge 1 ] || BASE_MS=1
ALLOWED_MS=$((BASE_MS * FACTOR + SLACK_MS))
pause_workload
FD_BASE=$(fd_count)
resume_workload
SNAP=$(snapshot)
diag "baseline: $BASE_N iterations, mean ${BASE_MS} ms; allowed ${ALLOWED_MS} ms; backend holds $FD_BASE fds"
if [ -s "$WORK/errors" ]; then
	not_ok "workload has no error before the attacks" "$(head -3 "$WORK/errors")"
else
	ok "workload has no error before the attacks"
fi

# ---- the attacks ---------------------------------------------------------------

for attack in "${ATTACKS[@]}"; do
	errs_before=$(wc -l <"$WORK/errors")
	a_start=$(date +%s%N)
	xs_run_counted "hostile $attack" "$HOSTILE" "$attack" "$XS_SOCK"
	a_end=$(date +%s%N)

	if xs_alive "$XS_BACK_PID"; then
		ok "$attack: backend still running"
	else
		not_ok "$attack: backend still running" "it exited; log tail: $(tail -3 "$XS_BACK_LOG" | tr '\n' '|')"
		break
	fi

	if ! wait_iterations 2; then
		not_ok "$attack: well-behaved client unaffected" "no progress within 60 s after the attack"
	else
		read -r ms n <<<"$(mean_ms "$a_start" "$(date +%s%N)")"
		errs_after=$(wc -l <"$WORK/errors")
		if [ "$errs_after" -ne "$errs_before" ]; then
			not_ok "$attack: well-behaved client unaffected" "$(tail -n +$((errs_before + 1)) "$WORK/errors" | head -3 | tr '\n' '|')"
		elif [ "$ms" -gt "$ALLOWED_MS" ]; then
			not_ok "$attack: well-behaved client unaffected" "mean iteration ${ms} ms over $n iterations, baseline ${BASE_MS} ms (allowed ${ALLOWED_MS} ms)"
		else
			ok "$attack: well-behaved client unaffected (mean ${ms} ms over $n iterations, baseline ${BASE_MS} ms)"
		fi
	fi

	if pause_workload; then
		fds=$(fds_settle)
		resume_workload
		if [ "$fds" -le "$FD_BASE" ]; then
			ok "$attack: backend fds back to baseline ($fds <= $FD_BASE)"
		else
			not_ok "$attack: backend fds back to baseline" "$fds fds after 10 s, baseline $FD_BASE"
		fi
	else
		resume_workload
		not_ok "$attack: backend fds back to baseline" "could not pause the workload"
	fi

	now=$(snapshot)
	if [ "$now" = "$SNAP" ]; then
		ok "$attack: nothing outside the export changed"
	else
		not_ok "$attack: nothing outside the export changed" "$(diff <(echo "$SNAP") <(echo "$now") | grep '^[<>]' | head -4 | tr '\n' '|')"
		SNAP=$now
	fi
	diag "$attack took $(( (a_end - a_start) / 1000000 )) ms"
done

# ---- tear down -------------------------------------------------------------------

: >"$WORK/stop"
xs_wait_exit "$WL_PID" 60 || xs_kill "$WL_PID"
if [ -s "$WORK/errors" ]; then
	not_ok "well-behaved client: no error over the whole run" "$(head -3 "$WORK/errors" | tr '\n' '|')"
else
	ok "well-behaved client: no error over the whole run ($(iterations_done) iterations)"
fi
if xs_pair_stop; then
	ok "backend and frontend shut down cleanly"
else
	not_ok "backend and frontend shut down cleanly" "see $XS_BACK_LOG"
fi
if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$XS_BACK_LOG"; then
	not_ok "backend log has no sanitizer report" "$(grep -m1 -E 'AddressSanitizer|runtime error|LeakSanitizer' "$XS_BACK_LOG")"
fi
xs_summary
