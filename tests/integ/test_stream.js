'use strict';
// Streaming: incremental delivery, framing, [DONE], usage, mid-stream
// failures, concurrency of one threaded responder.
const assert = require('node:assert/strict');
const { stream, request, waitFor } = require('./harness');

const CHAT = '/v1/chat/completions';
const user = (text) => [{ role: 'user', content: text }];
const content = (evs) => evs.filter((e) => e.json && e.json.choices && e.json.choices[0] &&
  e.json.choices[0].delta).map((e) => e.json.choices[0].delta.content || '').join('');

module.exports = (test) => {
  for (const [flavour, model] of [['openrouter', 'openai/mock-text'], ['gemini', 'gemini-mock-text']]) {
    test(`stream chat via ${flavour}: SSE head, chunks, [DONE] last`, async ({ proxy }) => {
      const s = await stream(proxy.port, CHAT, { model, messages: user('hi'), stream: true });
      assert.equal(s.status, 200);
      assert.match(s.headers['content-type'], /^text\/event-stream/);
      assert.equal(s.headers['cache-control'], 'no-cache');
      assert.match(content(s.events), /Hello from/);
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
      assert.equal(s.events.filter((e) => e.data === '[DONE]').length, 1);
      for (const e of s.events.slice(0, -1)) assert.ok(e.json, `every data line is JSON: ${e.data}`);
      assert.ok(!s.events.some((e) => e.json && e.json.error), 'no error event');
    });
  }

  test('stream: first event reaches the client before the mock sent its last', async ({ proxy, mock }) => {
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-slow', messages: user('x'), stream: true });
    assert.equal(s.status, 200);
    const sent = s.events.filter((e) => e.json && e.json.mock_sent_ms);
    assert.ok(sent.length >= 8, `8 timed events, got ${sent.length}`);
    const lastSent = Math.max(...sent.map((e) => e.json.mock_sent_ms));
    assert.ok(sent[0].at < lastSent, `first arrived ${sent[0].at}, last sent ${lastSent}`);
    // and each event arrives before the next one is even sent (no batching)
    for (let i = 0; i + 1 < sent.length; i++)
      assert.ok(sent[i].at <= sent[i + 1].json.mock_sent_ms + 50,
        `event ${i} arrived at ${sent[i].at}, next sent ${sent[i + 1].json.mock_sent_ms}`);
    assert.equal((await mock.requests()).length, 1);
  });

  test('stream: OpenRouter processing comments pass as SSE comments, not data', async ({ proxy }) => {
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-text', messages: user('x'), stream: true });
    assert.ok(s.comments.some((c) => /OPENROUTER PROCESSING/.test(c.text)), 'comment relayed');
    assert.ok(!s.events.some((e) => /OPENROUTER/.test(e.data)));
  });

  test('stream: include_usage usage chunk relayed', async ({ proxy }) => {
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-text', messages: user('x'),
      stream: true, stream_options: { include_usage: true } });
    const u = s.events.filter((e) => e.json && e.json.usage);
    assert.ok(u.length >= 1 && u[u.length - 1].json.usage.total_tokens > 0);
  });

  test('stream: OpenRouter mid-stream error becomes an OpenAI error event then [DONE]', async ({ proxy }) => {
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-midstream', messages: user('x'), stream: true });
    assert.equal(s.status, 200);
    const err = s.events.filter((e) => e.json && e.json.error);
    assert.equal(err.length, 1, s.raw);
    assert.equal(typeof err[0].json.error.message, 'string');
    assert.ok('type' in err[0].json.error && 'param' in err[0].json.error && 'code' in err[0].json.error);
    assert.ok(!/"finish_reason":"error"/.test(s.raw), 'no finish_reason "error" reaches the client');
    assert.equal(s.events[s.events.length - 1].data, '[DONE]');
  });

  for (const [flavour, model] of [['openrouter', 'openai/mock-drop'], ['gemini', 'gemini-mock-drop'],
    ['gemini', 'gemini-mock-midstream']]) {
    test(`stream: upstream connection dropped mid-stream (${model}) -> error event + [DONE]`, async ({ proxy }) => {
      const s = await stream(proxy.port, CHAT, { model, messages: user('x'), stream: true });
      assert.equal(s.status, 200);
      assert.ok(content(s.events).length > 0, 'the part before the drop arrived');
      const err = s.events.filter((e) => e.json && e.json.error);
      assert.equal(err.length, 1, s.raw);
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
    });
  }

  test('stream: upstream silent mid-stream -> idle timeout error event + [DONE]', async ({ proxy }) => {
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-hang', messages: user('x'), stream: true });
    // hang sends headers and nothing else: no byte before first_byte_timeout
    if (s.status === 200) {
      assert.ok(s.events.some((e) => e.json && e.json.error), s.raw);
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
    } else {
      assert.equal(s.status, 504, s.raw);
    }
  }, { timeout: 15000 });

  test('stream: an SSE line above the 1 MiB cap ends the stream with an error, not unbounded growth', async ({ proxy }) => {
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-hugeline', messages: user('x'), stream: true });
    assert.equal(s.status, 200);
    assert.match(content(s.events), /^Hello$/);
    const err = s.events.filter((e) => e.json && e.json.error);
    assert.equal(err.length, 1, s.raw.slice(0, 500));
    assert.match(err[0].json.error.message, /size limit/);
    assert.equal(s.events[s.events.length - 1].data, '[DONE]');
    assert.ok(s.raw.length < 64 * 1024, 'the huge line was not relayed');
  });

  test('stream: a 200-event stream of 1 KB events arrives complete', async ({ proxy }) => {
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-big', messages: user('x'), stream: true });
    assert.equal(s.status, 200);
    assert.ok(s.events.length >= 201, `events: ${s.events.length}`);
    assert.equal(s.events[s.events.length - 1].data, '[DONE]');
  });

  // The responder relays every stream's upstream side on one thread
  // (upstream.c, the stream loop): one client that does not read must
  // hold back its own stream only, and get all of it once it reads.
  test('stream loop: a client that stops reading holds back its own stream only, then gets every event',
    async ({ proxy, mock }) => {
      const held = stream(proxy.port, CHAT, { model: 'openai/mock-flood', messages: user('x'), stream: true },
        { holdMs: 1500, timeoutMs: 30000 });	// below idle_timeout_ms
      await waitFor(async () => (await mock.requests()).some((r) => r.scenario === 'flood'), 3000,
        'the flood started');
      await new Promise((r) => setTimeout(r, 300));	// the buffers between fill up
      const other = await stream(proxy.port, CHAT, { model: 'openai/mock-slow', messages: user('x'), stream: true });
      const sent = other.events.filter((e) => e.json && e.json.mock_sent_ms);
      // a loop stuck on the held client would not even send this request
      // upstream until the hold ends, 1.2 s later
      assert.ok(other.events.length > 0 && other.events[0].t < 700,
        `the other stream's first event came ${other.events[0] && other.events[0].t} ms after its request`);
      assert.ok(sent.length >= 8, `the other stream's 8 timed events, got ${sent.length}`);
      for (let i = 0; i + 1 < sent.length; i++)
        assert.ok(sent[i].at <= sent[i + 1].json.mock_sent_ms + 100,
          `other stream: event ${i} arrived at ${sent[i].at}, the next was sent at ${sent[i + 1].json.mock_sent_ms}`);
      const flood = (await mock.requests()).find((r) => r.scenario === 'flood');
      assert.equal(flood.completed, false, 'the proxy stopped reading the held stream upstream');
      const s = await held;
      assert.equal(s.status, 200);
      const n = s.events.filter((e) => e.json && e.json.choices).length;
      assert.ok(n >= 32000, `every event of the held stream arrived: ${n}`);
      assert.ok(!s.events.some((e) => e.json && e.json.error), 'no error event');
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
    }, { timeout: 40000 });

  test('stream loop: a client that reads nothing for idle_timeout_ms is ended with an error event, upstream closed',
    async (ctx) => {
      const p = await ctx.startProxy(Object.assign(ctx.h.baseConfig(ctx.mock), { idle_timeout_ms: 1000 }));
      try {
        const t0 = Date.now();
        const held = stream(p.port, CHAT, { model: 'openai/mock-flood', messages: user('x'), stream: true },
          { holdMs: 4000, timeoutMs: 30000 });
        const seen = await waitFor(async () => {
          const q = (await ctx.mock.requests()).find((r) => r.scenario === 'flood' && r.closed_at);
          return q || null;
        }, 8000, 'the mock sees the upstream connection closed');
        assert.equal(seen.completed, false, 'the flood was cut short');
        assert.ok(seen.closed_at - t0 < 3900, `closed ${seen.closed_at - t0} ms after the request, while the client held`);
        const s = await held;
        const err = s.events.filter((e) => e.json && e.json.error);
        assert.equal(err.length, 1, `one error event: ${JSON.stringify(err)}`);
        assert.equal(err[0].json.error.code, 'client_too_slow');
        assert.equal(s.events[s.events.length - 1].data, '[DONE]');
        assert.ok(s.events.length < 32000, `the stream was ended early: ${s.events.length} events`);
        await waitFor(() => /mock-flood .*status=200 .*note=client_too_slow/.test(p.errorLog()), 3000,
          'the request log says client_too_slow');
      } finally { await p.stop(); }
    }, { timeout: 30000 });

  test('upstream silence mid-stream: ": keep-alive" comments, then the rest', async (ctx) => {
    const p = await ctx.startProxy(Object.assign(ctx.h.baseConfig(ctx.mock), { keepalive_interval_ms: 300 }));
    try {
      const s = await stream(p.port, CHAT, { model: 'openai/mock-pause', messages: user('x'), stream: true });
      const ka = s.comments.filter((c) => c.text === ' keep-alive');
      assert.ok(ka.length >= 2 && ka.length <= 5, `keep-alive comments during 1.2 s: ${ka.length}`);
      assert.match(content(s.events), /Hello after a pause/);
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
      assert.ok(!s.events.some((e) => e.json && e.json.error));
    } finally { await p.stop(); }
  }, { timeout: 20000 });

  test('upstream silence past idle_timeout_ms mid-stream: error event + [DONE]', async (ctx) => {
    const p = await ctx.startProxy(Object.assign(ctx.h.baseConfig(ctx.mock), { idle_timeout_ms: 500 }));
    try {
      const s = await stream(p.port, CHAT, { model: 'gemini-mock-pause', messages: user('x'), stream: true });
      assert.equal(s.status, 200);
      assert.match(content(s.events), /Hello after/);
      assert.doesNotMatch(content(s.events), /a pause/);
      const err = s.events.filter((e) => e.json && e.json.error);
      assert.equal(err.length, 1, s.raw);
      assert.equal(err[0].json.error.code, 'upstream_error');
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
    } finally { await p.stop(); }
  }, { timeout: 20000 });

  test('client hangs up mid-stream: upstream transfer aborted at once, tokens booked, thread serves on', async ({ proxy, mock }) => {
    const tokens = async () => Object.values((await request(proxy.port, 'GET', '/v1/usage')).json
      .details.openrouter.keys).reduce((a, k) => a + k.lifetime_tokens, 0);
    const before = await tokens();
    const s = await stream(proxy.port, CHAT, { model: 'openai/mock-slow', messages: user('x'), stream: true },
      { abortAfter: 2 });
    assert.ok(s.aborted);
    const gone = Date.now();
    const seen = await waitFor(async () => {
      const q = (await mock.requests()).find((r) => r.scenario === 'slow');
      return q && q.closed_at ? q : null;
    }, 5000, 'mock sees the upstream connection closed');
    assert.ok(seen.closed_at - gone < 1000, `closed ${seen.closed_at - gone} ms after the client left`);
    assert.equal(seen.completed, false, 'the mock never finished its 8 events');
    await waitFor(() => /mock-slow .*note=client_gone/.test(proxy.errorLog()), 3000, 'request settled');
    assert.ok(await tokens() > before, 'the estimate was booked for the abandoned stream');
    const again = await stream(proxy.port, CHAT, { model: 'openai/mock-text', messages: user('x'), stream: true });
    assert.equal(again.events[again.events.length - 1].data, '[DONE]');
    await waitFor(() => /mock-slow .*status=200 .*note=client_gone/.test(proxy.errorLog()), 3000,
      'the request log records client_gone');
  });

  test('24 concurrent streams in one responder process overlap (threads)', async ({ proxy }) => {
    const N = 24;
    const all = await Promise.all(Array.from({ length: N }, () =>
      stream(proxy.port, CHAT, { model: 'openai/mock-slow', messages: user('x'), stream: true })));
    for (const s of all) {
      assert.equal(s.status, 200);
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
    }
    const lastFirst = Math.max(...all.map((s) => s.events[0].at));
    const firstEnd = Math.min(...all.map((s) => s.t0 + s.tEnd));
    assert.ok(lastFirst < firstEnd, 'every stream started before any finished');
    // one process served them all (lighttpd max-procs 1): threads, not processes
    const pids = new Set([...proxy.errorLog().matchAll(/aiproxy\[(\d+)\] INFO req=\S+ POST .*mock-slow/g)]
      .map((m) => m[1]));
    assert.equal(pids.size, 1, `served by ${[...pids]}`);
  }, { timeout: 30000 });
};
