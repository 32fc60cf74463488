'use strict';
// Upstream failures: exact cooldowns from every hint kind, escalation,
// provider-wide back-off, disabled keys and re-probes, retries on another
// key (only before the first byte), timeouts. The mock's fault injection
// scripts the failures; which key the mock sees next shows the cooldowns.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const ask = (model, extra) => Object.assign({ model, messages: [{ role: 'user', content: 'x' }] }, extra || {});
const OR_KEYS = ['sk-or-v1-testkey-AAAA1111', 'sk-or-v1-testkey-BBBB2222', 'sk-or-v1-testkey-EEEE5555'];

function cfgWith(mock, over) {
  const cfg = h.baseConfig(mock, Object.assign({ model_usage_gap_percentage: 0 }, over || {}));
  cfg.provider_keys[0].key = OR_KEYS;
  return cfg;
}

const keysOf = (u, prov) => Object.values(u.details[prov].keys);
const usage = async (p) => (await h.request(p.port, 'GET', '/v1/usage')).json;
const chatSeen = async (mock) => (await mock.requests()).filter((q) => q.path.endsWith('/chat/completions'));

const orError = (code, message, headers) => ({ error: { code, message, metadata: { headers: headers || {} } } });
const gemini429 = (quotaId, delay) => [{ error: { code: 429, status: 'RESOURCE_EXHAUSTED',
  message: 'You exceeded your current quota, please check your plan and billing details.',
  details: [
    { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'm', quotaId }] },
    ...(delay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay }] : []),
  ] } }];

async function withProxy(ctx, cfg, fn, opts) {
  const p = await ctx.startProxy(cfg, opts || { threads: 8 });
  try { return await fn(p); } finally { await p.stop(); }
}

// Local wall time of an ISO instant in Los Angeles, "HH:MM:SS".
function laTime(iso) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'America/Los_Angeles', hour: '2-digit',
    minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

module.exports = (test) => {
  test('failures: OpenRouter 429 with X-RateLimit-Reset cools that key until the hint; retried on another key', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      const reset = Date.now() + 4000;
      await ctx.mock.faults([{ status: 429, headers: { 'X-RateLimit-Reset': String(reset) },
        body: orError(429, 'Rate limit exceeded: free-models-per-min.') }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 200, r.body);
      const seen = await chatSeen(ctx.mock);
      assert.equal(seen.length, 2);
      assert.notEqual(seen[0].authorization, seen[1].authorization, 'retried on another key');
      const cooled = seen[0].authorization;
      const k = keysOf(await usage(p), 'openrouter').filter((x) => x.state === 'cooling');
      assert.equal(k.length, 1);
      assert.equal(k[0].reason, '429 ratelimit-reset');
      assert.ok(Math.abs(Date.parse(k[0].until) - reset) < 1000, `until ${k[0].until} vs ${new Date(reset).toISOString()}`);
      assert.equal(k[0].requests, 0, 'the 429 consumed no quota');
      for (let i = 0; i < 6; i++)
        assert.equal((await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') })).status, 200);
      assert.ok(!(await chatSeen(ctx.mock)).slice(2).some((q) => q.authorization === cooled), 'cooling key skipped');
      await h.sleep(Math.max(0, reset - Date.now()) + 150);
      for (let i = 0; i < 3; i++) await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.ok((await chatSeen(ctx.mock)).slice(8).some((q) => q.authorization === cooled), 'back after the hint');
    });
  }, { timeout: 30000 });

  test('failures: Gemini 429 RetryInfo (per-minute quota) cools the key for retryDelay', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      await ctx.mock.faults([{ flavour: 'gemini', status: 429,
        body: gemini429('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', '2.5s') }]);
      const t0 = Date.now();
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
      assert.equal(r.status, 200, r.body);
      const k = keysOf(await usage(p), 'gemini').filter((x) => x.state === 'cooling');
      assert.equal(k.length, 1);
      assert.equal(k[0].reason, '429 retry-info');
      const until = Date.parse(k[0].until);
      assert.ok(until >= t0 + 1500 && until <= Date.now() + 2600, `until ${k[0].until}`);
    });
  });

  test('failures: Gemini 429 QuotaFailure per-day cools the key until Pacific midnight', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      await ctx.mock.faults([{ flavour: 'gemini', status: 429,
        body: gemini429('GenerateRequestsPerDayPerProjectPerModel-FreeTier', '30s') }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
      assert.equal(r.status, 200, r.body);
      const k = keysOf(await usage(p), 'gemini').filter((x) => x.state === 'cooling');
      assert.equal(k.length, 1);
      assert.equal(k[0].reason, '429 daily quota');
      const until = Date.parse(k[0].until);
      assert.ok(until > Date.now() + 60000 && until <= Date.now() + 25 * 3600 * 1000);
      assert.equal(laTime(k[0].until), '00:00:00', 'midnight in America/Los_Angeles');
    });
  });

  test('failures: 429 without a hint -> escalating cooldown from 10 s; single key -> client 429 Retry-After 10', async (ctx) => {
    const cfg = cfgWith(ctx.mock);
    cfg.provider_keys[1].key = [h.KEYS.gemini[0]];
    await withProxy(ctx, cfg, async (p) => {
      await ctx.mock.faults([{ flavour: 'gemini', status: 429, body: gemini429('Other', null) }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
      assert.equal(r.status, 429, r.body);
      assert.equal(r.json.error.type, 'rate_limit_error');
      const ra = Number(r.headers['retry-after']);
      assert.ok(ra >= 9 && ra <= 10, `Retry-After ${ra}`);
      const k = keysOf(await usage(p), 'gemini')[0];
      assert.equal(k.state, 'cooling');
      assert.equal(k.reason, '429 no hint');
      // while it cools, nothing reaches the provider
      const again = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
      assert.equal(again.status, 429);
      assert.equal((await chatSeen(ctx.mock)).length, 1);
    });
  });

  test('failures: correlated 429s on several keys -> provider back-off, no key penalised', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      await ctx.mock.faults([{ flavour: 'openrouter', status: 429, times: 3,
        body: orError(429, 'Rate limit exceeded') }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 429, r.body);
      assert.ok(Number(r.headers['retry-after']) >= 1);
      const seen = await chatSeen(ctx.mock);
      assert.equal(seen.length, 2, 'the second 429 on another key already means the provider');
      const u = await usage(p);
      for (const k of keysOf(u, 'openrouter')) assert.equal(k.state, 'active', 'keys not penalised');
      assert.ok(u.details.openrouter.backoff_until, 'provider back-off shown');
      assert.equal(u.details.gemini.backoff_until, null);
      const b = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(b.status, 429);
      assert.equal((await chatSeen(ctx.mock)).length, 2, 'backing off: nothing sent');
      const g = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
      assert.equal(g.status, 200, 'other providers unaffected');
    });
  });

  for (const [flavour, model, status, body, reason] of [
    ['openrouter', 'openai/mock-text', 401, orError(401, 'No auth credentials found'), '401 unauthorized'],
    ['gemini', 'gemini-mock-text', 400, [{ error: { code: 400, status: 'INVALID_ARGUMENT',
      message: 'API key not valid. Please pass a valid API key.',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } }],
    '400 invalid key'],
  ]) {
    test(`failures: ${flavour} invalid key (${status}) -> disabled, re-probed after key_reprobe_s, back on success`, async (ctx) => {
      await withProxy(ctx, cfgWith(ctx.mock, { key_reprobe_s: 1 }), async (p) => {
        await ctx.mock.faults([{ flavour, status, body }]);
        const r = await h.request(p.port, 'POST', CHAT, { body: ask(model) });
        assert.equal(r.status, 200, r.body);
        const seen = await chatSeen(ctx.mock);
        const bad = seen[0].authorization;
        assert.notEqual(seen[1].authorization, bad);
        let k = keysOf(await usage(p), flavour).filter((x) => x.state === 'disabled');
        assert.equal(k.length, 1);
        assert.equal(k[0].reason, reason);
        for (let i = 0; i < 3; i++) await h.request(p.port, 'POST', CHAT, { body: ask(model) });
        assert.ok(!(await chatSeen(ctx.mock)).slice(2).some((q) => q.authorization === bad), 'disabled key skipped');
        await h.sleep(1100);
        // gap 0: the probe goes to the least-used key, the disabled one
        const probe = await h.request(p.port, 'POST', CHAT, { body: ask(model) });
        assert.equal(probe.status, 200);
        const last = (await chatSeen(ctx.mock)).pop();
        assert.equal(last.authorization, bad, 'the disabled key was probed');
        k = keysOf(await usage(p), flavour);
        assert.ok(k.every((x) => x.state === 'active'), 'back after a successful probe');
      });
    }, { timeout: 20000 });
  }

  test('failures: upstream 500 -> retried on another key, client gets 200, no key penalised', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      await ctx.mock.faults([{ status: 500, body: orError(500, 'Internal error') }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 200, r.body);
      const seen = await chatSeen(ctx.mock);
      assert.equal(seen.length, 2);
      assert.notEqual(seen[0].authorization, seen[1].authorization);
      const u = await usage(p);
      assert.ok(keysOf(u, 'openrouter').every((x) => x.state === 'active'));
      assert.equal(keysOf(u, 'openrouter').reduce((a, k) => a + k.errors, 0), 1, 'the error is counted');
      assert.match(p.errorLog(), /attempts=2 why=[0-9a-f]{8}:upstream>[0-9a-f]{8}:ok/);
    });
  });

  test('failures: every attempt fails -> at most max_attempts keys, the last error relayed', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock, { max_attempts: 2 }), async (p) => {
      await ctx.mock.faults([{ status: 503, times: -1, body: orError(503, 'Overloaded') }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 503, r.body);
      assert.equal(r.json.error.message, 'Overloaded');
      assert.equal((await chatSeen(ctx.mock)).length, 2);
    });
  });

  test('failures: client errors (400) are relayed as they are: no retry, no penalty', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      await ctx.mock.faults([{ status: 422, body: orError(422, 'Unprocessable: bad tool schema') }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 422, r.body);
      assert.equal((await chatSeen(ctx.mock)).length, 1);
      assert.ok(keysOf(await usage(p), 'openrouter').every((x) => x.state === 'active'));
    });
  });

  test('failures: connect timeout and first-byte timeout -> retried on another key', async (ctx) => {
    const bh = h.track(spawn(path.resolve(path.dirname(ctx.bin), 'blackhole'), [], { stdio: ['ignore', 'pipe', 'inherit'] }));
    try {
      const port = await new Promise((resolve) => bh.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
      const cfg = cfgWith(ctx.mock, { connect_timeout_ms: 300, first_byte_timeout_ms: 800 });
      const dead = Object.assign({}, cfg.provider_keys[0], { key: ['sk-or-v1-testkey-DEAD0000'],
        base_url: `http://127.0.0.1:${port}/api` });
      cfg.provider_keys.unshift(dead);	// first in order: tried first
      await withProxy(ctx, cfg, async (p) => {
        const t0 = Date.now();
        const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
        assert.equal(r.status, 200, r.body);
        assert.ok(Date.now() - t0 < 3000);
        assert.match(p.errorLog(), /why=[0-9a-f]{8}:upstream>[0-9a-f]{8}:ok/);
        await ctx.mock.reset();
        await ctx.mock.faults([{ action: 'hang' }]);
        const s = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
        assert.equal(s.status, 200, s.body);
        const seen = await chatSeen(ctx.mock);
        assert.ok(seen.length >= 2, 'the hung attempt was abandoned and retried');
      });
    } finally { bh.kill('SIGKILL'); }
  }, { timeout: 30000 });

  test('failures: no retry once the first byte went out (mid-stream drop -> error event, one upstream call)', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      const s = await h.stream(p.port, CHAT, ask('openai/mock-drop', { stream: true }));
      assert.equal(s.status, 200);
      assert.ok(s.events.some((e) => e.json && e.json.error));
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
      assert.equal((await chatSeen(ctx.mock)).length, 1);
    });
  });
};
