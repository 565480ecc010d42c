/* SPDX-License-Identifier: MIT */
/*
 * Copying and removing a whole tree for snapshots (snapshot.h), in
 * dom0's view of the files.
 *
 * Trust: the trees are guest-made content.  Every step is relative to a
 * directory fd with one name read from getdents (never a path built from
 * names), symlinks are never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW),
 * the walk stays on the file system of the tree's root (a mount point
 * inside is skipped, never entered), the depth is bounded
 * (XSH_COPY_MAX_DEPTH) and so is the table of hard links kept
 * (XSH_COPY_MAX_LINKS).  Special files are recreated with mknodat(),
 * never opened.
 */
#ifndef XSH_SNAPCOPY_H
#define XSH_SNAPCOPY_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XSH_COPY_MAX_DEPTH	512u
#define XSH_COPY_MAX_LINKS	16384u
#define XSH_COPY_PROGRESS_MS	5000

struct xsh_copy_stats {
	uint64_t files;			/* inodes made (links not counted) */
	uint64_t links;			/* hard links made as links */
	uint64_t data_bytes;		/* bytes copied (not reflinked) */
	uint64_t reflinked;		/* files shared with FICLONE */
	uint64_t skipped;		/* mount points inside, entries gone */
	uint64_t links_copied;		/* links past XSH_COPY_MAX_LINKS,
					 * copied as files */
};

/* Copy everything under the directory src into the empty directory dst
 * (both opened with O_RDONLY | O_DIRECTORY), with owner, mode, times,
 * user.* xattrs, symlinks, hard links, device nodes, FIFOs and holes;
 * dst itself gets src's owner, mode, xattrs and times.  reflink: share
 * file data with FICLONE, falling back to a copy for a file the file
 * system refuses to share.  name: for the progress log lines.  0, or
 * -errno with the reason in why. */
int xsh_tree_copy(int src, int dst, bool reflink, const char *name,
		  struct xsh_copy_stats *st, char *why, size_t why_len);

/* Remove everything under the directory dir (O_RDONLY | O_DIRECTORY),
 * leaving dir itself; btrfs subvolumes inside are deleted with their
 * ioctl.  0, or -errno with the reason in why. */
int xsh_tree_clear(int dir, char *why, size_t why_len);

/* Remove the entry name of dir and everything under it (a btrfs
 * subvolume with its ioctl). */
int xsh_tree_remove(int dir, const char *name, char *why, size_t why_len);

/* A stream of dir's entries on a descriptor of its own (dir may be
 * O_PATH), or NULL with errno set. */
DIR *xsh_tree_opendir(int dir);

/* Whether the file system of fd can share file data (XFS, btrfs). */
bool xsh_tree_can_reflink(int fd);

/* Whether fd is the root of a btrfs subvolume. */
bool xsh_tree_is_subvolume(int fd);

#endif /* XSH_SNAPCOPY_H */
