#!/bin/bash
# SPDX-License-Identifier: MIT
#
# policy.sh - per-export policy over the local transport, seen from a
# mounted frontend and checked on the host:
#   - read-only: every write-like operation answers EROFS, reads work,
#     and statfs in the guest says read-only;
#   - id mapping: host ownership of files guest users create, and the
#     ownership the guest sees, under passthrough, squash-root, squash-all
#     and range:BASE;
#   - set-id bits and device nodes refused by default, set-id cleared by
#     a write when allowed.
#
# usage: tests/integration/policy.sh   (as root; BUILD as for tests/lib.sh)
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

# as UID GID CMD...: run a command as a guest user.
as() {
	local uid=$1 gid=$2
	shift 2
	setpriv --reuid "$uid" --regid "$gid" --clear-groups "$@"
}

# erofs NAME CMD...: the command fails and says read-only.
erofs() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		not_ok "ro: $name" "succeeded on a read-only export"
	elif grep -qi "read-only" <<<"$out"; then
		ok "ro: $name"
	else
		not_ok "ro: $name" "wrong error: $out"
	fi
}

host_owner() { stat -c '%u:%g' "$XS_EXPORT/$1"; }
guest_owner() { stat -c '%u:%g' "$XS_MNT/$1"; }

test_read_only() {
	local m
	XS_BACK_ARGS=(--mode ro)
	XS_FRONT_ARGS=()
	xs_pair_dirs ro
	echo data >"$XS_EXPORT/file"
	mkdir "$XS_EXPORT/dir"
	echo x >"$XS_EXPORT/dir/inner"
	if ! xs_pair_start ro; then
		not_ok "ro: mount" "see $XS_BACK_LOG"
		return
	fi
	m=$XS_MNT
	check "ro: reads work" "cat failed" \
		bash -c "[ \"\$(cat '$m/file')\" = data ]"
	check "ro: listing works" "ls failed" ls "$m/dir"
	check "ro: statfs says read-only" "no ro flag" \
		bash -c "stat -f -c %l '$m' >/dev/null && python3 -c 'import os,sys; sys.exit(0 if os.statvfs(sys.argv[1]).f_flag & os.ST_RDONLY else 1)' '$m'"
	erofs "create" touch "$m/new"
	erofs "write" bash -c "echo more >>'$m/file'"
	erofs "truncate" truncate -s 0 "$m/file"
	erofs "mkdir" mkdir "$m/newdir"
	erofs "rmdir" rmdir "$m/dir"
	erofs "unlink" rm -f "$m/dir/inner"
	erofs "rename" mv "$m/file" "$m/file2"
	erofs "link" ln "$m/file" "$m/hard"
	erofs "symlink" ln -s file "$m/sym"
	erofs "mknod fifo" mkfifo "$m/fifo"
	erofs "chmod" chmod 600 "$m/file"
	erofs "chown" chown 1:1 "$m/file"
	erofs "utimes" touch -d @0 "$m/file"
	erofs "setxattr" setfattr -n user.a -v b "$m/file"
	erofs "fallocate" fallocate -l 8192 "$m/file"
	erofs "open for write" bash -c "exec 3>>'$m/file'"
	check "ro: host file unchanged" "content changed" \
		bash -c "[ \"\$(cat '$XS_EXPORT/file')\" = data ] && [ -e '$XS_EXPORT/dir/inner' ]"
	xs_pair_stop || not_ok "ro: clean stop" "${XS_STOP_WHY:-}"
}

# idmap NAME MAP EXPECT_ROOT EXPECT_USER: guest root and guest 1000
# create files; check host owners and the owners the guest sees.
idmap() {
	local name=$1 map=$2 want_root=$3 want_user=$4 m
	XS_BACK_ARGS=(--id-map "$map")
	XS_FRONT_ARGS=()
	if ! xs_pair_start "idmap-$name"; then
		not_ok "id-map $name: mount" "see $XS_BACK_LOG"
		return
	fi
	m=$XS_MNT
	chmod 1777 "$m" 2>/dev/null || chmod 1777 "$XS_EXPORT"
	touch "$m/by-root"
	as 1000 1000 touch "$m/by-user"
	check "id-map $name: guest root's file on the host is $want_root" \
		"host owner $(host_owner by-root)" \
		test "$(host_owner by-root)" = "$want_root"
	check "id-map $name: guest user's file on the host is $want_user" \
		"host owner $(host_owner by-user)" \
		test "$(host_owner by-user)" = "$want_user"
	case $name in
	passthrough | range)
		check "id-map $name: the guest sees its own ids" \
			"guest sees $(guest_owner by-root) / $(guest_owner by-user)" \
			test "$(guest_owner by-root) $(guest_owner by-user)" = "0:0 1000:1000"
		;;
	esac
	if [ "$name" = range ]; then
		chown 2000:2000 "$m/by-root"
		check "id-map range: chown 2000 in the guest is host 102000" \
			"host owner $(host_owner by-root)" \
			test "$(host_owner by-root)" = "102000:102000"
		touch "$XS_EXPORT/foreign"
		chown 55:55 "$XS_EXPORT/foreign"
		check "id-map range: a host id outside the range shows as 65534" \
			"guest sees $(guest_owner foreign)" \
			test "$(guest_owner foreign)" = "65534:65534"
	fi
	xs_pair_stop || not_ok "id-map $name: clean stop" "${XS_STOP_WHY:-}"
}

test_setid() {
	local m out
	XS_BACK_ARGS=()
	XS_FRONT_ARGS=()
	if ! xs_pair_start setid-default; then
		not_ok "setid: mount" "see $XS_BACK_LOG"
		return
	fi
	m=$XS_MNT
	touch "$m/f"
	if out=$(chmod 4755 "$m/f" 2>&1); then
		not_ok "setid: set-uid refused by default" "chmod 4755 succeeded"
	else
		ok "setid: set-uid refused by default"
	fi
	if mknod "$m/null" c 1 3 2>/dev/null; then
		not_ok "setid: device node refused by default" "mknod succeeded"
	else
		ok "setid: device node refused by default"
	fi
	check "setid: FIFOs still allowed" "mkfifo failed" mkfifo "$m/fifo"
	mkdir "$m/sgdir"
	check "setid: set-gid directories allowed" "chmod 2775 failed" \
		chmod 2775 "$m/sgdir"
	xs_pair_stop || not_ok "setid: clean stop" "${XS_STOP_WHY:-}"

	XS_BACK_ARGS=(--allow-setid)
	if ! xs_pair_start setid-allowed; then
		not_ok "setid: mount with --allow-setid" "see $XS_BACK_LOG"
		return
	fi
	m=$XS_MNT
	echo a >"$m/f"
	chmod 4755 "$m/f"
	check "setid: --allow-setid lets chmod 4755 through" "mode $(stat -c %a "$XS_EXPORT/f")" \
		test "$(stat -c %a "$XS_EXPORT/f")" = 4755
	echo b >>"$m/f"
	check "setid: a write clears set-uid" "mode $(stat -c %a "$XS_EXPORT/f")" \
		test "$(stat -c %a "$XS_EXPORT/f")" = 755
	chmod 4755 "$m/f"
	chown 1000:1000 "$m/f"
	check "setid: chown clears set-uid" "mode $(stat -c %a "$XS_EXPORT/f")" \
		test "$(stat -c %a "$XS_EXPORT/f")" = 755
	xs_pair_stop || not_ok "setid: clean stop" "${XS_STOP_WHY:-}"
}

main() {
	if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
		skip "policy" "needs root and /dev/fuse"
		xs_summary
		return
	fi
	xs_init
	test_read_only
	idmap passthrough passthrough 0:0 1000:1000
	idmap squash-root squash-root 65534:65534 1000:1000
	idmap squash-all squash-all 65534:65534 65534:65534
	idmap range range:100000 100000:100000 101000:101000
	test_setid
	xs_summary
}

main "$@"
