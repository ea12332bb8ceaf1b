#!/bin/sh
# Overhead benchmark, side by side: the same fixed work (bench_work) alone,
# under ddprof-perf and under `perf record --call-graph dwarf` + `perf report`,
# at 99 and 999 Hz, then ddprof-perf -a while 1..8 copies run. Prints one
# `bench: NAME VALUE UNIT` line per figure and `bench: target_missed NAME`
# for each target of issue 7 it misses (a report, not a failure).
#
# Profiler CPU: runstat reports the CPU of the whole process tree (profiler +
# workload); the workload prints its own CPU (getrusage at its end), which is
# subtracted, together with the tree's residual CPU measured on the runs of
# the workload alone (exec and exit, well under 1 ms). perf adds perf
# report's CPU. Peak RSS: the largest ru_maxrss in the tree, i.e. the
# profiler's (the workload's is ~1.3 MiB); for perf the larger of record and
# report.
#
# Usage: overhead.sh BUILD_DIR. Environment: BENCH_SIZE (workload size,
# default 100, ~3 s alone), BENCH_ROUNDS (default 5; fewer when they take
# more than BENCH_BUDGET seconds, default 300), BENCH_SW_SECONDS
# (system-wide duration, default 4), BENCH_SW_ROUNDS (default 3),
# BENCH_STACK (stack bytes copied per sample, default 32768), BENCH_MAX_REDO
# (runs redone at most because other work disturbed them), BENCH_VERBOSE=1
# (every round's values on stderr).
set -u

build=${1:-build}
bin=$build/ddprof-perf
work=$build/workloads/bench_work
runstat=$build/bench-tools/runstat
size=${BENCH_SIZE:-100}
rounds=${BENCH_ROUNDS:-5}
sw_seconds=${BENCH_SW_SECONDS:-4}
sw_rounds=${BENCH_SW_ROUNDS:-3}
stack=${BENCH_STACK:-32768}
max_redo=${BENCH_MAX_REDO:-6}
budget=${BENCH_BUDGET:-300}
ncpu=$(nproc)

for f in "$work" "$runstat"; do
	if [ ! -x "$f" ]; then
		echo "overhead: $f missing: run make bench" >&2
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/ddprof-bench.XXXXXX) || exit 1
copies=""
cleanup() {
	for p in $copies; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/v"

have_perf=1
if ! perf record -q -o "$tmp/probe.data" -- true >/dev/null 2>&1; then
	echo "overhead: perf record does not work here: perf side skipped" >&2
	have_perf=0
fi
have_dd=1
[ -x "$bin" ] || have_dd=0

# ---- helpers ----------------------------------------------------------

# field NAME FILE: the value of NAME=VALUE in the first line that has it.
field() {
	sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2" | head -n 1
}

# calc EXPR: floating-point arithmetic with awk; a comparison gives 1 or 0.
# (The parentheses keep awk from reading `>` as an output redirection.)
calc() {
	awk "BEGIN { printf \"%.10g\", ($1) }"
}

# fmt: prints the number on stdin with at most 4 decimals, no exponent.
fmt() {
	awk '{ s = sprintf("%.4f", $1); sub(/0+$/, "", s); sub(/\.$/, "", s);
	       print s }'
}

# put NAME VALUE: one more round's value of a figure.
put() {
	echo "$2" >>"$tmp/v/$1"
	[ "${BENCH_VERBOSE:-0}" = 1 ] && echo "overhead: round $i $1 $2" >&2
	return 0
}

# median NAME: the median of the values put under NAME (empty if none).
median() {
	[ -s "$tmp/v/$1" ] || return 0
	sort -g "$tmp/v/$1" | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }' | fmt
}

# emit NAME VALUE UNIT
emit() {
	[ -n "$2" ] && echo "bench: $1 $2 $3"
}

fail() {
	echo "overhead: $*" >&2
	exit 1
}

# own_wall R: the workload's wall time (R.work) less the share of it that
# the rest of the machine took from our CPUs. The workload keeps every CPU
# busy, so others' CPU time (R.rs other_ms, spread evenly over the run) is
# time our threads waited: the figure is what a quiet machine would show.
own_wall() {
	share=$(calc "$(field other_ms "$1.rs") / ($ncpu * $(field wall_ms "$1.rs"))")
	calc "$(field wall_ms "$1.work") * (1 - $share)"
}

# dd_bad MSG R: a ddprof-perf run that failed: a bug to report, not a
# figure. The round goes on without it; the script exits 1 at the end.
dd_failures=0
dd_bad() {
	echo "overhead: $1 ($(field status "$2.rs" 2>/dev/null)); its stderr:" >&2
	tail -n 20 "$2.err" >&2
	dd_failures=$((dd_failures + 1))
}

# ---- one measurement per tool ----------------------------------------
# Each leaves its raw figures in variables; round() turns them into the
# round's values once the round's alone run is known.

alone() {
	r=$tmp/alone
	"$runstat" -o "$r.rs" -- "$work" "$size" >"$r.work" ||
		fail "workload failed"
	a_wall=$(own_wall "$r")
	a_resid=$(calc "$(field cpu_ms "$r.rs") - $(field cpu_ms "$r.work")")
}

# dd HZ: the workload under ddprof-perf.
dd() {
	r=$tmp/dd$1
	rm -f "$r.pb.gz"
	"$runstat" -o "$r.rs" -- "$bin" -F "$1" --stack-size "$stack" \
		-o "$r.pb.gz" -- "$work" "$size" >"$r.work" 2>"$r.err" ||
		{ dd_bad "ddprof-perf -F $1 failed" "$r"; return 1; }
	line=$(grep -m 1 '^ddprof-perf: [0-9]* samples' "$r.err")
	[ -n "$line" ] || { dd_bad "no ddprof-perf summary" "$r"; return 1; }
	d_n=$(echo "$line" | sed 's/^ddprof-perf: \([0-9]*\) samples.*/\1/')
	d_lost=$(echo "$line" | sed -n 's/.* \([0-9]*\) lost.*/\1/p')
	d_complete=$(echo "$line" | sed -n 's/.* \([0-9.]*\)% complete.*/\1/p')
	d_self=$(echo "$line" | sed -n 's/.* \([0-9.]*\) us CPU per sample.*/\1/p')
	[ "$d_n" -gt 0 ] || { dd_bad "ddprof-perf took no samples" "$r"; return 1; }
	d_wall=$(own_wall "$r")
	d_cpu=$(calc "$(field cpu_ms "$r.rs") - $(field cpu_ms "$r.work")")
	d_rss=$(field maxrss_kib "$r.rs")
	d_bytes=$(stat -c %s "$r.pb.gz")
}

# pf HZ: the workload under perf record, then perf report.
pf() {
	r=$tmp/pf$1
	"$runstat" -o "$r.rs" -- perf record -q -F "$1" --call-graph dwarf \
		-o "$r.data" -- "$work" "$size" >"$r.work" 2>"$r.err" ||
		{ cat "$r.err" >&2; fail "perf record -F $1 failed"; }
	"$runstat" -o "$r.rep.rs" -- perf report -i "$r.data" --stdio \
		>/dev/null 2>>"$r.err" ||
		{ cat "$r.err" >&2; fail "perf report failed"; }
	# --stats only counts records: it does not unwind, so it is not timed.
	stats=$(perf report -i "$r.data" --stats 2>/dev/null)
	p_n=$(echo "$stats" | awk '/SAMPLE events:/ { print $3; exit }')
	p_lost=$(echo "$stats" | awk '/LOST_SAMPLES events:/ { print $3; exit }')
	[ -n "$p_n" ] && [ "$p_n" -gt 0 ] || fail "perf took no samples"
	p_wall=$(own_wall "$r")
	p_rec=$(calc "$(field cpu_ms "$r.rs") - $(field cpu_ms "$r.work")")
	p_cpu=$(calc "$p_rec + $(field cpu_ms "$r.rep.rs")")
	p_rss=$(field maxrss_kib "$r.rs")
	rss_rep=$(field maxrss_kib "$r.rep.rs")
	[ "$rss_rep" -gt "$p_rss" ] && p_rss=$rss_rep
	p_bytes=$(stat -c %s "$r.data")
}

# quiet STEP NAME [HZ]: runs STEP; redoes it while the rest of the machine
# took more than 4% of the CPUs meanwhile, once per run and $max_redo times
# in all: own_wall corrects for others' load, but the less there is, the
# better. The last try counts.
redone=0
quiet() {
	tries=0
	ok=1
	while :; do
		"$1" ${3:+"$3"} || { ok=0; break; }
		other=$(field other_ms "$tmp/$2.rs")
		[ "${BENCH_VERBOSE:-0}" = 1 ] &&
			echo "overhead: $2 $(cat "$tmp/$2.rs")" >&2
		[ "$(calc "$other > 0.08 * $(field wall_ms "$tmp/$2.rs")")" = 1 ] ||
			break
		[ "$tries" -lt 1 ] && [ "$redone" -lt "$max_redo" ] || break
		tries=$((tries + 1))
		redone=$((redone + 1))
		[ "${BENCH_VERBOSE:-0}" = 1 ] &&
			echo "overhead: $2 disturbed (other_ms=$other): again" >&2
	done
}

# round HZ: one round at HZ, the order of the three runs turning from round
# to round so that drift of the machine spreads over all of them.
round() {
	d_ok=0
	case $((i % 3)) in
	0) order="alone dd pf" ;;
	1) order="pf alone dd" ;;
	*) order="dd pf alone" ;;
	esac
	for step in $order; do
		case $step in
		alone) quiet alone alone ;;
		dd) [ "$have_dd" = 1 ] && quiet dd "dd$1" "$1" && d_ok=$ok ;;
		pf) [ "$have_perf" = 1 ] && quiet pf "pf$1" "$1" ;;
		esac
	done
	put "wall_alone_${1}hz" "$a_wall"
	put "other_load" "$(calc "100 * $(field other_ms "$tmp/alone.rs") / ($ncpu * $(field wall_ms "$tmp/alone.rs"))")"
	if [ "$have_dd" = 1 ] && [ "$d_ok" = 1 ]; then
		put "slowdown_${1}hz_ddprof" "$(calc "$d_wall / $a_wall")"
		put "profiler_cpu_${1}hz_ddprof" "$(calc "$d_cpu - $a_resid")"
		put "cpu_per_sample_${1}hz_ddprof" \
			"$(calc "($d_cpu - $a_resid) * 1000 / $d_n")"
		put "samples_${1}hz_ddprof" "$d_n"
		put "lost_${1}hz_ddprof" "${d_lost:-0}"
		put "complete_${1}hz_ddprof" "${d_complete:-0}"
		put "self_cpu_per_sample_${1}hz_ddprof" "${d_self:-0}"
		put "peak_rss_${1}hz_ddprof" "$d_rss"
		put "output_bytes_${1}hz_ddprof" "$d_bytes"
	fi
	if [ "$have_perf" = 1 ]; then
		put "slowdown_${1}hz_perf" "$(calc "$p_wall / $a_wall")"
		put "profiler_cpu_${1}hz_perf" "$(calc "$p_cpu - $a_resid")"
		put "cpu_per_sample_${1}hz_perf" \
			"$(calc "($p_cpu - $a_resid) * 1000 / $p_n")"
		put "record_cpu_per_sample_${1}hz_perf" \
			"$(calc "($p_rec - $a_resid) * 1000 / $p_n")"
		put "samples_${1}hz_perf" "$p_n"
		put "lost_${1}hz_perf" "${p_lost:-0}"
		put "peak_rss_${1}hz_perf" "$p_rss"
		put "output_bytes_${1}hz_perf" "$p_bytes"
	fi
}

# Rounds stop early when a busy machine makes them slow: the whole run
# should stay within ~10 minutes.
start=$(date +%s)
i=0
while [ "$i" -lt "$rounds" ]; do
	for hz in 99 999; do
		round "$hz"
	done
	i=$((i + 1))
	[ $(($(date +%s) - start)) -lt "$budget" ] || break
done

# ---- figures -------------------------------------------------------------

# figure NAME UNIT: the medians of NAME for both tools and their ratio.
figure() {
	d=$(median "$1_ddprof")
	p=$(median "$1_perf")
	emit "$1_ddprof" "$d" "$2"
	emit "$1_perf" "$p" "$2"
	if [ -n "$d" ] && [ -n "$p" ] && [ "$(calc "$p > 0")" = 1 ]; then
		emit "$1_ratio" "$(calc "$d / $p" | fmt)" x
	fi
}

emit rounds "$i" rounds
emit redone_runs "$redone" runs
emit other_load "$(median other_load)" %
for hz in 99 999; do
	emit "wall_alone_${hz}hz" "$(median "wall_alone_${hz}hz")" ms
	figure "slowdown_${hz}hz" x
	figure "cpu_per_sample_${hz}hz" us
	figure "peak_rss_${hz}hz" KiB
	figure "output_bytes_${hz}hz" bytes
	figure "samples_${hz}hz" samples
	figure "lost_${hz}hz" samples
	figure "profiler_cpu_${hz}hz" ms
	emit "record_cpu_per_sample_${hz}hz_perf" \
		"$(median "record_cpu_per_sample_${hz}hz_perf")" us
	emit "self_cpu_per_sample_${hz}hz_ddprof" \
		"$(median "self_cpu_per_sample_${hz}hz_ddprof")" us
	emit "complete_stacks_${hz}hz_ddprof" \
		"$(median "complete_${hz}hz_ddprof")" %
done

if [ "$have_dd" = 0 ]; then
	echo "bench: ddprof-perf missing"
	exit 0
fi

# ---- system-wide: ddprof-perf -a while N copies run ----------------------

# sw MODE N: one run of sw_seconds at 999 Hz, with -a (MODE a) or attached
# to the copies with -p (MODE p), while N copies of the workload
# (size 0: until killed) keep both CPUs busy. The profiler runs alone in
# runstat's tree, so its CPU needs no subtraction. The copies run at nice 19,
# like batch work beside a production profiler: at equal priority 2*N busy
# threads starve the profiler, its rings overflow and the figure becomes one
# of lost samples instead of the cost of a sample. Everything else running
# on the machine is sampled too with -a: own_share tells the copies' share;
# -p measures the same growth without the rest of the machine.
sw() {
	mode=$1
	n=$2
	copies=""
	k=0
	while [ "$k" -lt "$n" ]; do
		nice -n 19 "$work" 0 >/dev/null &
		copies="$copies $!"
		k=$((k + 1))
	done
	sleep 0.5
	r=$tmp/sw$mode$n
	rm -f "$r.pb.gz"
	if [ "$mode" = a ]; then
		set -- -a
	else
		set -- -p "$(echo $copies | tr ' ' ,)"
	fi
	"$runstat" -o "$r.rs" -- "$bin" "$@" -d "$sw_seconds" -F 999 \
		--stack-size "$stack" -o "$r.pb.gz" 2>"$r.err" ||
		dd_bad "ddprof-perf -$mode failed with N=$n" "$r"
	for p in $copies; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	copies=""
	line=$(grep -m 1 '^ddprof-perf: [0-9]* samples' "$r.err")
	[ -n "$line" ] || return 0
	k=$(echo "$line" | sed 's/^ddprof-perf: \([0-9]*\) samples.*/\1/')
	lost=$(echo "$line" | sed -n 's/.* \([0-9]*\) lost.*/\1/p')
	[ "$k" -gt 0 ] || { dd_bad "ddprof-perf -$mode took no samples" "$r"; return 0; }
	put "sw${mode}_samples_n$n" "$k"
	put "sw${mode}_lost_n$n" "${lost:-0}"
	put "sw${mode}_cpu_per_sample_n$n" \
		"$(calc "$(field cpu_ms "$r.rs") * 1000 / $k")"
	put "sw${mode}_peak_rss_n$n" "$(field maxrss_kib "$r.rs")"
	if [ "$mode" = a ] && [ "$have_go" = 1 ]; then
		share=$(go tool pprof -tags "$r.pb.gz" 2>/dev/null | awk '
			/^ *process_name:/ { on = 1; next }
			on && /^ *$/ { exit }
			on && /: bench_work$/ { sub(/%\).*/, ""); sub(/.*\( */, "");
				print; exit }')
		put "swa_own_share_n$n" "${share:-0}"
	fi
}

have_go=0
command -v go >/dev/null 2>&1 && have_go=1
i=0
while [ "$i" -lt "$sw_rounds" ]; do
	for n in 1 2 4 8; do
		sw a "$n"
		sw p "$n"
	done
	i=$((i + 1))
done
# sw_report MODE PREFIX: the medians of MODE's runs and their growth.
sw_report() {
	for n in 1 2 4 8; do
		emit "$2_cpu_per_sample_n${n}_ddprof" \
			"$(median "sw$1_cpu_per_sample_n$n")" us
		emit "$2_samples_n${n}_ddprof" "$(median "sw$1_samples_n$n")" \
			samples
		emit "$2_lost_n${n}_ddprof" "$(median "sw$1_lost_n$n")" samples
		emit "$2_peak_rss_n${n}_ddprof" "$(median "sw$1_peak_rss_n$n")" \
			KiB
		emit "$2_own_share_n${n}_ddprof" "$(median "sw$1_own_share_n$n")" %
	done
	g1=$(median "sw$1_cpu_per_sample_n1")
	g8=$(median "sw$1_cpu_per_sample_n8")
	growth=
	if [ -n "$g1" ] && [ -n "$g8" ]; then
		growth=$(calc "($g8 / $g1 - 1) * 100")
		emit "$2_cpu_per_sample_growth_n1_n8" \
			"$(echo "$growth" | fmt)" %
	fi
}
sw_report a system_wide
sw_growth=$growth
sw_report p attach

# ---- targets of issue 7 (999 Hz, 32 KiB stack copies) --------------------

# target NAME CONDITION: prints target_missed NAME when CONDITION (awk) fails.
target() {
	if [ "$(calc "$2")" != 1 ]; then
		echo "bench: target_missed $1"
	fi
}
[ "$have_perf" = 1 ] && {
	target cpu_per_sample_999hz_ratio \
		"$(median cpu_per_sample_999hz_ddprof) <= $(median cpu_per_sample_999hz_perf) / 10"
	target slowdown_999hz_ratio \
		"$(median slowdown_999hz_ddprof) <= $(median slowdown_999hz_perf)"
	target peak_rss_999hz_ratio \
		"$(median peak_rss_999hz_ddprof) <= $(median peak_rss_999hz_perf) / 4"
}
target system_wide_cpu_per_sample_growth_n1_n8 "${sw_growth:-1e9} < 20"
if [ "$dd_failures" -gt 0 ]; then
	echo "bench: ddprof_failures $dd_failures runs"
	exit 1
fi
exit 0
