#!/bin/sh
# Runs every benchmark binary, then every tests/bench/*.sh script, with the
# build directory in DDPROF_BUILD. Each prints `bench: NAME VALUE UNIT` lines.
set -u
build=$1
shift
rc=0
export DDPROF_BUILD="$build"
for b in "$@"; do
	"$b" || { echo "bench: $b failed" >&2; rc=1; }
done
for s in tests/bench/*.sh; do
	[ -f "$s" ] || continue
	sh "$s" "$build" || { echo "bench: $s failed" >&2; rc=1; }
done
exit $rc
