// SPDX-License-Identifier: MIT
/*
 * Component-by-component walks below a directory (walk.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "walk.h"

int xsh_walk_parent(int dirfd, const char *rel, char last[NAME_MAX + 1])
{
	const char *s;
	int dfd, nfd;

	dfd = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	while ((s = strchr(rel, '/'))) {
		size_t l = (size_t)(s - rel);

		if (!l || l > NAME_MAX) {
			close(dfd);
			return l ? -ENAMETOOLONG : -EINVAL;
		}
		memcpy(last, rel, l);
		last[l] = 0;
		nfd = openat(dfd, last, O_PATH | O_DIRECTORY | O_NOFOLLOW |
						O_CLOEXEC);
		close(dfd);
		if (nfd < 0)
			return -errno;
		dfd = nfd;
		rel = s + 1;
	}
	if (!*rel || strlen(rel) > NAME_MAX) {
		close(dfd);
		return *rel ? -ENAMETOOLONG : -EINVAL;
	}
	strcpy(last, rel);
	return dfd;
}
