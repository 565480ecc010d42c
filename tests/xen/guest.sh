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

# --- Xen's own 9pfs (scenario.sh scenario_9pfs is dom0's side) --------------

P9_TAG=xen9p

test_p9() {
	m=/mnt/p9
	mkdir -p $m
	rig_check "modprobe 9pnet_xen and 9p" sh -c 'modprobe 9pnet_xen && modprobe 9p'
	rig_check "mount -t 9p -o trans=xen $P9_TAG $m" \
		mount -t 9p -o trans=xen,version=9p2000.L $P9_TAG $m
	rig_check_eq "read a file dom0 wrote, over Xen 9pfs" "from dom0 over 9pfs" \
		"$(cat $m/from-dom0 2>&1)"
	rig_check "write a file over Xen 9pfs" sh -c "echo 'from domU over 9pfs' >$m/from-domu"
	rig_check_eq "read it back over Xen 9pfs" "from domU over 9pfs" \
		"$(cat $m/from-domu 2>&1)"
	rig_check "unmount the Xen 9pfs mount" umount $m
}

# --- xenshare end to end (scenario.sh scenario_xenshare is dom0's side) ------

FRONT_PID=

# xs_mount TAG MOUNTPOINT: xenshare-front in the foreground (its log on
# the console at the end), in the background; waits for the mount.
xs_mount() {
	mkdir -p "$2"
	# shellcheck disable=SC2086
	xenshare-front -f ${XENSHARE_FRONT_ARGS:-} "$1" "$2" \
		>>"/tmp/front-$1.log" 2>&1 &
	FRONT_PID=$!
	_i=0
	_il=$(rig_limit 120)
	until grep -q " $2 fuse" /proc/mounts; do
		_i=$((_i + 1))
		if [ $_i -gt "$_il" ] || ! kill -0 "$FRONT_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.5
	done
}

xs_umount() { # MOUNTPOINT
	fusermount3 -u "$1" || return 1
	_i=0
	_il=$(rig_limit 40)
	while [ -n "$FRONT_PID" ] && kill -0 "$FRONT_PID" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt "$_il" ] && return 1
		sleep 0.25
	done
}

xs_front_logs() {
	for _l in /tmp/front-*.log; do
		[ -f "$_l" ] && sed "s|^|guest: ${_l##*/}: |" "$_l"
	done
}

# As scenario.sh's.
xs_tree_sums() { # DIR
	(cd "$1" && find . -type f | LC_ALL=C sort | while IFS= read -r _f; do
		sha256sum "$_f"
	done)
}

# Works with the mount: read what dom0 wrote, write a file, read it back.
xs_mount_works() { # MOUNTPOINT FILE
	[ "$(cat "$1/from-dom0")" = "from dom0" ] &&
		echo "$2" >"$1/$2" && [ "$(cat "$1/$2")" = "$2" ]
}

test_xenshare() {
	guest_devices
	if ! command -v xenshare-front >/dev/null 2>&1; then
		rig_not_ok "xenshare-front not injected"
		return 1
	fi
	m=/mnt/share
	if ! xs_mount "$XS_TAG" $m; then
		rig_not_ok "xenshare-front mounts $XS_TAG on $m"
		xs_front_logs
		return 1
	fi
	rig_ok "xenshare-front mounts $XS_TAG on $m (found by tag)"
	rig_signal mounted
	rig_check_eq "guest reads a file dom0 wrote" "from dom0" \
		"$(cat $m/from-dom0 2>&1)"
	rig_check "guest writes a file" sh -c "echo 'from domU' >$m/from-domu"

	# A tree copied out of the share, and one copied in.
	rm -rf /tmp/tree-in /tmp/gtree
	rig_check "tar copies dom0's tree out of the share" \
		sh -c "tar -C $m -cf - tree-in | tar -C /tmp -xf -"
	rig_check_eq "tree copied out has dom0's checksums" \
		"$(cat $m/tree-in.sha256 2>&1)" "$(xs_tree_sums /tmp/tree-in 2>&1)"
	rig_check_eq "symlink copied with its target" "../f3" \
		"$(readlink /tmp/tree-in/a/b/link 2>&1)"
	rig_check "empty directory copied" test -d /tmp/tree-in/empty
	rig_check "the same tree copied back in" cp -a /tmp/tree-in $m/tree-back
	mkdir -p /tmp/gtree/x/y
	for n in 1 2 3 4 5 6 7 8; do
		head -c $((n * n * 37813)) /dev/urandom >/tmp/gtree/x/y/g$n
	done
	head -c 2097152 /dev/urandom >/tmp/gtree/big
	: >/tmp/gtree/empty-file
	rig_check "tar copies the guest's tree into the share" \
		sh -c "tar -C /tmp/gtree -cf - . | (mkdir -p $m/tree-out && tar -C $m/tree-out -xf -)"
	xs_tree_sums /tmp/gtree >/tmp/gtree.sha256
	cp /tmp/gtree.sha256 $m/tree-out.sha256
	rig_check_eq "tree copied in reads back with the guest's checksums" \
		"$(cat /tmp/gtree.sha256)" "$(xs_tree_sums $m/tree-out 2>&1)"

	# Every op kind, and data integrity.
	if [ -x /rig/bin/posix_ops ]; then
		rig_run_tap posix_ops /rig/bin/posix_ops $m
	else
		rig_not_ok "posix_ops not injected (build/tests/integration/posix_ops)"
	fi
	if [ -x /rig/bin/fsx ]; then
		rig_run_tap "fsx -N 3000" /rig/bin/fsx -N 3000 -S 1 $m
		rig_run_tap "fsx -N 2000 -P 2" /rig/bin/fsx -N 2000 -P 2 -S 2 $m
	else
		rig_not_ok "fsx not injected (build/tests/tools/fsx)"
	fi

	# Policy is dom0's: the guest cannot write its backend nodes.
	be=$(xenstore-read device/xenshare/0/backend 2>/dev/null)
	rig_check_fails "guest cannot write its backend quota-bytes" \
		xenstore-write "$be/quota-bytes" 0
	rig_check_fails "guest cannot write its backend path" \
		xenstore-write "$be/path" /
	rig_check_fails "guest cannot write its backend mode" \
		xenstore-write "$be/mode" rw

	# A quota dom0 sets on the mounted device applies at once.
	rig_signal quota-now
	if rig_wait quota-set 300 >/dev/null; then
		q=$(xenstore-read "$be/quota-bytes" 2>/dev/null)
		rig_check_eq "df in the guest shows the quota set live as the size" \
			"$((${q:-0} / 1024))" \
			"$(df -Pk $m | tail -n 1 | awk '{ print $2 }')"
		rig_check_fails "write beyond a quota set live fails" \
			sh -c "head -c 8388608 /dev/zero >$m/over-quota && sync"
		rm -f $m/over-quota
		rig_signal quota-done
		rig_wait quota-off 300 >/dev/null
		rig_check "write succeeds once the quota is lifted" \
			sh -c "head -c 8388608 /dev/zero >$m/over-quota"
		rm -f $m/over-quota
	else
		rig_not_ok "dom0 set the quota (no signal)"
	fi

	# /etc/fstab: mount(8) runs mount.fuse.xenshare -> xenshare.
	echo "fstab0 /mnt/fstab fuse.xenshare defaults 0 0" >>/etc/fstab
	mkdir -p /mnt/fstab
	rig_check "fstab line 'fstab0 /mnt/fstab fuse.xenshare defaults 0 0' mounts" \
		mount /mnt/fstab
	rig_check_eq "read through the fstab mount" "read-only via fstab" \
		"$(cat /mnt/fstab/hello 2>&1)"
	rig_check_fails "the read-only device refuses writes" \
		sh -c 'echo x >/mnt/fstab/nope'
	rig_check "fstab mount unmounts" umount /mnt/fstab

	# Device tmpl0 is built on a template in dom0.
	mkdir -p /mnt/tmpl
	rig_check "a device built on a template mounts" xs_mount tmpl0 /mnt/tmpl
	rig_check_eq "the template's file is read through it" "from the template" \
		"$(cat /mnt/tmpl/hello 2>&1)"
	rig_check "a template file is written" \
		sh -c 'echo "written by the guest" >>/mnt/tmpl/hello'
	rig_check "the template device unmounts" xs_umount /mnt/tmpl
	rig_signal template-done

	# Backend restart while mounted: dom0 kills xenshare-back, starts a
	# new one; the mount must come back.
	rig_signal restart-now
	if rig_wait restarted 300 >/dev/null; then
		rig_check "mount works after the backend restart" \
			xs_mount_works $m after-restart
	else
		rig_not_ok "dom0 restarted the backend (no signal)"
	fi

	# Hot-unplug and re-attach while mounted.
	rig_signal unplug-now
	if rig_wait replugged 300 >/dev/null; then
		rig_check "mount works after hot-unplug and re-attach" \
			xs_mount_works $m after-replug
	else
		rig_not_ok "dom0 re-attached the device (no signal)"
	fi

	rig_check "xenshare-front unmounts" xs_umount $m
	xs_front_logs
}

# Two guests at once (alpha, beta); then beta turns hostile.
test_pair() {
	name=$(xenstore-read name 2>/dev/null)
	name=${name#rig-}
	m=/mnt/data
	if ! xs_mount data $m; then
		rig_not_ok "$name mounts its device"
		xs_front_logs
		return 1
	fi
	rig_ok "$name mounts its device"
	rig_check_eq "$name sees its own directory" "$name" "$(cat $m/owner 2>&1)"
	rig_check "$name writes" sh -c "echo $name >$m/$name-was-here"
	rig_check_eq "$name sees nothing of the other guest" \
		"$name-was-here owner" "$(ls $m | tr '\n' ' ' | sed 's/ $//')"
	rig_signal paired
	if [ "$name" = beta ]; then
		rig_wait go-hostile 300 >/dev/null
		rig_check "beta unmounts" xs_umount $m
		pair_hostile
		rig_signal hostile-done
	else
		rig_wait go-on 600 >/dev/null
		rig_check "alpha's mount still works after beta's garbage" \
			sh -c "echo again >$m/again && test \"\$(cat $m/again)\" = again && rm $m/again"
		if [ -x /rig/bin/fsx ]; then
			rig_run_tap "alpha fsx -N 1000" /rig/bin/fsx -N 1000 -S 3 $m
		fi
		rig_check "alpha unmounts" xs_umount $m
	fi
	xs_front_logs
}

# fe_garbage NAME NODE=VALUE...: a plausible node set with the given
# nodes replaced, then Initialised; the backend must refuse it (Closing,
# an error node) and reset to InitWait when told Initialising.
fe_garbage() {
	_name=$1
	shift
	fe=device/xenshare/0
	be=$(xenstore-read $fe/backend)
	xenstore-write $fe/version 1 $fe/num-rings 1 $fe/ring-page-order 0 \
		$fe/ring-ref0-0 8 $fe/event-channel-0 5 $fe/data-pages 1 \
		$fe/data-ref-dir-0 9 $fe/feature-flags 0
	for _kv in "$@"; do
		xenstore-write "$fe/${_kv%%=*}" "${_kv#*=}"
	done
	xenstore-write $fe/state 3
	_i=0
	_il=$(rig_limit 120)
	until [ "$(xenstore-read "$be/state" 2>/dev/null)" = 5 ]; do
		_i=$((_i + 1))
		if [ $_i -gt "$_il" ]; then
			rig_not_ok "backend refuses $_name (state $(xenstore-read "$be/state" 2>&1))"
			return 1
		fi
		sleep 0.25
	done
	rig_ok "backend refuses $_name: $(xenstore-read "$be/error" 2>&1)"
	xenstore-write $fe/state 1
	_i=0
	until [ "$(xenstore-read "$be/state" 2>/dev/null)" = 2 ]; do
		_i=$((_i + 1))
		if [ $_i -gt "$_il" ]; then
			rig_not_ok "backend back to InitWait after $_name"
			return 1
		fi
		sleep 0.25
	done
}

pair_hostile() {
	fe_garbage "999 rings" num-rings=999
	fe_garbage "a ring ref with junk" ring-ref0-0=12abc
	fe_garbage "a padded version" "version= 1"
	fe_garbage "a data area of 2^32 pages" data-pages=4294967296
	fe_garbage "a missing event channel" event-channel-0=
	fe_garbage "grant refs it never granted" ring-ref0-0=40000 \
		data-ref-dir-0=40001 event-channel-0=60
	# The last refusal stays: dom0 checks Closing and the error node.
	fe=device/xenshare/0
	be=$(xenstore-read $fe/backend)
	xenstore-write $fe/num-rings 0 $fe/state 3
	_i=0
	_il=$(rig_limit 120)
	until [ "$(xenstore-read "$be/state" 2>/dev/null)" = 5 ] || [ $_i -gt "$_il" ]; do
		_i=$((_i + 1))
		sleep 0.25
	done
}
