#!/usr/bin/env bash
# bench/run.sh -- `make bench` (issue 6): the proxy's measurement suite.
# Owns: building the bench tools (bench/*.c) into a temp dir (with a copy of
# cgi/aiproxy, so one binary serves the whole run); starting every
# server in the foreground from config files written into that dir, on free
# 127.0.0.1 ports; measuring side by side in one run (direct to the canned
# upstream, lighttpd mod_proxy, lighttpd -> aiproxy, nginx -> aiproxy);
# stopping exactly the processes it started, by PID; writing BENCHMARKS.md.
# Client dialects (issue 10): /v1/responses and /v1/messages (paths lpr,
# lpm) through the same lighttpd to twin responders (same binary, threads
# and configuration as the chat ones, so the chat path's memory figures
# stay the chat path's); their stream runs are interleaved with the chat
# runs at N=512 and their non-stream wrk runs with the chat ones, so CPU per
# event and req/s compare side by side.
# Native Gemini upstream (issue 11): path lpn, the chat route through the
# same lighttpd to twin responders whose config has one gemini entry with
# "api": "native" (base_url the canned upstreams' /v1beta prefix: nginx for
# non-stream, bench/upstream.c for streams), run in the same rounds as the
# dialects, so the native path's CPU per relayed upstream event, req/s and
# allocations per event sit beside the OpenAI-compatible path's (lp).
# Ledger backends (issue 12): bench/ledger_bench.c's reserve + settle pairs
# on LMDB and on Redis (a redis-server of our own on a free port, no
# persistence, stopped by PID), the two backends' runs interleaved.
# Issue 15 (performance v2): path l2, lighttpd spawning 2 responders (one
# fastcgi.server entry, max-procs 2, 64 threads each; a pair per kind, as
# path lp has one responder per kind), in the same rounds as lp and the
# mod_proxy floor (http2_phase: req/s at c=16/64, CPU per request of the
# whole path from /proc ticks of lighttpd + the path's responders, c=1
# latency; in full runs or with BENCH_PROFILE=1 a perf/strace profile of
# lp and l2); path r2, the same with the ledger in a redis-server of our
# own (redis_http_phase, beside l2). Report section 11 lists every target
# of issue 15. One part alone: `bash bench/run.sh http2|redis|dialects|
# ledger|issue15` (several allowed; QUICK=1 works): section 11 (and the
# ledger's) to stdout or BENCH_OUT, never into BENCHMARKS.md.
# Never: port 80, system services, a process left behind, or an unbounded
# loop: every loop has a count, every client a timeout, the run a deadline.
#
# QUICK=1: a smoke run of about 3 minutes (1 s load runs, c=1 and c=64
# only, streams at N=512 on two paths and one run per client dialect and of
# the native Gemini path, no step scan, the ledger's busy-keys rows once).
# BENCH_OUT=FILE writes the report elsewhere; BENCH_KEEP=1 keeps the temp
# dir (logs, raw results); BENCH_REPORT_FROM=DIR re-renders the report of such a kept run.
# BENCH_ONLY=ledger, or `bash bench/run.sh ledger`: the ledger phase alone
# (LMDB and Redis side by side, needs neither wrk nor a built proxy); its
# section goes to stdout, or to BENCH_OUT, never into BENCHMARKS.md.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/cgi/aiproxy
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
QUICK=${QUICK:-0}
KEY=bench-access-key
RUNS=3			# every figure: median of RUNS runs, with min-max
TMAX=1100		# proxy threads for the stream step scan (>= largest N)
T512=520		# proxy threads for the N=512 stream runs
EVENTS=64
# The stream upstream and the load client are the instruments: they run at
# this nice value so their own scheduling delay on a busy box is not
# counted as the proxy's lateness (BENCH_NICE=0 to measure without).
NICE=${BENCH_NICE:--5}
if [ "$QUICK" = 1 ]; then
	TP_DUR=1; TP_DUR1=1; TP_CONCS="1 64"; ST_PATHS="direct lp"; SCAN=""
	ST_TAIL=2; CG_REQ=50; LEDGER_S=0.5; DEADLINE=330; DO_EXTRA=0
	DL_RUNS=1
else
	TP_DUR=2; TP_DUR1=4; TP_CONCS="1 16 64"; ST_PATHS="direct mp lp np"
	SCAN="1000 768 640"; ST_TAIL=4; CG_REQ=200; LEDGER_S=1.5; DEADLINE=1320
	DO_EXTRA=1; DL_RUNS=$RUNS
fi
# Client dialects beside the chat path (lighttpd -> aiproxy, responders
# LD_J and LD_S): lpr posts to /v1/responses, lpm to /v1/messages (with
# x-api-key, as Claude Code does).
# DL_RUNS: how many of the N=512 chat rounds (the last ones) also run each
# dialect's stream right after the chat run of the round.
DIALECTS="lpr lpm"
# The native Gemini upstream path (chat route, responders LN_J and LN_S),
# run wherever the dialects run, right after them.
NATIVE="lpn"

if [ -n "${BENCH_REPORT_FROM:-}" ]; then	# re-render a kept run's report
	T=$BENCH_REPORT_FROM
	BENCH_KEEP=1
else
	T=$(mktemp -d /tmp/aiproxy-bench.XXXXXX) || exit 1
	chmod 755 "$T"
	: >"$T/results"
fi
RES=$T/results		# "key value" per measurement, one line each
declare -A PID		# name -> pid of every process we started
ORDER=()

say() { printf '[bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { say "FATAL: $*"; exit 1; }

# --- processes ---------------------------------------------------------------

alive() {	# a live (not zombie) process
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() {	# TERM, wait up to 12 s (the proxy drains), then KILL
	local p=$1 i
	alive "$p" || return 0
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 120); do
		alive "$p" || return 0
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
}

start() {	# start NAME CMD...: in the background, logs in $T/NAME.log
	local name=$1
	shift
	"$@" >"$T/$name.log" 2>&1 &
	PID[$name]=$!
	ORDER+=("$name")
}

stop() {	# stop NAME and then any of its children still alive
	local name=$1 p kids k
	p=${PID[$name]:-}
	[ -n "$p" ] || return 0
	kids=$(pgrep -P "$p" 2>/dev/null)
	stop_pid "$p"
	for k in $kids; do stop_pid "$k"; done
	unset "PID[$name]"
}

cleanup() {
	local i
	for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do
		stop "${ORDER[$i]}"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_time() {
	[ "$SECONDS" -lt "$DEADLINE" ] || die "over the ${DEADLINE}s budget"
}

wait_tcp() {	# until 127.0.0.1:$1 accepts (5 s)
	local i
	for i in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	die "nothing listens on port $1"
}

wait_sock() {
	local i
	for i in $(seq 50); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	die "no socket $1"
}

port() { "$T/bin/loadclient" port; }

# The child of $1 whose environment has AIPROXY_CONFIG=$2.
child_with_cfg() {
	local k
	for k in $(pgrep -P "$1"); do
		if tr '\0' '\n' <"/proc/$k/environ" 2>/dev/null |
		    grep -qx "AIPROXY_CONFIG=$2"; then
			echo "$k"
			return 0
		fi
	done
	return 1
}

# Every child of $1 whose environment has AIPROXY_CONFIG=$2, space
# separated; fails unless there are $3 of them (waits up to 5 s for them).
children_with_cfg() {
	local k i l
	for i in $(seq 50); do
		l=""
		for k in $(pgrep -P "$1"); do
			tr '\0' '\n' <"/proc/$k/environ" 2>/dev/null |
			    grep -qx "AIPROXY_CONFIG=$2" && l="$l${l:+ }$k"
		done
		if [ "$(echo "$l" | wc -w)" -ge "${3:-1}" ]; then
			echo "$l"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# user + system ticks summed over a list of pids (a process that is gone
# counts 0)
ticks_sum() {
	local p s=0
	for p in "$@"; do s=$((s + $(ticks "$p"))); done
	echo "$s"
}
sticks_sum() {
	local p s=0
	for p in "$@"; do s=$((s + $(sticks "$p"))); done
	echo "$s"
}
sticks() { awk '{ print $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK=$(getconf CLK_TCK)

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null; }

# RSS of a process by kind of mapping, in kB: "stacks heap files other"
# (stacks: the 256 KiB thread stacks the proxy creates, 252 KiB usable).
smaps_cat() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { perm = $2; name = $6; next }
	    /^Size:/ { sz = $2; next }
	    /^Rss:/ {
		if (name == "" && perm == "rw-p" && (sz == 252 || sz == 256))
			c = "stacks"
		else if (name == "" || name == "[heap]")
			c = "heap"
		else if (name ~ /^\//)
			c = "files"
		else
			c = "other"
		r[c] += $2 }
	    END { printf("%d %d %d %d\n", r["stacks"], r["heap"], r["files"],
		r["other"]) }' "/proc/$1/smaps" 2>/dev/null
}

# Resident kB per mapped file, largest first: "kB file"
smaps_files() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6; next }
	    /^Rss:/ { if (name ~ /^\//) r[name] += $2 }
	    END { for (f in r) if (r[f] > 0) print r[f], f }' \
	    "/proc/$1/smaps" 2>/dev/null | sort -rn | head -n "${2:-8}"
}

rec_smaps() {	# PREFIX PID
	local v
	v=$(awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { q += $2 }
	    END { print p, q }' "/proc/$2/smaps_rollup" 2>/dev/null)
	rec "$1.pss" "${v% *}"
	rec "$1.private" "${v#* }"
	v=$(smaps_cat "$2")
	[ -n "$v" ] || return 0
	# shellcheck disable=SC2086	# split "stacks heap files other"
	set -- "$1" $v
	rec "$1.stacks" "$2"
	rec "$1.heap" "$3"
	rec "$1.files" "$4"
	rec "$1.other" "$5"
}

# Own instructions per function in a callgrind dump, top 12: "Ir fn (object)".
# (callgrind_annotate credits everything to clone() in dumps taken while
# threads are inside calls, so the file is summed here.)
cg_top() {
	awk '/^ob=/ { s = substr($0, 4); i = s; if (match(s, /^\([0-9]+\) /)) {
			i = substr(s, 1, RLENGTH - 1); obn[i] = substr(s, RLENGTH + 1) }
		ob = i; next }
	    /^fn=/ { s = substr($0, 4); i = s; if (match(s, /^\([0-9]+\) /)) {
			i = substr(s, 1, RLENGTH - 1); fnn[i] = substr(s, RLENGTH + 1) }
		fn = i; fob[fn] = ob; skip = 0; next }
	    /^cfn=/ { s = substr($0, 5); if (match(s, /^\([0-9]+\) /))
			fnn[substr(s, 1, RLENGTH - 1)] = substr(s, RLENGTH + 1)
		next }
	    /^cob=/ { s = substr($0, 5); if (match(s, /^\([0-9]+\) /))
			obn[substr(s, 1, RLENGTH - 1)] = substr(s, RLENGTH + 1)
		next }
	    /^calls=/ { skip = 1; next }
	    /^[0-9+*-]/ { if (skip) { skip = 0; next } self[fn] += $2; tot += $2 }
	    END { if (byob) {
			for (f in self) { o = obn[fob[f]]; sub(/.*\//, "", o); t[o] += self[f] }
			for (o in t) printf("%d %.1f%% %s\n", t[o], 100 * t[o] / tot, o)
			exit }
		for (f in self) {
			o = obn[fob[f]]; sub(/.*\//, "", o)
			printf("%d %.1f%% %s (%s)\n", self[f], 100 * self[f] / tot,
			    (f in fnn) ? fnn[f] : f, o) } }' byob="${3:-0}" "$1" |
	    sort -rn | head -n "${2:-12}"
}

# --- results -----------------------------------------------------------------

rec() { [ -z "${2:-}" ] || echo "$1 $2" >>"$RES"; }
vals() { awk -v k="$1" '$1 == k { print $2 }' "$RES"; }
# "median min max n" of a key (n = 0: no data)
stat3() {
	vals "$1" | sort -g | awk '{ a[NR] = $1 }
	    END { if (NR == 0) { print "nan nan nan 0"; exit }
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		print m, a[1], a[NR], NR }'
}
med() { stat3 "$1" | cut -d' ' -f1; }
# "median (min–max)" formatted with printf format $2 (and a unit $3)
fmt() {
	stat3 "$1" | awk -v f="$2" -v u="${3:-}" '{
	    if ($4 == 0) { print "n/a"; exit }
	    if ($4 == 1 || $2 == $3) { printf(f "%s\n", $1, u); exit }
	    printf(f "%s (" f "–" f ")\n", $1, u, $2, $3) }'
}
kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }
num_pos() { awk -v a="${1:-}" 'BEGIN { exit !(a ~ /^[0-9.]+$/ && a + 0 > 0) }'; }
calc() {	# an awk expression; nothing when an operand is missing
	case "$1" in *nan*|*"- )"*|*"/ )"*) return 0 ;; esac
	awk "BEGIN { printf(\"%.6g\", $1) }"
}

# --- build -------------------------------------------------------------------

# A variable of the Makefile as make expands it (e.g. LEDGER_UNIT, built
# from LEDGER_MODS): the bench links what the product links.
make_var() {
	# the \$ keeps $(NAME) for make
	make -s --no-print-directory -C "$ROOT" \
	    --eval "bench-print-var: ; @echo \$($1)" bench-print-var 2>/dev/null
}

# bench/ledger_bench.c over the ledger's modules ($(LEDGER_UNIT): both
# backends, hiredis's owner common/redis.c included) and ledger.lua
# compiled in (the Makefile's own rule writes $B/gen/ledger_lua.c, B a dir
# of ours), with the Makefile's standard and warnings (-Werror).
build_ledger() {
	local cc=${CC:-cc} b=$T/bin src cstd warn
	mkdir -p "$b"
	cd "$ROOT" || exit 1
	src=$(make_var LEDGER_UNIT)
	cstd=$(make_var CSTD)
	warn=$(make_var WARN)
	if [ -z "$src" ] || [ -z "$cstd" ] || [ -z "$warn" ]; then
		die "ledger_bench: make did not list LEDGER_UNIT, CSTD, WARN"
	fi
	make -s --no-print-directory -C "$ROOT" B="$b/obj" \
	    "$b/obj/gen/ledger_lua.c" >/dev/null || die "generate ledger_lua.c"
	# shellcheck disable=SC2086	# word lists from the Makefile
	$cc $cstd $warn -O2 -Icommon -isystem /usr/include/cjson \
	    -o "$b/ledger_bench" bench/ledger_bench.c $src \
	    "$b/obj/gen/ledger_lua.c" -llmdb -lcjson -lhiredis -pthread ||
	    die "build ledger_bench"
}

build() {
	local cc=${CC:-cc} b=$T/bin
	local w=(-O2 -Wall -Wextra)
	mkdir -p "$b"
	cd "$ROOT" || exit 1
	# one binary for the whole run, even if the tree is rebuilt meanwhile
	cp "$BIN" "$b/aiproxy" || die "copy $BIN"
	# what was measured: the tree's commit when the run started and the
	# binary's build time (another build may land during a long run)
	echo "$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null) $(date -u -r "$BIN" '+%H:%M')" >"$T/bin-info"
	BIN=$b/aiproxy
	$cc "${w[@]}" -o "$b/upstream" bench/upstream.c || die "build upstream"
	$cc "${w[@]}" -o "$b/loadclient" bench/loadclient.c ||
	    die "build loadclient"
	$cc "${w[@]}" -shared -fPIC -o "$b/mallocount.so" bench/mallocount.c ||
	    die "build mallocount"
	build_ledger
}

# --- configuration files -------------------------------------------------------

CHAT_JSON='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}'
# Gemini's generateContent answer for the same text (bench/upstream.c's
# GEMINI_JSON, byte for byte), served by nginx under /v1beta/.
GEMINI_JSON='{"candidates":[{"content":{"parts":[{"text":"Hello from the bench upstream."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":7,"totalTokenCount":16},"modelVersion":"bench","responseId":"bench"}'

# The request bodies of one route: PREFIX (b- chat, b-r- Responses, b-m-
# Messages) and the text in front of / after the model of each body.
write_route_bodies() {
	local pf=$1 pre=$2 post=$3 s
	echo "{$pre\"model\":\"bench\"$post}" >"$T/${pf}json.json"
	s=",\"stream\":true"
	echo "{$pre\"model\":\"bench-e8-i0\"$s$post}" >"$T/${pf}short.json"
	echo "{$pre\"model\":\"bench-e64-i20\"$s$post}" >"$T/${pf}s20.json"
	echo "{$pre\"model\":\"bench-e64-i40\"$s$post}" >"$T/${pf}s40.json"
	echo "{$pre\"model\":\"bench-e1-i20\"$s$post}" >"$T/${pf}s1.json"
	# the allocation counts' baseline: 2 events 20 ms apart, so that
	# the transfer waits on its socket as the 64-event one does (a
	# transfer done before it ever waits skips curl's per-transfer socket
	# entry: 4 allocations that are not per event)
	echo "{$pre\"model\":\"bench-e2-i20\"$s$post}" >"$T/${pf}s2.json"
	echo "{$pre\"model\":\"bench-e4-i20\"$s$post}" >"$T/${pf}s4.json"
}

write_bodies() {
	local msg='"messages":[{"role":"user","content":"Say hello to the benchmark."}]'
	write_route_bodies b- "" ",$msg"
	# Responses: the same prompt as input; Messages: max_tokens required
	write_route_bodies b-r- "" ',"input":"Say hello to the benchmark."'
	write_route_bodies b-m- '"max_tokens":256,' ",$msg"
}

# Body file prefix, route tail and loadclient/wrk auth style of a path.
dl_pfx() { case $1 in lpr) echo b-r- ;; lpm) echo b-m- ;; *) echo b- ;; esac; }
dl_route() {
	case $1 in
	lpr) echo /v1/responses ;;
	lpm) echo /v1/messages ;;
	*) echo /v1/chat/completions ;;
	esac
}
dl_auth() { [ "$1" = lpm ] && echo x-api-key; }

# The bench's four keys, with limits so high nothing is refused.
BENCH_ENTRY='"key": ["bench-k1", "bench-k2", "bench-k3", "bench-k4"],
     "max_request_day": 1000000000, "max_token_min": 1000000000,
     "max_request_min": 1000000000'

# NAME ENTRY [MEMBERS]: cfg-NAME.json with one provider_keys entry
# (BENCH_ENTRY's members, then ENTRY's) and optional top-level members
# (each line ending in a comma), checked by the binary.
write_config() {
	cat >"$T/cfg-$1.json" <<EOF
{
  "access_key": "$KEY",
  "state_dir": "$T/state-$1",${3:+
  $3}
  "provider_keys": [
    {$BENCH_ENTRY,
     $2}
  ]
}
EOF
	"$BIN" --check-config "$T/cfg-$1.json" >/dev/null ||
	    die "config $1 rejected"
}

write_proxy_config() {	# NAME UPSTREAM_PORT
	write_config "$1" "\"provider\": \"openrouter\",
     \"base_url\": \"http://127.0.0.1:$2/api/v1\""
}

# NAME UPSTREAM_PORT: one gemini entry over the native API, every model id
# of write_route_bodies listed (so they route to it), base_url the
# upstream's /v1beta.
write_native_config() {
	write_config "$1" "\"provider\": \"gemini\", \"api\": \"native\",
     \"models\": [\"bench\", \"bench-e8-i0\", \"bench-e64-i20\",
         \"bench-e64-i40\", \"bench-e1-i20\", \"bench-e2-i20\",
         \"bench-e4-i20\"],
     \"base_url\": \"http://127.0.0.1:$2/v1beta\""
}

# NAME UPSTREAM_PORT: write_proxy_config's, with the ledger in the Redis
# server of the HTTP-level Redis runs (issue 15; REDIS_HTTP_PORT).
write_redis_config() {
	write_config "$1" "\"provider\": \"openrouter\",
     \"base_url\": \"http://127.0.0.1:$2/api/v1\"" \
	    "\"state_backend\": \"redis\",
  \"redis_url\": \"redis://127.0.0.1:$REDIS_HTTP_PORT/0\",
  \"redis_prefix\": \"aiproxy-bench-http:\","
}

nginx_common() {	# NAME: the lines every nginx instance shares
	local u=""
	[ "$(id -u)" = 0 ] && u="user root;"
	mkdir -p "$T/ngx-$1"
	cat <<EOF
$u
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $T/ngx-$1/nginx.pid;
error_log $T/ngx-$1/error.log warn;
events { worker_connections 16384; }
EOF
}

nginx_temp() {
	cat <<EOF
	access_log off;
	client_body_temp_path $T/ngx-$1/body;
	proxy_temp_path $T/ngx-$1/proxy;
	fastcgi_temp_path $T/ngx-$1/fastcgi;
	uwsgi_temp_path $T/ngx-$1/uwsgi;
	scgi_temp_path $T/ngx-$1/scgi;
	keepalive_requests 1000000;
EOF
}

write_nginx_up() {	# the non-stream canned upstream: return 200
	{
		nginx_common up
		echo "http {"
		nginx_temp up
		cat <<EOF
	server {
		listen 127.0.0.1:$P_JSON;
		location / {
			default_type application/json;
			return 200 '$CHAT_JSON';
		}
		location /v1beta/ {
			default_type application/json;
			return 200 '$GEMINI_JSON';
		}
	}
}
EOF
	} >"$T/nginx-up.conf"
}

write_nginx_front() {	# nginx -> the proxy pools, as deploy/nginx does it
	local loc
	{
		nginx_common front
		echo "http {"
		nginx_temp front
		echo "	server {"
		echo "		listen 127.0.0.1:$P_NGX;"
		for loc in j s; do
			cat <<EOF
		location /p$loc/ {
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$T/pool-$loc.sock;
			fastcgi_buffering off;
			fastcgi_read_timeout 300s;
			client_max_body_size 4m;
		}
EOF
		done
		echo "	}"
		echo "}"
	} >"$T/nginx-front.conf"
}

lighttpd_fcgi() {	# PREFIX SOCKET BIN CONFIG THREADS [MAX_PROCS]
	cat <<EOF
	"$1" => ((
		"bin-path" => "$3",
		"socket" => "$2",
		"max-procs" => ${6:-1},
		"check-local" => "disable",
		"bin-environment" => (
			"AIPROXY_CONFIG" => "$4",
			"AIPROXY_THREADS" => "$5",
		),
	)),
EOF
}

write_lighttpd() {	# THREADS_FOR_/ps/: mod_proxy floor + spawned proxies
	cat >"$T/lighttpd.conf" <<EOF
server.port = $P_LTD
server.bind = "127.0.0.1"
server.document-root = "$T"
server.errorlog = "$T/lighttpd-error.log"
server.max-fds = 16384
server.max-connections = 8000
server.stream-response-body = 2
server.modules += ( "mod_proxy", "mod_fastcgi" )
proxy.server = (
	"/j/" => (( "host" => "127.0.0.1", "port" => $P_JSON )),
	"/s/" => (( "host" => "127.0.0.1", "port" => $P_SSE )),
)
fastcgi.server = (
$(lighttpd_fcgi /pj/ "$T/lp-j.sock" "$BIN" "$T/cfg-j.json" 64)
$(lighttpd_fcgi /ps/ "$T/lp-s.sock" "$BIN" "$T/cfg-s.json" "$1")
$(lighttpd_fcgi /dj/ "$T/ld-j.sock" "$BIN" "$T/cfg-dj.json" 64)
$(lighttpd_fcgi /ds/ "$T/ld-s.sock" "$BIN" "$T/cfg-ds.json" "$1")
$(lighttpd_fcgi /nj/ "$T/ln-j.sock" "$BIN" "$T/cfg-nj.json" 64)
$(lighttpd_fcgi /ns/ "$T/ln-s.sock" "$BIN" "$T/cfg-ns.json" "$1")
$(lighttpd_fcgi /qj/ "$T/l2-j.sock" "$BIN" "$T/cfg-2j.json" 64 2)
$(lighttpd_fcgi /qs/ "$T/l2-s.sock" "$BIN" "$T/cfg-2s.json" 64 2)
$([ -n "$REDIS_HTTP_PORT" ] &&
    lighttpd_fcgi /rj/ "$T/r2-j.sock" "$BIN" "$T/cfg-rj.json" 64 2)
$([ -n "$REDIS_HTTP_PORT" ] &&
    lighttpd_fcgi /rs/ "$T/r2-s.sock" "$BIN" "$T/cfg-rs.json" 64 2)
)
EOF
}

write_lighttpd_aux() {	# callgrind and malloc-count responders
	cat >"$T/cg-wrap.sh" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind -q --callgrind-out-file=$T/callgrind.out.%p "$BIN"
EOF
	cat >"$T/mc-wrap.sh" <<EOF
#!/bin/sh
MALLOCOUNT_FILE=$T/mallocount LD_PRELOAD=$T/bin/mallocount.so exec "$BIN"
EOF
	cat >"$T/mcn-wrap.sh" <<EOF
#!/bin/sh
MALLOCOUNT_FILE=$T/mallocount-n LD_PRELOAD=$T/bin/mallocount.so exec "$BIN"
EOF
	chmod 755 "$T/cg-wrap.sh" "$T/mc-wrap.sh" "$T/mcn-wrap.sh"
	cat >"$T/lighttpd-aux.conf" <<EOF
server.port = $P_AUX
server.bind = "127.0.0.1"
server.document-root = "$T"
server.errorlog = "$T/lighttpd-aux-error.log"
server.stream-response-body = 2
server.modules += ( "mod_fastcgi" )
fastcgi.server = (
$(lighttpd_fcgi /cg/ "$T/cg.sock" "$T/cg-wrap.sh" "$T/cfg-cg.json" 4)
$(lighttpd_fcgi /mc/ "$T/mc.sock" "$T/mc-wrap.sh" "$T/cfg-mc.json" 1)
$(lighttpd_fcgi /mcn/ "$T/mcn.sock" "$T/mcn-wrap.sh" "$T/cfg-mcn.json" 1)
)
EOF
}

# --- servers -----------------------------------------------------------------

start_lighttpd() {	# THREADS_FOR_/ps/
	write_lighttpd "$1"
	start lighttpd lighttpd -D -f "$T/lighttpd.conf"
	wait_tcp "$P_LTD"
	sleep 0.3
	LP_J=$(child_with_cfg "${PID[lighttpd]}" "$T/cfg-j.json") ||
	    die "no lighttpd-spawned proxy (j)"
	LP_S=$(child_with_cfg "${PID[lighttpd]}" "$T/cfg-s.json") ||
	    die "no lighttpd-spawned proxy (s)"
	LD_J=$(child_with_cfg "${PID[lighttpd]}" "$T/cfg-dj.json") ||
	    die "no lighttpd-spawned proxy (dj)"
	LD_S=$(child_with_cfg "${PID[lighttpd]}" "$T/cfg-ds.json") ||
	    die "no lighttpd-spawned proxy (ds)"
	LN_J=$(child_with_cfg "${PID[lighttpd]}" "$T/cfg-nj.json") ||
	    die "no lighttpd-spawned proxy (nj)"
	LN_S=$(child_with_cfg "${PID[lighttpd]}" "$T/cfg-ns.json") ||
	    die "no lighttpd-spawned proxy (ns)"
	# issue 15: the 2-responder pairs (max-procs 2), LMDB and Redis
	L2_J=$(children_with_cfg "${PID[lighttpd]}" "$T/cfg-2j.json" 2) ||
	    die "not 2 lighttpd-spawned proxies (2j)"
	L2_S=$(children_with_cfg "${PID[lighttpd]}" "$T/cfg-2s.json" 2) ||
	    die "not 2 lighttpd-spawned proxies (2s)"
	R2_J="" R2_S=""
	[ -n "$REDIS_HTTP_PORT" ] || return 0
	R2_J=$(children_with_cfg "${PID[lighttpd]}" "$T/cfg-rj.json" 2) ||
	    die "not 2 lighttpd-spawned proxies (rj)"
	R2_S=$(children_with_cfg "${PID[lighttpd]}" "$T/cfg-rs.json" 2) ||
	    die "not 2 lighttpd-spawned proxies (rs)"
}

start_pool() {	# j|s THREADS
	start "pool-$1" "$BIN" --listen "$T/pool-$1.sock" --workers 1 \
	    --threads "$2" --config "$T/cfg-$1.json"
	wait_sock "$T/pool-$1.sock"
	sleep 0.3
	eval "NP_${1^^}=\$(pgrep -P \"\${PID[pool-$1]}\" | head -n 1)"
}

start_all() {
	start upstream nice -n "$NICE" "$T/bin/upstream" -p 0 -f "$T/sse.port"
	sleep 0.2
	P_SSE=$(cat "$T/sse.port") || die "upstream did not start"
	P_JSON=$(port); P_LTD=$(port); P_NGX=$(port); P_AUX=$(port)
	write_proxy_config j "$P_JSON"
	write_proxy_config s "$P_SSE"
	write_proxy_config dj "$P_JSON"	# the client dialects' twins of j, s
	write_proxy_config ds "$P_SSE"
	write_proxy_config cg "$P_JSON"	# callgrind and malloc counting:
	write_proxy_config mc "$P_SSE"	# fresh ledgers, repeatable counts
	write_native_config nj "$P_JSON"	# native Gemini: twins of j, s
	write_native_config ns "$P_SSE"
	write_native_config mcn "$P_SSE"	# its malloc counting
	write_proxy_config 2j "$P_JSON"	# issue 15: 2 responders each
	write_proxy_config 2s "$P_SSE"
	start_redis_http
	if [ -n "$REDIS_HTTP_PORT" ]; then	# the same, ledger in Redis
		write_redis_config rj "$P_JSON"
		write_redis_config rs "$P_SSE"
	fi
	write_nginx_up
	start nginx-up nginx -e "$T/ngx-up/error.log" -c "$T/nginx-up.conf"
	wait_tcp "$P_JSON"
	start_pool j 64
	start_pool s 64
	write_nginx_front
	start nginx-front nginx -e "$T/ngx-front/error.log" \
	    -c "$T/nginx-front.conf"
	wait_tcp "$P_NGX"
	NGX_W=$(pgrep -P "${PID[nginx-front]}" | head -n 1)
	start_lighttpd 64
}

# URL of a path for a kind (json: non-stream, sse: streams)
url_of() {
	case "$1/$2" in
	direct/json) echo "http://127.0.0.1:$P_JSON/v1/chat/completions" ;;
	directc/json|direct/sse) echo "http://127.0.0.1:$P_SSE/v1/chat/completions" ;;
	mp/json) echo "http://127.0.0.1:$P_LTD/j/v1/chat/completions" ;;
	mp/sse) echo "http://127.0.0.1:$P_LTD/s/v1/chat/completions" ;;
	lp/json) echo "http://127.0.0.1:$P_LTD/pj/v1/chat/completions" ;;
	lp/sse) echo "http://127.0.0.1:$P_LTD/ps/v1/chat/completions" ;;
	np/json) echo "http://127.0.0.1:$P_NGX/pj/v1/chat/completions" ;;
	np/sse) echo "http://127.0.0.1:$P_NGX/ps/v1/chat/completions" ;;
	lpr/json|lpm/json) echo "http://127.0.0.1:$P_LTD/dj$(dl_route "$1")" ;;
	lpr/sse|lpm/sse) echo "http://127.0.0.1:$P_LTD/ds$(dl_route "$1")" ;;
	lpn/json) echo "http://127.0.0.1:$P_LTD/nj/v1/chat/completions" ;;
	lpn/sse) echo "http://127.0.0.1:$P_LTD/ns/v1/chat/completions" ;;
	l2/json) echo "http://127.0.0.1:$P_LTD/qj/v1/chat/completions" ;;
	l2/sse) echo "http://127.0.0.1:$P_LTD/qs/v1/chat/completions" ;;
	r2/json) echo "http://127.0.0.1:$P_LTD/rj/v1/chat/completions" ;;
	r2/sse) echo "http://127.0.0.1:$P_LTD/rs/v1/chat/completions" ;;
	esac
}

url_port() { url_of "$1" "$2" | sed 's|^http://127.0.0.1:\([0-9]*\)/.*|\1|'; }
url_path() { url_of "$1" "$2" | sed 's|^http://127.0.0.1:[0-9]*||'; }

# --- 1. requests/s and latency (wrk) -------------------------------------------

# Keys under TP_PFX (default tp; the issue 15 phases use h2); also
# .path_us, the CPU per request of the whole path: front server plus
# every responder of the path (for mod_proxy the front alone), and for the
# Redis paths .redis_us, the Redis server's.
wrk_run() {	# KIND PATH CONC RUN -> rec tp.KIND.PATH.cC.{rps,p50,p99}
	local kind=$1 path=$2 c=$3 t=2 line k v kv
	local body script=$ROOT/bench/wrk.lua px=${TP_PFX:-tp}
	body=$T/$(dl_pfx "$2")json.json
	local pp="" fp="" p0=0 f0=0 n=0 s0=0 d=$TP_DUR rp="" r0=0
	W_rps=0 W_p50_us=nan W_p99_us=nan
	case $path/$kind in
	mp/*) fp=${PID[lighttpd]} ;;
	lp/json) fp=${PID[lighttpd]}; pp=$LP_J ;;
	lp/sse) fp=${PID[lighttpd]}; pp=$LP_S ;;
	lpr/json|lpm/json) fp=${PID[lighttpd]}; pp=$LD_J ;;
	lpr/sse|lpm/sse) fp=${PID[lighttpd]}; pp=$LD_S ;;
	lpn/json) fp=${PID[lighttpd]}; pp=$LN_J ;;
	lpn/sse) fp=${PID[lighttpd]}; pp=$LN_S ;;
	np/json) fp=$NGX_W; pp=$NP_J ;;
	np/sse) fp=$NGX_W; pp=$NP_S ;;
	l2/json) fp=${PID[lighttpd]}; pp=$L2_J ;;
	l2/sse) fp=${PID[lighttpd]}; pp=$L2_S ;;
	r2/json) fp=${PID[lighttpd]}; pp=$R2_J; rp=${PID[redis-http]:-} ;;
	r2/sse) fp=${PID[lighttpd]}; pp=$R2_S; rp=${PID[redis-http]:-} ;;
	esac
	# shellcheck disable=SC2086	# pp: one pid or several
	[ -n "$pp" ] && p0=$(ticks_sum $pp) && s0=$(sticks_sum $pp)
	[ -n "$fp" ] && f0=$(ticks "$fp")
	[ -n "$rp" ] && r0=$(ticks "$rp")
	[ "$c" = 1 ] && t=1 && d=$TP_DUR1	# p99 needs more samples at c=1
	[ "$kind" = sse ] && body=$T/$(dl_pfx "$path")short.json
	[ "$(dl_auth "$path")" = x-api-key ] && script=$T/wrk-xapikey.lua
	line=$(BENCH_BODY=$body BENCH_KEY=$KEY timeout -k 2 $((d + 20)) \
	    wrk -t"$t" -c"$c" -d"${d}s" --timeout 5s \
	    -s "$script" "$(url_of "$path" "$kind")" 2>&1 |
	    grep '^RESULT')
	for kv in $line; do
		k=${kv%%=*}
		v=${kv#*=}
		case $k in
		rps|p50_us|p99_us)
			rec "$px.$kind.$path.c$c.$k" "$v"
			eval "W_${k}=\$v" ;;
		errors) rec "$px.$kind.$path.c$c.$k" "$v" ;;
		requests) n=$v ;;
		esac
	done
	W_n=$n
	# CPU per request of the proxy and of the front server, from /proc
	W_path_us=nan
	# shellcheck disable=SC2086	# pp: one pid or several
	if [ "$n" -gt 0 ] && [ -n "$pp" ]; then
		rec "$px.$kind.$path.c$c.proxy_us" "$(calc "($(ticks_sum $pp) - $p0) * 1e6 / $CLK / $n")"
		rec "$px.$kind.$path.c$c.proxy_sys_us" "$(calc "($(sticks_sum $pp) - $s0) * 1e6 / $CLK / $n")"
	fi
	if [ "$n" -gt 0 ] && [ -n "$fp" ]; then
		rec "$px.$kind.$path.c$c.front_us" "$(calc "($(ticks "$fp") - $f0) * 1e6 / $CLK / $n")"
		# shellcheck disable=SC2086
		W_path_us=$(calc "($(ticks "$fp") - $f0 + $(ticks_sum $pp) - $p0) * 1e6 / $CLK / $n")
		rec "$px.$kind.$path.c$c.path_us" "$W_path_us"
	fi
	if [ "$n" -gt 0 ] && [ -n "$rp" ]; then
		rec "$px.$kind.$path.c$c.redis_us" "$(calc "($(ticks "$rp") - $r0) * 1e6 / $CLK / $n")"
	fi
	[ -n "$line" ] || rec "$px.$kind.$path.c$c.errors" 999999
}

warm_up() {
	local p
	for p in lp np; do
		BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t2 -c64 \
		    -d1s -s "$ROOT/bench/wrk.lua" "$(url_of $p json)" >/dev/null 2>&1
		BENCH_BODY=$T/b-short.json BENCH_KEY=$KEY timeout 20 wrk -t2 -c64 \
		    -d1s -s "$ROOT/bench/wrk.lua" "$(url_of $p sse)" >/dev/null 2>&1
	done
	for p in $DIALECTS; do	# their twin responder, as lp's above
		BENCH_BODY=$T/$(dl_pfx "$p")json.json BENCH_KEY=$KEY timeout 20 \
		    wrk -t2 -c64 -d1s -s "$ROOT/bench/wrk.lua" \
		    -H "x-api-key: $KEY" "$(url_of "$p" json)" >/dev/null 2>&1
	done
	for p in $NATIVE; do	# its twin responder, likewise
		BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t2 \
		    -c64 -d1s -s "$ROOT/bench/wrk.lua" "$(url_of "$p" json)" \
		    >/dev/null 2>&1
	done
}

# loadclient seq: PORT URLPATH BODY COUNT [AUTH]; prints the ok count
lc_route() {
	timeout 120 "$T/bin/loadclient" seq -p "$1" -u "$2" -b "$3" -k "$KEY" \
	    -c "$4" ${5:+-a "$5"} | kv /dev/stdin ok
}

# wrk script for x-api-key clients (Messages): bench/wrk.lua with the
# Bearer header swapped for the two headers Anthropic clients send.
write_wrk_xapikey() {
	cat >"$T/wrk-xapikey.lua" <<EOF
dofile("$ROOT/bench/wrk.lua")
wrk.headers["Authorization"] = nil
wrk.headers["x-api-key"] = os.getenv("BENCH_KEY") or "none"
wrk.headers["anthropic-version"] = "2023-06-01"
EOF
}

throughput_phase() {
	local r c p kind paths
	declare -A p50 p99 rps
	say "throughput: $RUNS rounds, ${TP_DUR}s per wrk run"
	warm_up
	for r in $(seq "$RUNS"); do
		check_time
		for kind in json sse; do
			for c in $TP_CONCS; do
				[ "$kind" = sse ] && [ "$c" = 1 ] && continue
				paths="direct mp lp np"
				[ "$kind/$c" = json/64 ] && paths="direct directc mp lp np"
				for p in $paths; do
					wrk_run "$kind" "$p" "$c" "$r"
					p50[$p]=${W_p50_us:-nan}; p99[$p]=${W_p99_us:-nan}
					rps[$p]=${W_rps:-0}
				done
				# client dialects and the native upstream path,
				# non-stream, beside lp
				if [ "$kind" = json ] && [ "$c" != 1 ]; then
					for p in $DIALECTS $NATIVE; do
						wrk_run json "$p" "$c" "$r"
						rps[$p]=${W_rps:-0}
						[ "${rps[lp]%.*}" -gt 0 ] 2>/dev/null &&
						    rec "tp.json.$p.c$c.ratio_to_chat" "$(calc "${rps[$p]} / ${rps[lp]}")"
					done
				fi
				for p in mp lp np; do
					if [ "$c" = 1 ]; then
						rec "tp.$kind.$p.c1.add_p50" "$(calc "${p50[$p]} - ${p50[direct]}")"
						rec "tp.$kind.$p.c1.add_p99" "$(calc "${p99[$p]} - ${p99[direct]}")"
						rec "tp.$kind.$p.c1.p99_over_floor" "$(calc "${p99[$p]} - ${p99[mp]}")"
					fi
					[ "${rps[mp]%.*}" -gt 0 ] 2>/dev/null &&
					    rec "tp.$kind.$p.c$c.ratio" "$(calc "${rps[$p]} / ${rps[mp]}")"
				done
			done
		done
		for p in LP_J LP_S NP_J NP_S; do
			rec "rss.idle64.$p" "$(rss_kb "${!p}")"
			rec_smaps "smaps.idle64.$p" "${!p}"
		done
		rec "rss.idle64.LD_J" "$(rss_kb "$LD_J")"
		rec "rss.idle64.LN_J" "$(rss_kb "$LN_J")"
		rec "rss.idle64.lighttpd" "$(rss_kb "${PID[lighttpd]}")"
		rec "rss.idle64.nginx" "$(rss_kb "$NGX_W")"
		smaps_files "$LP_J" >"$T/files-LP_J.txt"
		say "throughput round $r done"
	done
	[ "$DO_EXTRA" = 1 ] && command -v strace >/dev/null && json_strace
	[ "$DO_EXTRA" = 1 ] && command -v perf >/dev/null && json_perf
}

# Where the proxy's CPU goes for non-stream requests under load: perf
# record system-wide (cheap: per CPU) for 2 s of a c=64 wrk run.
json_perf() {
	local w
	BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t2 -c64 -d3s \
	    -s "$ROOT/bench/wrk.lua" "$(url_of lp json)" >/dev/null 2>&1 &
	w=$!
	sleep 0.5
	timeout 30 perf record -q -a -F 999 -g -o "$T/perf-json.data" \
	    -- sleep 2 >/dev/null 2>&1
	wait "$w"
}

# Syscall mix per non-stream request of the proxy: strace -c for 2 s of a
# c=1 wrk run; requests = accept() calls (one FastCGI connection each).
json_strace() {
	local w
	BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t1 -c1 -d3s \
	    -s "$ROOT/bench/wrk.lua" "$(url_of lp json)" >/dev/null 2>&1 &
	w=$!
	sleep 0.5
	timeout -s INT 2 strace -c -f -q -p "$LP_J" -o "$T/strace-json.txt" \
	    >/dev/null 2>&1
	wait "$w"
}

# --- 1b. issue 15: lighttpd spawning 2 responders; the Redis ledger over HTTP ---

# The configuration users run (README's lighttpd recipe): one fastcgi.server
# entry with max-procs 2 and 64 threads per responder (paths l2: LMDB, r2:
# Redis; each kind its own pair, as path lp has one responder per kind, so
# the upstreams are those of the floor: nginx non-stream, bench/upstream.c
# streams). H2_PATHS run side by side in each round, their order rotated
# round by round; ratios are taken within the round.
H2_PATHS="mp lp l2"
H2_CONCS="1 16 64"
H2R_CONCS="16 64"	# the Redis runs (QUICK=1: 64 only)
[ "$QUICK" = 1 ] && H2R_CONCS=64

# A redis-server of our own for the Redis-backed responders (r2), started
# before lighttpd spawns them, on a free 127.0.0.1 port, no persistence,
# stopped by PID with everything else. REDIS_HTTP_PORT empty: none.
REDIS_HTTP_PORT=
start_redis_http() {
	local p i
	REDIS_HTTP_PORT=
	command -v redis-server >/dev/null || {
		say "issue 15: redis-server missing: no HTTP-level Redis runs"
		return 0
	}
	p=$(port)
	mkdir -p "$T/redis-http"
	start redis-http redis-server --bind 127.0.0.1 --port "$p" --save '' \
	    --appendonly no --dir "$T/redis-http" --daemonize no
	for i in $(seq 50); do
		if redis_ping "$p"; then
			REDIS_HTTP_PORT=$p
			return 0
		fi
		alive "${PID[redis-http]}" || break
		sleep 0.1
	done
	say "issue 15: redis-server did not answer PING on port $p"
	stop redis-http
}

# The box before and during a phase: load average (1 min) at its start
# and end, and how busy the CPUs were over 2 s before it (other tenants).
rec_load() {	# PHASE start|end
	rec "load.$1.$2" "$(cut -d' ' -f1 /proc/loadavg)"
	[ "$2" = start ] || return 0
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
	sleep 2
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
	rec "load.$1.busy_pct" "$(calc "100 * (${b% *} - ${a% *}) / (${b% *} - ${a% *} + ${b#* } - ${a#* })")"
}

warm_paths() {	# PATH...: 1 s of wrk at c=64, non-stream and short stream
	local p
	for p in "$@"; do
		BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t2 -c64 \
		    -d1s -s "$ROOT/bench/wrk.lua" "$(url_of "$p" json)" >/dev/null 2>&1
		BENCH_BODY=$T/b-short.json BENCH_KEY=$KEY timeout 20 wrk -t2 -c64 \
		    -d1s -s "$ROOT/bench/wrk.lua" "$(url_of "$p" sse)" >/dev/null 2>&1
	done
}

rotate() {	# "LIST" N: the list rotated left by N-1
	echo "$1" | awk -v n="$2" '{ k = (n - 1) % NF
	    for (i = 0; i < NF; i++) printf("%s%s", $(((i + k) % NF) + 1), i < NF - 1 ? " " : "\n") }'
}

# rec h2.KIND.PATH.cC.{rps,p50_us,p99_us,path_us,...} for H2_PATHS, and
# within each round: .ratio (req/s over the floor's), .cpu_ratio (CPU per
# request of the whole path over the floor's), at c=1 .add_p50/.add_p99
# (minus the floor's).
http2_phase() {
	local r c p kind
	declare -A rps p50 p99 cpu
	say "issue 15: floor, 1 and 2 responders side by side, $RUNS rounds"
	rec_load h2 start
	warm_paths lp l2
	for r in $(seq "$RUNS"); do
		check_time
		for kind in json sse; do
			for c in $H2_CONCS; do
				[ "$kind/$c" = sse/1 ] && continue
				for p in $(rotate "$H2_PATHS" "$r"); do
					TP_PFX=h2 wrk_run "$kind" "$p" "$c" "$r"
					rps[$p]=${W_rps:-0}; cpu[$p]=${W_path_us:-nan}
					p50[$p]=${W_p50_us:-nan}; p99[$p]=${W_p99_us:-nan}
				done
				for p in lp l2; do
					num_pos "${rps[mp]}" &&
					    rec "h2.$kind.$p.c$c.ratio" "$(calc "${rps[$p]} / ${rps[mp]}")"
					num_pos "${cpu[mp]}" && num_pos "${cpu[$p]}" &&
					    rec "h2.$kind.$p.c$c.cpu_ratio" "$(calc "${cpu[$p]} / ${cpu[mp]}")"
					[ "$c" = 1 ] || continue
					rec "h2.$kind.$p.c1.add_p50" "$(calc "${p50[$p]} - ${p50[mp]}")"
					rec "h2.$kind.$p.c1.add_p99" "$(calc "${p99[$p]} - ${p99[mp]}")"
				done
			done
		done
		say "issue 15 round $r: non-stream c=64 2 responders $(vals h2.json.l2.c64.ratio | tail -n 1)x the floor, CPU $(vals h2.json.l2.c64.cpu_ratio | tail -n 1)x"
	done
	rec_load h2 end
	[ "$DO_EXTRA" = 1 ] || [ "${BENCH_PROFILE:-0}" = 1 ] || return 0
	for p in lp l2; do h2_profile "$p"; done
}

# Context switches of a process, all its threads (voluntary + not).
ctxsw() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
	    awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}
ctxsw_sum() {
	local p s=0
	for p in "$@"; do s=$((s + $(ctxsw "$p"))); done
	echo "$s"
}

# Where the CPU of path 3 / 3b goes, non-stream, c=64 (full runs, or
# BENCH_PROFILE=1): perf record -g of lighttpd and the path's responders
# for 2 s (perf-h2-PATH.data), strace -c of the responders for 2 s
# (strace-h2-PATH.txt, requests counted by accept), and context switches
# per request of the responders over a plain 2 s run (no instrument).
h2_profile() {	# PATH
	local p=$1 pp w c0 line n
	case $p in lp) pp=$LP_J ;; l2) pp=$L2_J ;; *) return 0 ;; esac
	# shellcheck disable=SC2086	# pp: one pid or several
	c0=$(ctxsw_sum $pp)
	line=$(BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t2 \
	    -c64 -d2s -s "$ROOT/bench/wrk.lua" "$(url_of "$p" json)" 2>&1 |
	    grep '^RESULT')
	n=$(echo "$line" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
	# shellcheck disable=SC2086
	num_pos "$n" && rec "h2.prof.$p.ctxsw_per_req" \
	    "$(calc "($(ctxsw_sum $pp) - $c0) / $n")"
	if command -v perf >/dev/null; then
		BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t2 \
		    -c64 -d3s -s "$ROOT/bench/wrk.lua" "$(url_of "$p" json)" \
		    >/dev/null 2>&1 &
		w=$!
		sleep 0.5
		timeout 30 perf record -q -g -F 999 \
		    -p "$(echo "${PID[lighttpd]} $pp" | tr ' ' ,)" \
		    -o "$T/perf-h2-$p.data" -- sleep 2 >/dev/null 2>&1
		wait "$w"
	fi
	if command -v strace >/dev/null; then
		BENCH_BODY=$T/b-json.json BENCH_KEY=$KEY timeout 20 wrk -t2 \
		    -c16 -d3s -s "$ROOT/bench/wrk.lua" "$(url_of "$p" json)" \
		    >/dev/null 2>&1 &
		w=$!
		sleep 0.5
		# shellcheck disable=SC2046,SC2086	# one -p per responder
		timeout -s INT 2 strace -c -f -q $(printf -- '-p %s ' $pp) \
		    -o "$T/strace-h2-$p.txt" >/dev/null 2>&1
		wait "$w"
	fi
}

# The Redis ledger at HTTP level: r2 (2 responders, ledger in our
# redis-server) beside l2 (the same with LMDB), order alternating per
# round; rec h2r.KIND.r2.cC.ratio_to_lmdb (req/s, within the round) and
# .redis_us (the Redis server's CPU per request).
redis_http_phase() {
	local r c p kind order n
	declare -A rps
	if [ -z "$REDIS_HTTP_PORT" ]; then
		say "issue 15: no redis-server, HTTP-level Redis runs skipped"
		return 0
	fi
	say "issue 15: Redis ledger over HTTP beside LMDB, $RUNS rounds"
	rec_load h2r start
	warm_paths r2 l2
	n=0
	timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_HTTP_PORT" config resetstat \
	    >/dev/null 2>&1
	for r in $(seq "$RUNS"); do
		check_time
		order="l2 r2"
		[ $((r % 2)) = 0 ] && order="r2 l2"
		for kind in json sse; do
			for c in $H2R_CONCS; do
				for p in $order; do
					TP_PFX=h2r wrk_run "$kind" "$p" "$c" "$r"
					rps[$p]=${W_rps:-0}
					[ "$p" = r2 ] && n=$((n + W_n))
				done
				num_pos "${rps[l2]}" &&
				    rec "h2r.$kind.r2.c$c.ratio_to_lmdb" "$(calc "${rps[r2]} / ${rps[l2]}")"
			done
		done
	done
	rec_load h2r end
	# what Redis ran per HTTP request (all r2 runs; l2 never calls it):
	# "command calls_per_request usec_per_call" in redis-http-cmds.txt
	timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_HTTP_PORT" info commandstats \
	    2>/dev/null | tr -d '\r' | awk -F'[:=,]' -v n="$n" '
	    n > 0 && $1 ~ /^cmdstat_/ { c = 0; u = 0
		for (i = 2; i < NF; i += 2) {
			if ($i == "calls") c = $(i + 1)
			if ($i == "usec_per_call") u = $(i + 1) }
		printf("%s %.3f %.1f\n", substr($1, 9), c / n, u) }' |
	    sort -k2 -gr >"$T/redis-http-cmds.txt"
	rec h2r.requests "$n"
}

# The client dialects and the native Gemini path alone (bench/run.sh
# dialects): the N = 512 stream rounds of section 3 (chat, Responses,
# Messages, native), CPU per relayed upstream event side by side.
dialects_phase() {
	rec_load dl start
	stream_proxies "$T512"
	st_lp_dialects
	rec_load dl end
}

# --- 2. concurrent streams (loadclient) ------------------------------------------

# PATH N INTERVAL TAG: one stream run; sets ST_PASS; rec st.PATH.iI.nN.*
st_run() {
	local path=$1 n=$2 iv=$3 tag=$4 body ramp dur from to url port mons f k v
	local pre=st.${ST_LABEL:-$1}.i$3.n$2 auth
	body=$T/$(dl_pfx "$path")s$iv.json
	auth=$(dl_auth "$path")
	ramp=$(calc "$EVENTS * $iv / 1000")
	dur=$(calc "$ramp + $ST_TAIL")
	from=$(calc "$ramp + 0.7")
	to=$dur
	url=$(url_path "$path" sse)
	port=$(url_port "$path" sse)
	mons="-m ${PID[upstream]}=upstream"
	case $path in
	mp) mons="$mons -m ${PID[lighttpd]}=front" ;;
	lp) mons="$mons -m ${PID[lighttpd]}=front -m $LP_S=proxy" ;;
	lpr|lpm) mons="$mons -m ${PID[lighttpd]}=front -m $LD_S=proxy" ;;
	lpn) mons="$mons -m ${PID[lighttpd]}=front -m $LN_S=proxy" ;;
	np) mons="$mons -m $NGX_W=front -m $NP_S=proxy" ;;
	esac
	f=$T/st-${ST_LABEL:-$path}-i$iv-n$n-$tag.txt
	ST_FILE=$f
	# shellcheck disable=SC2086
	timeout -k 2 "$(calc "int($dur + 3 * $ramp + 40)")" \
	    nice -n "$NICE" "$T/bin/loadclient" \
	    stream -p "$port" -u "$url" -b "$body" -k "$KEY" \
	    -n "$n" -d "$dur" -r "$ramp" -e "$EVENTS" -i "$iv" \
	    -w "$from,$to" ${auth:+-a "$auth"} $mons >"$f" 2>&1 &
	ST_LC=$!
	if [ -n "${ST_HOOK:-}" ]; then
		"$ST_HOOK" "$from" "$(calc "$to - $from")"
	elif [ "${ST_LABEL:-$path}/$n/$tag" = lp/512/r1 ]; then
		sleep "$(calc "$to - 0.2")"
		rec_smaps smaps.n512.lp "$LP_S"
	fi
	wait "$ST_LC"
	kill -USR2 "${PID[upstream]}"
	sleep 0.3
	for k in late incomplete errors complete lat_p50_ms lat_p99_ms \
	    lat_p999_ms lat_max_ms ttfe_p99_ms box_busy_pct win_ev_per_s \
	    cpu_pct.front cpu_pct.proxy cpu_pct.upstream cpu_pct.client \
	    us_per_event.proxy us_per_event.front us_per_event.upstream \
	    us_per_event.client rss_max_kb.proxy rss_max_kb.front; do
		v=$(kv "$f" "$k")
		[ -n "$v" ] && rec "$pre.$k" "$v"
	done
	v=$(grep '^UPSTREAM' "$T/upstream.log" | tail -n 1 |
	    sed -n 's/.*send_late_max_ms=\([0-9.]*\).*/\1/p')
	[ -n "$v" ] && rec "$pre.upstream_send_late_max_ms" "$v"
	ST_PASS=0
	if [ "$(kv "$f" late)" = 0 ] && [ "$(kv "$f" incomplete)" = 0 ] &&
	    [ "$(kv "$f" errors)" = 0 ] && [ "$(kv "$f" complete)" -gt 0 ]; then
		ST_PASS=1
	fi
	rec "$pre.pass" "$ST_PASS"
	say "streams ${ST_LABEL:-$path} N=$n ${iv}ms: pass=$ST_PASS late=$(kv "$f" late) p99=$(kv "$f" lat_p99_ms)ms max=$(kv "$f" lat_max_ms)ms busy=$(kv "$f" box_busy_pct)%"
	sleep 0.5
}

st_repeat() {	# PATH N INTERVAL COUNT: ST_ALL=1 when every run passed
	local i
	ST_ALL=1
	for i in $(seq "$4"); do
		check_time
		st_run "$1" "$2" "$3" "r$i"
		[ "$ST_PASS" = 1 ] || ST_ALL=0
	done
}

# The chat path through lighttpd -> aiproxy at N=512, RUNS runs, and in the
# last DL_RUNS of those rounds each client dialect and then the native
# Gemini upstream path right after the chat run (same N, events and
# interval): CPU per relayed upstream event of each side by side, and its
# ratio to the chat run (OpenAI-compatible upstream) of the same round.
st_lp_dialects() {
	local i d chat
	for i in $(seq "$RUNS"); do
		check_time
		st_run lp 512 20 "r$i"
		chat=$(kv "$ST_FILE" us_per_event.proxy)
		[ "$i" -gt $((RUNS - DL_RUNS)) ] || continue
		for d in $DIALECTS $NATIVE; do
			st_run "$d" 512 20 "r$i"
			num_pos "$chat" && rec "st.$d.i20.n512.ratio_to_chat" \
			    "$(calc "$(kv "$ST_FILE" us_per_event.proxy) / $chat")"
		done
	done
}

# Largest N (no late event in every run): the N=512 runs (the target) are
# done first; then downward over SCAN, one run each until one passes,
# confirmed by RUNS-1 more; below 512 one step to 256.
st_scan() {
	local path=$1 n best=0 all512
	all512=$(vals "st.$path.i20.n512.pass" |
	    awk '{ s += $1 } END { print (NR > 0 && s == NR) }')
	for n in $SCAN; do
		check_time
		st_run "$path" "$n" 20 s1
		[ "$ST_PASS" = 1 ] || continue
		st_repeat "$path" "$n" 20 $((RUNS - 1))
		if [ "$ST_ALL" = 1 ]; then
			best=$n
			break
		fi
	done
	if [ "$best" = 0 ] && [ "$all512" = 1 ]; then
		best=512
	elif [ "$best" = 0 ]; then
		st_repeat "$path" 256 20 "$RUNS"
		[ "$ST_ALL" = 1 ] && best=256
	fi
	rec "st.$path.nmax" "$best"
}

# perf stat per hop (syscalls, context switches, CPU) + a CPU profile of
# the proxy, during one extra lighttpd -> aiproxy run at N=512 (reported
# apart: the instruments perturb it).
perf_hook() {	# FROM SECONDS
	local from=$1 w=$2 lbl p pids=""
	sleep "$from"
	for lbl in proxy front upstream client; do
		case $lbl in
		proxy) p=$LP_S ;;
		front) p=${PID[lighttpd]} ;;
		upstream) p=${PID[upstream]} ;;
		client) p=$(pgrep -P "$ST_LC" | head -n 1) ;;
		esac
		[ -n "$p" ] || continue
		timeout 30 perf stat -x, -e raw_syscalls:sys_enter \
		    -e context-switches -e task-clock -p "$p" \
		    -o "$T/perf-$lbl.txt" -- sleep "$w" >/dev/null 2>&1 &
		pids="$pids $!"
	done
	# system-wide (per CPU, cheap), filtered to the proxy in the report
	timeout 30 perf record -q -a -F 499 -g -o "$T/perf.data" \
	    -- sleep "$w" >/dev/null 2>&1
	# shellcheck disable=SC2086
	wait $pids
	rec perf.win "$w"
}

strace_hook() {	# FROM SECONDS: syscall mix of the proxy
	sleep "$1"
	timeout -s INT "$2" strace -c -f -q -p "$LP_S" -o "$T/strace.txt" \
	    >/dev/null 2>&1
	rec strace.win "$2"
}

stream_proxies() {	# THREADS: restart the stream proxies, warm, idle RSS
	local p
	say "streams: restarting the stream proxies with $1 threads"
	stop lighttpd
	stop pool-s
	start_pool s "$1"
	start_lighttpd "$1"
	for p in lp np; do	# two streams each: connections and buffers
		timeout 20 "$T/bin/loadclient" seq -p "$(url_port "$p" sse)" \
		    -u "$(url_path "$p" sse)" -b "$T/b-s4.json" -k "$KEY" \
		    -c 2 >/dev/null
	done
	rec "rss.idle$1.lp" "$(rss_kb "$LP_S")"
	for p in $DIALECTS $NATIVE; do
		lc_route "$P_LTD" "$(url_path "$p" sse)" "$T/$(dl_pfx "$p")s4.json" \
		    2 "$(dl_auth "$p")" >/dev/null
	done
	rec "rss.idle$1.np" "$(rss_kb "$NP_S")"
	rec_smaps "smaps.idle$1.lp" "$LP_S"
}

# N=512 with T512 threads (so every thread serves: RSS per stream is per
# thread), then the step scan and the extras with TMAX threads.
streams_phase() {
	local p
	stream_proxies "$T512"
	for p in $ST_PATHS; do
		if [ "$p" = lp ]; then
			st_lp_dialects
		else
			st_repeat "$p" 512 20 "$RUNS"
		fi
	done
	if [ "$DO_EXTRA" = 1 ]; then
		say "streams: lighttpd -> aiproxy N=512 again, instruments at nice 0"
		NICE=0 ST_LABEL=lp0 st_repeat lp 512 20 "$RUNS"
		if command -v perf >/dev/null; then
			ST_LABEL=lpperf ST_HOOK=perf_hook st_run lp 512 20 perf
		fi
		if command -v strace >/dev/null; then
			ST_LABEL=lpstrace ST_HOOK=strace_hook st_run lp 64 20 strace
		fi
	fi
	if [ -n "$SCAN" ] || [ "$DO_EXTRA" = 1 ]; then
		stream_proxies "$TMAX"
	fi
	for p in $ST_PATHS; do
		st_scan "$p"
	done
	[ "$DO_EXTRA" = 1 ] || return 0
	check_time
	say "streams: 1000 x 25 events/s (40 ms) through lighttpd -> aiproxy"
	st_repeat lp 1000 40 "$RUNS"
}

# --- 3. callgrind instructions and allocations per event ------------------------

# "all worker" allocation counts from the shim's shared page ([FILE])
mc_read() {
	od -An -t u8 -N 48 -v "${1:-$T/mallocount}" | tr -s ' \n' ' ' |
	    awk '{ print $1, $5 }'
}

cg_phase() {
	local cg mc mcn i f ir a b c d
	say "callgrind and malloc counting"
	write_lighttpd_aux
	start lighttpd-aux lighttpd -D -f "$T/lighttpd-aux.conf"
	wait_tcp "$P_AUX"
	sleep 0.5
	cg=$(child_with_cfg "${PID[lighttpd-aux]}" "$T/cfg-cg.json")
	mc=$(child_with_cfg "${PID[lighttpd-aux]}" "$T/cfg-mc.json")
	mcn=$(child_with_cfg "${PID[lighttpd-aux]}" "$T/cfg-mcn.json")
	lc() {	# BODY COUNT PREFIX [PATH]: PATH a dialect's, chat by default
		lc_route "$P_AUX" "/$3$(dl_route "${4:-lp}")" "$1" "$2" \
		    "$(dl_auth "${4:-lp}")"
	}
	if [ -n "$cg" ] && command -v callgrind_control >/dev/null; then
		lc "$T/b-json.json" 50 cg >/dev/null
		callgrind_control -d "$cg" >/dev/null 2>&1
		for i in $(seq "$RUNS"); do
			[ "$(lc "$T/b-json.json" "$CG_REQ" cg)" = "$CG_REQ" ] ||
			    say "callgrind: some requests failed"
			callgrind_control -d "$cg" >/dev/null 2>&1
			f=$T/callgrind.out.$cg.$((i + 1))
			ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f" | head -n 1)
			[ -n "$ir" ] && rec "cg.ir_per_req" "$(calc "$ir / $CG_REQ")"
		done
		cg_top "$f" 15 >"$T/cg-top.txt"
		cg_top "$f" 12 1 >"$T/cg-obj.txt"
	fi
	if [ -n "$mc" ]; then
		lc "$T/b-s20.json" 2 mc >/dev/null
		lc "$T/b-s2.json" 2 mc >/dev/null
		lc "$T/b-json.json" 2 mc >/dev/null
		for i in $(seq "$RUNS"); do
			a=$(mc_read); lc "$T/b-s2.json" 1 mc >/dev/null
			b=$(mc_read); lc "$T/b-s20.json" 1 mc >/dev/null
			c=$(mc_read); lc "$T/b-json.json" 1 mc >/dev/null
			d=$(mc_read)
			# worker threads (the request path) ...
			rec mc.stream1 $((${b#* } - ${a#* }))
			rec mc.stream64 $((${c#* } - ${b#* }))
			rec mc.per_event "$(calc "(${c#* } - ${b#* } - (${b#* } - ${a#* })) / 62")"
			rec mc.json $((${d#* } - ${c#* }))
			# ... and the whole process, upkeep included
			rec mc.all.stream1 $((${b% *} - ${a% *}))
			rec mc.all.stream64 $((${c% *} - ${b% *}))
		done
		mc_dialects
	fi
	[ -n "$mcn" ] && mc_native
	stop lighttpd-aux
}

# The same counts for the client dialects (same responder, after their own
# warm-up: a translated path may allocate per event only in scratch reused
# across events and requests, so 0 per event is expected once it is warm).
# DL_RUNS rounds: the counts are deterministic, QUICK does one.
mc_dialects() {
	local d i a b c e x
	for d in $DIALECTS; do
		x=$T/$(dl_pfx "$d")
		lc "${x}s20.json" 1 mc "$d" >/dev/null
		lc "${x}s2.json" 2 mc "$d" >/dev/null
		lc "${x}json.json" 2 mc "$d" >/dev/null
		for i in $(seq "$DL_RUNS"); do
			a=$(mc_read); lc "${x}s2.json" 1 mc "$d" >/dev/null
			b=$(mc_read); lc "${x}s20.json" 1 mc "$d" >/dev/null
			c=$(mc_read); lc "${x}json.json" 1 mc "$d" >/dev/null
			e=$(mc_read)
			rec "mc.$d.stream1" $((${b#* } - ${a#* }))
			rec "mc.$d.stream64" $((${c#* } - ${b#* }))
			rec "mc.$d.per_event" "$(calc "(${c#* } - ${b#* } - (${b#* } - ${a#* })) / 62")"
			rec "mc.$d.json" $((${e#* } - ${c#* }))
		done
	done
}

# The same counts on the native Gemini upstream path (its own responder
# and counter page: a native entry, base_url bench/upstream.c's /v1beta,
# which also answers generateContent). Each event is parsed with cJSON
# there, so the count per event is reported as measured, with no target.
mc_native() {
	local i a b c e f=$T/mallocount-n
	lc "$T/b-s20.json" 1 mcn >/dev/null
	lc "$T/b-s2.json" 2 mcn >/dev/null
	lc "$T/b-json.json" 2 mcn >/dev/null
	for i in $(seq "$DL_RUNS"); do
		a=$(mc_read "$f"); lc "$T/b-s2.json" 1 mcn >/dev/null
		b=$(mc_read "$f"); lc "$T/b-s20.json" 1 mcn >/dev/null
		c=$(mc_read "$f"); lc "$T/b-json.json" 1 mcn >/dev/null
		e=$(mc_read "$f")
		rec mc.lpn.stream1 $((${b#* } - ${a#* }))
		rec mc.lpn.stream64 $((${c#* } - ${b#* }))
		rec mc.lpn.per_event "$(calc "(${c#* } - ${b#* } - (${b#* } - ${a#* })) / 62")"
		rec mc.lpn.json $((${e#* } - ${c#* }))
	done
}

# --- 4. the ledger: reservations/s, LMDB and Redis side by side ----------------

# A redis-server of our own for the ledger's Redis runs (issue 12): a free
# 127.0.0.1 port, no persistence, stopped by PID at the end of the phase.
# Sets REDIS_PORT, empty when there is none (the Redis columns say n/a).
REDIS_PORT=
redis_ping() {	# PORT: +PONG within 1 s
	local r
	r=$( { exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	    printf 'PING\r\n' >&3
	    IFS= read -r -t 1 l <&3
	    printf '%s' "$l"; } 2>/dev/null)
	[ "${r%$'\r'}" = +PONG ]
}

redis_cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# INFO field of the server ("used_cpu_user" ...), or of commandstats'
# evalsha line ("calls", "usec").
redis_info() {
	redis_cli info "$1" 2>/dev/null | tr -d '\r' | awk -F'[:=,]' -v k="$2" '
	    $1 == k { print $2; exit }
	    $1 == "cmdstat_evalsha" { for (i = 2; i < NF; i += 2)
		if ($i == k) { print $(i + 1); exit } }'
}

start_redis() {
	local p i
	REDIS_PORT=
	if ! command -v redis-server >/dev/null ||
	    ! command -v redis-cli >/dev/null; then
		say "ledger: redis-server missing (apt-get install redis-server): LMDB only"
		return 0
	fi
	p=$(port)
	mkdir -p "$T/redis"
	start redis redis-server --bind 127.0.0.1 --port "$p" --save '' \
	    --appendonly no --dir "$T/redis" --daemonize no
	for i in $(seq 50); do
		if redis_ping "$p"; then
			REDIS_PORT=$p
			rec ledger.redis_version "$(redis-server --version |
			    sed -n 's/.* v=\([^ ]*\).*/\1/p')"
			return 0
		fi
		alive "${PID[redis]}" || break
		sleep 0.1
	done
	say "ledger: redis-server did not answer PING on port $p: LMDB only"
	stop redis
}

# BACKEND PROCS THREADS TAG QUOTA [DIR PREFIX]: one ledger_bench run of
# reserve + settle pairs (QUOTA 1: with -q, an owner with max_concurrent
# and a model limit on the keys); LB_FILE its output. Fresh state, or the
# prefilled state DIR (and Redis PREFIX) of lb_prefill. For Redis, the server's view of the
# run too: its CPU (user + sys) over the run's seconds (from the start gate
# to the last process's end; each thread's warm-up call and the snapshots
# of the check add a little), and the time one EVALSHA spends inside the
# server.
lb_run() {
	local b=$1 p=$2 th=$3 q=$5 d=${6:-} x=${7:-} f cpu0 cpu1 us calls
	f=$T/ledger-$b-$p-$th-q$q-$4
	LB_FILE=$f.txt
	[ -n "$d" ] || d=$f
	if [ "$b" = redis ]; then
		redis_cli config resetstat >/dev/null
		cpu0=$(calc "$(redis_info cpu used_cpu_user) + $(redis_info cpu used_cpu_sys)")
	fi
	# shellcheck disable=SC2046	# -q or nothing
	timeout 120 "$T/bin/ledger_bench" -b "$b" -d "$d" -p "$p" -T "$th" \
	    -t "$LEDGER_S" -m rs -r "redis://127.0.0.1:${REDIS_PORT:-6379}/0" \
	    ${x:+-x "$x"} $([ "$q" = 1 ] && echo -q) >"$f.txt" 2>&1
	[ "$(kv "$f.txt" failed)" = 0 ] ||
	    say "ledger: $b ${p}x$th $4 failed: $(grep -v = "$f.txt" | tail -n 1)"
	[ "$(kv "$f.txt" exact)" != 0 ] ||
	    say "ledger: $b ${p}x$th $4: the snapshot does not hold what was booked (see $f.txt)"
	if [ "$b" = redis ]; then
		cpu1=$(calc "$(redis_info cpu used_cpu_user) + $(redis_info cpu used_cpu_sys)")
		us=$(redis_info commandstats usec)
		calls=$(redis_info commandstats calls)
		num_pos "$calls" && echo "server_us_per_call=$(calc "$us / $calls")" >>"$f.txt"
		num_pos "$(kv "$f.txt" seconds)" &&
		    echo "server_cpu_pct=$(calc "100 * ($cpu1 - $cpu0) / $(kv "$f.txt" seconds)")" >>"$f.txt"
	fi
	[ -n "${6:-}" ] || rm -rf "$f"
}

# BACKEND TAG QUOTA: a state of keys busy all day (ledger_bench -F: every
# key took a request in each minute of the last day and each second of the
# last minute; with QUOTA 1 the -q config, so the owner's and the (key,
# model) day windows are full too) in LB_DIR, with Redis under LB_PREFIX.
lb_prefill() {
	local f=$T/ledger-$1-prefill-q$3-$2 q=
	[ "$3" = 1 ] && q=q
	LB_DIR=$f
	# shellcheck disable=SC2046	# -q or nothing
	timeout 300 "$T/bin/ledger_bench" -b "$1" -d "$f" -F \
	    -r "redis://127.0.0.1:${REDIS_PORT:-6379}/0" \
	    $([ "$3" = 1 ] && echo -q) >"$f.txt" 2>&1
	LB_PREFIX=$(kv "$f.txt" redis_prefix)
	rec "ledger.$1.${q}prefill_s" "$(kv "$f.txt" prefill_s)"
	[ "$(kv "$f.txt" failed)" = 0 ] && return 0
	say "ledger: $1 prefill (quota $3) failed: $(grep -v = "$f.txt" | tail -n 1)"
	return 1
}

# One row's pairs on both backends, in ORDER, and their ratio: rec
# ledger.BACKEND.ROW.* and ledger.ratio.ROW (ROW with a busy. prefix on the
# prefilled states DIRS[b], PREFIXES[b]; a ROW qPxT runs with the quota
# features on, -q, on DIRS[qb] when busy). Pairs/s also into LB_OPS[b.ROW].
declare -A LB_OPS
lb_row() {	# ROW TAG ORDER [busy]
	local row=$1 p th b ops key=$1 k q=0 d
	declare -A lops=()
	case "$row" in q*) q=1; row=${row#q} ;; esac
	p=${row%x*}
	th=${row#*x}
	[ -n "${4:-}" ] && key=busy.$1
	for b in $3; do
		[ "$b" = redis ] && [ -z "$REDIS_PORT" ] && continue
		if [ -n "${4:-}" ]; then
			d=$b
			[ "$q" = 1 ] && d=q$b
			[ -n "${DIRS[$d]:-}" ] || continue
			lb_run "$b" "$p" "$th" "busy-$2" "$q" "${DIRS[$d]}" \
			    "${PREFIXES[$d]}"
		else
			lb_run "$b" "$p" "$th" "$2" "$q"
		fi
		ops=$(kv "$LB_FILE" ops_per_s)
		lops[$b]=${ops:-0}
		LB_OPS[$b.$key]=${ops:-0}
		[ -z "${4:-}" ] && [ "$q/$b/$th" = 0/lmdb/1 ] && rec "ledger.p$p.rs" "$ops"
		for k in ops_per_s lat_p50_us lat_p99_us lat_p999_us errors exact \
		    server_us_per_call server_cpu_pct; do
			rec "ledger.$b.$key.$k" "$(kv "$LB_FILE" "$k")"
		done
	done
	if num_pos "${lops[lmdb]:-}" && num_pos "${lops[redis]:-}"; then
		rec "ledger.ratio.$key" "$(calc "${lops[redis]} / ${lops[lmdb]}")"
	fi
}

# After a round's rows: LMDB with state_writemap (MDB_WRITEMAP, opt-in)
# on rows 1x1 and 4x8, over plain LMDB's pairs/s of the same round:
# rec ledger.lmdbwm.ROW.ops_per_s and ledger.wmratio.ROW.
lb_writemap() {	# TAG
	local row ops
	for row in 1x1 4x8; do
		lb_run lmdb-wm "${row%x*}" "${row#*x}" "$1" 0
		ops=$(kv "$LB_FILE" ops_per_s)
		rec "ledger.lmdbwm.$row.ops_per_s" "$ops"
		num_pos "$ops" && num_pos "${LB_OPS[lmdb.$row]:-}" &&
		    rec "ledger.wmratio.$row" "$(calc "$ops / ${LB_OPS[lmdb.$row]}")"
	done
}

# After a round's rows: for each quota row, its pairs/s over the same
# row's without the quota features, per backend (the cost of the scopes):
# rec ledger.BACKEND.qcost.ROW (ROW with busy. when busy).
lb_qcost() {	# ROWS [busy.]
	local row b
	for row in $1; do
		case "$row" in q*) ;; *) continue ;; esac
		for b in lmdb redis; do
			num_pos "${LB_OPS[$b.${2:-}$row]:-}" &&
			    num_pos "${LB_OPS[$b.${2:-}${row#q}]:-}" &&
			    rec "ledger.$b.qcost.${2:-}${row#q}" "$(calc \
			    "${LB_OPS[$b.${2:-}$row]} / ${LB_OPS[$b.${2:-}${row#q}]}")"
		done
	done
}

# Section 8: px_ledger_reserve_ask alone (-m r) on LMDB, 1 and 4
# processes. Then reserve + settle pairs on LMDB and on Redis side by side:
# each row (processes x threads per process, each thread with its own
# scratch, so with Redis its own connection) runs on both backends back to
# back, with the same keys (8), seconds and mode, the order of the two
# alternating per round; the ratio is taken within the round. LEDGER_ROWS
# start from fresh records (the LMDB 1x1 and 4x1 pairs are section 8's
# too); LEDGER_BUSY_ROWS from records of keys busy all day, prefilled once
# per round (per run with QUICK=1: the Redis prefill takes a while), as a
# proxy in steady use has them. Rows qPxT have the quota features on (an
# owner with max_concurrent, a model limit: four scopes per reservation
# instead of one); their busy state is prefilled in the first round only
# (its Redis prefill, reserve + settle, takes about 40 s here).
LEDGER_ROWS="1x1 4x1 4x8 q1x1 q4x8"
LEDGER_BUSY_ROWS="1x1 4x8 q1x1"
ledger_phase() {
	local r p row b order q
	declare -A DIRS PREFIXES
	say "ledger: reservations/s, ${LEDGER_S}s runs, LMDB and Redis"
	start_redis
	for r in $(seq "$RUNS"); do
		for p in 1 4; do
			"$T/bin/ledger_bench" -d "$T/ledger-r" -p "$p" \
			    -t "$LEDGER_S" -m r >"$T/ledger-r.txt" 2>&1
			rec "ledger.p$p.r" "$(kv "$T/ledger-r.txt" ops_per_s)"
			rm -rf "$T/ledger-r"
		done
		order="lmdb redis"
		[ $((r % 2)) = 0 ] && order="redis lmdb"
		LB_OPS=()	# ratios within the round only
		for row in $LEDGER_ROWS; do
			lb_row "$row" "$r" "$order"
		done
		lb_qcost "$LEDGER_ROWS"
		lb_writemap "$r"
		[ "$QUICK" = 1 ] && [ "$r" -gt 1 ] && continue
		DIRS=()
		PREFIXES=()
		for q in 0 1; do
			[ "$q" = 1 ] && [ "$r" -gt 1 ] && continue
			for b in $order; do
				[ "$b" = redis ] && [ -z "$REDIS_PORT" ] && continue
				lb_prefill "$b" "$r" "$q" || continue
				DIRS[$([ "$q" = 1 ] && echo q)$b]=$LB_DIR
				PREFIXES[$([ "$q" = 1 ] && echo q)$b]=$LB_PREFIX
			done
		done
		say "ledger: prefilled busy keys (LMDB $(kv "$T/ledger-lmdb-prefill-q0-$r.txt" prefill_s) s, Redis $(kv "$T/ledger-redis-prefill-q0-$r.txt" prefill_s) s)"
		for row in $LEDGER_BUSY_ROWS; do
			lb_row "$row" "$r" "$order" busy
		done
		lb_qcost "$LEDGER_BUSY_ROWS" busy.
		for b in "${DIRS[@]}"; do rm -rf "$b"; done
	done
	stop redis
}

# --- report ----------------------------------------------------------------------

# shellcheck source=bench/report.sh
. "$ROOT/bench/report.sh"

# --- main ---------------------------------------------------------------------------

main() {
	local t
	if [ -n "${BENCH_REPORT_FROM:-}" ]; then
		report >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
		say "wrote $OUT from $T"
		return 0
	fi
	# `bash bench/run.sh ledger`: the same as BENCH_ONLY=ledger; other
	# phases by name (issue 15), their section to stdout or BENCH_OUT
	local phases="" ph
	for ph in "$@" ${BENCH_ONLY:-}; do
		case $ph in
		ledger|http2|dialects|redis) phases="$phases $ph" ;;
		issue15) phases="$phases http2 redis dialects ledger" ;;
		*) die "usage: bench/run.sh [ledger|http2|dialects|redis|issue15]... (or make bench)" ;;
		esac
	done
	[ "$phases" = " ledger" ] && BENCH_ONLY=ledger
	if [ "${BENCH_ONLY:-}" = ledger ]; then
		say "temp dir $T (QUICK=$QUICK): the ledger phase alone"
		cd "$ROOT" || exit 1
		mkdir -p "$T/bin"
		${CC:-cc} -O2 -Wall -Wextra -o "$T/bin/loadclient" \
		    bench/loadclient.c || die "build loadclient"
		build_ledger
		ledger_phase
		if [ -n "${BENCH_OUT:-}" ]; then
			sec_ledger_alone >"$OUT"
			say "wrote $OUT"
		else
			sec_ledger_alone
		fi
		[ "${BENCH_KEEP:-0}" = 1 ] && cp "$RES" "$T/results.kept"
		return 0
	fi
	for t in wrk nginx lighttpd valgrind; do
		command -v "$t" >/dev/null || die "$t missing: apt-get install \
wrk nginx-light lighttpd valgrind linux-perf strace"
	done
	[ -x "$BIN" ] || die "build the proxy first (make)"
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	say "temp dir $T (QUICK=$QUICK)${phases:+, phases:$phases}"
	build
	write_bodies
	write_wrk_xapikey
	start_all
	if [ -n "$phases" ]; then
		for ph in $phases; do
			case $ph in
			http2) http2_phase ;;
			redis) redis_http_phase ;;
			dialects) dialects_phase ;;
			ledger) ledger_phase ;;
			esac
		done
		{
			echo "# aiproxy bench: phases$phases ($(date -u '+%Y-%m-%d %H:%M UTC'), QUICK=$QUICK)"
			echo
			sec_issue15
			case $phases in
			*ledger*) echo; sec_ledger_alone ;;
			esac
		} >"${BENCH_OUT:-/dev/stdout}"
		[ -z "${BENCH_OUT:-}" ] || say "wrote $OUT"
		[ "${BENCH_KEEP:-0}" = 1 ] && cp "$RES" "$T/results.kept"
		return 0
	fi
	throughput_phase
	http2_phase
	redis_http_phase
	streams_phase
	cg_phase
	ledger_phase
	report >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
	say "wrote $OUT"
	# the client dialects' and the native path's tables and verdicts, for
	# a glance at the terminal
	sed -n '/^## 9\./,/^## 10\./p' "$OUT" |
	    grep -E '^\| (path|3\.)|^Target' | head -n 6 >&2
	sed -n '/^## 10\./,/^## Regressions/p' "$OUT" |
	    grep -E '^\| (path|3\.)' | head -n 3 >&2
	[ "${BENCH_KEEP:-0}" = 1 ] && cp "$RES" "$T/results.kept"
	return 0
}

main "$@"
