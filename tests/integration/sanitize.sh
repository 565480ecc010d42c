#!/bin/bash
# SPDX-License-Identifier: MIT
#
# sanitize.sh - the daemons under AddressSanitizer + UBSan and under
# valgrind, each serving a real mount through posix_ops and fsx, then
# stopped: no sanitizer report, no valgrind error, no leak.
#
#   1. build-san/ (make SAN=1): backend and frontend built with
#      -fsanitize=address,undefined, reports collected with log_path.
#   2. build/ under valgrind --leak-check=full (backend with --no-sandbox:
#      valgrind cannot follow the sandbox's namespaces and filter).
#
# usage: tests/integration/sanitize.sh   (as root)
# Output: ok / not ok / skip lines, then "N passed, N failed, N skipped".

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

TOOLS=$XS_BUILD/tests

workload() {
	local tag=$1 ops=$2 out
	if out=$("$TOOLS/integration/posix_ops" -u "$XS_MNT" 2>&1); then
		ok "$tag: posix_ops on the mount"
	else
		not_ok "$tag: posix_ops on the mount" \
			"$(grep '^not ok' <<<"$out" | head -3 | tr '\n' ' ')"
	fi
	if out=$("$TOOLS/tools/fsx" -N "$ops" -u -P 2 "$XS_MNT" 2>&1); then
		ok "$tag: fsx on the mount"
	else
		not_ok "$tag: fsx on the mount" "$(tail -3 <<<"$out" | tr '\n' ' ')"
	fi
}

test_asan() {
	local logs=$XS_TMP/asan reports
	# make check exports BUILD and MAKEFLAGS: name the build dir here.
	if ! env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$XS_ROOT" -j2 \
		SAN=1 BUILD=build-san build-san/xenshare-back \
		build-san/xenshare-front >"$XS_TMP/san-build.log" 2>&1; then
		not_ok "asan: build" "$(grep -E 'error|No rule' "$XS_TMP/san-build.log" | head -2 | tr '\n' ' ')"
		return
	fi
	mkdir -p "$logs"
	export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/ubsan"
	XS_BACK_BIN=$XS_ROOT/build-san/xenshare-back
	XS_FRONT_BIN=$XS_ROOT/build-san/xenshare-front
	# No sandbox: the worker could not write its reports outside its root.
	XS_BACK_ARGS=(--allow-setid --no-sandbox)
	XS_FRONT_ARGS=()
	if ! xs_pair_start asan; then
		not_ok "asan: mount" "see $XS_BACK_LOG"
		return
	fi
	workload asan 20000
	xs_pair_stop || not_ok "asan: clean stop" "${XS_STOP_WHY:-}"
	unset ASAN_OPTIONS UBSAN_OPTIONS
	reports=$(cat "$logs"/* 2>/dev/null | grep -cE "ERROR: |runtime error|SUMMARY:")
	if [ "$reports" = 0 ]; then
		ok "asan: no AddressSanitizer, LeakSanitizer or UBSan report"
	else
		not_ok "asan: sanitizer reports" \
			"$(cat "$logs"/* | grep -E "ERROR: |runtime error" | head -3 | tr '\n' ' ')"
	fi
}

# vg_clean NAME LOG: valgrind found no error and no definite leak.
vg_clean() {
	local name=$1 log=$2
	if ! grep -q "ERROR SUMMARY" "$log"; then
		not_ok "$name" "no valgrind summary in $log"
	elif grep -qE "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]" "$log"; then
		not_ok "$name" "$(grep -E "ERROR SUMMARY|definitely lost|indirectly lost" "$log" | head -4 | tr '\n' ' ')"
	else
		ok "$name"
	fi
}

test_valgrind() {
	if ! command -v valgrind >/dev/null; then
		skip "valgrind" "valgrind is not installed"
		return
	fi
	XS_BACK_BIN=$XS_BUILD/xenshare-back
	XS_FRONT_BIN=$XS_BUILD/xenshare-front
	XS_WRAP="valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --trace-children=no"
	XS_BACK_ARGS=(--allow-setid --no-sandbox)
	XS_MOUNT_TIMEOUT=60
	XS_FRONT_ARGS=()
	if ! xs_pair_start valgrind; then
		not_ok "valgrind: mount" "see $XS_BACK_LOG"
		XS_WRAP=
		return
	fi
	workload valgrind 3000
	xs_pair_stop || not_ok "valgrind: clean stop" "${XS_STOP_WHY:-}"
	XS_WRAP=
	vg_clean "valgrind: backend has no error and no leak" "$XS_BACK_LOG"
	vg_clean "valgrind: frontend has no error and no leak" "$XS_FRONT_LOG"
}

main() {
	if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
		skip "sanitize" "needs root and /dev/fuse"
		xs_summary
		return
	fi
	xs_init
	test_asan
	test_valgrind
	xs_summary
}

main "$@"
