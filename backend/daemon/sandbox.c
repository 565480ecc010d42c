// SPDX-License-Identifier: MIT
/*
 * The worker sandbox (backend/daemon/sandbox.h, docs/security.md): namespaces, a
 * root holding only the export, capabilities, NO_NEW_PRIVS and a seccomp
 * filter, applied in that order to a freshly forked worker.
 *
 * Trust: the export path and options are the administrator's.  Once the
 * filter is loaded the process may be running a guest's exploit: the
 * SIGSYS handler only formats a number and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/log.h"
#include "engine.h"
#include "sandbox.h"
#ifdef XSH_HAVE_XEN
#include "transport/xen.h"
#endif

#ifdef __SANITIZE_ADDRESS__
#define SANITIZER_BUILD	1
#else
#define SANITIZER_BUILD	0
#endif

#define PROC_DIR	"proc"
#define ROOT_OPTS_SIZE	"1m"
#define ROOT_OPTS_INODES "256"

static int fail(const char *who, const char *what)
{
	int err = errno;

	xsh_log(LOG_ERR, "%s: sandbox: %s: %s", who, what, strerror(err));
	return -err;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- PID namespace ----------------------------------------------------- */

pid_t xsh_sandbox_fork(const char *who, bool *pidns)
{
	int self, err;
	pid_t pid;

	*pidns = false;
	self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (self >= 0 && unshare(CLONE_NEWPID) == 0)
		*pidns = true;
	pid = fork();
	err = errno;
	if (*pidns && pid != 0 && setns(self, CLONE_NEWPID))
		xsh_log(LOG_ERR, "%s: sandbox: returning to our PID namespace: %s",
			      who, strerror(errno));
	if (self >= 0)
		close(self);
	errno = err;
	return pid;
}

/* ---- the root ---------------------------------------------------------- */

/* "/a/b/c": absolute, no empty, "." or ".." components, not / or /proc. */
static bool path_ok(const char *p)
{
	const char *c = p;
	size_t n;

	if (!p || p[0] != '/' || !p[1] || strlen(p) >= 4096)
		return false;
	while (*c) {
		c++;
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (c == p + 1 && n == strlen(PROC_DIR) &&
		    !memcmp(c, PROC_DIR, n))
			return false;
		c += n;
	}
	return true;
}

/* mkdir -p of path under dirfd; the last directory, O_PATH. */
static int mkdirs(const char *who, int dirfd, const char *path)
{
	char comp[256];
	const char *c = path;
	int fd, err, at = dirfd;
	size_t n;

	while (*c) {
		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		if (n >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, c, n);
		comp[n] = '\0';
		if (mkdirat(at, comp, 0755) && errno != EEXIST)
			goto fail;
		fd = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0)
			goto fail;
		if (at != dirfd)
			close(at);
		at = fd;
		c += n;
	}
	return at;
fail:
	err = errno;
	if (at != dirfd)
		close(at);
	errno = err;
	return fail(who, "making the export's mount point");
}

static int fs_new(const char *who, const char *type,
		  const char *const *opts, unsigned attrs)
{
	int fs, mnt;

	fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	for (; opts && opts[0]; opts += 2) {
		if (!fsconfig(fs, FSCONFIG_SET_STRING, opts[0], opts[1], 0))
			continue;
		if (strcmp(opts[0], "subset")) {
			close(fs);
			return -1;
		}
		xsh_log(LOG_WARNING, "%s: sandbox: procfs without subset=pid (%s): the worker's /proc shows more than its own process",
			      who, strerror(errno));
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		close(fs);
		return -1;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	close(fs);
	return mnt;
}

/* ---- a template's overlay ---------------------------------------------- */

#define OVL_UPPER	"upper"
#define OVL_WORK	"work"
#define OVL_BUSY_TRIES	100
#define OVL_BUSY_WAIT_US	50000

/* What the overlay's fs context said about why it would not mount. */
static void ovl_messages(const char *who, int fs)
{
	char buf[512];
	ssize_t n;

	while ((n = read(fs, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		xsh_log(LOG_ERR, "%s: sandbox: overlay: %s", who, buf);
	}
}

static int ovl_dir(const char *who, int at, const char *name, mode_t mode,
		   const struct stat *owner)
{
	int fd;

	if (mkdirat(at, name, 0700) == 0) {
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0 || fchown(fd, owner->st_uid, owner->st_gid) ||
		    fchmod(fd, mode)) {
			if (fd >= 0)
				close(fd);
			return fail(who, "making the private directory's overlay layout");
		}
		close(fd);
	} else if (errno != EEXIST) {
		return fail(who, "making the private directory's overlay layout");
	}
	fd = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(who, name[0] == 'u' ?
			    "the private directory's upper is not a directory" :
			    "the private directory's work is not a directory");
	return fd;
}

static int ovl_set(int fs, const char *key, int fd)
{
	char p[32];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return fsconfig(fs, FSCONFIG_SET_STRING, key, p, 0);
}

/* A created overlay context on those layers, or -1 with errno set (what
 * the kernel said is logged, unless it is EBUSY: that one is retried). */
static int ovl_create(const char *who, int lower, int up, int work,
		      bool plus)
{
	static const char *const flags[] = {
		"index", "on", "nfs_export", "on", "redirect_dir", "on", NULL,
	};
	const char *const *f;
	int fs, err;

	fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	/* lowerdir+ takes one layer, unparsed (6.8 on); lowerdir a list.
	 * Before 6.5 overlay takes any key and refuses it only at create. */
	if (ovl_set(fs, plus ? "lowerdir+" : "lowerdir", lower) ||
	    ovl_set(fs, "upperdir", up) || ovl_set(fs, "workdir", work))
		goto fail;
	for (f = flags; f[0]; f += 2)
		if (fsconfig(fs, FSCONFIG_SET_STRING, f[0], f[1], 0))
			goto fail;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		goto fail;
	return fs;
fail:
	err = errno;
	if (err != EBUSY && !plus)
		ovl_messages(who, fs);
	close(fs);
	errno = err;
	return -1;
}

/*
 * The overlay of o->template (lower) and export/upper, work export/work,
 * with index, NFS export (file handles: node identity across restarts)
 * and directory redirects; a detached mount, or -errno.  *upper: a
 * read-only detached clone of export/upper.  Every layer is passed as
 * /proc/self/fd/N of a directory opened without following symlinks.
 */
static int ovl_build(const struct xsh_sandbox_opts *o, int export_fd,
		     int *upper)
{
	struct mount_attr ro = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};
	int lower = -1, up = -1, work = -1, fs = -1, mnt = -1, clone = -1;
	struct stat st;
	unsigned tries;

	*upper = -1;
	lower = open(o->template, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (lower < 0 || fstat(lower, &st)) {
		mnt = fail(o->name, "opening the template");
		goto out;
	}
	up = ovl_dir(o->name, export_fd, OVL_UPPER, st.st_mode & 07777, &st);
	if (up < 0) {
		mnt = up;
		goto out;
	}
	work = ovl_dir(o->name, export_fd, OVL_WORK, 0700, &(struct stat){ 0 });
	if (work < 0) {
		mnt = work;
		goto out;
	}
	/* EBUSY: the upper or work directory is still another overlay's.
	 * A worker that just died leaves its mount namespace to be torn
	 * down after it is reaped: wait for that a little. */
	for (tries = 0;; tries++) {
		fs = ovl_create(o->name, lower, up, work, true);
		if (fs < 0 && errno != EBUSY)
			fs = ovl_create(o->name, lower, up, work, false);
		if (fs >= 0 || errno != EBUSY || tries >= OVL_BUSY_TRIES)
			break;
		usleep(OVL_BUSY_WAIT_US);
	}
	if (fs < 0) {
		mnt = fail(o->name, errno == EBUSY ?
			   "mounting the template's overlay (the private directory is another overlay's)" :
			   "mounting the template's overlay");
		goto out;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0) {
		mnt = fail(o->name, "mounting the template's overlay");
		goto out;
	}
	clone = open_tree(up, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			  AT_EMPTY_PATH);
	if (clone < 0 || mount_setattr(clone, "", AT_EMPTY_PATH, &ro,
				       sizeof(ro))) {
		int rc = fail(o->name, "a read-only view of the upper directory");

		close(mnt);
		mnt = rc;
		goto out;
	}
	*upper = clone;
	clone = -1;
out:
	close_fd(&clone);
	close_fd(&fs);
	close_fd(&work);
	close_fd(&up);
	close_fd(&lower);
	return mnt;
}

/* A mount namespace of our own, nothing in it shared back; o->path
 * there (O_PATH), or -errno. */
static int own_mount_ns(const struct xsh_sandbox_opts *o, const char *what)
{
	int here;

	if (unshare(CLONE_NEWNS))
		return fail(o->name, "new mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return fail(o->name, "making / private");
	here = open(o->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return here < 0 ? fail(o->name, what) : here;
}

int xsh_sandbox_overlay_only(const struct xsh_sandbox_opts *o)
{
	int here, mnt, rc, upper;

	*o->upper_fd = -1;
	here = own_mount_ns(o, "opening the private directory");
	if (here < 0)
		return here;
	mnt = ovl_build(o, here, &upper);
	if (mnt < 0) {
		close(here);
		return mnt;
	}
	rc = move_mount(mnt, "", here, "", MOVE_MOUNT_F_EMPTY_PATH |
			MOVE_MOUNT_T_EMPTY_PATH) ?
		fail(o->name, "mounting the template's overlay") : 0;
	close(mnt);
	close(here);
	if (rc)
		close(upper);
	else
		*o->upper_fd = upper;
	return rc;
}

/*
 * A new mount namespace whose root is a tmpfs holding the export at
 * o->path and our own procfs at /proc; the old root is detached.
 */
static int enter_root(int export_fd, const struct xsh_sandbox_opts *o,
		      bool *pivoted)
{
	static const char *const tmpfs_opts[] = {
		"mode", "0755", "size", ROOT_OPTS_SIZE,
		"nr_inodes", ROOT_OPTS_INODES, NULL,
	};
	static const char *const proc_opts[] = { "subset", "pid", NULL };
	const unsigned noexec = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				MOUNT_ATTR_NOEXEC;
	int tree = -1, root = -1, proc = -1, target = -1, here, rc;
	struct stat was, is;

	/* export_fd is on a mount of the old namespace: find our copy. */
	here = own_mount_ns(o, "finding the export in the new namespace");
	if (here < 0)
		return here;
	if (fstat(export_fd, &was) || fstat(here, &is) ||
	    was.st_dev != is.st_dev || was.st_ino != is.st_ino) {
		close(here);
		errno = ESTALE;
		return fail(o->name, "the export's path no longer leads to the export");
	}
	/* The export's own copy first (or the template's overlay on it):
	 * root is about to cover its path. */
	if (o->template) {
		tree = ovl_build(o, here, o->upper_fd);
		if (tree < 0) {
			rc = tree;
			tree = -1;
			goto out;
		}
	} else {
		tree = open_tree(here, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				 AT_EMPTY_PATH | AT_RECURSIVE);
	}
	if (tree < 0) {
		rc = fail(o->name, "cloning the export's mount");
		goto out;
	}
	root = fs_new(o->name, "tmpfs", tmpfs_opts, noexec);
	if (root < 0) {
		rc = fail(o->name, "new root file system");
		goto out;
	}
	/* Attach it somewhere in our namespace: pivot_root wants that. */
	if (move_mount(root, "", here, "", MOVE_MOUNT_F_EMPTY_PATH |
		       MOVE_MOUNT_T_EMPTY_PATH)) {
		rc = fail(o->name, "attaching the new root");
		goto out;
	}
	if (mkdirat(root, PROC_DIR, 0555)) {
		rc = fail(o->name, "making /proc");
		goto out;
	}
	target = mkdirs(o->name, root, o->path);
	if (target < 0) {
		rc = target;
		goto out;
	}
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH |
		       MOVE_MOUNT_T_EMPTY_PATH)) {
		rc = fail(o->name, "mounting the export");
		goto out;
	}
	proc = fs_new(o->name, "proc", proc_opts, noexec | MOUNT_ATTR_RDONLY);
	if (proc < 0) {
		rc = fail(o->name, "new procfs");
		goto out;
	}
	if (move_mount(proc, "", root, PROC_DIR, MOVE_MOUNT_F_EMPTY_PATH)) {
		rc = fail(o->name, "mounting /proc");
		goto out;
	}

	if (fchdir(root)) {
		rc = fail(o->name, "entering the new root");
		goto out;
	}
	*pivoted = syscall(SYS_pivot_root, ".", ".") == 0;
	if (*pivoted) {
		/* The old root now sits on top of the new one. */
		if (umount2(".", MNT_DETACH)) {
			rc = fail(o->name, "detaching the old root");
			goto out;
		}
	} else {
		xsh_log(LOG_WARNING, "%s: sandbox: pivot_root: %s; using chroot",
			      o->name, strerror(errno));
		if (chroot(".")) {
			rc = fail(o->name, "chroot");
			goto out;
		}
	}
	if (chdir("/")) {
		rc = fail(o->name, "chdir /");
		goto out;
	}
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		rc = fail(o->name, "making the root read-only");
		goto out;
	}
	rc = 0;
out:
	if (rc && o->template)
		close_fd(o->upper_fd);
	close_fd(&here);
	close_fd(&tree);
	close_fd(&root);
	close_fd(&proc);
	close_fd(&target);
	return rc;
}

/* ---- capabilities ------------------------------------------------------ */

static uint64_t caps_kept(const struct xsh_sandbox_opts *o)
{
	uint64_t keep = 1ull << CAP_CHOWN | 1ull << CAP_DAC_OVERRIDE |
			1ull << CAP_DAC_READ_SEARCH | 1ull << CAP_FOWNER |
			1ull << CAP_FSETID | 1ull << CAP_SETUID |
			1ull << CAP_SETGID;

	if (o->allow_mknod)
		keep |= 1ull << CAP_MKNOD;
	return keep;
}

static int drop_caps(const struct xsh_sandbox_opts *o)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	uint64_t keep = caps_kept(o), prm;
	int c;

	/* While we still hold CAP_SETPCAP: no way back to full root. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_CAP_AMBIENT_RAISE |
		  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED | SECBIT_KEEP_CAPS_LOCKED))
		xsh_log(LOG_WARNING, "%s: sandbox: securebits: %s",
			      o->name, strerror(errno));
	for (c = 0; prctl(PR_CAPBSET_READ, c) >= 0; c++) {
		if (keep & 1ull << c)
			continue;
		if (prctl(PR_CAPBSET_DROP, c) && errno != EINVAL)
			return fail(o->name, "dropping from the bounding set");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL)
		return fail(o->name, "clearing ambient capabilities");
	if (syscall(SYS_capget, &h, d))
		return fail(o->name, "capget");
	prm = ((uint64_t)d[1].permitted << 32 | d[0].permitted) & keep;
	d[0].effective = d[0].permitted = (uint32_t)prm;
	d[1].effective = d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d))
		return fail(o->name, "capset");
	return 0;
}

/* ---- the system call filter -------------------------------------------- */

/* For the SIGSYS handler, which can use nothing else. */
static int report_fd = -1;
static char report_name[48];
static size_t report_name_len;

static size_t fmt_uint(char *p, unsigned v)
{
	char tmp[12];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Async-signal-safe: report the call and stop the whole worker. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	static const char head[] = "xenshare-back: ";
	static const char pre[] = ": sandbox: refused system call ";
	static const char post[] = "; worker stopping\n";
	struct xsh_wmsg m = { .type = XSH_WMSG_SYSCALL };
	char line[sizeof(head) + sizeof(report_name) + sizeof(pre) +
		  sizeof(post) + 12];
	size_t n;

	(void)sig;
	(void)uc;
	m.arg = (uint32_t)si->si_syscall;
	if (report_fd >= 0 &&
	    send(report_fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) ==
	    (ssize_t)sizeof(m)) {
		syscall(SYS_exit_group, XSH_SANDBOX_EXIT_SYSCALL);
	}
	memcpy(line, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	memcpy(line + n, report_name, report_name_len);
	n += report_name_len;
	memcpy(line + n, pre, sizeof(pre) - 1);
	n += sizeof(pre) - 1;
	n += fmt_uint(line + n, m.arg);
	memcpy(line + n, post, sizeof(post) - 1);
	n += sizeof(post) - 1;
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing left to tell */
	}
	syscall(SYS_exit_group, XSH_SANDBOX_EXIT_SYSCALL);
}

/*
 * What the worker calls (found with strace -f over the integration, quota
 * and sandbox suites): the file service (openat family, xattrs, file
 * handles, per-thread fs ids and capabilities), the ring engine (threads,
 * poll, eventfds, the transports' sockets and shared memory), the control
 * channel (peer credentials), glibc's own needs (malloc, thread start and
 * exit, time, random).
 */
static const char *const allowed[] = {
	/* file data */
	"read", "write", "writev", "pread64", "pwrite64", "lseek",
	"fallocate", "ftruncate", "fsync", "fdatasync", "copy_file_range",
	/* names and attributes, relative to our fds */
	"openat", "close", "dup3", "fcntl", "newfstatat", "fstatfs",
	"getdents64", "readlink", "readlinkat", "mkdirat", "mknodat",
	"symlinkat", "unlinkat", "renameat", "renameat2", "linkat",
	"fchownat", "fchmodat", "utimensat", "faccessat", "faccessat2",
	"fsetxattr", "fgetxattr", "flistxattr", "fremovexattr",
	"name_to_handle_at", "open_by_handle_at", "umask",
	/* credentials of the thread serving a request, of a control peer */
	"setfsuid", "setfsgid", "capget", "capset", "geteuid",
	/* memory */
	"brk", "munmap", "madvise", "mremap",
	/* threads, signals, time */
	"futex", "set_robust_list", "rseq", "exit", "exit_group", "gettid",
	"getpid", "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity",
	"clock_nanosleep", "clock_gettime", "getrandom", "prlimit64",
	"restart_syscall",
	/* events, and the sockets we were given */
	"poll", "eventfd2", "recvmsg", "sendmsg", "recvfrom", "sendto",
	"getsockopt",
};

/* Probes glibc and libraries fall back from: refused harmlessly. */
static const struct {
	const char *name;
	int err;
} refused[] = {
	{ "clone3", ENOSYS },	/* glibc falls back to clone */
	{ "open", ENOSYS },	/* glibc uses openat */
	{ "openat2", ENOSYS },	/* allowed for a template's copy-up check */
	{ "socket", EACCES },	/* syslog reconnecting */
};

static int rule(const char *who, scmp_filter_ctx ctx, uint32_t action, const char *name,
		unsigned n, const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	if (nr == __NR_SCMP_ERROR) {
		xsh_log(LOG_ERR, "%s: sandbox: seccomp does not know %s", who,
			name);
		return -EINVAL;
	}
	rc = seccomp_rule_add_array(ctx, action, nr, n, args);
	if (rc)
		xsh_log(LOG_ERR, "%s: sandbox: seccomp rule for %s: %s", who,
			name, strerror(-rc));
	return rc;
}

/* The ioctl requests of a Xen device's worker (sandbox.h). */
static int allow_xen_ioctls(const char *who, scmp_filter_ctx ctx)
{
#ifdef XSH_HAVE_XEN
	unsigned long req[8];
	unsigned i, n = xsh_xen_back_ioctls(req, 8);
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		const struct scmp_arg_cmp this =
			SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, req[i]);

		rc = rule(who, ctx, SCMP_ACT_ALLOW, "ioctl", 1, &this);
	}
	return rc;
#else
	(void)who;
	(void)ctx;
	return -ENOSYS;
#endif
}

static int load_filter(const struct xsh_sandbox_opts *o)
{
	const struct scmp_arg_cmp noexec =
		SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	const struct scmp_arg_cmp thread =
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	const struct scmp_arg_cmp no_groups = SCMP_A1(SCMP_CMP_EQ, 0);
	const struct scmp_arg_cmp fs_only = SCMP_A0(SCMP_CMP_EQ, CLONE_FS);
	const struct scmp_arg_cmp not_sigsys = SCMP_A0(SCMP_CMP_NE, SIGSYS);
	const struct scmp_arg_cmp ourselves =
		SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid());
	scmp_filter_ctx ctx;
	size_t i;
	int rc = 0;

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			      SCMP_ACT_KILL_PROCESS);
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; !rc && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	for (i = 0; !rc && i < sizeof(refused) / sizeof(refused[0]); i++) {
		/* A template device checks copy-ups beneath its upper view
		 * with openat2 (backend/service/template.c). */
		if (o->template && !strcmp(refused[i].name, "openat2"))
			rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "openat2", 0, NULL);
		else
			rc = rule(o->name, ctx, SCMP_ACT_ERRNO(refused[i].err),
				  refused[i].name, 0, NULL);
	}
	/* Never executable memory, threads but no processes, setgroups
	 * only to drop them all, unshare only for a thread's own fs_struct,
	 * our SIGSYS handler stays, signals only to ourselves. */
	if (!rc)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "mmap", 1, &noexec);
	if (!rc)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "mprotect", 1, &noexec);
	if (!rc)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "clone", 1, &thread);
	if (!rc)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "setgroups", 1, &no_groups);
	if (!rc)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "unshare", 1, &fs_only);
	if (!rc)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "rt_sigaction", 1, &not_sigsys);
	if (!rc)
		rc = rule(o->name, ctx, SCMP_ACT_ALLOW, "tgkill", 1, &ourselves);
	if (!rc && o->xen)
		rc = allow_xen_ioctls(o->name, ctx);
	if (!rc) {
		rc = seccomp_load(ctx);
		if (rc)
			xsh_log(LOG_ERR, "%s: sandbox: loading the seccomp filter: %s",
				o->name, strerror(-rc));
	}
	seccomp_release(ctx);
	return rc;
}

static int enter_seccomp(const struct xsh_sandbox_opts *o)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };

	if (SANITIZER_BUILD) {
		/* The sanitizer runtime makes calls of its own (at exit too). */
		xsh_log(LOG_WARNING, "%s: sandbox: sanitizer build: no system call filter",
			o->name);
		return 0;
	}
	report_fd = o->report_fd;
	snprintf(report_name, sizeof(report_name), "%s", o->name);
	report_name_len = strlen(report_name);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL))
		return fail(o->name, "SIGSYS handler");
	return load_filter(o);
}

/* ---- the test hook ----------------------------------------------------- */

struct probe_handle {
	struct file_handle fh;
	unsigned char bytes[MAX_HANDLE_SZ];
};

static void probe_report(const struct xsh_sandbox_opts *o, const char *how,
			 int fd)
{
	if (fd >= 0) {
		fprintf(stderr, "xenshare-back: %s: sandbox selftest: %s: OPENED\n",
			o->name, how);
		close(fd);
	} else {
		fprintf(stderr, "xenshare-back: %s: sandbox selftest: %s: refused (%s)\n",
			o->name, how, strerror(errno));
	}
}

static void selftest(const struct xsh_sandbox_opts *o,
		     struct probe_handle *ph, bool have_handle)
{
	const char *t = o->selftest;
	char up[4096 + 64];
	int root, proc, fd;

	snprintf(up, sizeof(up), "../../../../../../../..%s", t);
	probe_report(o, "open(path)", open(t, O_RDONLY | O_CLOEXEC));
	probe_report(o, "openat(AT_FDCWD, ../..path)",
		     openat(AT_FDCWD, up, O_RDONLY | O_CLOEXEC));
	probe_report(o, "raw SYS_openat(path)",
		     (int)syscall(SYS_openat, AT_FDCWD, t, O_RDONLY | O_CLOEXEC));
	probe_report(o, "raw SYS_open(path)",
		     (int)syscall(SYS_open, t, O_RDONLY | O_CLOEXEC));
	root = open(o->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		probe_report(o, "opening the export inside the sandbox", -1);
		return;
	}
	probe_report(o, "openat(export, ../..path)",
		     openat(root, up, O_RDONLY | O_CLOEXEC));
	fd = -1;
	if (symlinkat(t, root, ".xs-selftest-link") == 0) {
		fd = openat(root, ".xs-selftest-link", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int err = errno;

			unlinkat(root, ".xs-selftest-link", 0);
			errno = err;
		} else {
			unlinkat(root, ".xs-selftest-link", 0);
		}
	}
	probe_report(o, "symlink in the export to path", fd);
	proc = open("/" PROC_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc >= 0) {
		probe_report(o, "openat(/proc, ../..path)",
			     openat(proc, up, O_RDONLY | O_CLOEXEC));
		snprintf(up, sizeof(up), "1/root%s", t);
		probe_report(o, "openat(/proc, 1/root/path)",
			     openat(proc, up, O_RDONLY | O_CLOEXEC));
		close(proc);
	}
	if (o->template && *o->upper_fd >= 0) {
		snprintf(up, sizeof(up), "../../../../../../../..%s", t);
		probe_report(o, "openat(upper view, ../..path)",
			     openat(*o->upper_fd, up, O_RDONLY | O_CLOEXEC));
		probe_report(o, "creating a file in the upper view",
			     openat(*o->upper_fd, ".xs-selftest-upper",
				    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				    0600));
	}
	if (have_handle)
		probe_report(o, "open_by_handle_at(export, handle of path)",
			     open_by_handle_at(root, &ph->fh,
					       O_RDONLY | O_CLOEXEC));
	close(root);
	fprintf(stderr, "xenshare-back: %s: sandbox selftest: done\n", o->name);
}

/* ---- entry ------------------------------------------------------------- */

int xsh_sandbox_enter(int export_fd, const struct xsh_sandbox_opts *o)
{
	struct probe_handle ph;
	bool have_handle = false, pivoted = false;
	int mnt_id, rc;

	if (!path_ok(o->path)) {
		xsh_log(LOG_ERR, "%s: sandbox: cannot place an export at '%s' (/ and /proc are refused)",
			o->name, o->path ? o->path : "");
		close(export_fd);
		return -EINVAL;
	}
	if (o->template && !path_ok(o->template)) {
		xsh_log(LOG_ERR, "%s: sandbox: bad template path '%s'",
			o->name, o->template);
		close(export_fd);
		return -EINVAL;
	}
	if (o->selftest) {
		ph.fh.handle_bytes = MAX_HANDLE_SZ;
		have_handle = name_to_handle_at(AT_FDCWD, o->selftest, &ph.fh,
						&mnt_id, 0) == 0;
	}
	rc = enter_root(export_fd, o, &pivoted);
	close(export_fd);
	if (rc)
		return rc;
	/* (LeakSanitizer ptraces the process's own threads at exit.) */
	if (!SANITIZER_BUILD && prctl(PR_SET_DUMPABLE, 0))
		return fail(o->name, "PR_SET_DUMPABLE");
	rc = drop_caps(o);
	if (rc)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(o->name, "PR_SET_NO_NEW_PRIVS");
	if (!o->no_seccomp) {
		rc = enter_seccomp(o);
		if (rc)
			return rc;
	}
	xsh_log(LOG_DEBUG, "%s: sandbox: entered (%s, %s)", o->name,
		      pivoted ? "pivot_root" : "chroot",
		      o->no_seccomp || SANITIZER_BUILD ? "no seccomp" : "seccomp");
	if (o->selftest)
		selftest(o, &ph, have_handle);
	if (o->selftest_refused)
		syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
	return 0;
}
