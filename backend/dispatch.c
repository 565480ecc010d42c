// SPDX-License-Identifier: MIT
/*
 * The file service's entry points (backend/service.h): exports, sessions
 * and xs_dispatch(), which decodes a request (protocol/codec.c), checks the
 * right the opcode needs against the policy, and calls its handler in
 * fs.c through a table indexed by opcode.
 *
 * Trust: the request slot is a private copy but its contents are the
 * guest's; nothing here uses a field before xs_codec_decode() checked it.
 * Policy comes from the administrator (xs_export_set_policy()).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "service_internal.h"

enum xs_right {
	XS_RIGHT_READ,
	XS_RIGHT_WRITE,
};

struct xs_op_desc {
	xs_op_fn fn;
	const char *name;
	enum xs_right right;
};

#define OP(code, f, r) [XS_OP_##code] = { .fn = f, .name = #code, .right = r }

static const struct xs_op_desc op_table[XS_OP_MAX] = {
	OP(LOOKUP, xs_fs_lookup, XS_RIGHT_READ),
	OP(FORGET, xs_fs_forget, XS_RIGHT_READ),
	OP(GETATTR, xs_fs_getattr, XS_RIGHT_READ),
	OP(SETATTR, xs_fs_setattr, XS_RIGHT_WRITE),
	OP(READLINK, xs_fs_readlink, XS_RIGHT_READ),
	OP(SYMLINK, xs_fs_symlink, XS_RIGHT_WRITE),
	OP(MKNOD, xs_fs_mknod, XS_RIGHT_WRITE),
	OP(MKDIR, xs_fs_mkdir, XS_RIGHT_WRITE),
	OP(UNLINK, xs_fs_unlink, XS_RIGHT_WRITE),
	OP(RMDIR, xs_fs_rmdir, XS_RIGHT_WRITE),
	OP(RENAME, xs_fs_rename, XS_RIGHT_WRITE),
	OP(LINK, xs_fs_link, XS_RIGHT_WRITE),
	OP(OPEN, xs_fs_open, XS_RIGHT_READ),	/* WRITE for write opens */
	OP(CREATE, xs_fs_create, XS_RIGHT_WRITE),
	OP(READ, xs_fs_read, XS_RIGHT_READ),
	OP(WRITE, xs_fs_write, XS_RIGHT_WRITE),
	OP(FLUSH, xs_fs_flush, XS_RIGHT_READ),
	OP(RELEASE, xs_fs_release, XS_RIGHT_READ),
	OP(FSYNC, xs_fs_fsync, XS_RIGHT_READ),
	OP(OPENDIR, xs_fs_opendir, XS_RIGHT_READ),
	OP(READDIR, xs_fs_readdir, XS_RIGHT_READ),
	OP(READDIRPLUS, xs_fs_readdir, XS_RIGHT_READ),
	OP(RELEASEDIR, xs_fs_releasedir, XS_RIGHT_READ),
	OP(FSYNCDIR, xs_fs_fsyncdir, XS_RIGHT_READ),
	OP(STATFS, xs_fs_statfs, XS_RIGHT_READ),
	OP(SETXATTR, xs_fs_setxattr, XS_RIGHT_WRITE),
	OP(GETXATTR, xs_fs_getxattr, XS_RIGHT_READ),
	OP(LISTXATTR, xs_fs_listxattr, XS_RIGHT_READ),
	OP(REMOVEXATTR, xs_fs_removexattr, XS_RIGHT_WRITE),
	OP(ACCESS, xs_fs_access, XS_RIGHT_READ),
	OP(FALLOCATE, xs_fs_fallocate, XS_RIGHT_WRITE),
	OP(LSEEK, xs_fs_lseek, XS_RIGHT_READ),
	OP(COPY_FILE_RANGE, xs_fs_copy_file_range, XS_RIGHT_WRITE),
	OP(REOPEN, xs_fs_reopen, XS_RIGHT_READ),
};

/* ---- exports ----------------------------------------------------------- */

/* Usage as it is on disk now, then the policy's limits. */
static int export_quota_init(struct xs_export *e, const char *path)
{
	struct statfs sf;
	uint64_t skipped = 0;
	int rc;

	rc = xs_quota_new(path, fstatfs(e->root_fd, &sf) ? 4096 :
			  (uint32_t)sf.f_bsize, &e->quota);
	if (rc)
		return rc;
	rc = xs_quota_scan(e->quota, e->root_fd, &skipped);
	if (rc) {
		xs_quota_free(e->quota);
		e->quota = NULL;
		return rc;
	}
	xs_quota_set_limits(e->quota, e->pol.quota_bytes, e->pol.quota_inodes,
			    e->pol.quota_soft_percent, "start");
	return 0;
}

int xs_export_open(const char *path, const struct xs_policy *pol,
		   struct xs_export **out)
{
	struct xs_export *e;
	struct stat st;
	int err;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->root_fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (e->root_fd < 0) {
		err = errno == ELOOP ? ENOTDIR : errno;
		goto fail;
	}
	if (fstat(e->root_fd, &st)) {
		err = errno;
		goto fail_root;
	}
	if (!S_ISDIR(st.st_mode)) {
		err = ENOTDIR;
		goto fail_root;
	}
	e->proc_fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->proc_fd < 0) {
		err = errno;
		goto fail_root;
	}
	e->pid = getpid();
	if (getrandom(e->handle_key, sizeof(e->handle_key), 0) !=
	    (ssize_t)sizeof(e->handle_key)) {
		err = errno;
		goto fail_proc_only;
	}
	pthread_mutex_init(&e->pol_lock, NULL);
	if (pol)
		e->pol = *pol;
	else
		xs_policy_default(&e->pol);
	err = -export_quota_init(e, path);
	if (err)
		goto fail_proc;
	*out = e;
	return 0;

fail_proc:
	pthread_mutex_destroy(&e->pol_lock);
fail_proc_only:
	close(e->proc_fd);
fail_root:
	close(e->root_fd);
fail:
	free(e);
	return -err;
}

void xs_export_close(struct xs_export *e)
{
	if (!e)
		return;
	xs_quota_free(e->quota);
	close(e->proc_fd);
	close(e->root_fd);
	pthread_mutex_destroy(&e->pol_lock);
	free(e);
}

void xs_export_set_handle_key(struct xs_export *e, const uint8_t key[16])
{
	memcpy(e->handle_key, key, sizeof(e->handle_key));
}

void xs_export_get_policy(struct xs_export *e, struct xs_policy *out)
{
	pthread_mutex_lock(&e->pol_lock);
	*out = e->pol;
	pthread_mutex_unlock(&e->pol_lock);
}

int xs_export_set_policy(struct xs_export *e, const struct xs_policy *pol)
{
	pthread_mutex_lock(&e->pol_lock);
	e->pol = *pol;
	xs_quota_set_limits(e->quota, pol->quota_bytes, pol->quota_inodes,
			    pol->quota_soft_percent, "policy");
	pthread_mutex_unlock(&e->pol_lock);
	return 0;
}

void xs_export_get_usage(struct xs_export *e, struct xs_quota_usage *out)
{
	xs_quota_get(e->quota, out);
}

/* ---- sessions ---------------------------------------------------------- */

/* proc_fd names the fds of the process that opened it: after a fork,
 * point it at ours before any session of this process can use it. */
static int export_follow_fork(struct xs_export *e)
{
	int fd, rc = 0;

	pthread_mutex_lock(&e->pol_lock);
	if (e->pid != getpid()) {
		fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || dup3(fd, e->proc_fd, O_CLOEXEC) < 0)
			rc = -errno;
		else
			e->pid = getpid();
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_unlock(&e->pol_lock);
	return rc;
}

int xs_sess_new(struct xs_export *e, void *data, size_t data_bytes,
		const char *name, struct xs_sess **out)
{
	struct xs_sess *s;
	int fd, rc;

	rc = export_follow_fork(e);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->exp = e;
	s->data = data;
	s->data_bytes = data_bytes;
	if (name)
		snprintf(s->name, sizeof(s->name), "%s", name);
	fd = fcntl(e->root_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = xs_nodes_new(fd, &s->nodes);
	if (rc)
		goto fail;
	rc = xs_handles_new(&s->handles);
	if (rc)
		goto fail_nodes;
	*out = s;
	return 0;

fail_nodes:
	xs_nodes_free(s->nodes);
fail:
	free(s);
	return rc;
}

void xs_sess_free(struct xs_sess *s)
{
	if (!s)
		return;
	xs_handles_free(s->handles);
	xs_nodes_free(s->nodes);
	free(s);
}

/* ---- dispatch ---------------------------------------------------------- */

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread uint8_t *scratch_tls;

static void scratch_key_init(void)
{
	pthread_key_create(&scratch_key, free);
}

/* XS_MAX_BUF + 2 private bytes per serving thread, freed at its exit. */
static uint8_t *thread_scratch(void)
{
	if (scratch_tls)
		return scratch_tls;
	pthread_once(&scratch_once, scratch_key_init);
	scratch_tls = malloc(XS_MAX_BUF + 2);
	if (scratch_tls)
		pthread_setspecific(scratch_key, scratch_tls);
	return scratch_tls;
}

void xs_service_thread_exit(void)
{
	if (!scratch_tls)
		return;
	pthread_setspecific(scratch_key, NULL);
	free(scratch_tls);
	scratch_tls = NULL;
}

static enum xs_right op_right(const struct xs_op_desc *d,
			      const struct xs_req *r)
{
	if (r->opcode == XS_OP_OPEN &&
	    ((r->a.open.flags & O_ACCMODE) != O_RDONLY ||
	     (r->a.open.flags & O_TRUNC)))
		return XS_RIGHT_WRITE;
	return d->right;
}

/* Replies that count a lookup carry the node's persistent handle. */
static bool entry_reply(unsigned opcode)
{
	switch (opcode) {
	case XS_OP_LOOKUP:
	case XS_OP_MKNOD:
	case XS_OP_MKDIR:
	case XS_OP_SYMLINK:
	case XS_OP_LINK:
	case XS_OP_CREATE:
		return true;
	default:
		return false;
	}
}

int xs_dispatch(struct xs_sess *s, const struct xs_req *req,
		struct xs_rsp *rsp)
{
	const struct xs_op_desc *d;
	struct xs_msg msg;
	struct xs_ctx c;
	uint8_t *scratch;
	int rc;

	xs_codec_rsp_init(rsp, req);
	scratch = thread_scratch();
	if (!scratch) {
		rsp->error = ENOMEM;
		return 0;
	}
	rc = xs_codec_decode(req, s->data, s->data_bytes, scratch, &msg);
	if (rc == XS_CODEC_FATAL) {
		rsp->error = EPROTO;
		return XS_CODEC_FATAL;
	}
	if (rc < 0) {
		rsp->error = -rc;
		return 0;
	}
	d = &op_table[msg.req.opcode];
	if (!d->fn) {
		rsp->error = ENOSYS;
		return 0;
	}

	c.s = s;
	c.m = &msg;
	c.rsp = rsp;
	xs_export_get_policy(s->exp, &c.pol);
	if (c.pol.read_only && op_right(d, &msg.req) == XS_RIGHT_WRITE) {
		rsp->error = EROFS;
		return 0;
	}
	rc = d->fn(&c);
	if (rc < 0 && (msg.req.flags & XS_REQ_RESENT))
		rc = xs_fs_resend_fixup(&c, rc);
	if (rc == 0 && entry_reply(msg.req.opcode))
		xs_fs_put_handle(&c);
	if (rc < 0) {
		xs_codec_rsp_init(rsp, req);
		rsp->error = rc < -4095 ? EIO : -rc;
	}
	return 0;
}
