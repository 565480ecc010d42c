#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fuzz.sh - what `make fuzz` runs once the libFuzzer binary is built:
# fuzz a copy of tests/fuzz/corpus for SECONDS, then rebuild the corpus as
# the seeds (seed-*), the regression inputs (crash-*) and a minimal set of
# other inputs that add coverage beyond them (libFuzzer -merge=1).  The
# corpus is kept under MAX_FILES files and MAX_BYTES bytes: when counter
# features make it larger, the merge falls back to edge coverage only.
#
#   tests/fuzz/fuzz.sh FUZZ_BINARY SECONDS [WORKDIR]
#
# A crash stops it before the merge: the input is in WORKDIR/artifacts/;
# keep it as tests/fuzz/corpus/crash-<name> once it is understood.

set -eu

BIN=$1
SECONDS_TO_RUN=$2
WORKDIR=${3:-build-fuzz}
CORPUS=tests/fuzz/corpus
DICT=tests/fuzz/dispatch.dict
MAX_FILES=450
MAX_BYTES=$((1536 * 1024))

run=$WORKDIR/work/run
keep=$WORKDIR/work/keep
old=$WORKDIR/work/old
rm -rf "$WORKDIR/work"
mkdir -p "$run" "$keep" "$old" "$WORKDIR/artifacts"
cp "$CORPUS"/* "$run/"

"$BIN" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
	-dict="$DICT" -artifact_prefix="$WORKDIR/artifacts/" \
	-max_total_time="$SECONDS_TO_RUN" "$run"

others() {
	find "$1" -maxdepth 1 -type f ! -name 'seed-*' ! -name 'crash-*' \
		! -name README "${@:2}"
}

others "$CORPUS" -exec cp -t "$old/" {} +
merge() {
	rm -f "$keep"/*
	cp "$CORPUS"/seed-* "$keep/"
	"$BIN" -merge=1 -max_len=4096 "$@" "$keep" "$old" "$run"
}
merge
files=$(find "$keep" -type f | wc -l)
bytes=$(find "$keep" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
if [ "$files" -gt "$MAX_FILES" ] || [ "$bytes" -gt "$MAX_BYTES" ]; then
	echo "fuzz.sh: $files files, $bytes bytes: merging on edges only"
	merge -use_counters=0
fi

others "$CORPUS" -delete
others "$keep" -exec cp -t "$CORPUS/" {} +
files=$(find "$CORPUS" -type f | wc -l)
bytes=$(find "$CORPUS" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
echo "fuzz.sh: corpus now $files files, $bytes bytes"
