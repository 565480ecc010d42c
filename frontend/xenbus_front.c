// SPDX-License-Identifier: MIT
/*
 * The frontend's xen mode (see xenbus_front.h).
 *
 * Budget: a domU's gntalloc driver grants at most "limit" pages in all
 * (/sys/module/xen_gntalloc/parameters/limit, 1024 by default), shared by
 * every program in the domain.  A device needs its rings, its data area
 * (one small buffer page per ring slot plus 256 pages per 1 MiB buffer)
 * and the pages of the ref directory.  Defaults are cut down to fit;
 * sizes given on the command line are not, and a clear message names the
 * limit and the number needed.
 *
 * Trust: the backend's nodes are parsed and bounded by
 * transport/xen_front.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/ring.h"
#include "client.h"
#include "xenbus_front.h"

#ifdef XSH_HAVE_XEN
#include "transport/xen.h"
#endif

int xsh_front_daemon_start(int *ready_fd)
{
	int pfd[2], st;
	char c;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		st = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return st;
	}
	if (pid == 0) {
		close(pfd[0]);
		*ready_fd = pfd[1];
		return 0;
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit((unsigned char)c);
	/* The child died before it reported. */
	if (waitpid(pid, &st, WNOHANG) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st))
		_exit(WEXITSTATUS(st));
	_exit(1);
}

void xsh_front_daemon_ready(int ready_fd, int status)
{
	char c = (char)status;
	int fd;

	if (ready_fd < 0)
		return;
	if (status == 0) {
		if (setsid() < 0 || chdir("/") < 0)
			perror("xenshare-front: detaching");
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
	}
	if (write(ready_fd, &c, 1) < 0) {
		/* The parent is gone: nobody to tell. */
	}
	close(ready_fd);
}

#ifndef XSH_HAVE_XEN

int xsh_front_xen_setup(struct xsh_front_xen *x, const char *tag,
		       struct xsh_front_xen_sizes *s)
{
	fprintf(stderr, "xenshare-front: built without Xen libraries: only --local works\n");
	return -ENOSYS;
}

int xsh_front_xen_connect(void *arg, const struct xsh_front_params *fp,
			 struct xsh_tport **out)
{
	return -ENOSYS;
}

#else

static unsigned pages_for(unsigned rings, unsigned order, unsigned large)
{
	struct xsh_front_params p = {
		.nr_rings = rings,
		.ring_order = order,
		.data_pages = xsh_client_data_pages(rings, order, large),
	};

	return xsh_xen_pages_needed(&p);
}

int xsh_front_xen_setup(struct xsh_front_xen *x, const char *tag,
		       struct xsh_front_xen_sizes *s)
{
	struct xsh_xen_limits l;
	unsigned data, need;
	long limit;
	int rc;

	memset(x, 0, sizeof(*x));
	if (strlen(tag) >= sizeof(x->tag)) {
		fprintf(stderr, "xenshare-front: tag too long: %s\n", tag);
		return -EINVAL;
	}
	strcpy(x->tag, tag);
	x->timeout_ms = XSH_FRONT_XEN_TIMEOUT_MS;
	rc = xsh_xen_find_tag(tag, &x->devid);
	if (rc) {
		fprintf(stderr, "xenshare-front: %s\n", xsh_xen_why());
		return rc;
	}
	snprintf(x->name, sizeof(x->name), "xen device %u (tag %s)", x->devid,
		 tag);
	rc = xsh_xen_read_limits(x->devid, x->timeout_ms, &l);
	if (rc) {
		fprintf(stderr, "xenshare-front: %s: %s\n", x->name,
			xsh_xen_why());
		return rc;
	}

	if (!s->rings_given && s->nr_rings > XSH_FRONT_XEN_MAX_RINGS)
		s->nr_rings = XSH_FRONT_XEN_MAX_RINGS;
	if (!s->large_given)
		s->nr_large = XSH_FRONT_XEN_LARGE;
	if (s->nr_rings > l.max_rings || s->ring_order > l.max_ring_order) {
		if (s->rings_given || s->order_given) {
			fprintf(stderr, "xenshare-front: %s: the backend allows at most %u rings of order %u\n",
				x->name, l.max_rings, l.max_ring_order);
			return -E2BIG;
		}
		if (s->nr_rings > l.max_rings)
			s->nr_rings = l.max_rings;
		if (s->ring_order > l.max_ring_order)
			s->ring_order = l.max_ring_order;
	}

	/* The limit is the domain's, shared with every other user: what
	 * is free now is found by trying. */
	limit = xsh_xen_gntalloc_limit();
	for (;;) {
		data = xsh_client_data_pages(s->nr_rings, s->ring_order,
					    s->nr_large);
		need = pages_for(s->nr_rings, s->ring_order, s->nr_large);
		if ((limit <= 0 || need <= (unsigned long)limit) &&
		    data <= l.max_data_pages &&
		    (s->large_given || s->nr_large <= 1 ||
		     xsh_xen_gntalloc_probe(l.backend_id, need) != -ENOSPC))
			break;
		if (s->large_given || s->nr_large <= 1) {
			if (data > l.max_data_pages)
				fprintf(stderr, "xenshare-front: %s: %u data pages needed (%u rings of %u pages, %u 1 MiB buffers) but the backend allows %u\n",
					x->name, data, s->nr_rings,
					1u << s->ring_order, s->nr_large,
					l.max_data_pages);
			else if (limit > 0 && need > (unsigned long)limit)
				fprintf(stderr, "xenshare-front: %s: %u granted pages needed (%u rings of %u pages, %u 1 MiB buffers) but the domain's grant limit is %ld: raise %s (e.g. echo %u > %s) or ask for fewer buffers (--io-buffers)\n",
					x->name, need, s->nr_rings,
					1u << s->ring_order, s->nr_large, limit,
					XSH_XEN_GNTALLOC_LIMIT, need * 2,
					XSH_XEN_GNTALLOC_LIMIT);
			else
				break;	/* the connect says what it lacks */
			return -ENOSPC;
		}
		s->nr_large--;
	}
	return 0;
}

int xsh_front_xen_connect(void *arg, const struct xsh_front_params *fp,
			 struct xsh_tport **out)
{
	struct xsh_front_xen *x = arg;
	struct xsh_tport_addr a = {
		.devid = x->devid,
		.timeout_ms = x->timeout_ms,
	};
	int rc;

	rc = xsh_tport_connect(&xsh_xen_front_ops, &a, fp, out);
	if (rc)
		fprintf(stderr, "xenshare-front: %s: %s\n", x->name,
			xsh_xen_why());
	return rc;
}

#endif /* XSH_HAVE_XEN */
