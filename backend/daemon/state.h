/* SPDX-License-Identifier: MIT */
/*
 * The backend's state directory (--state-dir, default XSH_STATE_DIR): what
 * must survive a restart of xenshare-back.  Today one file per export,
 * the key that signs its persistent node handles (backend/service/phandle.h):
 *
 *   DIR/export-<16 hex digits>.key    mode 0600, owned by the backend
 *       line 1: the key, 32 hex digits
 *       line 2: "export " and the export's canonical path (for people)
 *
 * The hex digits in the name are SipHash-2-4 (all-zero key) of the
 * canonical path, so each export directory has its own key.  The file is
 * made with getrandom() on the first start and read on every later one;
 * two daemons starting at once end up with the same key (the file is
 * linked into place whole).  Deleting it invalidates the handles guests
 * hold for that export: after the next restart their nodes are stale.
 *
 * Trust: the directory is the administrator's.  A key file that others
 * may read or write, that is not a regular file or not ours, is refused.
 */
#ifndef XSH_STATE_H
#define XSH_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "backend/service/siphash.h"

#define XSH_STATE_DIR	"/var/lib/xenshare"

/* Load or create the key of export_path (which must exist).  0 or -errno;
 * on error, err (errlen bytes) says what went wrong. */
int xsh_state_export_key(const char *state_dir, const char *export_path,
			uint8_t key[XSH_SIPHASH_KEY_LEN], char *err,
			size_t errlen);

#endif /* XSH_STATE_H */
