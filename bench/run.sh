#!/bin/bash
# SPDX-License-Identifier: MIT
# Functions called from traps and through for_active look unreachable:
# shellcheck disable=SC2317
#
# The benchmark harness: the same workloads on three targets that live on
# the same host file system, in one run on one machine:
#   host         a plain directory
#   passthrough  bench/peers/passthrough (plain FUSE) mounted over a directory
#   xenshare     xenshare-back + xenshare-front over the local transport
# and a table of their figures with xenshare's speed relative to the other
# two.  See docs/benchmarks.md for what each workload means.
#
#   bench/run.sh [--quick] [--out FILE] [--dir PARENT] [--targets LIST]
#                [--no-build] [--keep]
#
# Needs root (mounts, drop_caches), fio, python3, git, tar, fusermount3.
# Everything it starts it stops, and every mount it makes it unmounts,
# however it exits.

set -uo pipefail

usage() {
	cat <<EOF
usage: $0 [--quick] [--out FILE] [--dir PARENT] [--targets LIST] [--no-build] [--keep]
  --quick         shorter runs (whole run well under 5 minutes)
  --out FILE      also write every figure, the samples and the environment
                  as JSON to FILE
  --dir PARENT    where the scratch directory goes (default /var/tmp);
                  all three targets live under it, on one file system
  --targets LIST  comma-separated subset of host,passthrough,xenshare
  --no-build      do not run make; use the binaries already in build/
  --keep          keep the scratch directory (logs, fio JSON) afterwards
EOF
}

QUICK=0
OUT=
PARENT=/var/tmp
WANT=host,passthrough,xenshare
BUILD_IT=1
KEEP=0
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	--dir) PARENT=${2:?--dir needs a directory}; shift ;;
	--targets) WANT=${2:?--targets needs a list}; shift ;;
	--no-build) BUILD_IT=0 ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[[ -n $OUT ]] && OUT=$(realpath -m -- "$OUT")
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
REPORT=$ROOT/bench/report.py

if ((QUICK)); then
	MODE=quick
	FILE_SIZE=512m		# seq-write / seq-read / random I/O file
	RAND_IOS=32768		# 4 KiB reads per random-read run (1/4 of file)
	PAR_IOS=8192		# per job, 4 jobs, each in its own quarter
	RAND_CAP=5		# seconds: cap on a random-read run
	RW_TIME=3		# seconds of random writes
	DIRECT_SIZE=256m
	META_N=10000
	REPS=1
else
	MODE=full
	FILE_SIZE=1g
	RAND_IOS=131072		# 1/2 of the file
	PAR_IOS=32768
	RAND_CAP=10
	RW_TIME=8
	DIRECT_SIZE=1g
	META_N=10000
	REPS=3
fi
# seconds: any single step that takes longer has failed
if ((QUICK)); then TMO=90; else TMO=300; fi

T_START=$EPOCHREALTIME
log() {
	printf '[bench %6.1fs] %s\n' \
		"$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" "$*" >&2
}
die() { log "error: $*"; exit 1; }

((EUID == 0)) || die "run as root (mounts, /proc/sys/vm/drop_caches)"
for cmd in fio python3 git tar fusermount3 mountpoint timeout; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed (scripts/install-deps.sh)"
done
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
mkdir -p "$PARENT" || die "cannot create $PARENT"

WORK=$(mktemp -d "$PARENT/xenshare-bench.XXXXXX") || die "mktemp failed"
LOGS=$WORK/logs
TSV=$WORK/results.tsv
mkdir -p "$LOGS" "$WORK/home"
: >"$TSV"
export HOME=$WORK/home GIT_CONFIG_NOSYSTEM=1

declare -A TDIR=() BACKING=() STATUS=() REASON=()
PT_PID='' XS_BACK_PID='' XS_FRONT_PID=''
XS_BUILD="not attempted"
PT_MNT=$WORK/pt-mnt
XS_MNT=$WORK/xs-mnt
ACTIVE=()

# --- cleanup ---------------------------------------------------------------

unmount() {
	local mnt=$1 dev
	mountpoint -q "$mnt" 2>/dev/null || return 0
	fusermount3 -u "$mnt" 2>/dev/null && return 0
	dev=$(mountpoint -d "$mnt" 2>/dev/null)
	if [[ -n $dev && -w /sys/fs/fuse/connections/${dev#*:}/abort ]]; then
		echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort"
	fi
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
}

stop_pid() {
	local pid=$1 i
	[[ -n $pid ]] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	unmount "$XS_MNT"
	unmount "$PT_MNT"
	stop_pid "$XS_FRONT_PID"
	stop_pid "$PT_PID"
	stop_pid "$XS_BACK_PID"
	if ((KEEP)); then
		log "scratch directory kept: $WORK"
	elif mountpoint -q "$XS_MNT" 2>/dev/null || mountpoint -q "$PT_MNT" 2>/dev/null; then
		log "warning: a mount is still busy; not removing $WORK"
	else
		rm -rf --one-file-system "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ---------------------------------------------------------------

CAN_DROP=0
if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
	CAN_DROP=1
else
	log "warning: cannot write /proc/sys/vm/drop_caches; \"cold\" runs are warm"
fi

drop_caches() {
	sync
	((CAN_DROP)) && echo 3 >/proc/sys/vm/drop_caches
	return 0
}

now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# record WORKLOAD METRIC hi|lo TARGET VALUE [NOTE]
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >>"$TSV"
}

in_list() {
	local x=$1
	shift
	[[ ",$*," == *",$x,"* ]]
}

wait_for() {	# wait_for SECONDS PID TEST...
	local n=$(($1 * 10)) pid=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		[[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}

# A mounted target is usable while its daemons live and it answers statfs.
target_alive() {
	local t=$1
	case $t in
	host) return 0 ;;
	passthrough) kill -0 "$PT_PID" 2>/dev/null || return 1 ;;
	xenshare)
		kill -0 "$XS_BACK_PID" 2>/dev/null || return 1
		kill -0 "$XS_FRONT_PID" 2>/dev/null || return 1
		;;
	esac
	mountpoint -q "${TDIR[$t]}" && timeout -k 2 10 stat -f "${TDIR[$t]}" >/dev/null 2>&1
}

lose_target() {
	local t=$1 why=$2 a=()
	log "$t: lost: $why"
	STATUS[$t]=lost
	REASON[$t]=$why
	for x in "${ACTIVE[@]}"; do
		[[ $x != "$t" ]] && a+=("$x")
	done
	ACTIVE=("${a[@]}")
}

# After a failed step: keep the failure as a note, drop a dead target.
step_failed() {
	local t=$1 wl=$2 rc=$3
	log "$t: $wl failed (exit $rc)"
	target_alive "$t" || lose_target "$t" "stopped answering during $wl"
}

# --- targets ---------------------------------------------------------------

smoke_test() {	# smoke_test MOUNT BACKING
	local probe=.bench-probe.$$
	echo probe >"$1/$probe" 2>/dev/null &&
		[[ $(cat "$2/$probe" 2>/dev/null) == probe ]] &&
		rm -f "$1/$probe" &&
		[[ ! -e $2/$probe ]]
}

setup_host() {
	TDIR[host]=$WORK/host
	BACKING[host]=$WORK/host
	mkdir -p "$WORK/host"
	STATUS[host]=ok
}

setup_passthrough() {
	local src=$WORK/pt-src
	mkdir -p "$src" "$PT_MNT"
	TDIR[passthrough]=$PT_MNT
	BACKING[passthrough]=$src
	if [[ ! -x $BUILD/bench/passthrough ]]; then
		STATUS[passthrough]=missing
		REASON[passthrough]="$BUILD/bench/passthrough not built"
		return 1
	fi
	"$BUILD/bench/passthrough" "$src" "$PT_MNT" -f >"$LOGS/passthrough.log" 2>&1 &
	PT_PID=$!
	if ! wait_for 10 "$PT_PID" mountpoint -q "$PT_MNT" ||
		! smoke_test "$PT_MNT" "$src"; then
		STATUS[passthrough]=missing
		REASON[passthrough]="did not mount ($(tail -n 1 "$LOGS/passthrough.log" 2>/dev/null))"
		unmount "$PT_MNT"
		stop_pid "$PT_PID"
		PT_PID=
		return 1
	fi
	STATUS[passthrough]=ok
}

setup_xenshare() {
	local exp=$WORK/xs-export sock=$WORK/xs.sock rel
	mkdir -p "$exp" "$XS_MNT"
	TDIR[xenshare]=$XS_MNT
	BACKING[xenshare]=$exp
	STATUS[xenshare]=missing
	rel=$(realpath -m --relative-to="$ROOT" "$BUILD")
	XS_BUILD="not rebuilt (--no-build)"
	if ((BUILD_IT)); then
		if make -C "$ROOT" -s -j2 BUILD="$rel" "$rel/xenshare-back" "$rel/xenshare-front" \
			>"$LOGS/make-xenshare.log" 2>&1; then
			XS_BUILD="built from the current tree"
		else
			XS_BUILD="make failed ($(grep -m1 -E 'error|No rule' "$LOGS/make-xenshare.log")); using the binaries already in $BUILD"
			log "xenshare: warning: $XS_BUILD"
		fi
	fi
	if [[ ! -x $BUILD/xenshare-back || ! -x $BUILD/xenshare-front ]]; then
		REASON[xenshare]="$BUILD/xenshare-back or xenshare-front not built: $XS_BUILD"
		return 1
	fi
	"$BUILD/xenshare-back" --local "$sock" "$exp" -f >"$LOGS/xenshare-back.log" 2>&1 &
	XS_BACK_PID=$!
	if ! wait_for 10 "$XS_BACK_PID" test -S "$sock"; then
		REASON[xenshare]="xenshare-back did not listen on $sock ($(tail -n 1 "$LOGS/xenshare-back.log" 2>/dev/null))"
		stop_pid "$XS_BACK_PID"
		XS_BACK_PID=
		return 1
	fi
	"$BUILD/xenshare-front" --local "$sock" "$XS_MNT" -f >"$LOGS/xenshare-front.log" 2>&1 &
	XS_FRONT_PID=$!
	if ! wait_for 10 "$XS_FRONT_PID" mountpoint -q "$XS_MNT" ||
		! smoke_test "$XS_MNT" "$exp"; then
		REASON[xenshare]="xenshare-front did not mount or failed the smoke test ($(tail -n 1 "$LOGS/xenshare-front.log" 2>/dev/null))"
		unmount "$XS_MNT"
		stop_pid "$XS_FRONT_PID"
		stop_pid "$XS_BACK_PID"
		XS_FRONT_PID='' XS_BACK_PID=''
		return 1
	fi
	STATUS[xenshare]=ok
}

# --- workloads -------------------------------------------------------------

FIO_COMMON=(--ioengine=psync --direct=0 --fallocate=none --randrepeat=1
	--group_reporting --output-format=json)

# fio_run TARGET WORKLOAD METRIC FIELD fio-args...
fio_run() {
	local t=$1 wl=$2 metric=$3 field=$4 json rc v
	shift 4
	json=$LOGS/$wl.$t.$REP.json
	timeout -k 5 "$TMO" fio --name="$wl" "${FIO_COMMON[@]}" "$@" >"$json" 2>>"$LOGS/fio.err"
	rc=$?
	if ((rc == 0)) && v=$(python3 "$REPORT" fio "$json" "$field"); then
		record "$wl" "$metric" hi "$t" "$v"
		log "$t: $wl $v $metric"
	else
		record "$wl" "$metric" hi "$t" "" "fio failed (exit $rc)"
		step_failed "$t" "$wl" "$rc"
	fi
}

# timed TARGET WORKLOAD -- command...: records seconds
timed() {
	local t=$1 wl=$2 t0 t1 rc
	shift 3
	t0=$(now)
	timeout -k 5 "$TMO" "$@" >>"$LOGS/$wl.$t.out" 2>&1
	rc=$?
	t1=$(now)
	if ((rc == 0)); then
		record "$wl" s lo "$t" "$(elapsed "$t0" "$t1")"
		log "$t: $wl $(elapsed "$t0" "$t1") s"
		return 0
	fi
	record "$wl" s lo "$t" "" "failed (exit $rc, see $wl.$t.out)"
	step_failed "$t" "$wl" "$rc"
	return 1
}

warm_backing() { cat "${BACKING[$1]}/$2" >/dev/null 2>&1; }

for_active() {	# for_active FUNCTION: call it for every live target
	local t
	for t in "${ACTIVE[@]}"; do
		"$1" "$t"
	done
}

# Writes start with no writeback in flight: pages under writeback stall
# writers on this disk, which would charge one target for another's data.
wl_seq_write() {
	rm -f "${TDIR[$1]}/seq.dat"
	drop_caches
	fio_run "$1" seq-write-1m MiB/s write_mibs --filename="${TDIR[$1]}/seq.dat" \
		--rw=write --bs=1M --size="$FILE_SIZE"
}

wl_seq_read() {
	drop_caches
	fio_run "$1" seq-read-1m MiB/s read_mibs --filename="${TDIR[$1]}/seq.dat" \
		--rw=read --bs=1M --size="$FILE_SIZE"
}

wl_rand_read() {
	warm_backing "$1" seq.dat
	fio_run "$1" rand-read-4k IOPS read_iops --filename="${TDIR[$1]}/seq.dat" \
		--rw=randread --bs=4k --size="$FILE_SIZE" --invalidate=0 \
		--number_ios="$RAND_IOS" --runtime="$RAND_CAP"
}

wl_rand_read_x4() {
	warm_backing "$1" seq.dat
	fio_run "$1" rand-read-4k-4jobs IOPS read_iops --filename="${TDIR[$1]}/seq.dat" \
		--rw=randread --bs=4k --numjobs=4 --size=25% --offset_increment=25% \
		--invalidate=0 --number_ios="$PAR_IOS" --runtime="$RAND_CAP"
}

wl_rand_write() {
	sync
	warm_backing "$1" seq.dat
	fio_run "$1" rand-write-4k IOPS write_iops --filename="${TDIR[$1]}/seq.dat" \
		--rw=randwrite --bs=4k --size="$FILE_SIZE" --invalidate=0 \
		--time_based --runtime="$RW_TIME"
}

wl_direct_write() {
	rm -f "${TDIR[$1]}/direct.dat"
	sync
	fio_run "$1" direct-write-1m MiB/s write_mibs --filename="${TDIR[$1]}/direct.dat" \
		--rw=write --bs=1M --size="$DIRECT_SIZE" --direct=1
	rm -f "${TDIR[$1]}/seq.dat" "${TDIR[$1]}/direct.dat"
}

# Caches dropped first: ext4 will not reuse an inode deleted in the last
# 30 s (5.5 min while its inode table block is dirty) as long as that
# block is in the buffer cache, and scans on for another; without the
# drop, the creates of whichever target comes after another's 10,000
# unlinks ran up to 18 times slower than the same creates on a clean
# cache.
wl_meta() {
	local t=$1 d=${TDIR[$1]}/meta out rc files c s u
	drop_caches
	mkdir -p "$d" || { step_failed "$t" meta 1; return; }
	out=$LOGS/meta.$t.$REP.json
	timeout -k 5 "$TMO" "$BUILD/bench/meta" "$d" "$META_N" >"$out" 2>"$out.err"
	rc=$?
	if ((rc == 0)) && read -r files c s u < <(python3 "$REPORT" meta "$out"); then
		for ph in create:$c stat:$s unlink:$u; do
			record "meta-${ph%%:*}" files/s hi "$t" \
				"$(awk -v n="$files" -v s="${ph#*:}" 'BEGIN { printf "%.1f", n / s }')"
		done
		log "$t: meta create ${c}s stat ${s}s unlink ${u}s ($files files)"
	else
		for ph in create stat unlink; do
			record "meta-$ph" files/s hi "$t" "" "meta failed: $(head -c 200 "$out.err")"
		done
		step_failed "$t" meta "$rc"
	fi
	rm -rf "$d"
}

wl_tar() {
	drop_caches
	cat "$WORK/tree.tar" >/dev/null
	timed "$1" tar-x -- tar xf "$WORK/tree.tar" -C "${TDIR[$1]}"
}

wl_git() {
	local t=$1 tree=${TDIR[$1]}/tree changed
	[[ -d $tree/.git ]] || return 0
	# First status after extraction re-hashes every file and rewrites the
	# index; the timed runs below measure the steady state.
	changed=$(timeout -k 5 "$TMO" git -C "$tree" -c safe.directory='*' status --porcelain 2>&1 | wc -l)
	drop_caches
	timed "$t" git-status-cold -- git -C "$tree" -c safe.directory='*' status --porcelain &&
		timed "$t" git-status-warm -- git -C "$tree" -c safe.directory='*' status --porcelain
	if ((changed != 0)); then
		record git-status-cold s lo "$t" "" "tree differs from the archive: $changed paths changed"
	fi
}

HOST_FIND_COUNT=
wl_find() {
	local t=$1 t0 t1 n rc
	drop_caches
	t0=$(now)
	n=$(timeout -k 5 "$TMO" find "${TDIR[$t]}/tree" | wc -l)
	rc=$?
	t1=$(now)
	if ((rc != 0)); then
		record find-cold s lo "$t" "" "find failed"
		step_failed "$t" find-cold "$rc"
		return
	fi
	[[ $t == host ]] && HOST_FIND_COUNT=$n
	if [[ -n $HOST_FIND_COUNT && $n != "$HOST_FIND_COUNT" ]]; then
		record find-cold s lo "$t" "$(elapsed "$t0" "$t1")" "found $n entries, host found $HOST_FIND_COUNT"
	else
		record find-cold s lo "$t" "$(elapsed "$t0" "$t1")"
	fi
	log "$t: find-cold $(elapsed "$t0" "$t1") s ($n entries)"
}

wl_untar() {
	timeout -k 5 "$TMO" rm -rf "${TDIR[$1]}/tree" || step_failed "$1" "rm tree" $?
}

# --- run -------------------------------------------------------------------

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "mode $MODE, scratch $WORK, load average $LOAD_START"
if ((BUILD_IT)); then
	make -s -C "$ROOT/bench" BUILD="$BUILD" >"$LOGS/make-bench.log" 2>&1 ||
		log "warning: make -C bench failed (see $LOGS/make-bench.log)"
fi
[[ -x $BUILD/bench/meta ]] || die "$BUILD/bench/meta is not built (make -C bench)"

for t in host passthrough xenshare; do
	if ! in_list "$t" "$WANT"; then
		STATUS[$t]=skipped
		REASON[$t]="not selected (--targets)"
		continue
	fi
	"setup_$t"
	if [[ ${STATUS[$t]} == ok ]]; then
		ACTIVE+=("$t")
		log "$t: ready at ${TDIR[$t]}"
	else
		log "$t: MISSING: ${REASON[$t]}"
	fi
done
((${#ACTIVE[@]})) || die "no target could be set up"

log "building the source tree archive from /usr/include"
mkdir -p "$WORK/stage"
if ! { cp -a /usr/include "$WORK/stage/tree" &&
	git -C "$WORK/stage/tree" init -q &&
	git -C "$WORK/stage/tree" add -A &&
	git -C "$WORK/stage/tree" -c user.name=bench -c user.email=bench@localhost \
		commit -q -m tree &&
	tar cf "$WORK/tree.tar" -C "$WORK/stage" tree; }; then
	die "could not build the source tree archive"
fi
TREE_FILES=$(find "$WORK/stage/tree" | wc -l)
TREE_BYTES=$(stat -c %s "$WORK/tree.tar")
rm -rf "$WORK/stage"

for ((REP = 1; REP <= REPS; REP++)); do
	log "round $REP of $REPS"
	for_active wl_seq_write
	for_active wl_seq_read
	for_active wl_rand_read
	for_active wl_rand_read_x4
	for_active wl_rand_write
	for_active wl_direct_write
	drop_caches
	for_active wl_meta
	for_active wl_tar
	for_active wl_git
	for_active wl_find
	for_active wl_untar
done
T_END=$(now)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------

env_args=(
	mode="$MODE"
	date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	kernel="$(uname -r)"
	cpus="$(nproc)"
	cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	mem_total="$(awk '/^MemTotal/ { print $2 " " $3 }' /proc/meminfo)"
	fs_type="$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null)"
	fs_source="$(findmnt -n -o SOURCE -T "$WORK" 2>/dev/null)"
	scratch_dir="$WORK"
	fio="$(fio --version)"
	libfuse="$(pkg-config --modversion fuse3 2>/dev/null)"
	git_commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
	nofile_limit="$(ulimit -Hn)"
	drop_caches="$CAN_DROP"
	reps="$REPS"
	file_size="$FILE_SIZE"
	direct_size="$DIRECT_SIZE"
	meta_files="$META_N"
	tree_entries="$TREE_FILES"
	tree_tar_bytes="$TREE_BYTES"
	duration_s="$(elapsed "$T_START" "$T_END")"
	loadavg_start="$LOAD_START"
	loadavg_end="$LOAD_END"
	xenshare_build="$XS_BUILD"
)
for t in host passthrough xenshare; do
	env_args+=("target.$t=${STATUS[$t]:-missing}|${REASON[$t]:-}")
done
python3 - "$WORK/env.json" "${env_args[@]}" <<'EOF' || die "could not write env.json"
import json, sys
env = {"targets": {}}
for arg in sys.argv[2:]:
    k, _, v = arg.partition("=")
    if k.startswith("target."):
        st, _, why = v.partition("|")
        env["targets"][k[7:]] = {"ok": st == "ok", "status": st,
                                 **({"reason": why} if why else {})}
    else:
        for conv in (int, float):
            try:
                v = conv(v)
                break
            except ValueError:
                pass
        env[k] = v
with open(sys.argv[1], "w") as f:
    json.dump(env, f, indent=2)
EOF

echo
echo "xenshare benchmark ($MODE, $REPS round(s)) on $(uname -r), $(nproc) CPUs," \
	"$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null) at $PARENT; $(elapsed "$T_START" "$T_END") s"
busy=$(awk -v a="${LOAD_START%% *}" -v b="${LOAD_END%% *}" -v n="$(nproc)" \
	'BEGIN { print (a > n / 2 || b > n + 0.5) }')
if ((busy)); then
	echo "warning: load average $LOAD_START at the start, $LOAD_END at the end:" \
		"other work shared the CPUs; figures are noisy"
fi
echo
python3 "$REPORT" render "$TSV" "$WORK/env.json" ${OUT:+"$OUT"} ||
	die "could not render the results"
[[ -n $OUT ]] && log "results written to $OUT"
exit 0
