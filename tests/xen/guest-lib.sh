# guest-lib.sh - domU side of the real-Xen rig (busybox sh), sourced by the
# domU's /init as /rig/guest-lib.sh.  Each result goes to the console and to
# xenstore (/local/domain/<domid>/data/rig/, see rig-lib.sh), where dom0
# collects it.

RIG_N=0
RIG_FAILED=0
# dom0 passes rig.scale=N (domu-init.sh): how much longer than on an idle
# machine a wait here may take.
RIG_SCALE=${RIG_SCALE:-1}
rig_limit() { echo $(($1 * RIG_SCALE)); }

# rig_hang_point NAME: with XENSHARE_RIG_HANG=NAME, hang here for good
# (to prove that dom0 names the hung step; tests/xen/README.md).
rig_hang_point() {
	[ "${XENSHARE_RIG_HANG:-}" = "$1" ] || return 0
	echo "guest: hanging $1 on purpose (XENSHARE_RIG_HANG)"
	while :; do sleep 3600; done
}

# Relative xenstore paths resolve under the guest's own home,
# /local/domain/<domid>/.
rig_put() { xenstore-write "data/rig/$1" "$2" 2>/dev/null; }

rig_result() {
	RIG_N=$((RIG_N + 1))
	echo "guest: $*"
	rig_put "r/$(printf %03d "$RIG_N")" "$*" ||
		echo "guest: cannot write result $RIG_N to xenstore"
}
rig_ok() { rig_result "ok - $*"; }
rig_not_ok() { RIG_FAILED=$((RIG_FAILED + 1)); rig_result "not ok - $*"; }
rig_skip() { rig_result "skip - $*"; }

# rig_check NAME CMD...: CMD's exit status decides; its output goes to the
# console.
rig_check() {
	_name=$1
	shift
	if "$@" >/tmp/rig-check.out 2>&1; then
		rig_ok "$_name"
	else
		_st=$?
		sed 's/^/guest:     /' /tmp/rig-check.out | tail -n 20
		rig_not_ok "$_name (exit $_st: $*)"
	fi
}

# rig_check_fails NAME CMD...: passes when CMD fails.
rig_check_fails() {
	_name=$1
	shift
	if "$@" >/tmp/rig-check.out 2>&1; then
		rig_not_ok "$_name (succeeded but must fail: $*)"
	else
		echo "guest:     failed as it must: $(tail -n 1 /tmp/rig-check.out)"
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

# rig_signal KEY [VALUE]: tell dom0 (rig_wait_guest) that KEY happened.
rig_signal() { rig_put "sig/$1" "${2:-1}"; }

# rig_wait KEY [TIMEOUT_S]: wait for dom0's rig_signal DOMID KEY; prints its
# value.
rig_wait() {
	_i=0
	_wl=$(rig_limit "${2:-120}")
	until xenstore-read "data/rig/go/$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt $((_wl * 2)) ] && return 1
		sleep 0.5
	done
}

rig_done() { rig_put status "done $1"; }

# rig_run_tap NAME CMD...: run a test program that prints "ok - ...",
# "not ok - ..." and "skip - ..." lines (tests/integration's style); each
# becomes a result prefixed with NAME; its output goes to the console.  A
# non-zero exit without a failed line fails too.
rig_run_tap() {
	_tn=$1
	shift
	"$@" >/tmp/rig-tap.out 2>&1
	_ts=$?
	sed 's/^/guest: | /' /tmp/rig-tap.out
	_tf=$(grep -c '^not ok - ' /tmp/rig-tap.out)
	grep -E '^(ok|not ok|skip) - ' /tmp/rig-tap.out >/tmp/rig-tap.res
	while IFS= read -r _line; do
		case $_line in
		"ok - "*) rig_ok "$_tn: ${_line#ok - }" ;;
		"skip - "*) rig_skip "$_tn: ${_line#skip - }" ;;
		*) rig_not_ok "$_tn: ${_line#not ok - }" ;;
		esac
	done </tmp/rig-tap.res
	if [ "$_ts" -ne 0 ] && [ "$_tf" -eq 0 ]; then
		rig_not_ok "$_tn: exited $_ts"
	fi
}

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
