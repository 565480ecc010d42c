#!/bin/bash
# SPDX-License-Identifier: MIT
#
# template.sh - devices built on one read-only template directory
# (xenshare-back --template, docs/templates.md), over the local transport.
#
#   private   two guests on one template: a write, a truncate, a chmod,
#             an xattr, deletes and renames of template files and
#             directories by one guest change neither the template nor
#             the other guest; its changes are in its own upper directory.
#   mounts    no overlay is mounted in our mount namespace, only in the
#             workers'; none is left once the backend stops (also
#             --no-sandbox); the sandbox selftest reaches nothing outside
#             the merged tree and cannot write through the upper view.
#   quota     template data are not charged; a copy-up is, before it
#             happens: a 1-byte append to a 100 MiB template file with
#             10 MiB of quota left is EDQUOT and changes nothing; usage
#             matches du of the upper directory, also after a restart's
#             scan; df in the guest shows the guest's own usage; past
#             PATH_MAX a template file's change is ENAMETOOLONG and its
#             removal uncharges nothing.
#   restart   the backend killed (SIGKILL) and started again while the
#             guest holds template files and directories open: no error;
#             then its worker alone killed: its successor mounts the
#             overlay again and the open file still reads.
#   idmap     range:BASE on template files: owners map both ways, a
#             copy-up keeps the host owner.
#   storage   20 devices on one template of 200 MiB use at most the
#             template plus their private writes on the host (df, du),
#             on ext4 and on XFS loop images, and with the template and
#             the private directories on different file systems.
#
# Environment: BUILD, XS_WRAP (see tests/lib.sh), XS_TEMPLATE_ONLY
# (scenarios to run, e.g. "private quota").
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

xs_require "template suite" "$XS_BACK_BIN" "$XS_FRONT_BIN"
if ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
	skip "template suite" "the kernel has no overlayfs"
	xs_summary
	exit 0
fi

xs_init
# bash reports the daemons this suite kills on stderr: keep such lines
# comments.
exec 2> >(sed -u 's/^/# /' >&2)

MiB=$((1024 * 1024))
WAIT=20

# ---- helpers ---------------------------------------------------------------

# make_template DIR: a small tree and a 100 MiB file (allocated, not a
# hole).
make_template() {
	mkdir -p "$1/d/sub" "$1/gone"
	echo "template hello" >"$1/hello"
	echo "keep" >"$1/keep"
	echo "inner" >"$1/d/f"
	echo "deeper" >"$1/d/sub/g"
	echo "x" >"$1/gone/x"
	ln -s hello "$1/link"
	fallocate -l 100M "$1/big"
	chmod -R go-w "$1"
}

# tree_sum DIR: names, types, modes, owners, sizes, times and contents.
tree_sum() {
	(cd "$1" && {
		find . -printf '%p %y %m %U %G %s %T@ %l\n' | sort
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum
	}) | sha256sum | cut -d' ' -f1
}

# dev NAME TEMPLATE [BACKEND ARGS...]: a backend with --template and a
# mounted frontend; the pair's variables are saved under NAME (dev_use).
declare -A D_MNT D_EXP D_SOCK D_BACK D_FRONT D_BLOG D_FLOG
dev() {
	local name=$1 tpl=$2
	shift 2
	xs_pair_dirs "$name"
	XS_BACK_ARGS=(--template "$tpl" "$@")
	if ! xs_start_back "${XS_BACK_ARGS[@]}" || ! xs_start_front; then
		not_ok "$name: start backend and frontend on the template" \
			"see the logs above"
		return 1
	fi
	D_MNT[$name]=$XS_MNT D_EXP[$name]=$XS_EXPORT D_SOCK[$name]=$XS_SOCK
	D_BACK[$name]=$XS_BACK_PID D_FRONT[$name]=$XS_FRONT_PID
	D_BLOG[$name]=$XS_BACK_LOG D_FLOG[$name]=$XS_FRONT_LOG
}

dev_use() {
	XS_MNT=${D_MNT[$1]} XS_EXPORT=${D_EXP[$1]} XS_SOCK=${D_SOCK[$1]}
	XS_BACK_PID=${D_BACK[$1]} XS_FRONT_PID=${D_FRONT[$1]}
	XS_BACK_LOG=${D_BLOG[$1]} XS_FRONT_LOG=${D_FLOG[$1]}
}

dev_stop() {
	dev_use "$1"
	xs_unmount "$XS_MNT"
	xs_kill "$XS_FRONT_PID" 5
	xs_kill "$XS_BACK_PID" 5
}

# overlays_here DIR: overlay mounts at or under DIR in our namespace.
overlays_here() {
	xs_mounts_under "$1" overlay
}

# overlays_anywhere DIR: the pids of processes that see an overlay
# mounted at or under DIR, in whatever mount namespace.
overlays_anywhere() {
	local f
	for f in /proc/[0-9]*/mountinfo; do
		awk -v dir="$1" '/ - overlay / && index($5, dir) == 1 { found = 1 }
			END { exit !found }' "$f" 2>/dev/null || continue
		f=${f#/proc/}
		echo "${f%/mountinfo}"
	done
	return 0
}

# no_overlay_left: within 2 s no process sees an overlay of ours.
no_overlay_left() {
	local i
	for ((i = 0; i < 20; i++)); do
		[ -z "$(overlays_anywhere "$XS_TMP")" ] && return 0
		sleep 0.1
	done
	return 1
}

want() {
	[ -z "${XS_TEMPLATE_ONLY:-}" ] && return 0
	[[ " $XS_TEMPLATE_ONLY " == *" $1 "* ]]
}

# ---- two guests, one template ----------------------------------------------

test_private() {
	local s=private tpl=$XS_TMP/tpl-private sum a b
	make_template "$tpl"
	sum=$(tree_sum "$tpl")
	dev pa "$tpl" || return
	dev pb "$tpl" || return
	a=${D_MNT[pa]} b=${D_MNT[pb]}

	check "$s: a guest reads the template's files" "$(cat "$a/hello" 2>&1)" \
		test "$(cat "$a/hello")" = "template hello"
	check "$s: the template's big file is seen whole" "$(stat -c %s "$a/big")" \
		test "$(stat -c %s "$a/big")" = $((100 * MiB))
	check "$s: the template's symlink is seen" "$(readlink "$a/link")" \
		test "$(readlink "$a/link")" = hello

	echo "guest a" >>"$a/hello"
	truncate -s 2 "$a/keep"
	chmod 600 "$a/d/f"
	setfattr -n user.mine -v a "$a/d/sub/g"
	rm "$a/gone/x"
	mv "$a/d/sub" "$a/d/moved"
	mv "$a/keep" "$a/kept"
	rm -rf "$a/gone"
	mkdir "$a/gone"
	check "$s: the writer sees its write" "$(cat "$a/hello")" \
		test "$(cat "$a/hello")" = "$(printf 'template hello\nguest a')"
	check "$s: the writer sees its truncate and rename" \
		"$(stat -c %s "$a/kept" 2>&1)" test "$(stat -c %s "$a/kept")" = 2
	check "$s: the writer sees its chmod" "$(stat -c %a "$a/d/f")" \
		test "$(stat -c %a "$a/d/f")" = 600
	check "$s: the writer sees its xattr on a template file" \
		"$(getfattr --only-values -n user.mine "$a/d/moved/g" 2>&1)" \
		test "$(getfattr --only-values -n user.mine "$a/d/moved/g" 2>/dev/null)" = a
	check "$s: a renamed template directory keeps its files" \
		"$(ls "$a/d/moved" 2>&1)" test "$(cat "$a/d/moved/g")" = deeper
	check "$s: a directory made again where a template one was deleted is empty" \
		"$(ls -A "$a/gone")" test -z "$(ls -A "$a/gone")"
	check "$s: the other guest sees the template's hello" "$(cat "$b/hello")" \
		test "$(cat "$b/hello")" = "template hello"
	check "$s: the other guest still has what the first deleted or renamed" \
		"$(ls "$b" "$b/d" 2>&1 | tr '\n' ' ')" \
		test -f "$b/keep" -a -f "$b/gone/x" -a -d "$b/d/sub" -a ! -e "$b/d/moved" \
		     -a ! -e "$b/kept" -a "$(stat -c %a "$b/d/f")" = 644
	check "$s: the other guest does not see the xattr" \
		"$(getfattr -d "$b/d/sub/g" 2>&1)" \
		sh -c '! getfattr -n user.mine "$1" >/dev/null 2>&1' sh "$b/d/sub/g"
	check "$s: the template is unchanged" "tree checksum differs" \
		test "$(tree_sum "$tpl")" = "$sum"
	check "$s: the guest's changes are in its upper directory" \
		"$(ls -A "${D_EXP[pa]}/upper" | tr '\n' ' ')" \
		test -f "${D_EXP[pa]}/upper/hello" -a -c "${D_EXP[pa]}/upper/keep" \
		     -a -d "${D_EXP[pa]}/upper/d/moved"
	check "$s: the other guest's upper directory holds none of it" \
		"$(ls -A "${D_EXP[pb]}/upper" | tr '\n' ' ')" \
		test -z "$(ls -A "${D_EXP[pb]}/upper")"
	check "$s: the host never sees the overlay in its namespace" \
		"$(overlays_here "$XS_TMP" | tr '\n' ' ')" \
		test -z "$(overlays_here "$XS_TMP")"
	dev_use pa
	check "$s: the worker's own namespace holds the overlay" \
		"no overlay in the worker's mountinfo" \
		test -n "$(overlays_anywhere "$XS_TMP/pa")"
	dev_stop pa
	dev_stop pb
	check "$s: nothing stays mounted once the workers are gone" \
		"$(overlays_anywhere "$XS_TMP" | tr '\n' ' ')" \
		no_overlay_left
}

# ---- mounts: the sandbox and --no-sandbox ------------------------------------

test_mounts() {
	local s=mounts tpl=$XS_TMP/tpl-mounts outside=$XS_TMP/outside/secret
	make_template "$tpl"
	mkdir -p "$XS_TMP/outside"
	echo secret >"$outside"
	XS_SANDBOX_SELFTEST=$outside dev ms "$tpl" || return
	check "$s: the selftest ran in the template device's sandbox" \
		"no done line" xs_log_has "$XS_BACK_LOG" "selftest: done" 5
	check "$s: nothing outside the merged tree is reached" \
		"$(grep selftest "$XS_BACK_LOG" | grep OPENED)" \
		sh -c '! grep selftest "$1" | grep -q OPENED' sh "$XS_BACK_LOG"
	check "$s: the upper view cannot be written" \
		"$(grep 'upper view' "$XS_BACK_LOG")" \
		grep -q "creating a file in the upper view: refused (Read-only file system)" \
			"$XS_BACK_LOG"
	check "$s: the selftest probed the upper view's .." "no such probe" \
		grep -q "openat(upper view, ../..path): refused" "$XS_BACK_LOG"
	dev_stop ms

	dev mn "$tpl" --no-sandbox || return
	echo "no sandbox" >"$XS_MNT/hello"
	check "$s: --no-sandbox: a write reaches the private upper" "$(cat "$XS_EXPORT/upper/hello" 2>&1)" \
		test "$(cat "$XS_EXPORT/upper/hello")" = "no sandbox"
	check "$s: --no-sandbox: no overlay in the host's namespace" \
		"$(overlays_here "$XS_TMP" | tr '\n' ' ')" \
		test -z "$(overlays_here "$XS_TMP")"
	dev_stop mn
	check "$s: --no-sandbox: nothing stays mounted" \
		"$(overlays_anywhere "$XS_TMP" | tr '\n' ' ')" \
		no_overlay_left

	xs_pair_dirs nested
	mkdir -p "$XS_EXPORT/inner"
	xs_launch_back --template "$XS_EXPORT/inner"
	check "$s: a template inside the private directory is refused, saying why" \
		"$(cat "$XS_BACK_LOG")" \
		xs_log_has "$XS_BACK_LOG" "must not contain each other" 5
	xs_kill "$XS_BACK_PID" 2
}

# ---- quota -----------------------------------------------------------------

# deep_path S: a template directory moved below a path longer than
# PATH_MAX: its files read, but changing one is ENAMETOOLONG (whether it
# is still the template's cannot be told), and removing one uncharges
# nothing.
deep_path() {
	local s=$1 long ub out rmout
	long=$(printf 'l%.0s' {1..200})
	out=$(cd "$XS_MNT" && for _ in {1..22}; do
		mkdir "$long" && cd "$long" || exit 1
	done && mv "$XS_MNT/d" . && { echo x >>d/f; } 2>&1; cat d/f)
	ub=$(xs_ctl_field usage-bytes)
	rmout=$(cd "$XS_MNT" && for _ in {1..22}; do
		cd "$long" || exit 1
	done && rm d/f && echo removed)
	check "$s: past PATH_MAX: changing a template's file is ENAMETOOLONG" \
		"$out" grep -q "File name too long" <<<"$out"
	check "$s: past PATH_MAX: the file still reads, unchanged" "$out" \
		test "$(tail -n 1 <<<"$out")" = inner
	check "$s: past PATH_MAX: removing a template's file uncharges nothing" \
		"$rmout; usage $(xs_ctl_field usage-bytes), was $ub" \
		test "$(xs_ctl_field usage-bytes)" = "$ub" -a "$rmout" = removed
}

test_quota() {
	local s=quota tpl=$XS_TMP/tpl-quota sum ub ub2 used err
	make_template "$tpl"
	sum=$(tree_sum "$tpl")
	dev q "$tpl" --quota-bytes 10M || return
	ub=$(xs_ctl_field usage-bytes)
	check "$s: the template's data are not charged" "usage $ub" \
		test "$ub" -lt $((1 * MiB))
	err=$( { printf x >>"$XS_MNT/big"; } 2>&1)
	check "$s: a 1-byte append to a 100 MiB template file is EDQUOT" "$err" \
		grep -q "quota exceeded" <<<"$err"
	check "$s: the refused copy-up changed nothing" \
		"$(ls -A "$XS_EXPORT/upper")" \
		test ! -e "$XS_EXPORT/upper/big" -a "$(stat -c %s "$XS_MNT/big")" = $((100 * MiB))
	check "$s: the template is unchanged" "tree checksum differs" \
		test "$(tree_sum "$tpl")" = "$sum"
	check "$s: usage is unchanged after the refusal" "$(xs_ctl_field usage-bytes) was $ub" \
		test "$(xs_ctl_field usage-bytes)" = "$ub"
	echo more >>"$XS_MNT/hello"
	ub2=$(xs_ctl_field usage-bytes)
	check "$s: a copy-up is charged" "usage $ub2, was $ub" \
		test "$ub2" -ge $((ub + 4096))
	check "$s: usage matches du of the upper directory" \
		"status $ub2, du $(du -sB1 "$XS_EXPORT/upper" | cut -f1)" \
		test "$ub2" = "$(du -sB1 "$XS_EXPORT/upper" | cut -f1)"
	used=$(df -B1 --output=used "$XS_MNT" | tail -n 1 | tr -d ' ')
	check "$s: df in the guest shows the guest's own usage" \
		"df used $used, status $ub2" test "$used" = "$ub2"
	rm "$XS_MNT/big"
	check "$s: deleting a template's file frees nothing it was not charged for" \
		"$(xs_ctl_field usage-bytes) was $ub2" \
		test "$(xs_ctl_field usage-bytes)" = "$ub2"
	dd if=/dev/zero of="$XS_MNT/private" bs=1M count=4 status=none conv=fsync
	ub2=$(xs_ctl_field usage-bytes)
	if xs_restart_back KILL $WAIT && xs_wait_ctl; then
		check "$s: the startup scan counts only the private data" \
			"$(xs_ctl_field usage-bytes) after, $ub2 before" \
			test "$(xs_ctl_field usage-bytes)" = "$ub2"
	else
		not_ok "$s: restart the backend" "see its log"
		xs_show_logs "$s"
	fi
	deep_path "$s"
	dev_stop q
}

# ---- restart with template files open ----------------------------------------

test_restart() {
	local s=restart tpl=$XS_TMP/tpl-restart out rc
	make_template "$tpl"
	dev r "$tpl" || return
	out=$XS_TMP/restart.out
	(
		set -e
		exec 4<"$XS_MNT/d/sub/g"
		cd "$XS_MNT/d"
		touch "$out.ready"
		while [ ! -e "$out.go" ]; do sleep 0.1; done
		cat <&4
		cat "$XS_MNT/d/f"
		ls sub
		exec 5>>"$XS_MNT/hello"
		echo appended >&5
		cat "$XS_MNT/hello"
	) >"$out" 2>&1 &
	local pid=$!
	for ((rc = 0; rc < 100; rc++)); do
		[ -e "$out.ready" ] && break
		sleep 0.1
	done
	if ! xs_restart_back KILL $WAIT; then
		not_ok "$s: restart the backend" "see its log"
		touch "$out.go"
		wait "$pid"
		dev_stop r
		return
	fi
	touch "$out.go"
	wait "$pid"
	rc=$?
	check "$s: a guest with template files open sees no error across a SIGKILL" \
		"status $rc: $(tr '\n' ' ' <"$out")" \
		test $rc -eq 0 -a "$(cat "$out")" = "$(printf 'deeper\ninner\ng\ntemplate hello\nappended')"
	check "$s: the template is unchanged by the append after the restart" \
		"$(cat "$tpl/hello")" test "$(cat "$tpl/hello")" = "template hello"
	# The worker alone: its successor mounts the overlay again as soon
	# as the old one is gone.
	local got
	exec 7<"$XS_MNT/d/sub/g"
	# shellcheck disable=SC2046
	kill -KILL $(xs_back_pids "$XS_BACK_PID" | tail -n +2) 2>/dev/null
	got=$(cat <&7 2>&1)
	exec 7<&-
	check "$s: after the worker is killed, an open template file still reads" \
		"$got" test "$got" = deeper
	check "$s: the supervisor restarted the killed worker" "$(tail -n 3 "$XS_BACK_LOG")" \
		xs_log_has "$XS_BACK_LOG" "restarting the worker" 5
	check "$s: and the mount serves new requests" "$(cat "$XS_MNT/d/f" 2>&1)" \
		test "$(cat "$XS_MNT/d/f" 2>&1)" = inner
	dev_stop r
}

# ---- id mapping --------------------------------------------------------------

test_idmap() {
	local s=idmap tpl=$XS_TMP/tpl-idmap
	make_template "$tpl"
	chown 101000:101000 "$tpl/hello"
	chmod 666 "$tpl/hello"
	dev i "$tpl" --id-map range:100000 || return
	check "$s: a template file's host owner is mapped into the guest" \
		"$(stat -c %u:%g "$XS_MNT/hello")" \
		test "$(stat -c %u:%g "$XS_MNT/hello")" = 1000:1000
	setpriv --reuid 1000 --regid 1000 --clear-groups \
		sh -c 'echo by-1000 >>"$1"' sh "$XS_MNT/hello" 2>/dev/null
	check "$s: a mapped guest user writes a template file" \
		"$(cat "$XS_MNT/hello")" grep -q by-1000 "$XS_MNT/hello"
	check "$s: its copy-up keeps the host owner" \
		"$(stat -c %u:%g "$XS_EXPORT/upper/hello" 2>&1)" \
		test "$(stat -c %u:%g "$XS_EXPORT/upper/hello")" = 101000:101000
	dev_stop i
}

# ---- storage: 20 devices on one template --------------------------------------

N_DEVS=20

# storage LABEL TPLROOT PRIVROOT: a 200 MiB template in TPLROOT, 20
# devices with private directories in PRIVROOT each writing 1 MiB.
storage() {
	local label=$1 troot=$2 proot=$3 tpl=$2/tpl i n before after
	local privsum=0 du_priv du_all limit
	mkdir -p "$tpl/data" "$proot"
	for ((i = 0; i < 4; i++)); do
		fallocate -l 50M "$tpl/data/blob$i" || { skip "$label" "fallocate failed"; return; }
	done
	echo "shared" >"$tpl/readme"
	sync
	before=$(df -B1 --output=used "$proot" | tail -n 1 | tr -d ' ')
	for ((i = 0; i < N_DEVS; i++)); do
		xs_pair_dirs "st-$label-$i"
		XS_EXPORT=$proot/dev$i
		mkdir -p "$XS_EXPORT"
		if ! xs_start_back --template "$tpl" || ! xs_start_front; then
			not_ok "$label: device $i starts" "see the logs above"
			return
		fi
		D_MNT[$label$i]=$XS_MNT D_EXP[$label$i]=$XS_EXPORT D_SOCK[$label$i]=$XS_SOCK
		D_BACK[$label$i]=$XS_BACK_PID D_FRONT[$label$i]=$XS_FRONT_PID
		D_BLOG[$label$i]=$XS_BACK_LOG D_FLOG[$label$i]=$XS_FRONT_LOG
		head -c 1000 "$XS_MNT/data/blob$((i % 4))" >/dev/null
		dd if=/dev/urandom of="$XS_MNT/mine" bs=1M count=1 status=none conv=fsync
		echo "device $i" >>"$XS_MNT/readme"
		privsum=$((privsum + MiB + 4096))
	done
	n=0
	for ((i = 0; i < N_DEVS; i++)); do
		[ "$(tail -n 1 "${D_MNT[$label$i]}/readme")" = "device $i" ] && n=$((n + 1))
	done
	check "$label: each of $N_DEVS devices sees its own changes" "$n of $N_DEVS" \
		test "$n" = $N_DEVS
	sync
	after=$(df -B1 --output=used "$proot" | tail -n 1 | tr -d ' ')
	du_priv=$(du -sB1 "$proot" | cut -f1)
	du_all=$(du -sB1 "$troot" "$proot" 2>/dev/null | awk '{ s += $1 } END { print s }')
	# Private writes plus per-device metadata (upper, work, index,
	# copied-up directories): 256 KiB each is plenty.
	limit=$((privsum + N_DEVS * 256 * 1024))
	diag "$label: template $(du -sB1 "$tpl" | cut -f1) B, private du $du_priv B, df growth $((after - before)) B, limit $limit B"
	check "$label: df: the devices add only their private writes" \
		"grew $((after - before)) B, limit $limit B" \
		test $((after - before)) -le "$limit"
	check "$label: du: private directories hold only the private writes" \
		"du $du_priv B, limit $limit B" test "$du_priv" -le "$limit"
	check "$label: du: template plus private is at most template + writes" \
		"du $du_all B" \
		test "$du_all" -le $(( $(du -sB1 "$tpl" | cut -f1) + limit ))
	for ((i = 0; i < N_DEVS; i++)); do
		dev_stop "$label$i" >/dev/null 2>&1
	done
}

test_storage() {
	local mp other
	for t in ext4 xfs; do
		if ! mp=$(xs_loopfs "$t" 700 "fs-$t"); then
			skip "storage on $t" "no $t loop file system here"
			continue
		fi
		storage "storage-$t" "$mp" "$mp/private"
	done
	# Template and private directories on different file systems.
	if mp=$(xs_loopfs ext4 400 fs-lower) && other=$(xs_loopfs xfs 300 fs-upper); then
		storage storage-cross "$mp" "$other/private"
	else
		skip "storage across file systems" "no loop file systems here"
	fi
}

# ---- main --------------------------------------------------------------------

for t in private mounts quota restart idmap storage; do
	want "$t" && "test_$t"
done
xs_summary
