// SPDX-License-Identifier: MIT
/*
 * The backend's state directory (backend/daemon/state.h): per-export handle keys.
 *
 * Trust: paths come from the administrator's command line; the key file's
 * type, owner and mode are checked before its contents are used.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

#define KEY_HEX		(2 * XSH_SIPHASH_KEY_LEN)

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 0, or -EINVAL if buf does not start with a key line. */
static int parse_key(const char *buf, size_t len, uint8_t *key)
{
	unsigned i;
	int hi, lo;

	if (len < KEY_HEX + 1 || buf[KEY_HEX] != '\n')
		return -EINVAL;
	for (i = 0; i < XSH_SIPHASH_KEY_LEN; i++) {
		hi = hexval(buf[2 * i]);
		lo = hexval(buf[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int read_key(int dirfd, const char *name, uint8_t *key, char *err,
		    size_t errlen)
{
	char buf[KEY_HEX + 1 + PATH_MAX + 16];
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, rc, "key file %s: %s", name,
			    strerror(-rc));
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		snprintf(err, errlen, "key file %s must be a regular file of "
			 "ours with mode 0600", name);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf));
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return fail(err, errlen, rc, "reading key file %s: %s", name,
			    strerror(-rc));
	if (parse_key(buf, (size_t)n, key)) {
		snprintf(err, errlen, "key file %s is malformed", name);
		return -EINVAL;
	}
	return 0;
}

/* Write a fresh key under a temporary name, then link it into place;
 * -EEXIST when another daemon was faster (its key is read instead). */
static int create_key(int dirfd, const char *name, const char *path,
		      uint8_t *key, char *err, size_t errlen)
{
	char tmp[96], line[KEY_HEX + 1 + PATH_MAX + 16];
	size_t len, i;
	int fd, rc;

	if (getrandom(key, XSH_SIPHASH_KEY_LEN, 0) != XSH_SIPHASH_KEY_LEN)
		return fail(err, errlen, -EIO, "getrandom for %s: %s", name,
			    strerror(errno));
	for (i = 0; i < XSH_SIPHASH_KEY_LEN; i++)
		snprintf(line + 2 * i, 3, "%02x", key[i]);
	len = KEY_HEX + (size_t)snprintf(line + KEY_HEX,
					 sizeof(line) - KEY_HEX,
					 "\nexport %s\n", path);
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", name, (long)getpid());
	unlinkat(dirfd, tmp, 0);	/* left by a daemon that died here */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, -errno, "creating key file %s: %s",
			    name, strerror(errno));
	rc = 0;
	errno = 0;
	if (write(fd, line, len) != (ssize_t)len || fsync(fd))
		rc = errno ? -errno : -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && linkat(dirfd, tmp, dirfd, name, 0))
		rc = -errno;
	unlinkat(dirfd, tmp, 0);
	if (rc == -EEXIST)
		return rc;
	if (rc)
		return fail(err, errlen, rc, "writing key file %s: %s", name,
			    strerror(-rc));
	fsync(dirfd);
	return 0;
}

int xsh_state_export_key(const char *state_dir, const char *export_path,
			uint8_t key[XSH_SIPHASH_KEY_LEN], char *err,
			size_t errlen)
{
	static const uint8_t zero[XSH_SIPHASH_KEY_LEN];
	char *path, name[64];
	int dirfd, rc;

	err[0] = '\0';
	path = realpath(export_path, NULL);
	if (!path)
		return fail(err, errlen, -errno, "%s: %s", export_path,
			    strerror(errno));
	snprintf(name, sizeof(name), "export-%016llx.key",
		 (unsigned long long)xsh_siphash24(zero, path, strlen(path)));
	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		rc = fail(err, errlen, -errno, "state directory %s: %s",
			  state_dir, strerror(errno));
		goto out;
	}
	dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = fail(err, errlen, -errno, "state directory %s: %s",
			  state_dir, strerror(errno));
		goto out;
	}
	rc = read_key(dirfd, name, key, err, errlen);
	if (rc == -ENOENT) {
		rc = create_key(dirfd, name, path, key, err, errlen);
		if (rc == -EEXIST)
			rc = read_key(dirfd, name, key, err, errlen);
	} else if (rc < 0 && !err[0]) {
		fail(err, errlen, rc, "key file %s: %s", name, strerror(-rc));
	}
	close(dirfd);
out:
	free(path);
	return rc;
}
