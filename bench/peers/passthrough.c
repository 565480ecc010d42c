// SPDX-License-Identifier: MIT
/*
 * passthrough: the FUSE peer of the benchmark harness.
 *
 * A minimal low-level libfuse3 file system that mirrors SRC_DIR at
 * MOUNTPOINT, with the settings the xenshare frontend uses (entry and
 * attribute timeout 1 s, no writeback cache, no splice, max_write and
 * max_readahead 1 MiB, default_permissions) and a multi-threaded session
 * loop.  It measures what plain FUSE costs on this machine, so that the
 * harness can tell the price of FUSE itself from the price of the xenshare
 * rings and backend.
 *
 * Trust: the kernel is the only caller and node ids are pointers to our
 * own inode records, as in libfuse's passthrough_ll; this is a benchmark
 * peer, not a security boundary, and must never export anything to a guest.
 *
 *   passthrough SRC_DIR MOUNTPOINT [-f] [-d] [-o FUSE_OPTIONS]
 */
#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define PT_TIMEOUT	1.0
#define PT_MAX_WRITE	(1u << 20)
#define PT_READAHEAD	(1u << 20)
#define PT_MAX_THREADS	10
#define PT_ALIGN	4096

struct pt_inode {
	struct pt_inode *hnext;	/* pt.lock */
	uint64_t nlookup;	/* pt.lock */
	int fd;			/* O_PATH, owned */
	dev_t dev;
	ino_t ino;
};

struct pt_file {
	int fd;
	bool direct;
};

struct pt_dir {
	DIR *dp;
	struct dirent *entry;	/* read but not yet returned */
	off_t offset;
};

static struct {
	pthread_mutex_t lock;
	struct pt_inode root;
	struct pt_inode **buckets;	/* lock */
	size_t nbuckets;		/* lock */
	size_t count;			/* lock */
	pthread_key_t bufkey;
} pt = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

struct pt_buf {
	size_t size;
	char *data;
};

static struct pt_inode *pt_inode(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &pt.root;
	return (struct pt_inode *)(uintptr_t)ino;
}

static struct pt_file *pt_file(struct fuse_file_info *fi)
{
	return (struct pt_file *)(uintptr_t)fi->fh;
}

static void proc_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

static size_t hash_key(dev_t dev, ino_t ino, size_t nbuckets)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h >> 17) & (nbuckets - 1);
}

/* Called with pt.lock held. Failure to grow only makes chains longer. */
static void hash_grow(void)
{
	size_t n = pt.nbuckets * 2;
	struct pt_inode **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (size_t i = 0; i < pt.nbuckets; i++) {
		struct pt_inode *p = pt.buckets[i];

		while (p) {
			struct pt_inode *next = p->hnext;
			size_t h = hash_key(p->dev, p->ino, n);

			p->hnext = nb[h];
			nb[h] = p;
			p = next;
		}
	}
	free(pt.buckets);
	pt.buckets = nb;
	pt.nbuckets = n;
}

/* Thread-local, page-aligned scratch buffer for reads and O_DIRECT writes. */
static char *scratch(size_t size)
{
	struct pt_buf *b = pthread_getspecific(pt.bufkey);

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || pthread_setspecific(pt.bufkey, b)) {
			free(b);
			return NULL;
		}
	}
	if (b->size < size) {
		void *p;

		if (posix_memalign(&p, PT_ALIGN, size))
			return NULL;
		free(b->data);
		b->data = p;
		b->size = size;
	}
	return b->data;
}

static void scratch_free(void *arg)
{
	struct pt_buf *b = arg;

	free(b->data);
	free(b);
}

static void unref_inode(struct pt_inode *in, uint64_t n)
{
	struct pt_inode **pp;

	if (in == &pt.root)
		return;
	pthread_mutex_lock(&pt.lock);
	in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
	if (in->nlookup) {
		pthread_mutex_unlock(&pt.lock);
		return;
	}
	pp = &pt.buckets[hash_key(in->dev, in->ino, pt.nbuckets)];
	while (*pp && *pp != in)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = in->hnext;
	pt.count--;
	pthread_mutex_unlock(&pt.lock);
	close(in->fd);
	free(in);
}

static int do_lookup(fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	struct pt_inode *in, *fresh;
	size_t h;
	int fd, err;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = PT_TIMEOUT;
	e->entry_timeout = PT_TIMEOUT;

	fd = openat(pt_inode(parent)->fd, name, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return errno;
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		err = errno;
		close(fd);
		return err;
	}
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		close(fd);
		return ENOMEM;
	}

	pthread_mutex_lock(&pt.lock);
	h = hash_key(e->attr.st_dev, e->attr.st_ino, pt.nbuckets);
	for (in = pt.buckets[h]; in; in = in->hnext)
		if (in->ino == e->attr.st_ino && in->dev == e->attr.st_dev)
			break;
	if (in) {
		in->nlookup++;
	} else {
		in = fresh;
		fresh = NULL;
		in->fd = fd;
		in->dev = e->attr.st_dev;
		in->ino = e->attr.st_ino;
		in->nlookup = 1;
		in->hnext = pt.buckets[h];
		pt.buckets[h] = in;
		if (++pt.count > pt.nbuckets)
			hash_grow();
	}
	pthread_mutex_unlock(&pt.lock);

	if (fresh) {
		free(fresh);
		close(fd);
	}
	e->ino = (uintptr_t)in;
	return 0;
}

static void pt_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = PT_MAX_WRITE;
	conn->max_readahead = PT_READAHEAD;
	conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE |
				  FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
				  FUSE_CAP_SPLICE_MOVE);
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int err = do_lookup(parent, name, &e);

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void pt_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	unref_inode(pt_inode(ino), nlookup);
	fuse_reply_none(req);
}

static void pt_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		unref_inode(pt_inode(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void pt_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;

	if (fstatat(pt_inode(ino)->fd, "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, PT_TIMEOUT);
}

static int set_times(int ifd, struct fuse_file_info *fi,
		     const struct stat *attr, int valid)
{
	struct timespec tv[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
	};
	char path[64];

	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;

	if (fi)
		return futimens(pt_file(fi)->fd, tv) ? errno : 0;
	proc_path(path, sizeof(path), ifd);
	return utimensat(AT_FDCWD, path, tv, 0) ? errno : 0;
}

static void pt_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	int ifd = pt_inode(ino)->fd;
	char path[64];
	int err = 0;

	proc_path(path, sizeof(path), ifd);
	if (valid & FUSE_SET_ATTR_MODE) {
		if (fi ? fchmod(pt_file(fi)->fd, attr->st_mode) :
			 chmod(path, attr->st_mode))
			err = errno;
	}
	if (!err && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid :
							  (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid :
							  (gid_t)-1;

		if (fchownat(ifd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			err = errno;
	}
	if (!err && (valid & FUSE_SET_ATTR_SIZE)) {
		if (fi ? ftruncate(pt_file(fi)->fd, attr->st_size) :
			 truncate(path, attr->st_size))
			err = errno;
	}
	if (!err && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
		err = set_times(ifd, fi, attr, valid);
	if (err)
		fuse_reply_err(req, err);
	else
		pt_getattr(req, ino, fi);
}

static void reply_new_entry(fuse_req_t req, fuse_ino_t parent,
			    const char *name, int res)
{
	struct fuse_entry_param e;
	int err;

	if (res) {
		fuse_reply_err(req, errno);
		return;
	}
	err = do_lookup(parent, name, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void pt_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	reply_new_entry(req, parent, name,
			mknodat(pt_inode(parent)->fd, name, mode, rdev));
}

static void pt_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	reply_new_entry(req, parent, name,
			mkdirat(pt_inode(parent)->fd, name, mode));
}

static void pt_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	reply_new_entry(req, parent, name,
			symlinkat(link, pt_inode(parent)->fd, name));
}

static void pt_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	char path[64];

	proc_path(path, sizeof(path), pt_inode(ino)->fd);
	reply_new_entry(req, newparent, newname,
			linkat(AT_FDCWD, path, pt_inode(newparent)->fd,
			       newname, AT_SYMLINK_FOLLOW));
}

static void pt_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(pt_inode(ino)->fd, "", buf, sizeof(buf));

	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((size_t)n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void pt_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int res = unlinkat(pt_inode(parent)->fd, name, 0);

	fuse_reply_err(req, res ? errno : 0);
}

static void pt_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int res = unlinkat(pt_inode(parent)->fd, name, AT_REMOVEDIR);

	fuse_reply_err(req, res ? errno : 0);
}

static void pt_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	int res = renameat2(pt_inode(parent)->fd, name,
			    pt_inode(newparent)->fd, newname, flags);

	fuse_reply_err(req, res ? errno : 0);
}

static void reply_open(fuse_req_t req, struct fuse_file_info *fi, int fd,
		       const struct fuse_entry_param *e)
{
	struct pt_file *f = malloc(sizeof(*f));

	if (!f) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	f->fd = fd;
	f->direct = fi->flags & O_DIRECT;
	fi->fh = (uintptr_t)f;
	if (e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi)) {
		/* An interrupted open gets no release and no forget. */
		close(fd);
		free(f);
		if (e)
			unref_inode(pt_inode(e->ino), 1);
	}
}

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[64];
	int fd;

	proc_path(path, sizeof(path), pt_inode(ino)->fd);
	fd = open(path, fi->flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL));
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	reply_open(req, fi, fd, NULL);
}

static void pt_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int fd, err;

	fd = openat(pt_inode(parent)->fd, name,
		    (fi->flags | O_CREAT) & ~O_NOFOLLOW, mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	err = do_lookup(parent, name, &e);
	if (err) {
		close(fd);
		fuse_reply_err(req, err);
		return;
	}
	reply_open(req, fi, fd, &e);
}

static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = scratch(size ? size : 1);
	ssize_t n;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = pread(pt_file(fi)->fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void pt_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct pt_file *f = pt_file(fi);
	ssize_t n;

	/* O_DIRECT wants an aligned buffer; ours follows a request header. */
	if (f->direct && ((uintptr_t)buf & (PT_ALIGN - 1))) {
		char *b = scratch(size ? size : 1);

		if (!b) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		memcpy(b, buf, size);
		buf = b;
	}
	n = pwrite(f->fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

static void pt_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int fd = dup(pt_file(fi)->fd);

	if (fd < 0 || close(fd))
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

static void pt_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct pt_file *f = pt_file(fi);

	close(f->fd);
	free(f);
	fuse_reply_err(req, 0);
}

static void pt_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	int fd = pt_file(fi)->fd;
	int res = datasync ? fdatasync(fd) : fsync(fd);

	fuse_reply_err(req, res ? errno : 0);
}

static void pt_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t off, off_t len, struct fuse_file_info *fi)
{
	int res = fallocate(pt_file(fi)->fd, mode, off, len);

	fuse_reply_err(req, res ? errno : 0);
}

static void pt_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(pt_inode(ino)->fd, &sv))
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void pt_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct pt_dir *d = calloc(1, sizeof(*d));
	int fd, err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = openat(pt_inode(ino)->fd, ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		goto fail;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		closedir(d->dp);
		free(d);
	}
	return;
fail:
	free(d);
	fuse_reply_err(req, err);
}

static bool is_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, bool plus)
{
	struct pt_dir *d = (struct pt_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	size_t used = 0;
	int err = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		struct fuse_entry_param e;
		const char *name;
		fuse_ino_t looked_up = 0;
		size_t n;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		name = d->entry->d_name;
		if (plus) {
			if (is_dot(name)) {
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = d->entry->d_ino;
				e.attr.st_mode = DTTOIF(d->entry->d_type);
			} else {
				err = do_lookup(ino, name, &e);
				if (err)
					break;
				looked_up = e.ino;
			}
			n = fuse_add_direntry_plus(req, buf + used,
						   size - used, name, &e,
						   d->entry->d_off);
		} else {
			struct stat st = {
				.st_ino = d->entry->d_ino,
				.st_mode = DTTOIF(d->entry->d_type),
			};

			n = fuse_add_direntry(req, buf + used, size - used,
					      name, &st, d->entry->d_off);
		}
		if (n > size - used) {
			if (looked_up)
				unref_inode(pt_inode(looked_up), 1);
			break;
		}
		used += n;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	/* Entries already packed carry lookup counts: report them, not err. */
	if (err && used == 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void pt_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void pt_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void pt_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct pt_dir *d = (struct pt_dir *)(uintptr_t)fi->fh;

	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void pt_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	int fd = dirfd(((struct pt_dir *)(uintptr_t)fi->fh)->dp);
	int res = datasync ? fdatasync(fd) : fsync(fd);

	fuse_reply_err(req, res ? errno : 0);
}

static const struct fuse_lowlevel_ops pt_ops = {
	.init		= pt_init,
	.lookup		= pt_lookup,
	.forget		= pt_forget,
	.forget_multi	= pt_forget_multi,
	.getattr	= pt_getattr,
	.setattr	= pt_setattr,
	.readlink	= pt_readlink,
	.mknod		= pt_mknod,
	.mkdir		= pt_mkdir,
	.unlink		= pt_unlink,
	.rmdir		= pt_rmdir,
	.symlink	= pt_symlink,
	.rename		= pt_rename,
	.link		= pt_link,
	.open		= pt_open,
	.read		= pt_read,
	.write		= pt_write,
	.flush		= pt_flush,
	.release	= pt_release,
	.fsync		= pt_fsync,
	.opendir	= pt_opendir,
	.readdir	= pt_readdir,
	.readdirplus	= pt_readdirplus,
	.releasedir	= pt_releasedir,
	.fsyncdir	= pt_fsyncdir,
	.statfs		= pt_statfs,
	.create		= pt_create,
	.fallocate	= pt_fallocate,
};

/* Every inode the kernel remembers holds an O_PATH fd here. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	unsigned long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");

	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (nr_open > rl.rlim_max) {
		struct rlimit want = { nr_open, nr_open };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s SRC_DIR MOUNTPOINT [-f] [-d] [-o FUSE_OPTIONS]\n",
		argv0);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *cfg = NULL;
	struct fuse_session *se = NULL;
	const char *src = NULL, *mnt = NULL;
	bool foreground = false;
	int ret = 1;

	umask(0);
	raise_fd_limit();
	if (fuse_opt_add_arg(&args, argv[0]) ||
	    fuse_opt_add_arg(&args, "-odefault_permissions,"
			     "fsname=passthrough,subtype=passthrough") ||
	    (geteuid() == 0 && fuse_opt_add_arg(&args, "-oallow_other")))
		goto out;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f")) {
			foreground = true;
		} else if (!strcmp(argv[i], "-d")) {
			foreground = true;
			if (fuse_opt_add_arg(&args, "-d"))
				goto out;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			if (fuse_opt_add_arg(&args, "-o") ||
			    fuse_opt_add_arg(&args, argv[++i]))
				goto out;
		} else if (argv[i][0] != '-' && !src) {
			src = argv[i];
		} else if (argv[i][0] != '-' && !mnt) {
			mnt = argv[i];
		} else {
			usage(argv[0]);
			goto out;
		}
	}
	if (!src || !mnt) {
		usage(argv[0]);
		goto out;
	}

	pt.root.fd = open(src, O_PATH | O_DIRECTORY);
	if (pt.root.fd < 0) {
		fprintf(stderr, "passthrough: %s: %s\n", src, strerror(errno));
		goto out;
	}
	pt.root.nlookup = 2;
	pt.nbuckets = 4096;
	pt.buckets = calloc(pt.nbuckets, sizeof(*pt.buckets));
	if (!pt.buckets || pthread_key_create(&pt.bufkey, scratch_free))
		goto out;

	se = fuse_session_new(&args, &pt_ops, sizeof(pt_ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se))
		goto out_destroy;
	if (fuse_session_mount(se, mnt))
		goto out_signals;
	if (fuse_daemonize(foreground))
		goto out_unmount;

	cfg = fuse_loop_cfg_create();
	if (!cfg)
		goto out_unmount;
	fuse_loop_cfg_set_max_threads(cfg, PT_MAX_THREADS);
	fuse_loop_cfg_set_idle_threads(cfg, PT_MAX_THREADS);
	ret = fuse_session_loop_mt(se, cfg) ? 1 : 0;
	fuse_loop_cfg_destroy(cfg);

out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	return ret;
}
