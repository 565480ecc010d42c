// SPDX-License-Identifier: MIT
/*
 * Unit tests for protocol/codec.c: a table of good and bad requests run
 * through xsh_codec_decode() (every validation rule, buffers past the end
 * of the data area, length overflow, bad names), the private-copy rule,
 * and the directory-record helpers on well-formed and malformed buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "protocol/codec.h"
#include "tap.h"

#define DATA_BYTES	(4u << 20)
#define ZEROBUF		0xffffffffu	/* buf_len 0; a 0 in the table means
					 * max(in_len, 4096) */

typedef __typeof__(((struct xsh_req *)0)->a) req_args;

struct dcase {
	const char *name;
	uint16_t op;
	const char *in;		/* NULL: in_len bytes of 'x' */
	uint32_t in_len;
	uint32_t buf_len;	/* 0: derive, ZEROBUF: none */
	uint32_t buf_off;
	int in_len_raw;		/* use raw_in_len instead of in_len */
	uint32_t raw_in_len;
	req_args a;
	int expect;
};

#define S(str) .in = str, .in_len = sizeof(str) - 1

static char name255[256], name256[257], tgt_ok[4096], tgt_long[4097];
static char xname256[257];

static const struct dcase cases[] = {
	/* opcodes */
	{ "opcode 0 is ENOSYS", 0, .expect = -ENOSYS },
	{ "opcode XSH_OP_MAX is ENOSYS", XSH_OP_MAX, .expect = -ENOSYS },
	{ "opcode 0xffff is ENOSYS", 0xffff, .expect = -ENOSYS },
	{ "getattr without input", XSH_OP_GETATTR, .expect = 0 },
	{ "getattr with stray input", XSH_OP_GETATTR, S("x"), .expect = -EINVAL },
	{ "statfs without input", XSH_OP_STATFS, .expect = 0 },

	/* buffer bounds: protocol errors */
	{ "buf_len above XSH_MAX_BUF", XSH_OP_GETATTR, .buf_len = XSH_MAX_BUF + 1,
	  .expect = XSH_CODEC_FATAL },
	{ "in_len above buf_len", XSH_OP_LOOKUP, S("abc"), .buf_len = 2,
	  .expect = XSH_CODEC_FATAL },
	{ "buffer past the data area", XSH_OP_GETATTR, .buf_off = DATA_BYTES - 100,
	  .buf_len = 101, .expect = XSH_CODEC_FATAL },
	{ "buffer ends at the data area end", XSH_OP_GETATTR,
	  .buf_off = DATA_BYTES - 100, .buf_len = 100, .expect = 0 },
	{ "buf_off + buf_len overflows 32 bits", XSH_OP_GETATTR,
	  .buf_off = 0xfffffff0u, .buf_len = 0x20, .expect = XSH_CODEC_FATAL },
	{ "buf_off past the end with buf_len 0", XSH_OP_GETATTR,
	  .buf_off = DATA_BYTES + 1, .buf_len = ZEROBUF, .expect = XSH_CODEC_FATAL },
	{ "buf_off at the end with buf_len 0", XSH_OP_GETATTR,
	  .buf_off = DATA_BYTES, .buf_len = ZEROBUF, .expect = 0 },
	{ "bad opcode with bad buffer is fatal", 0, .buf_off = DATA_BYTES,
	  .buf_len = 1, .expect = XSH_CODEC_FATAL },

	/* names */
	{ "lookup a", XSH_OP_LOOKUP, S("a"), .expect = 0 },
	{ "lookup ...", XSH_OP_LOOKUP, S("..."), .expect = 0 },
	{ "lookup .hidden", XSH_OP_LOOKUP, S(".hidden"), .expect = 0 },
	{ "lookup 255 bytes", XSH_OP_LOOKUP, .in = name255, .in_len = 255,
	  .expect = 0 },
	{ "lookup 256 bytes", XSH_OP_LOOKUP, .in = name256, .in_len = 256,
	  .expect = -ENAMETOOLONG },
	{ "lookup empty", XSH_OP_LOOKUP, .expect = -EINVAL },
	{ "lookup .", XSH_OP_LOOKUP, S("."), .expect = -EINVAL },
	{ "lookup ..", XSH_OP_LOOKUP, S(".."), .expect = -EINVAL },
	{ "lookup a/b", XSH_OP_LOOKUP, S("a/b"), .expect = -EINVAL },
	{ "lookup /", XSH_OP_LOOKUP, S("/"), .expect = -EINVAL },
	{ "lookup a NUL b", XSH_OP_LOOKUP, S("a\0b"), .expect = -EINVAL },
	{ "lookup trailing NUL", XSH_OP_LOOKUP, S("a\0"), .expect = -EINVAL },
	{ "unlink ..", XSH_OP_UNLINK, S(".."), .expect = -EINVAL },
	{ "rmdir a/..", XSH_OP_RMDIR, S("a/.."), .expect = -EINVAL },
	{ "link newname", XSH_OP_LINK, S("x"), .expect = 0 },
	{ "link empty newname", XSH_OP_LINK, .expect = -EINVAL },

	/* forget */
	{ "forget one entry", XSH_OP_FORGET, .in_len = 16, .expect = 0 },
	{ "forget empty", XSH_OP_FORGET, .expect = -EINVAL },
	{ "forget 17 bytes", XSH_OP_FORGET, .in_len = 17, .expect = -EINVAL },
	{ "forget 8 bytes", XSH_OP_FORGET, .in_len = 8, .expect = -EINVAL },
	{ "forget XSH_FORGET_MAX entries", XSH_OP_FORGET,
	  .in_len = 16 * XSH_FORGET_MAX, .expect = 0 },
	{ "forget XSH_FORGET_MAX + 1 entries", XSH_OP_FORGET,
	  .in_len = 16 * (XSH_FORGET_MAX + 1), .expect = -EINVAL },

	/* read / write / readdir */
	{ "read 4096", XSH_OP_READ, .buf_len = 4096,
	  .a.io = { .offset = 0, .size = 4096 }, .expect = 0 },
	{ "read XSH_MAX_IO", XSH_OP_READ, .buf_len = XSH_MAX_BUF,
	  .a.io = { .size = XSH_MAX_IO }, .expect = 0 },
	{ "read above XSH_MAX_IO", XSH_OP_READ, .buf_len = XSH_MAX_BUF,
	  .a.io = { .size = XSH_MAX_IO + 1 }, .expect = -EINVAL },
	{ "read larger than its buffer", XSH_OP_READ, .buf_len = 4096,
	  .a.io = { .size = 4097 }, .expect = -EINVAL },
	{ "read offset above INT64_MAX", XSH_OP_READ, .buf_len = 4096,
	  .a.io = { .offset = 1ull << 63, .size = 1 }, .expect = -EINVAL },
	{ "read with stray input", XSH_OP_READ, S("x"), .buf_len = 4096,
	  .a.io = { .size = 1 }, .expect = -EINVAL },
	{ "write in_len == size", XSH_OP_WRITE, .in_len = 100,
	  .a.io = { .size = 100 }, .expect = 0 },
	{ "write XSH_MAX_IO", XSH_OP_WRITE, .in_len = XSH_MAX_IO,
	  .a.io = { .size = XSH_MAX_IO }, .expect = 0 },
	{ "write in_len != size", XSH_OP_WRITE, .in_len = 100,
	  .a.io = { .size = 99 }, .expect = -EINVAL },
	{ "write above XSH_MAX_IO", XSH_OP_WRITE, .in_len = XSH_MAX_IO + 1,
	  .a.io = { .size = XSH_MAX_IO + 1 }, .expect = -EINVAL },
	{ "write offset above INT64_MAX", XSH_OP_WRITE, .in_len = 1,
	  .a.io = { .offset = ~0ull, .size = 1 }, .expect = -EINVAL },
	{ "write empty", XSH_OP_WRITE, .expect = 0 },
	{ "readdir 4096", XSH_OP_READDIR, .buf_len = 4096,
	  .a.io = { .offset = ~0ull, .size = 4096 }, .expect = 0 },
	{ "readdir larger than its buffer", XSH_OP_READDIR, .buf_len = 4096,
	  .a.io = { .size = 8192 }, .expect = -EINVAL },
	{ "readdirplus larger than its buffer", XSH_OP_READDIRPLUS,
	  .buf_len = 100, .a.io = { .size = 101 }, .expect = -EINVAL },

	/* setattr */
	{ "setattr every flag", XSH_OP_SETATTR,
	  .a.setattr = { .valid = XSH_SETATTR_ALL, .mode = 07777 }, .expect = 0 },
	{ "setattr unknown flag", XSH_OP_SETATTR,
	  .a.setattr = { .valid = XSH_SETATTR_ALL + 1 }, .expect = -EINVAL },
	{ "setattr mode with type bits", XSH_OP_SETATTR,
	  .a.setattr = { .valid = XSH_SETATTR_MODE, .mode = S_IFREG | 0644 },
	  .expect = -EINVAL },
	{ "setattr atime_nsec 999999999", XSH_OP_SETATTR,
	  .a.setattr = { .valid = XSH_SETATTR_ATIME, .atime_nsec = 999999999 },
	  .expect = 0 },
	{ "setattr atime_nsec 1e9", XSH_OP_SETATTR,
	  .a.setattr = { .valid = XSH_SETATTR_ATIME, .atime_nsec = 1000000000 },
	  .expect = -EINVAL },
	{ "setattr mtime_nsec 1e9", XSH_OP_SETATTR,
	  .a.setattr = { .valid = XSH_SETATTR_MTIME, .mtime_nsec = 1000000000 },
	  .expect = -EINVAL },
	{ "setattr size above INT64_MAX", XSH_OP_SETATTR,
	  .a.setattr = { .valid = XSH_SETATTR_SIZE, .size = 1ull << 63 },
	  .expect = -EINVAL },

	/* open / create */
	{ "open O_RDWR|O_APPEND|O_LARGEFILE", XSH_OP_OPEN,
	  .a.open = { .flags = O_RDWR | O_APPEND | 0100000 }, .expect = 0 },
	{ "open every allowed flag", XSH_OP_OPEN,
	  .a.open = { .flags = O_WRONLY | O_APPEND | O_TRUNC | O_EXCL |
		      O_NONBLOCK | O_SYNC | O_DIRECT | O_NOATIME |
		      O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC },
	  .expect = 0 },
	{ "open O_CREAT", XSH_OP_OPEN, .a.open = { .flags = O_CREAT },
	  .expect = -EINVAL },
	{ "open access mode 3", XSH_OP_OPEN, .a.open = { .flags = 3 },
	  .expect = -EINVAL },
	{ "open O_PATH", XSH_OP_OPEN, .a.open = { .flags = O_PATH },
	  .expect = -EINVAL },
	{ "open O_TMPFILE", XSH_OP_OPEN, .a.open = { .flags = O_TMPFILE | O_RDWR },
	  .expect = -EINVAL },
	{ "open O_NOCTTY", XSH_OP_OPEN, .a.open = { .flags = O_NOCTTY },
	  .expect = -EINVAL },
	{ "open O_ASYNC", XSH_OP_OPEN, .a.open = { .flags = O_ASYNC },
	  .expect = -EINVAL },
	{ "opendir O_CREAT", XSH_OP_OPENDIR, .a.open = { .flags = O_CREAT },
	  .expect = -EINVAL },
	{ "create O_CREAT|O_EXCL|O_WRONLY 0644", XSH_OP_CREATE, S("f"),
	  .a.open = { .flags = O_CREAT | O_EXCL | O_WRONLY, .mode = 0644,
		      .umask = 022 },
	  .expect = 0 },
	{ "create S_IFREG mode", XSH_OP_CREATE, S("f"),
	  .a.open = { .flags = O_CREAT, .mode = S_IFREG | 0644 }, .expect = 0 },
	{ "create S_IFDIR mode", XSH_OP_CREATE, S("f"),
	  .a.open = { .flags = O_CREAT, .mode = S_IFDIR | 0755 },
	  .expect = -EINVAL },
	{ "create bad umask", XSH_OP_CREATE, S("f"),
	  .a.open = { .flags = O_CREAT, .umask = 010000 }, .expect = -EINVAL },
	{ "create bad name", XSH_OP_CREATE, S("a/b"),
	  .a.open = { .flags = O_CREAT }, .expect = -EINVAL },

	/* mknod / mkdir */
	{ "mknod fifo", XSH_OP_MKNOD, S("p"),
	  .a.mknod = { .mode = S_IFIFO | 0644 }, .expect = 0 },
	{ "mknod chr (policy decides)", XSH_OP_MKNOD, S("c"),
	  .a.mknod = { .mode = S_IFCHR | 0600, .rdev = 0x103 }, .expect = 0 },
	{ "mknod without type", XSH_OP_MKNOD, S("p"),
	  .a.mknod = { .mode = 0644 }, .expect = -EINVAL },
	{ "mknod directory", XSH_OP_MKNOD, S("p"),
	  .a.mknod = { .mode = S_IFDIR | 0755 }, .expect = -EINVAL },
	{ "mknod symlink type", XSH_OP_MKNOD, S("p"),
	  .a.mknod = { .mode = S_IFLNK | 0777 }, .expect = -EINVAL },
	{ "mkdir 0755", XSH_OP_MKDIR, S("d"), .a.mknod = { .mode = 0755 },
	  .expect = 0 },
	{ "mkdir S_IFDIR|01777", XSH_OP_MKDIR, S("d"),
	  .a.mknod = { .mode = S_IFDIR | 01777 }, .expect = 0 },
	{ "mkdir S_IFREG", XSH_OP_MKDIR, S("d"),
	  .a.mknod = { .mode = S_IFREG | 0755 }, .expect = -EINVAL },
	{ "mkdir .", XSH_OP_MKDIR, S("."), .a.mknod = { .mode = 0755 },
	  .expect = -EINVAL },

	/* symlink */
	{ "symlink a -> target", XSH_OP_SYMLINK, S("atarget"),
	  .a.symlink = { .name_len = 1 }, .expect = 0 },
	{ "symlink name_len past input", XSH_OP_SYMLINK, S("atarget"),
	  .a.symlink = { .name_len = 8 }, .expect = -EINVAL },
	{ "symlink name_len 0", XSH_OP_SYMLINK, S("atarget"),
	  .a.symlink = { .name_len = 0 }, .expect = -EINVAL },
	{ "symlink empty target", XSH_OP_SYMLINK, S("a"),
	  .a.symlink = { .name_len = 1 }, .expect = -EINVAL },
	{ "symlink target with NUL", XSH_OP_SYMLINK, S("ata\0rget"),
	  .a.symlink = { .name_len = 1 }, .expect = -EINVAL },
	{ "symlink target 4095 bytes", XSH_OP_SYMLINK, .in = tgt_ok,
	  .in_len = 4096, .a.symlink = { .name_len = 1 }, .expect = 0 },
	{ "symlink target 4096 bytes", XSH_OP_SYMLINK, .in = tgt_long,
	  .in_len = 4097, .a.symlink = { .name_len = 1 },
	  .expect = -ENAMETOOLONG },
	{ "symlink named .", XSH_OP_SYMLINK, S(".target"),
	  .a.symlink = { .name_len = 1 }, .expect = -EINVAL },
	{ "symlink name with slash", XSH_OP_SYMLINK, S("a/btarget"),
	  .a.symlink = { .name_len = 3 }, .expect = -EINVAL },
	{ "symlink absolute target", XSH_OP_SYMLINK, S("l/etc/passwd"),
	  .a.symlink = { .name_len = 1 }, .expect = 0 },

	/* rename */
	{ "rename a b", XSH_OP_RENAME, S("ab"), .a.rename = { .name_len = 1 },
	  .expect = 0 },
	{ "rename NOREPLACE", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 1, .flags = 1 }, .expect = 0 },
	{ "rename EXCHANGE", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 1, .flags = 2 }, .expect = 0 },
	{ "rename NOREPLACE|EXCHANGE", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 1, .flags = 3 }, .expect = -EINVAL },
	{ "rename EXCHANGE with nodes", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 1, .flags = 2, .node = 5, .newnode = 6 },
	  .expect = 0 },
	{ "rename with a node, no EXCHANGE", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 1, .newnode = 6 }, .expect = -EINVAL },
	{ "rename WHITEOUT", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 1, .flags = 4 }, .expect = -EINVAL },
	{ "rename empty newname", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 2 }, .expect = -EINVAL },
	{ "rename newname ..", XSH_OP_RENAME, S("a.."),
	  .a.rename = { .name_len = 1 }, .expect = -EINVAL },
	{ "rename name_len past input", XSH_OP_RENAME, S("ab"),
	  .a.rename = { .name_len = 0xffffffffu }, .expect = -EINVAL },

	/* xattrs */
	{ "setxattr user.hello=v", XSH_OP_SETXATTR, S("user.hellov"),
	  .a.xattr = { .name_len = 10 }, .expect = 0 },
	{ "setxattr empty value", XSH_OP_SETXATTR, S("user.hello"),
	  .a.xattr = { .name_len = 10 }, .expect = 0 },
	{ "setxattr 64 KiB value", XSH_OP_SETXATTR, .in_len = 1 + 65536,
	  .a.xattr = { .name_len = 1 }, .expect = 0 },
	{ "setxattr 64 KiB + 1 value", XSH_OP_SETXATTR, .in_len = 2 + 65536,
	  .a.xattr = { .name_len = 1 }, .expect = -E2BIG },
	{ "setxattr empty name", XSH_OP_SETXATTR, S("v"),
	  .a.xattr = { .name_len = 0 }, .expect = -ERANGE },
	{ "setxattr 256-byte name", XSH_OP_SETXATTR, .in = xname256,
	  .in_len = 256, .a.xattr = { .name_len = 256 }, .expect = -ERANGE },
	{ "setxattr name with NUL", XSH_OP_SETXATTR, S("us\0erv"),
	  .a.xattr = { .name_len = 5 }, .expect = -ERANGE },
	{ "setxattr CREATE|REPLACE", XSH_OP_SETXATTR, S("user.av"),
	  .a.xattr = { .name_len = 6, .flags = 3 }, .expect = 0 },
	{ "setxattr unknown flag", XSH_OP_SETXATTR, S("user.av"),
	  .a.xattr = { .name_len = 6, .flags = 4 }, .expect = -EINVAL },
	{ "setxattr name_len past input", XSH_OP_SETXATTR, S("user.a"),
	  .a.xattr = { .name_len = 7 }, .expect = -EINVAL },
	{ "getxattr user.x", XSH_OP_GETXATTR, S("user.x"), .buf_len = 4096,
	  .a.xattr = { .size = 100 }, .expect = 0 },
	{ "getxattr size above buffer", XSH_OP_GETXATTR, S("user.x"),
	  .buf_len = 4096, .a.xattr = { .size = 4097 }, .expect = -EINVAL },
	{ "getxattr empty name", XSH_OP_GETXATTR, .expect = -ERANGE },
	{ "getxattr name with slash is fine", XSH_OP_GETXATTR, S("user.a/b"),
	  .expect = 0 },
	{ "listxattr size query", XSH_OP_LISTXATTR, .expect = 0 },
	{ "listxattr size above buffer", XSH_OP_LISTXATTR, .buf_len = 10,
	  .a.xattr = { .size = 11 }, .expect = -EINVAL },
	{ "removexattr 256-byte name", XSH_OP_REMOVEXATTR, .in = xname256,
	  .in_len = 256, .expect = -ERANGE },

	/* access, fallocate, lseek, copy, fsync, reopen */
	{ "access rwx", XSH_OP_ACCESS, .a.access = { .mask = 7 }, .expect = 0 },
	{ "access F_OK", XSH_OP_ACCESS, .a.access = { .mask = 0 }, .expect = 0 },
	{ "access bad mask", XSH_OP_ACCESS, .a.access = { .mask = 8 },
	  .expect = -EINVAL },
	{ "fallocate 0", XSH_OP_FALLOCATE, .a.fallocate = { .length = 1 },
	  .expect = 0 },
	{ "fallocate KEEP_SIZE", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = 1, .mode = 1 }, .expect = 0 },
	{ "fallocate PUNCH_HOLE|KEEP_SIZE", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = 1, .mode = 3 }, .expect = 0 },
	{ "fallocate ZERO_RANGE", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = 1, .mode = 0x10 }, .expect = 0 },
	{ "fallocate ZERO_RANGE|KEEP_SIZE", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = 1, .mode = 0x11 }, .expect = 0 },
	{ "fallocate PUNCH_HOLE alone", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = 1, .mode = 2 }, .expect = -EINVAL },
	{ "fallocate COLLAPSE_RANGE", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = 1, .mode = 8 }, .expect = -EINVAL },
	{ "fallocate INSERT_RANGE", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = 1, .mode = 0x20 }, .expect = -EINVAL },
	{ "fallocate offset above INT64_MAX", XSH_OP_FALLOCATE,
	  .a.fallocate = { .offset = 1ull << 63, .length = 1 },
	  .expect = -EINVAL },
	{ "fallocate length above INT64_MAX", XSH_OP_FALLOCATE,
	  .a.fallocate = { .length = ~0ull }, .expect = -EINVAL },
	{ "lseek SEEK_DATA", XSH_OP_LSEEK, .a.lseek = { .whence = 3 },
	  .expect = 0 },
	{ "lseek SEEK_HOLE", XSH_OP_LSEEK, .a.lseek = { .whence = 4 },
	  .expect = 0 },
	{ "lseek SEEK_SET", XSH_OP_LSEEK, .a.lseek = { .whence = 0 },
	  .expect = -EINVAL },
	{ "lseek SEEK_END", XSH_OP_LSEEK, .a.lseek = { .whence = 2 },
	  .expect = -EINVAL },
	{ "lseek offset above INT64_MAX", XSH_OP_LSEEK,
	  .a.lseek = { .whence = 3, .offset = ~0ull }, .expect = -EINVAL },
	{ "copy_file_range flags 0", XSH_OP_COPY_FILE_RANGE,
	  .a.copy = { .len = ~0ull }, .expect = 0 },
	{ "copy_file_range flags 1", XSH_OP_COPY_FILE_RANGE,
	  .a.copy = { .flags = 1 }, .expect = -EINVAL },
	{ "copy_file_range off_out above INT64_MAX", XSH_OP_COPY_FILE_RANGE,
	  .a.copy = { .off_out = 1ull << 63 }, .expect = -EINVAL },
	{ "fsync datasync", XSH_OP_FSYNC, .a.fsync = { .datasync = 1 },
	  .expect = 0 },
	{ "reopen 128-byte handle", XSH_OP_REOPEN, .in_len = XSH_HANDLE_MAX,
	  .a.reopen = { .kind = XSH_REOPEN_NODE, .id = 2, .nlookup = 1 },
	  .expect = 0 },
	{ "reopen 129-byte handle", XSH_OP_REOPEN, .in_len = XSH_HANDLE_MAX + 1,
	  .a.reopen = { .kind = XSH_REOPEN_NODE, .id = 2, .nlookup = 1 },
	  .expect = -EINVAL },
	{ "reopen kind 0", XSH_OP_REOPEN, .in_len = 8,
	  .a.reopen = { .id = 2, .nlookup = 1 }, .expect = -EINVAL },
	{ "reopen kind 4", XSH_OP_REOPEN, .in_len = 8,
	  .a.reopen = { .kind = 4, .id = 2, .nlookup = 1 }, .expect = -EINVAL },
	{ "reopen node with nlookup 0", XSH_OP_REOPEN, .in_len = 8,
	  .a.reopen = { .kind = XSH_REOPEN_NODE, .id = 2 }, .expect = -EINVAL },
	{ "reopen node index 0", XSH_OP_REOPEN, .in_len = 8,
	  .a.reopen = { .kind = XSH_REOPEN_NODE, .id = 5ull << 32,
			.nlookup = 1 }, .expect = -EINVAL },
	{ "reopen the root", XSH_OP_REOPEN, .in_len = 8,
	  .a.reopen = { .kind = XSH_REOPEN_NODE, .id = XSH_ROOT_NODEID,
			.nlookup = 1 }, .expect = -EINVAL },
	{ "reopen file O_RDWR|O_CREAT|O_EXCL", XSH_OP_REOPEN,
	  .a.reopen = { .kind = XSH_REOPEN_FILE, .id = 3,
			.flags = O_RDWR | O_CREAT | O_EXCL }, .expect = 0 },
	{ "reopen file with input", XSH_OP_REOPEN, .in_len = 8,
	  .a.reopen = { .kind = XSH_REOPEN_FILE, .id = 3 }, .expect = -EINVAL },
	{ "reopen file O_ACCMODE", XSH_OP_REOPEN,
	  .a.reopen = { .kind = XSH_REOPEN_FILE, .id = 3, .flags = 3 },
	  .expect = -EINVAL },
	{ "reopen dir with nlookup", XSH_OP_REOPEN,
	  .a.reopen = { .kind = XSH_REOPEN_DIR, .id = 3, .nlookup = 1 },
	  .expect = -EINVAL },
};

static uint8_t *data, *scratch;

static int run_case(const struct dcase *dc, struct xsh_msg *m)
{
	struct xsh_req r;

	memset(&r, 0, sizeof(r));
	r.id = 42;
	r.opcode = dc->op;
	r.nodeid = 1;
	r.a = dc->a;
	r.buf_off = dc->buf_off;
	r.in_len = dc->in_len;
	if (dc->buf_len == 0)
		r.buf_len = dc->in_len > 4096 ? dc->in_len : 4096;
	else if (dc->buf_len == ZEROBUF)
		r.buf_len = 0;
	else
		r.buf_len = dc->buf_len;
	if ((uint64_t)r.buf_off + r.in_len <= DATA_BYTES) {
		if (dc->in)
			memcpy(data + r.buf_off, dc->in, r.in_len);
		else
			memset(data + r.buf_off, 'x', r.in_len);
	}
	return xsh_codec_decode(&r, data, DATA_BYTES, scratch, m);
}

static void test_table(void)
{
	struct xsh_msg m;
	char name[160];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = run_case(&cases[i], &m);
		snprintf(name, sizeof(name), "decode: %s", cases[i].name);
		result(rc == cases[i].expect, name, "got %d, want %d", rc,
		       cases[i].expect);
	}
}

static struct xsh_req base_req(uint16_t op, uint32_t in_len)
{
	struct xsh_req r;

	memset(&r, 0, sizeof(r));
	r.id = 7;
	r.opcode = op;
	r.buf_off = 4096;
	r.buf_len = 8192;
	r.in_len = in_len;
	return r;
}

static void test_private_copies(void)
{
	char why[160] = "";
	struct xsh_msg m;
	struct xsh_req r;
	int rc;

	/* names end up NUL-terminated in scratch, not in the data area */
	r = base_req(XSH_OP_RENAME, 7);
	r.a.rename.name_len = 3;
	memcpy(data + 4096, "oldnewx", 7);
	data[4096 + 7] = 'Z';
	rc = xsh_codec_decode(&r, data, DATA_BYTES, scratch, &m);
	if (rc)
		snprintf(why, sizeof(why), "decode %d", rc);
	else if (strcmp(m.name, "old") || strcmp(m.name2, "newx") ||
		 m.name_len != 3 || m.name2_len != 4)
		snprintf(why, sizeof(why), "names '%s' '%s'", m.name, m.name2);
	else if ((const uint8_t *)m.name < scratch ||
		 (const uint8_t *)m.name >= scratch + XSH_MAX_BUF + 2)
		snprintf(why, sizeof(why), "name not in scratch");
	else if (m.out != data + 4096 || m.out_cap != 8192)
		snprintf(why, sizeof(why), "out %p cap %u", m.out, m.out_cap);
	result(!why[0], "decode: rename names are private NUL-terminated copies",
	       "%s", why);

	/* the guest changing the buffer after decode changes nothing */
	memcpy(data + 4096, "XXXXXXX", 7);
	result(!rc && !strcmp(m.name, "old") && !strcmp(m.name2, "newx"),
	       "decode: later writes to the data area do not reach the copy",
	       "names changed");

	why[0] = 0;
	r = base_req(XSH_OP_SETXATTR, 9);
	r.a.xattr.name_len = 6;
	memcpy(data + 4096, "user.avvv", 9);
	rc = xsh_codec_decode(&r, data, DATA_BYTES, scratch, &m);
	if (rc || strcmp(m.name, "user.a") || m.data_len != 3 ||
	    memcmp(m.data, "vvv", 3) || m.name2)
		snprintf(why, sizeof(why), "rc %d name %s len %u", rc,
			 m.name ? m.name : "-", m.data_len);
	result(!why[0], "decode: setxattr splits name and value", "%s", why);

	why[0] = 0;
	r = base_req(XSH_OP_WRITE, 5);
	r.a.io.size = 5;
	memcpy(data + 4096, "hello", 5);
	rc = xsh_codec_decode(&r, data, DATA_BYTES, scratch, &m);
	if (rc || m.data != scratch || m.data_len != 5 ||
	    memcmp(m.data, "hello", 5))
		snprintf(why, sizeof(why), "rc %d", rc);
	result(!why[0], "decode: write data is copied to scratch", "%s", why);

	why[0] = 0;
	r = base_req(XSH_OP_SYMLINK, 12);
	r.a.symlink.name_len = 4;
	memcpy(data + 4096, "link/etc/pass", 12);
	rc = xsh_codec_decode(&r, data, DATA_BYTES, scratch, &m);
	if (rc || strcmp(m.name, "link") || strcmp(m.name2, "/etc/pas"))
		snprintf(why, sizeof(why), "rc %d", rc);
	result(!why[0], "decode: symlink name and target", "%s", why);

	r = base_req(XSH_OP_GETATTR, 0);
	r.buf_len = 0;
	rc = xsh_codec_decode(&r, data, DATA_BYTES, scratch, &m);
	result(!rc && !m.out && !m.out_cap && !m.name && !m.data,
	       "decode: no buffer means no out pointer", "rc %d", rc);

	r = base_req(XSH_OP_GETATTR, 0);
	r.flags = 0xffff;
	r.pad = 0xffffffff;
	rc = xsh_codec_decode(&r, data, DATA_BYTES, scratch, &m);
	result(!rc, "decode: reserved fields and padding are ignored",
	       "rc %d", rc);

	r = base_req(XSH_OP_GETATTR, 0);
	r.buf_len = 16;
	rc = xsh_codec_decode(&r, NULL, 0, scratch, &m);
	result(rc == XSH_CODEC_FATAL, "decode: no data area, any buffer is fatal",
	       "rc %d", rc);
}

static void test_names(void)
{
	result(!strcmp(xsh_op_name(XSH_OP_LOOKUP), "LOOKUP") &&
		       !strcmp(xsh_op_name(XSH_OP_COPY_FILE_RANGE),
			       "COPY_FILE_RANGE") &&
		       !strcmp(xsh_op_name(0), "?") &&
		       !strcmp(xsh_op_name(XSH_OP_MAX), "?") &&
		       !strcmp(xsh_op_name(100000), "?"),
	       "op names", "wrong name");
}

static void test_rsp(void)
{
	struct xsh_req r = base_req(XSH_OP_READ, 0);
	struct xsh_rsp rsp;
	size_t i;
	int zero = 1;

	memset(&rsp, 0xa5, sizeof(rsp));
	xsh_codec_rsp_init(&rsp, &r);
	for (i = sizeof(rsp.id); i < sizeof(rsp); i++)
		if (((uint8_t *)&rsp)[i])
			zero = 0;
	result(rsp.id == 7 && zero, "rsp_init zeroes and sets the id",
	       "id %llu", (unsigned long long)rsp.id);

	result(xsh_codec_check_rsp(&r, &rsp) == 0, "check_rsp accepts a good one",
	       "refused");
	rsp.out_len = r.buf_len;
	result(xsh_codec_check_rsp(&r, &rsp) == 0,
	       "check_rsp accepts out_len == buf_len", "refused");
	rsp.out_len = r.buf_len + 1;
	result(xsh_codec_check_rsp(&r, &rsp) == -EPROTO,
	       "check_rsp refuses out_len > buf_len", "accepted");
	rsp.out_len = 0;
	rsp.id = 8;
	result(xsh_codec_check_rsp(&r, &rsp) == -EPROTO,
	       "check_rsp refuses another id", "accepted");
	rsp.id = 7;
	rsp.error = -1;
	result(xsh_codec_check_rsp(&r, &rsp) == -EPROTO,
	       "check_rsp refuses a negative error", "accepted");
	rsp.error = 4096;
	result(xsh_codec_check_rsp(&r, &rsp) == -EPROTO,
	       "check_rsp refuses error 4096", "accepted");
	rsp.error = 4095;
	result(xsh_codec_check_rsp(&r, &rsp) == 0, "check_rsp accepts error 4095",
	       "refused");
}

static void test_dirents(void)
{
	uint8_t buf[512] __attribute__((aligned(8)));
	const struct xsh_dirent *d;
	const struct xsh_direntplus *dp;
	struct xsh_rsp_entry e;
	struct xsh_dirent raw;
	const char *name;
	char why[160] = "";
	uint32_t len = 0, pos;
	int rc, n = 0;

	memset(buf, 0xee, sizeof(buf));
	if (xsh_codec_put_dirent(buf, sizeof(buf), &len, 10, 1, 4, "a", 1) ||
	    xsh_codec_put_dirent(buf, sizeof(buf), &len, 11, 2, 8, "hello", 5) ||
	    xsh_codec_put_dirent(buf, sizeof(buf), &len, 12, 3, 8,
				"exactly8", 8))
		snprintf(why, sizeof(why), "put failed");
	else if (len != 32 + 32 + 32)
		snprintf(why, sizeof(why), "len %u", len);
	for (pos = 0; !why[0];) {
		rc = xsh_codec_next_dirent(buf, len, pos, &d, &name);
		if (rc == 0)
			break;
		if (rc < 0 || rc % 8) {
			snprintf(why, sizeof(why), "next %d at %u", rc, pos);
			break;
		}
		n++;
		if (d->ino != (uint64_t)(9 + n) || d->off != (uint64_t)n)
			snprintf(why, sizeof(why), "record %d fields", n);
		pos += (uint32_t)rc;
	}
	if (!why[0] && n != 3)
		snprintf(why, sizeof(why), "%d records", n);
	if (!why[0] && (buf[24 + 1] || buf[31]))
		snprintf(why, sizeof(why), "padding not zeroed");
	result(!why[0], "dirent put/next round trip", "%s", why);

	len = 0;
	rc = xsh_codec_put_dirent(buf, 30, &len, 1, 1, 0, "abcdefg", 7);
	result(rc == -ENOSPC && len == 0, "put_dirent -ENOSPC leaves len alone",
	       "rc %d len %u", rc, len);
	len = 40;
	rc = xsh_codec_put_dirent(buf, 32, &len, 1, 1, 0, "a", 1);
	result(rc == -ENOSPC && len == 40, "put_dirent with len > cap",
	       "rc %d", rc);

	memset(&e, 0, sizeof(e));
	e.nodeid = 99;
	e.attr.ino = 1234;
	len = 0;
	rc = xsh_codec_put_direntplus(buf, sizeof(buf), &len, &e, 77, 8, "f", 1);
	pos = 0;
	if (!rc)
		rc = xsh_codec_next_direntplus(buf, len, pos, &dp, &name);
	result(rc == 136 + 8 && dp->entry.nodeid == 99 &&
		       dp->dirent.ino == 1234 && dp->dirent.off == 77 &&
		       name[0] == 'f' && len == 144,
	       "direntplus put/next round trip", "rc %d len %u", rc, len);
	rc = xsh_codec_put_direntplus(buf, 200, &len, &e, 77, 8, "g", 1);
	result(rc == -ENOSPC && len == 144, "put_direntplus -ENOSPC",
	       "rc %d len %u", rc, len);

	{
		static const uint8_t h[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					       11, 12, 13, 14, 15, 16, 17, 18,
					       19, 20 };
		const uint8_t *hp;

		len = 0;
		rc = xsh_codec_put_direntplus_h(buf, sizeof(buf), &len, &e, 5, 8,
					       "abc", 3, h, sizeof(h));
		if (!rc)
			rc = xsh_codec_put_direntplus(buf, sizeof(buf), &len,
						     &e, 6, 8, "z", 1);
		pos = 0;
		if (!rc)
			rc = xsh_codec_next_direntplus(buf, len, pos, &dp,
						      &name);
		hp = (const uint8_t *)name + 3;
		result(rc == 136 + 24 && dp->dirent.handle_len == 20 &&
			       !memcmp(hp, h, 20) && len == 160 + 144 &&
			       xsh_codec_next_direntplus(buf, len, 160, &dp,
							&name) == 144 &&
			       dp->dirent.handle_len == 0 && name[0] == 'z',
		       "direntplus with a handle round trip", "rc %d len %u",
		       rc, len);
		rc = xsh_codec_put_direntplus_h(buf, sizeof(buf), &len, &e, 5,
					       8, "abc", 3, h,
					       XSH_HANDLE_MAX + 1);
		result(rc == -EINVAL, "put_direntplus_h: handle too long",
		       "rc %d", rc);
		/* a handle length that runs past the buffer, or on a plain
		 * READDIR record */
		len = 0;
		xsh_codec_put_direntplus_h(buf, sizeof(buf), &len, &e, 5, 8,
					  "abc", 3, h, sizeof(h));
		((struct xsh_direntplus *)buf)->dirent.handle_len = 200;
		result(xsh_codec_next_direntplus(buf, len, 0, &dp, &name) ==
			       -EPROTO,
		       "next_direntplus: handle_len past the end", "not -EPROTO");
		len = 0;
		xsh_codec_put_dirent(buf, sizeof(buf), &len, 1, 1, 0, "abc", 3);
		((struct xsh_dirent *)buf)->handle_len = 1;
		result(xsh_codec_next_dirent(buf, len, 0, &d, &name) == -EPROTO,
		       "next_dirent: handle_len on a READDIR record",
		       "not -EPROTO");
	}

	/* malformed records for the frontend's iterator */
	result(xsh_codec_next_dirent(buf, 0, 0, &d, &name) == 0,
	       "next_dirent: empty buffer is the end", "not 0");
	result(xsh_codec_next_dirent(buf, 16, 0, &d, &name) == -EPROTO,
	       "next_dirent: truncated header", "not -EPROTO");
	result(xsh_codec_next_dirent(buf, 32, 40, &d, &name) == -EPROTO,
	       "next_dirent: pos past len", "not -EPROTO");
	len = 0;
	xsh_codec_put_dirent(buf, sizeof(buf), &len, 1, 1, 0, "abc", 3);
	xsh_codec_put_dirent(buf, sizeof(buf), &len, 1, 1, 0, "abc", 3);
	result(xsh_codec_next_dirent(buf, len, 4, &d, &name) == -EPROTO,
	       "next_dirent: misaligned pos", "not -EPROTO");
	result(xsh_codec_next_dirent(buf, 31, 0, &d, &name) == -EPROTO,
	       "next_dirent: record longer than the buffer", "not -EPROTO");

	memset(&raw, 0, sizeof(raw));
	raw.namelen = 0;
	memcpy(buf, &raw, sizeof(raw));
	result(xsh_codec_next_dirent(buf, 32, 0, &d, &name) == -EPROTO,
	       "next_dirent: namelen 0", "not -EPROTO");
	raw.namelen = 256;
	memcpy(buf, &raw, sizeof(raw));
	result(xsh_codec_next_dirent(buf, sizeof(buf), 0, &d, &name) == -EPROTO,
	       "next_dirent: namelen 256", "not -EPROTO");
	raw.namelen = 200;
	memcpy(buf, &raw, sizeof(raw));
	memset(buf + 24, 'a', 200);
	result(xsh_codec_next_dirent(buf, 64, 0, &d, &name) == -EPROTO,
	       "next_dirent: namelen past the end", "not -EPROTO");
	raw.namelen = 0xffff;
	memcpy(buf, &raw, sizeof(raw));
	result(xsh_codec_next_dirent(buf, sizeof(buf), 0, &d, &name) == -EPROTO,
	       "next_dirent: namelen 0xffff", "not -EPROTO");
	raw.namelen = 3;
	memcpy(buf, &raw, sizeof(raw));
	memcpy(buf + 24, "a/b", 3);
	result(xsh_codec_next_dirent(buf, 32, 0, &d, &name) == -EPROTO,
	       "next_dirent: name with slash", "not -EPROTO");
	memcpy(buf + 24, "a\0b", 3);
	result(xsh_codec_next_dirent(buf, 32, 0, &d, &name) == -EPROTO,
	       "next_dirent: name with NUL", "not -EPROTO");
	memcpy(buf + 24, "..\0", 3);
	raw.namelen = 2;
	memcpy(buf, &raw, sizeof(raw));
	rc = xsh_codec_next_dirent(buf, 32, 0, &d, &name);
	result(rc == 32, "next_dirent: .. is a valid entry", "rc %d", rc);

	result(xsh_codec_next_direntplus(buf, 100, 0, &dp, &name) == -EPROTO,
	       "next_direntplus: truncated header", "not -EPROTO");
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 112, &raw, sizeof(raw));	/* namelen 2 at dirent */
	raw.namelen = 100;
	memcpy(buf + 112, &raw, sizeof(raw));
	result(xsh_codec_next_direntplus(buf, 144, 0, &dp, &name) == -EPROTO,
	       "next_direntplus: namelen past the end", "not -EPROTO");
	raw.namelen = 0;
	memcpy(buf + 112, &raw, sizeof(raw));
	result(xsh_codec_next_direntplus(buf, 144, 0, &dp, &name) == -EPROTO,
	       "next_direntplus: namelen 0", "not -EPROTO");
}

static void test_parse_u64(void)
{
	static const struct {
		const char *s;
		uint64_t max;
		int rc;
		uint64_t v;
	} t[] = {
		{ "0", 10, 0, 0 },
		{ "42", 42, 0, 42 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "43", 42, -ERANGE, 0 },
		{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
		{ "", 10, -EINVAL, 0 },
		{ "01", 10, -EINVAL, 0 },
		{ "-1", 10, -EINVAL, 0 },
		{ " 1", 10, -EINVAL, 0 },
		{ "1 ", 10, -EINVAL, 0 },
		{ "1x", 10, -EINVAL, 0 },
		{ "+1", 10, -EINVAL, 0 },
	};
	uint64_t v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = 0;
		rc = xsh_codec_parse_u64(t[i].s, t[i].max, &v);
		result(rc == t[i].rc && (rc || v == t[i].v),
		       "parse_u64 of a node value", "\"%s\": rc %d v %llu",
		       t[i].s, rc, (unsigned long long)v);
	}
	result(xsh_codec_parse_u64(NULL, 1, &v) == -EINVAL,
	       "parse_u64 of a missing value", "accepted");
}

int main(void)
{
	data = calloc(1, DATA_BYTES);
	scratch = malloc(XSH_MAX_BUF + 2);
	if (!data || !scratch)
		return 2;
	memset(name255, 'n', 255);
	memset(name256, 'n', 256);
	memset(tgt_ok, 't', sizeof(tgt_ok));
	tgt_ok[0] = 'l';
	memset(tgt_long, 't', sizeof(tgt_long));
	tgt_long[0] = 'l';
	memset(xname256, 'x', 256);

	test_table();
	test_private_copies();
	test_names();
	test_rsp();
	test_dirents();
	test_parse_u64();

	free(data);
	free(scratch);
	return tap_summary();
}
