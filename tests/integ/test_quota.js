'use strict';
// The quota model of issue 13 end to end: real lighttpd spawning two or
// more responder processes, the mock provider answering, and what reached
// the mock (its request log) counted against each limit.
//   owner         keys of two entries (two Google projects) draw on their
//                 owner's budget, exact under concurrency; LMDB and Redis
//   model_limits  an owner's (and a key's) per-model window runs out while
//                 another model on the same keys still answers; both
//   max_concurrent  never more in flight at the mock than the cap (keys,
//                 an owner); a kill -9'd responder's lease lapses within
//                 lease_ttl_s, not at once; a stream longer than lease_ttl_s
//                 keeps its lease (renewal during upstream silence)
//   calendar day  Pacific midnight across both DST changes, UTC midnight,
//                 on an injected clock (AIPROXY_TEST_CLOCK_OFFSET_MS); LMDB
//                 and Redis (caller's clock)
//   client keys   own windows (client_rate_limit) while the admin key and
//                 another client go on; model allowlist (403
//                 model_not_allowed, nothing spent); 401; /v1/usage per
//                 client; real tokens booked; the dialects' own shapes
//   seed          the seed's config loads and behaves as before
// Every stack gets its own state_dir (and its own Redis prefix); every
// process started here is stopped by PID.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const DAY_S = 86400;
const user = (t) => [{ role: 'user', content: t }];

// Provider keys of this file only (distinct per case, so cases running in
// parallel on one mock tell their requests apart); the leak check below
// greps every log for them.
const QK = (tag, n) => Array.from({ length: n }, (_, i) => `AIzaQuotaTest-${tag}-${String(i).padStart(2, '0')}x7`);
const ORK = (tag, n) => Array.from({ length: n }, (_, i) => `sk-or-v1-quotatest-${tag}-${i}x7`);
const ALL_KEYS = new Set();
const CLIENT_A = 'px-client-team-a-5d1e0c93b7a24f61';
const CLIENT_B = 'px-client-team-b-a83f2c6e19d04b77';
const CLIENT_C = 'px-client-team-c-0b6e94d2c7f1a358';

function gem(mock, keys, extra = {}) {
  for (const k of keys) ALL_KEYS.add(k);
  return Object.assign({ provider: 'gemini', key: keys, max_request_day: 100000,
    max_request_min: 10000, max_token_min: 100000000, base_url: mock.url('gemini') }, extra);
}

function orEntry(mock, keys, extra = {}) {
  for (const k of keys) ALL_KEYS.add(k);
  return Object.assign({ provider: 'openrouter', key: keys, max_request_day: 100000,
    max_request_min: 10000, max_token_min: 100000000, base_url: mock.url('openrouter') }, extra);
}

function config(mock, providerKeys, extra = {}) {
  const cfg = h.baseConfig(mock, extra);
  cfg.provider_keys = providerKeys;
  cfg['auto-models'] = [];
  return cfg;
}

let prefixSeq = 0;

// One stack (lighttpd spawning `procs` responders) of cfg with its own
// state_dir; with redis, the ledger there under a prefix of its own.
async function stack(ctx, cfg, opts = {}) {
  const c = Object.assign({}, cfg, { state_dir: h.tmpdir('qstate') });
  const env = Object.assign({}, opts.env || {});
  if (opts.redis) {
    // a generous call timeout: these cases count exactly under load on a
    // busy host; failing closed is test_redis's subject
    Object.assign(c, { state_backend: 'redis', redis_url: opts.redis.url, redis_timeout_ms: 5000,
      redis_prefix: opts.prefix || `aiproxy-quota-${process.pid}-${++prefixSeq}:` });
    if (!('AIPROXY_TEST_LEDGER_CALLER_CLOCK' in env)) env.AIPROXY_TEST_LEDGER_CALLER_CLOCK = null;
  }
  const p = await ctx.startProxy(c, { procs: opts.procs || 2, threads: opts.threads || 8, env });
  const pids = await h.waitFor(() => {
    const l = h.responderPids(ctx.bin, p.tmp);
    return l.length >= Math.min(opts.procs || 2, 2) ? l : null;
  }, 10000, 'two responders');
  assert.ok(pids.length >= 2 || (opts.procs || 2) < 2, 'at least two responder processes');
  return p;
}

async function stopAll(stacks) {
  for (const s of stacks) if (s) await s.stop();
}

// A chat request; the response with `at` (epoch ms when answered).
function chat(port, model, content, opts = {}) {
  return h.request(port, 'POST', CHAT, { key: opts.key, timeoutMs: opts.timeoutMs || 20000,
    body: Object.assign({ model, messages: user(content) }, opts.body || {}) })
    .then((r) => Object.assign(r, { at: Date.now() }));
}

function tally(rs) {
  const t = {};
  for (const r of rs) t[r.status] = (t[r.status] || 0) + 1;
  return JSON.stringify(t);
}

// A 429 of the ledger naming `code`; returns its Retry-After in seconds.
function assert429(r, code, what = '') {
  assert.equal(r.status, 429, `${what} status: ${r.body}`);
  assert.ok(r.json && r.json.error, `${what} error body: ${r.body}`);
  assert.equal(r.json.error.type, 'rate_limit_error', `${what}: ${r.body}`);
  assert.equal(r.json.error.code, code, `${what}: ${r.body}`);
  const ra = Number(r.headers['retry-after']);
  assert.ok(Number.isInteger(ra) && ra >= 1, `${what} Retry-After ${r.headers['retry-after']}`);
  assert.equal(r.headers['x-should-retry'], ra > 60 ? 'false' : undefined,
    `${what} x-should-retry with Retry-After ${ra}`);
  return ra;
}

// Chat requests that reached the mock, with the provider key each used.
async function upstream(mock, pick = () => true) {
  return (await mock.requests()).filter((q) => q.method === 'POST' && /\/chat\/completions$/.test(q.path))
    .map((q) => Object.assign(q, { key: String(q.authorization || '').replace(/^Bearer /, '') }))
    .filter(pick);
}

function countBy(qs, keys) {
  const out = {};
  for (const k of keys) out[k] = 0;
  for (const q of qs) if (q.key in out) out[q.key]++;
  return out;
}

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const tagged = (tag) => (q) => JSON.stringify(q.body || '').includes(tag);

async function usage(port, key) {
  const r = await h.request(port, 'GET', '/v1/usage', { key });
  assert.equal(r.status, 200, r.body);
  return r.json;
}

function keyUsage(u, provider, secret) {
  const k = u.details[provider].keys[h.keyId(secret)];
  assert.ok(k, `/v1/usage has ${provider} key ${h.keyId(secret)}`);
  return k;
}

function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); }

function noKeyIn(text, what) {
  for (const k of ALL_KEYS) assert.ok(!text.includes(k), `${what}: provider key ${k.slice(0, 16)}... leaked`);
}

module.exports = (test) => {
  // --- owner ----------------------------------------------------------------
  // 3 keys of project A, 2 of project B (two entries, two owners): A may
  // serve 20 a day, B 10; the keys' own limits are far away. 80 concurrent
  // requests over two responders (and on Redis over two stacks): exactly
  // 20 reach A's keys and 10 B's, the 50 others get 429 owner_rate_limit
  // with the day's Retry-After.
  for (const backend of ['lmdb', 'redis']) {
    test(`quota: owner (${backend}): 3 keys of project A + 2 of B, owner A 20/day, B 10/day -> of 80 concurrent exactly 20 reach A's keys and 10 B's, then 429 owner_rate_limit + Retry-After (a day)`, async (ctx) => {
      const A = QK(`own-${backend}-a`, 3);
      const B = QK(`own-${backend}-b`, 2);
      const cfg = config(ctx.mock, [gem(ctx.mock, A, { owner: 'proj-a' }), gem(ctx.mock, B, { owner: 'proj-b' })],
        { owners: { 'proj-a': { max_request_day: 20 }, 'proj-b': { max_request_day: 10 } } });
      const redis = backend === 'redis' ? await h.startRedis() : null;
      const stacks = [];
      try {
        const prefix = `aiproxy-quota-owner-${process.pid}:`;
        stacks.push(await stack(ctx, cfg, { redis, prefix }));
        if (redis) stacks.push(await stack(ctx, cfg, { redis, prefix }));	// a second host
        const tag = `[owner-${backend}]`;
        const t0 = Date.now();
        const all = await Promise.all(Array.from({ length: 80 }, (_, i) =>
          chat(stacks[i % stacks.length].port, 'gemini-2.5-flash', `${tag} ${i}`)));
        const ok = all.filter((r) => r.status === 200);
        assert.equal(ok.length, 30, `admitted: ${tally(all)}`);
        const seen = await upstream(ctx.mock, tagged(tag));
        assert.equal(seen.length, 30, 'exactly 30 reached the mock');
        const a = countBy(seen, A);
        const b = countBy(seen, B);
        assert.equal(sum(a), 20, `project A's keys: ${JSON.stringify(Object.values(a))}`);
        assert.equal(sum(b), 10, `project B's keys: ${JSON.stringify(Object.values(b))}`);
        for (const r of all.filter((x) => x.status !== 200)) {
          const ra = assert429(r, 'owner_rate_limit');
          // the rolling day frees a slot 24 h (one 60 s bucket at most
          // later) after the first admission
          assert.ok(ra >= DAY_S - 120 && ra <= DAY_S + 120, `Retry-After ${ra} s, want about a day`);
          assert.match(r.json.error.message, /owner/);
        }
        // one more after the burst: still refused, nothing upstream
        assert429(await chat(stacks[0].port, 'gemini-2.5-flash', `${tag} late`), 'owner_rate_limit');
        assert.equal((await upstream(ctx.mock, tagged(tag))).length, 30);
        for (const s of stacks) {
          const u = await usage(s.port);
          assert.equal(u.ledger_backend, backend);
          assert.equal(u.owners['proj-a'].req_day, 20, JSON.stringify(u.owners));
          assert.equal(u.owners['proj-a'].limits.max_request_day, 20);
          assert.equal(u.owners['proj-b'].req_day, 10);
          assert.equal(u.overview.gemini.total_requests, 30);
          for (const k of A) assert.equal(keyUsage(u, 'gemini', k).requests, a[k], 'per key as the mock saw');
        }
        assert.ok(Date.now() - t0 < 30000);
      } finally { await stopAll(stacks); await h.stopRedis(redis); }
    }, { timeout: 45000 });
  }

  // --- model_limits ---------------------------------------------------------
  // Owner proj-m: gemini-2.5-flash 5 a day; each key: gemini-2.5-pro 2 a
  // minute. Flash runs out (model_rate_limit) while pro still answers; pro
  // runs out per key (2 each) while a third model still answers.
  for (const backend of ['lmdb', 'redis']) {
    test(`quota: model_limits (${backend}): owner's gemini-2.5-flash 5/day exhausts (429 model_rate_limit) while gemini-2.5-pro on the same keys answers; key's pro 2/min each, then a third model still answers`, async (ctx) => {
      const K = QK(`mdl-${backend}`, 3);
      const cfg = config(ctx.mock, [gem(ctx.mock, K, { owner: 'proj-m',
        model_limits: { 'gemini-2.5-pro': { max_request_min: 2 } } })],
      { owners: { 'proj-m': { model_limits: { 'gemini-2.5-flash': { max_request_day: 5 } } } },
        model_aliases: { 'claude-haiku-4-5': 'gemini-2.5-flash' } });
      cfg['auto-models'] = ['gemini-2.5-flash', 'gemini-2.5-flash-lite'];
      const redis = backend === 'redis' ? await h.startRedis() : null;
      let p = null;
      try {
        p = await stack(ctx, cfg, { redis });
        const flash = await Promise.all(Array.from({ length: 30 }, (_, i) =>
          chat(p.port, 'gemini-2.5-flash', `[mdl-flash] ${i}`)));
        assert.equal(flash.filter((r) => r.status === 200).length, 5, `flash: ${tally(flash)}`);
        for (const r of flash.filter((x) => x.status !== 200)) {
          const ra = assert429(r, 'model_rate_limit', 'flash');
          assert.ok(ra >= DAY_S - 120 && ra <= DAY_S + 120, `flash Retry-After ${ra}`);
        }
        const seenFlash = await upstream(ctx.mock, (q) => q.body.model === 'gemini-2.5-flash' && K.includes(q.key));
        assert.equal(seenFlash.length, 5, 'exactly 5 flash requests reached the mock');
        // the same keys still serve another model
        const pro = await Promise.all(Array.from({ length: 12 }, (_, i) =>
          chat(p.port, 'gemini-2.5-pro', `[mdl-pro] ${i}`)));
        assert.equal(pro.filter((r) => r.status === 200).length, 6, `pro: ${tally(pro)}`);
        for (const r of pro.filter((x) => x.status !== 200)) {
          const ra = assert429(r, 'model_rate_limit', 'pro');
          assert.ok(ra <= 61, `pro Retry-After ${ra}: the minute window`);
        }
        const seenPro = await upstream(ctx.mock, (q) => q.body.model === 'gemini-2.5-pro' && K.includes(q.key));
        assert.deepEqual(Object.values(countBy(seenPro, K)), [2, 2, 2], 'pro: 2 per key');
        const lite = await Promise.all(Array.from({ length: 3 }, (_, i) =>
          chat(p.port, 'gemini-2.5-flash-lite', `[mdl-lite] ${i}`)));
        for (const r of lite) assert.equal(r.status, 200, r.body);
        // flash is still out, by any name; auto-model moves on to the next model
        assert429(await chat(p.port, 'gemini-2.5-flash', '[mdl-flash] late'), 'model_rate_limit');
        assert429(await chat(p.port, 'claude-haiku-4-5', '[mdl-flash] alias'), 'model_rate_limit', 'an alias of flash');
        const auto = await chat(p.port, 'auto-model', '[mdl-auto]');
        assert.equal(auto.status, 200, auto.body);
        assert.equal(auto.headers['x-aiproxy-model'], 'gemini-2.5-flash-lite', 'auto-model skips the exhausted model');
        assert.equal((await upstream(ctx.mock, (q) => q.body.model === 'gemini-2.5-flash' && K.includes(q.key))).length, 5,
          'still 5 flash requests at the mock');
        const u = await usage(p.port);
        assert.equal(u.owners['proj-m'].models['gemini-2.5-flash'].req_day, 5, JSON.stringify(u.owners));
        assert.equal(u.owners['proj-m'].models['gemini-2.5-flash'].limits.max_request_day, 5);
        assert.equal(u.owners['proj-m'].req_day, 15, 'the owner counts every model');
        for (const k of K) assert.equal(keyUsage(u, 'gemini', k).models['gemini-2.5-pro'].req_min, 2);
      } finally { if (p) await p.stop(); await h.stopRedis(redis); }
    }, { timeout: 40000 });
  }

  // --- max_concurrent: never exceeded --------------------------------------
  for (const backend of ['lmdb', 'redis']) {
  test(`quota: max_concurrent (${backend}): 2 Gemini keys x max_concurrent 2 and an OpenRouter owner of max_concurrent 3, 24 slow streams each at once -> at most 2 per key / 3 per owner in flight at the mock, the rest 429 concurrency_limit; slots free again after`, async (ctx) => {
    const G = QK(`conc-g-${backend}`, 2);
    const O = ORK(`conc-o-${backend}`, 2);
    const cfg = config(ctx.mock, [gem(ctx.mock, G, { max_concurrent: 2 }), orEntry(ctx.mock, O, { owner: 'or-acct' })],
      { owners: { 'or-acct': { max_concurrent: 3 } }, idle_timeout_ms: 10000, first_byte_timeout_ms: 10000 });
    const redis = backend === 'redis' ? await h.startRedis() : null;
    let p = null;
    try {
      p = await stack(ctx, cfg, { procs: 3, threads: 16, redis });
      const wave = (model, tag, n) => Promise.all(Array.from({ length: n }, (_, i) =>
        h.stream(p.port, CHAT, { model, stream: true, messages: user(`${tag} ${i}`) })));
      const [gs, os] = await Promise.all([wave('gemini-2.5-flash-mock-slow', '[conc-g]', 24),
        wave('openai/mock-slow', '[conc-o]', 24)]);
      for (const [rs, cap, what] of [[gs, 4, 'gemini'], [os, 3, 'openrouter']]) {
        const ok = rs.filter((s) => s.status === 200);
        assert.ok(ok.length >= cap && ok.length <= 24, `${what}: ${ok.length} streams admitted`);
        for (const s of ok) assert.equal(s.events[s.events.length - 1].data, '[DONE]', `${what} stream complete`);
        const refused = rs.filter((s) => s.status !== 200);
        assert.ok(refused.length > 0, `${what}: some refused`);
        for (const s of refused) {
          const r = { status: s.status, headers: s.headers, body: s.raw, json: JSON.parse(s.raw) };
          const ra = assert429(r, 'concurrency_limit', what);
          assert.match(r.json.error.message, /max_concurrent/, what);
          assert.ok(ra <= 61, `${what}: Retry-After ${ra} s, at most until the earliest lease expires (lease_ttl_s 60)`);
        }
      }
      const sg = await upstream(ctx.mock, tagged('[conc-g]'));
      const so = await upstream(ctx.mock, tagged('[conc-o]'));
      assert.equal(sg.length, gs.filter((s) => s.status === 200).length, 'each admitted gemini stream reached the mock once');
      assert.equal(so.length, os.filter((s) => s.status === 200).length);
      for (const k of G) {
        const m = h.maxInFlight(sg.filter((q) => q.key === k));
        assert.ok(m <= 2, `key ${h.keyId(k)}: ${m} in flight at the mock (max_concurrent 2)`);
      }
      assert.equal(h.maxInFlight(sg), 4, 'both gemini keys had 2 in flight at once');
      assert.equal(h.maxInFlight(so), 3, 'the OpenRouter owner had exactly 3 in flight (max_concurrent 3)');
      // settled streams released their leases: a full wave fits again at once
      const again = await Promise.all([wave('gemini-2.5-flash-mock-slow', '[conc-g2]', 4),
        wave('openai/mock-slow', '[conc-o2]', 3)]);
      for (const s of again.flat()) assert.equal(s.status, 200, s.raw);
      const u = await usage(p.port);
      for (const k of G) assert.equal(keyUsage(u, 'gemini', k).in_flight, 0);
      assert.equal(u.owners['or-acct'].in_flight, 0);
      assert.equal(u.owners['or-acct'].limits.max_concurrent, 3);
    } finally { if (p) await p.stop(); await h.stopRedis(redis); }
  }, { timeout: 40000 });
  }

  // --- max_concurrent: renewal and a killed responder's lease ---------------
  for (const backend of ['lmdb', 'redis']) {
  test(`quota: leases (${backend}): lease_ttl_s 4, one key max_concurrent 1: a 7 s silent stream keeps its lease (another request refused at 5.5 s), released at its end; kill -9 of the responder holding it -> refused at first, free again within lease_ttl_s, not at once`, async (ctx) => {
    const mock = await h.startMock({ env: { MOCK_PAUSE_MS: '7000' } });
    const K = QK(`lease-${backend}`, 1);
    const cfg = config(mock, [gem(mock, K, { max_concurrent: 1 })], { lease_ttl_s: 4,
      idle_timeout_ms: 20000, first_byte_timeout_ms: 20000, keepalive_interval_ms: 1000 });
    const redis = backend === 'redis' ? await h.startRedis() : null;
    let p = null;
    try {
      p = await stack(ctx, cfg, { procs: 2, threads: 8, redis });
      const probe = (tag) => chat(p.port, 'gemini-2.5-flash', tag, { timeoutMs: 10000 }).then((r) => {
        if (r.status === 429) {
          const ra = Number(r.headers['retry-after']);
          assert.ok(ra >= 1 && ra <= 5, `${tag}: Retry-After ${ra} s, at most until the lease expires (lease_ttl_s 4)`);
        }
        return r;
      });
      const inFlight = async (tag) => h.waitFor(async () => {
        const q = (await upstream(mock, tagged(tag)))[0];
        return q && q.ended_at === null ? q : null;
      }, 5000, `${tag} at the mock`);

      // renewal: the stream is silent for 7 s upstream, lease_ttl_s is 4
      const tS = Date.now();
      const long = h.stream(p.port, CHAT, { model: 'gemini-2.5-flash-mock-pause', stream: true,
        messages: user('[lease-long]') }, { timeoutMs: 20000 });
      long.catch(() => {});	// awaited below; a failed assertion before must not leave it unhandled
      await inFlight('[lease-long]');
      assert429(await probe('[lease-p0]'), 'concurrency_limit', 'at once');
      await h.sleep(Math.max(0, tS + 5500 - Date.now()));
      const mid = await probe('[lease-p1]');
      assert.ok(Date.now() - tS < 7000, 'the probe ran while the stream was still silent');
      assert429(mid, 'concurrency_limit', 'past lease_ttl_s into the stream');
      const u = await usage(p.port);
      assert.equal(keyUsage(u, 'gemini', K[0]).in_flight, 1, 'one lease held mid-stream');
      const s = await long;
      assert.equal(s.status, 200);
      assert.equal(s.events[s.events.length - 1].data, '[DONE]', s.raw);
      assert.match(s.events.map((e) => (e.json && e.json.choices && e.json.choices[0] &&
        e.json.choices[0].delta.content) || '').join(''), /Hello after a pause/);
      assert.ok(s.tEnd >= 6500, `the stream lasted ${s.tEnd} ms`);
      const after = await probe('[lease-p2]');
      assert.equal(after.status, 200, `released at settle: ${after.body}`);

      // kill -9 of the responder holding the lease
      const killed = h.stream(p.port, CHAT, { model: 'gemini-2.5-flash-mock-pause', stream: true,
        messages: user('[lease-kill]') }, { timeoutMs: 20000 }).catch((e) => e);
      const q = await inFlight('[lease-kill]');
      const pid = h.socketOwner(ctx.bin, p.tmp, q.remote_port);
      assert.ok(pid > 0, `the responder holding [lease-kill] (upstream port ${q.remote_port})`);
      assert429(await probe('[lease-k0]'), 'concurrency_limit', 'before the kill');
      await h.sleep(300);	// past a renewal tick or not: the bound holds either way
      process.kill(pid, 'SIGKILL');
      const tKill = Date.now();
      await killed;
      const seen = [];
      let tFree = 0;
      while (Date.now() - tKill < 9000) {
        const r = await probe(`[lease-k${seen.length + 1}]`);
        seen.push({ status: r.status, code: r.json && r.json.error && r.json.error.code, dt: Date.now() - tKill });
        if (r.status === 200) { tFree = Date.now(); break; }
        await h.sleep(200);
      }
      const trace = JSON.stringify(seen);
      assert.ok(tFree > 0, `the slot never came free: ${trace}`);
      const refusedAfterKill = seen.filter((x) => x.status === 429);
      assert.ok(refusedAfterKill.length > 0, `refused right after the kill: ${trace}`);
      for (const x of refusedAfterKill) assert.equal(x.code, 'concurrency_limit', trace);
      const dt = tFree - tKill;
      assert.ok(dt >= 2500, `free ${dt} ms after the kill: too soon (the lease was renewed at most 1 s before it) ${trace}`);
      assert.ok(dt <= 4000 + 1500, `free ${dt} ms after the kill: past lease_ttl_s 4 ${trace}`);
      assert.ok(!h.responderPids(ctx.bin, p.tmp).includes(pid), 'the killed responder is gone');
    } finally { if (p) await p.stop(); await mock.stop(); await h.stopRedis(redis); }
  }, { timeout: 60000 });
  }

  // --- leases after failures ------------------------------------------------
  // Every way an attempt can end (upstream 5xx retried on the other key, a
  // dropped connection, a first-byte timeout, a mid-stream error, a 4xx,
  // the client leaving mid-stream, a translated route, embeddings) gives
  // back the leases of the key, the owner and the client: nothing stays in
  // flight, and the full concurrency is there again.
  for (const backend of ['lmdb', 'redis']) {
    test(`quota: leases after failures (${backend}): 5xx retried, drop, first-byte timeout, mid-stream error, 4xx, client gone mid-stream, /v1/messages, embeddings -> key, owner and client leases all released`, async (ctx) => {
      const G = QK(`fail-${backend}`, 2);
      const cfg = config(ctx.mock, [gem(ctx.mock, G, { owner: 'proj-f', max_concurrent: 1 })], {
        owners: { 'proj-f': { max_concurrent: 2 } },
        access_keys: [{ key: CLIENT_A, name: 'team-f', max_concurrent: 2 }],
        first_byte_timeout_ms: 1000, idle_timeout_ms: 1000 });
      const redis = backend === 'redis' ? await h.startRedis() : null;
      let p = null;
      try {
        p = await stack(ctx, cfg, { redis });
        const held = async () => {
          const u = await usage(p.port);
          return [...G.map((k) => keyUsage(u, 'gemini', k).in_flight), u.owners['proj-f'].in_flight,
            u.clients['team-f'].in_flight];
        };
        const released = (what) => h.waitFor(async () => (await held()).every((n) => n === 0), 3000,
          `leases released after ${what}`).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await held())}`); });
        const c = (model, body = {}) => chat(p.port, model, '[fail]', { key: CLIENT_A, body });
        const steps = [
          ['5xx on both keys', () => c('gemini-2.5-pro-mock-err500'), 500],
          ['drop', () => c('gemini-2.5-pro-mock-drop'), 502],
          ['drop, stream', () => c('gemini-2.5-pro-mock-drop', { stream: true }), 200],
          ['first-byte timeout', () => c('gemini-2.5-pro-mock-hang'), 504],
          ['mid-stream error', () => c('gemini-2.5-pro-mock-midstream', { stream: true }), 200],
          ['4xx', () => c('gemini-2.5-pro-mock-err400'), 400],
          ['client gone mid-stream', () => h.stream(p.port, CHAT, { model: 'gemini-2.5-pro-mock-slow', stream: true,
            messages: user('[fail] abort') }, { key: CLIENT_A, abortAfter: 2 }).then(() => ({ status: 200 })), 200],
          ['/v1/messages 5xx', () => h.request(p.port, 'POST', '/v1/messages', { auth: false,
            headers: { 'x-api-key': CLIENT_A, 'anthropic-version': '2023-06-01' },
            body: { model: 'gemini-2.5-pro-mock-err500', max_tokens: 16, messages: user('[fail]') } }), 500],
          ['embeddings', () => h.request(p.port, 'POST', '/v1/embeddings', { key: CLIENT_A,
            body: { model: 'gemini-embedding-001', input: '[fail]' } }), 200],
        ];
        for (const [what, fn, status] of steps) {
          const r = await fn();
          assert.equal(r.status, status, `${what}: ${r.body || ''}`);
          await released(what);
        }
        // the whole concurrency is there again: one per key, two for the owner and the client
        const two = await Promise.all([0, 1].map((i) => h.stream(p.port, CHAT, { model: 'gemini-2.5-pro-mock-slow',
          stream: true, messages: user(`[fail] end ${i}`) }, { key: CLIENT_A })));
        for (const s of two) assert.equal(s.status, 200, s.raw);
        const seen = await upstream(ctx.mock, tagged('[fail] end'));
        assert.deepEqual(seen.map((q) => q.key).sort(), [...G].sort(), 'one on each key');
        await released('the last two');
      } finally { if (p) await p.stop(); await h.stopRedis(redis); }
    }, { timeout: 40000 });
  }

  // --- calendar days ----------------------------------------------------------
  // Each stack's clock is shifted (AIPROXY_TEST_CLOCK_OFFSET_MS; on Redis
  // with the caller's clock) to a few seconds before a midnight; the day's
  // limit is used up, the midnight passes in real time, the window is empty
  // and the next reset is a calendar day later: 25 h across the autumn DST
  // change, 23 h across the spring one, 24 h in UTC. A rolling day would
  // still hold every request.
  test('quota: calendar day: day_reset provider (Gemini: America/Los_Angeles) across 2026-11-01 and 2027-03-14 DST changes, utc (and provider for OpenRouter) at 00:00Z; exhausted before midnight, empty after; resets_at and Retry-After at the calendar reset; LMDB and Redis', async (ctx) => {
    const LEAD = 7000;	// fake time at start: this long before midnight (6 stacks start meanwhile)
    const cases = [
      { name: 'pacific-fall-owner', midnight: Date.UTC(2026, 10, 1, 7), next: Date.UTC(2026, 10, 2, 8), zone: 'pacific',
        entries: (m, K) => [gem(m, K, { owner: 'proj-cal' })], keys: QK('cal-fall', 2),
        owners: { 'proj-cal': { max_request_day: 3, day_reset: 'provider' } }, code: 'owner_rate_limit',
        model: 'gemini-2.5-flash', n: 3 },
      { name: 'pacific-spring-key', midnight: Date.UTC(2027, 2, 14, 8), next: Date.UTC(2027, 2, 15, 7), zone: 'pacific',
        entries: (m, K) => [gem(m, K, { max_request_day: 3, day_reset: 'provider' })], keys: QK('cal-spring', 1),
        code: 'key_rate_limit', model: 'gemini-2.5-flash', n: 3 },
      { name: 'utc-gemini', midnight: Date.UTC(2027, 2, 14, 0), next: Date.UTC(2027, 2, 15, 0), zone: 'utc',
        entries: (m, K) => [gem(m, K, { max_request_day: 2, day_reset: 'utc' })], keys: QK('cal-utc', 1),
        code: 'key_rate_limit', model: 'gemini-2.5-flash', n: 2 },
      { name: 'utc-openrouter-provider', midnight: Date.UTC(2026, 10, 1, 0), next: Date.UTC(2026, 10, 2, 0), zone: 'utc',
        entries: (m, K) => [orEntry(m, K, { max_request_day: 2, day_reset: 'provider' })], keys: ORK('cal-or', 1),
        code: 'key_rate_limit', model: 'openai/mock-text', provider: 'openrouter', n: 2 },
      { name: 'utc-client', midnight: Date.UTC(2027, 0, 1, 0), next: Date.UTC(2027, 0, 2, 0), zone: 'utc',
        entries: (m, K) => [gem(m, K)], keys: QK('cal-client', 1), client: { key: CLIENT_B, name: 'cal',
          max_request_day: 2, day_reset: 'utc' }, code: 'client_rate_limit', model: 'gemini-2.5-flash', n: 2 },
      { name: 'pacific-fall-redis', midnight: Date.UTC(2026, 10, 1, 7), next: Date.UTC(2026, 10, 2, 8), zone: 'pacific',
        entries: (m, K) => [gem(m, K, { max_request_day: 3, day_reset: 'provider' })], keys: QK('cal-redis', 1),
        code: 'key_rate_limit', model: 'gemini-2.5-flash', n: 3, redis: true },
    ];
    const redis = await h.startRedis();
    const stacks = [];
    try {
      await Promise.all(cases.map(async (c) => {
        const cfg = config(ctx.mock, c.entries(ctx.mock, c.keys), Object.assign(c.owners ? { owners: c.owners } : {},
          c.client ? { access_keys: [c.client] } : {}));
        const ckey = c.client ? c.client.key : undefined;
        const offset = c.midnight - LEAD - Date.now();
        const env = { AIPROXY_TEST_CLOCK_OFFSET_MS: String(offset) };
        if (c.redis) env.AIPROXY_TEST_LEDGER_CALLER_CLOCK = '1';
        const p = await stack(ctx, cfg, { env, redis: c.redis ? redis : null });
        stacks.push(p);
        const fake = () => Date.now() + offset;
        const prov = c.provider || 'gemini';
        const tag = `[cal-${c.name}]`;
        const scope = (u) => {
          if (c.owners) return u.owners['proj-cal'];
          if (c.client) return u.clients[c.client.name];
          const k = keyUsage(u, prov, c.keys[0]);
          return { day_reset: k.day_reset, resets_at: k.resets_at, req_day: k.rate_limit_windows.req_day };
        };
        const spend = async (phase, until) => {
          for (let i = 0; i < c.n; i++) {
            const r = await chat(p.port, c.model, `${tag} ${phase} ${i}`, { key: ckey });
            assert.equal(r.status, 200, `${c.name} ${phase} ${i}: ${r.body}`);
          }
          const r = await chat(p.port, c.model, `${tag} ${phase} over`, { key: ckey });
          const ra = assert429(r, c.code, `${c.name} ${phase}`);
          const want = (until - fake()) / 1000;
          assert.ok(Math.abs(ra - want) <= 2, `${c.name} ${phase}: Retry-After ${ra} s, the reset is ${want.toFixed(1)} s away`);
        };
        let u = await usage(p.port, ckey);
        assert.equal(scope(u).day_reset, c.zone, `${c.name}: day_reset`);
        assert.equal(scope(u).resets_at, iso(c.midnight), `${c.name}: resets_at before midnight`);
        await spend('before', c.midnight);
        assert.ok(fake() < c.midnight - 500, `${c.name}: the day was used up before midnight (${c.midnight - fake()} ms left); the host is too slow for this test`);
        u = await usage(p.port, ckey);
        assert.equal(scope(u).req_day, c.n, `${c.name}: req_day before midnight`);
        await h.sleep(Math.max(0, c.midnight + 400 - fake()));
        u = await usage(p.port, ckey);
        assert.equal(scope(u).req_day, 0, `${c.name}: the window is empty after midnight`);
        assert.equal(scope(u).resets_at, iso(c.next), `${c.name}: resets_at after midnight`);
        await spend('after', c.next);
        const seen = await upstream(ctx.mock, tagged(tag));
        assert.equal(seen.length, 2 * c.n, `${c.name}: requests at the mock`);
        if (c.redis) assert.equal(u.ledger_backend, 'redis');
      }));
    } finally { await stopAll(stacks); await h.stopRedis(redis); }
  }, { timeout: 40000 });

  // --- client keys --------------------------------------------------------------
  test('quota: client keys: team-a (3/min) gets 429 client_rate_limit on the 4th while the admin key and team-b go on; team-b (models gemini-*) gets 403 model_not_allowed for an OpenRouter model with nothing spent; unknown key 401; /v1/usage per client; real tokens booked; /v1/messages and /v1/responses in their own shapes', async (ctx) => {
    const G = QK('cli-g', 2);
    const O = ORK('cli-o', 2);
    const cfg = config(ctx.mock, [gem(ctx.mock, G), orEntry(ctx.mock, O)], {
      access_keys: [
        { key: CLIENT_A, name: 'team-a', max_request_min: 3 },
        { key: CLIENT_B, name: 'team-b', models: ['gemini-*'] },
        { key: CLIENT_C, name: 'team-c', max_concurrent: 1 },
      ] });
    const p = await stack(ctx, cfg);
    try {
      // team-a: 6 at once, exactly 3 pass
      const a = await Promise.all(Array.from({ length: 6 }, (_, i) =>
        chat(p.port, i % 2 ? 'gemini-2.5-flash' : 'openai/mock-text', `[cli-a] ${'w'.repeat(i * 13)} ${i}`, { key: CLIENT_A })));
      assert.equal(a.filter((r) => r.status === 200).length, 3, `team-a: ${tally(a)}`);
      for (const r of a.filter((x) => x.status !== 200)) {
        const ra = assert429(r, 'client_rate_limit', 'team-a');
        assert.ok(ra <= 61, `team-a Retry-After ${ra}: its minute window`);
        assert.match(r.json.error.message, /client key/);
      }
      const seenA = await upstream(ctx.mock, tagged('[cli-a]'));
      assert.equal(seenA.length, 3, 'team-a: 3 reached the mock');
      // the admin key and the other client are not held back
      for (let i = 0; i < 5; i++) assert.equal((await chat(p.port, 'openai/mock-text', `[cli-admin] ${i}`)).status, 200);
      for (let i = 0; i < 4; i++)
        assert.equal((await chat(p.port, 'gemini-2.5-flash', `[cli-b] ${i}`, { key: CLIENT_B })).status, 200);
      // team-a is still out, on every route and in each route's shape
      assert429(await chat(p.port, 'gemini-2.5-flash', '[cli-a] again', { key: CLIENT_A }), 'client_rate_limit');
      const before = (await upstream(ctx.mock)).length;
      const msgA = await h.request(p.port, 'POST', '/v1/messages', { auth: false,
        headers: { 'x-api-key': CLIENT_A, 'anthropic-version': '2023-06-01' },
        body: { model: 'gemini-2.5-flash', max_tokens: 32, messages: user('[cli-a] msg') } });
      assert.equal(msgA.status, 429, msgA.body);
      assert.equal(msgA.json.type, 'error', msgA.body);
      assert.equal(msgA.json.error.type, 'rate_limit_error', msgA.body);
      assert.match(msgA.json.error.message, /client key/);
      assert.ok(Number(msgA.headers['retry-after']) >= 1, 'messages: Retry-After');
      const resA = await h.request(p.port, 'POST', '/v1/responses', { key: CLIENT_A,
        body: { model: 'gemini-2.5-flash', input: '[cli-a] resp' } });
      assert429(resA, 'client_rate_limit', 'responses');

      // team-b: the allowlist, before any quota
      const uB0 = (await usage(p.port, CLIENT_B)).clients['team-b'];
      const nb = await chat(p.port, 'openai/mock-text', '[cli-b] not allowed', { key: CLIENT_B });
      assert.equal(nb.status, 403, nb.body);
      assert.equal(nb.json.error.code, 'model_not_allowed', nb.body);
      assert.equal(nb.json.error.type, 'permission_error', nb.body);
      assert.equal(nb.json.error.param, 'model');
      const nbm = await h.request(p.port, 'POST', '/v1/messages', { auth: false,
        headers: { 'x-api-key': CLIENT_B, 'anthropic-version': '2023-06-01' },
        body: { model: 'openai/mock-text', max_tokens: 32, messages: user('[cli-b] msg') } });
      assert.equal(nbm.status, 403, nbm.body);
      assert.equal(nbm.json.type, 'error');
      assert.equal(nbm.json.error.type, 'permission_error', nbm.body);
      const nbr = await h.request(p.port, 'POST', '/v1/responses', { key: CLIENT_B,
        body: { model: 'openai/mock-text', input: '[cli-b] resp' } });
      assert.equal(nbr.status, 403, nbr.body);
      assert.equal(nbr.json.error.code, 'model_not_allowed', nbr.body);
      const nbs = await h.stream(p.port, CHAT, { model: 'openai/mock-text', stream: true, messages: user('[cli-b] s') },
        { key: CLIENT_B });
      assert.equal(nbs.status, 403, nbs.raw);
      const nbe = await h.request(p.port, 'POST', '/v1/embeddings', { key: CLIENT_B,
        body: { model: 'openai/text-embedding-3-small', input: 'x' } });
      assert.equal(nbe.status, 403, nbe.body);
      assert.equal(nbe.json.error.code, 'model_not_allowed', nbe.body);
      assert.equal((await upstream(ctx.mock)).length, before, 'the mock saw none of the refused requests');
      assert.equal((await ctx.mock.requests()).filter((q) => /embeddings/.test(q.path)).length, 0);
      const uB1 = (await usage(p.port, CLIENT_B)).clients['team-b'];
      assert.equal(uB1.req_min, uB0.req_min, 'no quota spent by the 403s');
      assert.equal(uB1.lifetime_requests, uB0.lifetime_requests);

      // team-c: one request in flight at a time (its own cap: client_rate_limit)
      const slowC = h.stream(p.port, CHAT, { model: 'gemini-2.5-flash-mock-slow', stream: true,
        messages: user('[cli-c] slow') }, { key: CLIENT_C });
      slowC.catch(() => {});
      await h.waitFor(async () => (await upstream(ctx.mock, tagged('[cli-c] slow'))).length === 1, 3000, 'team-c in flight');
      const c2 = await chat(p.port, 'gemini-2.5-flash', '[cli-c] second', { key: CLIENT_C });
      assert.equal(assert429(c2, 'client_rate_limit', 'team-c in flight'), 1);
      assert.equal((await chat(p.port, 'gemini-2.5-flash', '[cli-admin] beside c')).status, 200, 'the admin goes on');
      assert.equal((await usage(p.port, CLIENT_C)).clients['team-c'].in_flight, 1);
      assert.equal((await slowC).status, 200);
      await h.waitFor(async () => (await usage(p.port, CLIENT_C)).clients['team-c'].in_flight === 0, 3000, 'team-c settled');
      assert.equal((await chat(p.port, 'gemini-2.5-flash', '[cli-c] after', { key: CLIENT_C })).status, 200);

      // unknown key: 401 on every route, in its shape
      const bad = await chat(p.port, 'gemini-2.5-flash', '[cli-x]', { key: 'px-client-unknown-0000000000000000' });
      assert.equal(bad.status, 401, bad.body);
      assert.equal(bad.json.error.code, 'invalid_api_key', bad.body);
      const badm = await h.request(p.port, 'POST', '/v1/messages', { auth: false,
        headers: { 'x-api-key': 'px-client-unknown-0000000000000000', 'anthropic-version': '2023-06-01' },
        body: { model: 'gemini-2.5-flash', max_tokens: 32, messages: user('x') } });
      assert.equal(badm.status, 401, badm.body);
      assert.equal(badm.json.error.type, 'authentication_error', badm.body);
      assert.equal((await h.request(p.port, 'GET', '/v1/usage', { key: 'px-client-unknown-0000000000000000' })).status, 401);
      // a client key is no admin key with another name: a prefix of one is unknown
      assert.equal((await chat(p.port, 'gemini-2.5-flash', '[cli-x]', { key: CLIENT_A.slice(0, -1) })).status, 401);

      // /v1/usage: a client sees its own entry only
      const ra = await h.request(p.port, 'GET', '/v1/usage', { key: CLIENT_A });
      assert.equal(ra.status, 200, ra.body);
      assert.deepEqual(Object.keys(ra.json), ['clients'], ra.body);
      assert.deepEqual(Object.keys(ra.json.clients), ['team-a'], ra.body);
      assert.ok(!ra.body.includes('team-b'), 'no other client named');
      for (const k of ALL_KEYS) assert.ok(!ra.body.includes(h.keyId(k)), `no key id in a client's usage: ${ra.body}`);
      const ca = ra.json.clients['team-a'];
      assert.equal(ca.req_min, 3);
      assert.equal(ca.lifetime_requests, 3);
      assert.equal(ca.limits.max_request_min, 3);
      // booked with the upstream's real tokens, as a provider key is
      const realA = seenA.reduce((s, q) => s + q.usage.total_tokens, 0);
      await h.waitFor(async () => (await usage(p.port, CLIENT_A)).clients['team-a'].lifetime_tokens === realA,
        3000, `team-a lifetime_tokens ${realA}`);
      assert.equal((await usage(p.port, CLIENT_A)).clients['team-a'].tokens_min, realA, 'team-a tokens_min: real usage');
      const rb = await usage(p.port, CLIENT_B);
      assert.deepEqual(Object.keys(rb.clients), ['team-b']);
      assert.equal(rb.clients['team-b'].lifetime_requests, 4);
      // the admin sees everything
      const adm = await usage(p.port);
      assert.deepEqual(Object.keys(adm.clients).sort(), ['team-a', 'team-b', 'team-c']);
      assert.equal(adm.clients['team-a'].req_min, 3);
      assert.equal(adm.clients['team-b'].req_min, 4);
      assert.ok(adm.details.gemini && adm.details.openrouter && adm.overview, 'details for the admin');
      const allSeen = await upstream(ctx.mock);
      for (const k of G.concat(O))
        assert.equal(keyUsage(adm, G.includes(k) ? 'gemini' : 'openrouter', k).lifetime_requests,
          allSeen.filter((q) => q.key === k).length, 'every admitted request counted on its key');
      noKeyIn(ra.body + JSON.stringify(rb) + JSON.stringify(adm), '/v1/usage');
    } finally { await p.stop(); }
  }, { timeout: 40000 });

  // --- a client's request retried upstream ----------------------------------------
  // One client request is one request of the client, however many upstream
  // attempts it takes: its third request of three a minute, whose first
  // attempt meets an upstream 500, is retried on the other key and served,
  // and the client's window holds 3, not 4. (The keys count every attempt:
  // each reached the provider.)
  test('quota: client key: a request retried on another key after an upstream 500 counts once in the client\'s windows; its last allowed request is served, not refused', async (ctx) => {
    const G = QK('cli-retry', 2);
    const cfg = config(ctx.mock, [gem(ctx.mock, G)], { model_usage_gap_percentage: 0,
      access_keys: [{ key: CLIENT_A, name: 'team-r', max_request_min: 3 }] });
    const p = await stack(ctx, cfg);
    try {
      for (let i = 0; i < 2; i++)
        assert.equal((await chat(p.port, 'gemini-2.5-pro', `[retry] ${i}`, { key: CLIENT_A })).status, 200);
      await ctx.mock.faults([{ key: '*', status: 500, body: { error: { code: 500, message: 'boom', status: 'INTERNAL' } }, times: 1 }]);
      const r = await chat(p.port, 'gemini-2.5-pro', '[retry] 2', { key: CLIENT_A });
      const seen = await upstream(ctx.mock, tagged('[retry] 2'));
      assert.deepEqual(seen.map((q) => q.status), [500, 200].slice(0, seen.length),
        `attempts at the mock: ${JSON.stringify(seen.map((q) => [h.keyId(q.key), q.status]))}`);
      assert.equal(r.status, 200, `the client's third request (of 3 a minute) after one upstream 500: ${r.body}`);
      assert.notEqual(seen[0].key, seen[1].key, 'retried on the other key');
      const u = (await usage(p.port, CLIENT_A)).clients['team-r'];
      assert.equal(u.req_min, 3, `the client's minute window: ${JSON.stringify(u)}`);
      assert.equal(u.lifetime_requests, 3);
      assert429(await chat(p.port, 'gemini-2.5-pro', '[retry] 3', { key: CLIENT_A }), 'client_rate_limit');
    } finally { await p.stop(); }
  }, { timeout: 30000 });

  // --- the seed's config --------------------------------------------------------
  test('quota: regression: the seed config passes --check-config unchanged; a seed-shaped stack (no owners, clients or new fields) answers, limits per key with 429 key_rate_limit, /v1/usage keeps the seed shape with empty owners and clients', async (ctx) => {
    const seed = path.join(h.ROOT, 'tests/unit/configs/seed.json');
    const chk = spawnSync(ctx.bin, ['--check-config', seed], { encoding: 'utf8', timeout: 10000,
      env: Object.assign({}, process.env, { ASAN_OPTIONS: 'detect_leaks=1' }) });
    assert.equal(chk.status, 0, chk.stdout + chk.stderr);
    assert.match(chk.stdout, /configuration OK/);
    const s = JSON.parse(fs.readFileSync(seed, 'utf8'));
    // the seed's file with keys and base URLs of the mock only
    s.access_key = h.ACCESS_KEY;
    s.provider_keys[0].key = ORK('seed', 2);
    s.provider_keys[0].base_url = ctx.mock.url('openrouter');
    s.provider_keys[0].max_request_min = 2;
    s.provider_keys[1].key = QK('seed', 2);
    s.provider_keys[1].base_url = ctx.mock.url('gemini');
    for (const k of s.provider_keys[0].key.concat(s.provider_keys[1].key)) ALL_KEYS.add(k);
    s['auto-models'] = ['openai/mock-text', 'gemini-mock-text'];
    const p = await stack(ctx, s);
    try {
      const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => chat(p.port, 'openai/mock-text', `[seed] ${i}`)));
      assert.equal(rs.filter((r) => r.status === 200).length, 4, `2 keys x 2/min: ${tally(rs)}`);
      for (const r of rs.filter((x) => x.status !== 200)) assert.ok(assert429(r, 'key_rate_limit') <= 61);
      const auto = await chat(p.port, 'auto-model', '[seed] auto');
      assert.equal(auto.status, 200, auto.body);
      assert.equal(auto.headers['x-aiproxy-model'], 'gemini-mock-text', 'auto-model moves on');
      const u = await usage(p.port);
      assert.deepEqual(u.owners, {});
      assert.deepEqual(u.clients, {});
      assert.equal(u.overview.openrouter.total_requests, 4);
      assert.equal(u.overview.openrouter.total_capacity, 3000);
      for (const k of s.provider_keys[0].key) {
        const ku = keyUsage(u, 'openrouter', k);
        assert.equal(ku.day_reset, 'rolling');
        assert.equal(ku.resets_at, null);
        assert.deepEqual(ku.models, {});
      }
      // the shared stack of the suite (harness baseConfig) too
      const r = await chat(ctx.proxy.port, 'gemini-mock-text', '[seed] shared');
      assert.equal(r.status, 200, r.body);
      assert.deepEqual((await usage(ctx.proxy.port)).clients, {});
    } finally { await p.stop(); }
  }, { timeout: 30000 });

  // --- the README's worked example ----------------------------------------------
  // The config of README "A worked example", read from the README itself,
  // with the mock's URL and keys of this file put in (the env: names it
  // uses are set for the responders), on a clock in December (PST): 2.5
  // Flash served 20 times per project, 40 in all over the five keys, then
  // refused until midnight in Los Angeles (08:00 UTC in winter); another
  // model on the same keys still flows; team-a gets only its models.
  test('quota: the README worked example (two Gemini projects, 2.5 Flash at 20 a day each, team-a): 40 flash requests in all, 20 per project, then 429 until 08:00 UTC; pro still answers; team-a kept to its models; its env: keys resolved', async (ctx) => {
    const readme = fs.readFileSync(path.join(h.ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('### A worked example');
    assert.ok(at >= 0, 'README has "A worked example"');
    const m = /```json\n([\s\S]*?)\n```/.exec(readme.slice(at));
    assert.ok(m, 'a JSON block in the worked example');
    const cfg = JSON.parse(m[1]);
    const ADMIN = 'px-admin-worked-example-3c9d2e71a0b84f56';
    const env = {};
    const resolve = (v, val) => {
      if (typeof v === 'string' && v.startsWith('env:')) { env[v.slice(4)] = val; return val; }
      return v;
    };
    const adminKey = resolve(cfg.access_key, ADMIN);
    const teamKey = resolve(cfg.access_keys[0].key, CLIENT_A);
    const byProject = {};
    cfg.provider_keys.forEach((e, i) => {
      e.key = QK(`worked-${i}`, e.key.length);
      for (const k of e.key) ALL_KEYS.add(k);
      e.base_url = ctx.mock.url('gemini');
      byProject[e.owner] = e.key;
    });
    assert.deepEqual(Object.values(byProject).map((k) => k.length), [3, 2], 'three keys of one project, two of another');
    // Monday 2026-12-07 12:00 PST (20:00 UTC): midnight in Los Angeles is 2026-12-08T08:00:00Z
    const fakeStart = Date.UTC(2026, 11, 7, 20);
    const midnight = Date.UTC(2026, 11, 8, 8);
    const offset = fakeStart - Date.now();
    env.AIPROXY_TEST_CLOCK_OFFSET_MS = String(offset);
    const p = await stack(ctx, cfg, { env });
    try {
      // the admin key is the environment's value, and the name of the variable is no key
      const asLiteral = await chat(p.port, 'gemini-2.5-pro', '[worked] literal', { key: String(cfg.access_key) });
      const asEnv = await chat(p.port, 'gemini-2.5-pro', '[worked] env', { key: adminKey });
      let admin = adminKey;
      const envBug = cfg.access_key !== adminKey && (asEnv.status === 401 || asLiteral.status !== 401) ?
        `"access_key": "${cfg.access_key}" is not resolved from the environment: the admin key is the literal ` +
        `string (${asLiteral.status} with it, ${asEnv.status} with the variable's value)` : null;
      if (envBug) admin = String(cfg.access_key);	// go on with what works; fail at the end
      // 45 flash requests, at most 15 at once (each key may hold 4 in flight)
      const flash = [];
      for (let b = 0; b < 3; b++)
        flash.push(...await Promise.all(Array.from({ length: 15 }, (_, i) =>
          chat(p.port, 'gemini-2.5-flash', `[worked] flash ${b}.${i}`, { key: admin }))));
      assert.equal(flash.filter((r) => r.status === 200).length, 40, `flash: ${tally(flash)}`);
      const seen = await upstream(ctx.mock, tagged('[worked] flash'));
      for (const [owner, keys] of Object.entries(byProject))
        assert.equal(sum(countBy(seen, keys)), 20, `${owner}: 20 flash requests at the mock`);
      for (const r of flash.filter((x) => x.status !== 200)) {
        // README's table: an owner's model_limits entry is "model_rate_limit"
        const ra = assert429(r, 'model_rate_limit', 'the 41st flash request');
        const want = (midnight - (Date.now() + offset)) / 1000;
        assert.ok(Math.abs(ra - want) <= 2, `Retry-After ${ra} s, midnight in Los Angeles is ${want.toFixed(0)} s away`);
      }
      // another model on the same keys still flows (on project A's keys:
      // project B's two keys served 10 each this minute, their max_request_min)
      for (let i = 0; i < 5; i++) {
        const r = await chat(p.port, 'gemini-2.5-pro', `[worked] pro ${i}`, { key: admin });
        assert.equal(r.status, 200, r.body);
      }
      // team-a: its models only; flash is spent for it too
      const other = await chat(p.port, 'gemini-2.0-flash', '[worked] team other', { key: teamKey });
      assert.equal(other.status, 403, other.body);
      assert.equal(other.json.error.code, 'model_not_allowed');
      assert429(await chat(p.port, 'gemini-2.5-flash', '[worked] team flash', { key: teamKey }), 'model_rate_limit');
      const auto = await chat(p.port, 'auto-model', '[worked] team auto', { key: teamKey });
      assert.notEqual(auto.status, 403, `auto-model is listed for team-a: ${auto.body}`);
      const u = await usage(p.port, admin);
      for (const owner of Object.keys(byProject)) {
        assert.equal(u.owners[owner].models['gemini-2.5-flash'].req_day, 20);
        assert.equal(u.owners[owner].models['gemini-2.5-flash'].resets_at, iso(midnight));
      }
      assert.deepEqual(Object.keys((await usage(p.port, teamKey)).clients), ['team-a']);
      if (envBug) throw new Error(envBug);
    } finally { await p.stop(); }
  }, { timeout: 40000 });

  // --- no provider key of this file in any log ---------------------------------
  test('quota: no provider key of these cases in any stack\'s log', async (ctx) => {
    for (const p of ctx.logs) noKeyIn(p.errorLog(), `log of ${p.tmp}`);
  });
};
