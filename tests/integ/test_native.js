'use strict';
// Provider adapters v2 (issue 11) through a real lighttpd against the mock
// upstream: Gemini's native API ("api": "native" on a gemini entry, the
// mock's /gemini-native), Gemini 3 thought-signature continuity on both
// Gemini paths and across responder processes, `limit: 0` entitlement
// marks, the 2026 key errors, and /v1/embeddings with the official openai
// SDK. The official SDK suites of tests/client run over a native config
// too. Wire references: /work/shared/docs/provider-apis.md and
// provider-apis-2026.md; the mock's behaviour: tests/mock/README.md.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const CLIENT_DIR = path.join(h.ROOT, 'tests/client');
const HELLO = 'Hello from Gemini!';
const ROUND_TRIP = 'Got 2 tool results: -3C, snow | 14:05';
const BYPASS = 'skip_thought_signature_validator';
const G3 = 'gemini-3-flash-preview-mock-';
const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Current time in a time zone',
    parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } } },
  { type: 'function', function: { name: 'get_forecast', description: 'Forecast',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } } },
];
const EXPECTED_CALLS = [['get_weather', { city: 'Oslo' }], ['get_time', { tz: 'CET' }]];
const QUESTION = 'Weather in Oslo and time in CET?';

const user = (t) => [{ role: 'user', content: t }];
const ask = (model, extra) => Object.assign({ model, messages: user('Say hello.') }, extra || {});
const keysOf = (u, prov) => Object.values(u.details[prov].keys);
const usage = async (p) => (await h.request(p.port, 'GET', '/v1/usage')).json;

// --- configs -----------------------------------------------------------------

// Gemini over the OpenAI-compatible endpoint (today's default "api").
function compatCfg(mock, over) {
  return h.baseConfig(mock, Object.assign({ model_usage_gap_percentage: 0 }, over || {}));
}

// The gemini entry speaks the native API.
function nativeCfg(mock, over) {
  const cfg = compatCfg(mock, over);
  Object.assign(cfg.provider_keys[1], { api: 'native', base_url: mock.url('gemini-native') });
  return cfg;
}

const FLAVOURS = [
  { name: 'compat', flavour: 'gemini', cfg: compatCfg },
  { name: 'native', flavour: 'gemini-native', cfg: nativeCfg },
];

async function withProxy(ctx, cfg, fn, opts) {
  const p = await ctx.startProxy(cfg, opts || { threads: 8 });
  try { return await fn(p); } finally { await p.stop(); }
}

// --- the mock's log --------------------------------------------------------------

// Chat-generation entries on either Gemini flavour, in arrival order.
function isGen(q) {
  return (q.flavour === 'gemini' && q.path.endsWith('/chat/completions')) ||
    (q.flavour === 'gemini-native' && /^(generateContent|streamGenerateContent)$/.test(q.rpc || ''));
}
const genSeen = async (mock) => (await mock.requests()).filter(isGen);
const isEmbed = (q) => q.method === 'POST' && (/\/embeddings$/.test(q.path) ||
  /^(batchEmbedContents|embedContent)$/.test(q.rpc || ''));
const embedSeen = async (mock) => (await mock.requests()).filter(isEmbed);

// The provider key a mock entry was called with.
function keyOf(q) {
  if (q.flavour === 'gemini-native') return q.key;
  return q.authorization ? q.authorization.replace(/^Bearer /, '') : null;
}

// A native entry carried its key only as x-goog-api-key.
function headerKeyOnly(q, keys) {
  assert.equal(q.flavour, 'gemini-native', q.path);
  assert.ok(keys.includes(q.headers['x-goog-api-key']), `x-goog-api-key ${String(q.headers['x-goog-api-key']).slice(0, 6)}...`);
  assert.equal(q.authorization, null, `Authorization sent to the native API (${q.path})`);
  assert.equal(q.key_source, 'header');
  assert.equal(q.key_in_query, false);
  assert.ok(!/[?&]key=/.test(q.path), `key in the URL: ${q.path.replace(/key=[^&]*/, 'key=...')}`);
  for (const k of keys) assert.ok(!q.path.includes(k), 'a provider key in the URL');
}

// --- streams -----------------------------------------------------------------------

// Chunks of an OpenAI chat stream (JSON events only) and whether it ended in [DONE].
function chunks(s) {
  assert.equal(s.status, 200, s.raw.slice(0, 400));
  const done = s.events.length > 0 && s.events[s.events.length - 1].data === '[DONE]';
  return { list: s.events.filter((e) => e.json).map((e) => e.json), done };
}

const deltas = (list, field) => list.filter((c) => c.choices && c.choices[0] && c.choices[0].delta &&
  typeof c.choices[0].delta[field] === 'string').map((c) => c.choices[0].delta[field]);
const finishes = (list) => list.filter((c) => c.choices && c.choices[0] && c.choices[0].finish_reason)
  .map((c) => c.choices[0].finish_reason);

// Tool calls of a stream, merged by index: [{index, ids:[...], name, args}].
function streamedCalls(list) {
  const by = new Map();
  for (const c of list) {
    const d = c.choices && c.choices[0] && c.choices[0].delta;
    if (!d || !Array.isArray(d.tool_calls)) continue;
    for (const tc of d.tool_calls) {
      assert.ok(Number.isInteger(tc.index), `tool call delta without an index: ${JSON.stringify(tc)}`);
      if (!by.has(tc.index)) by.set(tc.index, { index: tc.index, ids: [], name: '', args: '', extra: null });
      const e = by.get(tc.index);
      if (tc.id !== undefined && tc.id !== null) e.ids.push(tc.id);
      if (tc.function && typeof tc.function.name === 'string') e.name += tc.function.name;
      if (tc.function && typeof tc.function.arguments === 'string') e.args += tc.function.arguments;
      if (tc.extra_content) e.extra = tc.extra_content;
    }
  }
  return [...by.values()].sort((a, b) => a.index - b.index);
}

// Two calls get_weather {city:Oslo}, get_time {tz:CET} at indices 0 and 1,
// each with one stable, non-empty id; the ids distinct. Returns the ids.
function checkStreamedCalls(list, what) {
  const calls = streamedCalls(list);
  assert.deepEqual(calls.map((c) => c.index), [0, 1], `${what}: indices`);
  calls.forEach((c, i) => {
    assert.ok(c.ids.length >= 1, `${what}: call ${i} has no id`);
    assert.ok(c.ids.every((x) => x === c.ids[0]), `${what}: call ${i} id changes: ${c.ids}`);
    assert.ok(typeof c.ids[0] === 'string' && c.ids[0] !== '', `${what}: call ${i} id ${c.ids[0]}`);
    assert.equal(c.name, EXPECTED_CALLS[i][0], `${what}: call ${i} name`);
    assert.deepEqual(JSON.parse(c.args), EXPECTED_CALLS[i][1], `${what}: call ${i} arguments`);
  });
  assert.notEqual(calls[0].ids[0], calls[1].ids[0], `${what}: ids not distinct`);
  return calls;
}

function checkMessageCalls(msg, what) {
  assert.ok(Array.isArray(msg.tool_calls) && msg.tool_calls.length === 2, `${what}: ${JSON.stringify(msg)}`);
  msg.tool_calls.forEach((tc, i) => {
    assert.equal(tc.type, 'function');
    assert.ok(typeof tc.id === 'string' && tc.id !== '', `${what}: call ${i} id`);
    assert.equal(tc.function.name, EXPECTED_CALLS[i][0]);
    assert.deepEqual(JSON.parse(tc.function.arguments), EXPECTED_CALLS[i][1]);
  });
  assert.notEqual(msg.tool_calls[0].id, msg.tool_calls[1].id, `${what}: ids not distinct`);
  return msg.tool_calls;
}

// --- time ----------------------------------------------------------------------------

// Local wall time of an instant in Los Angeles, "HH:MM:SS".
function laTime(ms) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'America/Los_Angeles', hour: '2-digit',
    minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
}

// Epoch ms of the next midnight in America/Los_Angeles after `now`.
function nextPacificMidnight(now) {
  const [hh, mm, ss] = laTime(now).split(':').map(Number);
  let t = now - ((hh * 3600 + mm * 60 + ss) * 1000) - (now % 1000) + 24 * 3600 * 1000;
  // a DST change inside the day moves it by an hour: settle on 00:00:00
  for (let i = 0; i < 3 && laTime(t) !== '00:00:00'; i++) {
    const [h2] = laTime(t).split(':').map(Number);
    t += (h2 >= 12 ? 24 - h2 : -h2) * 3600 * 1000;
  }
  return t;
}

// --- the official SDK suites ---------------------------------------------------------

function npmReady() {
  for (const p of ['openai', 'anthropic0', 'anthropic1'])
    if (!fs.existsSync(path.join(CLIENT_DIR, 'node_modules', p, 'package.json'))) return false;
  return true;
}

function ensureClients() {
  if (npmReady()) return;
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: CLIENT_DIR, encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) throw new Error(`npm install failed: ${r.stderr}`);
}

function clientSuite(ctx, p, script, tag, env) {
  ensureClients();
  const r = spawnSync(process.execPath, [path.join(CLIENT_DIR, script)], {
    encoding: 'utf8', timeout: 240000,
    env: Object.assign({}, process.env, {
      AIPROXY_BASE_URL: `http://127.0.0.1:${p.port}/v1`, AIPROXY_ROOT: `http://127.0.0.1:${p.port}`,
      AIPROXY_KEY: h.ACCESS_KEY, AIPROXY_MOCK_URL: `http://127.0.0.1:${ctx.mock.port}`,
      AIPROXY_AUTO_MODEL_ECHO: '1', AIPROXY_GEMINI_API: 'native' }, env || {}),
  });
  process.stdout.write(r.stdout.split('\n').map((l) => (l ? `  ${tag}: ${l}\n` : '')).join(''));
  h.captured.push(r.stdout);
  const m = /^(\d+) passed, (\d+) failed/m.exec(r.stdout);
  if (!m) throw new Error(`${script} printed no summary (status ${r.status}): ${r.stderr.slice(0, 500)}`);
  if (Number(m[2]) !== 0 || Number(m[1]) === 0) throw new Error(`${script}: ${m[0]}`);
}

// The suite's gemini requests went to the native API, none to the compat one.
async function wentNative(mock) {
  const log = await mock.requests();
  const compat = log.filter((q) => q.flavour === 'gemini');
  const native = log.filter((q) => q.flavour === 'gemini-native' && isGen(q));
  assert.equal(compat.length, 0, `requests on /gemini: ${compat.map((q) => q.path).join(', ')}`);
  assert.ok(native.length >= 3, `only ${native.length} native generate requests`);
  for (const q of native) headerKeyOnly(q, h.KEYS.gemini);
}

// The openai package of tests/client (CommonJS entry).
function openaiSdk() {
  ensureClients();
  const mod = require(require.resolve('openai', { paths: [CLIENT_DIR] }));
  return mod.OpenAI || mod.default || mod;
}

// --- tool conversations ------------------------------------------------------------

// Turn 1 of the agent scenario: the calls as the client got them (with
// any extra_content) and the request id.
async function turn1(port, model, stream, question) {
  const body = { model, messages: user(question || QUESTION), tools: TOOLS.slice(0, 2) };
  if (stream) {
    const s = await h.stream(port, CHAT, Object.assign({ stream: true }, body));
    const { list, done } = chunks(s);
    assert.ok(done, 'turn 1 stream ends with [DONE]');
    assert.deepEqual(finishes(list), ['tool_calls'], 'turn 1 finish');
    const calls = checkStreamedCalls(list, 'turn 1').map((c) => ({ id: c.ids[0], type: 'function',
      function: { name: c.name, arguments: c.args }, extra_content: c.extra }));
    return { calls, reqId: s.headers['x-request-id'] };
  }
  const r = await h.request(port, 'POST', CHAT, { body });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.choices[0].finish_reason, 'tool_calls');
  return { calls: checkMessageCalls(r.json.choices[0].message, 'turn 1'), reqId: r.headers['x-request-id'] };
}

// The history of turn 2: the calls as most clients keep them (no
// extra_content; opts.sig: the client's own signature on the first call),
// then one tool result per call.
function turn2Messages(calls, opts = {}) {
  const tc = calls.map((c, i) => {
    const o = { id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } };
    if (opts.sig && i === 0) o.extra_content = { google: { thought_signature: opts.sig } };
    return o;
  });
  const results = opts.results || ['-3C, snow', '14:05'];
  return [...user(opts.question || QUESTION), { role: 'assistant', content: null, tool_calls: tc },
    ...calls.map((c, i) => ({ role: 'tool', tool_call_id: c.id, content: results[i] }))];
}

async function turn2(port, model, messages, stream) {
  const body = { model, messages, tools: TOOLS.slice(0, 2) };
  if (stream) {
    const s = await h.stream(port, CHAT, Object.assign({ stream: true }, body));
    if (s.status !== 200) return { status: s.status, text: null, raw: s.raw, reqId: s.headers['x-request-id'] };
    const { list } = chunks(s);
    return { status: 200, text: deltas(list, 'content').join(''), raw: s.raw, reqId: s.headers['x-request-id'] };
  }
  const r = await h.request(port, 'POST', CHAT, { body });
  return { status: r.status, text: r.status === 200 ? r.json.choices[0].message.content : null,
    raw: r.body, reqId: r.headers['x-request-id'], json: r.json };
}

// The mock's entries whose request mentions this question, in order.
async function entriesFor(mock, question) {
  return (await genSeen(mock)).filter((q) => JSON.stringify(q.body).includes(question));
}

// The pid that served request id `rid` (its log line "aiproxy[PID] ... req=RID ").
async function pidOf(p, rid) {
  assert.ok(rid, 'no x-request-id');
  const re = new RegExp(`aiproxy\\[(\\d+)\\][^\\n]*\\breq=${rid.replace(/[^0-9A-Za-z-]/g, '')}\\s`);
  return h.waitFor(() => { const m = re.exec(p.errorLog()); return m ? Number(m[1]) : 0; }, 3000,
    `log line of ${rid}`);
}

// --- embeddings ------------------------------------------------------------------------

// The mock's deterministic vector (tests/mock/README.md "Embeddings").
function mockVector(text, dim) {
  const v = [];
  for (let i = 0; i < dim; i++) {
    const d = crypto.createHash('sha256').update(`${i}:${text}`).digest();
    v.push(Number((d.readUInt32BE(0) / 4294967295 * 2 - 1).toFixed(6)));
  }
  return v;
}

// What the proxy answers for it over the native API: gemini-embedding-001
// normalises only full-size (3072) vectors, so the proxy scales shorter
// ones to unit length (provider-apis-2026.md §6); the compat routes relay.
function nativeVector(text, dim) {
  const v = mockVector(text, dim);
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / n);
}

function closeTo(got, want, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  got.forEach((x, j) => assert.ok(Math.abs(x - want[j]) < 1e-6, `${what}[${j}] ${x} vs ${want[j]}`));
}

function decodeB64(s) {
  const b = Buffer.from(s, 'base64');
  assert.equal(b.length % 4, 0, 'base64 embedding is not float32 data');
  return Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(4 * i));
}

const totalRequests = (u, prov) => keysOf(u, prov).reduce((a, k) => a + k.requests, 0);

function sdkClient(OpenAI, p) {
  return new OpenAI({ baseURL: `http://127.0.0.1:${p.port}/v1`, apiKey: h.ACCESS_KEY,
    maxRetries: 0, timeout: 20000 });
}

// Google's 429 with a RetryInfo hint, in a Gemini flavour's shape.
function google429(flavour, delay) {
  const e = { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Resource has been exhausted (e.g. check quota).',
    details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay }] };
  return flavour === 'gemini' ? [{ error: e }] : { error: e };
}

// Nothing in a response or log line shows these keys.
function noLeak(texts, keys) {
  for (const k of keys)
    for (const t of texts)
      assert.ok(!String(t).includes(k), `provider key ${k.slice(0, 10)}... leaked`);
}

module.exports = (test) => {
  // ======================================================= 1. SDK suites over native

  test('native: openai sdk v6 chat suite (sdk_test.mjs) over "api": "native"', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock, { model_usage_gap_percentage: 5 }), async (p) => {
      clientSuite(ctx, p, 'sdk_test.mjs', 'sdk-native');
      await wentNative(ctx.mock);
    }, { threads: 16 });
  }, { timeout: 300000 });

  test('native: openai sdk v6 Responses suite (responses_test.mjs) over "api": "native"', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock, { model_usage_gap_percentage: 5 }), async (p) => {
      clientSuite(ctx, p, 'responses_test.mjs', 'responses-native');
      await wentNative(ctx.mock);
    }, { threads: 16 });
  }, { timeout: 300000 });

  test('native: @anthropic-ai/sdk 0.137 and 1.17 suite (anthropic_test.mjs) over "api": "native"', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock, { model_usage_gap_percentage: 5 }), async (p) => {
      clientSuite(ctx, p, 'anthropic_test.mjs', 'anthropic-native');
      await wentNative(ctx.mock);
    }, { threads: 16 });
  }, { timeout: 300000 });

  // ======================================================= 2. native specifics

  test('native: text non-stream and stream: content, finish stop, exact usage, generateContent / streamGenerateContent?alt=sse, key only in x-goog-api-key', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      const r = await h.request(p.port, 'POST', CHAT, { body: { model: 'gemini-mock-text',
        messages: [{ role: 'system', content: 'Be terse.' }, ...user('Say hello.')] } });
      assert.equal(r.status, 200, r.body);
      const c = r.json.choices[0];
      assert.equal(c.message.content, HELLO);
      assert.equal(c.finish_reason, 'stop');
      let seen = await genSeen(ctx.mock);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].path, '/gemini-native/models/gemini-mock-text:generateContent');
      assert.deepEqual(seen[0].body.systemInstruction.parts.map((x) => x.text), ['Be terse.']);
      assert.ok(!seen[0].body.contents.some((x) => JSON.stringify(x).includes('Be terse.')), 'system text left in contents');
      headerKeyOnly(seen[0], h.KEYS.gemini);
      const want = seen[0].usage;
      for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'])
        assert.equal(r.json.usage[k], want[k], `usage.${k} ${JSON.stringify(r.json.usage)} vs upstream ${JSON.stringify(want)}`);

      await ctx.mock.reset();
      const s = await h.stream(p.port, CHAT, ask('gemini-mock-text', { stream: true, stream_options: { include_usage: true } }));
      const { list, done } = chunks(s);
      assert.ok(done, 'ends with [DONE]');
      assert.equal(deltas(list, 'content').join(''), HELLO);
      assert.ok(deltas(list, 'content').filter((x) => x !== '').length >= 3, 'streamed piece by piece');
      assert.deepEqual(finishes(list), ['stop']);
      seen = await genSeen(ctx.mock);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].path, '/gemini-native/models/gemini-mock-text:streamGenerateContent?alt=sse');
      headerKeyOnly(seen[0], h.KEYS.gemini);
      const u = list.filter((x) => x.usage).map((x) => x.usage);
      assert.equal(u.length, 1, `usage chunks: ${JSON.stringify(u)}`);
      for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'])
        assert.equal(u[0][k], seen[0].usage[k], `stream usage.${k}`);

      // a Gemini 3 text answer ends with a signature-only part: no stray delta
      await ctx.mock.reset();
      const g3 = await h.stream(p.port, CHAT, ask(`${G3}text`, { stream: true }));
      const g = chunks(g3);
      assert.equal(deltas(g.list, 'content').join(''), HELLO);
      assert.deepEqual(finishes(g.list), ['stop']);
      assert.ok(!g.list.some((x) => x.usage), 'usage chunk shown to a client that did not ask');
      assert.equal(g3.headers['x-aiproxy-model'], `${G3}text`);
    });
  });

  test('native: parallel tool calls (one event per call, one event for both, calls without ids): stable indices and ids, finish tool_calls', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      const synthesized = [];
      for (const sc of ['tools', 'toolsone', 'toolsnoid']) {
        const model = `gemini-mock-${sc}`;
        await ctx.mock.reset();
        const s = await h.stream(p.port, CHAT, { model, stream: true, messages: user(QUESTION), tools: TOOLS.slice(0, 2) });
        const { list, done } = chunks(s);
        assert.ok(done, `${sc}: [DONE]`);
        const calls = checkStreamedCalls(list, `${sc} stream`);
        assert.deepEqual(finishes(list), ['tool_calls'], `${sc}: finish`);
        assert.ok(!deltas(list, 'content').some((x) => x !== ''), `${sc}: text beside the calls`);
        const [q] = await genSeen(ctx.mock);
        const ids = calls.map((c) => c.ids[0]);
        if (sc === 'toolsnoid') synthesized.push(...ids);
        else assert.deepEqual(ids, [`fc_${q.seq}_0`, `fc_${q.seq}_1`], `${sc}: the upstream's call ids kept`);
        // the declarations went out as native functionDeclarations
        const decl = (q.body.tools || []).flatMap((t) => t.functionDeclarations || []);
        assert.deepEqual(decl.map((d) => d.name), ['get_weather', 'get_time']);
        assert.deepEqual(decl[0].parametersJsonSchema || decl[0].parameters, TOOLS[0].function.parameters);

        await ctx.mock.reset();
        const r = await h.request(p.port, 'POST', CHAT, { body: { model, messages: user(QUESTION), tools: TOOLS.slice(0, 2) } });
        assert.equal(r.status, 200, r.body);
        const m = r.json.choices[0];
        assert.equal(m.finish_reason, 'tool_calls', `${sc}: non-stream finish`);
        assert.ok(m.message.content === null || m.message.content === '', `${sc}: content ${m.message.content}`);
        const tc = checkMessageCalls(m.message, `${sc} non-stream`);
        const [q2] = await genSeen(ctx.mock);
        if (sc === 'toolsnoid') synthesized.push(...tc.map((x) => x.id));
        else assert.deepEqual(tc.map((x) => x.id), [`fc_${q2.seq}_0`, `fc_${q2.seq}_1`]);
      }
      assert.equal(new Set(synthesized).size, 4, `synthesized ids repeat across responses: ${synthesized}`);
    });
  });

  test('native: thought parts are reasoning_content only when the client asked (reasoning_effort); usage carries reasoning tokens', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      const model = 'gemini-2.5-flash-mock-reasoning';
      const REASON = 'Thinking about the answer.';
      const usageLike = (got, want, what) => {
        for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'])
          assert.equal(got[k], want[k], `${what} usage.${k}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
        assert.equal(got.completion_tokens_details && got.completion_tokens_details.reasoning_tokens,
          want.completion_tokens_details.reasoning_tokens, `${what} reasoning_tokens ${JSON.stringify(got)}`);
      };
      // not asked: hidden, both ways, but the tokens are counted
      let r = await h.request(p.port, 'POST', CHAT, { body: ask(model) });
      assert.equal(r.status, 200, r.body);
      let msg = r.json.choices[0].message;
      assert.equal(msg.content, HELLO);
      assert.ok(!msg.reasoning_content && !msg.reasoning, `reasoning shown unasked: ${JSON.stringify(msg)}`);
      let [q] = await genSeen(ctx.mock);
      const tc0 = q.body.generationConfig && q.body.generationConfig.thinkingConfig;
      assert.ok(!(tc0 && tc0.includeThoughts), `includeThoughts unasked: ${JSON.stringify(tc0)}`);
      assert.equal(q.usage.completion_tokens_details.reasoning_tokens, 7);
      usageLike(r.json.usage, q.usage, 'unasked');
      await ctx.mock.reset();
      let s = await h.stream(p.port, CHAT, ask(model, { stream: true }));
      let c = chunks(s);
      assert.equal(deltas(c.list, 'content').join(''), HELLO);
      assert.deepEqual(deltas(c.list, 'reasoning_content').concat(deltas(c.list, 'reasoning')).filter((x) => x), [],
        'reasoning streamed unasked');

      // asked: shown, before the text
      await ctx.mock.reset();
      r = await h.request(p.port, 'POST', CHAT, { body: ask(model, { reasoning_effort: 'low' }) });
      assert.equal(r.status, 200, r.body);
      msg = r.json.choices[0].message;
      assert.equal(msg.reasoning_content, REASON, JSON.stringify(msg));
      assert.equal(msg.content, HELLO);
      [q] = await genSeen(ctx.mock);
      const tc = q.body.generationConfig && q.body.generationConfig.thinkingConfig;
      assert.ok(tc && tc.includeThoughts === true, `thinkingConfig ${JSON.stringify(tc)}`);
      assert.ok(!('reasoning_effort' in q.body), 'reasoning_effort sent to the native API');
      usageLike(r.json.usage, q.usage, 'asked');
      await ctx.mock.reset();
      s = await h.stream(p.port, CHAT, ask(model, { stream: true, reasoning_effort: 'low',
        stream_options: { include_usage: true } }));
      c = chunks(s);
      assert.equal(deltas(c.list, 'reasoning_content').join(''), REASON);
      assert.equal(deltas(c.list, 'content').join(''), HELLO);
      const firstText = c.list.findIndex((x) => deltas([x], 'content').some((t) => t !== ''));
      const lastThought = c.list.map((x) => deltas([x], 'reasoning_content').length > 0).lastIndexOf(true);
      assert.ok(lastThought < firstText, 'reasoning after the text');
      [q] = await genSeen(ctx.mock);
      const su = c.list.filter((x) => x.usage).map((x) => x.usage);
      assert.equal(su.length, 1);
      usageLike(su[0], q.usage, 'stream');
    });
  });

  // README "Reasoning": the effort becomes what the model family takes
  test('native: reasoning_effort becomes thinkingLevel (3.x) or thinkingBudget (2.5) per the README table; summaries only for an effort other than none', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      const rows = [
        ['gemini-3-flash-preview', 'minimal', { thinkingLevel: 'minimal' }],
        ['gemini-3-flash-preview', 'high', { thinkingLevel: 'high' }],
        ['gemini-3-flash-preview', 'xhigh', { thinkingLevel: 'high' }],
        ['gemini-3-flash-preview', 'none', { thinkingLevel: 'minimal' }],
        ['gemini-3.1-pro-preview', 'minimal', { thinkingLevel: 'low' }],
        ['gemini-3.1-pro-preview', 'medium', { thinkingLevel: 'medium' }],
        ['gemini-3-pro-preview', 'low', { thinkingLevel: 'low' }],
        ['gemini-2.5-flash', 'none', { thinkingBudget: 0 }],
        ['gemini-2.5-flash', 'low', { thinkingBudget: 1024 }],
        ['gemini-2.5-flash', 'medium', { thinkingBudget: 8192 }],
        ['gemini-2.5-flash', 'high', { thinkingBudget: 24576 }],
        ['gemini-2.5-pro', 'none', { thinkingBudget: 128 }],
        ['gemini-2.5-pro', 'xhigh', { thinkingBudget: 32768 }],
      ];
      const bad = [];
      for (const [family, effort, want] of rows) {
        await ctx.mock.reset();
        const model = `${family}-mock-text`;
        const r = await h.request(p.port, 'POST', CHAT, { body: ask(model, { reasoning_effort: effort }) });
        const [q] = await genSeen(ctx.mock);
        const tc = (q && q.body.generationConfig && q.body.generationConfig.thinkingConfig) || {};
        const got = {};
        for (const k of Object.keys(want)) got[k] = tc[k];
        if (r.status !== 200 || JSON.stringify(got) !== JSON.stringify(want) ||
          (effort === 'none') === (tc.includeThoughts === true) ||
          ('thinkingLevel' in tc && 'thinkingBudget' in tc))
          bad.push(`${family} ${effort}: status ${r.status}, thinkingConfig ${JSON.stringify(tc)}, want ${JSON.stringify(want)}`);
      }
      assert.deepEqual(bad, []);
    });
  });

  test('native: finish reasons: MAX_TOKENS -> length, SAFETY and a blocked prompt -> content_filter, MALFORMED_FUNCTION_CALL -> a clear error', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      for (const [sc, text, fin] of [['length', 'Hello from', 'length'], ['safety', 'Hello', 'content_filter'],
        ['blocked', '', 'content_filter']]) {
        const model = `gemini-mock-${sc}`;
        const r = await h.request(p.port, 'POST', CHAT, { body: ask(model) });
        assert.equal(r.status, 200, `${sc}: ${r.body}`);
        assert.equal(r.json.choices[0].finish_reason, fin, `${sc} non-stream finish`);
        assert.equal(r.json.choices[0].message.content || '', text, `${sc} non-stream content`);
        const s = await h.stream(p.port, CHAT, ask(model, { stream: true }));
        const { list, done } = chunks(s);
        assert.ok(done, `${sc}: [DONE]`);
        assert.deepEqual(finishes(list), [fin], `${sc} stream finish`);
        assert.equal(deltas(list, 'content').join(''), text, `${sc} stream content`);
        assert.ok(!list.some((x) => x.error), `${sc}: error event ${s.raw.slice(0, 300)}`);
      }
      const clear = (e, what) => {
        assert.ok(e && typeof e.message === 'string', `${what}: no OpenAI error object`);
        assert.match(`${e.message} ${e.code}`, /malformed.function.call/i, `${what}: ${JSON.stringify(e)}`);
      };
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-malformed', { tools: TOOLS.slice(0, 1) }) });
      assert.ok(r.status >= 400, `malformed non-stream: ${r.status} ${r.body}`);
      clear(r.json && r.json.error, 'non-stream');
      const s = await h.stream(p.port, CHAT, ask('gemini-mock-malformed', { stream: true, tools: TOOLS.slice(0, 1) }));
      if (s.status === 200) {
        const errs = s.events.filter((e) => e.json && e.json.error);
        assert.equal(errs.length, 1, `stream: ${s.raw.slice(0, 400)}`);
        clear(errs[0].json.error, 'stream');
        assert.ok(!s.events.some((e) => e.json && e.json.choices && finishes([e.json]).length), 'a finish_reason beside the error');
      } else {
        let j = null;
        try { j = JSON.parse(s.raw); } catch (e) { /* not JSON */ }
        clear(j && j.error, `stream status ${s.status}`);
      }
    });
  });

  test('native: /v1/models from every page of the native list, generateContent models only (embedding model dropped), key in x-goog-api-key', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      const r = await h.request(p.port, 'GET', '/v1/models');
      assert.equal(r.status, 200, r.body);
      const ids = r.json.data.map((m) => m.id);
      for (const id of ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-3-flash-preview', 'gemini-3.1-pro-preview'])
        assert.ok(ids.includes(id), `${id} missing from ${ids}`);
      assert.ok(!ids.some((x) => x.includes('embedding')), `embedding model listed: ${ids}`);
      assert.ok(!ids.some((x) => x.startsWith('models/')), 'ids keep the "models/" prefix');
      assert.equal(ids.filter((x) => x === 'gemini-2.5-flash').length, 1, 'duplicates');
      const lists = (await ctx.mock.requests()).filter((q) => q.flavour === 'gemini-native' && q.page);
      assert.ok(lists.length >= 2, `pages fetched: ${lists.length}`);
      assert.equal(lists[0].page.offset, 0);
      assert.ok(lists.some((q) => q.page.offset === 3 && q.path.includes(`pageToken=${lists[0].page.next}`)),
        `second page not asked with the token: ${lists.map((q) => q.path)}`);
      for (const q of lists) headerKeyOnly(q, h.KEYS.gemini);
      const one = await h.request(p.port, 'GET', '/v1/models/gemini-3.1-pro-preview');
      assert.equal(one.status, 200, one.body);
      assert.equal(one.json.id, 'gemini-3.1-pro-preview');
    });
  });

  test('native: an AQ. key works on both Gemini paths (chat, stream, model list), sent only in its header', async (ctx) => {
    const AQ = 'AQ.Ab8RN6LnativeTestKey-GGGG7777';
    for (const f of FLAVOURS) {
      const cfg = f.cfg(ctx.mock);
      cfg.provider_keys[1].key = [AQ];
      await withProxy(ctx, cfg, async (p) => {
        await ctx.mock.reset();
        const texts = [];
        const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
        texts.push(r.body);
        assert.equal(r.status, 200, `${f.name}: ${r.body}`);
        assert.equal(r.json.choices[0].message.content, HELLO);
        const s = await h.stream(p.port, CHAT, ask('gemini-mock-text', { stream: true }));
        texts.push(s.raw);
        assert.equal(deltas(chunks(s).list, 'content').join(''), HELLO, f.name);
        const m = await h.request(p.port, 'GET', '/v1/models');
        texts.push(m.body);
        assert.ok(m.json.data.some((x) => x.id === 'gemini-2.5-pro'), `${f.name}: the Gemini list was not fetched`);
        const log = (await ctx.mock.requests()).filter((q) => q.flavour === f.flavour);
        assert.ok(log.length >= 3, `${f.name}: ${log.length} upstream requests`);
        for (const q of log) {
          assert.equal(keyOf(q), AQ, `${f.name}: the key arrived as ${String(keyOf(q)).slice(0, 8)}...`);
          if (f.flavour === 'gemini-native') headerKeyOnly(q, [AQ]);
          else assert.equal(q.authorization, `Bearer ${AQ}`);
        }
        const u = await usage(p);
        assert.ok(keysOf(u, 'gemini').every((k) => k.state === 'active'), `${f.name}: key state`);
        texts.push(JSON.stringify(u));
        noLeak([...texts, p.errorLog()], [AQ]);
      });
    }
  }, { timeout: 40000 });

  // ======================================================= 3. signature continuity

  for (const f of FLAVOURS) {
    test(`native: signature continuity (${f.name}): the client drops extra_content, the recorded signature goes back; unknown call ids get the bypass`, async (ctx) => {
      await withProxy(ctx, f.cfg(ctx.mock), async (p) => {
        const model = `${G3}agent`;
        // call ids the proxy never saw: the documented bypass
        const q = `${QUESTION} unseen ${crypto.randomBytes(4).toString('hex')}`;
        const calls = EXPECTED_CALLS.map(([name, args], i) => ({ id: `call_never_seen_${i}_${q.slice(-8)}`,
          type: 'function', function: { name, arguments: JSON.stringify(args) } }));
        const r = await turn2(p.port, model, turn2Messages(calls, { question: q }), false);
        assert.equal(r.status, 200, r.raw);
        assert.equal(r.text, ROUND_TRIP);
        const [e] = await entriesFor(ctx.mock, q);
        assert.equal(e.sig_check.steps[0].verdict, 'bypass', JSON.stringify(e.sig_check));
        assert.equal(e.sig_check.steps[0].signature, BYPASS);
        // a model that does not enforce gets no invented signature
        const q2 = `${QUESTION} g25 ${crypto.randomBytes(4).toString('hex')}`;
        const r2 = await turn2(p.port, 'gemini-2.5-flash-mock-agent', turn2Messages(calls, { question: q2 }), false);
        assert.equal(r2.status, 200, r2.raw);
        const [e2] = await entriesFor(ctx.mock, q2);
        assert.ok(!JSON.stringify(e2.body).includes(BYPASS), 'bypass sent to a model before Gemini 3');
        for (const stream of [true, false]) {
          const q = `${QUESTION} ${f.name} ${stream ? 'stream' : 'plain'} ${crypto.randomBytes(4).toString('hex')}`;
          const t1 = await turn1(p.port, model, stream, q);
          const [e1] = await entriesFor(ctx.mock, q);
          assert.ok(e1 && Array.isArray(e1.signatures_issued) && e1.signatures_issued.length === 1,
            `turn 1 issued ${JSON.stringify(e1 && e1.signatures_issued)}`);
          const sig = e1.signatures_issued[0];
          // the signature reached the client on the first call (round trip)
          const got = t1.calls[0].extra_content && t1.calls[0].extra_content.google &&
            t1.calls[0].extra_content.google.thought_signature;
          assert.equal(got, sig, 'turn 1: the signature was not given to the client');
          const r = await turn2(p.port, model, turn2Messages(t1.calls, { question: q }), !stream);
          assert.equal(r.status, 200, `turn 2 (${stream ? 'plain' : 'stream'}): ${String(r.raw).slice(0, 400)}`);
          assert.equal(r.text, ROUND_TRIP);
          const all = await entriesFor(ctx.mock, q);
          assert.equal(all.length, 2, `upstream requests ${all.length}`);
          const chk = all[1].sig_check;
          assert.equal(chk.result, 'ok');
          assert.equal(chk.steps.length, 1);
          assert.equal(chk.steps[0].verdict, 'issued', `the signature of a ${stream ? 'streamed' : 'non-stream'} ` +
            `turn 1 was not restored: turn 2 sent ${JSON.stringify(chk.steps[0])}`);
          assert.equal(chk.steps[0].signature, sig, 'not the signature turn 1 got');
        }
      });
    }, { timeout: 40000 });

    test(`native: a client's own signature is never replaced (${f.name})`, async (ctx) => {
      await withProxy(ctx, f.cfg(ctx.mock), async (p) => {
        const model = `${G3}agent`;
        const qa = `${QUESTION} own-a ${crypto.randomBytes(4).toString('hex')}`;
        const qb = `${QUESTION} own-b ${crypto.randomBytes(4).toString('hex')}`;
        const a = await turn1(p.port, model, false, qa);
        const b = await turn1(p.port, model, false, qb);
        const sigA = (await entriesFor(ctx.mock, qa))[0].signatures_issued[0];
        const sigB = (await entriesFor(ctx.mock, qb))[0].signatures_issued[0];
        assert.notEqual(sigA, sigB);
        // conversation B's calls with conversation A's (valid) signature: kept
        const r = await turn2(p.port, model, turn2Messages(b.calls, { question: qb, sig: sigA }), false);
        assert.equal(r.status, 200, r.raw);
        const eb = (await entriesFor(ctx.mock, qb))[1];
        assert.equal(eb.sig_check.steps[0].signature, sigA, 'the client\'s signature was replaced');
        // an invalid one of the client's own: sent as it is, the upstream's 400 relayed
        const own = Buffer.from(`client-own-signature-${f.name}`).toString('base64');
        await ctx.mock.reset();
        const bad = await turn2(p.port, model, turn2Messages(a.calls, { question: qa, sig: own }), false);
        assert.equal(bad.status, 400, bad.raw);
        assert.match(bad.json.error.message, /Corrupted thought signature/);
        const seen = await entriesFor(ctx.mock, qa);
        assert.ok(seen.length >= 1);
        for (const e of seen)
          assert.equal(e.sig_check.steps[0].signature, own, `attempt sent ${e.sig_check.steps[0].signature}`);
      });
    });

    test(`native: multi-step tool turn on Gemini 3 (${f.name}): each step's signature restored`, async (ctx) => {
      await withProxy(ctx, f.cfg(ctx.mock), async (p) => {
        const model = `${G3}multistep`;
        const q = `${QUESTION} multistep ${crypto.randomBytes(4).toString('hex')}`;
        const s1 = await turn1(p.port, model, true, q);
        const msgs = turn2Messages(s1.calls, { question: q });
        // streamed steps (a non-stream turn is the continuity case's)
        const s2 = await h.stream(p.port, CHAT, { model, stream: true, messages: msgs, tools: TOOLS });
        const step2 = streamedCalls(chunks(s2).list);
        assert.ok(step2.length === 1 && step2[0].name === 'get_forecast' && step2[0].ids.length >= 1, s2.raw.slice(0, 400));
        assert.deepEqual(JSON.parse(step2[0].args), { city: 'Oslo', days: 2 });
        msgs.push({ role: 'assistant', content: null, tool_calls: [{ id: step2[0].ids[0], type: 'function',
          function: { name: 'get_forecast', arguments: step2[0].args } }] },
        { role: 'tool', tool_call_id: step2[0].ids[0], content: 'sun' });
        const r3 = await turn2(p.port, model, msgs, true);
        assert.equal(r3.status, 200, r3.raw);
        assert.equal(r3.text, 'Got 3 tool results: -3C, snow | 14:05 | sun');
        const all = await entriesFor(ctx.mock, q);
        assert.equal(all.length, 3);
        const issued = all.slice(0, 2).map((e) => e.signatures_issued[0]);
        assert.deepEqual(all[2].sig_check.steps.map((x) => [x.verdict, x.signature]),
          [['issued', issued[0]], ['issued', issued[1]]]);
      });
    });

    test(`native: signature continuity across two responders (${f.name}): turn 2 on another process restores turn 1's signature`, async (ctx) => {
      await withProxy(ctx, f.cfg(ctx.mock), async (p) => {
        const model = `${G3}agent`;
        const q = `${QUESTION} procs ${crypto.randomBytes(4).toString('hex')}`;
        const t1 = await turn1(p.port, model, true, q);
        const pid1 = await pidOf(p, t1.reqId);
        const sig = (await entriesFor(ctx.mock, q))[0].signatures_issued[0];
        const msgs = turn2Messages(t1.calls, { question: q });
        // lighttpd gives a request to the least busy responder: hold one
        // busy with a slow stream so the turn lands on the other, retrying
        // (bounded) until it is served by a different pid
        let other = null;
        const pids = new Set([pid1]);
        for (let i = 0; i < 12 && !other; i++) {
          const hold = h.stream(p.port, CHAT, { model: 'openai/mock-slow', stream: true, messages: user(`hold ${i}`) });
          await h.sleep(60);
          const r = await turn2(p.port, model, msgs, i % 2 === 1);
          assert.equal(r.status, 200, `turn 2 attempt ${i}: ${String(r.raw).slice(0, 300)}`);
          assert.equal(r.text, ROUND_TRIP);
          const pid = await pidOf(p, r.reqId);
          pids.add(pid);
          if (pid !== pid1) other = r;
          await hold;
        }
        assert.ok(other, `every turn 2 was served by pid ${pid1} (pids seen: ${[...pids]})`);
        const all = await entriesFor(ctx.mock, q);
        for (const e of all.slice(1)) {
          assert.equal(e.sig_check.steps[0].verdict, 'issued', JSON.stringify(e.sig_check));
          assert.equal(e.sig_check.steps[0].signature, sig);
        }
        assert.equal(h.responderPids(ctx.bin, p.tmp).length, 2, 'two responders');
      }, { procs: 2, threads: 4 });
    }, { timeout: 60000 });
  }

  test('native: the signature cache is size-bounded (signature_cache_max 16): an evicted call gets the bypass, a recent one its signature', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock, { signature_cache_max: 16 }), async (p) => {
      const model = `${G3}agent`;
      const tag = crypto.randomBytes(4).toString('hex');
      const convs = [];
      for (let i = 0; i < 40; i++) {
        const q = `${QUESTION} evict ${tag} ${i}`;
        convs.push({ q, t1: await turn1(p.port, model, true, q) });
      }
      const oldest = convs[0];
      const newest = convs[convs.length - 1];
      const rN = await turn2(p.port, model, turn2Messages(newest.t1.calls, { question: newest.q }), false);
      assert.equal(rN.status, 200, rN.raw);
      const eN = (await entriesFor(ctx.mock, newest.q))[1];
      assert.equal(eN.sig_check.steps[0].verdict, 'issued', JSON.stringify(eN.sig_check));
      const rO = await turn2(p.port, model, turn2Messages(oldest.t1.calls, { question: oldest.q }), false);
      assert.equal(rO.status, 200, rO.raw);
      const eO = (await entriesFor(ctx.mock, oldest.q))[1];
      assert.equal(eO.sig_check.steps[0].verdict, 'bypass', `oldest of 40 still cached: ${JSON.stringify(eO.sig_check)}`);
    });
  }, { timeout: 60000 });

  // ======================================================= 4. limit: 0

  for (const f of FLAVOURS) {
    test(`native: limit: 0 on one key (${f.name}) marks only that (key, model) not entitled until Pacific midnight; the key serves other models`, async (ctx) => {
      await withProxy(ctx, f.cfg(ctx.mock), async (p) => {
        const M1 = 'gemini-2.5-flash-mock-text';
        const M2 = 'gemini-2.5-pro-mock-text';
        await ctx.mock.faults([{ flavour: f.flavour, preset: 'nolimit', times: 1 }]);
        const t0 = Date.now();
        const r = await h.request(p.port, 'POST', CHAT, { body: ask(M1) });
        assert.equal(r.status, 200, r.body);
        let seen = await genSeen(ctx.mock);
        assert.equal(seen.length, 2, 'retried once');
        assert.equal(seen[0].status, 429);
        const marked = keyOf(seen[0]);
        assert.notEqual(keyOf(seen[1]), marked, 'retried on the same key');
        const u = await usage(p);
        const ks = keysOf(u, 'gemini');
        const withMark = ks.filter((k) => k.not_entitled && Object.keys(k.not_entitled).length);
        assert.equal(withMark.length, 1, `not_entitled: ${JSON.stringify(ks.map((k) => k.not_entitled))}`);
        assert.deepEqual(Object.keys(withMark[0].not_entitled), [M1]);
        const until = Date.parse(withMark[0].not_entitled[M1]);
        assert.equal(laTime(until), '00:00:00', `until ${withMark[0].not_entitled[M1]} is not Pacific midnight`);
        assert.ok(until > t0 && until <= t0 + 25 * 3600 * 1000, `until ${withMark[0].not_entitled[M1]}`);
        assert.ok(Math.abs(until - nextPacificMidnight(t0)) < 2000, 'not the next Pacific midnight');
        assert.equal(withMark[0].state, 'active', `the key itself was penalised: ${withMark[0].state} ${withMark[0].reason}`);
        // the same key serves another model (least used: it gave its slot back)
        await ctx.mock.reset();
        for (let i = 0; i < 3; i++)
          assert.equal((await h.request(p.port, 'POST', CHAT, { body: ask(M2) })).status, 200);
        seen = await genSeen(ctx.mock);
        assert.ok(seen.some((q) => keyOf(q) === marked && q.status === 200), 'the marked key did not serve another model');
        // ... but not that model
        await ctx.mock.reset();
        for (let i = 0; i < 4; i++)
          assert.equal((await h.request(p.port, 'POST', CHAT, { body: ask(M1) })).status, 200);
        seen = await genSeen(ctx.mock);
        assert.equal(seen.length, 4);
        assert.ok(!seen.some((q) => keyOf(q) === marked), 'the not-entitled pair was used again');
      });
    });
  }

  test('native: limit: 0 on every key -> 429 insufficient_quota with Retry-After until Pacific midnight and x-should-retry: false; nothing more upstream', async (ctx) => {
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      const M = 'gemini-3.1-pro-mock-nolimit';
      const first = await h.request(p.port, 'POST', CHAT, { body: ask(M) });
      assert.equal(first.status, 429, first.body);
      let seen = await genSeen(ctx.mock);
      assert.ok(seen.length >= 1 && seen.length <= 2, `upstream tries ${seen.length}`);
      if (seen.length === 2) assert.notEqual(keyOf(seen[0]), keyOf(seen[1]));
      // every key marked, whichever path the first request took
      for (let i = 0; i < 3 && seen.length < 2; i++) {
        await h.request(p.port, 'POST', CHAT, { body: ask(M) });
        seen = await genSeen(ctx.mock);
      }
      const n = seen.length;
      assert.equal(new Set(seen.map(keyOf)).size, 2, 'each key tried once');
      const u = await usage(p);
      for (const k of keysOf(u, 'gemini')) {
        assert.ok(k.not_entitled && k.not_entitled[M], `key not marked: ${JSON.stringify(k)}`);
        assert.equal(k.state, 'active');
      }
      const now = Date.now();
      const r = await h.request(p.port, 'POST', CHAT, { body: ask(M) });
      assert.equal(r.status, 429, r.body);
      assert.equal(r.json.error.code, 'insufficient_quota', r.body);
      assert.equal(r.headers['x-should-retry'], 'false');
      const ra = Number(r.headers['retry-after']);
      const want = Math.ceil((nextPacificMidnight(now) - now) / 1000);
      assert.ok(Number.isInteger(ra) && Math.abs(ra - want) <= 5, `Retry-After ${r.headers['retry-after']}, want about ${want}`);
      assert.equal((await genSeen(ctx.mock)).length, n, 'a request went upstream for a model no key is entitled to');
      // quota0 (quotaValue "0", plain message) is the same signal
      await ctx.mock.reset();
      const q0 = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-2.5-flash-mock-quota0') });
      assert.equal(q0.status, 429, q0.body);
      const u2 = await usage(p);
      assert.ok(keysOf(u2, 'gemini').some((k) => k.not_entitled && k.not_entitled['gemini-2.5-flash-mock-quota0']),
        'quotaValue "0" not read as limit: 0');
      // other models on the same keys are untouched
      assert.equal((await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') })).status, 200);
    });
  });

  test('native: auto-model moves past a model no key is entitled to, then skips it without asking', async (ctx) => {
    const cfg = nativeCfg(ctx.mock, { 'auto-models': ['gemini-2.5-pro-mock-nolimit', 'gemini-mock-text'] });
    await withProxy(ctx, cfg, async (p) => {
      const nolimit = async () => (await genSeen(ctx.mock)).filter((q) => q.model === 'gemini-2.5-pro-mock-nolimit').length;
      for (let i = 0; i < 4; i++) {
        const before = await nolimit();
        const r = await h.request(p.port, 'POST', CHAT, { body: ask('auto-model') });
        assert.equal(r.status, 200, `auto-model request ${i}: ${r.body}`);
        assert.equal(r.json.choices[0].message.content, HELLO);
        assert.equal(r.headers['x-aiproxy-model'], 'gemini-mock-text');
        if (i === 3) assert.equal(await nolimit(), before, 'the not-entitled model was asked again');
      }
      assert.ok(await nolimit() <= 2, `nolimit asked ${await nolimit()} times with 2 keys`);
    });
  });

  // ======================================================= 5. 2026 key errors

  for (const f of FLAVOURS) {
    for (const [prefix, reason] of [['retired', '401 key refused'], ['nocreds', '401 key refused'],
      ['expired', '400 invalid key']]) {
      test(`native: 2026 key error "${prefix}" (${f.name}) -> key disabled (${reason}), the request retried on one other key`, async (ctx) => {
        const badKey = `${prefix}-NativeTestKey-HHHH8888`;
        const cfg = f.cfg(ctx.mock, { key_reprobe_s: 600 });
        cfg.provider_keys[1].key = [badKey, ...h.KEYS.gemini];
        await withProxy(ctx, cfg, async (p) => {
          const texts = [];
          let hit = null;
          for (let i = 0; i < 4 && !hit; i++) {
            await ctx.mock.reset();
            const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
            texts.push(r.body);
            assert.equal(r.status, 200, r.body);
            const seen = await genSeen(ctx.mock);
            assert.ok(seen.length <= 2, `${seen.length} attempts`);
            if (seen.some((q) => keyOf(q) === badKey)) hit = seen;
          }
          assert.ok(hit, 'the bad key was never tried');
          assert.equal(hit.length, 2, 'not retried exactly once');
          assert.equal(keyOf(hit[0]), badKey);
          assert.ok(h.KEYS.gemini.includes(keyOf(hit[1])));
          assert.equal(hit[1].status, 200);
          const u = await usage(p);
          texts.push(JSON.stringify(u));
          const dis = keysOf(u, 'gemini').filter((k) => k.state === 'disabled');
          assert.equal(dis.length, 1, `states ${keysOf(u, 'gemini').map((k) => k.state)}`);
          assert.equal(dis[0].reason, reason);
          await ctx.mock.reset();
          for (let i = 0; i < 3; i++) {
            const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
            assert.equal(r.status, 200);
            texts.push(r.body);
          }
          assert.ok(!(await genSeen(ctx.mock)).some((q) => keyOf(q) === badKey), 'the disabled key was used');
          noLeak([...texts, p.errorLog()], [badKey]);
        });
      });
    }

    test(`native: after a key error at most one other key is tried (${f.name})`, async (ctx) => {
      const bad = ['retired-NativeTestKey-IIII1111', 'nocreds-NativeTestKey-JJJJ2222', 'expired-NativeTestKey-KKKK3333'];
      const cfg = f.cfg(ctx.mock, { max_attempts: 5 });
      cfg.provider_keys[1].key = [...bad, h.KEYS.gemini[0]];
      await withProxy(ctx, cfg, async (p) => {
        for (let i = 0; i < 4; i++) {
          await ctx.mock.reset();
          const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
          const seen = await genSeen(ctx.mock);
          assert.ok(seen.length <= 2, `request ${i}: ${seen.length} attempts (${seen.map((q) => keyOf(q).slice(0, 7))})`);
          if (seen.length === 2 && bad.includes(keyOf(seen[1])))
            assert.notEqual(r.status, 200, 'two bad keys, yet 200');
        }
      });
    });

    test(`native: leaked-key 403 without a reason (${f.name}): relayed and the key kept when the probe finds it working; disabled and retried once when the probe refuses it`, async (ctx) => {
      const leaked = 'leaked-NativeTestKey-LLLL4444';
      const cfg = f.cfg(ctx.mock);
      cfg.provider_keys[1].key = [leaked, ...h.KEYS.gemini];
      const untilLeaked = async (p, want) => {
        for (let i = 0; i < 4; i++) {
          await ctx.mock.reset();
          const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
          const seen = await genSeen(ctx.mock);
          if (seen.some((q) => keyOf(q) === leaked)) return { r, seen };
          assert.equal(r.status, 200, r.body);
        }
        throw new Error(`the leaked key was never tried (${want})`);
      };
      const probes = async () => (await ctx.mock.requests()).filter((q) => q.method === 'GET' &&
        /\/models(\?|$)/.test(q.path) && (keyOf(q) === leaked || String(q.authorization).includes(leaked)));
      await withProxy(ctx, cfg, async (p) => {
        const { r, seen } = await untilLeaked(p, 'probe ok');
        await h.waitFor(async () => (await probes()).length >= 1, 3000, 'a probe of the leaked key');
        for (const q of await probes()) {
          if (f.flavour === 'gemini-native') {
            assert.equal(q.authorization === null ? null : q.authorization.replace(/ .*/, ' ...'), null,
              `the key probe ${q.method} ${q.path} sent an Authorization header, not x-goog-api-key`);
            headerKeyOnly(q, [leaked]);
          }
          assert.equal(q.status, 200, `the probe ${q.method} ${q.path} was answered ${q.status}`);
        }
        assert.equal(r.status, 403, `a 403 from a key the probe accepts is relayed: ${r.status} ${r.body}`);
        assert.equal(seen.length, 1, 'retried although the key is fine');
        const u = await usage(p);
        assert.ok(keysOf(u, 'gemini').every((k) => k.state !== 'disabled'), `disabled: ${JSON.stringify(keysOf(u, 'gemini'))}`);
        noLeak([r.body, p.errorLog(), JSON.stringify(u)], [leaked]);
      });
      await withProxy(ctx, cfg, async (p) => {
        const rule = () => ctx.mock.faults([{ key: leaked, flavour: f.flavour, path: '/models', preset: 'expired', times: -1 }]);
        await rule();
        let out = null;
        for (let i = 0; i < 4 && !out; i++) {
          await ctx.mock.reset();
          await rule();
          const r = await h.request(p.port, 'POST', CHAT, { body: ask('gemini-mock-text') });
          const seen = await genSeen(ctx.mock);
          if (seen.some((q) => keyOf(q) === leaked)) out = { r, seen };
        }
        assert.ok(out, 'the leaked key was never tried');
        assert.equal(out.r.status, 200, `after the probe refused the key: ${out.r.status} ${out.r.body}`);
        assert.equal(out.seen.length, 2);
        assert.equal(keyOf(out.seen[0]), leaked);
        const pr = await probes();
        assert.ok(pr.length >= 1, 'no probe');
        for (const q of pr) {
          if (f.flavour !== 'gemini-native') continue;
          assert.equal(q.authorization === null ? null : q.authorization.replace(/ .*/, ' ...'), null,
            `the key probe ${q.method} ${q.path} sent an Authorization header, not x-goog-api-key`);
          headerKeyOnly(q, [leaked]);
        }
        assert.ok(pr.some((q) => q.fault === 0), 'the probe was not refused by the fault rule');
        const dis = keysOf(await usage(p), 'gemini').filter((k) => k.state === 'disabled');
        assert.equal(dis.length, 1);
        assert.equal(dis[0].reason, 'probe key refused');
        noLeak([out.r.body, p.errorLog()], [leaked]);
      });
    }, { timeout: 40000 });
  }

  // ======================================================= 6. embeddings

  test('native: embeddings.create (openai SDK) over Gemini compat and OpenRouter: vectors relayed, dimensions, base64, one ledger request each', async (ctx) => {
    const OpenAI = openaiSdk();
    await withProxy(ctx, compatCfg(ctx.mock), async (p) => {
      const client = sdkClient(OpenAI, p);
      for (const [prov, model, flavour] of [['gemini', 'gemini-embedding-001', 'gemini'],
        ['openrouter', 'openai/text-embedding-3-small', 'openrouter']]) {
        await ctx.mock.reset();
        const before = totalRequests(await usage(p), prov);
        const e = await client.embeddings.create({ model, input: ['first text', 'second text'], dimensions: 4,
          encoding_format: 'float' });
        assert.equal(e.object, 'list');
        assert.equal(e.data.length, 2);
        e.data.forEach((d, i) => {
          assert.equal(d.index, i);
          assert.deepEqual(d.embedding, mockVector(i ? 'second text' : 'first text', 4), `${prov} vector ${i}`);
        });
        assert.ok(e.usage && e.usage.prompt_tokens === 6 && e.usage.total_tokens === 6, `${prov} usage ${JSON.stringify(e.usage)}`);
        const seen = await embedSeen(ctx.mock);
        assert.equal(seen.length, 1);
        assert.equal(seen[0].flavour, flavour);
        assert.equal(seen[0].path, `/${flavour}/embeddings`);
        assert.equal(seen[0].body.model, model);
        assert.equal(seen[0].body.dimensions, 4);
        assert.equal(totalRequests(await usage(p), prov), before + 1, `${prov}: ledger requests`);
        // base64 as asked, and the SDK's default (base64, decoded by the SDK)
        const b = await client.embeddings.create({ model, input: 'first text', dimensions: 4, encoding_format: 'base64' });
        assert.equal(typeof b.data[0].embedding, 'string', `${prov}: base64 not a string`);
        assert.deepEqual(decodeB64(b.data[0].embedding), mockVector('first text', 4).map(Math.fround));
        const d = await client.embeddings.create({ model, input: 'first text' });
        assert.deepEqual(d.data[0].embedding, mockVector('first text', 8).map(Math.fround), `${prov}: SDK default`);
        assert.equal(totalRequests(await usage(p), prov), before + 3);
      }
    });
  });

  test('native: embeddings.create (openai SDK) over native Gemini: batchEmbedContents, dimensions -> outputDimensionality, base64 equal to float, ledger', async (ctx) => {
    const OpenAI = openaiSdk();
    await withProxy(ctx, nativeCfg(ctx.mock), async (p) => {
      const client = sdkClient(OpenAI, p);
      const model = 'gemini-embedding-001';
      const texts = ['first text', 'second text', 'third, with "quotes" and ünïcode'];
      const before = totalRequests(await usage(p), 'gemini');
      const tokBefore = keysOf(await usage(p), 'gemini').reduce((a, k) => a + k.lifetime_tokens, 0);
      const e = await client.embeddings.create({ model, input: texts, dimensions: 5, encoding_format: 'float' });
      assert.equal(e.object, 'list');
      assert.equal(e.model, model);
      assert.equal(e.data.length, 3);
      e.data.forEach((d, i) => {
        assert.equal(d.object, 'embedding');
        assert.equal(d.index, i);
        closeTo(d.embedding, nativeVector(texts[i], 5), `vector ${i}`);
      });
      // the native API reports no usage: the shape stays, the ledger books the estimate
      assert.ok(e.usage && Number.isInteger(e.usage.prompt_tokens) && e.usage.total_tokens === e.usage.prompt_tokens,
        `usage ${JSON.stringify(e.usage)}`);
      const seen = await embedSeen(ctx.mock);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].path, `/gemini-native/models/${model}:batchEmbedContents`);
      headerKeyOnly(seen[0], h.KEYS.gemini);
      const rq = seen[0].body.requests;
      assert.equal(rq.length, 3);
      rq.forEach((x, i) => {
        assert.equal(x.outputDimensionality, 5, `requests[${i}].outputDimensionality`);
        assert.equal(x.content.parts.map((pt) => pt.text).join(''), texts[i]);
        assert.ok(x.model === undefined || x.model === `models/${model}`, `requests[${i}].model ${x.model}`);
      });
      assert.equal(totalRequests(await usage(p), 'gemini'), before + 1, 'ledger requests');
      const tok = keysOf(await usage(p), 'gemini').reduce((a, k) => a + k.lifetime_tokens, 0) - tokBefore;
      assert.ok(tok > 0, `no tokens booked for the embeddings request (${tok})`);
      const b = await client.embeddings.create({ model, input: texts, dimensions: 5, encoding_format: 'base64' });
      b.data.forEach((d, i) => {
        assert.equal(typeof d.embedding, 'string', 'base64 not a string');
        assert.deepEqual(decodeB64(d.embedding), e.data[i].embedding.map(Math.fround), `base64 vector ${i}`);
      });
      const dflt = await client.embeddings.create({ model, input: 'first text' });
      closeTo(dflt.data[0].embedding, nativeVector('first text', 8), 'SDK default (base64)');
      assert.equal(totalRequests(await usage(p), 'gemini'), before + 3, 'ledger requests');
      // a single string input
      const one = await client.embeddings.create({ model, input: 'solo', encoding_format: 'float' });
      assert.equal(one.data.length, 1);
      closeTo(one.data[0].embedding, nativeVector('solo', 8), 'single input');
    });
  });

  test('native: embeddings: auto-model -> 400 with nothing upstream; a 429 on the first key -> retried on another key of the same model', async (ctx) => {
    const OpenAI = openaiSdk();
    for (const f of FLAVOURS) {
      await withProxy(ctx, f.cfg(ctx.mock), async (p) => {
        const client = sdkClient(OpenAI, p);
        await ctx.mock.reset();
        const before = totalRequests(await usage(p), 'gemini') + totalRequests(await usage(p), 'openrouter');
        let err = null;
        try { await client.embeddings.create({ model: 'auto-model', input: 'x' }); } catch (e) { err = e; }
        assert.ok(err instanceof OpenAI.BadRequestError, `${f.name}: auto-model gave ${err ? `${err.constructor.name} ${err.status}` : 'a success'}`);
        assert.equal(err.status, 400);
        assert.equal((await embedSeen(ctx.mock)).length, 0, 'auto-model reached an upstream');
        assert.equal(totalRequests(await usage(p), 'gemini') + totalRequests(await usage(p), 'openrouter'), before,
          'a refused request was charged');

        await ctx.mock.reset();
        await ctx.mock.faults([{ flavour: f.flavour, path: '/embeddings', status: 429, times: 1,
          body: google429(f.flavour, '30s') }]);
        const e = await client.embeddings.create({ model: 'gemini-embedding-001', input: 'retry me', encoding_format: 'float' });
        closeTo(e.data[0].embedding, (f.name === 'native' ? nativeVector : mockVector)('retry me', 8), f.name);
        const seen = await embedSeen(ctx.mock);
        assert.equal(seen.length, 2, `${f.name}: attempts ${seen.length}`);
        assert.equal(seen[0].status, 429);
        assert.notEqual(keyOf(seen[0]), keyOf(seen[1]), `${f.name}: retried on the same key`);
        const m = seen.map((q) => (q.flavour === 'gemini-native' ? q.model : q.body.model));
        assert.deepEqual(m, ['gemini-embedding-001', 'gemini-embedding-001'], 'retried on another model');
        const cooling = keysOf(await usage(p), 'gemini').filter((k) => k.state === 'cooling');
        assert.equal(cooling.length, 1, `${f.name}: the 429 key not cooled`);
      });
    }
  }, { timeout: 40000 });

  test('native: compat Gemini thoughts asked through reasoning_effort arrive as reasoning_content, split out of content', async (ctx) => {
    const body = { model: 'gemini-2.5-flash-mock-reasoning', reasoning_effort: 'low',
      messages: [{ role: 'user', content: 'think' }] };
    const s = await h.stream(ctx.proxy.port, CHAT, Object.assign({ stream: true }, body));
    assert.equal(s.status, 200);
    const deltas = s.events.filter((e) => e.json && e.json.choices && e.json.choices[0])
      .map((e) => e.json.choices[0].delta || {});
    const content = deltas.map((d) => d.content || '').join('');
    const reasoning = deltas.map((d) => d.reasoning_content || '').join('');
    assert.equal(reasoning, 'Thinking about the answer.');
    assert.equal(content, 'Hello from Gemini!');
    const up = (await ctx.mock.requests()).filter((q) => q.path.endsWith('/chat/completions')).pop();
    assert.equal(up.body.reasoning_effort, undefined, 'the effort went as thinking_config');
    assert.equal(up.body.extra_body.google.thinking_config.thinking_budget, 1024);
    assert.equal(up.body.extra_body.google.thinking_config.include_thoughts, true);
    const r = await h.request(ctx.proxy.port, 'POST', CHAT, { body });
    assert.equal(r.json.choices[0].message.content, 'Hello from Gemini!');
    assert.equal(r.json.choices[0].message.reasoning_content, 'Thinking about the answer.');
    const plain = await h.request(ctx.proxy.port, 'POST', CHAT, { body: { model: body.model,
      messages: body.messages } });
    assert.ok(!('reasoning_content' in plain.json.choices[0].message), 'not asked: not shown');
  });
};
