/* SPDX-License-Identifier: MIT */
/*
 * xenshare wire protocol, version 1.  This header is the specification.
 *
 * A frontend (xenshare-front, in the guest) sends file-system requests with
 * FUSE low-level semantics to a backend (xenshare-back, in dom0) that serves
 * one host directory.  Both sides share:
 *
 *   - N rings (1 <= N <= XSH_MAX_RINGS).  A ring is 2^ring_order pages of
 *     shared memory: a struct xsh_ring_hdr followed by nr_slots slots of
 *     XSH_SLOT_SIZE bytes, nr_slots = the largest power of two that fits.
 *     A slot holds a struct xsh_req while the request is outstanding and is
 *     then overwritten by the struct xsh_rsp (the Xen io/ring.h scheme:
 *     free-running 32-bit indices, slot = index & (nr_slots - 1)).
 *   - one data area of data_pages pages, shared once at connect and never
 *     re-shared.  Each request names a buffer inside it (buf_off, buf_len).
 *     The first in_len bytes of the buffer are the request's input (names,
 *     write data, xattr values); the backend writes the output (read data,
 *     directory entries, link targets, xattr values) to the start of the
 *     same buffer and reports out_len.  How the frontend carves up the data
 *     area is its own business; the backend only checks bounds.
 *   - one notification channel per ring and direction (event channel on
 *     Xen, eventfd on the local transport).
 *
 * Several requests may be in flight on every ring; the backend completes
 * them in any order and the frontend matches responses by id.
 *
 * Notification suppression follows io/ring.h: the producer notifies only
 * when the consumer's event index (req_event / rsp_event) lies in the range
 * it just published.  A consumer that drains a ring sets its event index to
 * its next consumption index plus one, then checks the ring once more.
 *
 * All integers are little-endian; every struct has explicit padding, which
 * senders set to zero and receivers ignore.  Errors travel as positive
 * Linux errno values.
 *
 * Everything the frontend writes is untrusted by the backend: the backend
 * copies each slot and each input buffer exactly once into private memory,
 * validates the copy (protocol/codec.c) and uses only the copy.  A
 * frontend that breaks the ring protocol (a producer index more than
 * nr_slots ahead, a buffer outside the data area, an unknown opcode) loses
 * its connection; an invalid argument inside a well-formed request (a bad
 * name, a stale node id) gets an errno.
 *
 * Transports (protocol/transport.h):
 *   local  unix socket handshake (struct xsh_local_hello below) passing a
 *          sealed memfd that holds the rings then the data area, and
 *          eventfds.
 *   xen    grant references and event channels published in xenstore
 *          (XSH_XENSTORE_* below).
 */
#ifndef XENSHARE_PROTO_H
#define XENSHARE_PROTO_H

#include <stdint.h>
#include "ops.h"

#define XSH_PROTO_VERSION	1u
#define XSH_PAGE_SIZE		4096u
#define XSH_SLOT_SIZE		128u
#define XSH_MAX_RINGS		8u
#define XSH_MAX_RING_ORDER	4u	/* 16 pages: 256 slots */
#define XSH_MAX_DATA_PAGES	65536u	/* 256 MiB */
#define XSH_MAX_IO		(1u << 20)	/* largest read/write payload */
#define XSH_MAX_BUF		(XSH_MAX_IO + XSH_PAGE_SIZE)	/* largest buf_len */
#define XSH_NAME_MAX		255u	/* one path component, no NUL */
#define XSH_PATH_MAX		4095u	/* symlink target, no NUL */
#define XSH_XATTR_NAME_MAX	255u
#define XSH_XATTR_SIZE_MAX	65536u
#define XSH_FORGET_MAX		256u	/* entries in one FORGET */
#define XSH_HANDLE_MAX		128u	/* opaque persistent node handle */

/* Node id of the export root.  Every other node id is
 * (generation << 32 | index) into the backend's node table. */
#define XSH_ROOT_NODEID		1ull

/* ---------------------------------------------------------------------- */
/* Rings                                                                  */

struct xsh_ring_hdr {
	uint32_t req_prod;	/* written by frontend */
	uint32_t req_event;	/* written by backend */
	uint32_t rsp_prod;	/* written by backend */
	uint32_t rsp_event;	/* written by frontend */
	uint8_t pad[48];
};
_Static_assert(sizeof(struct xsh_ring_hdr) == 64, "ring header size");

/* ---------------------------------------------------------------------- */
/* Opcodes.  The backend refuses opcodes it does not know with ENOSYS.    */

/* The opcodes and what each one carries: the table in protocol/ops.h. */
#define XSH_OP_ENUM(name, num, in, right, inl, resend, flags) \
	XSH_OP_##name = num,
enum xsh_op {
	XSH_OPS(XSH_OP_ENUM)
	XSH_OP_MAX		/* one past the last opcode */
};
#undef XSH_OP_ENUM

/* ---------------------------------------------------------------------- */
/* Request (frontend -> backend), one slot.                               */

struct xsh_forget_one {
	uint64_t nodeid;
	uint64_t nlookup;
};

#define XSH_SETATTR_MODE		(1u << 0)
#define XSH_SETATTR_UID		(1u << 1)
#define XSH_SETATTR_GID		(1u << 2)
#define XSH_SETATTR_SIZE		(1u << 3)
#define XSH_SETATTR_ATIME	(1u << 4)
#define XSH_SETATTR_MTIME	(1u << 5)
#define XSH_SETATTR_ATIME_NOW	(1u << 6)
#define XSH_SETATTR_MTIME_NOW	(1u << 7)
#define XSH_SETATTR_CTIME	(1u << 8)
#define XSH_SETATTR_FH		(1u << 9)	/* req.fh is valid */
#define XSH_SETATTR_KILL_SUIDGID	(1u << 10)
#define XSH_SETATTR_ALL		((1u << 11) - 1)

struct xsh_args_setattr {
	uint32_t valid;		/* XSH_SETATTR_* */
	uint32_t mode;		/* permission bits only (07777) */
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	int64_t atime;
	int64_t mtime;
	uint32_t atime_nsec;	/* < 1e9 */
	uint32_t mtime_nsec;
};

struct xsh_args_mknod {
	uint32_t mode;		/* type and permission bits */
	uint32_t umask;
	uint32_t rdev;		/* Linux new_encode_dev */
	uint32_t pad;
};

/* RENAME_EXCHANGE also names the nodes the frontend expects at name and
 * at newname (node ids it holds a lookup on until the reply), so that a
 * resent exchange the first backend already applied is not applied again
 * (see "Resent requests").  0 when unknown; both 0 for any other rename
 * (EINVAL otherwise). */
struct xsh_args_rename {
	uint64_t newparent;
	uint32_t name_len;	/* first name in buffer; newname follows */
	uint32_t flags;		/* RENAME_NOREPLACE (1) | RENAME_EXCHANGE (2) */
	uint64_t node;		/* EXCHANGE: node expected at name, or 0 */
	uint64_t newnode;	/* EXCHANGE: node expected at newname, or 0 */
};

struct xsh_args_link {
	uint64_t newparent;
};

struct xsh_args_symlink {
	uint32_t name_len;	/* name, then the target (in_len - name_len) */
	uint32_t pad;
};

/* Open flags on the wire: the Linux O_* values.  Allowed: O_ACCMODE,
 * O_APPEND, O_TRUNC, O_EXCL, O_CREAT (CREATE only), O_NONBLOCK, O_DSYNC,
 * O_SYNC, O_DIRECT (accepted, never passed to the host: data still goes
 * through the host page cache), O_NOATIME, O_LARGEFILE, O_DIRECTORY,
 * O_NOFOLLOW, O_CLOEXEC (ignored).  Anything else is EINVAL. */
struct xsh_args_open {
	uint32_t flags;
	uint32_t mode;		/* CREATE */
	uint32_t umask;		/* CREATE */
	uint32_t pad;
};

struct xsh_args_io {
	uint64_t offset;	/* file offset, or READDIR cookie */
	uint32_t size;		/* bytes to read/write, <= XSH_MAX_IO */
	uint32_t flags;		/* reserved, 0 */
};

struct xsh_args_fsync {
	uint32_t datasync;
	uint32_t pad;
};

struct xsh_args_xattr {
	uint32_t name_len;	/* SETXATTR: name, then value (in_len - name_len) */
	uint32_t size;		/* GET/LIST: capacity asked for, 0 = size query */
	uint32_t flags;		/* SETXATTR: XATTR_CREATE (1) | XATTR_REPLACE (2) */
	uint32_t pad;
};

struct xsh_args_access {
	uint32_t mask;		/* R_OK | W_OK | X_OK or F_OK */
	uint32_t pad;
};

struct xsh_args_fallocate {
	uint64_t offset;
	uint64_t length;
	uint32_t mode;		/* FALLOC_FL_KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE */
	uint32_t pad;
};

struct xsh_args_lseek {
	uint64_t offset;
	uint32_t whence;	/* SEEK_DATA (3) or SEEK_HOLE (4); others EINVAL */
	uint32_t pad;
};

struct xsh_args_copy {
	uint64_t off_in;
	uint64_t nodeid_out;
	uint64_t fh_out;
	uint64_t off_out;
	uint64_t len;
	uint32_t flags;		/* must be 0 */
	uint32_t pad;
};

/*
 * Persistent node handles and REOPEN: restoring a session after the
 * backend restarted.
 *
 * Node ids and file handles belong to one backend session.  So that a
 * frontend can carry on over a new session (the backend was killed or
 * upgraded), every reply that counts a lookup (LOOKUP, MKNOD, MKDIR,
 * SYMLINK, LINK, CREATE) also writes the node's persistent handle to the
 * start of the request's buffer, out_len = its length (1..XSH_HANDLE_MAX;
 * a frontend makes the buffer at least XSH_HANDLE_MAX long).  out_len is 0
 * when the buffer is too short or the file has no handle (its file system
 * cannot make file handles, or it lies on another mount than the export
 * root).  READDIRPLUS records carry the handle after the name
 * (xsh_dirent.handle_len).
 *
 * The handle is opaque to the frontend, which keeps it with the node id
 * and gives it back unchanged.  The backend makes it from the host's file
 * handle and signs it with a key of its export that survives restarts, so
 * a guest cannot forge one to reach a file outside its export
 * (docs/backend.md).
 *
 * After reconnecting, before any other request, the frontend sends one
 * REOPEN per node it holds a lookup count on, then one per open file and
 * directory handle:
 *
 *   kind NODE  nodeid 0, a.reopen.id = the node id wanted, nlookup = the
 *              lookups the frontend holds (>= 1), in: the handle.  The
 *              node is re-created at exactly that id (index and
 *              generation) with that count.
 *   kind FILE  nodeid = its node (already restored), a.reopen.id = the fh
 *   kind DIR   wanted, flags = the flags it was opened with (FILE: the
 *              open rules of xsh_args_open; O_CREAT, O_EXCL and O_TRUNC are
 *              dropped), no input.  The file is opened again at exactly
 *              that fh.
 *
 * A successful reply fills u.entry: nodeid, generation, attr, and fh for
 * FILE and DIR.  Errors: EPERM the handle is not one this export's backend
 * made (forged, altered, another export's); ESTALE the file no longer
 * exists (deleted while the backend was down and nothing held it open),
 * the handle is empty, the node of a FILE/DIR is unknown, or the file is
 * a dedup link (docs/dedup.md) whose name in the export does not check
 * out (the guest's copy may have replaced it: look the name up again); EEXIST the
 * wanted id is taken by another node or handle; EINVAL a malformed id
 * (index 0, the root, an index beyond the session's node or handle limit
 * or beyond 2^22 nodes / 2^20 handles, a bad kind or count).  After any
 * error but EINVAL and EEXIST the wanted id is never handed out later in
 * the session, so a guest still holding it gets ESTALE (EBADF for an fh),
 * never another file.  XSH_ROOT_NODEID needs no REOPEN: it always exists.
 *
 * Resent requests.  Then the frontend puts every request that was in
 * flight when the connection was lost back on the rings, with
 * XSH_REQ_RESENT in req.flags, and only after that lets new requests
 * through.  The backend cannot know whether the old one applied a resent
 * request before it died; for operations that are not idempotent it looks
 * at the result of doing it again:
 *
 *   MKDIR, MKNOD, SYMLINK, CREATE with O_EXCL  EEXIST, and the name is of
 *       the expected type, owned by the caller (SYMLINK: the same target;
 *       CREATE: an empty regular file): success, with its entry (a lookup
 *       counted; CREATE opens it)
 *   UNLINK, RMDIR                              ENOENT: success
 *   RENAME                                     ENOENT and newname exists:
 *                                              success
 *   RENAME_EXCHANGE with node and newnode      checked before it is
 *                                              applied: name holds newnode
 *                                              and newname holds node (the
 *                                              same files, by device and
 *                                              inode): success, nothing
 *                                              done; anything else (as
 *                                              expected, a node 0 or
 *                                              unknown): exchanged
 *   LINK                                       EEXIST and newname is the
 *                                              same file: success, entry
 *   SETXATTR with XATTR_CREATE                 EEXIST and the same value:
 *                                              success
 *   REMOVEXATTR                                ENODATA: success
 *   WRITE on a file opened with O_APPEND       written at the request's
 *                                              offset (the end of file the
 *                                              guest saw), not appended
 *                                              again
 *
 * Reads, writes, SETATTR, FALLOCATE and the rest are idempotent and are
 * simply served again.  FORGET, RELEASE and RELEASEDIR in flight are not
 * resent: the REOPENs already reflect them.  The reasoning holds because
 * nothing new is let through before the resent requests are on the rings:
 * only requests that were concurrently in flight in the guest, which the
 * guest could not order anyway, can interleave with them.  What stays
 * ambiguous: a name created by someone else in that window counts as
 * created.
 */
#define XSH_REQ_RESENT		(1u << 0)	/* req.flags */

#define XSH_REOPEN_NODE		1u
#define XSH_REOPEN_FILE		2u
#define XSH_REOPEN_DIR		3u

struct xsh_args_reopen {
	uint64_t id;		/* node id or fh wanted */
	uint64_t nlookup;	/* NODE: >= 1; else 0 */
	uint32_t kind;		/* XSH_REOPEN_* */
	uint32_t flags;		/* FILE, DIR: open flags; NODE: 0 */
};

/*
 * Interrupts.  A guest process waiting for a request may be interrupted
 * by a signal.  The frontend then answers EINTR itself for what it has not
 * put on a ring yet, and for what changes nothing and hands out nothing
 * (GETATTR, READ, READDIR, FSYNC and the like: their slot stays taken
 * until their answer comes).  For any other request on a ring it may send
 * CANCEL on that same ring, a.cancel.id = the request's id, when both
 * sides offer XSH_FEAT_CANCEL.  The ring thread answers a CANCEL at once
 * (it never waits in a queue):
 *
 *   0       the request was still waiting for a worker and had not
 *           started: it is taken out and answered EINTR; nothing of it
 *           was applied
 *   ENOENT  no request with that id waits on this ring: it is being
 *           served or done (it gets its real answer), never existed, is a
 *           resent copy (which an earlier backend may have applied), or
 *           is a CANCEL
 *
 * Either way the request gets exactly one answer, so its slot and buffer
 * come back once.  A CANCEL carries no input and is never resent: a
 * frontend answers an in-flight one ENOENT itself after a reconnect.
 */
struct xsh_args_cancel {
	uint64_t id;		/* the request to cancel */
};

struct xsh_req {
	uint64_t id;		/* chosen by frontend, echoed in response */
	uint16_t opcode;	/* enum xsh_op */
	uint16_t flags;		/* XSH_REQ_RESENT; other bits 0, ignored */
	uint32_t uid;		/* caller, guest ids */
	uint32_t gid;
	uint32_t pid;
	uint64_t nodeid;
	uint64_t fh;
	uint32_t buf_off;	/* buffer in the data area */
	uint32_t buf_len;	/* <= XSH_MAX_BUF */
	uint32_t in_len;	/* <= buf_len */
	uint32_t pad;
	union {
		struct xsh_args_setattr setattr;
		struct xsh_args_mknod mknod;
		struct xsh_args_rename rename;
		struct xsh_args_link link;
		struct xsh_args_symlink symlink;
		struct xsh_args_open open;
		struct xsh_args_io io;
		struct xsh_args_fsync fsync;
		struct xsh_args_xattr xattr;
		struct xsh_args_access access;
		struct xsh_args_fallocate fallocate;
		struct xsh_args_lseek lseek;
		struct xsh_args_copy copy;
		struct xsh_args_reopen reopen;
		struct xsh_args_cancel cancel;
		uint8_t raw[72];
	} a;
};
_Static_assert(sizeof(struct xsh_req) == XSH_SLOT_SIZE, "request size");

/* ---------------------------------------------------------------------- */
/* Response (backend -> frontend), same slot.                             */

struct xsh_attr {
	uint64_t ino;		/* host inode number, for st_ino only */
	uint64_t size;
	uint64_t blocks;	/* 512-byte units */
	int64_t atime;
	int64_t mtime;
	int64_t ctime;
	uint32_t atime_nsec;
	uint32_t mtime_nsec;
	uint32_t ctime_nsec;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid;		/* guest ids (after reverse id mapping) */
	uint32_t gid;
	uint32_t rdev;
	uint32_t blksize;
	uint32_t pad;
};
_Static_assert(sizeof(struct xsh_attr) == 88, "attr size");

/* LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE: a successful reply counts
 * one lookup of nodeid, which the frontend returns with FORGET, and
 * writes the node's persistent handle to the buffer (out_len bytes, see
 * "Persistent node handles"); fh is set by CREATE.  GETATTR and SETATTR
 * fill only attr (no lookup counted).  REOPEN fills it as described
 * there. */
struct xsh_rsp_entry {
	uint64_t nodeid;
	uint64_t fh;
	uint32_t generation;
	uint32_t open_flags;	/* reserved, 0 */
	struct xsh_attr attr;
};

struct xsh_statfs {
	uint64_t blocks;	/* in frsize units */
	uint64_t bfree;
	uint64_t bavail;
	uint64_t files;
	uint64_t ffree;
	uint64_t favail;
	uint32_t bsize;
	uint32_t frsize;
	uint32_t namemax;
	uint32_t flags;		/* XSH_STATFS_RDONLY */
};
#define XSH_STATFS_RDONLY	1u

struct xsh_rsp {
	uint64_t id;
	int32_t error;		/* 0 or a positive Linux errno */
	uint32_t out_len;	/* bytes written at the start of the buffer */
	union {
		struct xsh_rsp_entry entry;	/* see above */
		struct xsh_statfs statfs;	/* STATFS */
		uint64_t fh;			/* OPEN, OPENDIR */
		uint64_t offset;		/* LSEEK */
		uint64_t count;	/* WRITE, COPY_FILE_RANGE: bytes; xattr size query */
		uint8_t raw[112];
	} u;
};
_Static_assert(sizeof(struct xsh_rsp) == XSH_SLOT_SIZE, "response size");

/* READDIR output: records of struct xsh_dirent + name, each padded to a
 * multiple of 8 bytes.  off is the cookie that resumes after this entry. */
struct xsh_dirent {
	uint64_t ino;
	uint64_t off;
	uint16_t namelen;
	uint8_t type;		/* DT_* */
	uint8_t handle_len;	/* READDIRPLUS only, <= XSH_HANDLE_MAX; else 0 */
	uint8_t pad[4];
	/* char name[namelen], handle[handle_len], then zero padding */
};
_Static_assert(sizeof(struct xsh_dirent) == 24, "dirent size");

/* READDIRPLUS output: struct xsh_direntplus + name + the node's persistent
 * handle (dirent.handle_len bytes, 0 when it has none), padded to 8.  Each
 * record with entry.nodeid != 0 counts one lookup of that node; "." and
 * ".." come with nodeid 0 and no handle. */
struct xsh_direntplus {
	struct xsh_rsp_entry entry;
	struct xsh_dirent dirent;
};
_Static_assert(sizeof(struct xsh_direntplus) == 136, "direntplus size");

/* ---------------------------------------------------------------------- */
/* Feature bits (negotiated: the connection uses the intersection).        */

#define XSH_FEAT_READDIRPLUS	(1ull << 0)
#define XSH_FEAT_COPY_FILE_RANGE	(1ull << 1)
/* Offered by the backend, never asked for alone: the backend checks
 * every caller's permissions itself, as the host ids its policy maps the
 * caller to (id-map squash-all: every guest caller is the one squashed
 * host id).  The frontend must then not have the guest kernel check
 * permissions against the owners it sees (no default_permissions): the
 * guest's check would refuse a guest user what the squashed id, owner of
 * the files it made, may do. */
#define XSH_FEAT_HOST_PERMS	(1ull << 2)
#define XSH_FEAT_CANCEL		(1ull << 3)	/* CANCEL ("Interrupts") */
#define XSH_FEAT_ALL		((1ull << 4) - 1)

/* ---------------------------------------------------------------------- */
/* Local transport handshake (SOCK_SEQPACKET unix socket).                 */
/*
 * The frontend sends one struct xsh_local_hello with SCM_RIGHTS carrying
 * 1 + 2 * nr_rings file descriptors: a memfd sealed with F_SEAL_SHRINK
 * (and F_SEAL_SEAL) of at least nr_rings * ring_size + data_pages * 4096
 * bytes holding ring 0 .. ring N-1 then the data area, then for each ring
 * an eventfd the frontend signals (requests) and one the backend signals
 * (responses).  The backend answers with one struct xsh_local_welcome.
 * The connection lives as long as the socket: closing it is disconnect.
 */
#define XSH_LOCAL_MAGIC		0x31485358u	/* "XSH1" */
#define XSH_LOCAL_KIND_DATA	1u
#define XSH_LOCAL_KIND_CONTROL	2u	/* see "Control connections" below */

struct xsh_local_hello {
	uint32_t magic;
	uint32_t kind;
	uint32_t version;	/* highest version the frontend speaks */
	uint32_t nr_rings;
	uint32_t ring_order;
	uint32_t data_pages;
	uint64_t features;
};
_Static_assert(sizeof(struct xsh_local_hello) == 32, "hello size");

struct xsh_local_welcome {
	uint32_t magic;
	int32_t error;		/* 0, or why the connection is refused */
	uint32_t version;	/* the version both speak */
	uint32_t max_io;
	uint64_t features;	/* intersection */
	uint64_t pad;
};
_Static_assert(sizeof(struct xsh_local_welcome) == 32, "welcome size");

/*
 * Control connections.  The administrator's tools (xenshare-ctl --local)
 * connect to the same socket and send a struct xsh_local_hello with kind
 * XSH_LOCAL_KIND_CONTROL, version 1, every other field zero and no
 * descriptors; the backend answers with a struct xsh_local_welcome (error
 * 0, version 1).  Then each request is one SEQPACKET message of text (at
 * most XSH_CTL_MSG_MAX bytes, no NUL needed, a trailing newline ignored)
 * and gets one message of text back, "ok" or "error: <why>":
 *
 *   status                        "ok" then one KEY=VALUE line per field
 *   set KEY=VALUE [KEY=VALUE...]  applied together at once, or nothing is
 *                                 changed; "ok" then the status lines
 *
 * Keys of set, the same names as the xenstore nodes:
 *   mode                "rw" or "ro"
 *   quota-bytes         bytes of allocated storage, 0 = none
 *   quota-inodes        inodes, 0 = none
 *   quota-soft-percent  0..100 (0 = no soft limit), default 90
 * Sizes are decimal with an optional K, M, G or T suffix (powers of 1024).
 * A new limit applies at once; one below the usage blocks growth and
 * deletes nothing.
 *
 * Status lines: export (host path, with \\ and \n escaped), mode, id-map,
 * quota-bytes, usage-bytes, quota-inodes, usage-inodes,
 * quota-soft-percent, status ("ok", "soft-limit", "hard-limit"),
 * restart-recovery ("handles", or "by-name" on an export without lasting
 * file handles: docs/backend.md), in that order; later versions may add
 * lines.  usage-bytes counts st_blocks * 512
 * of every inode under the export (the root included, hard links once),
 * what du -sB1 reports.
 *
 * Snapshots (docs/snapshots.md; a backend started without --snapshot-dir
 * answers "error: snapshots are off ..."):
 *
 *   snapshot NAME              quiesce the export, copy it to the snapshot
 *                              directory as NAME, resume; "ok" then the
 *                              lines snapshot, time (seconds since the
 *                              epoch), method ("btrfs-snapshot",
 *                              "reflink", "full-copy"), bytes, files,
 *                              pause-ms (how long requests were held)
 *   snapshots list             "ok" then one line per snapshot, oldest
 *                              first: NAME, time (UTC, ISO 8601), bytes,
 *                              method, separated by tabs
 *   snapshots delete NAME      "ok"
 *   snapshots restore NAME     replace the export's tree with the
 *                              snapshot's (the worker is restarted); "ok"
 *
 * NAME: 1..64 of A-Z a-z 0-9 . _ -, not starting with a dot.  The reply
 * to a snapshot command comes when the work is done (a full copy may take
 * minutes): a client waits for it without a time limit.
 *
 * Only a peer running as root or as the backend's own user may control
 * it; any other gets "error: permission denied".  A control connection
 * idle for XSH_CTL_IDLE_S seconds is closed.
 */
#define XSH_CTL_MSG_MAX		4096u
#define XSH_CTL_IDLE_S		30u

/* ---------------------------------------------------------------------- */
/* Xen transport: xenstore nodes (device type "xenshare").                 */
/*
 * Backend directory  /local/domain/<backend-domid>/backend/xenshare/<domid>/<devid>/
 * written by dom0 tools (xenshare-ctl) and the backend; owned by the
 * backend domain, readable by the guest (n0 r<domid>), never writable by
 * it.  Policy is read only from here.  Numbers are plain decimal (no sign,
 * no leading zero, no spaces); sizes may end in K, M, G or T (powers of
 * 1024).
 *
 *   frontend            path of the frontend directory; must be exactly
 *                       /local/domain/<domid>/device/xenshare/<devid>  (tools)
 *   frontend-id         guest domid, must be <domid>                (tools)
 *   online              1 while the device should be served; 0 makes the
 *                       backend disconnect and go to Closed         (tools)
 *   state               XenbusState of the backend              (backend)
 *   path                host directory exported, absolute; read when a
 *                       connection starts                           (tools)
 *   tag                 name the guest mounts it by, [A-Za-z0-9._-]{1,63},
 *                       unique per domain                           (tools)
 *   mode                "rw" or "ro"; watched                       (tools)
 *   id-map              passthrough | squash-root | squash-all | range:BASE;
 *                       watched                                     (tools)
 *   quota-bytes         bytes of allocated storage, 0 = none; watched
 *   quota-inodes        inodes, 0 = none; watched
 *   quota-soft-percent  0..100, status "soft-limit" from there; watched
 *   template            read-only template directory, absolute; the
 *                       device is then built on it: the guest sees the
 *                       template merged with its private data, kept in
 *                       path/upper (overlay work: path/work, made on
 *                       first use); the template is never written
 *                       (docs/templates.md).  Empty or absent: none.
 *                       Read when a connection starts; one the worker
 *                       cannot mount gets an "error" node saying why
 *                                                               (tools)
 *   versions            protocol versions spoken, e.g. "1"      (backend)
 *   max-rings           most rings the backend accepts          (backend)
 *   max-ring-page-order largest ring_order accepted             (backend)
 *   max-data-pages      largest data area accepted              (backend)
 *   max-io              largest read/write payload              (backend)
 *   feature-flags       XSH_FEAT_* the backend offers, decimal   (backend)
 *   usage-bytes         bytes in use, published when it changes (backend)
 *   usage-inodes        inodes in use                           (backend)
 *   status              "ok", "soft-limit", "hard-limit"        (backend)
 *   error               why the device was closed; removed on Connected
 *
 * The tools' nodes are read when a connection starts: a bad one
 * (frontend, frontend-id, path, tag, mode, id-map, a quota) refuses the
 * device like a bad frontend node does.  A bad value written to a
 * watched node later is logged and the policy in force is kept.
 *
 * Frontend directory /local/domain/<domid>/device/xenshare/<devid>/,
 * owned by the guest, readable by the backend domain (n<domid> r0), inside
 * device/xenshare/, which the tools keep (n0 r<domid>).  Written by the
 * guest, so hostile: the backend reads each node once, accepts only a
 * plain decimal number in range, and takes no path from here.
 *
 *   backend             path of the backend directory           (tools)
 *   backend-id          backend domid                           (tools)
 *   state               XenbusState of the frontend
 *   version             protocol version chosen, from "versions"
 *   num-rings           1..max-rings
 *   ring-page-order     0..max-ring-page-order
 *   ring-ref<i>-<j>     grant ref of page j (0..2^ring-page-order - 1) of
 *                       ring i (0..num-rings - 1); the ring's pages are
 *                       contiguous in that order
 *   event-channel-<i>   unbound event channel port of ring i, allocated
 *                       for the backend domain (one per ring, both
 *                       directions; no two rings share one)
 *   data-pages          size of the data area in pages, 1..max-data-pages
 *   data-ref-dir-<k>    for k < ceil(data-pages / 1024): grant ref of a
 *                       page holding 1024 little-endian uint32 grant refs
 *                       of the data area, in order (the last page is
 *                       filled up to data-pages).  The backend maps these
 *                       read-only, copies the refs once and unmaps them.
 *   feature-flags       XSH_FEAT_* wanted, decimal; the connection uses the
 *                       intersection with the backend's
 *
 * Every page is granted once, by gntalloc in the guest; a frontend that
 * reconnects publishes the same refs and ports again.  The data area is
 * data-pages pages contiguous in the backend's mapping, in ref order.
 *
 * Handshake (XenbusState: 1 Initialising, 2 InitWait, 3 Initialised,
 * 4 Connected, 5 Closing, 6 Closed):
 *   - the backend writes its limits, then state 2;
 *   - the frontend writes state 1 unless it is 1 already, waits for the
 *     backend's state 2 (never grants or publishes before), writes every
 *     node above and state 3 in one transaction;
 *   - the backend, on the frontend's 3, reads and checks every node,
 *     maps, binds and writes state 4 (removing "error"); on anything
 *     malformed or unmappable it writes "error" and state 5 for that
 *     device only;
 *   - the frontend, on the backend's 4, writes state 4; on 5 or 6 it
 *     reports "error".
 * After that:
 *   - the frontend leaving 3/4 (to 1, 5, 6, anything else, or its
 *     directory removed): the backend disconnects, unmaps and goes back to
 *     2 (or 6 when online is 0; the directory is forgotten when removed);
 *   - a backend in 5 returns to 2 when the frontend writes 1 or 6;
 *   - any change of the backend's state after 4 means the connection is
 *     gone for the frontend: it starts over at "writes state 1";
 *   - a backend that stops cleanly writes 6; one that crashed leaves 4,
 *     and its successor writes 2 on start, which the frontend sees;
 *   - a frontend that exits writes 6; one that crashed leaves 3 or 4, and
 *     its successor writes 1 first, which the backend sees;
 *   - the backend removes the backend directories of domains that no
 *     longer exist (@releaseDomain).
 */

#endif /* XENSHARE_PROTO_H */
