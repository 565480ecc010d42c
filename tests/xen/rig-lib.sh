# rig-lib.sh - dom0 side of the real-Xen rig: results, domUs, xenstore.
# Sourced by /rig/scenario.sh as /rig/lib.sh (POSIX sh: dom0 runs it with
# dash).  The guest side is guest-lib.sh; the two talk through xenstore:
#
#   /local/domain/<domid>/data/rig/started       guest init is running
#   /local/domain/<domid>/data/rig/r/<NNN>       "ok - name" / "not ok - ..."
#   /local/domain/<domid>/data/rig/status        "done <exit status>"
#   /local/domain/<domid>/data/rig/sig/<key>     guest -> dom0 signal
#   /local/domain/<domid>/data/rig/go/<key>      dom0 -> guest signal
#
# data/ is the one directory a guest may write in its own xenstore home, and
# dom0 may write anything, so both directions work without new permissions.

RIG_RESULTS=/run/rig/results
RIG_IMAGES=/rig/images
RIG_DOMU_RAMDISK=/run/rig/domu.cpio
XS_BACKEND_ROOT=/local/domain/0/backend/xenshare

# Straight to the console: a caller's stdout may be a pipe or /dev/null.
rig_log() { echo "RIG| $*" >/dev/console; }
rig_now() { cut -d' ' -f1 /proc/uptime; }
# rig_elapsed START: seconds since START (a rig_now value), one decimal.
rig_elapsed() { awk -v a="$1" -v b="$(rig_now)" 'BEGIN { printf "%.1f", b - a }'; }

# rig_uptime: RIG_UP = dom0's uptime in whole seconds (no fork).
rig_uptime() {
	read -r RIG_UP _ </proc/uptime
	RIG_UP=${RIG_UP%.*}
}

# --- steps and their budgets ---------------------------------------------------
#
# The run is a series of named steps (rig_step), each with a budget: the
# seconds it may take on an idle machine times this run's speed factor
# RIG_SPEED (dom0-init.sh: dom0's uptime when its toolstack came up over
# what an idle machine takes, at least 1).  Every wait loop in dom0 asks
# rig_step_expired.  When the budget has run out, the step gets more time
# while it still progresses: within the last RIG_QUIET s its results, a
# guest console or a dom0 log grew, or the domUs used half a second of CPU
# between two looks 10 s apart (an idle domU uses a hundredth); up
# to RIG_STEP_CAP times its budget.  Otherwise the step fails as
# "not ok - step NAME: ...", and its remaining waits give up at once.  The
# "RIG| step" lines tell run.sh the same, which kills the run when dom0
# itself stops (it hangs somewhere no wait loop asks).
#
# Waits inside a step keep their own limits (rig_limit: the idle value
# times RIG_SPEED times RIG_STEP_CAP), as a safety net behind the step's.

RIG_STEP_CAP=3
RIG_STEP_FILE=/run/rig/step
RIG_SPEED=1
[ -f /run/rig/speed ] && read -r RIG_SPEED _ </run/rig/speed

# rig_budget IDLE_S / rig_limit IDLE_S: whole seconds on this machine.
rig_budget() { awk -v b="$1" -v s="$RIG_SPEED" 'BEGIN { v = b * s; printf "%d", v == int(v) ? v : int(v) + 1 }'; }
rig_limit() { awk -v b="$1" -v s="$RIG_SPEED" -v c="$RIG_STEP_CAP" 'BEGIN { v = b * s * c; printf "%d", v == int(v) ? v : int(v) + 1 }'; }
RIG_QUIET=$(rig_budget 40)

# rig_progress: "BYTES CPU": what the results, the guest consoles and
# dom0's logs hold, and the domUs' CPU time in tenths of a second.
rig_progress() {
	_pb=$(cat "$RIG_RESULTS" /var/log/xen/console/*.log /run/rig/logs/* 2>/dev/null | wc -c)
	_pc=$(xl list 2>/dev/null | awk 'NR > 2 { s += $6 } END { printf "%d", s * 10 }')
	echo "$_pb $_pc"
}

# rig_hang_point NAME: with XENSHARE_RIG_HANG=NAME, hang here for good
# (to prove that the rig names a hung step; tests/xen/README.md).
rig_hang_point() {
	[ "${XENSHARE_RIG_HANG:-}" = "$1" ] || return 0
	rig_log "hanging $1 on purpose (XENSHARE_RIG_HANG)"
	while :; do sleep 3600; done
}

# rig_step NAME IDLE_BUDGET_S FUNCTION [ARG...]: run one step.  With
# XENSHARE_RIG_STEPS set, only the steps it names run (and "report",
# dom0's own last one).  Returns FUNCTION's status.
rig_step() {
	_stepn=$1
	_stepb=$(rig_budget "$2")
	shift 2
	case " ${XENSHARE_RIG_STEPS:-$_stepn} report " in
	*" $_stepn "*) ;;
	*)
		rig_log "step $_stepn skipped (XENSHARE_RIG_STEPS)"
		return 0
		;;
	esac
	rig_uptime
	_stept0=$RIG_UP
	rig_log "step $_stepn begin (budget $_stepb s)"
	# NAME START BUDGET END CAP BYTES CPU LAST_PROGRESS NEXT_SAMPLE EXPIRED
	echo "$_stepn $_stept0 $_stepb $((_stept0 + _stepb)) $((_stept0 + _stepb * RIG_STEP_CAP)) $(rig_progress) $_stept0 $((_stept0 + 10)) 0" >$RIG_STEP_FILE
	rig_hang_point "$_stepn"
	"$@"
	_steps=$?
	rig_uptime
	rig_log "step $_stepn end (took $((RIG_UP - _stept0)) s, status $_steps)"
	rm -f $RIG_STEP_FILE
	return $_steps
}

# rig_step_expired: true once the current step is out of time (see above).
rig_step_expired() {
	[ -f $RIG_STEP_FILE ] || return 1
	read -r _xn _xt0 _xb _xend _xcap _xpb _xpc _xlast _xnext _xexp <$RIG_STEP_FILE
	[ "$_xexp" = 1 ] && return 0
	rig_uptime
	if [ "$RIG_UP" -ge "$_xnext" ]; then
		# shellcheck disable=SC2046 # two numbers
		set -- $(rig_progress)
		if [ "$1" != "$_xpb" ] || [ "$2" -ge $((_xpc + 5)) ]; then
			_xlast=$RIG_UP
		fi
		_xpb=$1 _xpc=$2
		_xnext=$((RIG_UP + 10))
	fi
	if [ "$RIG_UP" -lt "$_xend" ]; then
		echo "$_xn $_xt0 $_xb $_xend $_xcap $_xpb $_xpc $_xlast $_xnext 0" >$RIG_STEP_FILE
		return 1
	fi
	if [ $((RIG_UP - _xlast)) -lt "$RIG_QUIET" ] && [ "$RIG_UP" -lt "$_xcap" ]; then
		_xend=$((RIG_UP + RIG_QUIET))
		[ "$_xend" -gt "$_xcap" ] && _xend=$_xcap
		echo "$_xn $_xt0 $_xb $_xend $_xcap $_xpb $_xpc $_xlast $_xnext 0" >$RIG_STEP_FILE
		rig_log "step $_xn extended to $((_xend - _xt0)) s (budget $_xb s; still progressing)"
		return 1
	fi
	echo "$_xn $_xt0 $_xb $_xend $_xcap $_xpb $_xpc $_xlast $_xnext 1" >$RIG_STEP_FILE
	if [ "$RIG_UP" -ge "$_xcap" ]; then
		rig_not_ok "step $_xn: out of time after $((RIG_UP - _xt0)) s ($RIG_STEP_CAP times its budget of $_xb s)"
	else
		rig_not_ok "step $_xn: out of time after $((RIG_UP - _xt0)) s (budget $_xb s; no progress for $((RIG_UP - _xlast)) s)"
	fi
	return 0
}

rig_ok() { echo "ok - $*" >>"$RIG_RESULTS"; rig_log "ok - $*"; }
rig_not_ok() { echo "not ok - $*" >>"$RIG_RESULTS"; rig_log "not ok - $*"; }
rig_skip() { echo "skip - $*" >>"$RIG_RESULTS"; rig_log "skip - $*"; }

# rig_check NAME CMD...: CMD's exit status decides; its output is shown on
# failure.
rig_check() {
	_name=$1
	shift
	if "$@" >/run/rig/check.out 2>&1; then
		rig_ok "$_name"
	else
		rig_not_ok "$_name (exit $?: $*)"
		sed 's/^/RIG|     /' /run/rig/check.out | tail -n 20
	fi
}

# rig_check_fails NAME CMD...: passes when CMD fails.
rig_check_fails() {
	_name=$1
	shift
	if "$@" >/run/rig/check.out 2>&1; then
		rig_not_ok "$_name (succeeded but must fail: $*)"
	else
		rig_ok "$_name"
	fi
}

# rig_check_eq NAME EXPECTED ACTUAL
rig_check_eq() {
	if [ "$2" = "$3" ]; then
		rig_ok "$1"
	else
		rig_not_ok "$1 (expected '$2', got '$3')"
	fi
}

# The domUs' ramdisk: the cached base with the per-run overlay (/init, the
# guest scripts, the frontend and test programs) appended.
rig_domu_ramdisk() {
	[ -f "$RIG_DOMU_RAMDISK" ] ||
		cat "$RIG_IMAGES/domu-base.cpio" "$RIG_IMAGES/domu-overlay.cpio" >"$RIG_DOMU_RAMDISK"
	echo "$RIG_DOMU_RAMDISK"
}

# A domU's boot, from xl create to its init running, has a budget of its
# own: RIG_BOOT_IDLE s on an idle machine, more while the domain keeps
# using CPU (rig_domu_booted).
RIG_BOOT_IDLE=60

# rig_domu_create NAME TEST [MEMORY_MB] [XL_CONFIG_LINE...]
# Creates domain rig-NAME paused, running guest.sh's test_TEST once
# unpaused.  Prints its domid.  The guest's own waits are scaled as dom0's
# (rig.scale on its command line).
rig_domu_create() {
	_n=$1 _t=$2 _mem=${3:-256}
	shift 2
	[ $# -gt 0 ] && shift
	_cfg=/run/rig/rig-$_n.cfg
	{
		echo "name = \"rig-$_n\""
		echo 'type = "pv"'
		echo "kernel = \"$RIG_IMAGES/vmlinux\""
		echo "ramdisk = \"$(rig_domu_ramdisk)\""
		echo "extra = \"console=hvc0 quiet rig.test=$_t rig.scale=$(rig_limit 1)\""
		echo "memory = $_mem"
		echo 'vcpus = 1'
		echo 'on_crash = "preserve"'
		for _l in "$@"; do echo "$_l"; done
	} >"$_cfg"
	_t0=$(rig_now)
	if ! xl create -p "$_cfg" >/run/rig/xl-create-$_n.log 2>&1; then
		sed 's/^/RIG|     /' /run/rig/xl-create-$_n.log | tail -n 20 >&2
		return 1
	fi
	echo "$_t0" >/run/rig/t-create-$_n
	echo "$(rig_elapsed "$_t0")" >/run/rig/t-created-$_n
	_d=$(xl domid "rig-$_n") || return 1
	rig_uptime
	_bb=$(rig_budget $RIG_BOOT_IDLE)
	# NAME CREATED BUDGET END CPU LAST_PROGRESS NEXT_SAMPLE STATE
	echo "$_n $RIG_UP $_bb $((RIG_UP + _bb)) 0 $RIG_UP $((RIG_UP + 10)) booting" >/run/rig/boot-$_d
	echo "$_d"
}

# rig_domu_booted DOMID: 0 once the guest's init runs (logged as
# "boot NAME end"), 1 while it may still be booting, 2 when it did not get
# there within its boot budget (a not ok, once).
rig_domu_booted() {
	_bf=/run/rig/boot-$1
	[ -f "$_bf" ] || return 0
	read -r _bn _bt0 _bb _bend _bcpu _blast _bnext _bst <"$_bf"
	[ "$_bst" = failed ] && return 2
	if _bu=$(xenstore-read "/local/domain/$1/data/rig/started" 2>/dev/null); then
		rig_uptime
		rig_log "boot $_bn end: init running $((RIG_UP - _bt0)) s after xl create, at $_bu s of its uptime (budget $_bb s)"
		rm -f "$_bf"
		return 0
	fi
	rig_uptime
	if [ "$RIG_UP" -ge "$_bnext" ]; then
		_c=$(xl list "rig-$_bn" 2>/dev/null | awk 'NR == 2 { printf "%d", $6 * 10 }')
		[ "${_c:-0}" -ge $((_bcpu + 5)) ] && _blast=$RIG_UP
		_bcpu=${_c:-0} _bnext=$((RIG_UP + 10))
	fi
	if [ "$RIG_UP" -lt "$_bend" ] || { [ $((RIG_UP - _blast)) -lt "$RIG_QUIET" ] &&
		[ "$RIG_UP" -lt $((_bt0 + _bb * RIG_STEP_CAP)) ]; }; then
		if [ "$RIG_UP" -ge "$_bend" ]; then
			_bend=$((RIG_UP + RIG_QUIET))
			rig_log "boot $_bn extended to $((_bend - _bt0)) s (budget $_bb s; it is using CPU)"
		fi
		echo "$_bn $_bt0 $_bb $_bend $_bcpu $_blast $_bnext booting" >"$_bf"
		return 1
	fi
	echo "$_bn $_bt0 $_bb $_bend $_bcpu $_blast $_bnext failed" >"$_bf"
	rig_not_ok "boot-$_bn: domU $_bn's init not running $((RIG_UP - _bt0)) s after xl create (budget $_bb s)"
	return 2
}

# rig_xenshare_dev DOMID DEVID [KEY=VALUE...]
# Writes the xenbus nodes a toolstack writes for one xenshare device (what
# xenshare-ctl attach will do): the backend directory, owned by dom0 and
# readable by the guest, with KEY=VALUE nodes added; the frontend directory,
# owned by the guest and readable by dom0.
rig_xenshare_dev() {
	_d=$1 _dev=$2
	shift 2
	_be=$XS_BACKEND_ROOT/$_d/$_dev
	_fe=/local/domain/$_d/device/xenshare/$_dev
	xenstore-write "$_be/frontend" "$_fe" "$_be/frontend-id" "$_d" \
		"$_be/online" 1 "$_be/state" 1 \
		"$_fe/backend" "$_be" "$_fe/backend-id" 0 "$_fe/state" 1 || return 1
	for _kv in "$@"; do
		xenstore-write "$_be/${_kv%%=*}" "${_kv#*=}" || return 1
	done
	xenstore-chmod "$XS_BACKEND_ROOT/$_d" n0 "r$_d" &&
		xenstore-chmod -r "$_be" n0 "r$_d" &&
		xenstore-chmod "/local/domain/$_d/device/xenshare" "n$_d" r0 &&
		xenstore-chmod -r "$_fe" "n$_d" r0
}

rig_domu_alive() { xl domid "rig-$1" >/dev/null 2>&1; }

# rig_domu_wait DOMID NAME [TIMEOUT_S]: waits until the guest says done.
rig_domu_wait() {
	_d=$1 _n=$2 _to=$(rig_limit "${3:-300}")
	_t0=$(cat /run/rig/t-create-$_n 2>/dev/null || rig_now)
	_started=
	_i=0
	while :; do
		if [ -z "$_started" ] && xenstore-exists "/local/domain/$_d/data/rig/started" 2>/dev/null; then
			_started=$(rig_elapsed "$_t0")
		fi
		_st=$(xenstore-read "/local/domain/$_d/data/rig/status" 2>/dev/null) && break
		rig_domu_booted "$_d"
		[ $? -eq 2 ] && return 1
		if rig_step_expired; then
			rig_not_ok "domU $_n: no result before its step ran out of time"
			return 1
		fi
		# xl is costly under emulation: the domain's state every 5 s.
		if [ $((_i % 10)) -eq 0 ]; then
			if ! rig_domu_alive "$_n"; then
				rig_not_ok "domU $_n: domain vanished before reporting"
				return 1
			fi
			_state=$(xl list "rig-$_n" 2>/dev/null | awk 'NR == 2 { print $5 }')
			case $_state in
			*c*)
				rig_not_ok "domU $_n: domain crashed (state $_state)"
				return 1
				;;
			esac
		fi
		_i=$((_i + 1))
		if [ "$_i" -gt $((_to * 2)) ]; then
			rig_not_ok "domU $_n: no result within ${_to} s"
			return 1
		fi
		sleep 0.5
	done
	rig_log "time domU $_n: xl create $(cat /run/rig/t-created-$_n) s, init running at ${_started:-?} s, done at $(rig_elapsed "$_t0") s (from xl create)"
	[ "$_st" = "done 0" ] || rig_not_ok "domU $_n: guest script ended with '$_st'"
}

# rig_domu_collect DOMID NAME: the guest's results become dom0's, suffixed
# with the domU's name.
rig_domu_collect() {
	_d=$1 _n=$2
	for _k in $(xenstore-list "/local/domain/$_d/data/rig/r" 2>/dev/null | sort); do
		_r=$(xenstore-read "/local/domain/$_d/data/rig/r/$_k")
		case $_r in
		"ok - "*) rig_ok "${_r#ok - } [$_n]" ;;
		"skip - "*) rig_skip "${_r#skip - } [$_n]" ;;
		*) rig_not_ok "${_r#not ok - } [$_n]" ;;
		esac
	done
	rig_log "domU $_n results collected"
}

rig_domu_destroy() { xl destroy "rig-$1" >/dev/null 2>&1 || true; }

# rig_signal DOMID KEY [VALUE]: tell a guest blocked in rig_wait KEY to go on.
rig_signal() { xenstore-write "/local/domain/$1/data/rig/go/$2" "${3:-1}"; }

# rig_wait_guest DOMID KEY [TIMEOUT_S]: wait for the guest's rig_signal KEY;
# prints its value.  Fails at once when the guest has finished without
# sending it.
rig_wait_guest() {
	_i=0
	_wl=$(rig_limit "${3:-120}")
	until xenstore-read "/local/domain/$1/data/rig/sig/$2" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt $((_wl * 2)) ] && return 1
		xenstore-exists "/local/domain/$1/data/rig/status" 2>/dev/null &&
			return 1
		rig_domu_booted "$1"
		[ $? -eq 2 ] && return 1
		rig_step_expired && return 1
		sleep 0.5
	done
}

# rig_domu_run NAME TEST TIMEOUT SETUP_FN [CHECK_FN [XL_CONFIG_LINE...]]:
# the whole life of one domU: create paused, SETUP_FN DOMID (write device
# nodes, start daemons), unpause, wait for the guest, collect its results,
# CHECK_FN DOMID (dom0's own checks while the domain still exists), destroy.
rig_domu_run() {
	_rn=$1 _rt=$2 _rto=$3 _setup=$4 _check=${5:-}
	if [ $# -gt 5 ]; then shift 5; else set --; fi
	if ! _rd=$(rig_domu_create "$_rn" "$_rt" 256 "$@"); then
		rig_not_ok "domU $_rn: xl create"
		return 1
	fi
	rig_log "domU $_rn is domain $_rd"
	if [ -n "$_setup" ] && ! "$_setup" "$_rd"; then
		rig_not_ok "domU $_rn: setup $_setup"
		rig_domu_destroy "$_rn"
		return 1
	fi
	xl unpause "rig-$_rn"
	rig_console_follow "$_rn"
	rig_domu_wait "$_rd" "$_rn" "$_rto"
	rig_domu_collect "$_rd" "$_rn"
	[ -n "$_check" ] && "$_check" "$_rd"
	rig_domu_destroy "$_rn"
	return 0
}

# rig_console_follow NAME: the guest's console, live on dom0's console
# (so in serial.log while the rig runs) as "CON NAME| line".
rig_console_follow() {
	_cf=/var/log/xen/console/guest-rig-$1.log
	(
		while [ ! -f "$_cf" ] && rig_domu_alive "$1"; do
			sleep 0.5
		done
		exec tail -n +1 -F "$_cf" 2>/dev/null | sed -u "s/\r\$//; s/^/CON $1| /"
	) </dev/null &
}

# rig_domu_start NAME TEST SETUP_FN: the first half of rig_domu_run (create
# paused, SETUP_FN DOMID, unpause), for scenarios that act while the guest
# runs.  Sets RIG_DOMID.
rig_domu_start() {
	_sn=$1 _st=$2 _ssetup=$3
	RIG_DOMID=
	if ! _sd=$(rig_domu_create "$_sn" "$_st"); then
		rig_not_ok "domU $_sn: xl create"
		return 1
	fi
	rig_log "domU $_sn is domain $_sd"
	if [ -n "$_ssetup" ] && ! "$_ssetup" "$_sd"; then
		rig_not_ok "domU $_sn: setup $_ssetup"
		rig_domu_destroy "$_sn"
		return 1
	fi
	xl unpause "rig-$_sn"
	rig_console_follow "$_sn"
	# shellcheck disable=SC2034 # for the scenario that called us
	RIG_DOMID=$_sd
}

# rig_domu_finish DOMID NAME TIMEOUT [CHECK_FN]: the second half: wait for
# the guest, collect its results, CHECK_FN DOMID, destroy.
rig_domu_finish() {
	rig_domu_wait "$1" "$2" "$3"
	rig_domu_collect "$1" "$2"
	[ -n "${4:-}" ] && "$4" "$1"
	rig_domu_destroy "$2"
	return 0
}

# rig_run_tap NAME CMD...: run a test program that prints "ok - ...",
# "not ok - ..." and "skip - ..." lines (tests/integration's style); each
# becomes a result prefixed with NAME.  Its whole output is kept as
# /run/rig/logs/NAME.log.  A non-zero exit without a failed line fails too.
rig_run_tap() {
	_tn=$1
	shift
	_tl=/run/rig/logs/$_tn.log
	"$@" >"$_tl" 2>&1
	_ts=$?
	_tf=$(grep -c '^not ok - ' "$_tl")
	grep -E '^(ok|not ok|skip) - ' "$_tl" | while IFS= read -r _line; do
		case $_line in
		"ok - "*) rig_ok "$_tn: ${_line#ok - }" ;;
		"skip - "*) rig_skip "$_tn: ${_line#skip - }" ;;
		*) rig_not_ok "$_tn: ${_line#not ok - }" ;;
		esac
	done
	if [ "$_ts" -ne 0 ] && [ "$_tf" -eq 0 ]; then
		rig_not_ok "$_tn: exited $_ts (log: $_tn.log)"
	fi
}

# rig_injected NAME: whether run.sh injected the project's program NAME
# into dom0 or into the domUs.
rig_injected() { grep -qx "$1" /rig/injected 2>/dev/null; }

# rig_check_programs_link DIR: every dynamically linked program in DIR
# finds all its libraries (catches a library run.sh failed to inject).
rig_check_programs_link() {
	for _p in "$1"/*; do
		[ -f "$_p" ] && [ -x "$_p" ] || continue
		_ldd=$(/lib64/ld-linux-x86-64.so.2 --list "$_p" 2>&1) || continue
		if echo "$_ldd" | grep -q 'not found'; then
			rig_not_ok "${_p##*/} finds its libraries: $(echo "$_ldd" | grep 'not found' | tr '\n' ' ')"
		else
			rig_ok "${_p##*/} finds its libraries"
		fi
	done
}
