'use strict';
// The ledger in Redis (issue 12) through real stacks: lighttpd instances
// as separate hosts would run them, each spawning its own responders with
// its own state_dir, sharing one redis-server started here (its own, on a
// free 127.0.0.1 port, stopped by PID: some cases kill and restart it).
// Exact windows across stacks (requests and tokens), /v1/usage alike on
// every stack, fail closed (503) while Redis is gone or hung and back by
// itself after, kill -9 of responders, skewed host clocks, what the
// records in Redis hold, and --check-config of the Redis settings.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const RPM = 15;		// max_request_min of each OpenRouter key
const TPM = 1500;	// max_token_min of each Gemini key
const MINUTE = 60000;
const PREFIX = 'aiproxy-itest:';
const user = (t) => [{ role: 'user', content: t }];

// OpenRouter keys bound by requests (RPM each), Gemini keys by tokens
// (TPM each), the ledger in Redis.
function redisCfg(mock, redis, extra = {}) {
  const cfg = h.baseConfig(mock, Object.assign({ state_backend: 'redis', redis_url: redis.url,
    redis_prefix: PREFIX }, extra));
  cfg.provider_keys[0] = Object.assign({}, cfg.provider_keys[0], { max_request_min: RPM, max_request_day: 1000 });
  cfg.provider_keys[1] = Object.assign({}, cfg.provider_keys[1], { max_token_min: TPM });
  cfg['auto-models'] = ['openai/mock-text'];
  return cfg;
}

// n stacks of cfg, each with its own state_dir; fn(stacks); all stopped
// after. Windows on the server's clock: the caller-clock knob of the unit
// suites is kept away from the responders.
async function withStacks(ctx, n, cfg, opts, fn) {
  const stacks = [];
  try {
    for (let i = 0; i < n; i++) {
      const o = Object.assign({}, Array.isArray(opts) ? opts[i] : opts);
      o.env = Object.assign({ AIPROXY_TEST_LEDGER_CALLER_CLOCK: null }, o.env || {});
      stacks.push(await ctx.startProxy(Object.assign({}, cfg, { state_dir: h.tmpdir(`state${i}`) }), o));
    }
    return await fn(stacks);
  } finally {
    for (const s of stacks) await s.stop();
  }
}

// A chat request; the response with `at` (when answered) and `ms` (latency).
function chat(port, model, content, extra = {}) {
  const t = Date.now();
  return h.request(port, 'POST', CHAT, { body: Object.assign({ model, messages: user(content) }, extra),
    timeoutMs: 15000 }).then((r) => Object.assign(r, { at: Date.now(), ms: Date.now() - t }));
}

function tally(rs) {
  const t = {};
  for (const r of rs) t[r.status] = (t[r.status] || 0) + 1;
  return JSON.stringify(t);
}

// Chat requests that reached the mock for one flavour, by provider key.
async function upstream(mock, flavour, pick = () => true) {
  const seen = (await mock.requests()).filter((q) => q.flavour === flavour &&
    q.path.endsWith('/chat/completions') && pick(q));
  const byKey = {};
  for (const q of seen) {
    const k = String(q.authorization).replace(/^Bearer /, '');
    (byKey[k] = byKey[k] || []).push(q);
  }
  return { seen, byKey };
}

const marked = (tag) => (q) => JSON.stringify(q.body).includes(tag);

// Every key's upstream requests inside any minute: at most `limit`.
function assertNoViolation(byKey, limit, what) {
  for (const [k, qs] of Object.entries(byKey)) {
    const worst = h.maxInWindow(qs.map((q) => q.t), MINUTE);
    assert.ok(worst <= limit, `${what}: key ${h.keyId(k)} had ${worst} upstream requests within 60 s (limit ${limit})`);
  }
}

// A 429 of the ledger: the chat shape and a Retry-After within the minute.
function assertRateLimited(r) {
  assert.equal(r.status, 429, r.body);
  assert.equal(r.json.error.type, 'rate_limit_error', r.body);
  const ra = Number(r.headers['retry-after']);
  assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 61, `Retry-After ${r.headers['retry-after']}`);
  return ra;
}

// The 503 of an unreachable ledger in the chat (and Responses) shape.
function assertUnavailable(r, what) {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.body}`);
  assert.equal(r.headers['retry-after'], '1', `${what}: Retry-After`);
  assert.ok(r.json && r.json.error, `${what}: JSON error body: ${r.body}`);
  assert.equal(r.json.error.code, 'service_unavailable', `${what}: ${r.body}`);
  assert.equal(r.json.error.type, 'server_error', `${what}: ${r.body}`);
}

// The same refusal on /v1/messages: Anthropic's shape, where every 503 is
// "overloaded_error" answered 529 (dialect_messages.c msg_error).
function assertUnavailableMessages(r) {
  assert.equal(r.status, 529, `messages: ${r.status} ${r.body}`);
  assert.equal(r.headers['retry-after'], '1', 'messages: Retry-After');
  assert.ok(r.json && r.json.type === 'error' && r.json.error, `Anthropic error shape: ${r.body}`);
  assert.equal(r.json.error.type, 'overloaded_error', r.body);
  assert.match(r.json.error.message, /ledger/, r.body);
}

function messages(port, content) {
  const t = Date.now();
  return h.request(port, 'POST', '/v1/messages', { auth: false,
    headers: { 'x-api-key': h.ACCESS_KEY, 'anthropic-version': '2023-06-01' },
    body: { model: 'openai/mock-text', max_tokens: 64, messages: user(content) }, timeoutMs: 15000 })
    .then((r) => Object.assign(r, { ms: Date.now() - t }));
}

function responses(port, content) {
  const t = Date.now();
  return h.request(port, 'POST', '/v1/responses', {
    body: { model: 'openai/mock-text', input: content }, timeoutMs: 15000 })
    .then((r) => Object.assign(r, { ms: Date.now() - t }));
}

async function usage(port) {
  const r = await h.request(port, 'GET', '/v1/usage');
  assert.equal(r.status, 200, r.body);
  return r.json;
}

// /v1/usage of one key, by its secret.
function keyUsage(u, provider, secret) {
  const k = u.details[provider].keys[h.keyId(secret)];
  assert.ok(k, `/v1/usage has ${provider} key ${h.keyId(secret)}: ${Object.keys(u.details[provider].keys)}`);
  return k;
}

// What /v1/usage says of every key, for comparing stacks.
function counters(u) {
  const out = {};
  for (const [p, d] of Object.entries(u.details))
    for (const [id, k] of Object.entries(d.keys))
      out[`${p}/${id}`] = { requests: k.requests, req_min: k.rate_limit_windows.req_min,
        req_day: k.rate_limit_windows.req_day, tokens_min: k.tokens_min,
        lifetime_requests: k.lifetime_requests, lifetime_tokens: k.lifetime_tokens, errors: k.errors };
  return out;
}

function runBin(bin, args, env) {
  const e = Object.assign({}, process.env, { ASAN_OPTIONS: 'detect_leaks=1' });
  for (const [k, v] of Object.entries(env || {})) if (v === null) delete e[k]; else e[k] = v;
  return spawnSync(bin, args, { encoding: 'utf8', timeout: 8000, env: e });
}

module.exports = (test) => {
  // --- 1, 2: two hosts, one Redis --------------------------------------------
  test('redis: two stacks (2 lighttpd x 2 procs x 4 threads, own state_dir each, one Redis): 200 concurrent -> exactly 30 upstream (2 keys x 15/min); tokens per minute exact; /v1/usage alike on both', async (ctx) => {
    const redis = await h.startRedis();
    try {
      await withStacks(ctx, 2, redisCfg(ctx.mock, redis), { procs: 2, threads: 4 }, async (stacks) => {
        for (const s of stacks) assert.ok(h.responderPids(ctx.bin, s.tmp).length >= 2, 'two responders per stack');
        // requests per minute: 100 on each stack at once
        const t0 = Date.now();
        const all = await Promise.all(Array.from({ length: 200 }, (_, i) =>
          chat(stacks[i % 2].port, 'openai/mock-text', `[r${i}]`).then((r) => Object.assign(r, { stack: i % 2 }))));
        const ok = all.filter((r) => r.status === 200);
        assert.equal(ok.length, 2 * RPM, `200s: ${ok.length}; statuses ${tally(all)}; per stack ` +
          `${ok.filter((r) => r.stack === 0).length}+${ok.filter((r) => r.stack === 1).length}`);
        assert.equal(all.filter((r) => r.status === 429).length, 200 - 2 * RPM, tally(all));
        const or = await upstream(ctx.mock, 'openrouter');
        assert.equal(or.seen.length, 2 * RPM, 'exactly 30 reached the upstream');
        assert.deepEqual(Object.values(or.byKey).map((v) => v.length), [RPM, RPM], 'each key exactly 15');
        assertNoViolation(or.byKey, RPM, 'requests');
        const first = Math.min(...or.seen.map((q) => q.t));
        for (const r of all.filter((x) => x.status === 429)) {
          const ra = assertRateLimited(r);
          // the earliest slot frees 60 s (one 100 ms bucket at most later) after the first admission
          const free = r.at + ra * 1000;
          assert.ok(free >= first + MINUTE - 1000 && free <= first + MINUTE + 2200,
            `Retry-After ${ra} at +${r.at - t0} ms, first admitted at +${first - t0} ms`);
        }

        // tokens per minute: first two requests whose upstream usage exceeds
        // their estimate (text: a 5-token answer), then 200 at once whose
        // usage equals it (empty answer): 400 ASCII bytes = 100 tokens each
        const body400 = (tag) => tag.padEnd(400, 'y');
        for (let i = 0; i < 2; i++)
          assert.equal((await chat(stacks[i].port, 'gemini-mock-text', body400(`[tt${i}]`))).status, 200);
        const pre = await upstream(ctx.mock, 'gemini');
        const booked = {};
        for (const [k, qs] of Object.entries(pre.byKey)) booked[k] = qs.reduce((a, q) => a + q.usage.total_tokens, 0);
        for (const [k, qs] of Object.entries(pre.byKey))
          assert.ok(booked[k] > 100 * qs.length, `text usage ${booked[k]} exceeds the estimate`);
        // settle books the upstream's usage in place of the estimate, for every stack to see
        await h.waitFor(async () => {
          for (const s of stacks) {
            const u = await usage(s.port);
            for (const k of h.KEYS.gemini)
              if (keyUsage(u, 'gemini', k).tokens_min !== (booked[k] || 0)) return false;
          }
          return true;
        }, 5000, 'the text requests settled with their usage');
        const tall = await Promise.all(Array.from({ length: 200 }, (_, i) =>
          chat(stacks[i % 2].port, 'gemini-mock-empty', body400(`[t${i}]`))));
        const want = {};
        for (const k of h.KEYS.gemini) {
          const n = (pre.byKey[k] || []).length;
          want[k] = n + Math.floor((TPM - (booked[k] || 0)) / 100);
        }
        const wantTotal = want[h.KEYS.gemini[0]] + want[h.KEYS.gemini[1]];
        const tok = await upstream(ctx.mock, 'gemini');
        assert.equal(tall.filter((r) => r.status === 200).length + pre.seen.length, wantTotal,
          `admitted by tokens: statuses ${tally(tall)}, want ${JSON.stringify(Object.values(want))}`);
        for (const k of h.KEYS.gemini)
          assert.equal((tok.byKey[k] || []).length, want[k], `key ${h.keyId(k)} upstream requests`);
        for (const r of tall.filter((x) => x.status !== 200)) assertRateLimited(r);
        for (const [k, qs] of Object.entries(tok.byKey)) {
          const worst = h.maxInWindow(qs.map((q) => q.t), MINUTE, qs.map((q) => q.usage.total_tokens));
          assert.ok(worst <= TPM, `key ${h.keyId(k)}: ${worst} tokens upstream within 60 s (limit ${TPM})`);
        }

        // 2: /v1/usage on both stacks: the one ledger, exact
        const [ua, ub] = [await usage(stacks[0].port), await usage(stacks[1].port)];
        for (const u of [ua, ub]) {
          assert.equal(u.ledger_backend, 'redis');
          for (const k of h.KEYS.openrouter) {
            const ku = keyUsage(u, 'openrouter', k);
            assert.equal(ku.lifetime_requests, RPM);
            assert.equal(ku.requests, RPM);
            assert.equal(ku.rate_limit_windows.req_min, RPM);
          }
          for (const k of h.KEYS.gemini) {
            const ku = keyUsage(u, 'gemini', k);
            const sum = tok.byKey[k].reduce((a, q) => a + q.usage.total_tokens, 0);
            assert.equal(ku.lifetime_requests, want[k]);
            assert.equal(ku.lifetime_tokens, sum, 'booked tokens equal the upstream usage');
            assert.equal(ku.tokens_min, sum);
          }
          assert.equal(u.overview.openrouter.total_requests, 2 * RPM);
          assert.equal(u.overview.gemini.total_requests, wantTotal);
        }
        assert.deepEqual(counters(ua), counters(ub), 'both stacks show the same counters');
        assert.deepEqual(ua.overview, ub.overview);
      });
    } finally { await redis.stop(); }
  }, { timeout: 60000 });

  // --- 3: Redis killed mid-load, restarted ---------------------------------
  test('redis: SIGKILL of Redis mid-load -> 503 service_unavailable + Retry-After: 1 in each route\'s shape, nothing upstream, in-flight answered; restarted -> resumes by itself, no over-admission, responders alive', async (ctx) => {
    let redis = await h.startRedis();
    const cfg = redisCfg(ctx.mock, redis);
    try {
      await withStacks(ctx, 1, cfg, { procs: 2, threads: 4 }, async ([p]) => {
        assert.equal((await chat(p.port, 'openai/mock-text', '[warm]')).status, 200);
        const pids = h.responderPids(ctx.bin, p.tmp).sort();
        // in flight when Redis dies: slow streams and slow plain replies
        const inflight = [];
        for (let i = 0; i < 4; i++) {
          inflight.push(h.stream(p.port, CHAT, { model: 'openai/mock-slow', messages: user(`[fly-s${i}]`), stream: true },
            { timeoutMs: 15000 }).then((s) => ({ s })).catch((e) => ({ e })));
          inflight.push(chat(p.port, 'openai/mock-slow', `[fly-j${i}]`).then((r) => ({ r })).catch((e) => ({ e })));
        }
        await h.waitFor(async () => (await upstream(ctx.mock, 'openrouter', marked('[fly-'))).seen.length === 8,
          5000, 'the in-flight requests upstream');
        await redis.kill('SIGKILL');

        // while it is down: fail closed, fast, in every route's shape; in
        // waves, so that every thread drops its connection to the dead
        // server (a thread that kept one would fail its first request after
        // the restart: see the idle-connection case below)
        const down = [];
        for (let w = 0; w < 3; w++)
          down.push(...await Promise.all([
            ...Array.from({ length: 16 }, (_, i) => chat(p.port, 'openai/mock-text', `[down-c${w}-${i}]`)),
            chat(p.port, 'openai/mock-text', `[down-s${w}]`, { stream: true }),
            responses(p.port, `[down-r${w}]`),
          ]));
        for (const r of down) {
          assertUnavailable(r, 'chat, chat stream, responses');
          assert.ok(r.ms < 5000, `refused in ${r.ms} ms`);
        }
        for (let i = 0; i < 3; i++) {
          const m = await messages(p.port, `[down-m${i}]`);
          assertUnavailableMessages(m);
          assert.ok(m.ms < 5000, `refused in ${m.ms} ms`);
        }
        const u503 = await h.request(p.port, 'GET', '/v1/usage');
        assertUnavailable(u503, '/v1/usage');
        await h.waitFor(() => /ledger: redis [^\n]*fail closed \(503\)/.test(p.errorLog()), 3000, 'the fail-closed log line');

        // every request in flight got its answer (the upstream did not need Redis)
        for (const x of await Promise.all(inflight)) {
          assert.ok(!x.e, `in-flight request failed: ${x.e}`);
          if (x.s) {
            assert.equal(x.s.status, 200);
            assert.equal(x.s.events[x.s.events.length - 1].data, '[DONE]', x.s.raw.slice(-200));
          } else assert.equal(x.r.status, 200, x.r.body);
        }
        assert.equal((await upstream(ctx.mock, 'openrouter', marked('[down-'))).seen.length, 0,
          'nothing reached the upstream while Redis was down');

        // restarted on the same port, empty: back by itself (back-off <= 2 s)
        redis = await h.startRedis({ port: redis.port, dir: redis.dir });
        const tUp = Date.now();
        let back = null;
        for (let i = 0; i < 60 && !back; i++) {
          const r = await chat(p.port, 'openai/mock-text', `[up-${i}]`);
          if (r.status === 200) back = Date.now() - tUp;
          else { assertUnavailable(r, 'before recovery'); await h.sleep(100); }
        }
        assert.ok(back !== null && back < 4000, `service back after ${back} ms`);
        await h.sleep(2300);	// every thread's back-off (<= 2 s) has run out
        const after = await Promise.all(Array.from({ length: 60 }, (_, i) => chat(p.port, 'openai/mock-text', `[after-${i}]`)));
        assert.ok(after.every((r) => r.status === 200 || r.status === 429),
          `after recovery only 200/429: ${tally(after)} ${(after.find((r) => r.status === 503) || {}).body || ''}`);
        // no over-admission in the new minute: exactly 15 per key since the restart
        const post = await upstream(ctx.mock, 'openrouter', (q) => q.t >= tUp);
        assert.deepEqual(Object.values(post.byKey).map((v) => v.length), [RPM, RPM],
          `per key since the restart: ${Object.values(post.byKey).map((v) => v.length)}`);
        assertNoViolation(post.byKey, RPM, 'since the restart');
        const u = await usage(p.port);
        for (const k of h.KEYS.openrouter)
          assert.equal(keyUsage(u, 'openrouter', k).lifetime_requests, RPM, 'fresh counters, then exact');
        await h.waitFor(() => /ledger: Redis answers again/.test(p.errorLog()), 3000, 'the recovery log line');
        assert.deepEqual(h.responderPids(ctx.bin, p.tmp).sort(), pids, 'the same responders, none died or stuck');
      });
    } finally { await redis.stop(); }
  }, { timeout: 45000 });

  test('redis: a hung Redis (SIGSTOP) -> 503 within redis_timeout_ms, nothing upstream; SIGCONT -> resumes, never over the limit', async (ctx) => {
    const redis = await h.startRedis();
    try {
      await withStacks(ctx, 1, redisCfg(ctx.mock, redis, { redis_timeout_ms: 300 }), { procs: 1, threads: 4 }, async ([p]) => {
        await Promise.all(Array.from({ length: 4 }, (_, i) => chat(p.port, 'openai/mock-text', `[warm${i}]`)));
        const pids = h.responderPids(ctx.bin, p.tmp).sort();
        redis.signal('SIGSTOP');
        let hung;
        try {
          hung = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(p.port, 'openai/mock-text', `[hung-${i}]`)));
        } finally { redis.signal('SIGCONT'); }
        for (const r of hung) {
          assertUnavailable(r, 'hung Redis');
          assert.ok(r.ms < 4000, `refused in ${r.ms} ms (timeout 300 ms)`);
        }
        assert.equal((await upstream(ctx.mock, 'openrouter', marked('[hung-'))).seen.length, 0,
          'nothing reached the upstream while Redis hung');
        const tUp = Date.now();
        let back = null;
        for (let i = 0; i < 60 && !back; i++) {
          const r = await chat(p.port, 'openai/mock-text', `[cont-${i}]`);
          if (r.status === 200) back = Date.now() - tUp;
          else { assertUnavailable(r, 'before recovery'); await h.sleep(100); }
        }
        assert.ok(back !== null && back < 4000, `service back after ${back} ms`);
        await h.sleep(2100);
        const after = await Promise.all(Array.from({ length: 50 }, (_, i) => chat(p.port, 'openai/mock-text', `[after-${i}]`)));
        assert.ok(after.every((r) => r.status === 200 || r.status === 429), `after recovery: ${tally(after)}`);
        const all = await upstream(ctx.mock, 'openrouter');
        assertNoViolation(all.byKey, RPM, 'around the hang');
        const u = await usage(p.port);
        for (const k of h.KEYS.openrouter)
          assert.ok(keyUsage(u, 'openrouter', k).lifetime_requests >= (all.byKey[k] || []).length,
            'every upstream request is on the books');
        assert.deepEqual(h.responderPids(ctx.bin, p.tmp).sort(), pids, 'the same responders');
      });
    } finally { await redis.stop(); }
  }, { timeout: 30000 });

  test('redis: a connection Redis closed while idle (server timeout 1 s) or a Redis restart between requests costs no request: 200, not 503', async (ctx) => {
    let redis = await h.startRedis({ args: ['--timeout', '1'] });
    try {
      await withStacks(ctx, 1, redisCfg(ctx.mock, redis), { procs: 1, threads: 2 }, async ([p]) => {
        // both threads hold a connection (two slow requests at once)
        const warm = await Promise.all([0, 1].map((i) => chat(p.port, 'openai/mock-slow', `[idle-w${i}]`)));
        assert.deepEqual(warm.map((r) => r.status), [200, 200]);
        const c = await h.redisClient(redis.port);
        try {
          // the server closes idle clients after 1 s: wait until only ours is left
          await h.waitFor(async () => (await c.cmd('CLIENT', 'LIST')).toString().trim().split('\n').length === 1,
            5000, 'Redis closing the idle connections');
        } finally { c.close(); }
        const idle = [];
        for (let i = 0; i < 4; i++) idle.push(await chat(p.port, 'openai/mock-text', `[idle-${i}]`));
        // the same after a restart with no request while Redis was away:
        // both threads connected again (after any back-off), then Redis
        // restarted under them
        await h.sleep(2100);
        const again = await Promise.all([0, 1].map((i) => chat(p.port, 'openai/mock-slow', `[idle-v${i}]`)));
        assert.deepEqual(again.map((r) => r.status), [200, 200]);
        await redis.kill('SIGKILL');
        redis = await h.startRedis({ port: redis.port, dir: redis.dir });
        await h.sleep(300);
        const restarted = [];
        for (let i = 0; i < 4; i++) restarted.push(await chat(p.port, 'openai/mock-text', `[restarted-${i}]`));
        const got = `after the idle close ${idle.map((r) => r.status)}; after the restart ${restarted.map((r) => r.status)}`;
        assert.ok(idle.concat(restarted).every((r) => r.status === 200),
          `Redis answers all along, so a dropped connection should be reopened, not answered 503: ${got}`);
      });
    } finally { await redis.stop(); }
  }, { timeout: 20000 });

  // --- 4: kill -9 of responders --------------------------------------------
  test('redis: kill -9 of a responder on each of two stacks under load -> counters exact (upstream per key = lifetime_requests), never over the limit', async (ctx) => {
    const redis = await h.startRedis();
    try {
      await withStacks(ctx, 2, redisCfg(ctx.mock, redis), { procs: 2, threads: 4 }, async (stacks) => {
        const load = [];
        for (let i = 0; i < 12; i++) {
          const port = stacks[i % 2].port;
          load.push(i % 3 === 0 ?
            chat(port, 'openai/mock-slow', `[k-j${i}]`).catch((e) => e) :
            h.stream(port, CHAT, { model: 'openai/mock-slow', messages: user(`[k-s${i}]`), stream: true },
              { timeoutMs: 15000 }).catch((e) => e));
        }
        // every one reserved and upstream: a kill now cannot fall between the two
        await h.waitFor(async () => (await upstream(ctx.mock, 'openrouter')).seen.length === 12, 5000, 'load upstream');
        const killed = [];
        for (const s of stacks) {
          const [pid] = h.responderPids(ctx.bin, s.tmp);
          assert.ok(pid, 'a responder to kill');
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
        }
        await Promise.all(load);
        // the service keeps answering on both stacks
        for (const s of stacks) {
          await h.waitFor(() => h.responderPids(ctx.bin, s.tmp).every((pid) => !killed.includes(pid)), 5000, 'killed gone');
          const r = await chat(s.port, 'openai/mock-text', '[k-after]');
          assert.equal(r.status, 200, r.body);
        }
        const more = await Promise.all(Array.from({ length: 40 }, (_, i) =>
          chat(stacks[i % 2].port, 'openai/mock-text', `[k-more${i}]`)));
        assert.ok(more.every((r) => r.status === 200 || r.status === 429), tally(more));
        const or = await upstream(ctx.mock, 'openrouter');
        assert.equal(or.seen.length, 2 * RPM, `limit reached exactly: ${or.seen.length} upstream`);
        assertNoViolation(or.byKey, RPM, 'kill -9');
        for (const s of stacks) {
          const u = await usage(s.port);
          for (const k of h.KEYS.openrouter)
            assert.equal(keyUsage(u, 'openrouter', k).lifetime_requests, (or.byKey[k] || []).length,
              `key ${h.keyId(k)}: lifetime_requests = upstream requests`);
        }
      });
    } finally { await redis.stop(); }
  }, { timeout: 40000 });

  // --- 5: skewed host clocks -----------------------------------------------
  test('redis: host clocks off by -30 min and +30 min (AIPROXY_TEST_CLOCK_OFFSET_MS) change no window: 3 stacks, exactly 15 per key per minute; LMDB on one state_dir does not hold', async (ctx) => {
    const offsets = ['-1800000', null, '1800000'];
    const envs = offsets.map((o) => ({ procs: 1, threads: 4, env: { AIPROXY_TEST_CLOCK_OFFSET_MS: o } }));
    // the skewed stacks first: a backend on the hosts' clocks would drop
    // the -30 min entries as old on the +30 min stack, then the rest
    const order = [0, 2, 1];
    const redis = await h.startRedis();
    try {
      await withStacks(ctx, 3, redisCfg(ctx.mock, redis), envs, async (stacks) => {
        for (let i = 0; i < 3; i++) {
          const pid = h.responderPids(ctx.bin, stacks[i].tmp)[0];
          const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
          assert.equal(env.includes(`AIPROXY_TEST_CLOCK_OFFSET_MS=${offsets[i]}`), offsets[i] !== null,
            `stack ${i}: the offset reached its responders`);
        }
        const got = [];
        for (const i of order) {
          const rs = await Promise.all(Array.from({ length: 40 }, (_, j) =>
            chat(stacks[i].port, 'openai/mock-text', `[o${i}-${j}]`)));
          got.push(rs.filter((r) => r.status === 200).length);
          for (const r of rs.filter((x) => x.status !== 200)) assertRateLimited(r);
        }
        assert.deepEqual(got, [2 * RPM, 0, 0], 'admitted per stack (-30 min, +30 min, exact)');
        const or = await upstream(ctx.mock, 'openrouter');
        assert.deepEqual(Object.values(or.byKey).map((v) => v.length), [RPM, RPM]);
        assertNoViolation(or.byKey, RPM, 'skewed clocks');
        for (const s of stacks) {
          const u = await usage(s.port);
          for (const k of h.KEYS.openrouter)
            assert.equal(keyUsage(u, 'openrouter', k).rate_limit_windows.req_min, RPM, 'windows on the server\'s clock');
        }
      });
    } finally { await redis.stop(); }

    // control: the knob does skew a host (LMDB keeps each host's clock):
    // two stacks on one state_dir, the -30 min one first -> 15 more per key
    await ctx.mock.reset();
    const cfg = h.baseConfig(ctx.mock, { state_dir: h.tmpdir('state-shared') });
    cfg.provider_keys[0] = Object.assign({}, cfg.provider_keys[0], { max_request_min: RPM, max_request_day: 1000 });
    const a = await ctx.startProxy(cfg, envs[0]);
    let b = null;
    try {
      b = await ctx.startProxy(cfg, envs[1]);
      const got = [];
      for (const s of [a, b]) {
        const rs = await Promise.all(Array.from({ length: 40 }, (_, j) => chat(s.port, 'openai/mock-text', `[l${j}]`)));
        got.push(rs.filter((r) => r.status === 200).length);
      }
      assert.deepEqual(got, [2 * RPM, 2 * RPM], 'LMDB with a skewed host admits 15 more per key');
      assert.equal((await usage(a.port)).ledger_backend, 'lmdb');
    } finally { await a.stop(); if (b) await b.stop(); }
  }, { timeout: 40000 });

  // --- 6: the records in Redis ---------------------------------------------
  test('redis: records are named by key id under the prefix (db from the URL); no provider key in any name or value; everything but h/ expires', async (ctx) => {
    const redis = await h.startRedis();
    const prefix = 'px-rec-itest:';
    try {
      const cfg = redisCfg(ctx.mock, redis, { redis_url: `${redis.url}/3`, redis_prefix: prefix });
      await withStacks(ctx, 1, cfg, { procs: 1, threads: 4 }, async ([p]) => {
        for (let i = 0; i < 3; i++)
          assert.equal((await chat(p.port, 'openai/mock-text', `[rec${i}]`)).status, 200);
        assert.equal((await chat(p.port, 'gemini-mock-text', '[rec-g]')).status, 200);
        // upstream 429s on both OpenRouter keys: provider back-off record
        await chat(p.port, 'openai/mock-err429', '[rec-429]');
        // Gemini "limit: 0": the key's model marks
        await chat(p.port, 'gemini-mock-nolimit', '[rec-ent]');
        const u = await usage(p.port);
        assert.equal(u.ledger_backend, 'redis');
      });
      const c = await h.redisClient(redis.port);
      try {
        assert.equal(await c.cmd('DBSIZE'), 0, 'nothing in db 0');
        await c.cmd('SELECT', '3');
        const names = [];
        let cursor = '0';
        for (let i = 0; i < 100; i++) {
          const [next, batch] = await c.cmd('SCAN', cursor, 'COUNT', '1000');
          names.push(...batch.map((b) => b.toString('latin1')));
          cursor = next.toString();
          if (cursor === '0') break;
        }
        assert.equal(cursor, '0', 'SCAN finished');
        assert.equal(new Set(names).size, await c.cmd('DBSIZE'));
        const ids = { openrouter: h.KEYS.openrouter.map(h.keyId), gemini: h.KEYS.gemini.map(h.keyId) };
        const secrets = [...h.KEYS.openrouter, ...h.KEYS.gemini, h.ACCESS_KEY];
        const kinds = new Set();
        const esc = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        const grammar = new RegExp(`^${esc}(?:(m/k|d/k|h|e)/(openrouter|gemini)/([0-9a-f]{8}(?:-\\d+)?)|(p|rr)/(openrouter|gemini))$`);
        for (const name of names) {
          if (name === `${prefix}S/stats`) {	// the /metrics counters: a hash of numbers, kept
            const flat = (await c.cmd('HGETALL', name)).map((b) => b.toString());
            assert.ok(flat.length > 0 && flat.every((x) => /^\d+$/.test(x)), `${name}: counter index -> count`);
            assert.equal(await c.cmd('PTTL', name), -1, `${name}: the counters are kept`);
            continue;
          }
          const m = grammar.exec(name);
          assert.ok(m, `record name ${JSON.stringify(name)} is under the prefix and documented`);
          if (m[1]) assert.ok(ids[m[2]].includes(m[3]), `${name}: a configured key's id`);
          kinds.add(m[1] || m[4]);
          const value = await c.cmd('GET', name);
          for (const s of secrets) {
            assert.ok(!name.includes(s) && !name.includes(s.slice(-8)), `${name} names no key`);
            assert.ok(!value.includes(Buffer.from(s)) && !value.includes(Buffer.from(s.slice(-8))), `${name}: no key in its value`);
          }
          const ttl = await c.cmd('PTTL', name);
          if ((m[1] || m[4]) === 'h') assert.equal(ttl, -1, `${name}: health and lifetime counters are kept`);
          else assert.ok(ttl > 0, `${name}: PTTL ${ttl}, expected an expiry`);
        }
        assert.deepEqual([...kinds].sort(), ['d/k', 'e', 'h', 'm/k', 'p', 'rr'], 'every kind of record seen');
      } finally { c.close(); }
    } finally { await redis.stop(); }
  }, { timeout: 30000 });

  test('redis: unix socket with ?db=, redis_password from env:NAME; Redis down at start is no error; a wrong password -> 503 and a log line without it', async (ctx) => {
    const dir = h.tmpdir('redis');
    const sock = `${dir}/redis.sock`;
    const pw = 'pw-Right-7c6b5a49';
    const wrong = 'pw-Wrong-1a2b3c4d';
    const cfg = redisCfg(ctx.mock, { url: `unix://${sock}?db=5` }, { redis_password: 'env:PX_ITEST_REDIS_PW' });
    let redis = null;
    try {
      await withStacks(ctx, 2, cfg, [{ procs: 1, threads: 2, env: { PX_ITEST_REDIS_PW: pw } },
        { procs: 1, threads: 2, env: { PX_ITEST_REDIS_PW: wrong } }], async ([good, bad]) => {
        // no Redis yet: the responders run and refuse
        assertUnavailable(await chat(good.port, 'openai/mock-text', '[early]'), 'before Redis');
        redis = await h.startRedis({ dir, password: pw, args: ['--unixsocket', sock, '--unixsocketperm', '700'] });
        let ok = null;
        for (let i = 0; i < 40 && !ok; i++) {
          const r = await chat(good.port, 'openai/mock-text', `[late-${i}]`);
          if (r.status === 200) ok = r;
          else { assertUnavailable(r, 'before recovery'); await h.sleep(100); }
        }
        assert.ok(ok, 'served once Redis listens');
        for (let i = 0; i < 3; i++) assertUnavailable(await chat(bad.port, 'openai/mock-text', `[wrong-${i}]`), 'wrong password');
        assert.equal((await upstream(ctx.mock, 'openrouter', marked('[wrong-'))).seen.length, 0);
        await h.waitFor(() => /ledger: redis AUTH: WRONGPASS/.test(bad.errorLog()), 3000, 'the AUTH log line');
        for (const p of [good, bad]) {
          assert.ok(!p.errorLog().includes(pw) && !p.errorLog().includes(wrong), 'no password in the log');
          assert.ok(!p.errorLog().includes('pw-'), 'no password in the log');
        }
        const c = await h.redisClient(redis.port);
        try {
          await c.cmd('AUTH', pw);
          assert.equal(await c.cmd('DBSIZE'), 0, 'nothing in db 0');
          await c.cmd('SELECT', '5');
          const health = h.KEYS.openrouter.map((k) => `${PREFIX}h/openrouter/${h.keyId(k)}`);
          assert.equal(await c.cmd('EXISTS', ...health), 1, 'the one admission is in db 5');
        } finally { c.close(); }
      });
    } finally { await h.stopRedis(redis); }
  }, { timeout: 20000 });

  // --- 7: --check-config -----------------------------------------------------
  test('redis: --check-config rejects each bad Redis setting by path and never prints a secret; accepts valid ones', async (ctx) => {
    const pw = 'pw-S3cret-9f8e7d6c';
    const check = (extra, env) => {
      const r = runBin(ctx.bin, ['--check-config', h.writeConfig(h.baseConfig(ctx.mock, extra))],
        Object.assign({ PX_ITEST_REDIS_PW: null, PX_ITEST_REDIS_PW_SET: pw }, env || {}));
      assert.ok(!`${r.stdout}${r.stderr}`.includes(pw), `a secret printed: ${r.stderr}`);
      assert.ok(!`${r.stdout}${r.stderr}`.includes('hunter2xyz'), `a password printed: ${r.stderr}`);
      return r;
    };
    const bad = [
      [{ state_backend: 'redis' }, /^.*redis_url: required/m],
      [{ state_backend: 'redis', redis_url: 'redis://:hunter2xyz@127.0.0.1:6379' }, /^.*redis_url: no user or password/m],
      [{ state_backend: 'redis', redis_url: 'redis://app:hunter2xyz@127.0.0.1:6379/1' }, /^.*redis_url: no user or password/m],
      [{ state_backend: 'redis', redis_url: 'redis://127.0.0.1:70000' }, /^.*redis_url: the port must be 1\.\.65535/m],
      [{ state_backend: 'redis', redis_url: 'redis://127.0.0.1:0' }, /^.*redis_url: the port must be/m],
      [{ state_backend: 'redis', redis_url: 'redis://127.0.0.1:63x9' }, /^.*redis_url: the port must be/m],
      [{ state_backend: 'redis', redis_url: 'http://127.0.0.1:6379' }, /^.*redis_url: expected redis:\/\//m],
      [{ state_backend: 'memcached', redis_url: 'redis://127.0.0.1:6379' }, /^.*state_backend: /m],
      [{ state_backend: 'redis', redis_url: 'redis://127.0.0.1:6379', redis_password: 'env:PX_ITEST_REDIS_PW' },
        /^.*redis_password: .*PX_ITEST_REDIS_PW is not set/m],
      [{ state_backend: 'redis', redis_url: 'redis://127.0.0.1:6379', redis_timeout_ms: 0 }, /^.*redis_timeout_ms: /m],
      [{ state_backend: 'redis', redis_url: 'redis://127.0.0.1:6379', redis_prefix: 'bad prefix\n' }, /^.*redis_prefix: /m],
    ];
    for (const [extra, want] of bad) {
      const r = check(extra);
      assert.notEqual(r.status, 0, `${JSON.stringify(extra)} accepted`);
      assert.match(r.stderr, want, JSON.stringify(extra));
      assert.ok(!r.stdout.includes('configuration OK'));
    }
    const good = [
      { state_backend: 'redis', redis_url: 'redis://127.0.0.1:6390/2' },
      { state_backend: 'redis', redis_url: 'redis://127.0.0.1:6390', redis_password: 'env:PX_ITEST_REDIS_PW_SET',
        redis_prefix: 'edge:', redis_timeout_ms: 400 },
      { state_backend: 'redis', redis_url: 'unix:///run/redis/redis.sock?db=3', redis_password: pw },
      { state_backend: 'lmdb' },
    ];
    for (const extra of good) {
      const r = check(extra);
      assert.equal(r.status, 0, `${JSON.stringify(extra)}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'configuration OK');
    }
  });
};
