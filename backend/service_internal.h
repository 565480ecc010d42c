/* SPDX-License-Identifier: MIT */
/*
 * Private to the file service (dispatch.c, fs.c): the export and session
 * structures, the per-request context and the operation handlers.
 */
#ifndef XS_SERVICE_INTERNAL_H
#define XS_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../protocol/codec.h"
#include "handle.h"
#include "node.h"
#include "policy.h"
#include "quota.h"
#include "service.h"

struct xs_export {
	int root_fd;		/* O_PATH|O_DIRECTORY, immutable */
	int proc_fd;		/* /proc/self/fd of the serving process;
				 * the number is immutable */
	pid_t pid;		/* pol_lock: process proc_fd belongs to */
	pthread_mutex_t pol_lock;
	struct xs_policy pol;	/* pol_lock */
	struct xs_quota *quota;	/* immutable pointer; limits follow pol */
	uint8_t handle_key[16];	/* set before sessions start, then
				 * immutable */
};

struct xs_sess {
	struct xs_export *exp;
	void *data;		/* shared data area: written, read by codec */
	size_t data_bytes;
	struct xs_node_table *nodes;
	struct xs_handle_table *handles;
	char name[48];
};

/* One request being served. */
struct xs_ctx {
	struct xs_sess *s;
	struct xs_policy pol;	/* snapshot taken when the request began */
	const struct xs_msg *m;
	struct xs_rsp *rsp;
};

typedef int (*xs_op_fn)(struct xs_ctx *c);

/* fs.c: one handler per opcode; 0 or -errno, rsp filled on success. */
int xs_fs_lookup(struct xs_ctx *c);
int xs_fs_forget(struct xs_ctx *c);
int xs_fs_getattr(struct xs_ctx *c);
int xs_fs_setattr(struct xs_ctx *c);
int xs_fs_readlink(struct xs_ctx *c);
int xs_fs_symlink(struct xs_ctx *c);
int xs_fs_mknod(struct xs_ctx *c);
int xs_fs_mkdir(struct xs_ctx *c);
int xs_fs_unlink(struct xs_ctx *c);
int xs_fs_rmdir(struct xs_ctx *c);
int xs_fs_rename(struct xs_ctx *c);
int xs_fs_link(struct xs_ctx *c);
int xs_fs_open(struct xs_ctx *c);
int xs_fs_create(struct xs_ctx *c);
int xs_fs_read(struct xs_ctx *c);
int xs_fs_write(struct xs_ctx *c);
int xs_fs_flush(struct xs_ctx *c);
int xs_fs_release(struct xs_ctx *c);
int xs_fs_fsync(struct xs_ctx *c);
int xs_fs_opendir(struct xs_ctx *c);
int xs_fs_readdir(struct xs_ctx *c);
int xs_fs_releasedir(struct xs_ctx *c);
int xs_fs_fsyncdir(struct xs_ctx *c);
int xs_fs_statfs(struct xs_ctx *c);
int xs_fs_setxattr(struct xs_ctx *c);
int xs_fs_getxattr(struct xs_ctx *c);
int xs_fs_listxattr(struct xs_ctx *c);
int xs_fs_removexattr(struct xs_ctx *c);
int xs_fs_access(struct xs_ctx *c);
int xs_fs_fallocate(struct xs_ctx *c);
int xs_fs_lseek(struct xs_ctx *c);
int xs_fs_copy_file_range(struct xs_ctx *c);
int xs_fs_reopen(struct xs_ctx *c);

/* fs.c, for reopen.c: attributes as the guest sees them; the open flags
 * passed to the host; n's file opened again with flags (O_NOATIME dropped
 * when not allowed), an fd or -errno. */
void xs_fs_fill_attr(const struct xs_ctx *c, const struct stat *st,
		     struct xs_attr *a);
int xs_fs_host_flags(uint32_t wire);
int xs_fs_reopen_node(struct xs_ctx *c, struct xs_node *n, int flags);

/* reopen.c: the persistent handle of node nodeid (written to out, cap
 * bytes; its length, or 0 when it has none or it does not fit); the same
 * put at the start of the reply's buffer (out_len) for replies with an
 * entry; a resent request's answer given the error rc of doing it again
 * (rc, or 0 / the entry when a first execution explains rc). */
int xs_fs_node_handle(struct xs_ctx *c, uint64_t nodeid, void *out,
		      uint32_t cap);
void xs_fs_put_handle(struct xs_ctx *c);
int xs_fs_resend_fixup(struct xs_ctx *c, int rc);

#endif /* XS_SERVICE_INTERNAL_H */
