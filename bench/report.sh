# shellcheck shell=bash
# bench/report.sh -- writes BENCHMARKS.md from the results of bench/run.sh.
# Sourced by run.sh (uses its helpers: stat3, med, fmt, vals, calc, $T,
# $RES). Owns: the report's layout, the target verdicts, the comparison
# with the previous BENCHMARKS.md (its bench-data block) and carrying over
# the hand-written notes between the notes markers.
# Never: measures anything, or drops the previous file's notes.

# The verdict lines of the targets table, filled by judge_*.
TARGET_ROWS=""

num_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && a + 0 <= b + 0) }'; }
num_ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && a + 0 >= b + 0) }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "" || k == "nan") print "n/a"; else printf("%.1f MiB", k / 1024) }'; }

target() {	# TARGET MEASURED OK(0/1) [REASON]
	local st="met"
	[ "$3" = 1 ] || st="**not met**${4:+: $4}"
	TARGET_ROWS="$TARGET_ROWS| $1 | $2 | $st |
"
}

sys_info() {
	local commit dirty=""
	commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
	# the commit when the run started, and the binary's build time
	[ -s "$T/bin-info" ] && commit="$(cut -d' ' -f1 "$T/bin-info")\` at the start of the run, cgi/aiproxy built $(cut -d' ' -f2 "$T/bin-info") UTC; now \`$commit"
	git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null |
	    grep -q . && dirty=" (with uncommitted changes in the tree)"
	cat <<EOF
| item | value |
|---|---|
| date | $(date -u '+%Y-%m-%d %H:%M UTC') |
| mode | $([ "$QUICK" = 1 ] && echo "QUICK=1 (smoke run: short runs, fewer steps)" || echo "full") |
| proxy commit | \`$commit\`$dirty |
| CPUs | $(nproc) × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) |
| kernel | $(uname -sr) |
| memory | $(awk '/^MemTotal/ { printf("%.1f GiB", $2 / 1048576) }' /proc/meminfo) |
| gcc | $(gcc --version 2>/dev/null | head -n 1) |
| lighttpd | $(lighttpd -v 2>/dev/null | head -n 1 | cut -d' ' -f1) |
| nginx | $(nginx -v 2>&1 | sed 's/^nginx version: //') |
| libcurl | $(dpkg-query -W -f='${Version}' libcurl4 2>/dev/null) |
| LMDB | $(dpkg-query -W -f='${Version}' liblmdb0 2>/dev/null) |
| Redis | $(redis-server --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p'), hiredis $(dpkg-query -W -f='${Version}' libhiredis0.14 2>/dev/null) |
| libfcgi | $(dpkg-query -W -f='${Version}' libfcgi0ldbl 2>/dev/null) |
| cJSON | $(dpkg-query -W -f='${Version}' libcjson1 2>/dev/null) |
| wrk | $(dpkg-query -W -f='${Version}' wrk 2>/dev/null) |
| valgrind | $(valgrind --version 2>/dev/null) |
| perf | $(perf --version 2>/dev/null || echo "not installed") |
EOF
}

path_name() {
	case $1 in
	direct) echo "1. direct to the canned upstream" ;;
	directc) echo "1b. direct, C upstream (not nginx)" ;;
	mp) echo "2. lighttpd mod_proxy (floor)" ;;
	lp) echo "3. lighttpd → aiproxy" ;;
	np) echo "4. nginx → aiproxy" ;;
	lp0) echo "3. lighttpd → aiproxy, upstream and client at nice 0" ;;
	lpperf) echo "3. lighttpd → aiproxy under perf" ;;
	lpr) echo "3. lighttpd → aiproxy, Responses (\`/v1/responses\`)" ;;
	lpm) echo "3. lighttpd → aiproxy, Messages (\`/v1/messages\`)" ;;
	lpn) echo "3. lighttpd → aiproxy, native Gemini upstream (\`\"api\": \"native\"\`)" ;;
	l2) echo "3b. lighttpd → aiproxy, 2 responders" ;;
	r2) echo "3b. lighttpd → aiproxy, 2 responders, Redis ledger" ;;
	esac
}

sec_latency() {
	local p
	echo "| path | p50 (µs) | p99 (µs) | added p50 vs (1) | added p99 vs (1) | p99 minus the floor's |"
	echo "|---|---|---|---|---|---|"
	for p in direct mp lp np; do
		printf '| %s | %s | %s | %s | %s | %s |\n' "$(path_name $p)" \
		    "$(fmt tp.json.$p.c1.p50_us %.0f)" \
		    "$(fmt tp.json.$p.c1.p99_us %.0f)" \
		    "$(fmt tp.json.$p.c1.add_p50 %.0f)" \
		    "$(fmt tp.json.$p.c1.add_p99 %.0f)" \
		    "$(fmt tp.json.$p.c1.p99_over_floor %.0f)"
	done | sed 's/| n\/a | n\/a | n\/a |$/| – | – | – |/'
	if [ -s "$T/strace-json.txt" ]; then
		echo
		echo "Syscalls of the proxy per non-stream request (lighttpd → aiproxy, c=1, \`strace -c -f -p PID\` for 2 s; requests counted by \`accept\`, one FastCGI connection each):"
		echo
		echo "| syscall | calls / request |"
		echo "|---|---|"
		awk '$1 ~ /^[0-9.]+$/ && NF >= 5 { c[$NF] = $4 }
		    END { n = c["accept"] + c["accept4"]; if (n == 0) exit
			for (k in c) if (k != "total") printf("| %s | %.2f |\n", k, c[k] / n)
			printf("| **total** | **%.1f** |\n", c["total"] / n) }' \
		    "$T/strace-json.txt" | sort -t'|' -k3 -gr
	fi
}

sec_throughput() {
	local p c k cols="" hdr=""
	for c in $TP_CONCS; do
		[ "$c" = 1 ] && continue
		hdr="$hdr non-stream c=$c | short stream c=$c |"
		cols="$cols|---|---"
	done
	echo "| path |$hdr ratio to floor, non-stream c=64 | ratio to floor, short stream c=64 |"
	echo "|---$cols|---|---|"
	for p in direct directc mp lp np; do
		printf '| %s |' "$(path_name $p)"
		for c in $TP_CONCS; do
			[ "$c" = 1 ] && continue
			for k in json sse; do
				printf ' %s |' "$(fmt tp.$k.$p.c$c.rps %.0f)"
			done
		done
		printf ' %s | %s |\n' "$(fmt tp.json.$p.c64.ratio %.2f)" \
		    "$(fmt tp.sse.$p.c64.ratio %.2f)"
	done
	echo
	echo "Errors or non-2xx answers in all wrk runs: $(awk '$1 ~ /^tp\..*\.errors$/ { s += $2 } END { print s + 0 }' "$RES")."
	echo
	echo "CPU per request at c=64 (\`/proc/PID/stat\` of the responder and of the front server over each wrk run, µs):"
	echo
	echo "| path | front, non-stream | proxy, non-stream (of it in the kernel) | front, short stream | proxy, short stream (of it in the kernel) |"
	echo "|---|---|---|---|---|"
	for p in mp lp np; do
		printf '| %s | %s | %s (%s) | %s | %s (%s) |\n' "$(path_name $p)" \
		    "$(fmt tp.json.$p.c64.front_us %.1f)" "$(fmt tp.json.$p.c64.proxy_us %.1f)" \
		    "$(fmt tp.json.$p.c64.proxy_sys_us %.1f)" \
		    "$(fmt tp.sse.$p.c64.front_us %.1f)" "$(fmt tp.sse.$p.c64.proxy_us %.1f)" \
		    "$(fmt tp.sse.$p.c64.proxy_sys_us %.1f)"
	done | sed 's/ n\/a (n\/a) / n\/a /g'
	if [ -s "$T/perf-json.data" ]; then
		echo
		echo "Where the proxy's CPU goes for non-stream requests (\`perf record -a -F 999 -g\` for 2 s of a c=64 run through lighttpd, samples of the aiproxy process only, self time):"
		echo
		echo '```'
		perf report -i "$T/perf-json.data" --stdio --no-children -g none \
		    --comm aiproxy --percentage relative --sort dso \
		    --percent-limit 1 2>/dev/null | grep -E '^ +[0-9.]+%' |
		    sed 's/[ -]*$//' | head -n 8
		echo
		perf report -i "$T/perf-json.data" --stdio --no-children -g none \
		    --comm aiproxy --percentage relative --sort dso,symbol \
		    --percent-limit 1 2>/dev/null | grep -E '^ +[0-9.]+%' |
		    sed 's/[ -]*$//' | head -n 18
		echo '```'
	fi
}

st_row() {	# PATH N INTERVAL
	local pre=st.$1.i$3.n$2
	[ "$(stat3 $pre.late | cut -d' ' -f4)" = 0 ] && return 0
	printf '| %s | %s | %s | %s | %s / %s / %s / %s | %s | %s / %s / %s / %s | %s | %s |\n' \
	    "$(path_name "$1")" "$2" "$(vals $pre.pass | awk '{ s += $1 } END { printf("%d/%d", s, NR) }')" \
	    "$(fmt $pre.late %.0f)" \
	    "$(fmt $pre.lat_p50_ms %.1f)" "$(fmt $pre.lat_p99_ms %.1f)" \
	    "$(fmt $pre.lat_p999_ms %.1f)" "$(fmt $pre.lat_max_ms %.1f)" \
	    "$(fmt $pre.ttfe_p99_ms %.1f)" \
	    "$(fmt $pre.cpu_pct.front %.0f)" "$(fmt $pre.cpu_pct.proxy %.0f)" \
	    "$(fmt $pre.cpu_pct.upstream %.0f)" "$(fmt $pre.cpu_pct.client %.0f)" \
	    "$(fmt $pre.box_busy_pct %.0f)" \
	    "$(fmt $pre.upstream_send_late_max_ms %.1f)"
}

st_head() {
	echo "| path | N | runs without a late event | events > 100 ms late | lateness p50 / p99 / p99.9 / max (ms) | first event p99 (ms) | CPU % front / proxy / upstream / client | box busy % (of $(( $(nproc) * 100 ))) | upstream's own send lateness max (ms) |"
	echo "|---|---|---|---|---|---|---|---|---|"
}

sec_streams() {
	local p n
	echo "### At N = 512 (the target)"
	echo
	st_head
	for p in direct mp lp np lp0; do st_row $p 512 20; done
	if [ "$(stat3 st.lpperf.i20.n512.late | cut -d' ' -f4)" != 0 ]; then
		echo
		echo "The instrumented run of section 4 (perf stat on four processes and perf record, same N), apart because the instruments cost CPU:"
		echo
		st_head
		st_row lpperf 512 20
	fi
	echo
	echo "The stream upstream and the load client run at nice $NICE so that their own wake-up delay on a saturated box is not counted as the proxy's lateness; the last row, when present, repeats the lighttpd → aiproxy runs with them at nice 0. The proxy runs with $T512 threads here."
	echo
	echo "### Largest N without a late event"
	echo
	echo "Steps: 512 (3 runs, $T512 threads), then ${SCAN:-none} downward ($TMAX threads) (one run each until one passes, confirmed by $((RUNS - 1)) more), 256 if 512 fails. A step passes when every event of every stream arrived ≤ 100 ms late and every stream completed."
	echo
	echo "| path | largest N | lateness p99 at that N (ms) | max (ms) | box busy % |"
	echo "|---|---|---|---|---|"
	for p in direct mp lp np; do
		n=$(med st.$p.nmax)
		[ "$n" = nan ] && continue
		printf '| %s | %s | %s | %s | %s |\n' "$(path_name $p)" \
		    "$([ "$n" = 0 ] && echo "< 256" || echo "$n")" \
		    "$(fmt st.$p.i20.n$n.lat_p99_ms %.1f)" \
		    "$(fmt st.$p.i20.n$n.lat_max_ms %.1f)" \
		    "$(fmt st.$p.i20.n$n.box_busy_pct %.0f)"
	done
	echo
	echo "All step runs (one row per N):"
	echo
	st_head
	for p in direct mp lp np; do
		for n in $(printf '%s\n' 256 $SCAN | sort -n); do
			[ "$n" = 512 ] || st_row $p "$n" 20
		done
	done
	echo
	echo "### 25 events/s: 1000 streams × 64 events, 40 ms apart (lighttpd → aiproxy)"
	echo
	if [ "$(stat3 st.lp.i40.n1000.late | cut -d' ' -f4)" = 0 ]; then
		echo "Not run (QUICK=1)."
	else
		st_head
		st_row lp 1000 40
	fi
}

perf_val() {	# LABEL EVENT: the count from perf stat -x, output
	awk -F, -v e="$2" '$3 == e || index($3, e) == 1 { print $1; exit }' \
	    "$T/perf-$1.txt" 2>/dev/null
}

sec_cpu() {
	local l ev sc cs tc
	local PERF_WIN STRACE_WIN
	PERF_WIN=$(vals perf.win | tail -n 1)
	STRACE_WIN=$(vals strace.win | tail -n 1)
	echo "Proxy CPU per relayed event (lighttpd → aiproxy, N = 512, \`/proc/PID/stat\` over the steady window of each run): **$(fmt st.lp.i20.n512.us_per_event.proxy %.1f " µs")**; through nginx: $(fmt st.np.i20.n512.us_per_event.proxy %.1f " µs")."
	echo
	echo "Per hop (same runs): front $(fmt st.lp.i20.n512.us_per_event.front %.1f " µs"), proxy $(fmt st.lp.i20.n512.us_per_event.proxy %.1f " µs"), upstream $(fmt st.lp.i20.n512.us_per_event.upstream %.1f " µs"), client $(fmt st.lp.i20.n512.us_per_event.client %.1f " µs") per event."
	echo
	ev=$(vals st.lp.i20.n512.win_ev_per_s | tail -n 1)
	if [ -s "$T/perf-proxy.txt" ] && [ -n "${PERF_WIN:-}" ]; then
		ev=$(awk -v f="$T/st-lpperf-i20-n512-perf.txt" 'BEGIN { while ((getline l < f) > 0) if (l ~ /^win_ev_per_s=/) { sub(/.*=/, "", l); print l } }')
		echo "One extra run at N = 512 under \`perf stat -e raw_syscalls:sys_enter,context-switches,task-clock -p PID\` (${PERF_WIN} s window, $ev events/s):"
		echo
		echo "| hop | syscalls / event | context switches / event | CPU / event (µs) |"
		echo "|---|---|---|---|"
		for l in front proxy upstream client; do
			sc=$(perf_val $l raw_syscalls:sys_enter)
			cs=$(perf_val $l context-switches)
			tc=$(perf_val $l task-clock)
			[ -n "$sc" ] || continue
			awk -v l="$l" -v sc="$sc" -v cs="$cs" -v tc="$tc" -v ev="$ev" -v w="$PERF_WIN" \
			    'BEGIN { n = ev * w; if (n <= 0) exit
				printf("| %s | %.2f | %.2f | %.1f |\n", l, sc / n, cs / n, tc * 1000 / n) }'
		done
		echo
	fi
	if [ -s "$T/strace.txt" ] && [ -n "${STRACE_WIN:-}" ]; then
		ev=$(sed -n 's/^win_ev_per_s=//p' "$T/st-lpstrace-i20-n64-strace.txt")
		echo "Syscall mix of the proxy, \`strace -c -f -p PID\` for ${STRACE_WIN} s at N = 64 (strace slows the process; the mix, not the time, is the point; about $ev events/s):"
		echo
		echo "| syscall | calls / event |"
		echo "|---|---|"
		awk -v ev="$ev" -v w="$STRACE_WIN" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
		    n = ev * w; if (n > 0) printf("| %s | %.2f |\n", $NF, $4 / n) }' \
		    "$T/strace.txt" | sort -t'|' -k3 -gr | head -n 8
		echo
	fi
	if [ -s "$T/perf.data" ]; then
		echo "Where the proxy's CPU goes (\`perf record -a -F 499 -g\` during the same run, samples of the aiproxy process only, self time, top symbols):"
		echo
		echo '```'
		perf report -i "$T/perf.data" --stdio --no-children -g none \
		    --comm aiproxy --percentage relative --sort dso,symbol \
		    --percent-limit 1.5 2>/dev/null |
		    grep -E '^ +[0-9.]+%' | sed 's/[ -]*$//' | head -n 15
		echo '```'
	fi
}

sec_memory() {
	local n k
	echo "| responder, state | VmRSS (kB) | Pss (kB) | private (kB) |"
	echo "|---|---|---|---|"
	for k in "idle64.LP_J:lighttpd → aiproxy, non-stream responder, 64 threads (default), idle after the load runs" \
	    "idle64.LP_S:lighttpd → aiproxy, stream responder, 64 threads, idle after the load runs" \
	    "idle64.NP_J:aiproxy --listen pool worker (nginx), non-stream, 64 threads, idle after the load runs" \
	    "idle64.NP_S:aiproxy --listen pool worker (nginx), stream, 64 threads, idle after the load runs" \
	    "idle$T512.lp:lighttpd → aiproxy stream responder, $T512 threads, idle after 2 warm-up streams"; do
		n=${k%%:*}
		printf '| %s | %s | %s | %s |\n' "${k#*:}" "$(fmt rss.$n %.0f)" \
		    "$(fmt smaps.$n.pss %.0f)" "$(fmt smaps.$n.private %.0f)"
	done
	echo "| same, peak during N = 512 | $(fmt st.lp.i20.n512.rss_max_kb.proxy %.0f) | | |"
	echo "| nginx → aiproxy pool worker, $T512 threads, idle after 2 warm-up streams | $(fmt rss.idle$T512.np %.0f) | | |"
	echo "| same, peak during N = 512 | $(fmt st.np.i20.n512.rss_max_kb.proxy %.0f) | | |"
	n=$(med st.lp.nmax)
	if [ "$(stat3 rss.idle$TMAX.lp | cut -d' ' -f4)" != 0 ]; then
		echo "| lighttpd → aiproxy stream responder, $TMAX threads, idle | $(fmt rss.idle$TMAX.lp %.0f) | | |"
		echo "| same, peak during N = 1000 at 25 events/s | $(fmt st.lp.i40.n1000.rss_max_kb.proxy %.0f) | | |"
	fi
	echo "| lighttpd (front), peak during N = 512 | $(fmt st.lp.i20.n512.rss_max_kb.front %.0f) | | |"
	echo
	echo "Per concurrent stream (lighttpd → aiproxy, (peak at N = 512 − idle) / 512, with $T512 threads so that every thread serves streams): **${PER_STREAM:-n/a} KiB**."
	echo
	echo "Where the resident memory is (\`/proc/PID/smaps\`, kB; thread stacks are the proxy's 256 KiB stack mappings, heap includes glibc's per-thread malloc arenas, files are code and data of the binary and its libraries plus the LMDB map):"
	echo
	echo "| responder, state | thread stacks | heap + arenas | files | other |"
	echo "|---|---|---|---|---|"
	for n in "lighttpd → aiproxy non-stream, 64 threads, idle:idle64.LP_J" \
	    "pool worker non-stream, 64 threads, idle:idle64.NP_J" \
	    "lighttpd → aiproxy stream, $T512 threads, idle:idle$T512.lp" \
	    "same, at the end of the first N = 512 run:n512.lp"; do
		k=${n##*:}
		printf '| %s | %s | %s | %s | %s |\n' "${n%:*}" \
		    "$(fmt smaps.$k.stacks %.0f)" "$(fmt smaps.$k.heap %.0f)" \
		    "$(fmt smaps.$k.files %.0f)" "$(fmt smaps.$k.other %.0f)"
	done
	if [ -s "$T/files-LP_J.txt" ]; then
		echo
		echo "Largest file-backed parts of the lighttpd-spawned non-stream responder (kB resident; shared with every other process mapping the same library, which is why the forked pool workers show less):"
		echo
		echo "| kB | file |"
		echo "|---|---|"
		awk '{ printf("| %s | %s |\n", $1, $2) }' "$T/files-LP_J.txt"
	fi
}

sec_cg() {
	echo "Note: valgrind counts \`rep movsb\` once per byte, so the memcpy rows below (LMDB's copy-on-write of pages and the ledger's copy of the record it changes, ~2 × 10.6 KB per request) weigh far more in Ir than in time; the CPU per request in section 2 is the time measure."
	echo
	echo "callgrind (\`valgrind --tool=callgrind\`, the responder spawned by lighttpd with 4 threads, non-stream requests one at a time through lighttpd to the nginx upstream, ledger on). After 50 warm-up requests, \`callgrind_control -d\` after each batch of $CG_REQ requests: instructions (Ir) of the whole process per request: **$(fmt cg.ir_per_req %.0f)**."
	if [ -s "$T/cg-obj.txt" ]; then
		echo
		echo "By library (own instructions, last batch):"
		echo
		echo "| library | Ir per request | share |"
		echo "|---|---|---|"
		awk -v n="$CG_REQ" '{ printf("| %s | %.0f | %s |\n", $3, $1 / n, $2) }' "$T/cg-obj.txt"
	fi
	if [ -s "$T/cg-top.txt" ]; then
		echo
		echo "Top functions by own instructions (last batch; hex names are static functions of stripped libraries):"
		echo
		echo "| function (library) | Ir per request | share |"
		echo "|---|---|---|"
		awk -v n="$CG_REQ" '{ f = $3; for (i = 4; i <= NF; i++) f = f " " $i
		    printf("| %s | %.0f | %s |\n", f, $1 / n, $2) }' "$T/cg-top.txt"
	fi
}

sec_alloc() {
	echo "bench/mallocount.so (LD_PRELOAD; counts malloc, calloc, realloc of NULL and the memalign family) in the responder (spawned by lighttpd, 1 worker thread), after warm-up. Each run: one 2-event stream, one 64-event stream (events 20 ms apart), one non-stream request; the difference per extra event is (64-event − 2-event) ÷ 62 (a 1-event stream can end before its transfer ever waits on the socket, which spares curl's per-transfer socket entry, 4 allocations that do not depend on the events). Counted in the threads other than the main one (the workers and the stream loop), which serve every request; the whole-process counts also include the main thread's once-a-second upkeep (LMDB's mdb_reader_check allocates), which lands in the 1.3 s stream more often than in the 20 ms one."
	echo
	echo "| counted in | 2-event stream | 64-event stream | difference per extra event | non-stream request |"
	echo "|---|---|---|---|---|"
	echo "| request threads | $(fmt mc.stream1 %.0f) | $(fmt mc.stream64 %.0f) | **$(fmt mc.per_event %.2f)** | $(fmt mc.json %.0f) |"
	echo "| whole process | $(fmt mc.all.stream1 %.0f) | $(fmt mc.all.stream64 %.0f) | | |"
}

sec_ledger() {
	echo "bench/ledger_bench.c: P processes on one fresh LMDB state directory (default durability: MDB_NOSYNC + a sync per second), each looping for ${LEDGER_S} s, 8 keys, limits at their maximum."
	echo
	echo "| processes | reservations/s (px_ledger_reserve_ask) | reserve + settle pairs/s (a request's two write transactions) |"
	echo "|---|---|---|"
	echo "| 1 | $(fmt ledger.p1.r %.0f) | $(fmt ledger.p1.rs %.0f) |"
	echo "| 4 (total) | $(fmt ledger.p4.r %.0f) | $(fmt ledger.p4.rs %.0f) |"
	echo
	sec_ledger_backends
}

# Issue 12: the same pairs on LMDB and on Redis, side by side.
ledger_row() {	# KEY LABEL
	echo "| $2 | $(fmt "ledger.lmdb.$1.ops_per_s" %.0f) | $(fmt "ledger.redis.$1.ops_per_s" %.0f) | $(fmt "ledger.ratio.$1" %.3f) | $(fmt "ledger.lmdb.$1.lat_p50_us" %.1f) / $(fmt "ledger.lmdb.$1.lat_p99_us" %.1f) | $(fmt "ledger.redis.$1.lat_p50_us" %.0f) / $(fmt "ledger.redis.$1.lat_p99_us" %.0f) | $(fmt "ledger.redis.$1.server_us_per_call" %.1f) | $(fmt "ledger.redis.$1.server_cpu_pct" %.0f " %") |"
}

# A row's label: ROW is PxT, or qPxT with the quota features on.
ledger_label() {	# ROW
	local r=${1#q} q=""
	[ "$r" = "$1" ] || q=", quota on"
	echo "${r%x*} × ${r#*x}$q"
}

# "about N" of a median, rounded; "n/a" without one
about() { awk -v v="$(med "$1")" 'BEGIN { if (v == "nan" || v == "") print "n/a"; else printf("%.0f\n", v) }'; }

sec_ledger_backends() {
	local row errs="" k us ubusy redis=1
	echo "### Ledger backends: LMDB and Redis side by side"
	echo
	[ "$(stat3 ledger.redis.1x1.ops_per_s | cut -d' ' -f4)" = 0 ] && redis=0
	if [ "$redis" = 0 ]; then
		echo "No Redis figures in this run: redis-server was missing or did not start (\`apt-get install redis-server\`). LMDB alone:"
		echo
	fi
	echo "bench/ledger_bench.c \`-m rs\`: reserve + settle pairs, the ledger's two calls per request (a reserve before the upstream call, a settle after it), so a pair's latency is the ledger's added latency per request. P processes × T threads each (every thread with its own scratch, so with Redis its own connection), 8 keys, limits at their maximum, ${LEDGER_S} s per run. LMDB: a state directory of the bench's. Redis $(vals ledger.redis_version | head -n 1): a redis-server started by the bench on 127.0.0.1 (TCP, \`--save '' --appendonly no\`), a fresh \`redis_prefix\` per state; every reserve and every settle is one EVALSHA of common/ledger.lua on the server's clock. In each round the two backends run each row back to back (the order alternating per round); the ratio is taken within the round. Latency: every pair timed with CLOCK_MONOTONIC into a histogram (1.6 % buckets); p50 and p99 of all pairs of the run. **Fresh keys**: records that start empty (a few seconds of windows, as on a new install). **Keys busy all day**: records prefilled first (\`ledger_bench -F\`: every key took a request in each minute of the last day and each second of the last minute), so the day windows are full, as they are for keys in steady use; $([ "$QUICK" = 1 ] && echo "one round with QUICK=1" || echo "one prefill per backend per round, both rows on it") (prefill: LMDB $(fmt ledger.lmdb.prefill_s %.1f) s, Redis $(fmt ledger.redis.prefill_s %.1f) s). After each run a snapshot must hold exactly the requests and tokens it booked (windows and lifetime totals)."
	echo
	echo "| keys, processes × threads | LMDB pairs/s | Redis pairs/s | Redis / LMDB | LMDB p50 / p99 µs per pair | Redis p50 / p99 µs per pair | Redis: µs inside the server per EVALSHA (reserve or settle) | Redis server CPU ¹ |"
	echo "|---|---|---|---|---|---|---|---|"
	for row in $LEDGER_ROWS; do
		ledger_row "$row" "fresh, $(ledger_label "$row")"
	done
	for row in $LEDGER_BUSY_ROWS; do
		ledger_row "busy.$row" "busy all day, $(ledger_label "$row")"
	done
	echo
	echo "¹ Redis's own CPU time (user + system, INFO cpu) over the run's wall time; it includes each client thread's warm-up call and the check's snapshots, made just outside that time, so it can pass 100 %."
	echo
	echo "**LMDB with \`state_writemap\`** (opt-in, \`MDB_WRITEMAP\`: a commit writes into the map instead of one \`pwrite\` per page), right after the plain LMDB rows of each round, fresh keys: 1 × 1 $(fmt ledger.lmdbwm.1x1.ops_per_s %.0f) pairs/s, $(fmt ledger.wmratio.1x1 %.2f)× plain LMDB's; 4 × 8 $(fmt ledger.lmdbwm.4x8.ops_per_s %.0f) pairs/s, $(fmt ledger.wmratio.4x8 %.2f)×."
	echo
	echo "**Quota on** (\`ledger_bench -q\`): the keys' entry names an owner with its own windows and \`max_concurrent\` (1000), and has a \`model_limits\` entry for the bench's model, so each reservation draws on four scopes (key, key + model, owner, the owner's leases) instead of one, and each settle gives its lease back; the check also covers the owner's and the (key, model) windows and that no lease is left. Busy quota state: the owner's and (key, model) day windows are full too ($([ "$QUICK" = 1 ] && echo "one round" || echo "first round only"); prefill with settles: LMDB $(fmt ledger.lmdb.qprefill_s %.1f) s, Redis $(fmt ledger.redis.qprefill_s %.1f) s). The cost of the scopes, pairs/s with quota on over the same row without it, same round:"
	echo
	echo "| row | LMDB quota / plain | Redis quota / plain |"
	echo "|---|---|---|"
	for row in $LEDGER_ROWS; do
		case "$row" in q*) ;; *) continue ;; esac
		echo "| fresh, ${row#q} | $(fmt "ledger.lmdb.qcost.${row#q}" %.2f) | $(fmt "ledger.redis.qcost.${row#q}" %.2f) |"
	done
	for row in $LEDGER_BUSY_ROWS; do
		case "$row" in q*) ;; *) continue ;; esac
		echo "| busy all day, ${row#q} | $(fmt "ledger.lmdb.qcost.busy.${row#q}" %.2f) | $(fmt "ledger.redis.qcost.busy.${row#q}" %.2f) |"
	done
	echo
	for k in $(awk '$1 ~ /^ledger\.(lmdb|redis)\..*\.errors$/ && $2 > 0 { print $1 }' "$RES" | sort -u); do
		errs="$errs ${k#ledger.} $(vals "$k" | awk '{ s += $1 } END { print s }')"
	done
	if [ -n "$errs" ]; then
		echo "Calls that failed closed (PX_EUNAVAIL: Redis did not answer within redis_timeout_ms, 250 ms; a 503 in production), summed over the runs:$errs."
	else
		echo "No call failed closed (PX_EUNAVAIL) in any run."
	fi
	if awk '$1 ~ /^ledger\..*\.exact$/ && $2 == 0 { f = 1 } END { exit !f }' "$RES"; then
		echo "**Some run's snapshot did not hold exactly what it booked** (ledger.*.exact = 0 in the results): a ledger bug, to be looked at."
	else
		echo "Every run's snapshot held exactly what it booked."
	fi
	echo
	us=$(med ledger.redis.1x1.server_us_per_call)
	ubusy=$(med ledger.redis.busy.1x1.server_us_per_call)
	if [ "$redis" = 0 ]; then
		echo "What the numbers mean: with LMDB a pair is two local write transactions (p50 about $(about ledger.lmdb.1x1.lat_p50_us) µs on fresh keys, $(about ledger.lmdb.busy.1x1.lat_p50_us) µs on busy ones), and writers take turns on one write lock of one host."
		return 0
	fi
	echo "What the numbers mean: with LMDB a pair is two local write transactions (p50 about $(about ledger.lmdb.1x1.lat_p50_us) µs on fresh keys, $(about ledger.lmdb.busy.1x1.lat_p50_us) µs on busy ones), and writers take turns on one write lock of one host. With Redis each of the two calls adds a network round trip (here loopback) and the script's run inside the server (about $(awk -v v="$us" 'BEGIN { printf("%.0f", v) }') µs per call on fresh keys, $(awk -v v="$ubusy" 'BEGIN { printf("%.0f", v) }') µs on busy ones, by Redis's INFO commandstats): p50 about $(about ledger.redis.1x1.lat_p50_us) µs per pair on fresh keys, $(about ledger.redis.busy.1x1.lat_p50_us) µs on busy ones. Redis runs scripts one at a time on its one main thread, so Redis pairs/s are bounded by one Redis core, for all hosts together: at most 1 s / (2 × µs per call), about $(calc "int(1000000 / (2 * $us))") pairs/s on fresh keys and $(calc "int(1000000 / (2 * $ubusy))") on busy ones; more clients only queue (p50 grows with them, pairs/s does not). The script's time grows with the entries of the windows it decodes and re-encodes in Lua on every write (up to 1,441 in a full day window), which is why busy keys cost so much more there. On this box the clients share its $(nproc) cores with that Redis core; the Redis server CPU column shows how close a row came to the bound."
}

# The ledger phase alone (run.sh BENCH_ONLY=ledger): its section.
sec_ledger_alone() {
	echo "## 8. Ledger reservations (BENCH_ONLY=ledger, $(date -u '+%Y-%m-%d %H:%M UTC'), $([ "$QUICK" = 1 ] && echo QUICK=1 || echo full), median of $RUNS runs)"
	echo
	sec_ledger
}

# Client dialects (issue 10) beside the chat path; the issue 15 target.
sec_dialects() {
	local c d hdr="" cols="" r v ok concs=""
	for c in $TP_CONCS; do
		[ "$c" = 1 ] && continue
		concs="$concs $c"
		hdr="$hdr non-stream req/s c=$c |"
		cols="$cols---|"
	done
	echo "Path 3 with each route's own request: the same lighttpd, to twin responders of path 3's (same binary, configuration and threads: 64 non-stream, $T512 for the streams; ledger on, its own state directory) so that path 3's memory figures stay the chat path's, and the same canned upstream. Requests: chat \`{\"model\",\"messages\",\"stream\"}\` with Bearer; Responses \`{\"model\",\"input\":\"…\",\"stream\"}\` with Bearer; Messages \`{\"model\",\"max_tokens\":256,\"messages\",\"stream\"}\` with \`x-api-key\` and \`anthropic-version\` (as Claude Code sends them). The proxy translates both dialects to a chat request and each upstream chunk back into the dialect's events."
	echo
	echo "- **CPU per relayed upstream event**: the stream step of section 3 (N = 512, 64 events 20 ms apart), proxy CPU from \`/proc/PID/stat\` over the steady window divided by the upstream events that reached the client in it (the method of section 4). Each dialect's run follows the chat run of the same round ($DL_RUNS of the $RUNS rounds), and its **ratio** is to that chat run (median of the per-round ratios). A dialect writes more bytes and events than chat for the same upstream chunk (Responses: an \`output_text.delta\` event per chunk plus lifecycle events at the start and end; Messages: a \`content_block_delta\` per chunk, likewise), but the count is of upstream chunks, so the figures compare per unit of upstream work."
	echo "- **Non-stream req/s**: wrk, ${TP_DUR} s per run, right after the chat run (path 3) of each round of section 2; the upstream's chat completion comes back as a Responses object or a Messages object."
	echo "- **Allocations per event**: bench/mallocount.so as in section 7, request threads (workers and the stream loop), 64-event minus 2-event stream, after each route's own warm-up."
	echo
	echo "| path | proxy CPU per relayed upstream event (µs) | ratio to chat (same round) |$hdr non-stream ratio to chat, c=64 | proxy CPU per non-stream request, c=64 (µs) | allocations per event |"
	echo "|---|---|---|$cols---|---|---|"
	for d in lp $DIALECTS; do
		if [ "$d" = lp ]; then
			printf '| 3. lighttpd → aiproxy, chat (`/v1/chat/completions`) | %s | 1.00 |' \
			    "$(fmt st.lp.i20.n512.us_per_event.proxy %.1f)"
		else
			printf '| %s | %s | %s |' "$(path_name $d)" \
			    "$(fmt st.$d.i20.n512.us_per_event.proxy %.1f)" \
			    "$(fmt st.$d.i20.n512.ratio_to_chat %.2f)"
		fi
		for c in $concs; do
			printf ' %s |' "$(fmt tp.json.$d.c$c.rps %.0f)"
		done
		if [ "$d" = lp ]; then
			printf ' 1.00 | %s | %s |\n' "$(fmt tp.json.lp.c64.proxy_us %.1f)" \
			    "$(fmt mc.per_event %.2f)"
		else
			printf ' %s | %s | %s |\n' "$(fmt tp.json.$d.c64.ratio_to_chat %.2f)" \
			    "$(fmt tp.json.$d.c64.proxy_us %.1f)" \
			    "$(fmt mc.$d.per_event %.2f)"
		fi
	done
	echo
	r=""
	for d in $DIALECTS; do
		v=$(med st.$d.i20.n512.ratio_to_chat)
		ok="met"
		num_le "$v" 1.2 || ok="**not met**"
		r="$r${r:+; }$(path_name $d | sed 's/.*, //') $(fmt st.$d.i20.n512.ratio_to_chat %.2f "×") ($ok)"
	done
	echo "Target (issue 15), proxy CPU per event within 1.2× of chat: $r."
	r=""
	for d in $DIALECTS; do
		ok="met"
		v=$(stat3 mc.$d.per_event)
		# every run at exactly 0
		{ [ "$(echo "$v" | cut -d' ' -f4)" != 0 ] &&
		    num_le "$(echo "$v" | cut -d' ' -f3)" 0 &&
		    num_ge "$(echo "$v" | cut -d' ' -f2)" 0; } || ok="**not met**"
		r="$r${r:+; }$(path_name $d | sed 's/.*, //') $(fmt mc.$d.per_event %.2f) ($ok)"
	done
	echo "Target (issue 10), translated paths allocate per event only in reused scratch, 0 per event after warm-up: $r."
	echo
	echo "The stream runs themselves (lateness and first event as in section 3; on a dialect route the event k is the delta event carrying upstream chunk k, found by its text \`tokKKKK\`, so lateness is the same measure as on the chat route; the first event is the delta of upstream chunk 0, which arrives right after the lifecycle events the proxy writes when it commits, \`response.created\` … \`content_part.added\` or \`message_start\`, \`content_block_start\`; a stream counts as complete on \`response.completed\` or \`message_stop\` with all 64 deltas):"
	echo
	st_head
	for d in lp $DIALECTS; do st_row $d 512 20; done
	echo
	echo "Idle RSS after the load runs of section 2, 64 threads: chat responder $(fmt rss.idle64.LP_J %.0f " kB"), the dialects' twin (which served the Responses and Messages non-stream runs at the same concurrencies) $(fmt rss.idle64.LD_J %.0f " kB")."
	echo
	echo "Allocations by route (request threads, as in section 7):"
	echo
	echo "| route | 2-event stream | 64-event stream | difference per extra event | non-stream request |"
	echo "|---|---|---|---|---|"
	echo "| chat | $(fmt mc.stream1 %.0f) | $(fmt mc.stream64 %.0f) | $(fmt mc.per_event %.2f) | $(fmt mc.json %.0f) |"
	for d in $DIALECTS; do
		echo "| $(path_name $d | sed 's/.*, //') | $(fmt mc.$d.stream1 %.0f) | $(fmt mc.$d.stream64 %.0f) | $(fmt mc.$d.per_event %.2f) | $(fmt mc.$d.json %.0f) |"
	done
}

# The native Gemini upstream path (issue 11) beside the OpenAI-compatible
# one: the same chat request, the proxy translating to Gemini's own API.
sec_native() {
	local c d hdr="" cols="" concs="" v
	for c in $TP_CONCS; do
		[ "$c" = 1 ] && continue
		concs="$concs $c"
		hdr="$hdr non-stream req/s c=$c |"
		cols="$cols---|"
	done
	echo "Path 3 with the same chat request (\`/v1/chat/completions\`, Bearer) to twin responders (same binary, threads and ledger settings as path 3's: 64 non-stream, $T512 for the streams) whose configuration has one \`gemini\` entry with \`\"api\": \"native\"\` and \`base_url\` the canned upstream's \`/v1beta\` prefix. The proxy translates the chat request into a \`generateContent\` body, calls \`{base_url}/models/{model}:streamGenerateContent?alt=sse\` (or \`:generateContent\`) with \`x-goog-api-key\`, and turns each Gemini event back into chat chunks (one cJSON parse of each event, chunks built and printed with cJSON). The OpenAI-compatible path is path 3 itself (an \`openrouter\` entry, \`\"api\": \"openai\"\` by default): its upstream chunks are relayed as they are."
	echo
	echo "- **Canned upstream, native routes**: bench/upstream.c answers \`…/models/MODEL:streamGenerateContent?alt=sse\` with Gemini events on the same absolute schedule (MODEL picks events and interval as on the chat route), each a whole \`GenerateContentResponse\` of about the chat chunk's size: one text part \`tokKKKK \`, interim \`usageMetadata\`, the last with \`\"finishReason\":\"STOP\"\` and the full usage, \`\\r\\n\\r\\n\`-separated, no \`[DONE]\`. Non-stream \`:generateContent\` gets a canned body with the chat completion's text and usage, from nginx \`return 200\` under \`/v1beta/\` as the compat path's non-stream answer comes from nginx (bench/upstream.c answers it too: the allocation count uses it)."
	echo "- **CPU per relayed upstream event**: as in section 9: N = 512, 64 events 20 ms apart, proxy CPU from \`/proc/PID/stat\` over the steady window divided by the upstream events that reached the client in it. The native run follows the chat run (and the dialects' runs) of the same round ($DL_RUNS of the $RUNS rounds); its **ratio** is to that round's compat run (median of the per-round ratios). The load client times the proxy's chat chunks by their text \`tokKKKK\` (the translated chunks have no \`x_seq\`), so events and lateness mean the same on both paths; the finish chunk the proxy adds carries no text and is not counted."
	echo "- **Non-stream req/s**: wrk, ${TP_DUR} s per run, right after the compat run (path 3) and the dialects' runs of each round of section 2."
	echo "- **Allocations per event**: bench/mallocount.so as in section 7 (request threads (workers and the stream loop), 64-event minus 2-event stream, after warm-up) in a responder of its own with the native configuration against bench/upstream.c. The zero-allocation target is the compat path's; the native path is reported as measured."
	echo
	echo "| path | proxy CPU per relayed upstream event (µs) | ratio to compat (same round) |$hdr non-stream ratio to compat, c=64 | proxy CPU per non-stream request, c=64 (µs) | allocations per event |"
	echo "|---|---|---|$cols---|---|---|"
	for d in lp lpn; do
		if [ "$d" = lp ]; then
			printf '| 3. lighttpd → aiproxy, OpenAI-compatible upstream (relayed chunks) | %s | 1.00 |' \
			    "$(fmt st.lp.i20.n512.us_per_event.proxy %.1f)"
		else
			printf '| %s | %s | %s |' "$(path_name $d)" \
			    "$(fmt st.$d.i20.n512.us_per_event.proxy %.1f)" \
			    "$(fmt st.$d.i20.n512.ratio_to_chat %.2f)"
		fi
		for c in $concs; do
			printf ' %s |' "$(fmt tp.json.$d.c$c.rps %.0f)"
		done
		if [ "$d" = lp ]; then
			printf ' 1.00 | %s | %s |\n' "$(fmt tp.json.lp.c64.proxy_us %.1f)" \
			    "$(fmt mc.per_event %.2f)"
		else
			printf ' %s | %s | %s |\n' "$(fmt tp.json.$d.c64.ratio_to_chat %.2f)" \
			    "$(fmt tp.json.$d.c64.proxy_us %.1f)" \
			    "$(fmt mc.$d.per_event %.2f)"
		fi
	done
	echo
	v=$(med mc.lpn.per_event)
	echo "Allocations per event: compat $(fmt mc.per_event %.2f) (the zero-allocation target, section 7); native $(fmt mc.lpn.per_event %.2f) (no target: each Gemini event is parsed into a cJSON tree and each chat chunk built as one and printed, so it allocates per event by design)."
	echo
	echo "The stream runs themselves (as in section 3; on the native path the event k is the chat chunk with the text of Gemini event k):"
	echo
	st_head
	for d in lp lpn; do st_row $d 512 20; done
	echo
	echo "Idle RSS after the load runs of section 2, 64 threads: compat responder $(fmt rss.idle64.LP_J %.0f " kB"), native twin (which served the native non-stream runs) $(fmt rss.idle64.LN_J %.0f " kB")."
	echo
	echo "Allocations by upstream path (request threads, as in section 7):"
	echo
	echo "| upstream path | 2-event stream | 64-event stream | difference per extra event | non-stream request |"
	echo "|---|---|---|---|---|"
	echo "| OpenAI-compatible | $(fmt mc.stream1 %.0f) | $(fmt mc.stream64 %.0f) | $(fmt mc.per_event %.2f) | $(fmt mc.json %.0f) |"
	echo "| native Gemini | $(fmt mc.lpn.stream1 %.0f) | $(fmt mc.lpn.stream64 %.0f) | $(fmt mc.lpn.per_event %.2f) | $(fmt mc.lpn.json %.0f) |"
}

# --- issue 15: the targets of "Performance v2" ---------------------------------

# Status of a set of medians against a bound: "met", "**not met**" or
# "not measured" (no key with data: its phase did not run); keys without
# data (a concurrency QUICK=1 leaves out) are skipped.
# st15 le|ge BOUND KEY...
st15() {
	local op=$1 b=$2 k v n=0
	shift 2
	for k in "$@"; do
		[ "$(stat3 "$k" | cut -d' ' -f4)" = 0 ] || n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { echo "not measured"; return; }
	for k in "$@"; do
		[ "$(stat3 "$k" | cut -d' ' -f4)" = 0 ] && continue
		v=$(med "$k")
		if [ "$op" = le ]; then
			num_le "$v" "$b" || { echo "**not met**"; return; }
		else
			num_ge "$v" "$b" || { echo "**not met**"; return; }
		fi
	done
	echo "met"
}

# One value (not a key) against a bound, likewise.
st15v() {	# le|ge BOUND VALUE
	case "${3:-}" in ""|nan|n/a) echo "not measured"; return ;; esac
	if [ "$1" = le ]; then num_le "$3" "$2"; else num_ge "$3" "$2"; fi &&
	    echo met || echo "**not met**"
}

# PATH TEXT KEY FORMAT: TEXT for the floor (mp), else the key's figure
fmt_nf() { if [ "$1" = mp ]; then echo "$2"; else fmt "$3" "$4"; fi; }

load_note() {
	local ph n="" k
	for ph in h2 h2r dl; do
		[ "$(stat3 "load.$ph.start" | cut -d' ' -f4)" = 0 ] && continue
		case $ph in h2) k="2-responder runs" ;; h2r) k="Redis runs" ;; dl) k="dialect stream runs" ;; esac
		n="$n${n:+; }$k: CPUs $(fmt "load.$ph.busy_pct" %.0f " %") busy in the 2 s before them (other tenants and idle responders), 1-minute load average $(med "load.$ph.start") at their start and $(med "load.$ph.end") at their end (the bench's own processes included)"
	done
	echo "${n:-no load figures}"
}

sec_issue15() {
	local p k c v l rl st per rss kk
	echo "## 11. Issue 15: lighttpd spawning 2 responders, new paths, every target"
	echo
	echo "Configuration users run: lighttpd with one \`fastcgi.server\` entry, \`\"max-procs\" => 2\`, 64 threads per responder (path **3b**), beside path 3 (1 responder, 64 threads) and the floor (lighttpd \`mod_proxy\`), all to the same canned upstreams (nginx \`return 200\` non-stream, bench/upstream.c for streams), on the same lighttpd, the three runs of each cell back to back with their order rotated round by round ($RUNS rounds, wrk ${TP_DUR} s, ${TP_DUR1} s at c=1). **CPU per request of the whole path** = (lighttpd + every responder of the path) user + system ticks from \`/proc/PID/stat\` over the wrk run ÷ requests; the floor's is lighttpd's alone. Ratios are taken within a round, then the median. This machine: $(nproc) cores, shared with other tenants and noisy ($(load_note)); load client, web server, proxies and upstreams all share those cores."
	echo
	echo "### Requests/s and CPU per request"
	echo
	echo "| path | kind | c | req/s | ratio to floor | CPU µs/request, whole path (front + proxy) | CPU ratio to floor | errors |"
	echo "|---|---|---|---|---|---|---|---|"
	for k in json sse; do
		for c in 16 64; do
			for p in mp lp l2; do
				printf '| %s | %s | %s | %s | %s | %s (%s + %s) | %s | %s |\n' \
				    "$(path_name "$p")" "$([ $k = json ] && echo non-stream || echo "short stream")" "$c" \
				    "$(fmt h2.$k.$p.c$c.rps %.0f)" \
				    "$(fmt_nf "$p" 1 h2.$k.$p.c$c.ratio %.2f)" \
				    "$(fmt h2.$k.$p.c$c.path_us %.1f)" \
				    "$(fmt h2.$k.$p.c$c.front_us %.1f)" \
				    "$(fmt_nf "$p" 0 h2.$k.$p.c$c.proxy_us %.1f)" \
				    "$(fmt_nf "$p" 1 h2.$k.$p.c$c.cpu_ratio %.2f)" \
				    "$(vals h2.$k.$p.c$c.errors | awk '{ s += $1 } END { print s + 0 }')"
			done
		done
	done
	echo
	echo "### Added latency at c=1 (non-stream)"
	echo
	echo "| path | p50 (µs) | p99 (µs) | p50 minus the floor's | p99 minus the floor's |"
	echo "|---|---|---|---|---|"
	for p in mp lp l2; do
		printf '| %s | %s | %s | %s | %s |\n' "$(path_name "$p")" \
		    "$(fmt h2.json.$p.c1.p50_us %.0f)" "$(fmt h2.json.$p.c1.p99_us %.0f)" \
		    "$(fmt_nf "$p" – h2.json.$p.c1.add_p50 %.0f)" \
		    "$(fmt_nf "$p" – h2.json.$p.c1.add_p99 %.0f)"
	done
	echo
	echo "### The Redis ledger at HTTP level (2 responders each)"
	echo
	echo "Path 3b with \`\"state_backend\": \"redis\"\` (a redis-server of the bench's own on 127.0.0.1, no persistence, same box) beside path 3b on LMDB, order alternating per round."
	echo
	echo "| kind | c | LMDB req/s | Redis req/s | Redis ÷ LMDB | whole path CPU µs/request LMDB / Redis (+ redis-server) | errors (Redis) |"
	echo "|---|---|---|---|---|---|---|"
	for k in json sse; do
		for c in 16 64; do
			printf '| %s | %s | %s | %s | %s | %s / %s (+ %s) | %s |\n' \
			    "$([ $k = json ] && echo non-stream || echo "short stream")" "$c" \
			    "$(fmt h2r.$k.l2.c$c.rps %.0f)" "$(fmt h2r.$k.r2.c$c.rps %.0f)" \
			    "$(fmt h2r.$k.r2.c$c.ratio_to_lmdb %.2f)" \
			    "$(fmt h2r.$k.l2.c$c.path_us %.1f)" "$(fmt h2r.$k.r2.c$c.path_us %.1f)" \
			    "$(fmt h2r.$k.r2.c$c.redis_us %.1f)" \
			    "$(vals h2r.$k.r2.c$c.errors | awk '{ s += $1 } END { print s + 0 }')"
		done
	done
	if [ -s "$T/redis-http-cmds.txt" ]; then
		echo
		echo "What Redis ran per HTTP request over all Redis runs ($(med h2r.requests) requests; INFO commandstats; the time is inside the server per call):"
		echo
		echo "| command | calls per request | µs per call |"
		echo "|---|---|---|"
		awk '{ printf("| %s | %s | %s |\n", $1, $2, $3) }' "$T/redis-http-cmds.txt"
	fi
	echo
	echo "### Proxy CPU per relayed upstream event (N = 512 streams, 64 events 20 ms apart)"
	echo
	echo "| route | µs per event | ratio to chat (same round) |"
	echo "|---|---|---|"
	echo "| chat (\`/v1/chat/completions\`) | $(fmt st.lp.i20.n512.us_per_event.proxy %.1f) | 1.00 |"
	for p in lpr lpm lpn; do
		echo "| $(path_name $p | sed 's/.*, //') | $(fmt st.$p.i20.n512.us_per_event.proxy %.1f) | $(fmt st.$p.i20.n512.ratio_to_chat %.2f) |"
	done
	echo
	sec_issue15_profile
	echo
	echo "### Targets"
	echo
	echo "| target (issue 15) | measured | status |"
	echo "|---|---|---|"
	for k in json sse; do
		l=$([ $k = json ] && echo non-stream || echo "short stream")
		echo "| throughput, $l, 2 responders, ≥ 0.7× the floor | c=16 $(fmt h2.$k.l2.c16.ratio %.2f "×"), c=64 $(fmt h2.$k.l2.c64.ratio %.2f "×") (1 responder: $(fmt h2.$k.lp.c16.ratio %.2f "×"), $(fmt h2.$k.lp.c64.ratio %.2f "×")) | $(st15 ge 0.7 h2.$k.l2.c16.ratio h2.$k.l2.c64.ratio) |"
	done
	for k in json sse; do
		l=$([ $k = json ] && echo non-stream || echo "short stream")
		echo "| CPU per request of the whole path, $l, 2 responders, ≤ 1.5× the floor's | c=16 $(fmt h2.$k.l2.c16.cpu_ratio %.2f "×"), c=64 $(fmt h2.$k.l2.c64.cpu_ratio %.2f "×") ($(fmt h2.$k.l2.c64.path_us %.0f) vs $(fmt h2.$k.mp.c64.path_us %.0f) µs at c=64) | $(st15 le 1.5 h2.$k.l2.c16.cpu_ratio h2.$k.l2.c64.cpu_ratio) |"
	done
	echo "| added latency at c=1, p50 ≤ floor + 50 µs | 2 responders $(fmt h2.json.l2.c1.add_p50 %.0f " µs"), 1 responder $(fmt h2.json.lp.c1.add_p50 %.0f " µs") | $(st15 le 50 h2.json.l2.c1.add_p50) |"
	echo "| added latency at c=1, p99 ≤ floor + 100 µs | 2 responders $(fmt h2.json.l2.c1.add_p99 %.0f " µs"), 1 responder $(fmt h2.json.lp.c1.add_p99 %.0f " µs") | $(st15 le 100 h2.json.l2.c1.add_p99) |"
	echo "| streams: ≤ 15 µs proxy CPU per relayed event | $(fmt st.lp.i20.n512.us_per_event.proxy %.1f " µs") (chat, N = 512) | $(st15 le 15 st.lp.i20.n512.us_per_event.proxy) |"
	v=$(med st.lp.nmax)
	st=$(st15v ge 768 "$v")
	[ "$v" = nan ] || [ -n "$SCAN" ] || st="not measured (no step scan in QUICK=1)"
	echo "| ≥ 768 concurrent streams at 50 events/s, no event > 100 ms late | largest N passing: $([ "$v" = nan ] && echo n/a || echo "$v") (steps ${SCAN:-none in QUICK=1}, 512) | $st |"
	if [ "$(stat3 st.lp.i40.n1000.pass | cut -d' ' -f4)" = 0 ]; then
		echo "| ≥ 1,000 streams at 25 events/s, no event > 100 ms late | n/a | not measured |"
	else
		v=$(vals st.lp.i40.n1000.pass | awk '{ s += $1 } END { print (NR > 0 && s == NR) }')
		echo "| ≥ 1,000 streams at 25 events/s, no event > 100 ms late | $(fmt st.lp.i40.n1000.late %.0f) late events, max $(fmt st.lp.i40.n1000.lat_max_ms %.1f " ms") | $([ "$v" = 1 ] && echo met || echo "**not met**") |"
	fi
	per=${PER_STREAM:-}
	echo "| ≤ 64 KiB per concurrent stream | ${per:-n/a}${per:+ KiB} (N = 512, RSS at load minus idle, ÷ 512) | $(st15v le 64 "$per") |"
	kk=$(for kk in LP_J LP_S NP_J NP_S; do echo "$(med rss.idle64.$kk) $kk"; done |
	    grep -v '^nan' | sort -g | tail -n 1 | cut -d' ' -f2)
	rss=""
	[ -n "$kk" ] && rss=$(med "rss.idle64.$kk")
	echo "| RSS ≤ 16 MiB per responder, default threads | largest: $(mib "$rss")${kk:+ ($kk)} | $(st15v le 16384 "$rss") |"
	v=$(stat3 mc.per_event)
	st="not measured"
	if [ "$(echo "$v" | cut -d' ' -f4)" != 0 ]; then
		st="**not met**"
		num_le "$(echo "$v" | cut -d' ' -f3)" 0 && num_ge "$(echo "$v" | cut -d' ' -f2)" 0 && st=met
	fi
	echo "| 0 allocations per event, chat path | $(fmt mc.per_event %.2f) | $st |"
	for p in lpr lpm; do
		echo "| $(path_name $p | sed 's/.*, //'): CPU per event within 1.2× of chat | $(fmt st.$p.i20.n512.ratio_to_chat %.2f "×") ($(fmt st.$p.i20.n512.us_per_event.proxy %.1f " µs")) | $(st15 le 1.2 st.$p.i20.n512.ratio_to_chat) |"
	done
	echo "| native Gemini: CPU per event (a figure) | $(fmt st.lpn.i20.n512.us_per_event.proxy %.1f " µs") per upstream event, $(fmt st.lpn.i20.n512.ratio_to_chat %.2f "×") the chat path's | figure |"
	rl=$(st15 ge 0.8 h2r.json.r2.c16.ratio_to_lmdb h2r.json.r2.c64.ratio_to_lmdb h2r.sse.r2.c16.ratio_to_lmdb h2r.sse.r2.c64.ratio_to_lmdb)
	echo "| Redis backend: throughput ≥ 0.8× LMDB's (HTTP, Redis on the same box) | non-stream c=16 $(fmt h2r.json.r2.c16.ratio_to_lmdb %.2f "×"), c=64 $(fmt h2r.json.r2.c64.ratio_to_lmdb %.2f "×"); short stream $(fmt h2r.sse.r2.c16.ratio_to_lmdb %.2f "×"), $(fmt h2r.sse.r2.c64.ratio_to_lmdb %.2f "×") | $rl |"
	echo "| reservations/s on both backends (reserve + settle pairs, a figure) | 1 process × 1 thread: LMDB $(fmt ledger.lmdb.1x1.ops_per_s %.0f), Redis $(fmt ledger.redis.1x1.ops_per_s %.0f); 4 × 8: LMDB $(fmt ledger.lmdb.4x8.ops_per_s %.0f), Redis $(fmt ledger.redis.4x8.ops_per_s %.0f) | figure |"
}

# Where the CPU of paths 3 and 3b goes (h2_profile's files), when present.
sec_issue15_profile() {
	local p f any=0
	for p in lp l2; do
		[ -s "$T/perf-h2-$p.data" ] || [ -s "$T/strace-h2-$p.txt" ] && any=1
	done
	[ "$any" = 1 ] || return 0
	echo
	echo "### Where the CPU goes (non-stream, 1 vs 2 responders)"
	echo
	echo "Context switches of the responders per request (all threads, \`/proc/PID/task/*/status\`, a plain 2 s c=64 run): 1 responder $(fmt h2.prof.lp.ctxsw_per_req %.1f), 2 responders $(fmt h2.prof.l2.ctxsw_per_req %.1f)."
	for p in lp l2; do
		f=$T/perf-h2-$p.data
		[ -s "$f" ] || continue
		echo
		echo "$(path_name $p): \`perf record -g -F 999 -p\` lighttpd and the responders for 2 s of a c=64 run; share of samples by process and library, then the responders' top symbols (self):"
		echo
		echo '```'
		perf report -i "$f" --stdio --no-children -g none --sort comm,dso \
		    --percent-limit 2 2>/dev/null | grep -E '^ +[0-9.]+%' |
		    sed 's/[ -]*$//' | head -n 10
		echo
		perf report -i "$f" --stdio --no-children -g none --comm aiproxy \
		    --percentage relative --sort dso,symbol --percent-limit 1.2 \
		    2>/dev/null | grep -E '^ +[0-9.]+%' | sed 's/[ -]*$//' |
		    head -n 22
		echo '```'
	done
	for p in lp l2; do
		f=$T/strace-h2-$p.txt
		[ -s "$f" ] || continue
		echo
		echo "$(path_name $p): syscalls of the responders per request (\`strace -c -f\` for 2 s of a c=16 run, requests counted by \`accept\`; strace slows the process, so counts, not times):"
		echo
		echo "| syscall | calls / request | errors / request |"
		echo "|---|---|---|"
		awk '$1 ~ /^[0-9.]+$/ && NF >= 5 { c[$NF] = $4; e[$NF] = (NF >= 6) ? $5 : 0 }
		    END { n = c["accept"] + c["accept4"]; if (n == 0) exit
			for (k in c) if (k != "total") printf("| %s | %.2f | %.2f |\n", k, c[k] / n, e[k] / n)
			printf("| **total** | **%.1f** | |\n", c["total"] / n) }' \
		    "$f" | sort -t'|' -k3 -gr | head -n 16
	done
}

# --- targets -------------------------------------------------------------------

judge() {
	local v v2 ok n p99 pass sc ev k
	TARGET_ROWS=""
	v=$(med tp.json.lp.c1.p99_over_floor)
	v2=$(med tp.json.np.c1.p99_over_floor)
	ok=0; num_le "$v" 100 && ok=1
	target "added p99 at c=1 within 100 µs of the mod_proxy floor's" \
	    "lighttpd → aiproxy: p99 $(fmt tp.json.lp.c1.p99_over_floor %.0f " µs") above the floor; nginx → aiproxy: $(fmt tp.json.np.c1.p99_over_floor %.0f " µs")" \
	    $ok "p99 is $v µs above the floor's (median of $RUNS)"
	v=$(med tp.json.lp.c64.ratio)
	v2=$(med tp.sse.lp.c64.ratio)
	ok=0; num_ge "$v" 0.70 && num_ge "$v2" 0.70 && ok=1
	target "throughput at c=64 ≥ 70 % of the floor's" \
	    "lighttpd → aiproxy: non-stream $(fmt tp.json.lp.c64.ratio %.2f), short stream $(fmt tp.sse.lp.c64.ratio %.2f); nginx → aiproxy: $(fmt tp.json.np.c64.ratio %.2f), $(fmt tp.sse.np.c64.ratio %.2f)" \
	    $ok "non-stream $(fmt tp.json.lp.c64.rps %.0f) vs floor $(fmt tp.json.mp.c64.rps %.0f) req/s; short stream $(fmt tp.sse.lp.c64.rps %.0f) vs $(fmt tp.sse.mp.c64.rps %.0f)"
	p99=$(med st.lp.i20.n512.lat_p99_ms)
	pass=$(vals st.lp.i20.n512.pass | awk '{ s += $1 } END { print (NR > 0 && s == NR) }')
	ok=0; [ "$pass" = 1 ] && num_le "$p99" 25 && ok=1
	target "≥ 512 streams at 64 events × 20 ms: no event > 100 ms late, p99 ≤ 25 ms" \
	    "N=512 (lighttpd → aiproxy): $(fmt st.lp.i20.n512.late %.0f) late events, p99 $(fmt st.lp.i20.n512.lat_p99_ms %.1f " ms"), max $(fmt st.lp.i20.n512.lat_max_ms %.1f " ms"); largest N $(med st.lp.nmax)" \
	    $ok "box $(fmt st.lp.i20.n512.box_busy_pct %.0f " %") busy, proxy $(fmt st.lp.i20.n512.cpu_pct.proxy %.0f " %") CPU"
	if [ "$(stat3 st.lp.i40.n1000.late | cut -d' ' -f4)" = 0 ]; then
		target "≥ 1,000 streams at 25 events/s" "not run (QUICK=1)" 0 "not measured in QUICK mode"
	else
		p99=$(med st.lp.i40.n1000.lat_p99_ms)
		pass=$(vals st.lp.i40.n1000.pass | awk '{ s += $1 } END { print (NR > 0 && s == NR) }')
		ok=0; [ "$pass" = 1 ] && num_le "$p99" 25 && ok=1
		target "≥ 1,000 streams at 25 events/s (same limits)" \
		    "N=1000 × 40 ms: $(fmt st.lp.i40.n1000.late %.0f) late, p99 $(fmt st.lp.i40.n1000.lat_p99_ms %.1f " ms"), max $(fmt st.lp.i40.n1000.lat_max_ms %.1f " ms")" \
		    $ok "box $(fmt st.lp.i40.n1000.box_busy_pct %.0f " %") busy"
	fi
	v=$(med st.lp.i20.n512.us_per_event.proxy)
	sc=$(perf_val proxy raw_syscalls:sys_enter)
	ev=$(sed -n 's/^win_ev_per_s=//p' "$T/st-lpperf-i20-n512-perf.txt" 2>/dev/null)
	sc=$(calc "$sc / ($ev * $(vals perf.win | tail -n 1))" 2>/dev/null)
	[ -n "$sc" ] && sc=$(printf '%.2f' "$sc")
	ok=0; num_le "$v" 20 && ok=1
	target "proxy CPU per relayed event ≤ 20 µs, with syscalls per event" \
	    "$(fmt st.lp.i20.n512.us_per_event.proxy %.1f " µs") at N=512; ${sc:-n/a} syscalls/event (perf stat)" \
	    $ok "$v µs per event"
	k=$(for k in LP_J LP_S NP_J NP_S; do echo "$(med rss.idle64.$k) $k"; done |
	    sort -g | tail -n 1 | cut -d' ' -f2)
	v=$(med rss.idle64.$k)
	ok=0; num_le "$v" 16384 && ok=1
	target "RSS ≤ 16 MB (16 MiB) per responder after warm-up, default threads" \
	    "largest of 4 responders: $(mib "$v") ($k); lighttpd-spawned $(mib "$(med rss.idle64.LP_J)"), pool worker $(mib "$(med rss.idle64.NP_J)")" \
	    $ok "$(mib "$(med smaps.idle64.$k.files)") of the $(mib "$v") are file-backed pages (shared libraries), private memory is $(mib "$(med smaps.idle64.$k.private)")"
	ok=0; num_le "${PER_STREAM:-nan}" 64 && ok=1
	target "≤ 64 KiB more per concurrent stream" "${PER_STREAM:-n/a} KiB (N=512)" \
	    $ok "${PER_STREAM:-n/a} KiB per stream"
	v=$(stat3 mc.per_event | cut -d' ' -f3)
	ok=0; [ "$(stat3 mc.per_event | cut -d' ' -f4)" != 0 ] && num_le "$v" 0 && num_ge "$(stat3 mc.per_event | cut -d' ' -f2)" 0 && ok=1
	target "zero allocations per streamed event" \
	    "$(fmt mc.per_event %.2f) per event (64-event minus 2-event stream)" \
	    $ok "$(fmt mc.stream64 %.0f) allocations for 64 events vs $(fmt mc.stream1 %.0f) for 2"
}

# --- comparison with the previous report -------------------------------------------

# key direction(+1 higher is better) relative-tolerance absolute-slack label
# Tolerances are above the run-to-run spread of medians seen on the 2-core
# development VM (e.g. c=1 p99 moved by 150 µs, N=512 p99 lateness by 12 ms,
# ledger rate by 30 % between identical runs); callgrind and the
# allocation counts are deterministic, so any real change shows.
REGRESS_KEYS="
tp.json.lp.c1.p99_over_floor -1 0.50 150 added_p99_over_floor_us
tp.json.lp.c64.ratio 1 0.20 0 rps_ratio_json_c64
tp.sse.lp.c64.ratio 1 0.20 0 rps_ratio_short_stream_c64
st.lp.nmax 1 0 0 largest_N
st.lp.i20.n512.lat_p99_ms -1 0.50 15 p99_lateness_N512_ms
st.lp.i20.n512.us_per_event.proxy -1 0.20 1 proxy_us_per_event
rss.idle64.LP_J -1 0.15 512 rss_idle_kB
cg.ir_per_req -1 0.03 0 instructions_per_request
mc.per_event -1 0 0 allocations_per_event
mc.stream1 -1 0.10 2 allocations_per_stream
ledger.p1.r 1 0.35 0 ledger_reservations_per_s
ledger.lmdb.1x1.lat_p50_us -1 0.50 2 ledger_lmdb_pair_p50_us
ledger.redis.1x1.ops_per_s 1 0.35 0 ledger_redis_pairs_per_s
ledger.redis.1x1.lat_p50_us -1 0.50 20 ledger_redis_pair_p50_us
ledger.redis.busy.1x1.ops_per_s 1 0.35 0 ledger_redis_pairs_per_s_busy_keys
ledger.ratio.4x8 1 0.35 0 ledger_redis_to_lmdb_ratio_4x8
st.lpr.i20.n512.ratio_to_chat -1 0.15 0.05 responses_us_per_event_ratio_to_chat
st.lpm.i20.n512.ratio_to_chat -1 0.15 0.05 messages_us_per_event_ratio_to_chat
tp.json.lpr.c64.ratio_to_chat 1 0.20 0 responses_rps_ratio_to_chat_c64
tp.json.lpm.c64.ratio_to_chat 1 0.20 0 messages_rps_ratio_to_chat_c64
mc.lpr.per_event -1 0 0 responses_allocations_per_event
mc.lpm.per_event -1 0 0 messages_allocations_per_event
st.lpn.i20.n512.ratio_to_chat -1 0.15 0.05 native_us_per_event_ratio_to_compat
tp.json.lpn.c64.ratio_to_chat 1 0.20 0 native_rps_ratio_to_compat_c64
mc.lpn.per_event -1 0.05 0.5 native_allocations_per_event
h2.json.l2.c64.ratio 1 0.20 0 two_responders_rps_ratio_json_c64
h2.sse.l2.c64.ratio 1 0.20 0 two_responders_rps_ratio_short_stream_c64
h2.json.l2.c64.cpu_ratio -1 0.20 0 two_responders_cpu_ratio_json_c64
h2.json.l2.c1.add_p99 -1 0.50 150 two_responders_added_p99_us
h2r.json.r2.c64.ratio_to_lmdb 1 0.20 0 redis_http_rps_ratio_to_lmdb_c64
"

data_block() {
	local key rest
	echo "<!-- bench-data (medians; read by the next run to flag regressions)"
	echo "mode $([ "$QUICK" = 1 ] && echo quick || echo full)"
	echo "$REGRESS_KEYS" | while read -r key rest; do
		[ -n "$key" ] || continue
		echo "$key $(med "$key")"
	done
	echo "-->"
}

regressions() {	# PREVIOUS_FILE
	local prev=$1 key dir tol slack label old new
	local mode pmode
	[ -f "$prev" ] || { echo "No previous BENCHMARKS.md to compare with."; return; }
	mode=$([ "$QUICK" = 1 ] && echo quick || echo full)
	pmode=$(sed -n '/^<!-- bench-data/,/^-->/p' "$prev" | awk '$1 == "mode" { print $2 }')
	if [ "$pmode" != "$mode" ]; then
		echo "The previous BENCHMARKS.md is from a ${pmode:-unknown} run and this one is $mode: not compared (different run lengths and steps)."
		return
	fi
	REGRESSED=0
	echo "Compared with the bench-data block of the previous BENCHMARKS.md (a figure regresses when it is worse by more than its tolerance; the machine is shared and noisy, so a flagged timing figure needs a second run before anyone believes it):"
	echo
	echo "| figure | previous | now | verdict |"
	echo "|---|---|---|---|"
	while read -r key dir tol slack label; do
		[ -n "$key" ] || continue
		old=$(sed -n '/^<!-- bench-data/,/^-->/p' "$prev" |
		    awk -v k="$key" '$1 == k { print $2 }')
		new=$(med "$key")
		if [ -z "$old" ] || [ "$old" = nan ] || [ "$new" = nan ]; then
			echo "| $label | ${old:-–} | $new | not comparable |"
			continue
		fi
		if awk -v o="$old" -v n="$new" -v d="$dir" -v t="$tol" -v s="$slack" \
		    'BEGIN { w = (d > 0) ? o - n : n - o
			exit !(w > s && w > t * (o < 0 ? -o : o)) }'; then
			echo "| $label | $old | $new | **regressed** (reason needed in Notes) |"
			REGRESSED=1
		else
			echo "| $label | $old | $new | ok |"
		fi
	done <<EOF
$REGRESS_KEYS
EOF
}

old_notes() {
	if [ -f "$1" ] && grep -q '^<!-- notes:begin -->' "$1"; then
		sed -n '/^<!-- notes:begin -->/,/^<!-- notes:end -->/p' "$1" |
		    sed '1d;$d'
	else
		echo "_None yet. Write here the reason for any regression flagged above, and anything a reader of these numbers should know._"
	fi
}

report() {
	local regr
	regr=$(regressions "$OUT")
	REGRESSED=0
	echo "$regr" | grep -q '\*\*regressed\*\*' && REGRESSED=1
	PER_STREAM=$(calc "int(($(med st.lp.i20.n512.rss_max_kb.proxy) - $(med rss.idle$T512.lp)) / 512 + 0.5)")
	judge
	if [ "$REGRESSED" = 1 ] && old_notes "$OUT" | grep -q '^_None yet'; then
		target "no regression without a written reason" "see Regressions" 0 \
		    "flagged figures below; give the reason in Notes"
	elif [ "$REGRESSED" = 1 ]; then
		target "no regression without a written reason" \
		    "flagged figures (see Regressions); Notes hold written reasons (check that they cover these)" 1
	else
		target "no regression without a written reason" "none flagged" 1
	fi
	cat <<EOF
# Benchmarks

Generated by \`make bench\` (bench/run.sh; \`QUICK=1 make bench\` for a smoke
run). Every figure is the **median of $RUNS runs, with min–max** in brackets
when they differ. Everything runs on 127.0.0.1 and shares the same
$(nproc) cores: load client, web server, proxy and upstream. The machine is
shared and noisy, so the targets are judged on ratios and figures taken side
by side in the same run.

## Machine and versions

$(sys_info)

## What is measured

Paths, all to the same canned upstream:

1. **direct**: client → upstream. Non-stream: nginx \`return 200\` with a
   fixed chat completion JSON. Streams: bench/upstream.c, an epoll server
   that sends event k at t0 + k × interval (an absolute schedule, so it
   adds no drift; its own send lateness is in the stream tables).
2. **lighttpd mod_proxy**: client → lighttpd (mod_proxy) → upstream, the
   no-logic floor through a web server.
3. **lighttpd → aiproxy**: client → lighttpd (mod_fastcgi, \`bin-path\`,
   1 process, \`server.stream-response-body = 2\`) → aiproxy → upstream,
   ledger on (every request reserves and settles in LMDB).
4. **nginx → aiproxy**: client → nginx (1 worker, \`fastcgi_buffering off\`)
   → \`aiproxy --listen\` pool (1 worker) → upstream.

3b. **lighttpd → aiproxy, 2 responders** (section 11, issue 15): as 3 with
   \`"max-procs" => 2\`, the configuration users run; and the same with the
   ledger in a Redis server on the same box.

The proxy runs with the default 64 threads for requests/s, memory and
latency, with $T512 threads for the N = 512 stream runs and with $TMAX for
the larger N. Load: wrk (1 thread
at c=1, 2 threads otherwise, ${TP_DUR} s per run, runs of the four paths
interleaved; ${TP_DUR1} s at c=1) for requests/s; bench/loadclient.c for streams (N
concurrent HTTP/1.0 streams, each replaced when it ends, first starts
spread over one stream's length; lateness of event k = arrival − (arrival
of event 0 + k × interval)). Short stream = 8 events with no delay
between them (the upstream still writes each one separately).

## Targets

| target | measured | status |
|---|---|---|
$(printf '%s' "$TARGET_ROWS")

## 1. Added latency at c=1 (non-stream)

$(sec_latency)

## 2. Requests/s

$(sec_throughput)

## 3. Concurrent streams, 64 events 20 ms apart

$(sec_streams)

## 4. Proxy CPU and syscalls per relayed event

$(sec_cpu)

## 5. Memory (RSS per responder process)

$(sec_memory)

## 6. Instructions per non-stream request

$(sec_cg)

## 7. Allocations per streamed event

$(sec_alloc)

## 8. Ledger reservations

$(sec_ledger)

## 9. Client dialects beside the chat path (Responses, Messages)

$(sec_dialects)

## 10. Native Gemini upstream beside the OpenAI-compatible path

$(sec_native)

$(sec_issue15)

## Regressions

$regr

## Notes

<!-- notes:begin -->
$(old_notes "$OUT")
<!-- notes:end -->

$(data_block)
EOF
}
