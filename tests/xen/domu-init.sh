#!/bin/sh
# domu-init.sh - /init of the rig's domUs (busybox; injected at every run).
#
# Mounts the pseudo file systems, loads the Xen and FUSE modules, tells dom0
# it is running, then runs the test named by rig.test=NAME on the kernel
# command line: test_NAME from /rig/guest.sh.  The results go to xenstore
# (guest-lib.sh); dom0 destroys the domain once it has read them.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
echo "guest: init running (uptime $(cut -d' ' -f1 /proc/uptime) s)"

RIG_MODULES="xen-evtchn xen-gntalloc xen-gntdev fuse"
RIG_MODPROBE_FAILED=
for m in $RIG_MODULES; do
	modprobe "$m" || RIG_MODPROBE_FAILED="$RIG_MODPROBE_FAILED $m"
done

[ -f /rig/env ] && . /rig/env
test=
RIG_SCALE=1
for w in $(cat /proc/cmdline); do
	case $w in
	rig.test=*) test=${w#rig.test=} ;;
	rig.scale=*) RIG_SCALE=${w#rig.scale=} ;;
	esac
done
. /rig/guest-lib.sh
name=$(xenstore-read name 2>/dev/null)
rig_hang_point "boot-${name#rig-}"
rig_put started "$(cut -d' ' -f1 /proc/uptime)" ||
	echo "guest: cannot write to xenstore"
rig_hang_point "guest-${name#rig-}"

status=0
if [ -n "$RIG_MODPROBE_FAILED" ]; then
	rig_not_ok "modprobe$RIG_MODPROBE_FAILED"
fi
if [ -f /rig/guest.sh ]; then
	. /rig/guest.sh
fi
if [ -z "$test" ]; then
	rig_not_ok "no rig.test= on the kernel command line"
elif ! command -v "test_$test" >/dev/null 2>&1; then
	rig_not_ok "guest.sh has no test_$test"
else
	"test_$test" || status=$?
fi
[ "$RIG_FAILED" -gt 0 ] && [ "$status" -eq 0 ] && status=1
echo "guest: test $test done, status $status, $RIG_FAILED failed (uptime $(cut -d' ' -f1 /proc/uptime) s)"
sync
rig_done "$status"

# dom0 destroys the domain after reading the results.
while :; do sleep 3600; done
