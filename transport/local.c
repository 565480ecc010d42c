// SPDX-License-Identifier: MIT
/*
 * The local transport: rings and data area in one sealed memfd shared over
 * a SOCK_SEQPACKET unix socket, one eventfd per ring and direction (the
 * vhost-user model).  Used wherever there is no hypervisor: demos, tests,
 * benchmarks, containers on one host.
 *
 * Trust (backend side): the hello message and every descriptor that comes
 * with it are the peer's.  The message is checked field by field, the
 * memfd must be sealed against shrinking (so the mapping cannot be cut
 * under us: no SIGBUS), must be large enough, and the notification fds
 * must really be eventfds (a pipe nobody reads would block us).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "protocol/ring.h"
#include "local.h"

#define HANDSHAKE_TIMEOUT_MS 5000
#define MAX_FDS (1 + 2 * XSH_MAX_RINGS)

struct local_tport {
	struct xsh_tport t;
	int peer_fd[XSH_MAX_RINGS];	/* we write these to notify */
	int memfd;
	void *map;
	size_t map_len;
	/* frontend only: what reconnect needs */
	char socket_path[108];
	struct xsh_front_params params;
};

static struct local_tport *to_local(struct xsh_tport *t)
{
	return (struct local_tport *)t;
}

static int local_notify(struct xsh_tport *t, unsigned ring)
{
	uint64_t one = 1;

	if (ring >= t->nr_rings)
		return -EINVAL;
	if (write(to_local(t)->peer_fd[ring], &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}

static int local_ack(struct xsh_tport *t, unsigned ring)
{
	uint64_t v;

	if (ring >= t->nr_rings)
		return -EINVAL;
	if (read(t->ring_fd[ring], &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void local_close(struct xsh_tport *t)
{
	struct local_tport *l = to_local(t);
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < XSH_MAX_RINGS; i++) {
		close_fd(&t->ring_fd[i]);
		close_fd(&l->peer_fd[i]);
	}
	close_fd(&t->conn_fd);
	close_fd(&l->memfd);
	if (l->map)
		munmap(l->map, l->map_len);
	free(l);
}

static int local_reconnect(struct xsh_tport *t, int timeout_ms);

static int local_connect_op(const struct xsh_tport_addr *a,
			    const struct xsh_front_params *p,
			    struct xsh_tport **out);
static int local_attach_op(const void *args, struct xsh_tport **out);

const struct xsh_tport_ops xsh_local_back_ops = {
	.name = "local",
	.attach = local_attach_op,
	.notify = local_notify,
	.ack = local_ack,
	.close = local_close,
};

const struct xsh_tport_ops xsh_local_front_ops = {
	.name = "local",
	.connect = local_connect_op,
	.notify = local_notify,
	.ack = local_ack,
	.reconnect = local_reconnect,
	.close = local_close,
};

static struct local_tport *local_alloc(const struct xsh_tport_ops *ops)
{
	struct local_tport *l = calloc(1, sizeof(*l));
	unsigned i;

	if (!l)
		return NULL;
	l->t.ops = ops;
	l->t.conn_fd = -1;
	l->memfd = -1;
	for (i = 0; i < XSH_MAX_RINGS; i++) {
		l->t.ring_fd[i] = -1;
		l->peer_fd[i] = -1;
	}
	return l;
}

/* Lay out rings then data area over the mapping. */
static void local_layout(struct local_tport *l, unsigned nr_rings,
			 unsigned ring_order, unsigned data_pages)
{
	unsigned i;

	l->t.nr_rings = nr_rings;
	l->t.ring_bytes = (size_t)XSH_PAGE_SIZE << ring_order;
	for (i = 0; i < nr_rings; i++)
		l->t.ring_mem[i] = (uint8_t *)l->map + i * l->t.ring_bytes;
	l->t.data = (uint8_t *)l->map + nr_rings * l->t.ring_bytes;
	l->t.data_bytes = (size_t)data_pages * XSH_PAGE_SIZE;
}

static size_t local_map_len(unsigned nr_rings, unsigned ring_order,
			    unsigned data_pages)
{
	return ((size_t)nr_rings << ring_order) * XSH_PAGE_SIZE +
	       (size_t)data_pages * XSH_PAGE_SIZE;
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	return 0;
}

/* ---- frontend ---------------------------------------------------------- */

/* Connect the socket and send the hello with the shared memory and the
 * eventfds this frontend already owns; read the welcome. */
static int local_handshake(struct local_tport *l)
{
	const struct xsh_front_params *p = &l->params;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct xsh_local_hello hello = { 0 };
	struct xsh_local_welcome wel;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} cbuf;
	int fds[MAX_FDS];
	struct msghdr mh = { 0 };
	struct iovec iov;
	struct cmsghdr *cm;
	unsigned i, nfds;
	ssize_t n;
	int rc;

	strcpy(sa.sun_path, l->socket_path);
	close_fd(&l->t.conn_fd);
	l->t.conn_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l->t.conn_fd < 0)
		return -errno;
	if (connect(l->t.conn_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;

	hello.magic = XSH_LOCAL_MAGIC;
	hello.kind = XSH_LOCAL_KIND_DATA;
	hello.version = XSH_PROTO_VERSION;
	hello.nr_rings = p->nr_rings;
	hello.ring_order = p->ring_order;
	hello.data_pages = p->data_pages;
	hello.features = p->features;

	nfds = 0;
	fds[nfds++] = l->memfd;
	for (i = 0; i < p->nr_rings; i++) {
		fds[nfds++] = l->peer_fd[i];	/* backend reads: requests */
		fds[nfds++] = l->t.ring_fd[i];	/* backend writes: responses */
	}
	iov.iov_base = &hello;
	iov.iov_len = sizeof(hello);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	if (sendmsg(l->t.conn_fd, &mh, MSG_NOSIGNAL) < 0)
		return -errno;

	rc = wait_readable(l->t.conn_fd, HANDSHAKE_TIMEOUT_MS);
	if (rc)
		return rc;
	n = recv(l->t.conn_fd, &wel, sizeof(wel), 0);
	if (n < 0)
		return -errno;
	if (n != sizeof(wel) || wel.magic != XSH_LOCAL_MAGIC)
		return -EPROTO;
	if (wel.error)
		return wel.error > 0 && wel.error < 4096 ? -wel.error : -EPROTO;
	if (wel.version < 1 || wel.version > XSH_PROTO_VERSION ||
	    wel.max_io < XSH_PAGE_SIZE || wel.max_io > XSH_MAX_IO)
		return -EPROTO;
	l->t.version = wel.version;
	l->t.features = wel.features & p->features;
	l->t.max_io = wel.max_io;
	return 0;
}

static void local_reset_rings(struct local_tport *l)
{
	unsigned i;

	for (i = 0; i < l->t.nr_rings; i++) {
		struct xsh_ring r;
		uint64_t v;

		xsh_ring_front_init(&r, l->t.ring_mem[i], l->t.ring_bytes);
		/* Stale notifications from the old connection. */
		(void)!read(l->t.ring_fd[i], &v, sizeof(v));
		(void)!read(l->peer_fd[i], &v, sizeof(v));
	}
}

int xsh_local_connect(const char *socket_path, const struct xsh_front_params *p,
		     struct xsh_tport **out)
{
	struct local_tport *l;
	unsigned i;
	int rc;

	if (p->nr_rings < 1 || p->nr_rings > XSH_MAX_RINGS ||
	    p->ring_order > XSH_MAX_RING_ORDER || p->data_pages < 1 ||
	    p->data_pages > XSH_MAX_DATA_PAGES)
		return -EINVAL;
	if (strlen(socket_path) >= sizeof(l->socket_path))
		return -ENAMETOOLONG;

	l = local_alloc(&xsh_local_front_ops);
	if (!l)
		return -ENOMEM;
	strcpy(l->socket_path, socket_path);
	l->params = *p;
	l->map_len = local_map_len(p->nr_rings, p->ring_order, p->data_pages);
	l->memfd = memfd_create("xenshare-rings", MFD_CLOEXEC |
				MFD_ALLOW_SEALING);
	if (l->memfd < 0)
		goto fail_errno;
	if (ftruncate(l->memfd, (off_t)l->map_len) < 0 ||
	    fcntl(l->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_SEAL) < 0)
		goto fail_errno;
	l->map = mmap(NULL, l->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      l->memfd, 0);
	if (l->map == MAP_FAILED) {
		l->map = NULL;
		goto fail_errno;
	}
	local_layout(l, p->nr_rings, p->ring_order, p->data_pages);
	for (i = 0; i < p->nr_rings; i++) {
		l->peer_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		l->t.ring_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (l->peer_fd[i] < 0 || l->t.ring_fd[i] < 0)
			goto fail_errno;
	}
	local_reset_rings(l);
	rc = local_handshake(l);
	if (rc)
		goto fail;
	snprintf(l->t.name, sizeof(l->t.name), "local:%s", socket_path);
	*out = &l->t;
	return 0;

fail_errno:
	rc = -errno;
fail:
	local_close(&l->t);
	return rc;
}

static int local_connect_op(const struct xsh_tport_addr *a,
			    const struct xsh_front_params *p,
			    struct xsh_tport **out)
{
	return xsh_local_connect(a->socket_path, p, out);
}

static int local_reconnect(struct xsh_tport *t, int timeout_ms)
{
	struct local_tport *l = to_local(t);
	long deadline = xsh_now_ms() + timeout_ms;
	int rc;

	for (;;) {
		local_reset_rings(l);
		rc = local_handshake(l);
		if (rc == 0)
			return 0;
		close_fd(&l->t.conn_fd);
		/* Only "nobody listening yet" is worth waiting for. */
		if (rc != -ECONNREFUSED && rc != -ENOENT && rc != -EPIPE &&
		    rc != -ECONNRESET && rc != -ETIMEDOUT)
			return rc;
		if (xsh_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(100 * 1000);
	}
}

/* ---- backend ----------------------------------------------------------- */

int xsh_local_listen(const char *socket_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static bool is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

static void send_welcome(int fd, int error, const struct xsh_tport *t)
{
	struct xsh_local_welcome w = { .magic = XSH_LOCAL_MAGIC };

	w.error = error;
	if (t) {
		w.version = t->version;
		w.max_io = t->max_io;
		w.features = t->features;
	}
	(void)send(fd, &w, sizeof(w), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* A control hello: nothing but magic, kind and version, no descriptors.
 * The welcome is sent; the socket becomes the caller's. */
static int accept_control(int fd, const struct xsh_local_hello *hello,
			  unsigned nfds, int *ctl_fd)
{
	struct xsh_local_welcome w = { .magic = XSH_LOCAL_MAGIC, .version = 1 };

	if (nfds || hello->version < 1 || hello->nr_rings ||
	    hello->ring_order || hello->data_pages || hello->features)
		return -EINVAL;
	if (send(fd, &w, sizeof(w), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	*ctl_fd = fd;
	return 0;
}

static int local_accept(int fd, uint64_t features, uint32_t max_io,
			unsigned conn_no, uint32_t *kind,
			struct xsh_tport **out, int *ctl_fd)
{
	struct xsh_local_hello hello;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} cbuf;
	int fds[MAX_FDS];
	unsigned nfds = 0, i, want;
	struct local_tport *l = NULL;
	struct msghdr mh = { 0 };
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct cmsghdr *cm;
	struct stat st;
	ssize_t n;
	int rc, seals;

	rc = wait_readable(fd, HANDSHAKE_TIMEOUT_MS);
	if (rc)
		goto out_close;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0) {
		rc = -errno;
		goto out_close;
	}
	/* Collect every descriptor first, so that each is closed on error. */
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t len, k;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		len = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < len; k++) {
			int one;

			memcpy(&one, CMSG_DATA(cm) + k * sizeof(int),
			       sizeof(int));
			if (nfds < MAX_FDS)
				fds[nfds++] = one;
			else
				close(one);
		}
	}
	rc = -EPROTO;
	if (n != sizeof(hello) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    hello.magic != XSH_LOCAL_MAGIC)
		goto out_reply;
	if (hello.kind == XSH_LOCAL_KIND_CONTROL && kind) {
		rc = accept_control(fd, &hello, nfds, ctl_fd);
		if (rc)
			goto out_reply;
		*kind = XSH_LOCAL_KIND_CONTROL;
		return 0;
	}
	if (hello.kind != XSH_LOCAL_KIND_DATA)
		goto out_reply;
	rc = -EINVAL;
	if (hello.version < 1 || hello.nr_rings < 1 ||
	    hello.nr_rings > XSH_MAX_RINGS ||
	    hello.ring_order > XSH_MAX_RING_ORDER || hello.data_pages < 1 ||
	    hello.data_pages > XSH_MAX_DATA_PAGES)
		goto out_reply;
	want = 1 + 2 * hello.nr_rings;
	if (nfds != want)
		goto out_reply;
	for (i = 1; i < nfds; i++)
		if (!is_eventfd(fds[i]))
			goto out_reply;
	seals = fcntl(fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) ||
	    fstat(fds[0], &st) < 0 || !S_ISREG(st.st_mode))
		goto out_reply;

	rc = -ENOMEM;
	l = local_alloc(&xsh_local_back_ops);
	if (!l)
		goto out_reply;
	l->map_len = local_map_len(hello.nr_rings, hello.ring_order,
				   hello.data_pages);
	rc = -EINVAL;
	if ((uint64_t)st.st_size < l->map_len)
		goto out_reply;
	l->map = mmap(NULL, l->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      fds[0], 0);
	if (l->map == MAP_FAILED) {
		l->map = NULL;
		rc = -errno;
		goto out_reply;
	}
	l->memfd = fds[0];
	for (i = 0; i < hello.nr_rings; i++) {
		l->t.ring_fd[i] = fds[1 + 2 * i];
		l->peer_fd[i] = fds[2 + 2 * i];
		/* Both sides' flags: reads and writes must never block us. */
		fcntl(l->t.ring_fd[i], F_SETFL, O_NONBLOCK);
		fcntl(l->peer_fd[i], F_SETFL, O_NONBLOCK);
	}
	nfds = 0;	/* owned by l now */
	local_layout(l, hello.nr_rings, hello.ring_order, hello.data_pages);
	l->t.conn_fd = fd;
	l->t.version = hello.version < XSH_PROTO_VERSION ? hello.version :
			XSH_PROTO_VERSION;
	l->t.features = hello.features & features;
	l->t.max_io = max_io < XSH_MAX_IO ? max_io : XSH_MAX_IO;
	snprintf(l->t.name, sizeof(l->t.name), "local.%u", conn_no);
	send_welcome(fd, 0, &l->t);
	if (kind)
		*kind = XSH_LOCAL_KIND_DATA;
	*out = &l->t;
	return 0;

out_reply:
	send_welcome(fd, -rc, NULL);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (l) {
		l->t.conn_fd = -1;
		local_close(&l->t);
	}
out_close:
	close(fd);
	return rc;
}

int xsh_local_accept(int fd, uint64_t features, uint32_t max_io,
		    unsigned conn_no, struct xsh_tport **out)
{
	return local_accept(fd, features, max_io, conn_no, NULL, out, NULL);
}

static int local_attach_op(const void *args, struct xsh_tport **out)
{
	const struct xsh_local_attach_args *a = args;

	return local_accept(a->fd, a->features, a->max_io, a->conn_no, NULL,
			    out, NULL);
}

int xsh_local_accept_any(int fd, uint64_t features, uint32_t max_io,
			unsigned conn_no, uint32_t *kind,
			struct xsh_tport **out, int *ctl_fd)
{
	return local_accept(fd, features, max_io, conn_no, kind, out, ctl_fd);
}

/* ---- control client ------------------------------------------------------ */

int xsh_local_control_connect(const char *socket_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct xsh_local_hello hello = {
		.magic = XSH_LOCAL_MAGIC,
		.kind = XSH_LOCAL_KIND_CONTROL,
		.version = 1,
	};
	struct xsh_local_welcome wel;
	ssize_t n;
	int fd, rc;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, &hello, sizeof(hello), MSG_NOSIGNAL) < 0)
		goto fail_errno;
	rc = wait_readable(fd, HANDSHAKE_TIMEOUT_MS);
	if (rc)
		goto fail;
	n = recv(fd, &wel, sizeof(wel), 0);
	if (n < 0)
		goto fail_errno;
	rc = -EPROTO;
	if (n != sizeof(wel) || wel.magic != XSH_LOCAL_MAGIC)
		goto fail;
	if (wel.error) {
		rc = wel.error > 0 && wel.error < 4096 ? -wel.error : -EPROTO;
		goto fail;
	}
	return fd;

fail_errno:
	rc = -errno;
fail:
	close(fd);
	return rc;
}
