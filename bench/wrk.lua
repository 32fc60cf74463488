-- bench/wrk.lua -- wrk script for `make bench`: POSTs the body in
-- $BENCH_BODY with $BENCH_KEY as the Bearer token, and prints one RESULT
-- line (requests/s, latency percentiles in µs, every error class) that
-- bench/run.sh parses. Non-2xx answers count as errors (status).
wrk.method = "POST"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "none")

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"RESULT requests=%d rps=%.1f p50_us=%.1f p99_us=%.1f " ..
		"mean_us=%.1f max_us=%.1f errors=%d\n",
		summary.requests, summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(99), latency.mean,
		latency.max, e.connect + e.read + e.write + e.status + e.timeout))
end
