/* SPDX-License-Identifier: MIT */
/*
 * Private to the file service (dispatch.c, fs.c): the export and session
 * structures, the per-request context and the operation handlers.
 */
#ifndef XSH_SERVICE_INTERNAL_H
#define XSH_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "protocol/codec.h"
#include "handle.h"
#include "node.h"
#include "policy.h"
#include "quota.h"
#include "service.h"
#include "template.h"

struct xsh_export {
	int root_fd;		/* O_PATH|O_DIRECTORY, immutable */
	int proc_fd;		/* /proc/self/fd of the serving process;
				 * the number is immutable */
	pid_t pid;		/* pol_lock: process proc_fd belongs to */
	pthread_mutex_t pol_lock;
	struct xsh_policy pol;	/* pol_lock */
	struct xsh_quota *quota;	/* immutable pointer; limits follow pol */
	struct xsh_template *tpl;	/* immutable; NULL: no template */
	uint8_t handle_key[16];	/* set before sessions start, then
				 * immutable */
};

struct xsh_sess {
	struct xsh_export *exp;
	void *data;		/* shared data area: written, read by codec */
	size_t data_bytes;
	struct xsh_node_table *nodes;
	struct xsh_handle_table *handles;
	char name[48];
};

/* One request being served. */
struct xsh_ctx {
	struct xsh_sess *s;
	struct xsh_policy pol;	/* snapshot taken when the request began */
	const struct xsh_msg *m;
	struct xsh_rsp *rsp;
	/* xsh_policy_host_checks() for the caller: the calls that check
	 * permissions run as its host ids (fs.c as_caller()). */
	bool host_check;
	uid_t host_uid;		/* with host_check */
	gid_t host_gid;
};

typedef int (*xsh_op_fn)(struct xsh_ctx *c);

/* fs.c: one handler per opcode; 0 or -errno, rsp filled on success. */
int xsh_fs_lookup(struct xsh_ctx *c);
int xsh_fs_forget(struct xsh_ctx *c);
int xsh_fs_getattr(struct xsh_ctx *c);
int xsh_fs_setattr(struct xsh_ctx *c);
int xsh_fs_readlink(struct xsh_ctx *c);
int xsh_fs_symlink(struct xsh_ctx *c);
int xsh_fs_mknod(struct xsh_ctx *c);
int xsh_fs_mkdir(struct xsh_ctx *c);
int xsh_fs_unlink(struct xsh_ctx *c);
int xsh_fs_rmdir(struct xsh_ctx *c);
int xsh_fs_rename(struct xsh_ctx *c);
int xsh_fs_link(struct xsh_ctx *c);
int xsh_fs_open(struct xsh_ctx *c);
int xsh_fs_create(struct xsh_ctx *c);
int xsh_fs_read(struct xsh_ctx *c);
int xsh_fs_write(struct xsh_ctx *c);
int xsh_fs_flush(struct xsh_ctx *c);
int xsh_fs_release(struct xsh_ctx *c);
int xsh_fs_fsync(struct xsh_ctx *c);
int xsh_fs_opendir(struct xsh_ctx *c);
int xsh_fs_readdir(struct xsh_ctx *c);
int xsh_fs_releasedir(struct xsh_ctx *c);
int xsh_fs_fsyncdir(struct xsh_ctx *c);
int xsh_fs_statfs(struct xsh_ctx *c);
int xsh_fs_setxattr(struct xsh_ctx *c);
int xsh_fs_getxattr(struct xsh_ctx *c);
int xsh_fs_listxattr(struct xsh_ctx *c);
int xsh_fs_removexattr(struct xsh_ctx *c);
int xsh_fs_access(struct xsh_ctx *c);
int xsh_fs_fallocate(struct xsh_ctx *c);
int xsh_fs_lseek(struct xsh_ctx *c);
int xsh_fs_copy_file_range(struct xsh_ctx *c);
int xsh_fs_reopen(struct xsh_ctx *c);
int xsh_fs_cancel(struct xsh_ctx *c);

/* dedup.c (dedup.h): before a change to a regular file, give the guest's
 * name of a dedup link a private copy; n, or the file at pathfd named
 * name in dirfd, follows.  0 (also when it is no dedup link) or -errno;
 * -ESTALE when the node's name in the export cannot be found.
 * xsh_dedup_check_name(): 0 unless n is a dedup link the export has no
 * verified name for (-ESTALE), for REOPEN. */
int xsh_dedup_break(struct xsh_ctx *c, struct xsh_node *n);
int xsh_dedup_break_at(struct xsh_ctx *c, int dirfd, const char *name,
		       int pathfd);
int xsh_dedup_check_name(struct xsh_ctx *c, struct xsh_node *n);

/* fs.c, for reopen.c: attributes as the guest sees them; the open flags
 * passed to the host; n's file opened again with flags (O_NOATIME dropped
 * when not allowed), an fd or -errno. */
void xsh_fs_fill_attr(const struct xsh_ctx *c, const struct stat *st,
		     struct xsh_attr *a);
int xsh_fs_host_flags(uint32_t wire);
int xsh_fs_reopen_node(struct xsh_ctx *c, struct xsh_node *n, int flags);
/* fs.c, for dedup.c: one of the process's own fds opened again through
 * /proc/self/fd with flags (O_CLOEXEC added), an fd or -errno. */
int xsh_fs_reopen_fd(struct xsh_ctx *c, int fd, int flags);

/* reopen.c: the persistent handle of the node of entry e, found as name
 * under the directory node parent (written to out, cap bytes; its
 * length, or 0 when it has none or it does not fit); the same
 * put at the start of the reply's buffer (out_len) for replies with an
 * entry; a resent request's answer given the error rc of doing it again
 * (rc, or 0 / the entry when a first execution explains rc); whether a
 * resent RENAME_EXCHANGE finds its two files already exchanged. */
int xsh_fs_node_handle(struct xsh_ctx *c, const struct xsh_rsp_entry *e,
		      uint64_t parent, const char *name, uint32_t name_len,
		      void *out, uint32_t cap);
void xsh_fs_put_handle(struct xsh_ctx *c);
int xsh_fs_resend_fixup(struct xsh_ctx *c, int rc);
bool xsh_fs_exchange_applied(struct xsh_ctx *c);

#endif /* XSH_SERVICE_INTERNAL_H */
