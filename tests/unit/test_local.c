// SPDX-License-Identifier: MIT
/*
 * The local transport's handshake: a good frontend connects and a ring
 * round trip works; malformed hellos (wrong magic, unsealed memfd, a memfd
 * too small, a pipe instead of an eventfd, missing descriptors) are
 * refused without harming the listener.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol/ring.h"
#include "transport/local.h"
#include "tap.h"

static char sock_path[108];
static int listen_fd;

struct acc {
	int rc;
	struct xsh_tport *t;
};

static void *acceptor(void *arg)
{
	struct acc *a = arg;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	a->t = NULL;
	a->rc = fd < 0 ? -errno : xsh_local_accept(fd, XSH_FEAT_ALL, XSH_MAX_IO,
						   1, &a->t);
	return NULL;
}

static void test_good(void)
{
	struct xsh_front_params p = { .nr_rings = 2, .ring_order = 1,
				     .data_pages = 16,
				     .features = XSH_FEAT_READDIRPLUS };
	struct xsh_tport *f = NULL;
	struct xsh_ring fr, br;
	struct xsh_req req = { .id = 42, .opcode = XSH_OP_GETATTR }, got;
	struct xsh_rsp rsp = { .id = 42 }, back;
	struct acc a;
	pthread_t th;
	uint64_t v;
	int rc;

	pthread_create(&th, NULL, acceptor, &a);
	rc = xsh_local_connect(sock_path, &p, &f);
	pthread_join(th, NULL);
	EXPECT(rc == 0 && a.rc == 0, "good hello accepted");
	if (rc || a.rc) {
		xsh_tport_close(f);
		xsh_tport_close(a.t);
		return;
	}
	EXPECT(f->features == XSH_FEAT_READDIRPLUS &&
	       a.t->features == XSH_FEAT_READDIRPLUS, "features intersected");
	EXPECT(f->max_io == XSH_MAX_IO && f->version == XSH_PROTO_VERSION,
	       "max_io and version negotiated");
	EXPECT(a.t->data_bytes == 16 * XSH_PAGE_SIZE && a.t->nr_rings == 2,
	       "layout agreed");

	xsh_ring_front_init(&fr, f->ring_mem[1], f->ring_bytes);
	xsh_ring_back_attach(&br, a.t->ring_mem[1], a.t->ring_bytes);
	xsh_ring_front_put_req(&fr, &req);
	if (xsh_ring_front_push(&fr))
		xsh_tport_notify(f, 1);
	EXPECT(read(a.t->ring_fd[1], &v, sizeof(v)) == sizeof(v),
	       "request notification crosses");
	EXPECT(xsh_ring_back_get_req(&br, &got) == 1 && got.id == 42,
	       "request crosses shared memory");
	xsh_ring_back_put_rsp(&br, &rsp);
	if (xsh_ring_back_push(&br))
		xsh_tport_notify(a.t, 1);
	EXPECT(read(f->ring_fd[1], &v, sizeof(v)) == sizeof(v),
	       "response notification crosses");
	EXPECT(xsh_ring_front_get_rsp(&fr, &back) == 1 && back.id == 42,
	       "response crosses shared memory");
	memcpy(a.t->data, "hello", 5);
	EXPECT(memcmp(f->data, "hello", 5) == 0, "data area shared");
	xsh_tport_close(f);
	xsh_tport_close(a.t);
}

static void *attacher(void *arg)
{
	struct acc *a = arg;
	struct xsh_local_attach_args args = {
		.fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC),
		.features = XSH_FEAT_ALL,
		.max_io = XSH_MAX_IO,
		.conn_no = 2,
	};

	a->t = NULL;
	a->rc = args.fd < 0 ? -errno :
		xsh_tport_attach(&xsh_local_back_ops, &args, &a->t);
	return NULL;
}

/* Connect and attach through the ops tables, as callers that do not name
 * the transport do. */
static void test_ops(void)
{
	struct xsh_front_params p = { .nr_rings = 1, .ring_order = 0,
				     .data_pages = 4 };
	struct xsh_tport_addr addr = { .socket_path = sock_path };
	struct xsh_tport *f = NULL, *t = NULL;
	struct acc a;
	pthread_t th;
	int rc;

	pthread_create(&th, NULL, attacher, &a);
	rc = xsh_tport_connect(&xsh_local_front_ops, &addr, &p, &f);
	pthread_join(th, NULL);
	EXPECT(rc == 0 && a.rc == 0 && f->ops == &xsh_local_front_ops &&
	      a.t->ops == &xsh_local_back_ops,
	      "ops: connect and attach through the tables");
	xsh_tport_close(f);
	xsh_tport_close(a.t);
	EXPECT(xsh_tport_attach(&xsh_local_front_ops, NULL, &t) == -ENOSYS &&
	      xsh_tport_connect(&xsh_local_back_ops, &addr, &p, &t) == -ENOSYS &&
	      !t, "ops: each side's table has only its own entry");
}

/* Send a hand-made hello with the given descriptors; return the
 * acceptor's verdict. */
static int raw_hello(const struct xsh_local_hello *h, const int *fds,
		     unsigned nfds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 32)];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)h, .iov_len = sizeof(*h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct xsh_local_welcome w = { 0 };
	struct cmsghdr *cm;
	struct acc a;
	pthread_t th;
	int s;

	strcpy(sa.sun_path, sock_path);
	pthread_create(&th, NULL, acceptor, &a);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		perror("connect");
	if (nfds) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	sendmsg(s, &mh, 0);
	pthread_join(th, NULL);
	if (a.rc)
		(void)!recv(s, &w, sizeof(w), MSG_DONTWAIT);
	close(s);
	xsh_tport_close(a.t);
	return a.rc;
}

static void test_bad(void)
{
	struct xsh_local_hello h = { .magic = XSH_LOCAL_MAGIC,
				    .kind = XSH_LOCAL_KIND_DATA, .version = 1,
				    .nr_rings = 1, .ring_order = 0,
				    .data_pages = 4 };
	struct xsh_local_hello b;
	int fds[3], sealed, unsealed, small, pfd[2];

	sealed = memfd_create("t", MFD_ALLOW_SEALING);
	(void)!ftruncate(sealed, 5 * 4096);
	fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK);
	unsealed = memfd_create("t", 0);
	(void)!ftruncate(unsealed, 5 * 4096);
	small = memfd_create("t", MFD_ALLOW_SEALING);
	(void)!ftruncate(small, 4096);
	fcntl(small, F_ADD_SEALS, F_SEAL_SHRINK);
	(void)!pipe(pfd);
	fds[1] = eventfd(0, 0);
	fds[2] = eventfd(0, 0);

	fds[0] = sealed;
	EXPECT(raw_hello(&h, fds, 3) == 0, "hand-made good hello accepted");
	b = h;
	b.magic ^= 1;
	EXPECT(raw_hello(&b, fds, 3) == -EPROTO, "bad magic refused");
	b = h;
	b.nr_rings = XSH_MAX_RINGS + 1;
	EXPECT(raw_hello(&b, fds, 3) == -EINVAL, "too many rings refused");
	b = h;
	b.ring_order = 30;
	EXPECT(raw_hello(&b, fds, 3) == -EINVAL, "huge ring order refused");
	EXPECT(raw_hello(&h, fds, 2) == -EINVAL, "missing descriptor refused");
	EXPECT(raw_hello(&h, NULL, 0) == -EINVAL, "no descriptors refused");
	fds[0] = unsealed;
	EXPECT(raw_hello(&h, fds, 3) == -EINVAL, "unsealed memfd refused");
	fds[0] = small;
	EXPECT(raw_hello(&h, fds, 3) == -EINVAL, "short memfd refused");
	fds[0] = sealed;
	fds[1] = pfd[1];
	EXPECT(raw_hello(&h, fds, 3) == -EINVAL, "pipe as eventfd refused");
	fds[1] = fds[2];
	b = h;
	b.data_pages = 0;
	EXPECT(raw_hello(&b, fds, 3) == -EINVAL, "empty data area refused");
	EXPECT(raw_hello(&h, fds, 3) == 0, "listener still serves after abuse");
}

static void test_reconnect(void)
{
	struct xsh_front_params p = { .nr_rings = 1, .ring_order = 0,
				     .data_pages = 4 };
	struct xsh_tport *f = NULL;
	struct acc a;
	pthread_t th;
	int rc;

	pthread_create(&th, NULL, acceptor, &a);
	rc = xsh_local_connect(sock_path, &p, &f);
	pthread_join(th, NULL);
	if (rc || a.rc) {
		EXPECT(0, "reconnect: first connection");
		xsh_tport_close(f);
		xsh_tport_close(a.t);
		return;
	}
	memcpy(f->data, "in flight", 9);
	xsh_tport_close(a.t);	/* the backend goes away */
	pthread_create(&th, NULL, acceptor, &a);
	rc = xsh_tport_reconnect(f, 2000);
	pthread_join(th, NULL);
	EXPECT(rc == 0 && a.rc == 0, "reconnect handshakes again");
	EXPECT(a.rc == 0 && memcmp(a.t->data, "in flight", 9) == 0,
	       "reconnect keeps the data area");
	xsh_tport_close(a.t);
	close(listen_fd);
	unlink(sock_path);
	rc = xsh_tport_reconnect(f, 300);
	EXPECT(rc == -ETIMEDOUT, "reconnect times out with no backend");
	listen_fd = xsh_local_listen(sock_path);
	xsh_tport_close(f);
}

int main(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/xs-test-local.%d",
		 (int)getpid());
	unlink(sock_path);
	listen_fd = xsh_local_listen(sock_path);
	if (listen_fd < 0) {
		result(false, "listen", "%s", strerror(-listen_fd));
		return tap_summary();
	}
	test_good();
	test_ops();
	test_bad();
	test_reconnect();
	close(listen_fd);
	unlink(sock_path);
	return tap_summary();
}
