#!/bin/bash
# run.sh - boot Xen 4.17 under QEMU (software emulation), run the scenario
# in dom0 and its domUs, and report.
#
# Images come from build-images.sh (cached, instant after the first build).
# Everything that changes from run to run goes into a small cpio appended
# to dom0's initramfs: the rig's init scripts, scenario.sh, and the
# project's binaries with the libraries the images lack.  The domUs get the
# same treatment inside dom0 (domu-overlay.cpio appended to domu-base.cpio).
#
# Outputs, in $XENSHARE_RIG_OUT (default build/xen-rig/ in the checkout):
#   serial.log          the whole serial console: Xen, dom0, the rig's
#                       lines, each line stamped with the seconds since
#                       QEMU started
#   domu-rig-NAME.log   each domU's console, split out of serial.log
#   NAME.log            each log a scenario kept in dom0's /run/rig/logs/
#   timings.txt         the milestones and every step's begin, extension
#                       and end, on the same clock
#
# Environment:
#   XENSHARE_BUILD           build directory holding xenshare-back,
#                            xenshare-front (default: build/ in the checkout)
#   XENSHARE_RIG_DOM0_FILES  extra files for dom0, "SRC[:DEST] ..." (DEST
#                            defaults to /usr/local/bin/NAME; directories
#                            are copied whole)
#   XENSHARE_RIG_DOMU_FILES  the same for the domUs; test programs that the
#                            xenshare scenario runs on the mount go to
#                            /rig/tests/NAME (they print ok/not ok lines)
#   XENSHARE_RIG_ENV         names of variables to export in dom0 and the
#                            domUs (e.g. XENSHARE_BACK_ARGS XENSHARE_FRONT_ARGS)
#   XENSHARE_RIG_SCENARIO    dom0 scenario (default tests/xen/scenario.sh)
#   XENSHARE_RIG_GUEST       domU side (default tests/xen/guest.sh)
#   XENSHARE_RIG_TIMEOUT     overall limit on the QEMU run, s (default 3600;
#                            the steps' own budgets, which follow the
#                            machine's speed, normally end a hung run sooner)
#   XENSHARE_RIG_STEPS       run only these of scenario.sh's steps (names as
#                            in timings.txt), e.g. "toolstack xenstore"
#   XENSHARE_RIG_HANG        make one step hang, to test the rig itself:
#                            dom0-boot, a step's name, boot-NAME (domU NAME's
#                            init) or guest-NAME (domU NAME's test)
#   XENSHARE_RIG_XEN_ARGS, XENSHARE_RIG_DOM0_ARGS, XENSHARE_RIG_QEMU_MEM,
#   XENSHARE_RIG_CPU         replace Xen's and dom0's command lines, the
#                            machine's memory (MiB; dom0 gets 2048 of 4096)
#                            and QEMU's -cpu (default max,-smap,-avx,-avx2,-xsave)
#   XENSHARE_RIG_OUT         output directory
#   XENSHARE_RIG_CACHE       image cache (see build-images.sh)
#
# Prints "N passed, N failed, N skipped" last.  Exit status 0 when all
# passed or when the rig cannot run here (a skip, with its reason), 1 when
# anything failed.

set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUTDIR=${XENSHARE_RIG_OUT:-$REPO/build/xen-rig}
BUILD=${XENSHARE_BUILD:-$REPO/build}
SCENARIO=${XENSHARE_RIG_SCENARIO:-$HERE/scenario.sh}
GUEST=${XENSHARE_RIG_GUEST:-$HERE/guest.sh}
TIMEOUT=${XENSHARE_RIG_TIMEOUT:-3600}
CACHE=${XENSHARE_RIG_CACHE:-/var/cache/xenshare-xen-rig}
export XENSHARE_RIG_CACHE=$CACHE

XEN_ARGS=${XENSHARE_RIG_XEN_ARGS:-"console=com1 com1=115200,8n1 \
dom0_mem=2048M,max:2048M dom0_max_vcpus=2 loglvl=all guest_loglvl=all noreboot"}
DOM0_ARGS=${XENSHARE_RIG_DOM0_ARGS:-"console=hvc0 earlyprintk=xen quiet"}
QEMU_MEM=${XENSHARE_RIG_QEMU_MEM:-4096}
# No SMAP: a PV dom0 crashes at its first instruction with it.  No XSAVE
# (nor AVX, which needs it): with it, QEMU 7.2's TCG under Xen 4.17 loses
# vector register contents across context switches, and memcpy() in any
# guest program then writes 16- to 250-byte runs of stale data
# (tests/xen/README.md, "Vector registers under QEMU").
QEMU_CPU=${XENSHARE_RIG_CPU:-max,-smap,-avx,-avx2,-xsave}

say() { printf '%s\n' "$*"; }
skip() {
	say "skip - xen rig: $*"
	say "0 passed, 0 failed, 1 skipped"
	exit 0
}
fail() {
	say "not ok - xen rig: $*"
	say "0 passed, 1 failed, 0 skipped"
	exit 1
}

T_START=$(date +%s.%N)
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- images --------------------------------------------------------------------

mkdir -p "$OUTDIR" || fail "cannot create $OUTDIR"
rm -f "$OUTDIR"/*.log "$OUTDIR"/report.txt "$OUTDIR"/timings.txt
IMG=$("$HERE/build-images.sh" 2>"$OUTDIR/build-images.log")
rc=$?
case $rc in
0) ;;
77) skip "cannot install the host packages (see $OUTDIR/build-images.log)" ;;
*)
	tail -n 20 "$OUTDIR/build-images.log"
	fail "building the images failed (see $OUTDIR/build-images.log)"
	;;
esac
T_IMAGES=$(secs_since "$T_START")
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
mem_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
[ "${mem_kb:-0}" -gt $(((QEMU_MEM + 512) * 1024)) ] ||
	skip "needs $((QEMU_MEM + 512)) MiB of free memory, has $((${mem_kb:-0} / 1024))"

# --- the per-run overlays ------------------------------------------------------

RUNDIR=$(mktemp -d "$CACHE/run.XXXXXX") || fail "cannot create a directory in $CACHE"
mkdir -p "$RUNDIR/dom0" "$RUNDIR/domu"
trap 'rm -rf "$RUNDIR"' EXIT

is_elf() { [ "$(od -An -tx1 -N4 "$1" 2>/dev/null | tr -d ' ')" = 7f454c46 ]; }

# add_file STAGE FILELIST SRC DEST: copy SRC to DEST in STAGE; for an ELF
# program, also the shared libraries (ldd) the image lacks.
add_file() {
	local stage=$1 list=$2 src=$3 dest=$4 lib dir f
	if [ -d "$src" ]; then
		mkdir -p "$stage$dest"
		cp -a "$src/." "$stage$dest/"
		while IFS= read -r -d '' f; do
			is_elf "$f" && add_libs "$stage" "$list" "$f"
		done < <(find "$stage$dest" -type f -print0)
		return 0
	fi
	[ -e "$src" ] || { say "# missing: $src"; return 1; }
	mkdir -p "$stage$(dirname "$dest")"
	cp -L "$src" "$stage$dest"
	is_elf "$src" && add_libs "$stage" "$list" "$src"
	return 0
}

add_libs() { # STAGE FILELIST ELF
	local stage=$1 list=$2 elf=$3 lib dir dest
	ldd "$elf" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}' |
		while read -r lib; do
			dir=$(readlink -f "$(dirname "$lib")")
			dest=$dir/$(basename "$lib")
			grep -qxF "$dest" "$list" && continue
			[ -e "$stage$dest" ] && continue
			mkdir -p "$stage$dir"
			cp -L "$lib" "$stage$dest"
		done
}

# add_spec STAGE FILELIST "SRC[:DEST] ..."
add_spec() {
	local stage=$1 list=$2 spec src dest
	for spec in $3; do
		src=${spec%%:*}
		dest=${spec#*:}
		[ "$dest" = "$spec" ] && dest=/usr/local/bin/$(basename "$src")
		add_file "$stage" "$list" "$src" "$dest" || fail "cannot inject $src"
	done
}

pack() { # DIR OUT
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$2"
}

D0=$RUNDIR/dom0
DU=$RUNDIR/domu
install -D -m 755 "$HERE/dom0-init.sh" "$D0/init"
install -D -m 644 "$HERE/rig-lib.sh" "$D0/rig/lib.sh"
install -D -m 755 "$SCENARIO" "$D0/rig/scenario.sh"
install -D -m 755 "$HERE/domu-init.sh" "$DU/init"
install -D -m 644 "$HERE/guest-lib.sh" "$DU/rig/guest-lib.sh"
install -D -m 644 "$GUEST" "$DU/rig/guest.sh"

if [ -x "$BUILD/xenshare-back" ]; then
	add_file "$D0" "$IMG/dom0-files.txt" "$BUILD/xenshare-back" /usr/local/bin/xenshare-back
fi
if [ -x "$REPO/xenstore-scripts/xenshare-ctl" ]; then
	add_file "$D0" "$IMG/dom0-files.txt" "$REPO/xenstore-scripts/xenshare-ctl" /usr/local/bin/xenshare-ctl
fi
if [ -x "$BUILD/xenshare-front" ]; then
	add_file "$DU" "$IMG/domu-files.txt" "$BUILD/xenshare-front" /usr/local/bin/xenshare-front
	# For fstab lines of type fuse.xenshare: mount(8) runs
	# mount.fuse.xenshare, which is fuse3's mount.fuse3 under that name
	# (it takes the type from its name) and runs "xenshare TAG MNT -o ...".
	ln -s xenshare-front "$DU/usr/local/bin/xenshare"
	# libxenstore stops its watch thread with pthread_cancel(), for which
	# glibc loads libgcc_s at run time (ldd does not list it).
	for f in /lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1; do
		if [ -e "$f" ]; then
			grep -qx /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 "$IMG/domu-files.txt" ||
				add_file "$DU" "$IMG/domu-files.txt" "$f" /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
			break
		fi
	done
	for f in /usr/sbin/mount.fuse3 /sbin/mount.fuse3; do
		if [ -x "$f" ]; then
			add_file "$DU" "$IMG/domu-files.txt" "$f" /usr/sbin/mount.fuse.xenshare
			break
		fi
	done
fi
# The test programs the xenshare scenario runs in the guest (guest.sh).
for f in tests/integration/posix_ops tests/tools/fsx; do
	if [ -x "$BUILD/$f" ]; then
		add_file "$DU" "$IMG/domu-files.txt" "$BUILD/$f" "/rig/bin/${f##*/}"
	fi
done
# The rig's own FUSE probe: proves libfuse3 and library injection in a domU.
fuse_flags=$(pkg-config --cflags --libs fuse3 2>/dev/null)
# shellcheck disable=SC2086 # the flags are a list of words
if command -v cc >/dev/null && [ -n "$fuse_flags" ] &&
	cc -O2 -Wall -Wextra -o "$RUNDIR/rig-fuse-probe" "$HERE/fuse-probe.c" \
		$fuse_flags 2>"$OUTDIR/fuse-probe.log"; then
	add_file "$DU" "$IMG/domu-files.txt" "$RUNDIR/rig-fuse-probe" /usr/local/bin/rig-fuse-probe
else
	say "# fuse probe not built (needs cc and libfuse3-dev): the guest skips it"
fi
add_spec "$D0" "$IMG/dom0-files.txt" "${XENSHARE_RIG_DOM0_FILES:-}"
add_spec "$DU" "$IMG/domu-files.txt" "${XENSHARE_RIG_DOMU_FILES:-}"

# What the scenario may rely on (rig-lib.sh rig_injected): every program
# injected into /usr/local/bin of dom0 or of the domUs.
for f in "$D0"/usr/local/bin/* "$DU"/usr/local/bin/*; do
	[ -e "$f" ] && basename "$f"
done | sort -u >"$D0/rig/injected"
# Variables named in XENSHARE_RIG_ENV reach dom0's scenario and the domUs,
# as do the rig's own switches.
for v in ${XENSHARE_RIG_ENV:-} XENSHARE_RIG_STEPS XENSHARE_RIG_HANG; do
	[[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "XENSHARE_RIG_ENV: bad name $v"
	val=${!v-}
	printf "export %s='%s'\n" "$v" "${val//\'/\'\\\'\'}"
done >"$D0/rig/env"
cp "$D0/rig/env" "$DU/rig/env"

mkdir -p "$D0/rig/images"
pack "$DU" "$D0/rig/images/domu-overlay.cpio"
pack "$D0" "$RUNDIR/dom0-overlay.cpio"
cat "$IMG/dom0-root.cpio" "$RUNDIR/dom0-overlay.cpio" >"$RUNDIR/dom0-initrd.cpio"

# --- boot ------------------------------------------------------------------------
#
# QEMU writes the serial console into a FIFO; console_watch reads it, puts
# the seconds since QEMU started in front of every line of serial.log, notes
# the milestones in timings.txt, and keeps the run's budgets:
#
#   xen-boot    QEMU start to Xen handing over to dom0: XEN_BOOT_BUDGET s,
#               longer while the console keeps printing (up to 5 times).
#               How long it took, over XEN_BOOT_IDLE, is the speed factor.
#   dom0-boot   handover to "toolstack up": DOM0_BOOT_BUDGET s times the
#               speed factor, longer while the console keeps printing.
#   each step   dom0 announces it ("RIG| step NAME begin (budget N s)"),
#               keeps its budget itself and announces an extension
#               (rig-lib.sh rig_step); run.sh allows the announced budget
#               plus a grace of half of it (at least 60 s) for dom0 to say
#               "end", so that a dom0 that stopped fails the step too.
#
# A stage out of time is a "not ok" naming it; QEMU is killed then.  The
# overall limit, XENSHARE_RIG_TIMEOUT, stays a backstop.

XEN_BOOT_BUDGET=120
XEN_BOOT_IDLE=8
DOM0_BOOT_BUDGET=40
LOG=$OUTDIR/serial.log
TIMINGS=$OUTDIR/timings.txt
VERDICT=$RUNDIR/verdict
CONSOLE=$RUNDIR/console
: >"$LOG"
: >"$TIMINGS"
mkfifo "$CONSOLE" || fail "cannot create a FIFO in $RUNDIR"

# console_watch T0_US: runs with the FIFO as stdin until QEMU closes it.
# Times are in tenths of a second since T0_US.
console_watch() {
	local t0=$1 line part="" rc t now last=0 sp=10 name n grace
	local stage=xen-boot st0=0 budget=$XEN_BOOT_BUDGET extend=1
	local deadline=$((XEN_BOOT_BUDGET * 10)) quiet=600 cap=$((XEN_BOOT_BUDGET * 50))
	local limit=$((TIMEOUT * 10)) killed=
	exec 3>>"$LOG" 4>>"$TIMINGS"
	mark() { printf '%6d.%d s  %s\n' $((now / 10)) $((now % 10)) "$*" >&4; }
	# begin NAME BUDGET_S GRACE_S EXTEND
	begin() {
		stage=$1 budget=$2 st0=$now extend=$4
		deadline=$((now + ($2 + $3) * 10)) quiet=$(($2 * 10)) cap=$((now + $2 * 40))
	}
	took() { printf '%d.%d' $(((now - st0) / 10)) $(((now - st0) % 10)); }
	while :; do
		IFS= read -r -t 2 line
		rc=$?
		t=${EPOCHREALTIME/./}
		now=$(((t - t0) / 100000))
		if [ $rc -gt 128 ]; then
			part=$part$line
		elif [ $rc -eq 0 ] || [ -n "$part$line" ]; then
			line=$part$line
			part=
			line=${line%$'\r'}
			printf '[%5d.%d] %s\n' $((now / 10)) $((now % 10)) "$line" >&3
			last=$now
			case $line in
			"(XEN) Xen version "*) mark "Xen starts" ;;
			*"Serial input to DOM0"*)
				if [ "$stage" = xen-boot ]; then
					sp=$((now / XEN_BOOT_IDLE))
					[ $sp -lt 10 ] && sp=10
					mark "xen-boot ends: Xen hands over to dom0 (took $(took) s; speed factor $((sp / 10)).$((sp % 10)))"
					begin dom0-boot $((DOM0_BOOT_BUDGET * sp / 10)) 0 1
					mark "dom0-boot begins (budget $budget s)"
				fi
				;;
			"RIG| dom0 init start"*) mark "dom0 init starts" ;;
			"RIG| toolstack up"*)
				mark "dom0-boot ends: toolstack up (took $(took) s)"
				begin "dom0 before its first step" $((60 * sp / 10)) 0 0
				;;
			"RIG| step "*" begin (budget "*)
				name=${line#RIG| step }
				name=${name%% *}
				n=${line##*budget }
				n=${n%% *}
				grace=$((n / 2 > 60 ? n / 2 : 60))
				begin "$name" "$n" "$grace" 0
				mark "step $name begins (budget $n s)"
				;;
			"RIG| step $stage extended to "*)
				n=${line#"RIG| step $stage extended to "}
				n=${n%% *}
				grace=$((n / 2 > 60 ? n / 2 : 60))
				deadline=$((st0 + (n + grace) * 10))
				mark "step $stage extended to $n s"
				;;
			"RIG| step $stage end"*)
				mark "step $stage ends (took $(took) s)"
				begin "dom0 after step $stage" $((60 * sp / 10)) 0 0
				;;
			"RIG| step "* | "RIG| boot "*) mark "${line#RIG| }" ;;
			"RIG| dom0 done"*)
				mark "dom0 done"
				begin "dom0's result line" $((60 * sp / 10)) 0 0
				;;
			"RIG| RESULT:"*)
				mark "result line"
				begin "power off" $((60 * sp / 10)) 0 0
				;;
			esac
		fi
		[ $rc -eq 1 ] && break
		[ -n "$killed" ] && continue
		if [ "$now" -ge "$limit" ]; then
			printf 'overall limit of %d s reached during %s\n' "$TIMEOUT" "$stage" >"$VERDICT"
		elif [ "$now" -ge "$deadline" ]; then
			if [ "$extend" = 1 ] && [ $((now - last)) -lt "$quiet" ] && [ "$now" -lt "$cap" ]; then
				deadline=$((last + quiet))
				[ "$deadline" -gt "$cap" ] && deadline=$cap
				continue
			fi
			printf '%s did not end within %s s (budget %d s); the console was silent for its last %d.%d s\n' \
				"$stage" "$(took)" "$budget" $(((now - last) / 10)) $(((now - last) % 10)) >"$VERDICT"
		else
			continue
		fi
		mark "killed: $(cat "$VERDICT")"
		killed=1
		kill "$(cat "$RUNDIR/qemu.pid" 2>/dev/null)" 2>/dev/null
	done
}

# A comma inside a multiboot module's arguments must be doubled for QEMU.
MODS="$IMG/vmlinuz ${DOM0_ARGS//,/,,},$RUNDIR/dom0-initrd.cpio"
# run.sh holds the FIFO open (read-write: neither side blocks opening it)
# until QEMU has exited, then closes it so that console_watch sees the end.
exec 5<>"$CONSOLE"
console_watch "${EPOCHREALTIME/./}" <"$CONSOLE" 5>&- &
WATCHER=$!
T_QEMU=$(date +%s.%N)
timeout -k 10 $((TIMEOUT + 60)) qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu "$QEMU_CPU" -m "$QEMU_MEM" -smp 2 \
	-nodefaults -no-user-config -display none -monitor none \
	-serial "file:$CONSOLE" -no-reboot -pidfile "$RUNDIR/qemu.pid" \
	-kernel "$IMG/xen" -append "$XEN_ARGS" -initrd "$MODS" \
	</dev/null >"$OUTDIR/qemu.log" 2>&1 5>&-
QRC=$?
exec 5>&-
wait "$WATCHER" 2>/dev/null
T_RUN=$(secs_since "$T_QEMU")

if [ $QRC -ne 0 ] && [ ! -s "$VERDICT" ] && ! grep -aq 'Xen version' "$LOG"; then
	skip "QEMU cannot start (exit $QRC): $(tail -n 3 "$OUTDIR/qemu.log" | tr '\n' ' ')"
fi

# --- report ----------------------------------------------------------------------

# The console without the time stamps, for the parsers below.
PLAIN=$RUNDIR/console.txt
sed -E 's/^\[ *[0-9]+\.[0-9]\] //' "$LOG" >"$PLAIN"
awk -v dir="$OUTDIR" '
	/^RIG-LOG-BEGIN / { n = $2; gsub(/[^A-Za-z0-9._-]/, "_", n); f = dir "/" n; next }
	/^RIG-LOG-END /   { if (f) close(f); f = ""; next }
	f { print > f }
' "$PLAIN"
# A domU console dom0 never dumped: its live copy ("CON NAME| ").
awk -v dir="$OUTDIR" '
	/^RIG-LOG-BEGIN /{c=1} /^RIG-LOG-END /{c=0; next} c { next }
	/^CON [A-Za-z0-9._-]+\| / {
		n = substr($2, 1, length($2) - 1)
		f = dir "/domu-rig-" n ".log"
		if (!(f in seen)) { seen[f] = 1; if ((getline x < f) > 0) { skip[f] = 1 }; close(f) }
		if (!(f in skip)) { sub(/^CON [^ ]+ /, ""); print > f }
	}
' "$PLAIN"

say "# xen rig: serial log $LOG"
say "# injected: $(tr '\n' ' ' <"$RUNDIR/dom0/rig/injected")"
# The results: the rig's own lines outside the domU console dumps; then
# the results of every domU dom0 never collected (the run stopped while it
# ran), from its live console.
awk '/^RIG-LOG-BEGIN /{c=1} /^RIG-LOG-END /{c=0; next} !c' "$PLAIN" |
	grep -a '^RIG| ' | sed 's/^RIG| //' >"$OUTDIR/report.txt"
awk '
	NR == FNR { if ($0 ~ /^domU [^ ]+ results collected/) got[$2] = 1; next }
	/^RIG-LOG-BEGIN /{c=1} /^RIG-LOG-END /{c=0; next} c { next }
	/^CON [A-Za-z0-9._-]+\| guest: (ok|not ok|skip) - / {
		n = substr($2, 1, length($2) - 1)
		if (n in got) next
		if (!(n in said)) { said[n] = 1; print "# domU " n ": dom0 never collected its results; from its console:" }
		sub(/^CON [^ ]+ guest: /, "")
		print $0 " [" n "]"
	}
' "$OUTDIR/report.txt" "$PLAIN" >"$RUNDIR/uncollected.txt"
cat "$RUNDIR/uncollected.txt" >>"$OUTDIR/report.txt"
sed 's/^/# /; s/^# ok - /ok - /; s/^# not ok - /not ok - /; s/^# skip - /skip - /; s/^# # /# /' \
	"$OUTDIR/report.txt"
say "# timings (seconds from QEMU start; images ready after ${T_IMAGES} s):"
sed 's/^/#   /' "$TIMINGS" 2>/dev/null
say "#   $(printf '%6.1f' "$T_RUN") s  QEMU exited (status $QRC)"

passed=$(grep -c '^ok - ' "$OUTDIR/report.txt")
failed=$(grep -c '^not ok - ' "$OUTDIR/report.txt")
skipped=$(grep -c '^skip - ' "$OUTDIR/report.txt")
result=$(grep -a '^RESULT: ' "$OUTDIR/report.txt" | tail -n 1)
if [ -s "$VERDICT" ]; then
	say "not ok - xen rig: $(cat "$VERDICT"); last lines of the serial log:"
	tail -n 30 "$LOG" | sed 's/^/#   /'
	failed=$((failed + 1))
elif [ $QRC -eq 124 ] || [ $QRC -eq 137 ]; then
	say "not ok - xen rig: QEMU killed after $((TIMEOUT + 60)) s; last lines of the serial log:"
	tail -n 30 "$LOG" | sed 's/^/#   /'
	failed=$((failed + 1))
elif [ -z "$result" ]; then
	say "not ok - xen rig: no result line; last lines of the serial log:"
	tail -n 30 "$LOG" | sed 's/^/#   /'
	failed=$((failed + 1))
else
	# dom0 counted its results itself: its numbers stand even if a line
	# got mangled on the serial console.
	if [[ $result =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		if [ "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}" != "$passed $failed $skipped" ]; then
			say "# the serial log shows $passed/$failed/$skipped results, dom0 counted ${BASH_REMATCH[1]}/${BASH_REMATCH[2]}/${BASH_REMATCH[3]}"
		fi
		passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]} skipped=${BASH_REMATCH[3]}
	fi
	if [ "${result#RESULT: PASS}" = "$result" ] && [ "$failed" -eq 0 ]; then
		say "not ok - xen rig: $result"
		failed=1
	fi
fi
say "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
