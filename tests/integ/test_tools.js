'use strict';
// Tools: definitions pass through; tool_calls come back non-stream and as
// stream deltas; the Gemini-compat quirks (no index, finish "stop") fixed.
const assert = require('node:assert/strict');
const { request, stream } = require('./harness');

const CHAT = '/v1/chat/completions';
const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } },
];
const body = (model, stream_) => ({ model, stream: stream_, tools: TOOLS, tool_choice: 'auto',
  messages: [{ role: 'user', content: 'Weather in Oslo and time in CET?' }] });

// Accumulate tool-call deltas the way openai-node does: by index.
function accumulate(events) {
  const calls = [];
  let finish = null;
  for (const e of events) {
    const ch = e.json && e.json.choices && e.json.choices[0];
    if (!ch) continue;
    if (ch.finish_reason) finish = ch.finish_reason;
    for (const tc of (ch.delta && ch.delta.tool_calls) || []) {
      assert.equal(typeof tc.index, 'number', `every tool-call delta has an integer index: ${e.data}`);
      const c = calls[tc.index] || (calls[tc.index] = { id: '', type: '', name: '', args: '' });
      if (tc.id) c.id = tc.id;
      if (tc.type) c.type = tc.type;
      if (tc.function && tc.function.name) c.name += tc.function.name;
      if (tc.function && tc.function.arguments) c.args += tc.function.arguments;
    }
  }
  return { calls, finish };
}

module.exports = (test) => {
  for (const [flavour, model] of [['openrouter', 'openai/mock-tools'], ['gemini', 'gemini-mock-tools']]) {
    test(`tools non-stream via ${flavour}`, async ({ proxy, mock }) => {
      const r = await request(proxy.port, 'POST', CHAT, { body: body(model, false) });
      assert.equal(r.status, 200, r.body);
      const ch = r.json.choices[0];
      assert.equal(ch.finish_reason, 'tool_calls');
      assert.deepEqual(ch.message.tool_calls.map((t) => t.function.name), ['get_weather', 'get_time']);
      assert.deepEqual(JSON.parse(ch.message.tool_calls[0].function.arguments), { city: 'Oslo' });
      const seen = await mock.requests();
      assert.deepEqual(seen[0].body.tools, TOOLS, 'tool definitions passed through');
      assert.equal(seen[0].body.tool_choice, 'auto');
    });

    test(`tools stream via ${flavour}: stable indices, ids, finish tool_calls`, async ({ proxy }) => {
      const s = await stream(proxy.port, CHAT, body(model, true));
      assert.equal(s.status, 200);
      const { calls, finish } = accumulate(s.events);
      assert.equal(calls.length, 2, s.raw);
      assert.deepEqual(calls.map((c) => c.name), ['get_weather', 'get_time']);
      assert.deepEqual(JSON.parse(calls[0].args), { city: 'Oslo' });
      assert.deepEqual(JSON.parse(calls[1].args), { tz: 'CET' });
      for (const c of calls) {
        assert.ok(c.id, 'each call has an id');
        assert.equal(c.type, 'function');
      }
      assert.notEqual(calls[0].id, calls[1].id);
      assert.equal(finish, 'tool_calls');
      assert.equal(s.events[s.events.length - 1].data, '[DONE]');
    });
  }

  test('tool result round trip: assistant tool_calls + tool messages accepted', async ({ proxy, mock }) => {
    const messages = [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_0', content: '{"temp":-3}' },
    ];
    const r = await request(proxy.port, 'POST', CHAT, { body: { model: 'gemini-mock-text', tools: TOOLS, messages } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual((await mock.requests())[0].body.messages, messages);
  });
};
