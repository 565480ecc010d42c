// SPDX-License-Identifier: MIT
/*
 * The file service's entry points (backend/service/service.h): exports, sessions
 * and xsh_dispatch(), which decodes a request (protocol/codec.c), checks the
 * right the opcode needs (protocol/ops.h) against the policy, and calls its
 * handler in fs.c through a table indexed by opcode.
 *
 * Trust: the request slot is a private copy but its contents are the
 * guest's; nothing here uses a field before xsh_codec_decode() checked it.
 * Policy comes from the administrator (xsh_export_set_policy()).
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

/* Handlers by opcode; the rest of what an opcode needs is in protocol/ops.h. */
static const xsh_op_fn handlers[XSH_OP_MAX] = {
	[XSH_OP_LOOKUP] = xsh_fs_lookup,
	[XSH_OP_FORGET] = xsh_fs_forget,
	[XSH_OP_GETATTR] = xsh_fs_getattr,
	[XSH_OP_SETATTR] = xsh_fs_setattr,
	[XSH_OP_READLINK] = xsh_fs_readlink,
	[XSH_OP_SYMLINK] = xsh_fs_symlink,
	[XSH_OP_MKNOD] = xsh_fs_mknod,
	[XSH_OP_MKDIR] = xsh_fs_mkdir,
	[XSH_OP_UNLINK] = xsh_fs_unlink,
	[XSH_OP_RMDIR] = xsh_fs_rmdir,
	[XSH_OP_RENAME] = xsh_fs_rename,
	[XSH_OP_LINK] = xsh_fs_link,
	[XSH_OP_OPEN] = xsh_fs_open,
	[XSH_OP_CREATE] = xsh_fs_create,
	[XSH_OP_READ] = xsh_fs_read,
	[XSH_OP_WRITE] = xsh_fs_write,
	[XSH_OP_FLUSH] = xsh_fs_flush,
	[XSH_OP_RELEASE] = xsh_fs_release,
	[XSH_OP_FSYNC] = xsh_fs_fsync,
	[XSH_OP_OPENDIR] = xsh_fs_opendir,
	[XSH_OP_READDIR] = xsh_fs_readdir,
	[XSH_OP_READDIRPLUS] = xsh_fs_readdir,
	[XSH_OP_RELEASEDIR] = xsh_fs_releasedir,
	[XSH_OP_FSYNCDIR] = xsh_fs_fsyncdir,
	[XSH_OP_STATFS] = xsh_fs_statfs,
	[XSH_OP_SETXATTR] = xsh_fs_setxattr,
	[XSH_OP_GETXATTR] = xsh_fs_getxattr,
	[XSH_OP_LISTXATTR] = xsh_fs_listxattr,
	[XSH_OP_REMOVEXATTR] = xsh_fs_removexattr,
	[XSH_OP_ACCESS] = xsh_fs_access,
	[XSH_OP_FALLOCATE] = xsh_fs_fallocate,
	[XSH_OP_LSEEK] = xsh_fs_lseek,
	[XSH_OP_COPY_FILE_RANGE] = xsh_fs_copy_file_range,
	[XSH_OP_REOPEN] = xsh_fs_reopen,
	[XSH_OP_CANCEL] = xsh_fs_cancel,
};

/* ---- exports ----------------------------------------------------------- */

/* Usage as it is on disk now, then the policy's limits. */
static int export_quota_init(struct xsh_export *e, const char *path)
{
	struct statfs sf;
	uint64_t skipped = 0;
	int rc;

	/* A template device is charged for its upper directory only. */
	int scan_fd = e->tpl ? xsh_template_upper(e->tpl) : e->root_fd;

	rc = xsh_quota_new(path, fstatfs(scan_fd, &sf) ? 4096 :
			  (uint32_t)sf.f_bsize, &e->quota);
	if (rc)
		return rc;
	if (e->tpl)
		xsh_quota_set_shared(e->quota, xsh_template_shared, e->tpl);
	rc = xsh_quota_scan(e->quota, scan_fd, &skipped);
	if (rc) {
		xsh_quota_free(e->quota);
		e->quota = NULL;
		return rc;
	}
	xsh_quota_set_limits(e->quota, e->pol.quota_bytes, e->pol.quota_inodes,
			    e->pol.quota_soft_percent, "start");
	return 0;
}

int xsh_export_open(const char *path, const struct xsh_policy *pol,
		   struct xsh_export **out)
{
	return xsh_export_open_template(path, -1, pol, out);
}

int xsh_export_open_template(const char *path, int upper_fd,
			     const struct xsh_policy *pol,
			     struct xsh_export **out)
{
	struct xsh_export *e;
	struct stat st;
	int err;

	e = calloc(1, sizeof(*e));
	if (!e) {
		if (upper_fd >= 0)
			close(upper_fd);
		return -ENOMEM;
	}
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
	if (upper_fd >= 0) {
		err = -xsh_template_new(e->root_fd, e->proc_fd, upper_fd,
					&e->tpl);
		upper_fd = -1;
		if (err)
			goto fail_proc_only;
	}
	if (getrandom(e->handle_key, sizeof(e->handle_key), 0) !=
	    (ssize_t)sizeof(e->handle_key)) {
		err = errno;
		goto fail_proc_only;
	}
	pthread_mutex_init(&e->pol_lock, NULL);
	if (pol)
		e->pol = *pol;
	else
		xsh_policy_default(&e->pol);
	err = -export_quota_init(e, path);
	if (err)
		goto fail_proc;
	*out = e;
	return 0;

fail_proc:
	pthread_mutex_destroy(&e->pol_lock);
fail_proc_only:
	xsh_template_free(e->tpl);
	close(e->proc_fd);
fail_root:
	close(e->root_fd);
fail:
	if (upper_fd >= 0)
		close(upper_fd);
	free(e);
	return -err;
}

void xsh_export_close(struct xsh_export *e)
{
	if (!e)
		return;
	xsh_quota_free(e->quota);
	xsh_template_free(e->tpl);
	close(e->proc_fd);
	close(e->root_fd);
	pthread_mutex_destroy(&e->pol_lock);
	free(e);
}

void xsh_export_set_handle_key(struct xsh_export *e, const uint8_t key[16])
{
	memcpy(e->handle_key, key, sizeof(e->handle_key));
}

void xsh_export_get_policy(struct xsh_export *e, struct xsh_policy *out)
{
	pthread_mutex_lock(&e->pol_lock);
	*out = e->pol;
	pthread_mutex_unlock(&e->pol_lock);
}

int xsh_export_set_policy(struct xsh_export *e, const struct xsh_policy *pol)
{
	pthread_mutex_lock(&e->pol_lock);
	e->pol = *pol;
	xsh_quota_set_limits(e->quota, pol->quota_bytes, pol->quota_inodes,
			    pol->quota_soft_percent, "policy");
	pthread_mutex_unlock(&e->pol_lock);
	return 0;
}

void xsh_export_get_usage(struct xsh_export *e, struct xsh_quota_usage *out)
{
	xsh_quota_get(e->quota, out);
}

/* ---- sessions ---------------------------------------------------------- */

/* proc_fd names the fds of the process that opened it: after a fork,
 * point it at ours before any session of this process can use it. */
static int export_follow_fork(struct xsh_export *e)
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

int xsh_sess_new(struct xsh_export *e, void *data, size_t data_bytes,
		const char *name, struct xsh_sess **out)
{
	struct xsh_sess *s;
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
	rc = xsh_nodes_new(fd, &s->nodes);
	if (rc)
		goto fail;
	rc = xsh_handles_new(&s->handles);
	if (rc)
		goto fail_nodes;
	xsh_handles_set_quota(s->handles, e->quota);
	*out = s;
	return 0;

fail_nodes:
	xsh_nodes_free(s->nodes);
fail:
	free(s);
	return rc;
}

void xsh_sess_free(struct xsh_sess *s)
{
	if (!s)
		return;
	xsh_handles_free(s->handles);
	xsh_nodes_free(s->nodes);
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

/* XSH_MAX_BUF + 2 private bytes per serving thread, freed at its exit. */
static uint8_t *thread_scratch(void)
{
	if (scratch_tls)
		return scratch_tls;
	pthread_once(&scratch_once, scratch_key_init);
	scratch_tls = malloc(XSH_MAX_BUF + 2);
	if (scratch_tls)
		pthread_setspecific(scratch_key, scratch_tls);
	return scratch_tls;
}

void xsh_service_thread_exit(void)
{
	if (!scratch_tls)
		return;
	pthread_setspecific(scratch_key, NULL);
	free(scratch_tls);
	scratch_tls = NULL;
}

static enum xsh_op_right op_right(const struct xsh_op_desc *d,
			      const struct xsh_req *r)
{
	if (d->right == XSH_RIGHT_OPEN_MODE)
		return xsh_policy_open_right((int)r->a.open.flags);
	return d->right;
}

/* For the restart tests: XS_BACK_DIE_AFTER=OPNAME (as xsh_op_name()
 * prints it) makes the serving process exit right after a first, not
 * resent, OPNAME succeeded and before it is answered: a backend that died
 * between applying a request and replying. */
static pthread_once_t die_once = PTHREAD_ONCE_INIT;
static const char *die_op;

static void die_init(void)
{
	die_op = getenv("XS_BACK_DIE_AFTER");
}

static void die_after(const struct xsh_req *r)
{
	pthread_once(&die_once, die_init);
	if (die_op && !(r->flags & XSH_REQ_RESENT) &&
	    !strcmp(die_op, xsh_op_name(r->opcode)))
		_exit(1);
}

int xsh_dispatch(struct xsh_sess *s, const struct xsh_req *req,
		struct xsh_rsp *rsp)
{
	const struct xsh_op_desc *d;
	struct xsh_msg msg;
	xsh_op_fn fn;
	struct xsh_ctx c;
	uint8_t *scratch;
	int rc;

	xsh_codec_rsp_init(rsp, req);
	scratch = thread_scratch();
	if (!scratch) {
		rsp->error = ENOMEM;
		return 0;
	}
	rc = xsh_codec_decode(req, s->data, s->data_bytes, scratch, &msg);
	if (rc == XSH_CODEC_FATAL) {
		rsp->error = EPROTO;
		return XSH_CODEC_FATAL;
	}
	if (rc < 0) {
		rsp->error = -rc;
		return 0;
	}
	d = xsh_op_desc(msg.req.opcode);
	fn = handlers[msg.req.opcode];
	if (!d || !fn) {
		rsp->error = ENOSYS;
		return 0;
	}

	c.s = s;
	c.m = &msg;
	c.rsp = rsp;
	xsh_export_get_policy(s->exp, &c.pol);
	rc = xsh_policy_check(&c.pol, op_right(d, &msg.req));
	if (rc) {
		rsp->error = -rc;
		return 0;
	}
	/* Callers the map squashes are checked on the host, as their
	 * mapped ids (a caller with no mapping creates nothing anyway). */
	c.host_check = false;
	if (xsh_policy_host_checks(&c.pol, msg.req.uid, msg.req.gid)) {
		uint32_t u, g;

		if (!xsh_policy_uid_in(&c.pol, msg.req.uid, &u) &&
		    !xsh_policy_gid_in(&c.pol, msg.req.gid, &g)) {
			c.host_check = true;
			c.host_uid = u;
			c.host_gid = g;
		}
	}
	rc = fn(&c);
	if (rc == 0)
		die_after(&msg.req);
	if (rc < 0 && (msg.req.flags & XSH_REQ_RESENT))
		rc = xsh_fs_resend_fixup(&c, rc);
	if (rc == 0 && (d->flags & XSH_OPF_ENTRY))
		xsh_fs_put_handle(&c);
	if (rc < 0) {
		xsh_codec_rsp_init(rsp, req);
		rsp->error = rc < -4095 ? EIO : -rc;
	}
	return 0;
}
