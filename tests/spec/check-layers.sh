#!/bin/bash
# SPDX-License-Identifier: MIT
#
# check-layers.sh - the product code's folders against docs/architecture.md.
#
# The layers, lowest first, and what each may include of the project's
# own headers (a folder may always include its own):
#
#   lib/               nothing
#   protocol/          lib
#   transport/         lib protocol
#   backend/service/   lib protocol
#   backend/daemon/    lib protocol transport backend/service
#   frontend/          lib protocol transport
#   tools/             lib protocol backend/service (administrator's
#                      programs: constants of the file service they
#                      share, such as the dedup mark)
#
# Since each layer only includes layers above it in this list, there is
# no circle between them.  This checks, with no build, root or Xen:
#   - every `#include "..."` of a product file names a header that exists,
#     in its own folder (bare name) or from the project root;
#   - that header's folder is one the including folder may use;
#   - Xen's headers (<xen*.h>) appear only in transport/xen* and in the
#     Xen device manager (backend/daemon/xenbus.c): never in lib,
#     protocol or the file service;
#   - no folder holds more than 40% of the product code's lines.
#
# usage: tests/spec/check-layers.sh
# Output: ok / not ok lines, then "N passed, N failed, N skipped".

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
cd "$XS_ROOT" || exit 1

LAYERS=(lib protocol transport backend/service backend/daemon frontend tools)
declare -A MAY=(
	[lib]=""
	[protocol]="lib"
	[transport]="lib protocol"
	[backend/service]="lib protocol"
	[backend/daemon]="lib protocol transport backend/service"
	[frontend]="lib protocol transport"
	[tools]="lib protocol backend/service"
)
MAX_SHARE=40

total=0
declare -A lines=()
for dir in "${LAYERS[@]}"; do
	n=0
	files=("$dir"/*.[ch])
	if [ ! -e "${files[0]}" ]; then
		not_ok "layer $dir exists" "no .c or .h file in $dir/"
		continue
	fi
	bad=0
	for f in "${files[@]}"; do
		n=$((n + $(wc -l <"$f")))
		while IFS= read -r inc; do
			if [ -e "$dir/$inc" ] && [ "${inc#*/}" = "$inc" ]; then
				continue
			fi
			if [ ! -e "$inc" ]; then
				not_ok "$f includes \"$inc\"" "no such header in $dir/ or from the root"
				bad=1
				continue
			fi
			idir=${inc%/*}
			[ "$idir" = "$dir" ] && continue
			case " ${MAY[$dir]} " in
			*" $idir "*) ;;
			*)
				not_ok "$f includes \"$inc\"" "$dir may include only: ${MAY[$dir]:-nothing of ours}"
				bad=1
				;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
		if grep -qE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<xen' "$f"; then
			case $f in
			transport/xen* | backend/daemon/xenbus.c) ;;
			*)
				not_ok "$f includes no Xen header" "only the xen transport and the device manager may"
				bad=1
				;;
			esac
		fi
	done
	[ "$bad" -eq 0 ] && ok "$dir includes of ours only: ${MAY[$dir]:-nothing}; no Xen header where none belongs"
	lines[$dir]=$n
	total=$((total + n))
done

for dir in "${LAYERS[@]}"; do
	n=${lines[$dir]:-0}
	pct=$((n * 100 / (total ? total : 1)))
	if [ $((n * 100)) -le $((total * MAX_SHARE)) ]; then
		ok "$dir holds $pct% of the product code's lines (at most $MAX_SHARE%)"
	else
		not_ok "$dir holds at most $MAX_SHARE% of the product code's lines" "$n of $total lines ($pct%)"
	fi
done

# A product file outside every layer would escape these checks.
stray=0
while IFS= read -r f; do
	d=${f%/*}
	found=0
	for dir in "${LAYERS[@]}"; do
		[ "$d" = "$dir" ] && found=1
	done
	if [ "$found" -eq 0 ]; then
		not_ok "$f is in a layer" "its folder $d/ is not in docs/architecture.md"
		stray=1
	fi
done < <(find lib protocol transport backend frontend tools -name '*.[ch]' | sort)
[ "$stray" -eq 0 ] && ok "every product source file is in one of the layers"

xs_summary
