'use strict';
// The shared quota ledger through real responders: exact limits across
// processes and threads, Retry-After, token booking from streamed usage,
// auto-model availability, kill -9, restart persistence, /v1/usage shape.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const user = (t) => [{ role: 'user', content: t }];

// The /v1/usage example of the original README: every field must exist in
// ours with the same type (extra fields are allowed).
const SEED_USAGE = {
  overview: { provider_name: { total_requests: 100, total_capacity: 3000, usage_percentage: 3.33 } },
  details: { provider_name: {
    keys: { key_id: { requests: 50, usage_percentage: 3.33, rate_limit_windows: { req_min: 5, req_day: 50 } } },
    rate_limits: { max_request_day: 1500, max_token_min: 150000, max_request_min: 15 } } },
};

function sameShape(seed, ours, where) {
  for (const [k, v] of Object.entries(seed)) {
    const isName = k === 'provider_name' || k === 'key_id';
    const keys = isName ? Object.keys(ours) : [k];
    assert.ok(keys.length > 0, `${where}.${k} present`);
    for (const ok of keys) {
      assert.ok(ok in ours, `${where}.${ok} present`);
      if (v !== null && typeof v === 'object') {
        assert.equal(typeof ours[ok], 'object', `${where}.${ok} is an object`);
        sameShape(v, ours[ok], `${where}.${ok}`);
      } else {
        assert.equal(typeof ours[ok], typeof v, `${where}.${ok} is a ${typeof v}`);
      }
    }
  }
}

const { maxInWindow } = h;

function limited(mock, extra) {
  const cfg = h.baseConfig(mock, extra);
  cfg.provider_keys = [Object.assign({}, cfg.provider_keys[0], { max_request_min: 15, max_request_day: 1000 })];
  cfg['auto-models'] = ['openai/mock-text'];
  return cfg;
}

async function pool(ctx, cfg, procs, threads) {
  return ctx.startProxy(cfg, { procs, threads });
}

module.exports = (test) => {
  test('ledger: 4 processes x 4 threads, 200 concurrent requests, 2 keys x 15/min -> exactly 30 upstream', async (ctx) => {
    const p = await pool(ctx, limited(ctx.mock), 4, 4);
    try {
      const t0 = Date.now();
      const all = await Promise.all(Array.from({ length: 200 }, () =>
        h.request(p.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } })
          .then((r) => Object.assign(r, { at: Date.now() }))));
      const ok = all.filter((r) => r.status === 200);
      const limitedR = all.filter((r) => r.status === 429);
      assert.equal(ok.length, 30, `200s: ${ok.length}, statuses ${[...new Set(all.map((r) => r.status))]}`);
      assert.equal(limitedR.length, 170);
      const seen = (await ctx.mock.requests()).filter((q) => q.scenario === 'text');
      assert.equal(seen.length, 30, 'exactly 30 reached the upstream');
      const byKey = {};
      for (const q of seen) (byKey[q.authorization] = byKey[q.authorization] || []).push(q.t);
      assert.deepEqual(Object.values(byKey).map((v) => v.length).sort(), [15, 15]);
      for (const times of Object.values(byKey)) assert.ok(maxInWindow(times, 60000) <= 15);
      const first = Math.min(...seen.map((q) => q.t));
      for (const r of limitedR) {
        assert.equal(r.json.error.type, 'rate_limit_error');
        const ra = Number(r.headers['retry-after']);
        assert.ok(Number.isInteger(ra) && ra >= 1, `Retry-After ${r.headers['retry-after']}`);
        // the earliest slot frees 60 s (one 100 ms bucket at most later) after the first admission
        const free = r.at + ra * 1000;
        assert.ok(free >= first + 60000 - 1000 && free <= first + 60000 + 2200,
          `Retry-After ${ra} at +${r.at - t0} ms, first admitted at +${first - t0} ms`);
      }
      const u = (await h.request(p.port, 'GET', '/v1/usage')).json;
      assert.equal(u.overview.openrouter.total_requests, 30);
      for (const k of Object.values(u.details.openrouter.keys)) {
        assert.equal(k.requests, 15);
        assert.equal(k.rate_limit_windows.req_min, 15);
      }
    } finally { await p.stop(); }
  }, { timeout: 60000 });

  test('ledger: streamed usage is booked exactly; usage-only chunk hidden unless asked for', async (ctx) => {
    const cfg = h.baseConfig(ctx.mock);
    const p = await pool(ctx, cfg, 2, 4);
    try {
      const jobs = [];
      for (let i = 0; i < 12; i++) {
        const model = i % 2 ? 'openai/mock-text' : 'gemini-mock-text';
        const body = { model, messages: user(`question ${'x'.repeat(i * 7)}`), stream: true };
        if (i % 3 === 0) body.stream_options = { include_usage: true };
        jobs.push(h.stream(p.port, CHAT, body).then((s) => ({ s, asked: i % 3 === 0 })));
      }
      for (const { s, asked } of await Promise.all(jobs)) {
        assert.equal(s.events[s.events.length - 1].data, '[DONE]');
        const usageOnly = s.events.filter((e) => e.json && Array.isArray(e.json.choices) &&
          e.json.choices.length === 0 && e.json.usage);
        assert.equal(usageOnly.length, asked ? 1 : 0, `usage chunk when asked=${asked}: ${s.raw}`);
      }
      const seen = (await ctx.mock.requests()).filter((q) => q.path.endsWith('/chat/completions'));
      assert.equal(seen.length, 12);
      for (const q of seen) assert.equal(q.body.stream_options.include_usage, true, 'usage asked upstream');
      const u = (await h.request(p.port, 'GET', '/v1/usage')).json;
      for (const prov of ['openrouter', 'gemini']) {
        const want = seen.filter((q) => q.flavour === prov).reduce((a, q) => a + q.usage.total_tokens, 0);
        const got = Object.values(u.details[prov].keys).reduce((a, k) => a + k.lifetime_tokens, 0);
        assert.equal(got, want, `${prov} tokens booked`);
        const tmin = Object.values(u.details[prov].keys).reduce((a, k) => a + k.tokens_min, 0);
        assert.equal(tmin, want, `${prov} tokens in the minute window`);
      }
    } finally { await p.stop(); }
  }, { timeout: 40000 });

  test('ledger: auto-model takes the next model with room; none -> 429', async (ctx) => {
    const cfg = h.baseConfig(ctx.mock);
    cfg.provider_keys[0].max_request_min = 1;
    cfg.provider_keys[0].key = [h.KEYS.openrouter[0]];
    cfg.provider_keys[1].max_request_min = 1;
    cfg.provider_keys[1].key = [h.KEYS.gemini[0]];
    cfg['auto-models'] = ['openai/mock-text', 'gemini-mock-text'];
    const p = await pool(ctx, cfg, 1, 4);
    try {
      const body = { model: 'auto-model', messages: user('x') };
      const a = await h.request(p.port, 'POST', CHAT, { body });
      assert.equal(a.status, 200);
      assert.equal(a.headers['x-aiproxy-model'], 'openai/mock-text');
      const b = await h.request(p.port, 'POST', CHAT, { body });
      assert.equal(b.status, 200);
      assert.equal(b.headers['x-aiproxy-model'], 'gemini-mock-text');
      assert.equal(b.json.model, 'gemini-mock-text', 'response names the model that served');
      const c = await h.request(p.port, 'POST', CHAT, { body });
      assert.equal(c.status, 429);
      assert.ok(Number(c.headers['retry-after']) >= 1);
      const seen = (await ctx.mock.requests()).map((q) => q.body && q.body.model);
      assert.deepEqual(seen, ['openai/mock-text', 'gemini-mock-text']);
      const u = (await h.request(p.port, 'GET', '/v1/usage')).json;
      assert.equal(u.overview.openrouter.total_requests + u.overview.gemini.total_requests, 2,
        'each request counted once');
    } finally { await p.stop(); }
  }, { timeout: 30000 });

  test('ledger: kill -9 of a responder mid-load leaves the ledger consistent and the service up', async (ctx) => {
    const cfg = h.baseConfig(ctx.mock);
    const p = await pool(ctx, cfg, 2, 4);
    try {
      const streams = Array.from({ length: 8 }, () =>
        h.stream(p.port, CHAT, { model: 'openai/mock-slow', messages: user('x'), stream: true }).catch((e) => e));
      await h.sleep(300);
      const pids = h.responderPids(ctx.bin, p.tmp);
      assert.ok(pids.length >= 1, 'responders found');
      process.kill(pids[0], 'SIGKILL');
      await Promise.all(streams);
      // the service keeps answering and every reservation matches an upstream call
      for (let i = 0; i < 6; i++) {
        const r = await h.request(p.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
        assert.equal(r.status, 200, r.body);
      }
      const seen = (await ctx.mock.requests()).filter((q) => q.path.endsWith('/chat/completions'));
      const u = (await h.request(p.port, 'GET', '/v1/usage')).json;
      assert.equal(u.overview.openrouter.total_requests, seen.length);
      const lt = Object.values(u.details.openrouter.keys).reduce((a, k) => a + k.lifetime_requests, 0);
      assert.equal(lt, seen.length);
    } finally { await p.stop(); }
  }, { timeout: 40000 });

  test('ledger: counters survive a restart and are shared by two web servers on one state_dir', async (ctx) => {
    const state = h.tmpdir('state');
    const cfg = h.baseConfig(ctx.mock, { state_dir: state });
    const a = await pool(ctx, cfg, 1, 4);
    let b = null;
    try {
      for (let i = 0; i < 3; i++)
        assert.equal((await h.request(a.port, 'POST', CHAT, { body: { model: 'gemini-mock-text', messages: user('x') } })).status, 200);
      b = await pool(ctx, cfg, 1, 4);	// a second lighttpd, same state
      assert.equal((await h.request(b.port, 'POST', CHAT, { body: { model: 'gemini-mock-text', messages: user('x') } })).status, 200);
      const ua = (await h.request(a.port, 'GET', '/v1/usage')).json;
      const ub = (await h.request(b.port, 'GET', '/v1/usage')).json;
      assert.equal(ua.overview.gemini.total_requests, 4);
      assert.deepEqual(ua.overview, ub.overview);
      await a.stop();
      await b.stop();
      b = await pool(ctx, cfg, 1, 4);	// everything restarted
      const uc = (await h.request(b.port, 'GET', '/v1/usage')).json;
      assert.equal(uc.overview.gemini.total_requests, 4, 'persisted across restart');
      assert.ok(fs.existsSync(path.join(state, 'ledger', 'data.mdb')));
      assert.equal(fs.statSync(state).mode & 0o777, 0o700, 'state dir private');
    } finally { await a.stop(); if (b) await b.stop(); }
  }, { timeout: 40000 });

  test('/v1/usage matches the seed README shape field by field', async ({ proxy }) => {
    await h.request(proxy.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
    const u = (await h.request(proxy.port, 'GET', '/v1/usage')).json;
    sameShape(SEED_USAGE, u, 'usage');
    const o = u.overview.openrouter;
    assert.equal(o.usage_percentage, Math.round((o.total_requests / o.total_capacity) * 10000) / 100);
  });
};
