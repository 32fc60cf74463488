'use strict';
// Errors: every one an OpenAI-style body with the right status; bad requests
// never reach the provider (no quota spent).
const assert = require('node:assert/strict');
const { request, baseConfig, freePort, KEYS } = require('./harness');

const CHAT = '/v1/chat/completions';
const ok = { model: 'openai/mock-text', messages: [{ role: 'user', content: 'x' }] };

function isOpenAIError(r, status) {
  assert.equal(r.status, status, r.body);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  assert.ok(r.json && r.json.error, `error body: ${r.body}`);
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in r.json.error, `error.${k}`);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 0);
}

const BAD = [
  ['invalid JSON', '{"model": "x", "messages": [', null],
  ['trailing garbage', JSON.stringify(ok) + ' x', null],
  ['invalid UTF-8', Buffer.concat([Buffer.from('{"model":"openai/mock-text","messages":[{"role":"user","content":"'),
    Buffer.from([0xc0, 0x80]), Buffer.from('"}]}')]), null],
  ['top-level array', '[1,2]', null],
  ['missing model', { messages: ok.messages }, 'model'],
  ['empty model', { model: '', messages: ok.messages }, 'model'],
  ['missing messages', { model: 'openai/mock-text' }, 'messages'],
  ['empty messages', { model: 'openai/mock-text', messages: [] }, 'messages'],
  ['unknown role', { model: 'openai/mock-text', messages: [{ role: 'bot', content: 'x' }] }, 'messages[0].role'],
  ['bad content type', { model: 'openai/mock-text', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
  ['tool message without tool_call_id', { model: 'openai/mock-text', messages: [{ role: 'tool', content: 'x' }] },
    'messages[0].tool_call_id'],
  ['stream not a bool', Object.assign({}, ok, { stream: 'yes' }), 'stream'],
  ['tools not an array', Object.assign({}, ok, { tools: {} }), 'tools'],
  ['tool without function name', Object.assign({}, ok, { tools: [{ type: 'function', function: {} }] }),
    'tools[0].function.name'],
];

module.exports = (test) => {
  test('401 without Authorization, with a wrong key, with a wrong scheme', async ({ proxy, mock }) => {
    for (const headers of [{ authorization: '' }, { authorization: 'Bearer nope' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }]) {
      for (const [m, p] of [['POST', CHAT], ['GET', '/v1/models'], ['GET', '/v1/usage']]) {
        const r = await request(proxy.port, m, p, { headers, body: m === 'POST' ? ok : undefined });
        isOpenAIError(r, 401);
        assert.equal(r.json.error.code, 'invalid_api_key');
      }
    }
    assert.equal((await mock.requests()).length, 0);
  });

  for (const [name, body, param] of BAD) {
    test(`400 ${name}${param ? ` names ${param}` : ''}; provider not called`, async ({ proxy, mock }) => {
      const r = await request(proxy.port, 'POST', CHAT, { body });
      isOpenAIError(r, 400);
      assert.equal(r.json.error.type, 'invalid_request_error');
      if (param) {
        assert.equal(r.json.error.param, param);
        assert.ok(r.json.error.message.includes(param), r.json.error.message);
      }
      assert.equal((await mock.requests()).length, 0, 'no upstream call for a bad request');
    });
  }

  test('404 unknown path, 405 wrong method (with Allow)', async ({ proxy }) => {
    isOpenAIError(await request(proxy.port, 'GET', '/v1/nothing'), 404);
    isOpenAIError(await request(proxy.port, 'GET', '/elsewhere'), 404);
    const a = await request(proxy.port, 'GET', CHAT);
    isOpenAIError(a, 405);
    assert.equal(a.headers.allow, 'POST');
    const b = await request(proxy.port, 'POST', '/v1/models', { body: {} });
    isOpenAIError(b, 405);
    assert.equal(b.headers.allow, 'GET');
  });

  test('413 body above max_body_bytes (65536), provider not called', async ({ proxy, mock }) => {
    const big = Object.assign({}, ok, { messages: [{ role: 'user', content: 'x'.repeat(70000) }] });
    isOpenAIError(await request(proxy.port, 'POST', CHAT, { body: big }), 413);
    // just under the limit is fine
    const fits = Object.assign({}, ok, { messages: [{ role: 'user', content: 'x'.repeat(60000) }] });
    assert.equal((await request(proxy.port, 'POST', CHAT, { body: fits })).status, 200);
    assert.equal((await mock.requests()).length, 1);
  });

  for (const [flavour, model] of [['openrouter', 'openai/mock-err500'], ['gemini', 'gemini-mock-err500']]) {
    test(`upstream 500 via ${flavour}: status kept, body normalised`, async ({ proxy }) => {
      const r = await request(proxy.port, 'POST', CHAT, { body: Object.assign({}, ok, { model }) });
      isOpenAIError(r, 500);
      assert.ok(!r.body.includes('secret-internal-details'), 'upstream internals not echoed');
    });
  }

  test('upstream 400 from Gemini (array-wrapped) unwrapped to an OpenAI error', async ({ proxy }) => {
    const r = await request(proxy.port, 'POST', CHAT, { body: Object.assign({}, ok, { model: 'gemini-mock-err400' }) });
    isOpenAIError(r, 400);
    assert.ok(!Array.isArray(r.json));
  });

  test('upstream 429 on every key -> 429 with the upstream Retry-After', async (ctx) => {
    // its own proxy: the keys (and the provider) cool down afterwards
    const p = await ctx.startProxy(baseConfig(ctx.mock));
    try {
      const r = await request(p.port, 'POST', CHAT, { body: Object.assign({}, ok, { model: 'openai/mock-err429' }) });
      isOpenAIError(r, 429);
      assert.equal(r.json.error.type, 'rate_limit_error');
      assert.equal(r.headers['retry-after'], '7');
    } finally { await p.stop(); }
  });

  test('upstream sends nothing -> 504 after first_byte_timeout_ms', async ({ proxy }) => {
    const t0 = Date.now();
    const r = await request(proxy.port, 'POST', CHAT, { body: Object.assign({}, ok, { model: 'openai/mock-hang' }) });
    isOpenAIError(r, 504);
    assert.ok(Date.now() - t0 < 10000, 'bounded by the configured timeout, not the mock');
  }, { timeout: 15000 });

  test('provider without keys -> 404; upstream unreachable -> 502', async (ctx) => {
    const dead = await freePort();	// nothing listens here
    const cfg = baseConfig(ctx.mock);
    cfg.provider_keys = [Object.assign({}, cfg.provider_keys[0], { base_url: `http://127.0.0.1:${dead}/x` })];
    cfg['auto-models'] = ['gemini-only-model'];
    const p = await ctx.startProxy(cfg);
    try {
      const g = await request(p.port, 'POST', CHAT, { body: Object.assign({}, ok, { model: 'gemini-2.5-flash' }) });
      isOpenAIError(g, 404);
      assert.match(g.json.error.message, /gemini/);
      assert.equal(g.json.error.param, 'model');
      const a = await request(p.port, 'POST', CHAT, { body: Object.assign({}, ok, { model: 'auto-model' }) });
      isOpenAIError(a, 404);
      const u = await request(p.port, 'POST', CHAT, { body: ok });
      isOpenAIError(u, 502);
      for (const k of KEYS.openrouter) assert.ok(!u.body.includes(k));
    } finally { await p.stop(); }
  }, { timeout: 30000 });
};
