# guest.sh - the domUs' side of the scenarios (/rig/guest.sh, busybox sh).
# The domU's /init sources it and runs test_NAME for rig.test=NAME; results
# go through guest-lib.sh's rig_ok / rig_not_ok / rig_skip.  The values
# checked here are the ones scenario.sh writes.

XS_TAG=share0
XS_QUOTA=1048576

# The Xen devices the frontend uses, and FUSE.
guest_devices() {
	for d in evtchn gntalloc gntdev xenbus; do
		rig_check "/dev/xen/$d exists" test -c "/dev/xen/$d"
	done
	rig_check "/dev/fuse exists" test -c /dev/fuse
}

test_xenstore() {
	guest_devices
	rig_check_programs_link /usr/local/bin
	domid=$(xenstore-read domid 2>&1)
	rig_check "guest reads its domid" sh -c 'case $1 in ""|*[!0-9]*) exit 1 ;; esac' _ "$domid"
	fe=device/xenshare/0
	rig_check_eq "guest reads its frontend backend-id" 0 \
		"$(xenstore-read "$fe/backend-id" 2>&1)"
	rig_check_eq "guest reads its frontend state" 1 "$(xenstore-read "$fe/state" 2>&1)"
	be=$(xenstore-read "$fe/backend" 2>&1)
	rig_check_eq "frontend backend node names dom0's directory" \
		"/local/domain/0/backend/xenshare/$domid/0" "$be"
	rig_check_eq "guest reads backend quota-bytes" "$XS_QUOTA" \
		"$(xenstore-read "$be/quota-bytes" 2>&1)"
	rig_check_eq "guest reads backend tag" "$XS_TAG" "$(xenstore-read "$be/tag" 2>&1)"
	rig_check_fails "guest cannot write backend quota-bytes" \
		xenstore-write "$be/quota-bytes" 0
	rig_check_fails "guest cannot create a backend node" \
		xenstore-write "$be/rig-guest-wrote-this" 1
	rig_check_fails "guest cannot change backend permissions" \
		xenstore-chmod "$be/quota-bytes" "n$domid"
	rig_check_fails "guest cannot read dom0's home" xenstore-read /local/domain/0/name
	rig_check "guest writes its frontend state" xenstore-write "$fe/state" 3
	guest_fuse_probe
}

# A libfuse3 mount in the domU, with the rig's probe file system (run.sh
# builds it and injects it with its libraries, as it does xenshare-front).
guest_fuse_probe() {
	if ! command -v rig-fuse-probe >/dev/null 2>&1; then
		rig_skip "libfuse3 mount: rig-fuse-probe not injected"
		return 0
	fi
	mkdir -p /mnt/probe
	rig_check "libfuse3 program mounts" rig-fuse-probe /mnt/probe
	rig_check "fuse mount listed" grep -q ' /mnt/probe fuse' /proc/mounts
	rig_check_eq "read through fuse" xen-rig "$(cat /mnt/probe/hello 2>&1)"
	rig_check_fails "fuse probe refuses writes" sh -c 'echo x >/mnt/probe/hello'
	rig_check "fuse unmounts" fusermount3 -u /mnt/probe
}

# xenshare end to end (scenario.sh scenario_xenshare is dom0's side).
test_xenshare() {
	guest_devices
	if ! command -v xenshare-front >/dev/null 2>&1; then
		rig_not_ok "xenshare-front not injected"
		return 1
	fi
	be=$(xenstore-read device/xenshare/0/backend 2>/dev/null)
	tag=$(xenstore-read "$be/tag" 2>/dev/null)
	tag=${tag:-$XS_TAG}
	mkdir -p /mnt/share
	# Whether it daemonizes or not, the mount appearing is what counts.
	# shellcheck disable=SC2086
	xenshare-front ${XENSHARE_FRONT_ARGS:-} "$tag" /mnt/share &
	i=0
	until grep -q ' /mnt/share fuse' /proc/mounts; do
		i=$((i + 1))
		if [ $i -gt 120 ]; then
			rig_not_ok "xenshare-front mounts $tag on /mnt/share (not mounted after 60 s)"
			return 1
		fi
		sleep 0.5
	done
	rig_ok "xenshare-front mounts $tag on /mnt/share"
	rig_check_eq "guest reads a file dom0 wrote" "from dom0" \
		"$(cat /mnt/share/from-dom0 2>&1)"
	rig_check "guest writes a file" sh -c 'echo "from domU" >/mnt/share/from-domu'
	for t in /rig/tests/*; do
		[ -f "$t" ] && [ -x "$t" ] && rig_run_tap "${t##*/}" "$t" /mnt/share
	done
	rig_check "xenshare-front unmounts" fusermount3 -u /mnt/share
}
