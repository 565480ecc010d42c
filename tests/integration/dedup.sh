#!/bin/bash
# SPDX-License-Identifier: MIT
#
# dedup.sh - xenshare-ctl dedup (tools/dedup.c, docs/dedup.md) on a real
# XFS image (reflink mode, FIDEDUPERANGE) and a real ext4 image (link
# mode, links to a content store that the backend breaks before a guest's
# change).
#
# On each file system, 10 exports hold the same 64 MiB file, beside
# files of the same size with other bytes, a hard link the guest made, a
# symlink, an empty file, and a template directory with a copy too:
#   errors    a missing directory, a store on another file system or
#             inside an export, ext4 without a store: clear errors
#   dry-run   reports the saving and changes nothing
#   saving    host usage (df) drops by at least 9 x 64 MiB; the other
#             files, the guest's hard link and the template's inode stay
#   busy      dedup while a guest writes one of the copies loses nothing
#   guests    through mounted guests, a write to one copy and a chmod of
#             another leave every other copy byte- and stat-identical
#   restart   after a backend restart the guest still sees its write
#
# Environment: BUILD, XS_WRAP (see tests/lib.sh); XS_DEDUP_FS (default
# "xfs ext4").
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
. "$(dirname "$0")/../lib.sh"

CTL=$XS_ROOT/xenstore-scripts/xenshare-ctl
DEDUP=$XS_BUILD/xenshare-dedup
# xenshare-ctl runs the build under test.
export XENSHARE_DEDUP=$DEDUP
MB=$((1024 * 1024))
N=10

xs_require "dedup suite" "$XS_BACK_BIN" "$XS_FRONT_BIN" "$DEDUP"
xs_init
exec 2> >(sed -u 's/^/# /' >&2)

XS_FRONT_ARGS=(--reconnect-timeout 30)

used() {
	sync -f "$1"
	df --output=used -B1 "$1" | tail -1
}

# meta FILE: what a guest or the host sees of a file but its inode.
meta() {
	stat -c '%s %a %u %g %Y' "$1"
}

# populate M: the exports, the template and the odd files on mount M.
populate() {
	local m=$1 i
	mkdir -p "$m/exports" "$m/templates/base"
	head -c $((64 * MB)) /dev/urandom >"$m/seed"
	for ((i = 0; i < N; i++)); do
		mkdir -p "$m/exports/e$i/sub"
		cp --reflink=never -p "$m/seed" "$m/exports/e$i/sub/big"
		head -c $MB /dev/urandom >"$m/exports/e$i/samesize"
		: >"$m/exports/e$i/empty"
		ln -s sub/big "$m/exports/e$i/link"
	done
	# The guest's own hard links, of a file another export also has.
	printf 'guest file\n' >"$m/exports/e1/hl1"
	ln "$m/exports/e1/hl1" "$m/exports/e1/hl2"
	cp -p "$m/exports/e1/hl1" "$m/exports/e2/hl1"
	cp --reflink=never -p "$m/seed" "$m/templates/base/big"
	# Two more copies for a guest to write while dedup runs: one opened
	# again and again, one held open.
	cp --reflink=never -p "$m/seed" "$m/exports/e5/busy"
	cp --reflink=never -p "$m/seed" "$m/exports/e5/held"
	rm "$m/seed"
	chmod -R a+rX "$m/exports"
	sync -f "$m"
}

# start_guest M I: a backend on export eI of M and a mounted frontend.
start_guest() {
	xs_pair_dirs "$2-$1"
	XS_EXPORT=$3/exports/e$1
	xs_start_back && xs_start_front "${XS_FRONT_ARGS[@]}"
}

run_dedup() {
	"$CTL" dedup "$@" 2>&1
}

errors_on() {
	local fs=$1 m=$2 store=$3 out other
	out=$(run_dedup "$m/nonexistent" 2>&1)
	check "$fs: a missing directory is a clear error" "$out" \
		grep -q "nonexistent: No such file or directory" <<<"$out"
	other=$(xs_other_fs)
	out=$(run_dedup --store "$other" "$m/exports/e0" 2>&1)
	check "$fs: a store on another file system is refused" "$out" \
		grep -q "another file system" <<<"$out"
	out=$(run_dedup --store "$m/exports/e0/sub" "$m/exports/e0" 2>&1)
	check "$fs: a store inside an export is refused" "$out" \
		grep -q "contain one another" <<<"$out"
	if [ "$fs" = ext4 ]; then
		out=$(run_dedup "$m/exports/e0" "$m/exports/e1" 2>&1)
		check "$fs: without reflinks a store is asked for" "$out" \
			grep -q "give --store" <<<"$out"
	fi
	: "$store"
}

suite_on() {
	local fs=$1 m store args before after out i ino_t ino_hl ref meta0 sum0
	local pid lost
	m=$(xs_loopfs "$fs" 1400 "img-$fs") || {
		skip "$fs" "no loop-mounted $fs here"
		return
	}
	populate "$m"
	store=$m/store
	mkdir -p "$store"
	args=()
	[ "$fs" = ext4 ] && args=(--store "$store")
	args+=(--template "$m/templates/base")
	for ((i = 0; i < N; i++)); do
		args+=("$m/exports/e$i")
	done
	errors_on "$fs" "$m" "$store"

	ino_t=$(stat -c %i "$m/templates/base/big")
	ino_hl=$(stat -c %i "$m/exports/e1/hl1")
	ref=$(md5sum <"$m/exports/e0/sub/big")
	before=$(used "$m")
	out=$(run_dedup --dry-run "${args[@]}")
	echo "$out" | sed 's/^/#   /'
	after=$(used "$m")
	check "$fs: the dry run reports the saving" "$out" \
		grep -Eq "^would share: (9|1[0-9]) files" <<<"$out"
	check "$fs: the dry run changes nothing" "used $before -> $after" \
		test "$((after - before))" -lt $MB -a \
		"$(stat -c %h "$m/exports/e0/sub/big")" = 1

	# A guest writes block after block of the eleventh copy, each
	# through an open and close of its own, while dedup runs.
	start_guest 5 "busy" "$m" || {
		not_ok "$fs: guest on e5" "no mount"
		return
	}
	exec 7<>"$XS_MNT/held"
	(
		for ((i = 0; i < 400; i++)); do
			printf 'block %06d\n' "$i" |
				dd of="$XS_MNT/busy" bs=4096 seek="$i" conv=notrunc \
					status=none || exit 1
		done
	) &
	pid=$!
	out=$(run_dedup "${args[@]}")
	echo "$out" | sed 's/^/#   /'
	wait "$pid"
	check "$fs: the guest's writes all succeeded" "writer failed" test $? = 0
	printf 'held open\n' >&7
	exec 7>&-
	check "$fs: a write through a descriptor held across dedup lands" "" \
		grep -q "held open" <(head -c 10 "$m/exports/e5/held")
	if [ "$fs" = ext4 ]; then
		check "$fs: the file held open is skipped as busy" "$out" \
			grep -Eq "^skipped: .*[0-9]+ busy" <<<"$out"
	fi
	lost=0
	for ((i = 0; i < 400; i++)); do
		[ "$(dd if="$m/exports/e5/busy" bs=4096 skip="$i" count=1 \
			status=none | head -c 13)" = "$(printf 'block %06d\n' "$i")" ] ||
			lost=$((lost + 1))
	done
	check "$fs: dedup while a guest writes loses nothing" "$lost of 400 blocks lost" \
		test "$lost" = 0
	xs_pair_stop >/dev/null 2>&1

	after=$(used "$m")
	# Less the store's own directories (a few blocks) in link mode.
	check "$fs: host usage drops by at least 9 x 64 MiB" \
		"used $before -> $after" \
		test "$((before - after))" -ge $((9 * 64 * MB - 64 * 1024))
	check "$fs: the report names what it shared" "$out" \
		grep -Eq "^shared: (9|1[0-9]) files in [0-9]+ groups" <<<"$out"
	lost=0
	for ((i = 0; i < N; i++)); do
		[ "$(md5sum <"$m/exports/e$i/sub/big")" = "$ref" ] || lost=1
		[ "$(readlink "$m/exports/e$i/link")" = sub/big ] || lost=1
		[ -f "$m/exports/e$i/empty" ] && [ ! -s "$m/exports/e$i/empty" ] || lost=1
	done
	check "$fs: contents, symlinks and empty files stay" "a copy changed" test $lost = 0
	check "$fs: same size, other bytes: not shared" "samesize linked" \
		test "$(stat -c %h "$m/exports/e0/samesize")" = 1 -a \
		"$(cmp -s "$m/exports/e0/samesize" "$m/exports/e1/samesize"; echo $?)" = 1
	check "$fs: the guest's hard link stays its own" \
		"$(stat -c '%i %h' "$m/exports/e1/hl1" "$m/exports/e1/hl2" | tr '\n' ' ')" \
		test "$(stat -c '%i %h' "$m/exports/e1/hl2")" = "$ino_hl 2"
	check "$fs: the template's inode stays" "was $ino_t" \
		test "$(stat -c %i "$m/templates/base/big")" = "$ino_t"
	if [ "$fs" = ext4 ]; then
		check "$fs: the exports' copies are one inode with the store's" \
			"$(stat -c '%i %h' "$m/exports/e0/sub/big")" \
			test "$(stat -c %i "$m/exports/e0/sub/big")" = \
			"$(stat -c %i "$m/exports/e9/sub/big")"
	fi

	# Through guests: a write to e3's copy, a chmod of e4's.
	meta0=$(meta "$m/exports/e0/sub/big")
	sum0=$ref
	start_guest 3 "w" "$m" || {
		not_ok "$fs: guest on e3" "no mount"
		return
	}
	printf 'guest three\n' | dd of="$XS_MNT/sub/big" bs=1 seek=4096 \
		conv=notrunc status=none
	check "$fs: the writing guest sees its write" "" \
		grep -q "guest three" <(dd if="$XS_MNT/sub/big" bs=4096 skip=1 count=1 status=none)
	local p3=$XS_BACK_PID s3=$XS_SOCK mnt3=$XS_MNT f3=$XS_FRONT_PID d3=$XS_FUSE_DEV
	start_guest 4 "c" "$m" || {
		not_ok "$fs: guest on e4" "no mount"
		return
	}
	chmod 600 "$XS_MNT/sub/big"
	check "$fs: the chmod applies to its guest's copy" \
		"$(stat -c %a "$m/exports/e4/sub/big")" \
		test "$(stat -c %a "$m/exports/e4/sub/big")" = 600
	lost=
	for ((i = 0; i < N; i++)); do
		[ "$i" = 3 ] || [ "$i" = 4 ] && continue
		[ "$(md5sum <"$m/exports/e$i/sub/big")" = "$sum0" ] || lost+="e$i data "
		[ "$(meta "$m/exports/e$i/sub/big")" = "$meta0" ] || lost+="e$i meta "
	done
	check "$fs: the other copies are byte- and stat-identical" "$lost" test -z "$lost"
	xs_pair_stop >/dev/null 2>&1

	# The writer's backend restarts; its guest still sees its own copy.
	XS_BACK_PID=$p3 XS_SOCK=$s3 XS_MNT=$mnt3 XS_FRONT_PID=$f3 XS_FUSE_DEV=$d3
	XS_EXPORT=$m/exports/e3 XS_BACK_LOG=$XS_TMP/w-3/back.log
	XS_FRONT_LOG=$XS_TMP/w-3/front.log
	kill -KILL "$XS_BACK_PID"
	wait "$XS_BACK_PID" 2>/dev/null
	sleep 0.5
	xs_start_back
	check "$fs: after a backend restart the guest keeps its view" \
		"$(tail -3 "$XS_FRONT_LOG" | tr '\n' ' ')" \
		grep -q "guest three" <(dd if="$XS_MNT/sub/big" bs=4096 skip=1 count=1 status=none)
	check "$fs: and the others still the shared bytes" "" \
		test "$(md5sum <"$m/exports/e0/sub/big")" = "$sum0"
	xs_pair_stop >/dev/null 2>&1
}

for fs in ${XS_DEDUP_FS:-xfs ext4}; do
	suite_on "$fs"
done
xs_summary
