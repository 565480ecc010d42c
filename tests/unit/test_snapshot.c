// SPDX-License-Identifier: MIT
/*
 * test_snapshot: the checks of backend/daemon/snapshot.c that stand
 * before any system call (names, where the snapshot directory may be),
 * and a snapshot taken, listed, deleted and restored with hooks that
 * count their calls, on a scratch tree under $TMPDIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/daemon/snapcopy.h"
#include "backend/daemon/snapshot.h"
#include "tap.h"

static unsigned quiesced, resumed, restarted;
static int quiesce_rc;

static int t_quiesce(void *arg, char *why, size_t len)
{
	(void)arg;
	quiesced++;
	if (quiesce_rc)
		snprintf(why, len, "refused by the test");
	return quiesce_rc;
}

static void t_resume(void *arg)
{
	(void)arg;
	resumed++;
}

static void t_restart(void *arg)
{
	(void)arg;
	restarted++;
}

static const struct xsh_snap_ops ops = {
	.quiesce = t_quiesce,
	.resume = t_resume,
	.restart = t_restart,
};

static void test_names(void)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "/abs", "a b", "tab\there",
		"new\nline", "x\x01y", "\xc3\xa9t\xc3\xa9",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	static const char *const good[] = {
		"a", "before-upgrade", "v1.2_final", "a..b", "-", "x.",
		"1234567890123456789012345678901234567890123456789012345678901234",
	};
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		result(xsh_snap_name_check(bad[i], why, sizeof(why)) == -EINVAL,
		       "bad snapshot name refused", "'%s'", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		result(xsh_snap_name_check(good[i], why, sizeof(why)) == 0,
		       "good snapshot name taken", "'%s': %s", good[i], why);
}

static int opath(const char *p)
{
	return open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void test_dir_check(const char *root)
{
	char exp[512], inside[512], outside[512], why[256];
	int e, in, out, r;

	snprintf(exp, sizeof(exp), "%s/export", root);
	snprintf(inside, sizeof(inside), "%s/export/a/snaps", root);
	snprintf(outside, sizeof(outside), "%s/snaps", root);
	mkdir(exp, 0755);
	snprintf(why, sizeof(why), "%s/export/a", root);
	mkdir(why, 0755);
	mkdir(inside, 0755);
	mkdir(outside, 0755);
	e = opath(exp);
	in = opath(inside);
	out = opath(outside);
	r = opath(root);
	EXPECT(xsh_snap_dir_check(e, in, why, sizeof(why)) == -EINVAL &&
	       strstr(why, "inside the export"),
	       "a snapshot directory inside the export is refused");
	EXPECT(xsh_snap_dir_check(e, e, why, sizeof(why)) == -EINVAL,
	       "the export itself is refused as the snapshot directory");
	EXPECT(xsh_snap_dir_check(e, r, why, sizeof(why)) == -EINVAL &&
	       strstr(why, "export is inside"),
	       "a snapshot directory holding the export is refused");
	EXPECT(xsh_snap_dir_check(e, out, why, sizeof(why)) == 0,
	       "a snapshot directory beside the export is taken");
	close(e);
	close(in);
	close(out);
	close(r);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool file_is(const char *path, const char *text)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strcmp(buf, text);
}

static void test_cycle(const char *root)
{
	struct xsh_snap_info info, list[4], list32[XSH_SNAP_MAX];
	struct xsh_snap_ctx c = { .name = "test", .ops = &ops };
	char p[512], why[320];
	int n;

	snprintf(p, sizeof(p), "%s/export/f", root);
	write_file(p, "one");
	snprintf(p, sizeof(p), "%s/export", root);
	c.export_fd = opath(p);
	snprintf(p, sizeof(p), "%s/snaps", root);
	c.dir_fd = opath(p);

	quiesce_rc = -ETIMEDOUT;
	EXPECT(xsh_snap_take(&c, "s1", &info, why, sizeof(why)) == -ETIMEDOUT &&
	       quiesced == 1 && resumed == 0,
	       "a refused quiesce takes no snapshot and resumes nothing");
	snprintf(p, sizeof(p), "%s/snaps/s1", root);
	EXPECT(access(p, F_OK) != 0, "no snapshot left by a refused quiesce");

	quiesce_rc = 0;
	EXPECT(xsh_snap_take(&c, "s1", &info, why, sizeof(why)) == 0 &&
	       quiesced == 2 && resumed == 1,
	       "a snapshot quiesces once and resumes once");
	EXPECT(xsh_snap_take(&c, "s1", &info, why, sizeof(why)) == -EEXIST &&
	       quiesced == 2, "a second snapshot of the same name is refused before any quiesce");
	snprintf(p, sizeof(p), "%s/snaps/s1/f", root);
	EXPECT(file_is(p, "one"), "the snapshot holds the file");

	n = xsh_snap_list(&c, list, 4);
	EXPECT(n == 1 && !strcmp(list[0].name, "s1") && list[0].time == info.time &&
	       list[0].method == info.method, "list shows the snapshot as taken");

	snprintf(p, sizeof(p), "%s/export/f", root);
	write_file(p, "two");
	snprintf(p, sizeof(p), "%s/export/g", root);
	write_file(p, "new");
	EXPECT(xsh_snap_restore(&c, "s1", &info, why, sizeof(why)) == 0 &&
	       quiesced == 3 && resumed == 1 && restarted == 1,
	       "a restore quiesces the device and restarts its worker, without resuming the held one");
	snprintf(p, sizeof(p), "%s/export/f", root);
	EXPECT(file_is(p, "one"), "the restore brings the old content back");
	snprintf(p, sizeof(p), "%s/export/g", root);
	EXPECT(access(p, F_OK) != 0, "the restore removes what came later");

	EXPECT(xsh_snap_restore(&c, "../x", &info, why, sizeof(why)) == -EINVAL &&
	       quiesced == 3 && restarted == 1,
	       "a restore of a bad name touches nothing");
	snprintf(p, sizeof(p), "%s/export/f", root);
	write_file(p, "three");
	quiesce_rc = -ETIMEDOUT;
	EXPECT(xsh_snap_restore(&c, "s1", &info, why, sizeof(why)) == -ETIMEDOUT &&
	       restarted == 1 && file_is(p, "three"),
	       "a restore whose quiesce is refused changes nothing");
	quiesce_rc = 0;
	EXPECT(xsh_snap_delete(&c, "s1", why, sizeof(why)) == 0 &&
	       xsh_snap_list(&c, list, 4) == 0, "delete removes the snapshot");
	EXPECT(xsh_snap_delete(&c, "s1", why, sizeof(why)) == -ENOENT,
	       "deleting it twice says there is none");
	for (n = 0; n < (int)XSH_SNAP_MAX; n++) {
		snprintf(p, sizeof(p), "many-%d", n);
		if (xsh_snap_take(&c, p, &info, why, sizeof(why)))
			break;
	}
	EXPECT(n == (int)XSH_SNAP_MAX &&
	       xsh_snap_list(&c, list32, XSH_SNAP_MAX) == (int)XSH_SNAP_MAX,
	       "XSH_SNAP_MAX snapshots are taken and listed");
	EXPECT(xsh_snap_take(&c, "one-more", &info, why, sizeof(why)) == -ENOSPC &&
	       strstr(why, "delete one first"), "one more is refused");
	close(c.export_fd);
	close(c.dir_fd);
}

int main(void)
{
	char root[] = "/tmp/test_snapshot.XXXXXX", why[256];
	int fd;

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_names();
	test_dir_check(root);
	test_cycle(root);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		xsh_tree_clear(fd, why, sizeof(why));
		close(fd);
	}
	rmdir(root);
	return tap_summary();
}
