'use strict';
// Non-stream chat through lighttpd -> proxy -> mock, for both providers.
const assert = require('node:assert/strict');
const { request, KEYS } = require('./harness');

const CHAT = '/v1/chat/completions';
const user = (text) => [{ role: 'user', content: text }];

module.exports = (test) => {
  for (const [flavour, model] of [['openrouter', 'openai/mock-text'], ['gemini', 'gemini-mock-text']]) {
    test(`non-stream chat via ${flavour}`, async ({ proxy, mock }) => {
      const r = await request(proxy.port, 'POST', CHAT, { body: { model, messages: user('Hi there') } });
      assert.equal(r.status, 200, r.body);
      assert.match(r.headers['content-type'], /^application\/json/);
      assert.equal(r.json.object, 'chat.completion');
      assert.match(r.json.choices[0].message.content, /Hello from/);
      assert.ok(r.json.usage && r.json.usage.total_tokens > 0);
      assert.ok(r.headers['x-request-id'], 'X-Request-Id header');
      assert.equal(r.headers['x-aiproxy-model'], model);
      const seen = await mock.requests();
      assert.equal(seen.length, 1);
      assert.equal(seen[0].flavour, flavour);
      assert.equal(seen[0].path, `/${flavour}/chat/completions`);
      assert.ok(KEYS[flavour].map((k) => `Bearer ${k}`).includes(seen[0].authorization),
        'a configured key of the right provider');
      assert.equal(seen[0].body.model, model);
    });
  }

  test('keys of a provider are used in turn (round robin)', async ({ proxy, mock }) => {
    for (let i = 0; i < 4; i++) {
      const r = await request(proxy.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
      assert.equal(r.status, 200);
    }
    const auth = (await mock.requests()).map((q) => q.authorization);
    for (const k of KEYS.openrouter)
      assert.equal(auth.filter((a) => a === `Bearer ${k}`).length, 2, `key used twice: ${auth}`);
  });

  test('upstream connections are kept alive and reused across requests', async (ctx) => {
    const p = await ctx.startProxy(ctx.h.baseConfig(ctx.mock), { threads: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await request(p.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
        assert.equal(r.status, 200);
      }
      const conns = new Set((await ctx.mock.requests()).map((q) => q.conn));
      assert.equal(conns.size, 1, `one kept connection for 5 requests, saw ${[...conns]}`);
    } finally { await p.stop(); }
  });

  test('every client field reaches the provider unchanged', async ({ proxy, mock }) => {
    const body = {
      model: 'openai/mock-echo',
      messages: [{ role: 'system', content: 'be terse' }, { role: 'user', content: [{ type: 'text', text: 'hi ✓' }] }],
      temperature: 0.25, top_p: 0.9, stop: ['END', 'STOP'], seed: 12345678901,
      max_tokens: 77, n: 1, presence_penalty: 0.5, frequency_penalty: -0.5,
      response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' }, strict: true } },
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false, user: 'u-1', metadata: { a: 'b' },
      provider: { order: ['x'], allow_fallbacks: false }, reasoning: { effort: 'low' },
      logit_bias: { 50256: -100 }, some_future_field: [1, { deep: null }],
    };
    const raw = JSON.stringify(body, null, 1);	// odd whitespace is preserved too
    const r = await request(proxy.port, 'POST', CHAT, { body: raw });
    assert.equal(r.status, 200, r.body);
    const seen = await mock.requests();
    assert.deepEqual(seen[0].body, body);
    // the mock echoes the exact bytes it received: byte-for-byte relay
    assert.equal(r.json.choices[0].message.content, raw);
  });

  test('auto-model picks the first auto-models entry and rewrites only model', async ({ proxy, mock }) => {
    const body = { model: 'auto-model', messages: user('pick one'), temperature: 0.5, extra_thing: { k: [1, 2] } };
    const r = await request(proxy.port, 'POST', CHAT, { body });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-aiproxy-model'], 'openai/mock-echo');
    const seen = await mock.requests();
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0].body, Object.assign({}, body, { model: 'openai/mock-echo' }));
  });

  test('mounted under a prefix: /ai/v1/... routes the same', async ({ proxy }) => {
    const r = await request(proxy.port, 'POST', `/ai${CHAT}`, { body: { model: 'gemini-mock-text', messages: user('x') } });
    assert.equal(r.status, 200, r.body);
    const m = await request(proxy.port, 'GET', '/some/where/v1/models?x=1');
    assert.equal(m.status, 200, m.body);
    assert.equal(m.json.object, 'list');
  });

  test('large non-stream response relayed whole', async ({ proxy }) => {
    const r = await request(proxy.port, 'POST', CHAT, { body: { model: 'openai/mock-big', messages: user('x') } });
    assert.equal(r.status, 200);
    assert.ok(r.json.choices[0].message.content.length >= 300000);
  });
};
