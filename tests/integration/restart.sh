#!/bin/bash
# SPDX-License-Identifier: MIT
#
# restart.sh - the backend dies or is upgraded under load and the guest
# sees no error: the frontend reconnects, restores its nodes and open
# files (XS_OP_REOPEN) and resends what was in flight (XS_REQ_RESENT).
#
#   load      a workload runs on the mount: two writers (4 KiB records,
#             each fsync'ed, one at explicit offsets, one O_APPEND) that
#             keep one descriptor open throughout and check every record
#             at the end, a tree untarred again and again (each copy
#             compared with the source by sha256 and by its shape, then
#             removed), a git commit loop (at least 20 commits, then git
#             fsck and the commit count).  Meanwhile the backend is killed
#             with SIGKILL and started again (same socket, export and
#             --state-dir) XS_RESTART_KILLS times (default 5), 1 to 3 s
#             apart.  Every workload must finish with zero errors, every
#             byte checked, also on the host's side.
#   upgrade   the same with SIGTERM, a writer running and a descriptor
#             held open across the restart (written and read after it).
#   timeout   with --reconnect-timeout 3 and no backend coming back, a
#             reader gets EIO within seconds (no hang), the frontend
#             exits non-zero and the mount goes away.
#   exchange  the backend dies right after it applied a RENAME_EXCHANGE
#             and before it answered (XS_BACK_DIE_AFTER=RENAME); its
#             supervisor starts a new worker, the frontend resends the
#             exchange, which must not be applied a second time.
#   interrupt processes blocked on the mount get a signal (SIGALRM,
#             caught without SA_RESTART): with the backend stopped
#             (SIGSTOP) a getxattr and an fsync get EINTR, 40 concurrent
#             getxattrs of 64 KiB too (most of them waiting for a large
#             buffer), and
#             a write waits for the backend's real answer after SIGCONT
#             (the file holds all of it, or none of it with EINTR); with
#             the backend killed a write waiting for the reconnect gets
#             EINTR and changes nothing; a large fsync on ext4 gets EINTR
#             or 0.  Afterwards 100 concurrent 1 MiB reads (more than the
#             ring slots and large buffers) all succeed: nothing leaked.
#   release   kill -9 of the frontend: the backend's processes are back to
#             the descriptors they had before it connected.
#
# Environment: BUILD, XS_WRAP (see tests/lib.sh), XS_RESTART_KILLS,
# XS_RESTART_BACK_ARGS (extra backend options, e.g. --no-sandbox),
# XS_RESTART_ONLY (scenarios to run, e.g. "load timeout").
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
. "$(dirname "$0")/../lib.sh"

IO=$XS_BUILD/tests/integration/restart_io
KILLS=${XS_RESTART_KILLS:-5}
WAIT=20

xs_require "restart suite" "$XS_BACK_BIN" "$XS_FRONT_BIN" "$IO"
for tool in git tar sha256sum; do
	if ! command -v "$tool" >/dev/null; then
		skip "restart suite" "$tool is missing"
		xs_summary
		exit 0
	fi
done

xs_init
# bash reports the daemons this suite kills on stderr: keep such lines
# comments.
exec 2> >(sed -u 's/^/# /' >&2)

STATE=$XS_TMP/state
read -r -a EXTRA <<<"${XS_RESTART_BACK_ARGS:-}"
XS_BACK_ARGS=(--state-dir "$STATE" "${EXTRA[@]}")
XS_FRONT_ARGS=(--reconnect-timeout 30)

# ---- helpers ---------------------------------------------------------------

# fd_count: descriptors held by all processes of the backend.
fd_count() {
	local p n=0
	for p in $(xs_back_pids "$XS_BACK_PID"); do
		n=$((n + $(ls /proc/"$p"/fd 2>/dev/null | wc -l)))
	done
	echo "$n"
}

# reconnected N: wait until the frontend logged its N-th reconnect.
reconnected() {
	local i
	for ((i = 0; i < WAIT * 10; i++)); do
		[ "$(grep -c 'reconnected to backend' "$XS_FRONT_LOG")" -ge "$1" ] &&
			return 0
		sleep 0.1
	done
	return 1
}

log_has() {
	xs_log_has "$1" "$2" "${3:-$WAIT}"
}

# wait_job PID SECONDS: 0 once the job exited (status in XS_EXIT_STATUS).
wait_job() {
	xs_wait_exit "$1" "$2" && return 0
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	XS_EXIT_STATUS=timeout
	return 1
}

# ---- workloads ---------------------------------------------------------------

# A shape listing that is the same for equal trees.
shape() {
	(cd "$1" && find . -printf '%y %m %p %l\n' | LC_ALL=C sort)
}

sums() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum)
}

# untar_loop OUT: extract the source again and again until $STOP exists;
# each copy is checked and removed.  Writes "trees N" or the error to OUT.
untar_loop() {
	local out=$1 i=0 d
	while :; do
		i=$((i + 1))
		d=$XS_MNT/tree.$i
		if ! mkdir "$d" 2>>"$out.err" ||
		   ! tar -xf "$TARBALL" -C "$d" 2>>"$out.err"; then
			echo "extracting copy $i failed" >"$out"
			return 1
		fi
		if ! sums "$d" >"$XS_TMP/sums.$i" 2>>"$out.err" ||
		   ! cmp -s "$XS_TMP/src.sums" "$XS_TMP/sums.$i"; then
			echo "copy $i: contents differ from the source" >"$out"
			return 1
		fi
		if ! shape "$d" >"$XS_TMP/shape.$i" 2>>"$out.err" ||
		   ! cmp -s "$XS_TMP/src.shape" "$XS_TMP/shape.$i"; then
			echo "copy $i: shape differs from the source" >"$out"
			return 1
		fi
		if ! rm -rf "$d" 2>>"$out.err" || [ -e "$d" ]; then
			echo "removing copy $i failed" >"$out"
			return 1
		fi
		rm -f "$XS_TMP/sums.$i" "$XS_TMP/shape.$i"
		[ -e "$STOP" ] && break
	done
	if [ -s "$out.err" ]; then
		echo "errors: $(head -c 300 "$out.err" | tr '\n' ' ')" >"$out"
		return 1
	fi
	echo "trees $i" >"$out"
}

# git_loop OUT: commit until $STOP exists and at least 20 commits are
# made, then git fsck and count the commits.
git_loop() {
	local out=$1 repo=$XS_MNT/repo n=0 count
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com \
		GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
	if ! git init -q "$repo" 2>>"$out.err"; then
		echo "git init failed" >"$out"
		return 1
	fi
	while [ $n -lt 20 ] || [ ! -e "$STOP" ]; do
		n=$((n + 1))
		echo "line $n" >>"$repo/log.txt" &&
			head -c $((n * 977)) /dev/urandom >"$repo/blob.$((n % 7))" &&
			git -C "$repo" add -A 2>>"$out.err" &&
			git -C "$repo" commit -q -m "commit $n" 2>>"$out.err" ||
			{ echo "commit $n failed" >"$out"; return 1; }
	done
	if ! git -C "$repo" fsck --full --strict >>"$out.err" 2>&1; then
		echo "git fsck failed" >"$out"
		return 1
	fi
	count=$(git -C "$repo" rev-list --count HEAD 2>>"$out.err")
	if [ "$count" != "$n" ]; then
		echo "$n commits made, $count in the log" >"$out"
		return 1
	fi
	if [ -s "$out.err" ]; then
		echo "errors: $(head -c 300 "$out.err" | tr '\n' ' ')" >"$out"
		return 1
	fi
	echo "commits $n" >"$out"
}

# check_writer NAME OUT FILE: the writer's result, and the host's copy.
check_writer() {
	local s=$1 out=$2 file=$3 n err
	n=$(sed -n 's/^records //p' "$out")
	err=$(grep -v '^records ' "$out" | head -c 300 | tr '\n' ' ')
	if [ "$XS_EXIT_STATUS" = 0 ] && [ -n "$n" ]; then
		ok "$s: $n records written, fsync'ed and read back"
		check "$s: the host's copy holds every record" \
			"$("$IO" check "$XS_EXPORT/$file" "$n" 2>&1)" \
			"$IO" check "$XS_EXPORT/$file" "$n"
	else
		not_ok "$s: records written, fsync'ed and read back" \
			"status $XS_EXIT_STATUS: $err"
	fi
}

# ---- load: SIGKILL under a workload -------------------------------------------

scenario_load() {
	local s="load (SIGKILL x$KILLS)" fails=$XS_FAIL k ms w1 w2 ut gl
	local reconnects
	STOP=$XS_TMP/load.stop
	mkdir -p "$XS_TMP/src"
	cp -a /usr/include/linux "$XS_TMP/src/" 2>/dev/null ||
		cp -a /etc "$XS_TMP/src/" 2>/dev/null
	ln -s linux/types.h "$XS_TMP/src/a-symlink"
	TARBALL=$XS_TMP/src.tar
	tar -cf "$TARBALL" -C "$XS_TMP/src" .
	sums "$XS_TMP/src" >"$XS_TMP/src.sums"
	shape "$XS_TMP/src" >"$XS_TMP/src.shape"
	diag "$s: source tree of $(wc -l <"$XS_TMP/src.sums") files"

	if ! xs_pair_start load; then
		not_ok "$s: pair mounts" "see logs above"
		return
	fi
	"$IO" writer "$XS_MNT/records" "$STOP" 50 >"$XS_TMP/w1.out" 2>&1 &
	w1=$!
	"$IO" writer "$XS_MNT/appended" "$STOP" 50 append \
		>"$XS_TMP/w2.out" 2>&1 &
	w2=$!
	untar_loop "$XS_TMP/untar.out" &
	ut=$!
	git_loop "$XS_TMP/git.out" &
	gl=$!
	XS_PIDS+=("$w1" "$w2" "$ut" "$gl")

	# Each kill 1 to 3 s after the frontend is back from the last one.
	for ((k = 1; k <= KILLS; k++)); do
		ms=$((1000 + RANDOM % 2001))
		sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		if ! xs_restart_back KILL $WAIT; then
			not_ok "$s: backend restarted ($k)" "see the backend log"
			break
		fi
		reconnected "$k"
	done
	reconnects=$(grep -c 'reconnected to backend' "$XS_FRONT_LOG")
	check "$s: frontend reconnected after each of the $KILLS kills" \
		"$reconnects times" test "$reconnects" -eq "$KILLS"
	touch "$STOP"

	wait_job "$w1" 120
	check_writer "$s: writer (offsets)" "$XS_TMP/w1.out" records
	wait_job "$w2" 120
	check_writer "$s: writer (O_APPEND)" "$XS_TMP/w2.out" appended
	wait_job "$ut" 300
	check "$s: untarred trees match the source" \
		"status $XS_EXIT_STATUS: $(cat "$XS_TMP/untar.out" 2>/dev/null)" \
		test "$XS_EXIT_STATUS" = 0
	diag "$s: $(cat "$XS_TMP/untar.out" 2>/dev/null)"
	wait_job "$gl" 300
	check "$s: git commit loop, fsck and commit count" \
		"status $XS_EXIT_STATUS: $(cat "$XS_TMP/git.out" 2>/dev/null)" \
		test "$XS_EXIT_STATUS" = 0
	diag "$s: $(cat "$XS_TMP/git.out" 2>/dev/null)"
	grep 'reconnected to backend' "$XS_FRONT_LOG" | sed 's/^/# /'
	check "$s: no request failed for the guest" "the frontend gave up" \
		sh -c '! grep -q unmounting "$1"' sh "$XS_FRONT_LOG"
	check "$s: frontend still serving" "it exited" xs_alive "$XS_FRONT_PID"
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$s: final stop is clean" "$XS_STOP_WHY"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
}

# ---- upgrade: SIGTERM, an open descriptor across it ------------------------------

scenario_upgrade() {
	local s="upgrade (SIGTERM)" fails=$XS_FAIL w h fifo=$XS_TMP/hold.fifo
	STOP=$XS_TMP/upgrade.stop
	if ! xs_pair_start upgrade; then
		not_ok "$s: pair mounts" "see logs above"
		return
	fi
	mkfifo "$fifo"
	"$IO" hold "$XS_MNT/held" "$fifo" >"$XS_TMP/hold.out" 2>&1 &
	h=$!
	"$IO" writer "$XS_MNT/records" "$STOP" 20 >"$XS_TMP/w3.out" 2>&1 &
	w=$!
	XS_PIDS+=("$h" "$w")
	log_has "$XS_TMP/hold.out" '^ready' 10
	sleep 1
	if xs_restart_back TERM $WAIT; then
		ok "$s: backend stopped with SIGTERM and started again"
	else
		not_ok "$s: backend stopped with SIGTERM and started again" \
			"see the backend log"
	fi
	check "$s: frontend reconnected" "no reconnected line" \
		log_has "$XS_FRONT_LOG" 'reconnected to backend'
	sleep 1
	echo go >"$fifo"
	wait_job "$h" 60
	check "$s: a descriptor held across the restart writes and reads" \
		"status $XS_EXIT_STATUS: $(head -c 300 "$XS_TMP/hold.out")" \
		test "$XS_EXIT_STATUS" = 0
	touch "$STOP"
	wait_job "$w" 60
	check_writer "$s: writer" "$XS_TMP/w3.out" records
	check "$s: the host sees both lines of the held file" \
		"$(head -c 200 "$XS_EXPORT/held")" \
		test "$(cat "$XS_EXPORT/held")" = \
		"$(printf 'before the restart\nafter the restart')"
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$s: final stop is clean" "$XS_STOP_WHY"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
}

# ---- timeout: no backend comes back -------------------------------------------

scenario_timeout() {
	local s="timeout (backend gone for good)" fails=$XS_FAIL r t0 t1 pids
	local -a XS_FRONT_ARGS=(--reconnect-timeout 3)
	if ! xs_pair_start timeout; then
		not_ok "$s: pair mounts" "see logs above"
		return
	fi
	echo data >"$XS_MNT/data"
	pids=$(xs_back_pids "$XS_BACK_PID")
	# shellcheck disable=SC2086
	kill -KILL $pids
	wait "$XS_BACK_PID" 2>/dev/null
	sleep 0.5
	t0=$(date +%s%N)
	timeout 30 cat "$XS_MNT/data" >/dev/null 2>"$XS_TMP/cat.err"
	r=$?
	t1=$(date +%s%N)
	diag "$s: cat: status $r after $(( (t1 - t0) / 1000000 )) ms: $(head -c 100 "$XS_TMP/cat.err")"
	check "$s: a reader gets EIO, not a hang" \
		"status $r: $(head -c 100 "$XS_TMP/cat.err")" \
		sh -c '[ "$1" -ne 0 ] && [ "$1" -ne 124 ] &&
			grep -q "Input/output error" "$2"' sh "$r" "$XS_TMP/cat.err"
	check "$s: EIO comes after the timeout, within seconds" \
		"after $(( (t1 - t0) / 1000000 )) ms" \
		test $(( (t1 - t0) / 1000000 )) -lt 10000
	check "$s: frontend logs that it gave up" "no such line" \
		log_has "$XS_FRONT_LOG" 'no backend came back within 3 s.*unmounting'
	if xs_wait_exit "$XS_FRONT_PID" $WAIT; then
		ok "$s: frontend exits"
		check "$s: frontend exit status is non-zero" "status 0" \
			test "$XS_EXIT_STATUS" -ne 0
	else
		not_ok "$s: frontend exits" "still running ${WAIT}s later"
	fi
	check "$s: mount gone" "still mounted" xs_wait_unmount "$XS_MNT" $WAIT
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
}

# ---- exchange: applied, not answered ------------------------------------------

scenario_exchange() {
	local s="exchange (backend dies before it answers)" fails=$XS_FAIL r
	if ! XS_BACK_DIE_AFTER=RENAME xs_pair_start exchange; then
		not_ok "$s: pair mounts" "see logs above"
		return
	fi
	echo A >"$XS_MNT/xa"
	echo B >"$XS_MNT/xb"
	timeout 60 "$IO" exchange "$XS_MNT/xa" "$XS_MNT/xb" \
		>"$XS_TMP/exchange.out" 2>&1
	r=$?
	check "$s: the exchange succeeds" \
		"status $r: $(head -c 200 "$XS_TMP/exchange.out")" test "$r" = 0
	check "$s: frontend reconnected" "no reconnected line" \
		log_has "$XS_FRONT_LOG" 'reconnected to backend.* 1 requests resent'
	check "$s: applied exactly once (host)" \
		"xa '$(cat "$XS_EXPORT/xa")', xb '$(cat "$XS_EXPORT/xb")'" \
		test "$(cat "$XS_EXPORT/xa")$(cat "$XS_EXPORT/xb")" = BA
	check "$s: applied exactly once (guest)" \
		"xa '$(cat "$XS_MNT/xa")', xb '$(cat "$XS_MNT/xb")'" \
		test "$(cat "$XS_MNT/xa")$(cat "$XS_MNT/xb")" = BA
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$s: final stop is clean" "$XS_STOP_WHY"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
}

# ---- interrupt: signals to processes blocked on the mount ---------------------

# intr_start NAME MS OP FILE: restart_io intr in the background (output in
# XS_TMP/NAME.out, pid in INTR_PID) once it said "ready".
intr_start() {
	"$IO" intr "$2" "$3" "$4" >"$XS_TMP/$1.out" 2>&1 &
	INTR_PID=$!
	XS_PIDS+=("$INTR_PID")
	log_has "$XS_TMP/$1.out" '^ready' 10
}

# intr_got NAME [SECONDS]: what restart_io intr printed ("result N" or
# "errno E"), waiting up to SECONDS (default 10) for it.  The process
# itself may still wait for the FLUSH of its close.
intr_got() {
	log_has "$XS_TMP/$1.out" '^(result|errno) ' "${2:-10}" &&
		grep -E '^(result|errno) ' "$XS_TMP/$1.out" | head -n 1
}

# all_of FILE CHAR: FILE is 1 MiB of CHAR.
all_of() {
	[ "$(tr -d "$2" <"$1" | wc -c)" = 0 ] &&
		[ "$(stat -c %s "$1")" = 1048576 ]
}

mib_of() {
	head -c 1048576 /dev/zero | tr '\0' "$2" >"$1"
}

scenario_interrupt() {
	local s="interrupt" fails=$XS_FAIL pids i got w bad=0
	local -a readers=()
	if ! xs_pair_start interrupt; then
		not_ok "$s: pair mounts" "see logs above"
		return
	fi
	for f in r w s g; do
		mib_of "$XS_EXPORT/$f" a
	done
	intr_start read 300 xattr "$XS_MNT/r"
	r_pid=$INTR_PID
	intr_start fsync 300 fsync "$XS_MNT/s"
	s_pid=$INTR_PID
	intr_start write 300 write "$XS_MNT/w"
	w=$INTR_PID
	for ((i = 0; i < 40; i++)); do
		intr_start "rd$i" 300 xattr "$XS_MNT/r"
		readers+=("$INTR_PID")
	done
	pids=$(xs_back_pids "$XS_BACK_PID")
	# shellcheck disable=SC2086
	kill -STOP $pids
	kill -USR1 "$r_pid" "$s_pid" "$w" "${readers[@]}"
	check "$s: backend stopped: a getxattr gets EINTR" "$(intr_got read)" \
		test "$(intr_got read)" = "errno EINTR"
	check "$s: backend stopped: an fsync gets EINTR" "$(intr_got fsync)" \
		test "$(intr_got fsync)" = "errno EINTR"
	for ((i = 0; i < 40; i++)); do
		[ "$(intr_got "rd$i")" = "errno EINTR" ] || bad=$((bad + 1))
	done
	check "$s: backend stopped: 40 concurrent 64 KiB getxattrs get EINTR" \
		"$bad did not" test "$bad" = 0
	# The write gets EINTR only where nothing of it was applied (the
	# kernel's security.capability query before it, a CANCEL), else its
	# real answer once the backend runs again.
	sleep 1
	# shellcheck disable=SC2086
	kill -CONT $pids
	got=$(intr_got write 20)
	wait_job "$w" 20
	wait_job "$r_pid" 20
	wait_job "$s_pid" 20
	for ((i = 0; i < 40; i++)); do
		wait_job "${readers[$i]}" 20
	done
	diag "$s: the write after SIGCONT: $got"
	case $got in
	"result 1048576")
		check "$s: interrupted write done: the file holds all of it" \
			"host file is not 1 MiB of b" all_of "$XS_EXPORT/w" b ;;
	"errno EINTR")
		check "$s: interrupted write EINTR: the file holds none of it" \
			"host file is not 1 MiB of a" all_of "$XS_EXPORT/w" a ;;
	*)
		not_ok "$s: interrupted write answered" "$got" ;;
	esac
	check "$s: data read back is the host's" "differs" \
		cmp -s "$XS_MNT/w" "$XS_EXPORT/w"

	# Killed: a new write waits for the reconnect, and is interrupted.
	intr_start gone 300 write "$XS_MNT/g"
	w=$INTR_PID
	pids=$(xs_back_pids "$XS_BACK_PID")
	# shellcheck disable=SC2086
	kill -KILL $pids
	wait "$XS_BACK_PID" 2>/dev/null
	# shellcheck disable=SC2086
	gone $pids
	kill -USR1 "$w"
	check "$s: backend killed: a write waiting for it gets EINTR" \
		"$(intr_got gone)" test "$(intr_got gone)" = "errno EINTR"
	check "$s: backend killed: the interrupted write changed nothing" \
		"host file is not 1 MiB of a" all_of "$XS_EXPORT/g" a
	xs_start_back "${XS_BACK_ARGS[@]}"
	check "$s: frontend reconnected" "no reconnected line" reconnected 1
	wait_job "$w" 20
	intr_start gone2 0 write "$XS_MNT/g"
	kill -USR1 "$INTR_PID"
	wait_job "$INTR_PID" 20
	check "$s: after the restart the write goes through" \
		"$(intr_got gone2)" all_of "$XS_EXPORT/g" b

	# Nothing leaked: more 1 MiB reads at once than slots and buffers.
	readers=()
	for ((i = 0; i < 100; i++)); do
		intr_start "after$i" 0 read "$XS_MNT/r"
		readers+=("$INTR_PID")
	done
	kill -USR1 "${readers[@]}"
	bad=0
	for ((i = 0; i < 100; i++)); do
		wait_job "${readers[$i]}" 30
		[ "$(intr_got "after$i" 1)" = "result 1048576" ] ||
			bad=$((bad + 1))
	done
	check "$s: afterwards 100 concurrent 1 MiB reads all succeed" \
		"$bad did not" test "$bad" = 0
	check "$s: the frontend never lost the backend" "it did" \
		sh -c '! grep -q unmounting "$1"' sh "$XS_FRONT_LOG"
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$s: final stop is clean" "$XS_STOP_WHY"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
	interrupt_fsync
}

# A large fsync on a loop-mounted ext4, interrupted: EINTR or done, and
# the data whole either way.
interrupt_fsync() {
	local s="interrupt (large fsync)" fails=$XS_FAIL fs got
	if ! fs=$(xs_loopfs ext4 512 intrfs 2>&1); then
		skip "$s" "$fs"
		return
	fi
	xs_pair_dirs intrfs-pair
	XS_EXPORT=$fs/export
	mkdir -p "$XS_EXPORT"
	chmod 755 "$XS_EXPORT"
	if ! xs_start_back "${XS_BACK_ARGS[@]}" ||
		! xs_start_front "${XS_FRONT_ARGS[@]}"; then
		not_ok "$s: pair mounts" "see logs above"
		return
	fi
	head -c 128M /dev/urandom >"$XS_TMP/big.src"
	cp "$XS_TMP/big.src" "$XS_MNT/big"
	intr_start bigsync 20 fsync "$XS_MNT/big"
	kill -USR1 "$INTR_PID"
	got=$(intr_got bigsync 120)
	diag "$s: $got, $(grep '^ms' "$XS_TMP/bigsync.out")"
	check "$s: EINTR or done" "$got" \
		sh -c '[ "$1" = "errno EINTR" ] || [ "$1" = "result 0" ]' sh "$got"
	wait_job "$INTR_PID" 120
	check "$s: the host holds every byte" "differs" \
		cmp -s "$XS_TMP/big.src" "$XS_EXPORT/big"
	intr_start bigsync2 0 fsync "$XS_MNT/big"
	kill -USR1 "$INTR_PID"
	check "$s: a second fsync succeeds" "$(intr_got bigsync2 120)" \
		test "$(intr_got bigsync2 120)" = "result 0"
	wait_job "$INTR_PID" 60
	rm -f "$XS_TMP/big.src"
	xs_pair_stop
	[ $? -eq 1 ] && not_ok "$s: final stop is clean" "$XS_STOP_WHY"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
}

# ---- release: kill -9 of the frontend -------------------------------------------

scenario_release() {
	local s="release (SIGKILL frontend)" fails=$XS_FAIL base during after
	local h i fifo=$XS_TMP/release.fifo
	xs_pair_dirs release
	if ! xs_start_back "${XS_BACK_ARGS[@]}"; then
		not_ok "$s: backend starts" "see the log"
		return
	fi
	sleep 0.5
	base=$(fd_count)
	if ! xs_start_front "${XS_FRONT_ARGS[@]}"; then
		not_ok "$s: frontend mounts" "see the log"
		return
	fi
	mkdir "$XS_MNT/many"
	for ((i = 0; i < 200; i++)); do
		echo "$i" >"$XS_MNT/many/f$i"
	done
	ls -l "$XS_MNT/many" >/dev/null
	mkfifo "$fifo"
	"$IO" hold "$XS_MNT/held" "$fifo" >/dev/null 2>&1 &
	h=$!
	XS_PIDS+=("$h")
	sleep 0.5
	during=$(fd_count)
	kill -KILL "$XS_FRONT_PID"
	wait "$XS_FRONT_PID" 2>/dev/null
	kill -KILL "$h" 2>/dev/null
	wait "$h" 2>/dev/null
	check "$s: backend closes the connection" "no closing line" \
		log_has "$XS_BACK_LOG" 'closing: '
	sleep 0.5
	after=$(fd_count)
	diag "$s: backend descriptors: $base before, $during while mounted, $after after"
	check "$s: the frontend held backend descriptors" "$during <= $base" \
		test "$during" -gt "$base"
	check "$s: every descriptor of the connection is released" \
		"$after after, $base before" test "$after" -eq "$base"
	xs_unmount "$XS_MNT"
	check "$s: dead mount removed" "still mounted" xs_wait_unmount "$XS_MNT" 5
	xs_kill "$XS_BACK_PID"
	[ "$XS_FAIL" -eq "$fails" ] || xs_show_logs "$s"
}

for sc in ${XS_RESTART_ONLY:-load upgrade timeout exchange interrupt release}; do
	"scenario_$sc"
done
xs_summary
