#!/bin/bash
# SPDX-License-Identifier: MIT
#
# check-ops.sh - every opcode is described once, in protocol/ops.h.
#
# What an opcode means (input layout, right, inline serving, resend
# fix-up, entry reply, restore bookkeeping) is a column of its row in the
# XSH_OPS(X) table of protocol/ops.h; the rest of the code reads the
# columns through xsh_op_desc().  This checks, with no build:
#   - the rows number the opcodes 1, 2, 3, ... in order (the wire ABI);
#   - each opcode has exactly one handler row in backend/service/dispatch.c;
#   - outside the table and the op's handler row, each XSH_OP_<NAME> is
#     on at most MAX lines of the product code (protocol/ lib/ transport/
#     backend/ frontend/): typically the frontend's call that sends it and
#     the codec's check of its arguments.  A third mention means a switch
#     over opcodes grew back somewhere: give the table a column instead.
#
# usage: tests/spec/check-ops.sh
# Output: ok / not ok lines, then "N passed, N failed, N skipped"; exit
# status non-zero if anything failed.

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

TABLE=protocol/ops.h
DISPATCH=backend/service/dispatch.c
DIRS="protocol lib transport backend frontend"
MAX=2

cd "$XS_ROOT" || exit 1

# "NAME NUMBER" for each row X(NAME, NUMBER, ...) of the table.
rows=$(sed -nE 's/^[[:space:]]*X\(([A-Z0-9_]+), *([0-9]+),.*/\1 \2/p' "$TABLE")
if [ -z "$rows" ]; then
	not_ok "$TABLE has opcode rows" "no X(NAME, NUMBER, ...) found"
	xs_summary
	exit
fi

want=1
numbered=1
while read -r name num; do
	if [ "$num" != "$want" ]; then
		not_ok "opcode $name is number $want" "the table says $num"
		numbered=0
	fi
	want=$((want + 1))
done <<<"$rows"
[ "$numbered" = 1 ] && ok "$TABLE numbers $((want - 1)) opcodes 1..$((want - 1)) in order"

# shellcheck disable=SC2086
mapfile -t files < <(find $DIRS -name '*.[ch]' ! -path "$TABLE" | sort)

while read -r name _; do
	op="XSH_OP_$name"
	n=$(grep -cE "\\[$op\\] = xsh_" "$DISPATCH")
	if [ "$n" = 1 ]; then
		ok "$op has one handler row in $DISPATCH"
	else
		not_ok "$op has one handler row in $DISPATCH" "$n rows"
	fi

	hits=$(grep -nwH -- "$op" "${files[@]}" |
		grep -vE "^$DISPATCH:[0-9]+:[[:space:]]*\\[$op\\] = xsh_")
	n=0
	[ -n "$hits" ] && n=$(wc -l <<<"$hits")
	if [ "$n" -le "$MAX" ]; then
		ok "$op is named on $n line(s) outside $TABLE and its handler row"
	else
		not_ok "$op is named on $n line(s) outside $TABLE and its handler row" \
			"more than $MAX: $(cut -d: -f1,2 <<<"$hits" | tr '\n' ' ')"
	fi
done <<<"$rows"

xs_summary
