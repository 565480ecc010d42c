// SPDX-License-Identifier: MIT
/*
 * Per-thread credentials for the file service (backend/service/creds.h).
 *
 * Trust: ids come from the policy's mapping of guest ids, never straight
 * from the wire.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"
#include "service.h"

/* Effective set this thread returns to; permitted stays as it was. */
static __thread struct __user_cap_data_struct cap_base[2];
static __thread bool cap_ready;

static int cap_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};

	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

static int cap_set(const struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static int cap_init(void)
{
	int rc;

	rc = cap_get(cap_base);
	if (rc)
		return rc;
	cap_base[CAP_TO_INDEX(CAP_FSETID)].effective &= ~CAP_TO_MASK(CAP_FSETID);
	rc = cap_set(cap_base);
	if (rc)
		return rc;
	cap_ready = true;
	return 0;
}

static void cap_restore(void)
{
	if (cap_ready)
		cap_set(cap_base);
}

int xsh_service_thread_init(void)
{
	if (unshare(CLONE_FS))
		return -errno;
	umask(0);
	if (syscall(SYS_setgroups, 0, NULL))
		return -errno;
	return cap_init();
}

static int set_ids(uid_t uid, gid_t gid)
{
	syscall(SYS_setfsgid, gid);
	if ((gid_t)syscall(SYS_setfsgid, (gid_t)-1) != gid)
		goto fail;
	syscall(SYS_setfsuid, uid);
	if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != uid)
		goto fail;
	return 0;
fail:
	xsh_creds_leave();
	return -EPERM;
}

int xsh_creds_enter(uid_t uid, gid_t gid)
{
	int rc;

	if (!cap_ready)
		cap_init();
	rc = set_ids(uid, gid);
	if (rc)
		return rc;
	cap_restore();
	return 0;
}

int xsh_creds_enter_strict(uid_t uid, gid_t gid)
{
	if (!cap_ready)
		cap_init();
	return set_ids(uid, gid);
}

void xsh_creds_leave(void)
{
	syscall(SYS_setfsuid, 0);
	syscall(SYS_setfsgid, 0);
	cap_restore();
}

void xsh_creds_fsetid(bool on)
{
	struct __user_cap_data_struct d[2];

	if (!cap_ready && cap_init())
		return;
	memcpy(d, cap_base, sizeof(d));
	if (on)
		d[CAP_TO_INDEX(CAP_FSETID)].effective |= CAP_TO_MASK(CAP_FSETID);
	cap_set(d);
}
