/* SPDX-License-Identifier: MIT */
/*
 * Named point-in-time snapshots of an export, kept in a snapshot
 * directory of the administrator's (docs/snapshots.md):
 *
 *   DIR/NAME          the snapshot's tree, the export's files as they
 *                     were (a plain directory: usable as a template, an
 *                     overlayfs lower layer); a read-only btrfs subvolume
 *                     when the export is a subvolume on the same btrfs
 *   DIR/.NAME.snap    what list shows: time, method, bytes, files
 *   DIR/.NAME.tmp     a snapshot being made (removed if it fails)
 *
 * Taking one: the device is quiesced through the kind's hooks (the
 * worker lets requests in flight finish and holds new ones), its file
 * system synced (syncfs), the copy made (btrfs snapshot, else FICLONE
 * per file, else a full copy) and the device resumed whatever happened.
 * Restoring one: the device is quiesced, the export's tree replaced by a
 * copy of the snapshot's, and the held worker replaced by a new one
 * without running what it held: the new worker rescans the quota usage,
 * the frontends resend what was held, and the guest's handles to files
 * that are gone answer ESTALE.
 *
 * Trust: the snapshot directory and the hooks are the administrator's;
 * NAME comes from a control peer and is checked here; the trees are the
 * guest's (snapcopy.h).  One thread at a time.
 */
#ifndef XSH_SNAPSHOT_H
#define XSH_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define XSH_SNAP_NAME_MAX	64u
#define XSH_SNAP_MAX		32u	/* snapshots per directory: their list
					 * fits one control reply */
#define XSH_SNAP_QUIESCE_MS	5000	/* default bound on a quiesce */

enum xsh_snap_method {
	XSH_SNAP_BTRFS,
	XSH_SNAP_REFLINK,
	XSH_SNAP_FULL,
};

struct xsh_snap_info {
	char name[XSH_SNAP_NAME_MAX + 1];
	time_t time;			/* when the device was quiesced */
	enum xsh_snap_method method;
	uint64_t bytes;			/* du -sB1 of the tree when made */
	uint64_t files;			/* inodes, as du --inodes */
	long pause_ms;			/* how long the device was held */
};

/* What a kind does to its device.  quiesce: 0, or -errno with why
 * (the device is not held then); resume: never fails.  restart: after a
 * restore, end the held worker without running what it holds (its
 * frontends resend it to the next worker) and start a new one; never
 * fails. */
struct xsh_snap_ops {
	int (*quiesce)(void *arg, char *why, size_t why_len);
	void (*resume)(void *arg);
	void (*restart)(void *arg);
};

struct xsh_snap_ctx {
	const char *name;		/* the device, for logs */
	int export_fd;			/* the export's root, O_PATH */
	int dir_fd;			/* the snapshot directory, O_PATH */
	const struct xsh_snap_ops *ops;
	void *arg;
};

const char *xsh_snap_method_name(enum xsh_snap_method m);

/* 0 if name may name a snapshot: one component of 1..XSH_SNAP_NAME_MAX
 * of A-Z a-z 0-9 . _ -, not starting with a dot; else -EINVAL with why. */
int xsh_snap_name_check(const char *name, char *why, size_t why_len);

/* 0 if dir_fd may hold export_fd's snapshots: neither is inside the
 * other (nor the same); else -EINVAL with why. */
int xsh_snap_dir_check(int export_fd, int dir_fd, char *why,
		       size_t why_len);

int xsh_snap_take(const struct xsh_snap_ctx *c, const char *name,
		  struct xsh_snap_info *out, char *why, size_t why_len);
int xsh_snap_delete(const struct xsh_snap_ctx *c, const char *name,
		    char *why, size_t why_len);
int xsh_snap_restore(const struct xsh_snap_ctx *c, const char *name,
		     struct xsh_snap_info *out, char *why, size_t why_len);

/* Up to cap snapshots, sorted by time; their number, or -errno. */
int xsh_snap_list(const struct xsh_snap_ctx *c, struct xsh_snap_info *out,
		  unsigned cap);

#endif /* XSH_SNAPSHOT_H */
