#!/bin/sh
# scenario.sh - what the rig's dom0 does once the toolstack is up
# (/rig/scenario.sh).  Each scenario_* function is one step; a domU's side
# of a step is test_* in guest.sh, named by rig_domu_run.  Results go
# through rig-lib.sh's rig_ok / rig_not_ok / rig_skip.

. /rig/lib.sh

# The values the guest side (guest.sh) expects.
XS_TAG=share0
XS_QUOTA=1048576

scenario_toolstack() {
	rig_check "xl info works in dom0" xl info
	rig_check "hypervisor offers PV guests" sh -c 'xl info | grep -q "^virt_caps.*pv"'
	rig_check "xenstored answers" xenstore-read /local/domain/0/name
	rig_check_programs_link /usr/local/bin
}

# --- xenstore: device nodes, owners and permissions -------------------------

xenstore_setup() { # DOMID
	rig_xenshare_dev "$1" 0 "path=/srv/share" "tag=$XS_TAG" mode=rw \
		id-map=passthrough "quota-bytes=$XS_QUOTA" quota-inodes=0
}

# xs_perms DIR CHILD: CHILD's permissions as xenstore-chmod takes them.
xs_perms() {
	xenstore-ls -p "$1" | sed -n "s/^$2 = .*(\(.*\))\$/\1/p" | tr , ' '
}

xenstore_check() { # DOMID
	_be=$XS_BACKEND_ROOT/$1/0
	rig_check_eq "guest could not change backend quota-bytes" "$XS_QUOTA" \
		"$(xenstore-read "$_be/quota-bytes" 2>&1)"
	rig_check_fails "guest could not add a backend node" \
		xenstore-exists "$_be/rig-guest-wrote-this"
	rig_check_eq "guest wrote its frontend state" 3 \
		"$(xenstore-read "/local/domain/$1/device/xenshare/0/state" 2>&1)"
	rig_check_eq "backend directory owned by dom0, readable by the guest" \
		"n0 r$1" "$(xs_perms "$XS_BACKEND_ROOT/$1" 0)"
	rig_check_eq "frontend directory owned by the guest, readable by dom0" \
		"n$1 r0" "$(xs_perms "/local/domain/$1/device/xenshare" 0)"
}

scenario_xenstore() {
	mkdir -p /srv/share
	rig_domu_run xenstore xenstore 240 xenstore_setup xenstore_check
}

# --- xenshare end to end (runs once the project's programs are injected) ---
#
# dom0: xenshare-back serves; `xenshare-ctl attach DOMID /srv/share` makes
# the device while the domU is paused.  domU (guest.sh test_xenshare):
# `xenshare-front TAG /mnt/share`, a file each way, then every test program
# injected as /rig/tests/* with the mount point as its argument.
# XENSHARE_BACK_ARGS and XENSHARE_FRONT_ARGS pass through XENSHARE_RIG_ENV.

XS_BACK_PID=

xenshare_back_start() {
	# shellcheck disable=SC2086
	xenshare-back ${XENSHARE_BACK_ARGS:-} >/run/rig/logs/xenshare-back.log 2>&1 &
	XS_BACK_PID=$!
	sleep 1
	kill -0 "$XS_BACK_PID"
}

xenshare_setup() { # DOMID
	xenshare-ctl attach "$1" /srv/share >>/run/rig/logs/xenshare-ctl.log 2>&1
}

xenshare_check() { # DOMID
	rig_check_eq "a file the guest wrote reached dom0" "from domU" \
		"$(cat /srv/share/from-domu 2>&1)"
	rig_check "xenshare-back survived the guest" kill -0 "$XS_BACK_PID"
}

scenario_xenshare() {
	for p in xenshare-back xenshare-ctl xenshare-front; do
		if ! rig_injected "$p"; then
			rig_skip "xenshare end to end: $p not injected (run.sh takes it from XENSHARE_BUILD)"
			return 0
		fi
	done
	rm -rf /srv/share
	mkdir -p /srv/share
	echo "from dom0" >/srv/share/from-dom0
	if ! xenshare_back_start; then
		rig_not_ok "xenshare-back starts (log: xenshare-back.log)"
		return 0
	fi
	rig_ok "xenshare-back starts"
	rig_domu_run xenshare xenshare 600 xenshare_setup xenshare_check
	kill "$XS_BACK_PID" 2>/dev/null
	wait "$XS_BACK_PID" 2>/dev/null || true
}

scenario_toolstack
scenario_xenstore
scenario_xenshare
exit 0
