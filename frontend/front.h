/* SPDX-License-Identifier: MIT */
/*
 * Private to the frontend: what main.c and fuse_ops.c share.
 */
#ifndef XSH_FRONT_H
#define XSH_FRONT_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"

#define XSH_FRONT_VERSION	"1.0"
#define XSH_FRONT_TIMEOUT	1.0	/* entry and attr timeout, seconds */
#define XSH_FRONT_READAHEAD	(1u << 20)
#define XSH_FRONT_COPY_MAX	(1ull << 30)	/* one copy_file_range */

struct xsh_front {
	struct xsh_client *client;
	struct fuse_session *se;
	const char *socket_path;
	double timeout;
	uint64_t features;	/* negotiated XSH_FEAT_* */
	uint32_t max_io;	/* negotiated */
	pthread_t main_thread;	/* runs the session loop */
	int loop_done;		/* atomic: the session loop returned */
	int lost;		/* atomic: the backend went away */
	unsigned xattr_ns_off;	/* atomic: namespaces the backend refused */
};

/* The fuse_lowlevel_ops table; userdata is a struct xsh_front. */
extern const struct fuse_lowlevel_ops xsh_front_ops;

#endif /* XSH_FRONT_H */
