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

rig_log() { echo "RIG| $*"; }
rig_now() { cut -d' ' -f1 /proc/uptime; }
# rig_elapsed START: seconds since START (a rig_now value), one decimal.
rig_elapsed() { awk -v a="$1" -v b="$(rig_now)" 'BEGIN { printf "%.1f", b - a }'; }

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

# rig_domu_create NAME TEST [MEMORY_MB] [XL_CONFIG_LINE...]
# Creates domain rig-NAME paused, running guest.sh's test_TEST once
# unpaused.  Prints its domid.
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
		echo "extra = \"console=hvc0 quiet rig.test=$_t\""
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
	xl domid "rig-$_n"
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
	_d=$1 _n=$2 _to=${3:-300}
	_t0=$(cat /run/rig/t-create-$_n 2>/dev/null || rig_now)
	_started=
	_i=0
	while :; do
		if [ -z "$_started" ] && xenstore-exists "/local/domain/$_d/data/rig/started" 2>/dev/null; then
			_started=$(rig_elapsed "$_t0")
		fi
		_st=$(xenstore-read "/local/domain/$_d/data/rig/status" 2>/dev/null) && break
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
}

rig_domu_destroy() { xl destroy "rig-$1" >/dev/null 2>&1 || true; }

# rig_signal DOMID KEY [VALUE]: tell a guest blocked in rig_wait KEY to go on.
rig_signal() { xenstore-write "/local/domain/$1/data/rig/go/$2" "${3:-1}"; }

# rig_wait_guest DOMID KEY [TIMEOUT_S]: wait for the guest's rig_signal KEY;
# prints its value.  Fails at once when the guest has finished without
# sending it.
rig_wait_guest() {
	_i=0
	until xenstore-read "/local/domain/$1/data/rig/sig/$2" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt $((${3:-120} * 2)) ] && return 1
		xenstore-exists "/local/domain/$1/data/rig/status" 2>/dev/null &&
			return 1
		sleep 0.5
	done
}

# rig_domu_run NAME TEST TIMEOUT SETUP_FN [CHECK_FN]: the whole life of one
# domU: create paused, SETUP_FN DOMID (write device nodes, start daemons),
# unpause, wait for the guest, collect its results, CHECK_FN DOMID (dom0's
# own checks while the domain still exists), destroy.
rig_domu_run() {
	_rn=$1 _rt=$2 _rto=$3 _setup=$4 _check=${5:-}
	if ! _rd=$(rig_domu_create "$_rn" "$_rt"); then
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
		_ci=0
		while [ ! -f "$_cf" ] && [ $_ci -lt 300 ]; do
			sleep 0.2
			_ci=$((_ci + 1))
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
