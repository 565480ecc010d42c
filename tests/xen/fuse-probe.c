/*
 * fuse-probe.c - the smallest libfuse3 file system: one read-only file,
 * /hello, holding "xen-rig\n".
 *
 * run.sh builds it on the host and injects it into the domUs with its
 * shared libraries, the way it injects xenshare-front; guest.sh mounts it.
 * It proves, before the frontend exists, that libfuse3, /dev/fuse and the
 * library injection work inside a domU.  It trusts nothing but the kernel.
 */
#define FUSE_USE_VERSION 314
#include <fuse.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static const char probe_text[] = "xen-rig\n";

static int probe_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/hello") == 0) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = sizeof(probe_text) - 1;
		return 0;
	}
	return -ENOENT;
}

static int probe_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
			 off_t off, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "hello", NULL, 0, 0);
	return 0;
}

static int probe_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/hello") != 0)
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	return 0;
}

static int probe_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	size_t len = sizeof(probe_text) - 1;

	(void)fi;
	if (strcmp(path, "/hello") != 0)
		return -ENOENT;
	if (off < 0 || (size_t)off >= len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(buf, probe_text + off, size);
	return (int)size;
}

static const struct fuse_operations probe_ops = {
	.getattr = probe_getattr,
	.readdir = probe_readdir,
	.open = probe_open,
	.read = probe_read,
};

int main(int argc, char *argv[])
{
	return fuse_main(argc, argv, &probe_ops, NULL);
}
