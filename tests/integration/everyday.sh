#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# everyday.sh - everyday tools on a target directory: cp -a, tar, git and
# rsync round trips of a mixed source tree, with the results compared
# (listing with type/mode/owner/size/links, mtimes, checksums, symlink
# targets).
#
# usage: everyday.sh DIR
#
# Environment:
#   EVERYDAY_DOC   extra tree to include in the source (default
#                  /usr/share/doc; set it empty to leave it out)
#   EVERYDAY_KEEP  if set to 1, keep the work and scratch directories
#   TMPDIR         where the local scratch tree is built (default /tmp)
#
# Output: one "ok - ..." / "not ok - ...: detail" / "skip - ...: why" line
# per check, then "N passed, N failed, N skipped".  Exit status 0 iff no
# check failed.

set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi

export LC_ALL=C
umask 022

PASS=0
FAIL=0
SKIP=0

ok() {
	echo "ok - $1"
	PASS=$((PASS + 1))
}

not_ok() {
	echo "not ok - $1: $2"
	FAIL=$((FAIL + 1))
}

skip() {
	echo "skip - $1: $2"
	SKIP=$((SKIP + 1))
}

finish() {
	echo "$PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" -eq 0 ]
	exit $?
}

if [ ! -d "$1" ]; then
	not_ok "target directory" "$1 is not a directory"
	finish
fi

DOC=${EVERYDAY_DOC-/usr/share/doc}
TARGET=$(cd "$1" && pwd -P)
WORK=$(mktemp -d "$TARGET/everyday.XXXXXX") || {
	not_ok "create work directory in $TARGET" "mktemp failed"
	finish
}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/everyday-scratch.XXXXXX") || {
	not_ok "create scratch directory" "mktemp failed"
	rmdir "$WORK"
	finish
}
LOG=$SCRATCH/log
SRC=$SCRATCH/src

cleanup() {
	if [ "${EVERYDAY_KEEP:-0}" = 1 ]; then
		echo "# kept $WORK and $SCRATCH"
		return
	fi
	rm -rf "$WORK" "$SCRATCH"
}
trap cleanup EXIT

echo "# everyday: target $WORK, scratch $SCRATCH"

# run NAME CMD...: one check on the exit status of CMD, output to $LOG
run() {
	local name=$1

	shift
	if "$@" >"$LOG" 2>&1; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "exit $?: $(tail -n 3 "$LOG" | tr '\n' ' ')"
	return 1
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# listing of a tree, one line per entry; directory sizes and link counts
# differ between file systems and are left out
tree_listing() {
	(cd "$1" && find . \( -type d -printf '%P %y %m %U:%G\n' \) -o \
		-printf '%P %y %m %U:%G %s %n\n') | sort
}

tree_mtimes() {
	(cd "$1" && find . -printf '%P %T@\n') | sort
}

tree_sums() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

tree_links() {
	(cd "$1" && find . -type l -printf '%P -> %l\n') | sort
}

# compare_trees NAME A B [mtime]: listing, checksums, symlinks (and mtimes)
compare_trees() {
	local name=$1 a=$2 b=$3 what

	for what in listing sums links ${4:-}; do
		if [ "$what" = mtime ]; then
			tree_mtimes "$a" >"$SCRATCH/a.$what"
			tree_mtimes "$b" >"$SCRATCH/b.$what"
		else
			"tree_$what" "$a" >"$SCRATCH/a.$what"
			"tree_$what" "$b" >"$SCRATCH/b.$what"
		fi
	done
	for what in listing sums links ${4:-}; do
		local label

		case $what in
		listing) label="file listing (type, mode, owner, size, links) identical" ;;
		sums)	label="sha256 checksums identical" ;;
		links)	label="symlink targets identical" ;;
		mtime)	label="mtimes identical" ;;
		esac
		if [ ! -s "$SCRATCH/a.$what" ] && [ "$what" != links ]; then
			not_ok "$name: $label" "empty reference listing"
		elif cmp -s "$SCRATCH/a.$what" "$SCRATCH/b.$what"; then
			ok "$name: $label"
		else
			not_ok "$name: $label" "$(diff "$SCRATCH/a.$what" \
				"$SCRATCH/b.$what" | grep '^[<>]' | head -n 3 |
				tr '\n' ' ')"
		fi
	done
}

# ---------------------------------------------------------------------
# build the source tree
# ---------------------------------------------------------------------

build_source() {
	local g=$SRC/gen i

	mkdir -p "$g" || return 1
	if [ -n "$DOC" ] && [ -d "$DOC" ]; then
		cp -a "$DOC" "$SRC/doc" || return 1
	fi

	mkdir -p "$g/a/b/c/d/e" "$g/empty-dir" "$g/many" "$g/dir with spaces" \
		"$g/ünïcödé-каталог-目录" || return 1
	echo "deep" >"$g/a/b/c/d/e/deep.txt"
	: >"$g/empty-file"
	: >"$g/a/b/empty-too"
	echo "spaces" >"$g/name with spaces.txt"
	echo "more spaces" >"$g/dir with spaces/  leading and trailing  "
	echo "utf-8" >"$g/ünïcödé-файл-文件-😀.txt"
	echo "utf-8 dir" >"$g/ünïcödé-каталог-目录/Grüße.txt"
	echo "dash" >"$g/-leading-dash"
	echo "quote" >"$g/it's \"quoted\""
	echo "star" >"$g/star*and?question[1]"
	printf '%0255d' 0 | tr 0 L >"$SCRATCH/longname" &&
		echo "long" >"$g/$(cat "$SCRATCH/longname")"

	head -c $((20 * 1024 * 1024)) /dev/urandom >"$g/big-20MiB.bin" || return 1
	head -c 100000 /dev/urandom >"$g/odd-size.bin"
	# sparse file: data at both ends of a 30 MiB hole
	printf 'start' >"$g/sparse.bin"
	truncate -s 30M "$g/sparse.bin"
	printf 'end' >>"$g/sparse.bin"

	for i in $(seq 1 2000); do
		echo "file $i" >"$g/many/f$i"
	done

	# hard links, inside one directory and across directories
	echo "linked" >"$g/hard1"
	ln "$g/hard1" "$g/hard2"
	ln "$g/hard1" "$g/a/b/hard3"

	# symlinks: relative, to a directory, dangling, absolute, chained
	ln -s "a/b/c/d/e/deep.txt" "$g/rel-link"
	ln -s "a/b" "$g/dir-link"
	ln -s "does/not/exist" "$g/dangling-link"
	ln -s "/etc/hostname" "$g/abs-link"
	ln -s "rel-link" "$g/link-to-link"
	ln -s "../../name with spaces.txt" "$g/a/b/link with spaces"

	# assorted modes
	echo "private" >"$g/private"
	chmod 0600 "$g/private"
	printf '#!/bin/sh\necho hi\n' >"$g/script.sh"
	chmod 0755 "$g/script.sh"
	echo "ro" >"$g/readonly"
	chmod 0444 "$g/readonly"
	mkdir "$g/sticky-dir"
	chmod 1777 "$g/sticky-dir"
	mkfifo "$g/fifo"
	if [ "$(id -u)" = 0 ]; then
		echo "suid" >"$g/suid"
		chmod 4755 "$g/suid"
		echo "nobody" >"$g/owned-by-nobody"
		chown 65534:65534 "$g/owned-by-nobody"
		mkdir "$g/nobody-dir"
		chown 65534:65534 "$g/nobody-dir"
	fi

	# fixed, distinct mtimes with nanoseconds on a few entries
	touch -h -d '2001-02-03 04:05:06.123456789' "$g/rel-link"
	touch -d '1999-12-31 23:59:59.999999999' "$g/odd-size.bin"
	touch -d '2010-01-01 00:00:00.5' "$g/a/b/c"
	return 0
}

if build_source >"$LOG" 2>&1; then
	ok "build source tree ($(find "$SRC" | wc -l) entries)"
else
	not_ok "build source tree" "$(tail -n 3 "$LOG" | tr '\n' ' ')"
	finish
fi

# ---------------------------------------------------------------------
# cp -a
# ---------------------------------------------------------------------

if run "cp -a into DIR" cp -a "$SRC" "$WORK/cp"; then
	compare_trees "cp -a into DIR" "$SRC" "$WORK/cp" mtime
	if run "cp -a back out of DIR" cp -a "$WORK/cp" "$SCRATCH/cp-back"; then
		compare_trees "cp -a back out of DIR" "$SRC" "$SCRATCH/cp-back" mtime
	fi
	if run "cp -a within DIR" cp -a "$WORK/cp" "$WORK/cp2"; then
		compare_trees "cp -a within DIR" "$SRC" "$WORK/cp2" mtime
	fi
	run "rm -rf of a tree in DIR" rm -rf "$WORK/cp2"
	if [ -e "$WORK/cp2" ]; then
		not_ok "tree gone after rm -rf" "$WORK/cp2 still exists"
	else
		ok "tree gone after rm -rf"
	fi
fi

# ---------------------------------------------------------------------
# tar
# ---------------------------------------------------------------------

if ! have tar; then
	skip "tar" "tar not installed"
else
	TAR="tar --format=posix"
	if run "tar create into DIR" $TAR -C "$SRC" -cf "$WORK/tree.tar" .; then
		run "tar list from DIR" $TAR -tf "$WORK/tree.tar"
		mkdir -p "$SCRATCH/untar" "$WORK/untar"
		if run "tar extract out of DIR" \
			$TAR -C "$SCRATCH/untar" -xpf "$WORK/tree.tar"; then
			compare_trees "tar extract out of DIR" "$SRC" \
				"$SCRATCH/untar" mtime
		fi
		if run "tar extract into DIR" \
			$TAR -C "$WORK/untar" -xpf "$WORK/tree.tar"; then
			compare_trees "tar extract into DIR" "$SRC" \
				"$WORK/untar" mtime
			run "tar --compare against tree in DIR" \
				$TAR -C "$WORK/untar" -df "$WORK/tree.tar"
		fi
		# a compressed stream through a pipe
		if run "tar | gzip into DIR" bash -c \
			"tar -C '$SRC/gen' -cf - . | gzip -1 >'$WORK/gen.tgz'"; then
			mkdir -p "$SCRATCH/untgz"
			if run "gzip -d | tar out of DIR" \
				tar -C "$SCRATCH/untgz" -xzpf "$WORK/gen.tgz"; then
				compare_trees "tar.gz round trip" "$SRC/gen" \
					"$SCRATCH/untgz"
			fi
		fi
	fi
fi

# ---------------------------------------------------------------------
# git
# ---------------------------------------------------------------------

if ! have git; then
	skip "git" "git not installed"
else
	export GIT_CONFIG_NOSYSTEM=1
	export GIT_CONFIG_GLOBAL=/dev/null
	export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z'
	export GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
	G() {
		git -c user.name=test -c user.email=test@example.invalid \
			-c safe.directory='*' -c init.defaultBranch=main \
			-c commit.gpgSign=false -c core.hooksPath=/dev/null "$@"
	}
	REPO=$WORK/repo

	git_tree() {
		local r=$1 i

		mkdir -p "$r/src/sub" "$r/docs" "$r/ünï cödé" || return 1
		for i in $(seq 1 200); do
			printf 'line %d\n%s\n' "$i" "$(seq 1 $((i % 50)))" \
				>"$r/src/file$i.c"
		done
		echo "readme" >"$r/README"
		echo "spaces" >"$r/docs/with spaces.md"
		echo "utf" >"$r/ünï cödé/ファイル.txt"
		head -c $((2 * 1024 * 1024)) /dev/urandom >"$r/blob.bin"
		ln -s README "$r/readme-link"
		printf '#!/bin/sh\n' >"$r/run.sh"
		chmod 755 "$r/run.sh"
		: >"$r/src/sub/empty"
	}

	git_status_clean() {
		local out

		out=$(G -C "$REPO" status --porcelain --untracked-files=all 2>&1)
		if [ $? -eq 0 ] && [ -z "$out" ]; then
			ok "$1"
		else
			not_ok "$1" "$(echo "$out" | head -n 3 | tr '\n' ' ')"
		fi
	}

	if run "git init in DIR" G init -q "$REPO"; then
		if git_tree "$REPO" >"$LOG" 2>&1; then
			run "git add" G -C "$REPO" add -A
			run "git commit" G -C "$REPO" commit -q -m "initial"
			git_status_clean "git status clean after commit"
			run "git diff-files finds no changes" \
				G -C "$REPO" diff-files --quiet

			# second commit: modify, rename, delete, chmod
			echo "changed" >>"$REPO/README"
			G -C "$REPO" mv src/file1.c src/sub/moved.c >"$LOG" 2>&1
			G -C "$REPO" rm -q src/file2.c >"$LOG" 2>&1
			chmod 644 "$REPO/run.sh"
			run "git commit -a" G -C "$REPO" commit -q -a -m "second"
			git_status_clean "git status clean after second commit"

			n=$(G -C "$REPO" log --oneline 2>/dev/null | wc -l)
			if [ "$n" -eq 2 ]; then
				ok "git log shows 2 commits"
			else
				not_ok "git log shows 2 commits" "found $n"
			fi
			out=$(G -C "$REPO" show --stat --format= HEAD 2>&1 | tail -n 1)
			case $out in
			*"4 files changed"*) ok "git show --stat of second commit" ;;
			*) not_ok "git show --stat of second commit" "$out" ;;
			esac
			run "git fsck --full --strict" \
				G -C "$REPO" fsck --full --strict --no-progress
			run "git gc" G -C "$REPO" gc -q --prune=now
			run "git fsck after gc" \
				G -C "$REPO" fsck --full --strict --no-progress
			git_status_clean "git status clean after gc"

			# clone out of and back into DIR
			if run "git clone out of DIR" \
				G clone -q --no-hardlinks "$REPO" "$SCRATCH/clone"; then
				if run "git clone into DIR" G clone -q --no-hardlinks \
					"$SCRATCH/clone" "$WORK/clone2"; then
					h1=$(G -C "$REPO" rev-parse HEAD 2>&1)
					h2=$(G -C "$WORK/clone2" rev-parse HEAD 2>&1)
					if [ "$h1" = "$h2" ]; then
						ok "cloned HEAD matches"
					else
						not_ok "cloned HEAD matches" "$h1 vs $h2"
					fi
					if diff -r --no-dereference -x .git "$REPO" "$WORK/clone2" \
						>"$LOG" 2>&1; then
						ok "cloned work tree matches"
					else
						not_ok "cloned work tree matches" \
							"$(head -n 3 "$LOG" | tr '\n' ' ')"
					fi
				fi
			fi
			run "git checkout of first commit" \
				G -C "$REPO" checkout -q HEAD~1
			git_status_clean "git status clean after checkout"
		else
			not_ok "create git work tree" "$(tail -n 3 "$LOG" | tr '\n' ' ')"
		fi
	fi
fi

# ---------------------------------------------------------------------
# rsync
# ---------------------------------------------------------------------

if ! have rsync; then
	skip "rsync" "rsync not installed"
else
	if run "rsync -aH into DIR" rsync -aH "$SRC/" "$WORK/rsync/"; then
		compare_trees "rsync -aH into DIR" "$SRC" "$WORK/rsync" mtime
		out=$(rsync -a --checksum --dry-run -i "$SRC/" "$WORK/rsync/" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ]; then
			ok "rsync --checksum --dry-run shows nothing to transfer"
		else
			not_ok "rsync --checksum --dry-run shows nothing to transfer" \
				"exit $rc: $(echo "$out" | head -n 3 | tr '\n' ' ')"
		fi
		# change one file and one mode; an update transfers just that
		echo "appended" >>"$SRC/gen/odd-size.bin"
		chmod 0640 "$SRC/gen/name with spaces.txt"
		out=$(rsync -aH -i "$SRC/" "$WORK/rsync/" 2>&1)
		rc=$?
		n=$(echo "$out" | grep -c '^[.>]f')
		if [ $rc -eq 0 ] && [ "$n" -eq 2 ]; then
			ok "rsync update touches only the changed files"
		else
			not_ok "rsync update touches only the changed files" \
				"exit $rc, $n items: $(echo "$out" | head -n 4 | tr '\n' ' ')"
		fi
		compare_trees "rsync update" "$SRC" "$WORK/rsync" mtime
		if run "rsync -aH back out of DIR" \
			rsync -aH "$WORK/rsync/" "$SCRATCH/rsync-back/"; then
			compare_trees "rsync -aH back out of DIR" "$SRC" \
				"$SCRATCH/rsync-back" mtime
		fi
		if run "rsync --delete in DIR" \
			rsync -aH --delete "$SRC/gen/many/" "$WORK/rsync/gen/"; then
			compare_trees "rsync --delete result" "$SRC/gen/many" \
				"$WORK/rsync/gen"
		fi
	fi
fi

# ---------------------------------------------------------------------

if [ "${EVERYDAY_KEEP:-0}" = 1 ]; then
	skip "remove work tree from DIR" "EVERYDAY_KEEP=1"
elif rm -rf "$WORK" && [ ! -e "$WORK" ]; then
	ok "remove work tree from DIR"
else
	not_ok "remove work tree from DIR" "$WORK still exists"
fi
finish
