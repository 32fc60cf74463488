'use strict';
// GET /v1/models (configured, fetched, cached, stale on failure, filtered)
// and GET /v1/usage (the seed's shape).
const assert = require('node:assert/strict');
const { request, sleep, baseConfig, KEYS } = require('./harness');

const ids = (r) => r.json.data.map((m) => m.id);

module.exports = (test) => {
  test('/v1/models: OpenAI list with auto-model, auto-models and provider lists', async ({ proxy, mock }) => {
    const r = await request(proxy.port, 'GET', '/v1/models');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.object, 'list');
    for (const m of r.json.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.id, 'string');
      assert.equal(typeof m.owned_by, 'string');
    }
    const list = ids(r);
    assert.equal(list[0], 'auto-model');
    for (const want of ['openai/mock-echo', 'gemini-mock-text', 'meta-llama/llama-3.3-70b-instruct:free',
      'openai/gpt-4o', 'gemini-2.5-flash', 'gemini-2.5-pro'])
      assert.ok(list.includes(want), `${want} in ${list}`);
    assert.ok(!list.some((id) => id.startsWith('models/')), 'Gemini "models/" prefix stripped');
    assert.equal(new Set(list).size, list.length, 'no duplicates');
    const fetched = (await mock.requests()).filter((q) => q.path.endsWith('/models'));
    assert.ok(fetched.length <= 2);
    for (const q of fetched.filter((x) => x.flavour === 'gemini'))
      assert.ok(KEYS.gemini.map((k) => `Bearer ${k}`).includes(q.authorization));
  });

  test('/v1/models: cached, then served stale when the upstream list fails', async ({ proxy, mock }) => {
    await request(proxy.port, 'GET', '/v1/models');
    await mock.reset();
    const again = await request(proxy.port, 'GET', '/v1/models');
    assert.equal((await mock.requests()).length, 0, 'second call served from cache');
    await mock.config({ models_fail: true });
    try {
      await sleep(2100);	// models_cache_s is 2 in the test config
      const r = await request(proxy.port, 'GET', '/v1/models');
      assert.equal(r.status, 200);
      assert.ok((await mock.requests()).some((q) => q.path.endsWith('/models')), 'refetch attempted');
      assert.deepEqual(ids(r), ids(again), 'stale list served on failure');
    } finally { await mock.config({ models_fail: false }); }
  }, { timeout: 15000 });

  test('/v1/models/{id}: one model object, 404 for unknown', async ({ proxy }) => {
    const r = await request(proxy.port, 'GET', `/v1/models/${encodeURIComponent('meta-llama/llama-3.3-70b-instruct:free')}`);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.id, 'meta-llama/llama-3.3-70b-instruct:free');
    assert.equal(r.json.object, 'model');
    const n = await request(proxy.port, 'GET', '/v1/models/no-such-model');
    assert.equal(n.status, 404);
    assert.equal(n.json.error.code, 'model_not_found');
  });

  test('/v1/models: configured models and models_filter; failure never an error', async (ctx) => {
    const cfg = baseConfig(ctx.mock);
    cfg.provider_keys[0].models_filter = ':free';
    cfg.provider_keys[1].models = ['gemini-custom-1', 'gemini-custom-2'];
    const p = await ctx.startProxy(cfg);
    try {
      const r = await request(p.port, 'GET', '/v1/models');
      const list = ids(r);
      assert.ok(list.includes('meta-llama/llama-3.3-70b-instruct:free'));
      assert.ok(!list.includes('openai/gpt-4o'), 'filtered out');
      assert.ok(list.includes('gemini-custom-1') && !list.includes('gemini-2.5-flash'));
      // a configured model routes to its provider even without the prefix rule
      const c = await request(p.port, 'POST', '/v1/chat/completions',
        { body: { model: 'gemini-custom-1', messages: [{ role: 'user', content: 'x' }] } });
      assert.equal(c.status, 200);
      assert.ok((await ctx.mock.requests()).some((q) => q.flavour === 'gemini' && q.body && q.body.model === 'gemini-custom-1'));
      await ctx.mock.config({ models_fail: true });
      const p2 = await ctx.startProxy(baseConfig(ctx.mock));
      try {
        const f = await request(p2.port, 'GET', '/v1/models');
        assert.equal(f.status, 200, 'upstream failure with nothing cached: still a list');
        assert.ok(ids(f).includes('auto-model'));
      } finally { await p2.stop(); await ctx.mock.config({ models_fail: false }); }
    } finally { await p.stop(); }
  }, { timeout: 40000 });

  test('/v1/usage: the seed shape, key ids not keys', async ({ proxy }) => {
    const r = await request(proxy.port, 'GET', '/v1/usage');
    assert.equal(r.status, 200, r.body);
    for (const prov of ['openrouter', 'gemini']) {
      const o = r.json.overview[prov];
      assert.deepEqual(Object.keys(o).sort(), ['total_capacity', 'total_requests', 'usage_percentage']);
      assert.equal(o.total_capacity, 100000 * 2);
      const d = r.json.details[prov];
      assert.deepEqual(d.rate_limits, { max_request_day: 100000, max_token_min: 100000000, max_request_min: 10000 });
      const keys = Object.keys(d.keys);
      assert.equal(keys.length, 2);
      for (const id of keys) {
        assert.match(id, /^[0-9a-f]{8}$/);
        const k = d.keys[id];
        for (const f of ['rate_limit_windows', 'requests', 'usage_percentage'])
          assert.ok(f in k, `keys.${id}.${f}`);
        assert.deepEqual(Object.keys(k.rate_limit_windows).sort(), ['req_day', 'req_min']);
      }
    }
    for (const k of [...KEYS.openrouter, ...KEYS.gemini]) assert.ok(!r.body.includes(k));
  });
};
