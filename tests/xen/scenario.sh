#!/bin/sh
# scenario.sh - what the rig's dom0 does once the toolstack is up
# (/rig/scenario.sh).  Each scenario_* function is one step, run by
# rig_step at the bottom with its budget on an idle machine; a domU's side
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

# --- Xen's own 9pfs, the peer xenshare is compared with ---------------------
#
# For a domain with a p9 device, xl starts QEMU as its device model
# (qemu-system-xen's /usr/libexec/xen-qemu-system-i386, in dom0): QEMU's
# Xen 9pfs backend serves /srv/p9, which the guest mounts with the
# kernel's 9pnet_xen (guest.sh test_p9).

P9_TAG=xen9p
P9_DM=/usr/libexec/xen-qemu-system-i386

p9_check() { # DOMID
	rig_check "xl started QEMU as the domain's device model" \
		sh -c "ps -eo args | grep -v grep | grep -q -- '$P9_DM.*-xen-domid $1 '"
	rig_check_eq "a file the guest wrote over Xen 9pfs reached dom0" \
		"from domU over 9pfs" "$(cat /srv/p9/from-domu 2>&1)"
}

scenario_9pfs() {
	if [ ! -x $P9_DM ]; then
		rig_not_ok "Xen 9pfs: $P9_DM missing from dom0's image"
		return 0
	fi
	rm -rf /srv/p9
	mkdir -p /srv/p9
	echo "from dom0 over 9pfs" >/srv/p9/from-dom0
	rig_domu_run p9 p9 240 "" p9_check \
		"p9 = [ \"tag=$P9_TAG,security_model=none,path=/srv/p9\" ]"
}

# --- xenshare end to end ----------------------------------------------------
#
# dom0 runs xenshare-back (xen mode: every device in xenstore) and creates
# devices with xenshare-ctl; the domUs mount them with xenshare-front (and
# one through /etc/fstab).  guest.sh holds the guests' side: test_xenshare,
# test_pair.  While a guest runs, dom0 acts on its signals (rig_wait_guest)
# and answers with rig_signal.  XENSHARE_BACK_ARGS and XENSHARE_FRONT_ARGS
# pass through XENSHARE_RIG_ENV.

XS_BACK_PID=
XS_LOGS=/run/rig/logs
MiB=1048576

XS_BACK_FOLLOWED=

xenshare_back_start() {
	# Its log, live on the console (serial.log) as "BACK| line".
	if [ -z "$XS_BACK_FOLLOWED" ]; then
		: >>$XS_LOGS/xenshare-back.log
		tail -n 0 -F $XS_LOGS/xenshare-back.log 2>/dev/null </dev/null |
			sed -u 's/^/BACK| /' &
		XS_BACK_FOLLOWED=1
	fi
	# Set-id bits allowed, as the integration suite runs it (posix_ops
	# checks that writes and chown clear them).
	# Each device worker tries to reach a dom0 file outside its export
	# once it is in its sandbox, and logs how each attempt ended.
	echo "dom0 only" >/run/rig/dom0-secret
	# shellcheck disable=SC2086
	XS_SANDBOX_SELFTEST=/run/rig/dom0-secret \
		xenshare-back -f --allow-setid ${XENSHARE_BACK_ARGS:-} >>$XS_LOGS/xenshare-back.log 2>&1 &
	XS_BACK_PID=$!
	sleep 1
	kill -0 "$XS_BACK_PID"
}

xenshare_back_stop() { # [SIGNAL]
	[ -n "$XS_BACK_PID" ] || return 0
	kill "-${1:-TERM}" "$XS_BACK_PID" 2>/dev/null
	wait "$XS_BACK_PID" 2>/dev/null
	XS_BACK_PID=
}

ctl() { xenshare-ctl "$@" >>$XS_LOGS/xenshare-ctl.log 2>&1; }

# xs_wait_node PATH VALUE [TIMEOUT_S]: until xenstore's PATH holds VALUE.
xs_wait_node() {
	_w=0
	_wl=$(rig_limit "${3:-60}")
	until [ "$(xenstore-read "$1" 2>/dev/null)" = "$2" ]; do
		_w=$((_w + 1))
		[ "$_w" -gt $((_wl * 4)) ] && return 1
		rig_step_expired && return 1
		sleep 0.25
	done
}

# A tree with the shapes a copy can get wrong: empty and odd-sized files,
# sizes around page and 1 MiB boundaries, deep and empty directories,
# spaces in names, a symlink and a hard link.
xs_tree_make() { # DIR
	mkdir -p "$1/a/b/c" "$1/empty" "$1/d e"
	_i=0
	for _sz in 0 1 511 4095 4096 4097 65536 131073 1048576 1048589 3145741; do
		head -c "$_sz" /dev/urandom >"$1/a/f$_i"
		_i=$((_i + 1))
	done
	for _n in $(seq 1 40); do
		head -c $((_n * 997)) /dev/urandom >"$1/a/b/c/small$_n"
	done
	echo "name with spaces" >"$1/d e/file name"
	ln -s ../f3 "$1/a/b/link"
	ln "$1/a/f2" "$1/a/hardlink"
}

# sha256 of every regular file under DIR, as "HASH  ./PATH" sorted by path
# (the same command runs in the guest with busybox).
xs_tree_sums() { # DIR
	(cd "$1" && find . -type f | LC_ALL=C sort | while IFS= read -r _f; do
		sha256sum "$_f"
	done)
}

xenshare_setup() { # DOMID
	ctl attach "$1" /srv/share &&
		ctl attach "$1" /srv/fstab --tag fstab0 --ro &&
		mkdir -p /srv/tmpl-lower /srv/tmpl0 &&
		echo "from the template" >/srv/tmpl-lower/hello &&
		ctl attach "$1" /srv/tmpl0 --tag tmpl0 --template /srv/tmpl-lower
}

# xenshare-back's children: the device workers.
xs_workers() {
	grep -l "^PPid:[[:space:]]*$XS_BACK_PID\$" /proc/[0-9]*/status 2>/dev/null |
		cut -d/ -f3
}

# The worker whose root holds /srv/share.
xs_share_worker() {
	for _p in $(xs_workers); do
		[ -d "/proc/$_p/root/srv/share" ] && echo "$_p" && return 0
	done
}

# What dom0's administrator sees of a connected device's worker.
xenshare_worker_check() {
	_w=$(xs_share_worker)
	if [ -z "$_w" ]; then
		rig_not_ok "share0 is served by a worker process of its own (children: $(xs_workers | tr '\n' ' '))"
		return 0
	fi
	rig_ok "share0 is served by a worker process of its own ($_w)"
	rig_check_eq "the worker runs under a seccomp filter" 2 \
		"$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/$_w/status)"
	rig_check_eq "the worker has no_new_privs" 1 \
		"$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/$_w/status)"
	rig_check_eq "the worker's root holds only its export and /proc" \
		"proc srv" "$(ls /proc/$_w/root | tr '\n' ' ' | sed 's/ $//')"
	rig_check_eq "the worker sees no other export" "share" \
		"$(ls /proc/$_w/root/srv | tr '\n' ' ' | sed 's/ $//')"
	rig_check "the worker could not reach a dom0 file outside its export" \
		sh -c "grep -q 'sandbox selftest: done' $XS_LOGS/xenshare-back.log && grep -q 'sandbox selftest: raw SYS_openat(path): refused' $XS_LOGS/xenshare-back.log && ! grep -q 'sandbox selftest:.*OPENED' $XS_LOGS/xenshare-back.log"
}

# What dom0 does while test_xenshare runs in the guest.
xenshare_drive() { # DOMID
	_d=$1
	_be=$XS_BACKEND_ROOT/$_d/0
	if ! rig_wait_guest "$_d" mounted 300 >/dev/null; then
		rig_not_ok "guest mounted its device (no signal)"
		return 0
	fi
	rig_check_eq "backend Connected to the guest" 4 \
		"$(xenstore-read "$_be/state" 2>&1)"
	xenshare_worker_check
	xenshare-ctl status >$XS_LOGS/xenshare-ctl-status.txt 2>&1
	rig_check "xenshare-ctl status shows both devices, share0 Connected" \
		sh -c "grep -q '^$_d  *0  *share0  */srv/share  *rw  *Connected  *Connected' $XS_LOGS/xenshare-ctl-status.txt && grep -q '^$_d  *1  *fstab0 ' $XS_LOGS/xenshare-ctl-status.txt"
	xenshare-ctl status "$_d" --json >$XS_LOGS/xenshare-ctl-status.json 2>&1
	rig_check "xenshare-ctl status --json names the device and its state" \
		sh -c "grep -q '\"tag\": \"share0\"' $XS_LOGS/xenshare-ctl-status.json && grep -q '\"backend-state\": \"Connected\"' $XS_LOGS/xenshare-ctl-status.json"

	# A quota set while the guest is mounted applies at once.
	if rig_wait_guest "$_d" quota-now 600 >/dev/null; then
		sleep 3	# usage-bytes is published every 2 s
		_u=$(xenstore-read "$_be/usage-bytes" 2>/dev/null)
		rig_check "backend publishes usage-bytes" \
			sh -c 'case $1 in ""|*[!0-9]*) exit 1 ;; esac' _ "$_u"
		rig_check "xenshare-ctl set quota-bytes on a mounted device" \
			xenshare-ctl set "$_d" 0 "quota-bytes=$((${_u:-0} + 2 * MiB))"
		rig_signal "$_d" quota-set
		rig_wait_guest "$_d" quota-done 300 >/dev/null
		rig_check "xenshare-ctl set quota-bytes=0 lifts it" \
			xenshare-ctl set "$_d" 0 quota-bytes=0
		rig_signal "$_d" quota-off
	else
		rig_not_ok "guest reached the quota step"
	fi

	# A device built on a template: the guest's write is its own.
	if rig_wait_guest "$_d" template-done 600 >/dev/null; then
		rig_check "a guest's write to a template file leaves the template unchanged" \
			sh -c 'test "$(cat /srv/tmpl-lower/hello)" = "from the template"'
		rig_check "the guest's write is in the device's upper directory" \
			grep -q "written by the guest" /srv/tmpl0/upper/hello
	else
		rig_not_ok "guest reached the template step"
	fi

	# Backend restart while the guest is mounted: a crash, then a new
	# daemon.
	if rig_wait_guest "$_d" restart-now 600 >/dev/null; then
		# First the device's worker alone: the device gets an error
		# node, the frontend reconnects to a new worker.
		_w=$(xs_share_worker)
		if [ -n "$_w" ] && kill -9 "$_w"; then
			sleep 2
			rig_check "device connected again after its worker was killed" \
				xs_wait_node "$_be/state" 4 90
			_w2=$(xs_share_worker)
			rig_check "a new worker serves it" \
				sh -c "test -n '$_w2' && test '$_w2' != '$_w'"
			# Connections that keep ending quickly are paced.
			for _k in 1 2 3 4; do
				_w=$(xs_share_worker)
				[ -n "$_w" ] && kill -9 "$_w"
				sleep 1
				xs_wait_node "$_be/state" 4 90 || break
			done
			rig_check "connections that keep ending quickly are paced (log)" \
				grep -q '[0-9]*\.0: 4 connections in a row ended within 10 s: the next one waits 1000 ms' $XS_LOGS/xenshare-back.log
			rig_check "the paced device connected again" \
				xs_wait_node "$_be/state" 4 90
		else
			rig_not_ok "found share0's worker to kill"
		fi
		xenshare_back_stop KILL
		rig_check_eq "a killed backend leaves its state behind" 4 \
			"$(xenstore-read "$_be/state" 2>&1)"
		sleep 2
		if xenshare_back_start; then
			rig_ok "xenshare-back restarts"
		else
			rig_not_ok "xenshare-back restarts (log: xenshare-back.log)"
		fi
		rig_check "guest's device connected again after the restart" \
			xs_wait_node "$_be/state" 4 90
		rig_signal "$_d" restarted
	else
		rig_not_ok "guest reached the backend restart step"
	fi

	# Hot-unplug and re-attach while mounted.
	if rig_wait_guest "$_d" unplug-now 600 >/dev/null; then
		rig_check "xenshare-ctl detach a mounted device" \
			xenshare-ctl detach "$_d" 0
		rig_check_fails "detached device gone from xenstore" \
			xenstore-exists "$_be"
		sleep 3
		rig_check "xenshare-ctl attach it again" \
			xenshare-ctl attach "$_d" /srv/share
		rig_check "guest's device connected again after re-attach" \
			xs_wait_node "$_be/state" 4 90
		rig_signal "$_d" replugged
	else
		rig_not_ok "guest reached the hot-unplug step"
	fi
}

xenshare_check() { # DOMID
	rig_check_eq "a file the guest wrote reached dom0" "from domU" \
		"$(cat /srv/share/from-domu 2>&1)"
	rig_check_eq "tree the guest wrote has the guest's checksums in dom0" \
		"$(cat /srv/share/tree-out.sha256 2>&1)" "$(xs_tree_sums /srv/share/tree-out 2>&1)"
	rig_check_eq "tree copied in and out again has dom0's checksums" \
		"$(cat /srv/tree-in.sha256)" "$(xs_tree_sums /srv/share/tree-back 2>&1)"
	rig_check "files written after the backend restart and the re-attach reached dom0" \
		test -f /srv/share/after-restart -a -f /srv/share/after-replug
	rig_check "xenshare-back survived the guest" kill -0 "$XS_BACK_PID"
	xenshare-ctl status >>$XS_LOGS/xenshare-ctl-status.txt 2>&1
}

# The exports live on ext4, as on a real host: dom0's root is a ramfs,
# and tmpfs of Linux 6.1 gives directory offsets that shift when entries
# are removed (posix_ops' readdir-while-unlinking checks fail on it with
# or without xenshare in between).
xs_srv_fs() {
	modprobe loop 2>/dev/null
	modprobe ext4 2>/dev/null
	truncate -s 384M /run/srv.img &&
		mkfs.ext4 -q -F -b 4096 -I 256 /run/srv.img &&
		mkdir -p /srv &&
		mount -o loop /run/srv.img /srv
}

scenario_xenshare() {
	for p in xenshare-back xenshare-ctl xenshare-front; do
		if ! rig_injected "$p"; then
			rig_skip "xenshare end to end: $p not injected (run.sh takes it from XENSHARE_BUILD)"
			return 1
		fi
	done
	rig_check "exports on an ext4 file system in dom0" xs_srv_fs
	rm -rf /srv/share /srv/fstab /srv/tree
	mkdir -p /srv/share /srv/fstab
	echo "from dom0" >/srv/share/from-dom0
	echo "read-only via fstab" >/srv/fstab/hello
	xs_tree_make /srv/share/tree-in
	xs_tree_sums /srv/share/tree-in >/srv/tree-in.sha256
	cp /srv/tree-in.sha256 /srv/share/tree-in.sha256
	if ! xenshare_back_start; then
		rig_not_ok "xenshare-back starts (log: xenshare-back.log)"
		return 1
	fi
	rig_ok "xenshare-back starts"
	rig_domu_start xenshare xenshare xenshare_setup || return 0
	_xd=$RIG_DOMID
	xenshare_drive "$_xd"
	rig_domu_finish "$_xd" xenshare 900 xenshare_check
	rig_check_fails "a destroyed domain's devices are removed by xenshare-back" \
		xs_wait_node_exists "$XS_BACKEND_ROOT/$_xd" 10
	return 0
}

# True while PATH exists, for up to TIMEOUT_S.
xs_wait_node_exists() {
	_w=0
	_wl=$(rig_limit "${2:-10}")
	while xenstore-exists "$1" 2>/dev/null; do
		_w=$((_w + 1))
		[ "$_w" -gt $((_wl * 4)) ] && return 0
		rig_step_expired && return 0
		sleep 0.25
	done
	return 1
}

# --- two guests at once, then one of them turns hostile ----------------------

pair_setup() { # DOMID: /srv/<name> as tag "data"
	_n=$(xl domname "$1")
	_n=${_n#rig-}
	rm -rf "/srv/$_n"
	mkdir -p "/srv/$_n"
	echo "$_n" >"/srv/$_n/owner"
	ctl attach "$1" "/srv/$_n" --tag data
}

scenario_pair() {
	[ -n "$XS_BACK_PID" ] && kill -0 "$XS_BACK_PID" 2>/dev/null || return 0
	rig_domu_start alpha pair pair_setup || return 0
	_a=$RIG_DOMID
	rig_domu_start beta pair pair_setup || {
		rig_domu_finish "$_a" alpha 60
		return 0
	}
	_b=$RIG_DOMID
	if rig_wait_guest "$_a" paired 300 >/dev/null &&
		rig_wait_guest "$_b" paired 300 >/dev/null; then
		rig_ok "two guests mounted their own directories at once"
	else
		rig_not_ok "two guests mounted their own directories at once"
		rig_domu_finish "$_a" alpha 60
		rig_domu_finish "$_b" beta 60
		return 0
	fi
	rig_check_eq "alpha's directory holds only alpha's files" \
		"alpha-was-here owner" "$(ls /srv/alpha | tr '\n' ' ' | sed 's/ $//')"
	rig_check_eq "beta's directory holds only beta's files" \
		"beta-was-here owner" "$(ls /srv/beta | tr '\n' ' ' | sed 's/ $//')"
	rig_signal "$_b" go-hostile
	rig_wait_guest "$_b" hostile-done 600 >/dev/null ||
		rig_not_ok "hostile guest finished (no signal)"
	rig_check_eq "hostile guest's device left Closing" 5 \
		"$(xenstore-read "$XS_BACKEND_ROOT/$_b/0/state" 2>&1)"
	rig_check "hostile guest's device has an error node" \
		sh -c "test -n \"\$(xenstore-read $XS_BACKEND_ROOT/$_b/0/error)\""
	rig_check "xenshare-back survived the hostile guest" kill -0 "$XS_BACK_PID"
	rig_check_eq "the other guest's device stayed Connected" 4 \
		"$(xenstore-read "$XS_BACKEND_ROOT/$_a/0/state" 2>&1)"
	rig_signal "$_a" go-on
	rig_domu_finish "$_a" alpha 600
	rig_domu_finish "$_b" beta 120
}

# The steps, with what each may take on an idle machine (s; about twice
# what it takes there): rig_step scales the budget to this machine's speed.
rig_step toolstack 60 scenario_toolstack
rig_step xenstore 120 scenario_xenstore
rig_step 9pfs 120 scenario_9pfs
if rig_step xenshare 900 scenario_xenshare; then
	rig_step pair 300 scenario_pair
fi
xenshare_back_stop TERM
exit 0
