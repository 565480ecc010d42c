#!/bin/sh
# dom0-init.sh - /init of the rig's dom0 (injected by run.sh at every run).
#
# Does by hand the little of a Xen host's boot that the rig needs: the
# pseudo file systems, the Xen modules, xenfs, xenstored, xen-init-dom0 and
# xenconsoled; then runs /rig/scenario.sh, prints the result line that
# run.sh looks for, and powers the machine off.  Every line meant for run.sh
# starts with "RIG| ".
#
# How long dom0 took to get its toolstack up, over what an idle machine
# takes (DOM0_BOOT_IDLE), is the run's speed factor: every step's budget
# is multiplied by it (rig-lib.sh, "steps and their budgets").

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/lock /run/xen /run/xenstored /run/rig/logs /var/log/xen/console /var/lib/xen
hostname xen-rig-dom0 2>/dev/null
echo "RIG| dom0 init start (uptime $(cut -d' ' -f1 /proc/uptime) s)"
[ -f /rig/env ] && . /rig/env
if [ "${XENSHARE_RIG_HANG:-}" = dom0-boot ]; then
	echo "RIG| hanging dom0-boot on purpose (XENSHARE_RIG_HANG)"
	while :; do sleep 3600; done
fi
DOM0_BOOT_IDLE=12

halt_now() {
	echo "RIG| RESULT: $1"
	sync
	busybox poweroff -f
	sleep 30
	echo o >/proc/sysrq-trigger
}

for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd fuse; do
	modprobe "$m" || echo "RIG| warning: modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen || halt_now "FAIL (cannot mount xenfs)"
grep -q control_d /proc/xen/capabilities || halt_now "FAIL (not dom0)"

xenstored --pid-file=/run/xenstored.pid || halt_now "FAIL (xenstored did not start)"
i=0
until xenstore-read / >/dev/null 2>&1 || xenstore-exists /local >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 600 ] && halt_now "FAIL (xenstored does not answer)"
	sleep 0.1
done
xen-init-dom0 || halt_now "FAIL (xen-init-dom0)"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest \
	--log-dir=/var/log/xen/console || halt_now "FAIL (xenconsoled)"
xl list >/dev/null 2>&1 || halt_now "FAIL (xl list does not work)"
up=$(cut -d' ' -f1 /proc/uptime)
awk -v u="$up" -v r=$DOM0_BOOT_IDLE 'BEGIN { s = u / r; printf "%.1f\n", s < 1 ? 1 : s }' >/run/rig/speed
echo "RIG| toolstack up (uptime $up s; speed factor $(cat /run/rig/speed))"

status=0
sh /rig/scenario.sh || status=$?

# Every domU console and every log a scenario kept in /run/rig/logs/, for
# whoever debugs a failure (run.sh splits them out into files of these names).
dump_log() { # FILE NAME
	echo "RIG-LOG-BEGIN $2"
	tr -d '\r' <"$1"
	echo
	echo "RIG-LOG-END $2"
}
dump_logs() {
	for f in /var/log/xen/console/guest-*.log; do
		[ -f "$f" ] || continue
		n=${f##*/guest-}
		dump_log "$f" "domu-${n%.log}.log"
	done
	for f in /run/rig/logs/*; do
		[ -f "$f" ] && dump_log "$f" "${f##*/}"
	done
	return 0
}
. /rig/lib.sh
rig_step report 120 dump_logs

passed=$(grep -c '^ok - ' /run/rig/results 2>/dev/null)
failed=$(grep -c '^not ok - ' /run/rig/results 2>/dev/null)
skipped=$(grep -c '^skip - ' /run/rig/results 2>/dev/null)
summary="${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
echo "RIG| dom0 done (uptime $(cut -d' ' -f1 /proc/uptime) s)"
if [ "$status" -eq 0 ] && [ "${failed:-0}" -eq 0 ] && [ "${passed:-0}" -gt 0 ]; then
	halt_now "PASS ($summary)"
else
	halt_now "FAIL ($summary, scenario exit $status)"
fi
