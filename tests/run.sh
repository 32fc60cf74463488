#!/bin/bash
# run.sh -- the whole test suite: C unit tests, the fuzz targets for a few
# seconds each, then the integration suite
# (real lighttpd + the mock upstream + the official openai client), then
# every deployment recipe behind its real server (lighttpd, Apache, nginx).
# Usage: tests/run.sh BUILD_DIR [unit]. Prints "N passed, N failed" last and
# exits non-zero when anything failed or could not run.
set -u
B=${1:-build/asan}
only=${2:-all}
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0

count() {	# add up the "N passed, N failed" line of a runner's output
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $2 printed no summary (crashed?)"
		failed=$((failed + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
}

# One redis-server for the whole run, on a free 127.0.0.1 port: the
# shared ledger backend (issue 12). Unit suites run every ledger case on
# it too (AIPROXY_TEST_REDIS_URL); stopped by PID at the end.
redis_pid=
redis_start() {
	local port i
	port=$(node -e 'const s=require("net").createServer();
	    s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
	redis-server --port "$port" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize no --logfile "$out/redis.log" &
	redis_pid=$!
	for i in $(seq 1 100); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
		sleep 0.05
	done
	export AIPROXY_TEST_REDIS_URL="redis://127.0.0.1:$port"
}
redis_stop() {
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && \
	    wait "$redis_pid" 2>/dev/null
	redis_pid=
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
out=$(mktemp -d)
redis_start
trap redis_stop EXIT
for t in "$B"/unit/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	"$t" > "$out/$name.log" 2>&1
	rc=$?
	grep -E '^not ok' "$out/$name.log"
	echo "unit $name: $(tail -n 1 "$out/$name.log")"
	count "$out/$name.log" "$name"
	if [ $rc -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed' "$out/$name.log"; then
		echo "not ok - $name exited $rc"; cat "$out/$name.log"
		failed=$((failed + 1))
	fi
done

if [ "$only" != unit ]; then
	# every fuzz target for a few seconds, from its seeds and past
	# findings, so the targets keep building and no finding comes back
	make -s fuzz-smoke 2>&1 | tee "$out/fuzz.log" | \
	    grep -E '^(not ok|ok - fuzz_|[0-9]+ passed)'
	count "$out/fuzz.log" fuzz
	node tests/integ/run.js --bin "$B/aiproxy" 2>&1 | tee "$out/integ.log"
	count "$out/integ.log" integration
	# the usage page in headless Debian chromium (issue 14); screenshots
	# in $AIPROXY_ARTEFACTS (default build/artefacts)
	node tests/browser/run.js --bin "$B/aiproxy" 2>&1 | tee "$out/browser.log"
	count "$out/browser.log" browser
	# every recipe in deploy/ behind its real server (issue 5)
	node tests/deploy/run.js --bin "$B/aiproxy" 2>&1 | tee "$out/deploy.log"
	count "$out/deploy.log" deploy
fi
redis_stop
rm -rf "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
