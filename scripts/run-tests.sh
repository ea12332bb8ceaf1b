#!/bin/sh
# Runs test binaries one after another and prints a closing tally.
# Usage: run-tests.sh BUILD_DIR TEST...   A test exiting 77 counts as
# skipped; cmocka's "[  PASSED  ] N test(s)." lines give per-case counts.
set -u

build=$1
shift
passed=0 failed=0 skipped=0 failed_bins=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$@"; do
	name=${t#"$build"/tests/}
	echo "=== $name"
	# a hung test must not hang CI: 10 minutes each at most
	DDPROF_TEST_BUILD_DIR=$build timeout -k 10 600 "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	# live end-to-end tests sample a shared machine: one more run tells a
	# load-induced miss from a bug, and both outcomes are printed
	case "$name" in e2e/*)
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			echo "--- $name: failed (exit $rc), running it once more"
			DDPROF_TEST_BUILD_DIR=$build timeout -k 10 600 "$t" >"$log" 2>&1
			rc=$?
			cat "$log"
			[ "$rc" -eq 0 ] && echo "--- $name: passed on the second run (flaky under load)"
		fi
	esac
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + (s > 0 ? s : 1)))
		passed=$((passed + p))
		echo "--- $name: skipped"
	elif [ "$rc" -ne 0 ]; then
		passed=$((passed + p))
		skipped=$((skipped + s))
		failed=$((failed + (f > 0 ? f : 1)))
		failed_bins="$failed_bins $name"
		echo "--- $name: FAILED (exit $rc)"
	else
		passed=$((passed + p))
		skipped=$((skipped + s))
	fi
done

[ -n "$failed_bins" ] && echo "failed:$failed_bins"
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
