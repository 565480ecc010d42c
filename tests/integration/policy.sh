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
#   - owner semantics as several non-root guest users: under squash-all
#     what any guest user creates, every guest user may use as its owner,
#     and host files are used as the squashed id may; under squash-root
#     guest root is the squashed id on the host; under a range map a host
#     id outside the range owns nothing the guest's own ids own;
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

# start_prepared: backend and frontend on the dirs xs_pair_dirs made.
start_prepared() {
	xs_start_back "${XS_BACK_ARGS[@]}" && xs_start_front "${XS_FRONT_ARGS[@]}"
}

# idmap NAME MAP EXPECT_ROOT EXPECT_USER: guest root and guest 1000
# create files; check host owners and the owners the guest sees.
idmap() {
	local name=$1 map=$2 want_root=$3 want_user=$4 m
	XS_BACK_ARGS=(--id-map "$map")
	XS_FRONT_ARGS=()
	xs_pair_dirs "idmap-$name"
	chmod 1777 "$XS_EXPORT"
	if ! start_prepared; then
		not_ok "id-map $name: mount" "see $XS_BACK_LOG"
		return
	fi
	m=$XS_MNT
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

# fails NAME CMD...: the command must fail.
fails() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		not_ok "$name" "it succeeded"
	else
		ok "$name"
	fi
}

# Host files: one only host root may change, one only it may read, a
# host root directory, and a file of a host id outside any range.
host_files() {
	echo host >"$XS_EXPORT/root-file"
	chmod 644 "$XS_EXPORT/root-file"
	echo secret >"$XS_EXPORT/root-secret"
	chmod 600 "$XS_EXPORT/root-secret"
	mkdir -p "$XS_EXPORT/root-dir"
	echo x >"$XS_EXPORT/root-dir/inner"
	chmod 755 "$XS_EXPORT/root-dir"
	echo secret >"$XS_EXPORT/foreign"
	chown 55:55 "$XS_EXPORT/foreign"
	chmod 600 "$XS_EXPORT/foreign"
}

# owner_pair NAME MAP: a pair under MAP on an export holding host_files,
# open to every guest user (1777).
owner_pair() {
	XS_BACK_ARGS=(--id-map "$2")
	XS_FRONT_ARGS=()
	xs_pair_dirs "owner-$1"
	host_files
	chmod 1777 "$XS_EXPORT"
	start_prepared && return 0
	not_ok "$1: mount" "see $XS_BACK_LOG"
	return 1
}

# Under squash-all every guest user is the one squashed host id: what it
# creates, any guest user may use as its owner; what the host's other ids
# own, only as the host lets that id.
test_squash_all_owner() {
	local m n=squash-all
	owner_pair "$n" squash-all || return
	m=$XS_MNT
	check "$n: a guest user creates a file" "echo failed" \
		as 1000 1000 bash -c "echo a >'$m/mine'"
	check "$n: ... appends to it" "echo >> failed" \
		as 1000 1000 bash -c "echo b >>'$m/mine'"
	check "$n: ... sets its times to now (touch)" "touch failed" \
		as 1000 1000 touch "$m/mine"
	check "$n: ... sets given times (touch -d)" "touch -d failed" \
		as 1000 1000 touch -d @100000 "$m/mine"
	check "$n: ... chmods it" "chmod failed" as 1000 1000 chmod 600 "$m/mine"
	check "$n: ... truncates it" "truncate failed" \
		as 1000 1000 truncate -s 1 "$m/mine"
	check "$n: ... access(W_OK) agrees" "test -w said no" \
		as 1000 1000 test -w "$m/mine"
	check "$n: ... makes a directory and a file in it" "mkdir failed" \
		as 1000 1000 bash -c "mkdir '$m/d' && echo x >'$m/d/f'"
	check "$n: another guest user is the same host id: writes it" \
		"write as 2000 failed" as 2000 2000 bash -c "echo c >>'$m/mine'"
	check "$n: ... and removes a file in its directory" "rm failed" \
		as 2000 2000 rm "$m/d/f"
	check "$n: the host sees one owner, the squashed id" \
		"host owner $(host_owner mine) $(host_owner d)" \
		test "$(host_owner mine) $(host_owner d)" = "65534:65534 65534:65534"
	fails "$n: a guest user cannot write a host root file" \
		as 1000 1000 bash -c "echo x >>'$m/root-file'"
	fails "$n: guest root cannot either (it is squashed too)" \
		bash -c "echo x >>'$m/root-file'"
	fails "$n: access(W_OK) on it agrees" as 1000 1000 test -w "$m/root-file"
	fails "$n: nor read a host file only root may read" \
		cat "$m/root-secret"
	fails "$n: nor remove a name in a host root directory" \
		as 1000 1000 rm -f "$m/root-dir/inner"
	fails "$n: nor chmod a host root file" chmod 666 "$m/root-file"
	fails "$n: a chown to another id is refused" \
		as 1000 1000 chown 1000 "$m/mine"
	fails "$n: ... also for guest root" chown 0 "$m/mine"
	check "$n: host files unchanged" "changed" \
		bash -c "[ \"\$(cat '$XS_EXPORT/root-file')\" = host ] && [ -e '$XS_EXPORT/root-dir/inner' ] && [ \"\$(stat -c %a '$XS_EXPORT/root-file')\" = 644 ]"
	xs_pair_stop || not_ok "$n: clean stop" "${XS_STOP_WHY:-}"
}

# Under squash-root guest root is the squashed id on the host: it may not
# change what host root owns, whatever the guest kernel allows root.
test_squash_root_owner() {
	local m n=squash-root
	owner_pair "$n" squash-root || return
	m=$XS_MNT
	fails "$n: guest root cannot write a host root file" \
		bash -c "echo x >>'$m/root-file'"
	fails "$n: ... nor read one only host root may read" \
		cat "$m/root-secret"
	fails "$n: ... nor remove a name in a host root directory" \
		rm -f "$m/root-dir/inner"
	fails "$n: ... nor chmod a host root file" chmod 666 "$m/root-file"
	fails "$n: ... nor chown to root" bash -c "touch '$m/r' && chown 0 '$m/r'"
	check "$n: guest root writes, touches and chmods its own files" \
		"failed" bash -c "echo a >'$m/own' && echo b >>'$m/own' && touch -d @5 '$m/own' && chmod 600 '$m/own'"
	check "$n: a guest user writes its own file" "failed" \
		as 1000 1000 bash -c "echo a >'$m/user' && echo b >>'$m/user' && touch -d @5 '$m/user'"
	fails "$n: a guest user cannot write a host root file" \
		as 1000 1000 bash -c "echo x >>'$m/root-file'"
	check "$n: host files unchanged" "changed" \
		bash -c "[ \"\$(cat '$XS_EXPORT/root-file')\" = host ] && [ -e '$XS_EXPORT/root-dir/inner' ] && [ \"\$(stat -c %a '$XS_EXPORT/root-file')\" = 644 ]"
	xs_pair_stop || not_ok "$n: clean stop" "${XS_STOP_WHY:-}"
}

# Under a range map a host id outside the range has no guest id: no guest
# user, its nobody included, is taken for the owner.
test_range_owner() {
	local m n=range
	owner_pair "$n" range:100000 || return
	m=$XS_MNT
	check "$n: a foreign host file shows as 65534" \
		"guest sees $(guest_owner foreign)" \
		test "$(guest_owner foreign)" = "65534:65534"
	fails "$n: guest nobody (65534) does not own a foreign host file" \
		as 65534 65534 cat "$m/foreign"
	fails "$n: ... nor chmods it" as 65534 65534 chmod 666 "$m/foreign"
	check "$n: guest nobody owns what it creates" "failed" \
		as 65534 65534 bash -c "echo a >'$m/nob' && echo b >>'$m/nob' && touch -d @5 '$m/nob'"
	check "$n: ... host owner 165534" "host owner $(host_owner nob)" \
		test "$(host_owner nob)" = "165534:165534"
	check "$n: a guest user writes its own file" "failed" \
		as 1000 1000 bash -c "echo a >'$m/u' && echo b >>'$m/u' && touch -d @5 '$m/u'"
	fails "$n: a guest user outside the range cannot create" \
		as 70000 70000 touch "$m/outside"
	fails "$n: chown to an id outside the range is refused" \
		chown 70000 "$m/u"
	check "$n: chown between mapped ids" "host owner $(host_owner u)" \
		bash -c "chown 1001:1002 '$m/u' && [ \"\$(stat -c %u:%g '$XS_EXPORT/u')\" = 101001:101002 ]"
	xs_pair_stop || not_ok "$n: clean stop" "${XS_STOP_WHY:-}"
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
	test_squash_all_owner
	test_squash_root_owner
	test_range_owner
	test_setid
	xs_summary
}

main "$@"
