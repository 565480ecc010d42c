/* SPDX-License-Identifier: MIT */
/*
 * Dedup links (docs/dedup.md): on file systems without reflinks,
 * xenshare-dedup (tools/dedup.c) makes identical files of several exports
 * hard links to one inode of a content store outside every export, and
 * marks that inode with the XSH_DEDUP_XATTR extended attribute.  Before
 * any change a guest makes to such a file, the file service gives the
 * guest's name a private copy (xsh_dedup_break()), so that no guest ever
 * changes what another one sees.
 *
 * The mark is in the security namespace: anyone may read it, but setting
 * it takes CAP_SYS_ADMIN, which neither a guest (the file service passes
 * only user.* attributes) nor the sandboxed worker has; trusted.* would
 * not do, as the worker could not even read it.  A hard link a guest made
 * itself carries no mark and stays a hard link.
 */
#ifndef XSH_DEDUP_H
#define XSH_DEDUP_H

#include <errno.h>
#include <sys/xattr.h>

#define XSH_DEDUP_XATTR	"security.xenshare.dedup"

/* 1 if the file open at fd (not O_PATH) carries the mark, 0 if not,
 * -errno when it cannot tell. */
static inline int xsh_dedup_mark_fd(int fd)
{
	if (fgetxattr(fd, XSH_DEDUP_XATTR, NULL, 0) >= 0)
		return 1;
	return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
}

#endif /* XSH_DEDUP_H */
