'use strict';
// Client dialects (issue 10): the OpenAI Responses API (POST /v1/responses)
// and the Anthropic Messages API (POST /v1/messages, /count_tokens) through
// a real lighttpd against the mock upstream. The official SDKs run from
// tests/client (responses_test.mjs: openai v6; anthropic_test.mjs:
// @anthropic-ai/sdk 0.137 and 1.17); the rest is raw HTTP: Codex- and
// Claude Code-shaped fixtures (tests/fixtures) and what reached the
// upstream, aliases, 429 + Retry-After, failover before the first event,
// mid-stream failures, client disconnect, keep-alives, token booking.
// Wire reference: /work/shared/docs/client-apis.md.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

const RESP = '/v1/responses';
const MSGS = '/v1/messages';
const COUNT = '/v1/messages/count_tokens';
const CHAT = '/v1/chat/completions';
const KEY = h.ACCESS_KEY;
const BEARER = { authorization: `Bearer ${KEY}` };
const XKEY = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
const OR_KEYS = ['sk-or-v1-testkey-AAAA1111', 'sk-or-v1-testkey-BBBB2222', 'sk-or-v1-testkey-EEEE5555'];
const FIXTURES = path.join(h.ROOT, 'tests/fixtures');
const CLIENT_DIR = path.join(h.ROOT, 'tests/client');
const PROVIDERS = [
  { name: 'openrouter', prefix: 'openai/mock-', hello: 'Hello from OpenRouter!' },
  { name: 'gemini', prefix: 'gemini-mock-', hello: 'Hello from Gemini!' },
];
// Top-level fields a chat upstream may get (Gemini's compatibility layer
// rejects unknown names): anything else is a dialect field leaking through.
const CHAT_FIELDS = new Set(['model', 'messages', 'tools', 'tool_choice', 'parallel_tool_calls',
  'max_tokens', 'max_completion_tokens', 'stream', 'stream_options', 'temperature', 'top_p', 'top_k',
  'stop', 'user', 'reasoning_effort', 'reasoning', 'response_format', 'seed', 'n',
  'frequency_penalty', 'presence_penalty']);

const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const respAsk = (model, text, extra) => Object.assign({ model, input: text }, extra || {});
const msgAsk = (model, text, extra) => Object.assign({ model, max_tokens: 256,
  messages: [{ role: 'user', content: text }] }, extra || {});
const chatSeen = async (mock) => (await mock.requests()).filter((q) => q.path.endsWith('/chat/completions'));
const keysOf = (u, prov) => Object.values(u.details[prov].keys);

function cfgWith(mock, over) {
  const cfg = h.baseConfig(mock, Object.assign({ model_usage_gap_percentage: 0 }, over || {}));
  cfg.provider_keys[0].key = OR_KEYS;
  return cfg;
}

async function withProxy(ctx, cfg, fn, opts) {
  const p = await ctx.startProxy(cfg, opts || { threads: 8 });
  try { return await fn(p); } finally { await p.stop(); }
}

// POST a JSON body and read an SSE (or JSON) answer event by event.
// Resolves {status, headers, events:[{event, data, json, t}], comments:
// [{text, after}], raw, json}. opts.headers replace the Bearer header;
// opts.abortWhen(out) destroys the connection once it returns true.
function sse(port, urlPath, body, opts = {}) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const headers = Object.assign({}, opts.headers || BEARER, {
    'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const out = { status: 0, headers: {}, events: [], comments: [], raw: '', json: null };
    let buf = '';
    const finish = () => {
      h.captured.push(out.raw);
      try { out.json = JSON.parse(out.raw); } catch (e) { /* a stream */ }
      resolve(out);
    };
    const rq = http.request({ host: '127.0.0.1', port, method: opts.method || 'POST', path: urlPath,
      headers, agent: false }, (res) => {
      out.status = res.statusCode;
      out.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (c) => {
        out.raw += c;
        buf += c.replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = null;
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) out.comments.push({ text: line.slice(1), after: out.events.length });
            else if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (event === null && data.length === 0) continue;
          const d = data.join('\n');
          let json = null;
          try { json = JSON.parse(d); } catch (e) { /* [DONE] */ }
          out.events.push({ event, data: d, json, t: Date.now() - t0 });
          if (opts.abortWhen && !out.aborted && opts.abortWhen(out)) {
            out.aborted = true;
            rq.destroy();
            finish();
            return;
          }
        }
      });
      res.on('end', finish);
      res.on('error', (e) => (out.aborted ? null : reject(e)));
    });
    rq.setTimeout(opts.timeoutMs || 20000, () => rq.destroy(new Error('client timeout')));
    rq.on('error', (e) => (out.aborted ? null : reject(e)));
    rq.write(payload);
    rq.end();
  });
}

// --- dialect stream checks ---------------------------------------------------

function wireOk(s) {
  assert.equal(s.status, 200, s.raw.slice(0, 500));
  assert.match(s.headers['content-type'] || '', /^text\/event-stream/);
  assert.ok(!s.raw.includes('[DONE]'), 'no [DONE] in a dialect stream');
  for (const e of s.events) {
    assert.ok(e.json, `data is JSON: ${e.data.slice(0, 200)}`);
    assert.equal(e.event, e.json.type, `event: line equals the type (${e.event} vs ${e.json.type})`);
  }
}

// A Responses stream: sequence numbers, created first, one terminal event last.
function respStream(s, terminal) {
  wireOk(s);
  const ev = s.events.map((e) => e.json);
  assert.ok(ev.length >= 3, s.raw.slice(0, 500));
  ev.forEach((e, i) => assert.equal(e.sequence_number, i, `sequence_number of event ${i} (${e.type})`));
  assert.equal(ev[0].type, 'response.created');
  assert.equal(ev[1].type, 'response.in_progress');
  const terms = ev.filter((e) => /^response\.(completed|incomplete|failed)$/.test(e.type));
  assert.equal(terms.length, 1, `terminal events: ${ev.map((e) => e.type)}`);
  assert.equal(ev[ev.length - 1].type, terminal, `types: ${ev.map((e) => e.type)}`);
  return ev;
}

const respText = (ev) => ev.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');

// A Messages stream: message_start first, message_stop last (or error).
function msgStream(s, last) {
  wireOk(s);
  const ev = s.events.map((e) => e.json).filter((e) => e.type !== 'ping');
  assert.ok(ev.length >= 2, s.raw.slice(0, 500));
  assert.equal(ev[0].type, 'message_start');
  assert.equal(ev.filter((e) => e.type === 'message_start').length, 1, 'one message_start');
  assert.equal(ev[ev.length - 1].type, last, `types: ${ev.map((e) => e.type)}`);
  if (last === 'message_stop') {
    const md = ev[ev.length - 2];
    assert.equal(md.type, 'message_delta');
    assert.ok(md.usage && Number.isInteger(md.usage.output_tokens), `message_delta usage ${JSON.stringify(md)}`);
  }
  return ev;
}

const msgText = (ev) => ev.filter((e) => e.type === 'content_block_delta' && e.delta.type === 'text_delta')
  .map((e) => e.delta.text).join('');

// OpenAI error body (Responses) and Anthropic error body (Messages).
function oaiError(r, status) {
  assert.equal(r.status, status, r.raw || r.body);
  const j = r.json;
  assert.ok(j && j.error && typeof j.error.message === 'string' && typeof j.error.type === 'string',
    `OpenAI error shape: ${(r.raw || r.body).slice(0, 300)}`);
  return j.error;
}

function antError(r, status, types) {
  assert.equal(r.status, status, r.raw || r.body);
  const j = r.json;
  assert.ok(j && j.type === 'error' && j.error && typeof j.error.message === 'string',
    `Anthropic error shape: ${(r.raw || r.body).slice(0, 300)}`);
  assert.ok([].concat(types).includes(j.error.type), `error.type ${j.error.type}, want ${types}`);
  return j.error;
}

// The canonical chat history rules (§A.4.2, §B.7.2): system first, every
// assistant tool_calls message followed at once by one tool message per
// id, and no tool message anywhere else.
function canonicalHistory(messages) {
  assert.ok(Array.isArray(messages) && messages.length > 0, 'messages');
  assert.equal(messages[0].role, 'system', 'system first');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    assert.ok(['system', 'user', 'assistant', 'tool'].includes(m.role), `role ${m.role}`);
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length) {
      const ids = m.tool_calls.map((c) => c.id).sort();
      const next = messages.slice(i + 1, i + 1 + ids.length);
      assert.deepEqual(next.map((x) => x.role), ids.map(() => 'tool'), `tool messages after message ${i}`);
      assert.deepEqual(next.map((x) => x.tool_call_id).sort(), ids, `tool_call_ids after message ${i}`);
      for (const c of m.tool_calls) {
        assert.equal(c.type, 'function');
        assert.equal(typeof c.function.name, 'string');
        JSON.parse(c.function.arguments);
      }
      i += ids.length;
    } else {
      assert.notEqual(m.role, 'tool', `stray tool message at ${i}`);
    }
  }
}

const contentText = (c) => (typeof c === 'string' ? c : Array.isArray(c)
  ? c.map((p) => (p && typeof p.text === 'string' ? p.text : '')).join('') : '');

// A fixture's "expect" against the body the upstream saw.
function checkExpect(up, expect) {
  const m = up.messages;
  canonicalHistory(m);
  assert.equal(m.length, expect.messages.length,
    `roles ${m.map((x) => x.role)} vs ${expect.messages.map((x) => x.role)}`);
  expect.messages.forEach((want, i) => {
    const got = m[i];
    assert.equal(got.role, want.role, `message ${i} role`);
    if (want.contains) assert.ok(contentText(got.content).includes(want.contains),
      `message ${i} content ${JSON.stringify(got.content).slice(0, 200)} lacks ${want.contains}`);
    if (want.tool_calls) assert.deepEqual((got.tool_calls || []).map((c) => c.id), want.tool_calls, `message ${i} calls`);
    else assert.ok(!got.tool_calls || got.tool_calls.length === 0, `message ${i} has no tool_calls`);
    if (want.tool_call_id) assert.equal(got.tool_call_id, want.tool_call_id, `message ${i} tool_call_id`);
  });
  assert.equal(m.filter((x) => x.role === 'system').length,
    expect.messages.filter((x) => x.role === 'system').length, 'system messages');
  assert.ok(Array.isArray(up.tools), 'tools sent');
  for (const t of up.tools) assert.equal(t.type, 'function', `hosted tool forwarded: ${JSON.stringify(t).slice(0, 100)}`);
  assert.deepEqual(up.tools.map((t) => t.function.name), expect.tools);
  const text = JSON.stringify(up);
  for (const s of expect.absent) assert.ok(!text.includes(s), `${s} reached the upstream`);
  // Gemini's compat endpoint takes the effort as extra_body.google.thinking_config
  const tc = up.extra_body && up.extra_body.google && up.extra_body.google.thinking_config;
  for (const k of Object.keys(up)) assert.ok(CHAT_FIELDS.has(k) || (k === 'extra_body' && tc),
    `non-chat field "${k}" sent upstream`);
  if (expect.reasoning_effort) assert.ok(up.reasoning_effort === expect.reasoning_effort ||
    (up.reasoning && up.reasoning.effort === expect.reasoning_effort) ||
    (tc && up.reasoning_effort === undefined && (tc.thinking_level || tc.thinking_budget !== undefined)),
    `reasoning effort ${up.reasoning_effort} ${JSON.stringify(tc)}`);
  if ('tool_choice' in expect) assert.equal(up.tool_choice, expect.tool_choice);
  if ('parallel_tool_calls' in expect) assert.equal(up.parallel_tool_calls, expect.parallel_tool_calls);
  if (expect.max_tokens) assert.ok(up.max_tokens > 0 && up.max_tokens <= expect.max_tokens, `max_tokens ${up.max_tokens}`);
  if (up.stream) assert.equal(up.stream_options && up.stream_options.include_usage, true, 'include_usage injected');
  if ('user' in up) assert.ok(typeof up.user === 'string' && up.user.length <= 64, `user ${up.user}`);
}

// --- the SDK suites -----------------------------------------------------------

function npmReady() {
  for (const p of ['openai', 'anthropic0', 'anthropic1'])
    if (!fs.existsSync(path.join(CLIENT_DIR, 'node_modules', p, 'package.json'))) return false;
  return true;
}

function clientSuite(ctx, script, tag) {
  if (!npmReady()) {
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: CLIENT_DIR, encoding: 'utf8', timeout: 300000 });
    if (r.status !== 0) throw new Error(`npm install failed: ${r.stderr}`);
  }
  const port = ctx.proxy.port;
  const r = spawnSync(process.execPath, [path.join(CLIENT_DIR, script)], {
    encoding: 'utf8', timeout: 240000,
    env: Object.assign({}, process.env, {
      AIPROXY_BASE_URL: `http://127.0.0.1:${port}/v1`, AIPROXY_ROOT: `http://127.0.0.1:${port}`,
      AIPROXY_KEY: KEY, AIPROXY_MOCK_URL: `http://127.0.0.1:${ctx.mock.port}`,
      AIPROXY_AUTO_MODEL_ECHO: '1' }),
  });
  process.stdout.write(r.stdout.split('\n').map((l) => (l ? `  ${tag}: ${l}\n` : '')).join(''));
  h.captured.push(r.stdout);
  const m = /^(\d+) passed, (\d+) failed/m.exec(r.stdout);
  if (!m) throw new Error(`${script} printed no summary (status ${r.status}): ${r.stderr.slice(0, 500)}`);
  if (Number(m[2]) !== 0 || Number(m[1]) === 0) throw new Error(`${script}: ${m[0]}`);
}

module.exports = (test) => {
  test('dialect: openai sdk v6 against /v1/responses (responses_test.mjs)', async (ctx) => {
    clientSuite(ctx, 'responses_test.mjs', 'responses');
  }, { timeout: 300000 });

  test('dialect: @anthropic-ai/sdk 0.137 and 1.17 against /v1/messages (anthropic_test.mjs)', async (ctx) => {
    clientSuite(ctx, 'anthropic_test.mjs', 'anthropic');
  }, { timeout: 300000 });

  // Claude Code's start-up probe. Through lighttpd a HEAD answer never has
  // a body on the wire, so the length header shows what the proxy wrote;
  // as CGI the proxy's own output is read.
  test('dialect: HEAD / answers quickly with no body', async (ctx) => {
    for (const headers of [{}, { 'x-api-key': KEY }]) {
      const t0 = Date.now();
      const r = await h.request(ctx.proxy.port, 'HEAD', '/', { auth: false, headers });
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      assert.equal(r.status, 200, `status ${r.status}`);
      assert.ok(r.headers['content-length'] === undefined || r.headers['content-length'] === '0',
        `content-length ${r.headers['content-length']}`);
    }
    const c = h.cgi(ctx.bin, h.writeConfig(h.baseConfig(ctx.mock)), 'HEAD', '/', undefined, KEY,
      { env: { HTTP_AUTHORIZATION: null } });
    assert.equal(c.rc, 0, c.stderr);
    assert.match(c.head, /^Status: 200/m, c.head);
    assert.equal(c.body, '', 'CGI: no body after the headers');
  });

  // --- fixtures shaped like the real clients' requests ----------------------

  for (const p of PROVIDERS) {
    test(`dialect: Codex-shaped request (fixture) via ${p.name}: 200 stream, canonical upstream request`, async ({ proxy, mock }) => {
      const fx = fixture('codex_responses.json');
      const body = Object.assign({}, fx.body, { model: `${p.prefix}text` });
      const s = await sse(proxy.port, fx.path, body, { headers: Object.assign({}, fx.headers, BEARER) });
      const ev = respStream(s, 'response.completed');
      assert.equal(respText(ev), p.hello);
      const seen = await chatSeen(mock);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].body.model, `${p.prefix}text`);
      checkExpect(seen[0].body, fx.expect);
      const patch = seen[0].body.tools.find((t) => t.function.name === 'apply_patch').function;
      assert.deepEqual(patch.parameters.properties.input, { type: 'string' }, 'custom tool -> {input: string}');
      assert.match(patch.description || '', /Begin Patch/, 'the grammar reaches the model');
      const call = seen[0].body.messages[6].tool_calls[0];
      assert.equal(call.function.name, 'apply_patch');
      assert.equal(JSON.parse(call.function.arguments).input, fx.body.input[8].input, 'custom_tool_call input wrapped');
      const done = ev[ev.length - 1].response;
      assert.equal(done.usage.input_tokens, seen[0].usage.prompt_tokens, 'usage from the upstream');
    });

    test(`dialect: Claude Code-shaped request (fixture, ?beta=true, x-api-key) via ${p.name}`, async ({ proxy, mock }) => {
      const fx = fixture('claude_code_messages.json');
      const body = Object.assign({}, fx.body, { model: `${p.prefix}text` });
      const headers = Object.assign({}, fx.headers, { 'x-api-key': KEY });
      const s = await sse(proxy.port, fx.path, body, { headers });
      const ev = msgStream(s, 'message_stop');
      assert.equal(msgText(ev), p.hello);
      assert.equal(ev[0].message.model, `${p.prefix}text`, 'model echoed');
      assert.equal(ev[ev.length - 2].delta.stop_reason, 'end_turn');
      let seen = await chatSeen(mock);
      assert.equal(seen.length, 1);
      checkExpect(seen[0].body, fx.expect);
      assert.ok(!seen[0].headers['x-api-key'] && !/px-test-access-key/.test(seen[0].authorization || ''),
        'the client credential is not forwarded');
      assert.ok(!Object.keys(seen[0].headers).some((k) => k.startsWith('anthropic-')), 'anthropic-* headers not forwarded');
      const tool = seen[0].body.messages[4];
      assert.match(contentText(tool.content), /Path does not exist: lib/);
      // Claude Code falls back to a non-streaming request after a stream error
      await mock.reset();
      const r = await h.request(proxy.port, 'POST', fx.path, { auth: false, headers,
        body: Object.assign({}, body, { stream: false }) });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.type, 'message');
      assert.equal(r.json.content.length, 1, JSON.stringify(r.json.content));
      assert.equal(r.json.content[0].type, 'text');
      assert.equal(r.json.content[0].text, p.hello);
      assert.equal(r.json.stop_reason, 'end_turn');
      seen = await chatSeen(mock);
      assert.equal(seen.length, 1);
      checkExpect(seen[0].body, fx.expect);
    });
  }

  test('dialect: Claude Code count_tokens (fixture): estimate, no upstream call, no quota', async ({ proxy, mock }) => {
    const fx = fixture('claude_code_count_tokens.json');
    const before = (await h.request(proxy.port, 'GET', '/v1/usage')).json;
    const r = await h.request(proxy.port, 'POST', fx.path, { auth: false,
      headers: Object.assign({}, fx.headers, { 'x-api-key': KEY }), body: fx.body });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(Object.keys(r.json), ['input_tokens']);
    assert.ok(Number.isInteger(r.json.input_tokens) && r.json.input_tokens >= 200, `input_tokens ${r.json.input_tokens}`);
    assert.equal((await mock.requests()).length, 0, 'nothing reached the upstream');
    const after = (await h.request(proxy.port, 'GET', '/v1/usage')).json;
    assert.deepEqual(after.overview, before.overview, 'no quota spent');
    const bad = await h.request(proxy.port, 'POST', fx.path, { auth: false, headers: XKEY,
      body: { model: 'gemini-mock-text', messages: 'not an array' } });
    antError(bad, 400, 'invalid_request_error');
  });

  // --- errors in each dialect's shape, before any quota ----------------------

  test('dialect: malformed input -> 400 in the dialect\'s shape naming the field, nothing upstream', async ({ proxy, mock }) => {
    let e = oaiError(await h.request(proxy.port, 'POST', RESP, { body: { model: 'openai/mock-text', input: 42 } }), 400);
    assert.equal(e.param, 'input');
    e = oaiError(await h.request(proxy.port, 'POST', RESP, { body: { input: 'hi' } }), 400);
    assert.equal(e.param, 'model');
    e = oaiError(await h.request(proxy.port, 'POST', RESP, { body: respAsk('openai/mock-text', 'hi',
      { input: [{ role: 'user', content: 'hi' }, { type: 'function_call_output', call_id: 'call_nowhere', output: 'x' }] }) }), 400);
    assert.match(e.message + (e.param || ''), /call_nowhere|input\[1\]/, 'an output without its call is named');
    e = oaiError(await h.request(proxy.port, 'POST', RESP, { body: '{"model": "x", "input": ' }), 400);
    e = antError(await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY,
      body: { model: 'openai/mock-text', max_tokens: 10, messages: 'hi' } }), 400, 'invalid_request_error');
    assert.match(e.message, /messages/);
    e = antError(await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY,
      body: msgAsk('openai/mock-text', 'x', { messages: [{ role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'toolu_nowhere', content: 'x' }] }] }) }), 400, 'invalid_request_error');
    assert.match(e.message, /toolu_nowhere|tool_use_id/);
    antError(await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY, body: '{"model":' }),
      400, 'invalid_request_error');
    assert.equal((await mock.requests()).length, 0, 'nothing reached the upstream');
  });

  test('dialect: body above max_body_bytes -> 413 in the dialect\'s shape', async ({ proxy, mock }) => {
    const big = 'x'.repeat(70000);	// baseConfig max_body_bytes 65536
    oaiError(await h.request(proxy.port, 'POST', RESP, { body: respAsk('openai/mock-text', big) }), 413);
    antError(await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY,
      body: msgAsk('openai/mock-text', big) }), 413, 'request_too_large');
    antError(await h.request(proxy.port, 'POST', COUNT, { auth: false, headers: XKEY,
      body: msgAsk('openai/mock-text', big) }), 413, 'request_too_large');
    assert.equal((await mock.requests()).length, 0);
  });

  test('dialect: tool_choice naming a tool, in both dialects', async ({ proxy, mock }) => {
    const want = { type: 'function', function: { name: 'get_time' } };
    let r = await h.request(proxy.port, 'POST', RESP, { body: respAsk('openai/mock-tools', 'x', {
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } },
        { type: 'function', name: 'get_time', parameters: { type: 'object' } }],
      tool_choice: { type: 'function', name: 'get_time' }, parallel_tool_calls: false }) });
    assert.equal(r.status, 200, r.body);
    let up = (await chatSeen(mock))[0].body;
    assert.deepEqual(up.tool_choice, want);
    assert.equal(up.parallel_tool_calls, false);
    await mock.reset();
    r = await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('gemini-mock-tools', 'x', {
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }, { name: 'get_time', input_schema: { type: 'object' } }],
      tool_choice: { type: 'tool', name: 'get_time' } }) });
    assert.equal(r.status, 200, r.body);
    up = (await chatSeen(mock))[0].body;
    assert.deepEqual(up.tool_choice, want);
    await mock.reset();
    r = await h.request(proxy.port, 'POST', RESP, { body: respAsk('openai/mock-text', 'x', {
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }],
      tool_choice: { type: 'function', name: 'no_such_tool' } }) });
    oaiError(r, 400);
    assert.equal((await mock.requests()).length, 0);
  });

  // The echo scenario answers with the exact upstream request body: text
  // full of JSON specials must reach the upstream intact and come back
  // intact through each dialect's encoder (non-stream and stream).
  test('dialect: quotes, backslashes, newlines, control and non-ASCII characters survive both directions', async ({ proxy, mock }) => {
    const tricky = 'He said "hi" \\ back\\slash\nnew line\ttab \u0001 Grüße 東京 🚀 </script> \u2028 end';
    const cases = [
      [RESP, BEARER, (stream) => respAsk('openai/mock-echo', tricky, { stream }),
        (s, stream) => (stream ? respText(respStream(s, 'response.completed')) : s.json.output[0].content[0].text)],
      [MSGS, XKEY, (stream) => msgAsk('gemini-mock-echo', tricky, { stream }),
        (s, stream) => (stream ? msgText(msgStream(s, 'message_stop')) : s.json.content[0].text)],
    ];
    for (const [route, headers, mk, textOf] of cases) {
      for (const stream of [false, true]) {
        await mock.reset();
        const s = await sse(proxy.port, route, mk(stream), { headers });
        assert.equal(s.status, 200, s.raw.slice(0, 300));
        const q = (await chatSeen(mock))[0];
        const user = q.body.messages.find((m) => m.role === 'user');
        assert.equal(contentText(user.content), tricky, `${route}: the upstream got the text intact`);
        const back = textOf(s, stream);
        assert.deepEqual(JSON.parse(back), q.body, `${route} stream=${stream}: the answer came back intact`);
        assert.ok(back.includes('Grüße 東京 🚀'));
      }
    }
  });

  test('dialect: auth: Bearer or x-api-key on every route; wrong key -> 401 in the dialect\'s shape', async ({ proxy }) => {
    const wrong = 'px-wrong-key-000000000000';
    oaiError(await h.request(proxy.port, 'POST', RESP, { key: wrong, body: respAsk('openai/mock-text', 'hi') }), 401);
    oaiError(await h.request(proxy.port, 'POST', RESP, { auth: false, body: respAsk('openai/mock-text', 'hi') }), 401);
    antError(await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: { 'x-api-key': wrong },
      body: msgAsk('openai/mock-text', 'hi') }), 401, 'authentication_error');
    antError(await h.request(proxy.port, 'POST', MSGS, { key: wrong, body: msgAsk('openai/mock-text', 'hi') }),
      401, 'authentication_error');
    antError(await h.request(proxy.port, 'POST', COUNT, { auth: false, body: msgAsk('openai/mock-text', 'hi') }),
      401, 'authentication_error');
    // accepted: x-api-key on the Responses and chat routes, and one good
    // credential next to a foreign one, in either header
    const ok = [
      [RESP, { 'x-api-key': KEY }, respAsk('openai/mock-text', 'hi')],
      [CHAT, { 'x-api-key': KEY }, { model: 'openai/mock-text', messages: [{ role: 'user', content: 'hi' }] }],
      [MSGS, { 'x-api-key': 'sk-ant-api03-real-anthropic-key', authorization: `Bearer ${KEY}` }, msgAsk('gemini-mock-text', 'hi')],
      [MSGS, { 'x-api-key': KEY, authorization: 'Bearer sk-ant-oat01-oauth-token' }, msgAsk('gemini-mock-text', 'hi')],
    ];
    for (const [route, headers, body] of ok) {
      const r = await h.request(proxy.port, 'POST', route, { auth: false, headers, body });
      assert.equal(r.status, 200, `${route} ${JSON.stringify(Object.keys(headers))}: ${r.body.slice(0, 300)}`);
    }
    const models = await h.request(proxy.port, 'GET', '/v1/models?limit=1000', { auth: false, headers: { 'x-api-key': KEY } });
    assert.equal(models.status, 200, 'Claude Code model discovery with x-api-key');
  });

  test('dialect: upstream 400 relayed in the dialect\'s shape, no upstream metadata', async ({ proxy }) => {
    for (const model of ['openai/mock-err400', 'gemini-mock-err400']) {
      const a = await h.request(proxy.port, 'POST', RESP, { body: respAsk(model, 'hi') });
      oaiError(a, 400);
      const b = await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk(model, 'hi') });
      antError(b, 400, 'invalid_request_error');
      const s = await sse(proxy.port, MSGS, msgAsk(model, 'hi', { stream: true }), { headers: XKEY });
      antError(s, 400, 'invalid_request_error');
      for (const r of [a, b, s]) assert.ok(!(r.body || r.raw).includes('secret-internal-details'), 'metadata leaked');
    }
  });

  // --- routing: aliases, auto-model, /v1/models ------------------------------

  test('dialect: model_aliases ("claude-*" -> auto-model, exact ids) on every route; /v1/models lists aliases', async (ctx) => {
    const cfg = h.baseConfig(ctx.mock, {
      'auto-models': ['openai/mock-text', 'gemini-mock-text'],
      model_aliases: { 'claude-*': 'auto-model', 'claude-opus-4-1': 'gemini-mock-text', 'gpt-5-codex': 'openai/mock-text' },
    });
    await withProxy(ctx, cfg, async (p) => {
      const upstreamModel = async () => { const s = await chatSeen(ctx.mock); return s.length ? s[s.length - 1].body.model : null; };
      let r = await h.request(p.port, 'POST', `${MSGS}?beta=true`, { auth: false, headers: XKEY, body: msgAsk('claude-sonnet-4-6', 'hi') });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.model, 'claude-sonnet-4-6', 'the client\'s model is echoed');
      assert.equal(await upstreamModel(), 'openai/mock-text', 'claude-* -> auto-model -> its first model');
      r = await h.request(p.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('claude-opus-4-1', 'hi') });
      assert.equal(r.status, 200, r.body);
      assert.equal(await upstreamModel(), 'gemini-mock-text', 'an exact alias wins over the prefix');
      assert.equal(r.json.content[0].text, 'Hello from Gemini!');
      const s = await sse(p.port, MSGS, msgAsk('claude-haiku-4-5', 'hi', { stream: true }), { headers: XKEY });
      msgStream(s, 'message_stop');
      assert.equal(s.events[0].json.message.model, 'claude-haiku-4-5');
      r = await h.request(p.port, 'POST', RESP, { body: respAsk('gpt-5-codex', 'hi') });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.model, 'gpt-5-codex');
      assert.equal(await upstreamModel(), 'openai/mock-text');
      r = await h.request(p.port, 'POST', CHAT, { body: { model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'hi' }] } });
      assert.equal(r.status, 200, r.body);
      assert.equal(await upstreamModel(), 'openai/mock-text', 'aliases apply on the chat route too');
      r = await h.request(p.port, 'POST', COUNT, { auth: false, headers: XKEY, body: { model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] } });
      assert.equal(r.status, 200, r.body);
      const m = await h.request(p.port, 'GET', '/v1/models?limit=1000', { auth: false, headers: XKEY });
      assert.equal(m.status, 200, m.body);
      const ids = m.json.data.map((x) => x.id);
      for (const want of ['auto-model', 'claude-opus-4-1', 'gpt-5-codex']) assert.ok(ids.includes(want), `${want} listed`);
      assert.equal(m.json.object, 'list');
      assert.equal(m.json.has_more, false);
      assert.equal(m.json.first_id, ids[0]);
      assert.equal(m.json.last_id, ids[ids.length - 1]);
      for (const x of m.json.data) {
        assert.equal(x.object, 'model');
        assert.equal(x.type, 'model');
        assert.equal(typeof x.display_name, 'string');
        assert.ok(!Number.isNaN(Date.parse(x.created_at)), `created_at ${x.created_at}`);
      }
      const alias = m.json.data.find((x) => x.id === 'claude-opus-4-1');
      assert.match(alias.display_name, /gemini-mock-text/, 'display_name names the target');
    });
  }, { timeout: 30000 });

  test('dialect: auto-model on both dialects', async ({ proxy, mock }) => {
    // baseConfig auto-models: openai/mock-echo first
    const r = await h.request(proxy.port, 'POST', RESP, { body: respAsk('auto-model', 'route me') });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.model, 'auto-model');
    assert.equal(r.headers['x-aiproxy-model'], 'openai/mock-echo');
    const m = await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('auto-model', 'route me') });
    assert.equal(m.status, 200, m.body);
    assert.equal(m.json.model, 'auto-model');
    const echoed = JSON.parse(m.json.content[0].text);
    assert.equal(echoed.model, 'openai/mock-echo');
    assert.deepEqual(echoed.messages, [{ role: 'user', content: 'route me' }]);
    assert.deepEqual((await chatSeen(mock)).map((q) => q.body.model), ['openai/mock-echo', 'openai/mock-echo']);
  });

  // --- the ledger -------------------------------------------------------------

  test('dialect: 429 with Retry-After in each dialect\'s shape when every key is at its limit', async (ctx) => {
    const cfg = h.baseConfig(ctx.mock);
    cfg.provider_keys[0].max_request_min = 1;
    cfg.provider_keys[0].key = [h.KEYS.openrouter[0]];
    cfg.provider_keys[1].max_request_min = 1;
    cfg.provider_keys[1].key = [h.KEYS.gemini[0]];
    await withProxy(ctx, cfg, async (p) => {
      const retryAfter = (r) => {
        const ra = Number(r.headers['retry-after']);
        assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 61, `Retry-After ${r.headers['retry-after']}`);
      };
      assert.equal((await h.request(p.port, 'POST', RESP, { body: respAsk('openai/mock-text', 'a') })).status, 200);
      let r = await h.request(p.port, 'POST', RESP, { body: respAsk('openai/mock-text', 'b') });
      const e = oaiError(r, 429);
      assert.equal(e.type, 'rate_limit_error');
      retryAfter(r);
      r = await sse(p.port, RESP, respAsk('openai/mock-text', 'c', { stream: true }));
      oaiError(r, 429);
      retryAfter(r);
      r = await h.request(p.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('openai/mock-text', 'd') });
      antError(r, 429, 'rate_limit_error');
      retryAfter(r);
      assert.equal((await h.request(p.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('gemini-mock-text', 'e') })).status, 200);
      r = await sse(p.port, MSGS, msgAsk('gemini-mock-text', 'f', { stream: true }), { headers: XKEY });
      antError(r, 429, 'rate_limit_error');
      retryAfter(r);
      r = await h.request(p.port, 'POST', RESP, { body: respAsk('gemini-mock-text', 'g') });
      oaiError(r, 429);
      retryAfter(r);
      assert.deepEqual((await chatSeen(ctx.mock)).map((q) => q.body.model), ['openai/mock-text', 'gemini-mock-text'],
        'only the admitted requests reached the upstream');
    });
  }, { timeout: 30000 });

  test('dialect: streamed and plain answers booked exactly (usage from the upstream); request lines logged', async (ctx) => {
    await withProxy(ctx, h.baseConfig(ctx.mock), async (p) => {
      for (const pr of PROVIDERS) {
        await h.request(p.port, 'POST', RESP, { body: respAsk(`${pr.prefix}text`, 'plain one') });
        await sse(p.port, RESP, respAsk(`${pr.prefix}tools`, `stream ${'y'.repeat(37)}`, { stream: true }));
        await h.request(p.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk(`${pr.prefix}reasoning`, 'plain two') });
        await sse(p.port, MSGS, msgAsk(`${pr.prefix}text`, `stream ${'z'.repeat(53)}`, { stream: true }), { headers: XKEY });
      }
      await h.request(p.port, 'POST', COUNT, { auth: false, headers: XKEY, body: { model: 'openai/mock-text', messages: [{ role: 'user', content: 'n' }] } });
      const seen = await chatSeen(ctx.mock);
      assert.equal(seen.length, 8);
      for (const q of seen.filter((x) => x.body.stream)) assert.equal(q.body.stream_options.include_usage, true, 'usage asked upstream');
      const u = (await h.request(p.port, 'GET', '/v1/usage')).json;
      for (const pr of PROVIDERS) {
        const want = seen.filter((q) => q.flavour === pr.name).reduce((a, q) => a + q.usage.total_tokens, 0);
        const got = keysOf(u, pr.name).reduce((a, k) => a + k.lifetime_tokens, 0);
        assert.equal(got, want, `${pr.name} tokens booked`);
        assert.equal(u.overview[pr.name].total_requests, 4, `${pr.name} requests counted (count_tokens is free)`);
      }
      const log = p.errorLog();
      assert.match(log, /req=\S+ POST \/v1\/responses model=openai\/mock-text provider=openrouter key=[0-9a-f]{8}/);
      assert.match(log, /req=\S+ POST \/v1\/messages model=gemini-mock-text provider=gemini key=[0-9a-f]{8}/);
    });
  }, { timeout: 30000 });

  // --- failover before the first event, failures after it --------------------

  test('dialect: a failed first attempt (500, in-band error) is retried on another key before the first event', async (ctx) => {
    const inband = (msg) => ({ status: 200, headers: { 'Content-Type': 'text/event-stream' },
      body: `: OPENROUTER PROCESSING\n\ndata: ${JSON.stringify({ id: 'gen-x', object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'error' }],
        error: { code: 502, message: msg } })}\n\n` });
    const cases = [
      ['responses stream, 500', RESP, { status: 500, body: { error: { code: 500, message: 'Internal error' } } }, true],
      ['responses stream, in-band error', RESP, inband('Network connection lost.'), true],
      ['messages stream, 500', MSGS, { status: 500, body: { error: { code: 500, message: 'Internal error' } } }, true],
      ['messages stream, in-band error', MSGS, inband('Network connection lost.'), true],
      ['responses plain, 503', RESP, { status: 503, body: { error: { code: 503, message: 'No available providers' } } }, false],
      ['messages plain, 500', MSGS, { status: 500, body: { error: { code: 500, message: 'Internal error' } } }, false],
    ];
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      for (const [name, route, fault, stream] of cases) try {
        await ctx.mock.reset();
        await ctx.mock.faults([Object.assign({ flavour: 'openrouter' }, fault)]);
        const body = route === RESP ? respAsk('openai/mock-text', 'x', { stream }) : msgAsk('openai/mock-text', 'x', { stream });
        const headers = route === RESP ? BEARER : XKEY;
        const s = await sse(p.port, route, body, { headers });
        if (stream && route === RESP) assert.equal(respText(respStream(s, 'response.completed')), 'Hello from OpenRouter!', name);
        else if (stream) assert.equal(msgText(msgStream(s, 'message_stop')), 'Hello from OpenRouter!', name);
        else if (route === RESP) { assert.equal(s.status, 200, `${name}: ${s.raw}`); assert.equal(s.json.output[0].content[0].text, 'Hello from OpenRouter!'); }
        else { assert.equal(s.status, 200, `${name}: ${s.raw}`); assert.equal(s.json.content[0].text, 'Hello from OpenRouter!'); }
        if (stream) assert.ok(s.raw.startsWith('event: '), `${name}: nothing before the first event: ${JSON.stringify(s.raw.slice(0, 60))}`);
        const seen = await chatSeen(ctx.mock);
        assert.equal(seen.length, 2, `${name}: two attempts`);
        assert.notEqual(seen[0].authorization, seen[1].authorization, `${name}: on another key`);
      } catch (e) { e.message = `${name}: ${e.message}`; throw e; }
    });
  }, { timeout: 40000 });

  test('dialect: empty completions are failed attempts; when all are empty the answer ends cleanly', async (ctx) => {
    await withProxy(ctx, h.baseConfig(ctx.mock), async (p) => {
      const { mock } = ctx;
      let s = await sse(p.port, RESP, respAsk('openai/mock-empty', 'x', { stream: true }));
      const ev = respStream(s, 'response.completed');
      assert.deepEqual(ev[ev.length - 1].response.output, []);
      assert.equal(ev[ev.length - 1].response.status, 'completed');
      assert.ok((await chatSeen(mock)).length >= 2, 'another key was tried');
      await mock.reset();
      const r = await h.request(p.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('gemini-mock-empty', 'x') });
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json.content, []);
      assert.equal(r.json.stop_reason, 'end_turn');
      assert.ok((await chatSeen(mock)).length >= 2, 'another key was tried');
      await mock.reset();
      s = await sse(p.port, MSGS, msgAsk('openai/mock-empty', 'x', { stream: true }), { headers: XKEY });
      const mev = msgStream(s, 'message_stop');
      assert.equal(mev.filter((e) => e.type === 'content_block_start').length, 0);
      await mock.reset();
      const o = await h.request(p.port, 'POST', RESP, { body: respAsk('gemini-mock-empty', 'x') });
      assert.equal(o.status, 200, o.body);
      assert.deepEqual(o.json.output, []);
      assert.equal(o.json.status, 'completed');
    });
  }, { timeout: 30000 });

  test('dialect: every attempt fails before the first event -> an HTTP error in the dialect\'s shape, not a 200 stream', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      let s = await sse(p.port, RESP, respAsk('openai/mock-inband', 'x', { stream: true }));
      assert.ok(s.status >= 500, `status ${s.status}: ${s.raw.slice(0, 200)}`);
      oaiError(s, s.status);
      assert.ok((await chatSeen(ctx.mock)).length >= 2, 'retried first');
      await ctx.mock.reset();
      s = await sse(p.port, MSGS, msgAsk('gemini-mock-inband', 'x', { stream: true }), { headers: XKEY });
      assert.ok(s.status >= 500, `status ${s.status}: ${s.raw.slice(0, 200)}`);
      antError(s, s.status, ['api_error', 'overloaded_error']);
      assert.ok((await chatSeen(ctx.mock)).length >= 2, 'retried first');
      await ctx.mock.reset();
      await ctx.mock.faults([{ status: 503, times: -1, body: { error: { code: 503, message: 'Overloaded' } } }]);
      const r = await h.request(p.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('openai/mock-text', 'x') });
      assert.ok([503, 529].includes(r.status), `status ${r.status}`);
      antError(r, r.status, ['api_error', 'overloaded_error']);
    });
  }, { timeout: 30000 });

  for (const model of ['openai/mock-midstream', 'openai/mock-drop', 'gemini-mock-midstream', 'gemini-mock-drop']) {
    test(`dialect: mid-stream failure (${model}) -> response.failed / error event, no retry`, async ({ proxy, mock }) => {
      let s = await sse(proxy.port, RESP, respAsk(model, 'x', { stream: true }));
      const ev = respStream(s, 'response.failed');
      assert.match(respText(ev), /^Hello/, 'the part before the failure arrived');
      const f = ev[ev.length - 1].response;
      assert.equal(f.status, 'failed');
      assert.ok(f.error && typeof f.error.code === 'string' && typeof f.error.message === 'string', JSON.stringify(f.error));
      assert.ok(!ev.some((e) => e.type === 'response.completed'));
      assert.equal((await chatSeen(mock)).length, 1, 'no retry after the first event');
      await mock.reset();
      s = await sse(proxy.port, MSGS, msgAsk(model, 'x', { stream: true }), { headers: XKEY });
      const mev = msgStream(s, 'error');
      assert.match(msgText(mev), /^Hello/);
      const err = mev[mev.length - 1].error;
      assert.ok(err && ['api_error', 'overloaded_error'].includes(err.type) && typeof err.message === 'string', JSON.stringify(err));
      assert.ok(!mev.some((e) => e.type === 'message_stop' || e.type === 'message_delta'), 'nothing after the error');
      assert.equal((await chatSeen(mock)).length, 1, 'no retry after the first event');
    });
  }

  for (const [dialect, route, headers, body, isText] of [
    ['responses', RESP, BEARER, respAsk('openai/mock-slow', 'x', { stream: true }), (e) => e.json && e.json.type === 'response.output_text.delta'],
    ['messages', MSGS, XKEY, msgAsk('openai/mock-slow', 'x', { stream: true }), (e) => e.json && e.json.type === 'content_block_delta'],
  ]) {
    test(`dialect: client hangs up mid-stream (${dialect}) -> upstream closed at once, thread serves on`, async ({ proxy, mock }) => {
      const s = await sse(proxy.port, route, body, { headers, abortWhen: (o) => o.events.some(isText) });
      assert.ok(s.aborted, `never saw a text event: ${s.raw.slice(0, 300)}`);
      const gone = Date.now();
      const seen = await h.waitFor(async () => {
        const q = (await mock.requests()).find((r) => r.scenario === 'slow');
        return q && q.closed_at ? q : null;
      }, 5000, 'mock sees the upstream connection closed');
      assert.ok(seen.closed_at - gone < 1000, `closed ${seen.closed_at - gone} ms after the client left`);
      assert.equal(seen.completed, false, 'the mock never finished its 8 events');
      const again = await h.request(proxy.port, 'POST', route, { auth: false, headers,
        body: Object.assign({}, body, { model: 'openai/mock-text', stream: false }) });
      assert.equal(again.status, 200, again.body);
    });
  }

  test('dialect: keep-alives during upstream silence after the first event, never before it', async (ctx) => {
    await withProxy(ctx, h.baseConfig(ctx.mock, { keepalive_interval_ms: 300 }), async (p) => {
      const s = await sse(p.port, RESP, respAsk('openai/mock-pause', 'x', { stream: true }));
      const ev = respStream(s, 'response.completed');
      assert.equal(respText(ev), 'Hello after a pause');
      assert.ok(s.raw.startsWith('event: '), `nothing before the first event: ${JSON.stringify(s.raw.slice(0, 60))}`);
      const kaR = s.comments.filter((c) => c.after > 0).length + ev.filter((e) => e.type === 'keepalive').length;
      assert.ok(kaR >= 2 && kaR <= 6, `keep-alives during 1.2 s: ${kaR}`);
      const m = await sse(p.port, MSGS, msgAsk('gemini-mock-pause', 'x', { stream: true }), { headers: XKEY });
      const mev = msgStream(m, 'message_stop');
      assert.equal(msgText(mev), 'Hello after a pause');
      assert.ok(m.raw.startsWith('event: '), `nothing before the first event: ${JSON.stringify(m.raw.slice(0, 60))}`);
      const kaM = m.comments.filter((c) => c.after > 0).length + m.events.filter((e) => e.event === 'ping').length;
      assert.ok(kaM >= 2 && kaM <= 6, `keep-alives (comments or ping) during 1.2 s: ${kaM}`);
    });
  }, { timeout: 30000 });

  // --- history repair (§A.4.2, §B.7.2) ---------------------------------------

  test('dialect: histories a chat upstream refuses are repaired (moved user message, call without result)', async ({ proxy, mock }) => {
    const r = await h.request(proxy.port, 'POST', RESP, { body: respAsk('gemini-mock-text', null, { input: [
      { role: 'user', content: 'first' },
      { type: 'function_call', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { role: 'user', content: 'interjection' },
      { type: 'function_call_output', call_id: 'call_a', output: 'sunny' },
      { type: 'function_call', call_id: 'call_b', name: 'get_time', arguments: '{"tz":"CET"}' },
      { role: 'user', content: 'never mind' },
    ], tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } },
      { type: 'function', name: 'get_time', parameters: { type: 'object' } }] }) });
    assert.equal(r.status, 200, r.body);
    let m = (await chatSeen(mock))[0].body.messages;
    assert.deepEqual(m.map((x) => x.role), ['user', 'assistant', 'tool', 'user', 'assistant', 'tool', 'user']);
    assert.equal(m[2].tool_call_id, 'call_a');
    assert.equal(contentText(m[3].content), 'interjection');
    assert.equal(m[5].tool_call_id, 'call_b');
    assert.match(contentText(m[5].content), /aborted/);
    await mock.reset();
    const a = await h.request(proxy.port, 'POST', MSGS, { auth: false, headers: XKEY, body: msgAsk('openai/mock-text', null, { messages: [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'Oslo' } }] },
      { role: 'user', content: 'never mind' },
    ] }) });
    assert.equal(a.status, 200, a.body);
    m = (await chatSeen(mock))[0].body.messages;
    assert.deepEqual(m.map((x) => x.role), ['user', 'assistant', 'tool', 'user']);
    assert.equal(m[1].content, null);
    assert.equal(m[1].tool_calls[0].function.arguments, '{"city":"Oslo"}');
    assert.equal(m[2].tool_call_id, 'toolu_a');
  });
};
