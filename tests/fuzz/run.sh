#!/bin/sh
# run.sh -- run built libFuzzer targets for a fixed time each.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
#   (make fuzz / make fuzz-smoke call it; see tests/fuzz/README.md)
# Each target fuzzes a working copy of its seeds, BUILD_DIR/corpus-work/T
# (tests/fuzz/corpus/T is only read; the working corpus grows across runs,
# FUZZ_FRESH=1 starts it again from the seeds; FUZZ_WORKDIR=DIR works in
# DIR/T instead, as make fuzz-smoke does so that make test always starts
# from the seeds and keeps the long runs' corpora). A crash, leak, timeout or
# broken invariant fails the target; its input is left in
# BUILD_DIR/artifacts/T/ and its path printed. FUZZ_JOBS=N runs N targets
# at once; FUZZ_ARGS adds libFuzzer flags. Inputs of past findings,
# tests/fuzz/crashes/T-*, are added to the working corpus. Prints the
# executions reached per target (and any NOTE: lines, e.g. known findings
# a harness tolerates for now), then "N passed, N failed"; exits 1 when
# any target failed.
set -u
B=${1:?usage: run.sh BUILD_DIR SECONDS TARGET...}
S=${2:?usage: run.sh BUILD_DIR SECONDS TARGET...}
shift 2
cd "$(dirname "$0")/../.." || exit 2
JOBS=${FUZZ_JOBS:-1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Longest input per target: a few KiB is enough for every format here and
# keeps the executions per second high.
max_len() {
	case $1 in
	validate|provider_event|provider_body|native_request) echo 8192 ;;
	dialect_responses|dialect_messages) echo 16384 ;;	# client fixtures
	sse) echo 2048 ;;
	listen|redisurl) echo 512 ;;
	win) echo 8704 ;;		# a full day window: 17 + 8666 bytes
	stats) echo 2048 ;;		# a whole record is 6 + 8 x PX_ST_N bytes
	ledger_rec) echo 16384 ;;	# 1000 leases: 1 + 16004 bytes
	*) echo 4096 ;;
	esac
}

# The target's -dict= flag (dialect and native targets: json.dict with
# dialect.dict, joined into $B/logs/T.dict; none for the binary records).
dict_of() {
	case $1 in
	win|ledger_rec|stats) ;;
	sse|thoughts|listen|redisurl) echo "-dict=tests/fuzz/dict/$1.dict" ;;
	dialect_*|native_*|thoughtsig)
		cat tests/fuzz/dict/json.dict tests/fuzz/dict/dialect.dict \
		    > "$B/logs/$1.dict"
		echo "-dict=$B/logs/$1.dict" ;;
	*) echo -dict=tests/fuzz/dict/json.dict ;;
	esac
}

# One target; writes its report line(s) to $B/logs/$1.result.
run_one() {
	t=$1
	bin=$B/fuzz_$t
	work=${FUZZ_WORKDIR:-$B/corpus-work}/$t
	art=$B/artifacts/$t
	log=$B/logs/$t.log
	res=$B/logs/$t.result
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz_$t: $bin not built" > "$res"
		return
	fi
	[ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$work"
	mkdir -p "$work" "$art"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp -R "tests/fuzz/corpus/$t/." "$work/"
	fi
	# inputs of past findings run first, as regression seeds
	for c in tests/fuzz/crashes/"$t"-*; do
		[ -f "$c" ] && cp "$c" "$work/"
	done
	# shellcheck disable=SC2086,SC2046
	"$bin" -max_total_time="$S" -max_len="$(max_len "$t")" \
	    -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
	    $(dict_of "$t") -artifact_prefix="$art/" \
	    ${FUZZ_ARGS:-} "$work" > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" |
	    tail -n 1)
	[ -n "$secs" ] || secs=$S
	[ "$secs" -gt 0 ] 2>/dev/null || secs=1
	files=$(find "$work" -type f | wc -l)
	if [ $rc -eq 0 ] && [ -n "$execs" ]; then
		{
			echo "ok - fuzz_$t: $execs executions in ${secs} s" \
			    "($((execs / secs))/s), corpus $files files"
			# known findings and soft checks print NOTE: once
			grep -a '^NOTE: ' "$log" | cut -c 1-160 |
			    sed 's/^/    /'
		} > "$res"
		return
	fi
	{
		echo "not ok - fuzz_$t: exit $rc after ${execs:-?} executions" \
		    "(log: $log)"
		grep -E '^(INVARIANT VIOLATED|    check:|SUMMARY:|==[0-9]+==ERROR)' \
		    "$log" | head -n 6 | sed 's/^/    /'
		grep -E '^ *#[0-9]+ ' "$log" | grep -v -e 'fuzzer::' \
		    -e ' in __libc_' -e ' in _start' -e ' in main ' | head -n 12 |
		    sed -e 's/ (BuildId: [0-9a-f]*)//' -e 's/^/    /'
		sed -n 's/.*Test unit written to \(.*\)$/    crash input: \1/p' \
		    "$log"
	} > "$res"
}

mkdir -p "$B/logs"
passed=0
failed=0
running=0
for t in "$@"; do
	rm -f "$B/logs/$t.result"
	if [ "$JOBS" -gt 1 ]; then
		run_one "$t" &
		running=$((running + 1))
		if [ $running -ge "$JOBS" ]; then
			wait
			running=0
		fi
	else
		run_one "$t"
		cat "$B/logs/$t.result"
	fi
done
wait
for t in "$@"; do
	[ "$JOBS" -gt 1 ] && cat "$B/logs/$t.result"
	if grep -q '^ok - ' "$B/logs/$t.result" 2>/dev/null; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
