#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-tests.sh - the `make check` driver.  Runs every suite in SUITES
# below, prints each suite's lines under a "# suite: NAME" header, and
# ends with one line "N passed, N failed, N skipped" summed over all of
# them.  Exit status 0 iff nothing failed.
#
# A suite is a program or script printing ok / not ok / skip lines and a
# final total line; a suite that exits non-zero without counting a failure,
# or prints no total, counts as one failure.  Suites that need FUSE are
# skipped (one skip each, with the reason) when /dev/fuse is missing.
#
# Environment: BUILD (default build), XS_WRAP (see tests/lib.sh),
# SUITES="name ..." to run only some suites, SUITE_TIMEOUT (seconds one
# suite may take, default 1800).

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

# name  needs  command...      (needs: - or fuse)
# One line per suite; unit tests are found by their binaries.
SUITE_TABLE=(
	"integration  fuse  $HERE/integration/run.sh"
	"shutdown     fuse  $HERE/integration/shutdown.sh"
	"quota        fuse  $HERE/integration/quota.sh"
	"policy       fuse  $HERE/integration/policy.sh"
	"sanitize     fuse  $HERE/integration/sanitize.sh"
	"sandbox      fuse  $HERE/integration/sandbox.sh"
	"restart      fuse  $HERE/integration/restart.sh"
	"dedup        fuse  $HERE/integration/dedup.sh"
	"snapshot     fuse  $HERE/integration/snapshot.sh"
	"template     fuse  $HERE/integration/template.sh"
	"gluster      fuse  $HERE/integration/gluster.sh"
	"fuzz-corpus  -     $XS_BUILD/tests/fuzz/replay $HERE/fuzz/corpus"
	"spec-nodes   -     $HERE/spec/check-nodes.sh"
	"spec-layers  -     $HERE/spec/check-layers.sh"
	"spec-ops     -     $HERE/spec/check-ops.sh"
	"hostile      fuse  $HERE/hostile/run.sh"
)

unit_suites() {
	local bin
	for bin in "$XS_BUILD"/tests/unit/*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		echo "unit/${bin##*/}  -  $bin"
	done
}

wanted() {
	local w
	[ -z "${SUITES:-}" ] && return 0
	for w in $SUITES; do
		[ "$w" = "$1" ] && return 0
	done
	return 1
}

run_suite() {
	local name=$1 needs=$2 start end
	shift 2
	wanted "$name" || return 0
	echo "# suite: $name"
	if [ "$needs" = fuse ] && [ ! -e /dev/fuse ]; then
		skip "$name" "/dev/fuse is missing: FUSE suites cannot run here"
		return 0
	fi
	start=$(date +%s)
	xs_run_counted "$name" timeout -k 10 "${SUITE_TIMEOUT:-1800}" "$@" \
		</dev/null
	end=$(date +%s)
	echo "# suite $name: $((end - start)) s"
}

if [ ! -d "$XS_BUILD/tests/unit" ]; then
	not_ok "unit tests" "$XS_BUILD/tests/unit is missing (run make first)"
fi
while read -r name needs cmd; do
	[ -n "$name" ] || continue
	# shellcheck disable=SC2086
	run_suite "$name" "$needs" $cmd
done < <(unit_suites; printf '%s\n' "${SUITE_TABLE[@]}")

xs_summary
