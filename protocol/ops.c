// SPDX-License-Identifier: MIT
/*
 * The opcode table of protocol/ops.h as an array indexed by opcode.
 *
 * Trust: op may come from the guest; it is checked against XSH_OP_MAX
 * before it indexes anything.
 */
#include <stddef.h>

#include "xenshare_proto.h"

#define XSH_OP_ROW(n, num, i, r, l, rs, f)				\
	[num] = { .name = #n, .in = i, .right = r, .inl = l,		\
		  .resend = rs, .flags = f },

static const struct xsh_op_desc op_descs[XSH_OP_MAX] = {
	XSH_OPS(XSH_OP_ROW)
};

/* Opcodes run from 1 with no gap, so XSH_OP_MAX - 1 rows fill the array. */
#define XSH_OP_ONE(n, num, i, r, l, rs, f) +1
_Static_assert(0 XSH_OPS(XSH_OP_ONE) == XSH_OP_MAX - 1,
	       "opcodes in protocol/ops.h must be 1, 2, 3, ... with no gap");

const struct xsh_op_desc *xsh_op_desc(unsigned op)
{
	if (op >= XSH_OP_MAX || !op_descs[op].name)
		return NULL;
	return &op_descs[op];
}

unsigned xsh_op_flags(unsigned op)
{
	const struct xsh_op_desc *d = xsh_op_desc(op);

	return d ? d->flags : 0;
}

const char *xsh_op_name(unsigned op)
{
	const struct xsh_op_desc *d = xsh_op_desc(op);

	return d ? d->name : "?";
}
