// SPDX-License-Identifier: MIT
/*
 * Unit tests for the opcode table (protocol/ops.h, protocol/ops.c): the
 * lookup's bounds, and each column against the sets of opcodes the code
 * used to spell out by hand, so that a changed row shows up here as a
 * changed behaviour and not only in a diff of the table.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "protocol/xenshare_proto.h"
#include "tap.h"

static bool in_set(unsigned op, const unsigned *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == op)
			return true;
	return false;
}

#define IN_SET(op, set) in_set(op, set, sizeof(set) / sizeof(set[0]))

static const unsigned entry_ops[] = {
	XSH_OP_LOOKUP, XSH_OP_MKNOD, XSH_OP_MKDIR,
	XSH_OP_SYMLINK, XSH_OP_LINK, XSH_OP_CREATE,
};

static const unsigned write_ops[] = {
	XSH_OP_SETATTR, XSH_OP_SYMLINK, XSH_OP_MKNOD, XSH_OP_MKDIR,
	XSH_OP_UNLINK, XSH_OP_RMDIR, XSH_OP_RENAME, XSH_OP_LINK,
	XSH_OP_CREATE, XSH_OP_WRITE, XSH_OP_SETXATTR, XSH_OP_REMOVEXATTR,
	XSH_OP_FALLOCATE, XSH_OP_COPY_FILE_RANGE,
};

static const unsigned inline_ops[] = {
	XSH_OP_LOOKUP, XSH_OP_GETATTR, XSH_OP_READLINK, XSH_OP_SYMLINK,
	XSH_OP_MKNOD, XSH_OP_MKDIR, XSH_OP_LINK, XSH_OP_UNLINK,
	XSH_OP_RMDIR, XSH_OP_RENAME, XSH_OP_OPEN, XSH_OP_FLUSH,
	XSH_OP_CREATE, XSH_OP_OPENDIR, XSH_OP_READDIR, XSH_OP_READDIRPLUS,
	XSH_OP_STATFS, XSH_OP_GETXATTR, XSH_OP_LISTXATTR, XSH_OP_ACCESS,
	XSH_OP_LSEEK, XSH_OP_CANCEL,
};

static const unsigned name_ops[] = {
	XSH_OP_LOOKUP, XSH_OP_MKNOD, XSH_OP_MKDIR, XSH_OP_UNLINK,
	XSH_OP_RMDIR, XSH_OP_LINK, XSH_OP_CREATE,
};

static const unsigned data_ops[] = {
	XSH_OP_WRITE, XSH_OP_FORGET, XSH_OP_REOPEN,
};

static const unsigned resend_ops[] = {
	XSH_OP_MKDIR, XSH_OP_MKNOD, XSH_OP_SYMLINK, XSH_OP_CREATE,
	XSH_OP_UNLINK, XSH_OP_RMDIR, XSH_OP_RENAME, XSH_OP_LINK,
	XSH_OP_SETXATTR, XSH_OP_REMOVEXATTR,
};

static void test_bounds(void)
{
	unsigned op, bad = 0;

	for (op = 1; op < XSH_OP_MAX; op++)
		if (!xsh_op_desc(op) || !xsh_op_desc(op)->name[0])
			bad = op;
	result(!bad, "every opcode 1..XSH_OP_MAX-1 has a named row",
	       "opcode %u", bad);
	result(!xsh_op_desc(0) && !xsh_op_desc(XSH_OP_MAX) &&
		       !xsh_op_desc(0xffffu) && !xsh_op_desc(~0u),
	       "no row for 0, XSH_OP_MAX or beyond", "a row was found");
	result(!strcmp(xsh_op_name(0), "?") &&
		       !strcmp(xsh_op_name(XSH_OP_MAX), "?") &&
		       xsh_op_flags(XSH_OP_MAX) == 0,
	       "unknown opcodes: name \"?\", no flags", "got %s",
	       xsh_op_name(XSH_OP_MAX));
	result(!strcmp(xsh_op_name(XSH_OP_LOOKUP), "LOOKUP") &&
		       !strcmp(xsh_op_name(XSH_OP_COPY_FILE_RANGE),
			       "COPY_FILE_RANGE") &&
		       !strcmp(xsh_op_name(XSH_OP_REOPEN), "REOPEN"),
	       "names are the enum's without XSH_OP_", "got %s",
	       xsh_op_name(XSH_OP_LOOKUP));
	result(XSH_OP_LOOKUP == 1 && XSH_OP_CREATE == 14 &&
		       XSH_OP_READDIRPLUS == 22 && XSH_OP_REOPEN == 34 &&
		       XSH_OP_CANCEL == 35 && XSH_OP_MAX == 36,
	       "wire numbers unchanged", "XSH_OP_MAX %d", XSH_OP_MAX);
}

static void test_columns(void)
{
	unsigned op, bad_entry = 0, bad_right = 0, bad_inline = 0;
	unsigned bad_in = 0, bad_resend = 0;
	const struct xsh_op_desc *d;
	enum xsh_op_right want_right;
	enum xsh_op_in want_in;
	bool inl;

	for (op = 1; op < XSH_OP_MAX; op++) {
		d = xsh_op_desc(op);
		if (!!(d->flags & XSH_OPF_ENTRY) != IN_SET(op, entry_ops))
			bad_entry = op;

		want_right = IN_SET(op, write_ops) ? XSH_RIGHT_WRITE :
						     XSH_RIGHT_READ;
		if (op == XSH_OP_OPEN)
			want_right = XSH_RIGHT_OPEN_MODE;
		if (d->right != want_right)
			bad_right = op;

		inl = d->inl == XSH_INLINE_ALWAYS;
		if (op == XSH_OP_SETATTR)
			inl = d->inl == XSH_INLINE_NO_TRUNCATE;
		else if (op == XSH_OP_READ || op == XSH_OP_WRITE)
			inl = d->inl == XSH_INLINE_SMALL_IO;
		else if (!IN_SET(op, inline_ops))
			inl = d->inl == XSH_INLINE_NEVER;
		if (!inl)
			bad_inline = op;

		want_in = XSH_IN_NONE;
		if (IN_SET(op, name_ops))
			want_in = XSH_IN_NAME;
		else if (IN_SET(op, data_ops))
			want_in = XSH_IN_DATA;
		else if (op == XSH_OP_GETXATTR || op == XSH_OP_REMOVEXATTR)
			want_in = XSH_IN_XNAME;
		else if (op == XSH_OP_SYMLINK)
			want_in = XSH_IN_NAME_TARGET;
		else if (op == XSH_OP_RENAME)
			want_in = XSH_IN_NAME_NAME;
		else if (op == XSH_OP_SETXATTR)
			want_in = XSH_IN_XNAME_VALUE;
		if (d->in != want_in)
			bad_in = op;

		if ((d->resend != XSH_RESEND_NONE) != IN_SET(op, resend_ops))
			bad_resend = op;
	}
	result(!bad_entry,
	       "entry replies: lookup, mknod, mkdir, symlink, link, create",
	       "%s", xsh_op_name(bad_entry));
	result(!bad_right,
	       "write right: ops that change the tree or data; OPEN by mode",
	       "%s", xsh_op_name(bad_right));
	result(!bad_inline,
	       "served inline: the ops that do not wait for the disk", "%s",
	       xsh_op_name(bad_inline));
	result(!bad_in, "input layouts", "%s", xsh_op_name(bad_in));
	result(!bad_resend, "resend fix-ups: the non-idempotent ops",
	       "%s", xsh_op_name(bad_resend));
}

static void test_restore_flags(void)
{
	unsigned f;

	f = xsh_op_flags(XSH_OP_CREATE);
	result((f & XSH_OPF_ENTRY) && (f & XSH_OPF_OPENS) &&
		       !(f & XSH_OPF_OPENS_DIR),
	       "CREATE: an entry and a file handle", "flags %#x", f);
	result(xsh_op_flags(XSH_OP_OPEN) == XSH_OPF_OPENS &&
		       xsh_op_flags(XSH_OP_OPENDIR) == XSH_OPF_OPENS_DIR &&
		       xsh_op_flags(XSH_OP_READDIRPLUS) ==
			       XSH_OPF_DIRENTS_PLUS &&
		       xsh_op_flags(XSH_OP_READDIR) == 0,
	       "OPEN, OPENDIR, READDIRPLUS: what restore records", "mismatch");
	result(xsh_op_flags(XSH_OP_FORGET) == XSH_OPF_FORGETS &&
		       xsh_op_flags(XSH_OP_RELEASE) == XSH_OPF_RELEASES &&
		       xsh_op_flags(XSH_OP_RELEASEDIR) == XSH_OPF_RELEASES &&
		       !(xsh_op_flags(XSH_OP_FLUSH) & XSH_OPF_RELEASES),
	       "FORGET, RELEASE, RELEASEDIR: send only", "mismatch");
}

int main(void)
{
	test_bounds();
	test_columns();
	test_restore_flags();
	return tap_summary();
}
