'use strict';
// checks.js -- what every deploy recipe must show through its web server:
// the Authorization header reaches the app, a chat works, a stream arrives
// incrementally, a client hang-up closes the upstream connection, and 16
// streams run at once. Recipes that cannot stream (a default mod_fcgid)
// get the correctness-only variants at the end.
const assert = require('node:assert/strict');
const h = require('../integ/harness');

const CHAT = '/v1/chat/completions';
const N_CONCURRENT = 16;
const user = (t) => [{ role: 'user', content: t }];
const slow = { model: 'openai/mock-slow', messages: user('x'), stream: true };

function timed(s) { return s.events.filter((e) => e.json && e.json.mock_sent_ms); }

function complete(s, what) {
  assert.equal(s.status, 200, `${what}: ${s.raw.slice(0, 300)}`);
  assert.ok(timed(s).length >= 8, `${what}: 8 timed events, got ${timed(s).length}`);
  assert.equal(s.events[s.events.length - 1].data, '[DONE]', `${what}: ends with [DONE]`);
  assert.ok(!s.events.some((e) => e.json && e.json.error), `${what}: no error event`);
}

async function auth(r) {
  const bad = await h.request(r.port, 'GET', `${r.prefix}/v1/models`, { key: 'wrong-key' });
  assert.equal(bad.status, 401, bad.body.slice(0, 300));
  assert.equal(bad.json && bad.json.error && bad.json.error.code, 'invalid_api_key',
    'the 401 comes from the proxy (OpenAI error shape), not the server');
  const good = await h.request(r.port, 'GET', `${r.prefix}/v1/models`);
  assert.equal(good.status, 200, good.body.slice(0, 300));
  assert.equal(good.json && good.json.object, 'list');
}

async function chat(r) {
  for (const pfx of [r.prefix, ...(r.altPrefixes || [])]) {
    const res = await h.request(r.port, 'POST', `${pfx}${CHAT}`,
      { body: { model: 'openai/mock-text', messages: user('hi') } });
    assert.equal(res.status, 200, `${pfx}${CHAT}: ${res.body.slice(0, 300)}`);
    assert.equal(res.json.choices[0].message.content, 'Hello from OpenRouter!');
  }
}

async function incremental(r) {
  const s = await h.stream(r.port, `${r.prefix}${CHAT}`, slow);
  complete(s, 'stream');
  const ev = timed(s);
  const lastSent = Math.max(...ev.map((e) => e.json.mock_sent_ms));
  assert.ok(ev[0].at < lastSent, `first event arrived ${ev[0].at - lastSent} ms after the last was sent`);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  return `first event ${lastSent - ev[0].at} ms before the mock sent its last`;
}

async function lastSlowRequest(mock) {
  const q = (await mock.requests()).filter((x) => x.scenario === 'slow');
  return q[q.length - 1];
}

async function hangup(r, mock) {
  const s = await h.stream(r.port, `${r.prefix}${CHAT}`, slow, { abortAfter: 2 });
  assert.ok(s.aborted, 'client left after 2 events');
  const gone = Date.now();
  const seen = await h.waitFor(async () => {
    const q = await lastSlowRequest(mock);
    return q && q.closed_at ? q : null;
  }, 5000, 'the mock to see the upstream connection closed');
  assert.ok(seen.closed_at - gone < 1500, `upstream closed ${seen.closed_at - gone} ms after the client`);
  assert.equal(seen.completed, false, 'the mock never finished its 8 events');
  return `upstream closed ${seen.closed_at - gone} ms after the client left`;
}

async function concurrent(r) {
  if (r.warm) await r.warm();
  const all = await Promise.all(Array.from({ length: N_CONCURRENT },
    () => h.stream(r.port, `${r.prefix}${CHAT}`, slow, { timeoutMs: 25000 })));
  all.forEach((s, i) => complete(s, `stream ${i}`));
  const lastFirst = Math.max(...all.map((s) => s.events[0].at));
  const firstEnd = Math.min(...all.map((s) => s.t0 + s.tEnd));
  assert.ok(lastFirst < firstEnd,
    `a stream started ${lastFirst - firstEnd} ms after another had finished`);
  return `last first event ${firstEnd - lastFirst} ms before the first stream ended`;
}

// A body over the proxy's max_body_bytes (64 KiB in the test config) but
// under every front end's limit must reach the proxy and get its 413.
const BIG = { model: 'openai/mock-text', messages: user('x'.repeat(200 * 1024)) };

async function bigBody(r) {
  const res = await h.request(r.port, 'POST', `${r.prefix}${CHAT}`, { body: BIG });
  assert.equal(res.status, 413, res.body.slice(0, 300));
  assert.ok(res.json && res.json.error, 'the 413 comes from the proxy (OpenAI error shape)');
}

// --- correctness only (a server that buffers the response) --------------

// deploy/README.md says such a stream arrives in one piece at the end:
// hold it to that (a 2 KB stream is far below mod_fcgid's 64 KiB buffer).
async function streamComplete(r) {
  const s = await h.stream(r.port, `${r.prefix}${CHAT}`, slow);
  complete(s, 'stream');
  const ev = timed(s);
  const lastSent = Math.max(...ev.map((e) => e.json.mock_sent_ms));
  assert.ok(ev[0].at >= lastSent, 'documented as buffered, but the first event came early');
}

async function hangupHarmless(r, mock) {
  const s = await h.stream(r.port, `${r.prefix}${CHAT}`, slow, { abortAfter: 1 });
  assert.ok(s.aborted || s.events.length > 0);
  const q = await h.waitFor(async () => {
    const x = await lastSlowRequest(mock);
    return x && (x.completed || x.closed_at) ? x : null;
  }, 5000, 'the upstream request to end');
  assert.ok(q, 'upstream request seen');
  await chat(r);
}

// deploy/README.md: a host's default FcgidMaxRequestLen (128 KiB) answers
// a larger body with its own 500 before the proxy sees it.
async function bigBodyFcgidDefault(r) {
  const res = await h.request(r.port, 'POST', `${r.prefix}${CHAT}`, { body: BIG });
  assert.equal(res.status, 500, res.body.slice(0, 300));
  assert.ok(!res.json, 'an HTML error page from Apache, not the proxy');
}

async function concurrentComplete(r) {
  const all = await Promise.all(Array.from({ length: N_CONCURRENT },
    () => h.stream(r.port, `${r.prefix}${CHAT}`, slow, { timeoutMs: 25000 })));
  all.forEach((s, i) => complete(s, `stream ${i}`));
}

const STREAMING = [
  ['Authorization reaches the app (wrong key 401, right key 200)', auth],
  ['a chat completion works', chat],
  ['a stream arrives incrementally (first event before the mock sent its last)', incremental],
  ['a client hang-up mid-stream closes the upstream connection', hangup],
  [`${N_CONCURRENT} concurrent streams overlap (every first event before any stream ends)`, concurrent],
  ['a 200 KB body reaches the proxy (its 413, not a server limit)', bigBody],
];

const BUFFERED = [
  ['Authorization reaches the app (wrong key 401, right key 200)', auth],
  ['a chat completion works', chat],
  ['correctness only, not streaming: a stream arrives complete (in one piece, as documented)', streamComplete],
  ['correctness only: a client hang-up harms nothing, the next request is served', hangupHarmless],
  [`correctness only: ${N_CONCURRENT} concurrent streams all complete`, concurrentComplete],
  ['a 200 KB body gets the default FcgidMaxRequestLen\'s 500, as documented', bigBodyFcgidDefault],
];

module.exports = { STREAMING, BUFFERED, CHAT };
