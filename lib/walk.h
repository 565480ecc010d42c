/* SPDX-License-Identifier: MIT */
/*
 * Walking a relative path below a directory one component at a time,
 * never following a symlink: for paths the process made itself (a scan's
 * record, the kernel's name of one of its own descriptors), never for a
 * guest's string, which is always a single name.
 */
#ifndef XSH_WALK_H
#define XSH_WALK_H

#include <limits.h>

/* The directory holding rel's last component, as an O_PATH descriptor,
 * opened from dirfd through each directory of rel with O_NOFOLLOW, and
 * that last component in last.  -ENAMETOOLONG, -EINVAL for an empty
 * component, or the -errno of the open that failed. */
int xsh_walk_parent(int dirfd, const char *rel, char last[NAME_MAX + 1]);

#endif /* XSH_WALK_H */
