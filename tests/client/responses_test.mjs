// tests/client/responses_test.mjs -- real-client test: the official openai
// npm package (major 6, Node 20) against the proxy's OpenAI Responses route
// (POST /v1/responses, issue 10; wire reference client-apis.md Part A, C.1).
//
// Owns: proving that an unmodified openai SDK gets what it needs from the
// translated route: responses.create (plain and {stream:true}),
// responses.stream().finalResponse() (text, function calling round trip
// with function_call_output, parallel calls, json_schema output, reasoning
// summaries, the output cap), the error classes and params, and that what
// reached the upstream is the canonical chat request (the mock's log).
// Must never: talk to a real provider (models are mock scenarios), or retry
// (maxRetries 0: a failure shows the first answer the proxy gave).
//
// Env: AIPROXY_BASE_URL (http://127.0.0.1:PORT/v1), AIPROXY_KEY (access
// key), AIPROXY_MOCK_URL (the mock upstream, http://127.0.0.1:MOCKPORT, for
// its request log; checks that need it fail without it). Optional
// AIPROXY_AUTO_MODEL_ECHO=1 when auto-model's first model is a mock "echo"
// scenario (tests/integ/harness.js baseConfig). Optional
// AIPROXY_GEMINI_API=native when the proxy's gemini entry has "api":
// "native" (the mock's /gemini-native): checks of what reached the
// upstream then read the native request (contents, functionDeclarations,
// generationConfig) for the gemini models. Prints "ok - name" /
// "not ok - name: reason" per check, then "N passed, N failed"; exit 1 on
// any failure.
//
// Each request carries a unique marker in its input, so its upstream
// request(s) are found in the shared mock log without resetting it.
import OpenAI from 'openai';
import { randomBytes } from 'node:crypto';

const BASE_URL = process.env.AIPROXY_BASE_URL;
const KEY = process.env.AIPROXY_KEY;
const MOCK_URL = process.env.AIPROXY_MOCK_URL || '';
const GEMINI_NATIVE = process.env.AIPROXY_GEMINI_API === 'native';
const PROVIDERS = [
	{ name: 'openrouter', prefix: 'openai/mock-', hello: 'Hello from OpenRouter!' },
	{ name: 'gemini', prefix: 'gemini-mock-', hello: 'Hello from Gemini!' },
];
const REASONING = 'Thinking about the answer.';
const ROUND_TRIP = 'Got 2 tool results: -3C, snow | 14:05';

if (!BASE_URL || !KEY) {
	console.error('responses_test: set AIPROXY_BASE_URL and AIPROXY_KEY');
	process.exit(2);
}

// --- wire capture: the SDK's own fetch, teed -------------------------------

let last = null;	// the last exchange: {url, reqHeaders, status, headers, text}

async function capturingFetch(url, init) {
	const rec = { url: String(url), reqHeaders: new Headers(init && init.headers),
	    status: 0, headers: null, text: null };
	last = rec;
	const res = await fetch(url, init);
	rec.status = res.status;
	rec.headers = res.headers;
	rec.text = res.clone().text().catch((e) => `<<read failed: ${e.message}>>`);
	return res;
}

function makeClient(apiKey) {
	return new OpenAI({ baseURL: BASE_URL, apiKey, maxRetries: 0,
	    timeout: 20000, fetch: capturingFetch });
}

const client = makeClient(KEY);
const badClient = makeClient('bad-responses-test-key');

// --- helpers ---------------------------------------------------------------

let passed = 0;
let failed = 0;

function check(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

function oneLine(s) {
	return String(s).replace(/\s+/g, ' ').slice(0, 400);
}

function j(v) {
	return oneLine(JSON.stringify(v));
}

async function run(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`ok - ${name}`);
	} catch (e) {
		failed++;
		const what = e instanceof Error ?
		    `${e.constructor.name}: ${e.message}` : j(e);
		console.log(`not ok - ${name}: ${oneLine(what)}`);
	}
}

function marker() {
	return `mk-${randomBytes(6).toString('hex')}`;
}

function sameJson(a, b) {
	return JSON.stringify(a) === JSON.stringify(b);
}

// Upstream chat requests whose body mentions the marker, in arrival order.
async function upstreamFor(mk) {
	check(MOCK_URL, 'AIPROXY_MOCK_URL not set: cannot read the upstream log');
	const r = await fetch(`${MOCK_URL}/_mock/requests`);
	const log = await r.json();
	return log.filter((q) => (q.path.endsWith('/chat/completions') ||
	    (GEMINI_NATIVE && isNativeGenerate(q))) &&
	    JSON.stringify(q.body).includes(mk));
}

// A generateContent / streamGenerateContent entry of the mock's native API.
function isNativeGenerate(q) {
	return q.flavour === 'gemini-native' &&
	    (q.rpc === 'generateContent' || q.rpc === 'streamGenerateContent');
}

// Is this provider's upstream request in Gemini's native shape?
function nativeFor(p) {
	return GEMINI_NATIVE && p.name === 'gemini';
}

async function oneUpstream(mk) {
	const seen = await upstreamFor(mk);
	check(seen.length === 1, `expected 1 upstream request, saw ${seen.length}`);
	check(seen[0].body && typeof seen[0].body === 'object',
	    `upstream body is not JSON: ${j(seen[0].body)}`);
	return seen[0];
}

// SSE blocks of a raw body: [{event, data, json}] (comments skipped).
function sseBlocks(text) {
	const out = [];
	for (const block of text.replace(/\r\n?/g, '\n').split('\n\n')) {
		let event = null;
		const data = [];
		for (const line of block.split('\n')) {
			if (line.startsWith('event:'))
				event = line.slice(6).trim();
			else if (line.startsWith('data:'))
				data.push(line.slice(5).replace(/^ /, ''));
		}
		if (event === null && data.length === 0)
			continue;
		const d = data.join('\n');
		let json = null;
		try {
			json = JSON.parse(d);
		} catch (e) { /* [DONE] or junk */ }
		out.push({ event, data: d, json });
	}
	return out;
}

// Every event on the wire has an "event:" line equal to its JSON type; no
// [DONE]; the Content-Type is SSE.
async function checkWire(rec) {
	check(rec && rec.text, 'no captured response');
	check(/^text\/event-stream/.test(rec.headers.get('content-type') || ''),
	    `content-type ${rec.headers.get('content-type')}`);
	const text = await rec.text;
	check(!/\[DONE\]/.test(text), 'the stream carries [DONE]');
	const blocks = sseBlocks(text);
	check(blocks.length > 0, 'no SSE events on the wire');
	for (const b of blocks) {
		check(b.json, `data is not JSON: ${oneLine(b.data)}`);
		check(b.event !== null, `event without an "event:" line: ${oneLine(b.data)}`);
		check(b.event === b.json.type,
		    `event: ${b.event} but type ${b.json.type}`);
	}
	return blocks;
}

// The event types openai-node 6.x knows and the proxy may emit (§A.3.2).
const KNOWN = new Set(['response.created', 'response.in_progress',
	'response.output_item.added', 'response.output_item.done',
	'response.content_part.added', 'response.content_part.done',
	'response.output_text.delta', 'response.output_text.done',
	'response.function_call_arguments.delta',
	'response.function_call_arguments.done',
	'response.reasoning_summary_part.added',
	'response.reasoning_summary_part.done',
	'response.reasoning_summary_text.delta',
	'response.reasoning_summary_text.done',
	'response.completed', 'response.incomplete', 'response.failed', 'error',
	'keepalive']);
const TERMINAL = ['response.completed', 'response.incomplete', 'response.failed'];

// Shared invariants of a Responses event stream.
function checkSequence(events) {
	check(events.length >= 3, `only ${events.length} events`);
	events.forEach((e, i) => {
		check(KNOWN.has(e.type), `unknown event type ${e.type}`);
		check(e.sequence_number === i,
		    `event ${i} (${e.type}) has sequence_number ${e.sequence_number}`);
	});
	check(events[0].type === 'response.created', `first event ${events[0].type}`);
	check(events[1].type === 'response.in_progress', `second event ${events[1].type}`);
	const terms = events.filter((e) => TERMINAL.includes(e.type));
	check(terms.length === 1, `terminal events: ${terms.map((e) => e.type)}`);
	check(TERMINAL.includes(events[events.length - 1].type),
	    `last event ${events[events.length - 1].type}`);
	const id = events[0].response && events[0].response.id;
	check(/^resp_[0-9A-Za-z]+/.test(id || ''), `response id ${id}`);
	check(terms[0].response.id === id, 'terminal response id differs');
}

function checkUsage(u, entry) {
	check(u && typeof u === 'object', `usage ${j(u)}`);
	for (const k of ['input_tokens', 'output_tokens', 'total_tokens'])
		check(Number.isInteger(u[k]), `usage.${k} ${j(u)}`);
	check(u.input_tokens_details &&
	    Number.isInteger(u.input_tokens_details.cached_tokens),
	    `usage.input_tokens_details ${j(u)}`);
	check(u.output_tokens_details &&
	    Number.isInteger(u.output_tokens_details.reasoning_tokens),
	    `usage.output_tokens_details ${j(u)}`);
	check(u.total_tokens === u.input_tokens + u.output_tokens,
	    `total_tokens ${j(u)}`);
	if (entry) {
		const want = entry.usage;
		check(u.input_tokens === want.prompt_tokens &&
		    u.output_tokens === want.completion_tokens,
		    `usage ${j(u)} but the upstream reported ${j(want)}`);
	}
}

function messageText(item) {
	return item.content.filter((p) => p.type === 'output_text')
	    .map((p) => p.text).join('');
}

async function expectError(promise, cls, status) {
	let err = null;
	try {
		await promise;
	} catch (e) {
		err = e;
	}
	check(err, `expected ${cls.name}, got a success`);
	check(err instanceof cls, `expected ${cls.name}, got ` +
	    `${err.constructor.name} status ${err.status}: ${err.message}`);
	check(err.status === status, `status ${err.status}`);
	return err;
}

const user = (text) => [{ role: 'user', content: text }];
const FN_TOOLS = [
	{ type: 'function', name: 'get_weather', description: 'Current weather in a city',
	    parameters: { type: 'object', properties: { city: { type: 'string' } },
		required: ['city'], additionalProperties: false }, strict: false },
	{ type: 'function', name: 'get_time', description: 'Current time in a time zone',
	    parameters: { type: 'object', properties: { tz: { type: 'string' } },
		required: ['tz'], additionalProperties: false }, strict: false },
];
const EXPECTED_CALLS = [
	{ name: 'get_weather', args: { city: 'Oslo' } },
	{ name: 'get_time', args: { tz: 'CET' } },
];

function checkCalls(output) {
	const calls = output.filter((o) => o.type === 'function_call');
	check(calls.length === 2, `function_call items: ${j(output)}`);
	const ids = new Set();
	EXPECTED_CALLS.forEach((want, i) => {
		const c = calls[i];
		check(typeof c.call_id === 'string' && c.call_id !== '',
		    `call ${i} call_id ${c.call_id}`);
		check(typeof c.id === 'string' && c.id !== '', `call ${i} id ${c.id}`);
		ids.add(c.call_id);
		check(c.name === want.name, `call ${i} name ${c.name}`);
		check(typeof c.arguments === 'string', `call ${i} arguments not a string`);
		let args;
		try {
			args = JSON.parse(c.arguments);
		} catch (e) {
			throw new Error(`call ${i} arguments not JSON: ${c.arguments}`);
		}
		check(sameJson(args, want.args), `call ${i} arguments ${c.arguments}`);
		check(c.status === 'completed', `call ${i} status ${c.status}`);
	});
	check(ids.size === 2, 'call_ids not distinct');
	return calls;
}

// In the upstream messages: one assistant message carrying exactly these
// call ids, followed at once by one tool message per id.
function checkToolHistory(messages, callIds) {
	const a = messages.findIndex((m) => m.role === 'assistant' &&
	    Array.isArray(m.tool_calls) && m.tool_calls.length > 0);
	check(a >= 0, `no assistant tool_calls upstream: ${j(messages)}`);
	const got = messages[a].tool_calls.map((c) => c.id);
	check(sameJson(got, callIds), `assistant tool_calls ids ${j(got)}, want ${j(callIds)}`);
	for (const c of messages[a].tool_calls)
		check(c.type === 'function' && c.function && typeof c.function.arguments === 'string',
		    `tool_call shape ${j(c)}`);
	const after = messages.slice(a + 1, a + 1 + callIds.length);
	check(after.every((m) => m.role === 'tool'),
	    `messages after the tool_calls: ${j(after.map((m) => m.role))}`);
	check(sameJson(after.map((m) => m.tool_call_id).sort(), [...callIds].sort()),
	    `tool message ids ${j(after.map((m) => m.tool_call_id))}`);
}

// Native Gemini requests (AIPROXY_GEMINI_API=native): the function
// declarations as [{name, parameters}].
function nativeTools(body) {
	const out = [];
	for (const t of Array.isArray(body.tools) ? body.tools : [])
		for (const d of t.functionDeclarations || [])
			out.push({ name: d.name, parameters: d.parametersJsonSchema || d.parameters });
	return out;
}

// In the native contents: one model content whose functionCall parts are
// these calls (ids, when sent, equal the call ids), followed at once by a
// user content with one functionResponse per call, in order.
function checkNativeToolHistory(body, callIds) {
	const contents = body.contents;
	check(Array.isArray(contents), `no contents upstream: ${j(body)}`);
	const a = contents.findIndex((c) => c.role === 'model' && Array.isArray(c.parts) &&
	    c.parts.some((x) => x.functionCall));
	check(a >= 0, `no model functionCall content upstream: ${j(contents)}`);
	const fcs = contents[a].parts.filter((x) => x.functionCall).map((x) => x.functionCall);
	check(sameJson(fcs.map((f) => f.name), EXPECTED_CALLS.map((c) => c.name)),
	    `functionCall names ${j(fcs)}`);
	fcs.forEach((f, i) => {
		check(f.id === undefined || f.id === callIds[i], `functionCall ${i} id ${j(f.id)}, want ${callIds[i]}`);
		check(sameJson(f.args, EXPECTED_CALLS[i].args), `functionCall ${i} args ${j(f.args)}`);
	});
	const next = contents[a + 1];
	check(next && (next.role || 'user') === 'user', `content after the calls ${j(next)}`);
	const frs = next.parts.filter((x) => x.functionResponse).map((x) => x.functionResponse);
	check(frs.length === callIds.length && next.parts.length === frs.length,
	    `functionResponse parts ${j(next.parts)}`);
	frs.forEach((f, i) => {
		check(f.name === EXPECTED_CALLS[i].name, `functionResponse ${i} name ${f.name}`);
		check(f.id === undefined || f.id === callIds[i], `functionResponse ${i} id ${j(f.id)}`);
	});
	const tools = nativeTools(body);
	check(sameJson(tools.map((t) => t.name), ['get_weather', 'get_time']) &&
	    tools.every((t) => t.parameters && t.parameters.type === 'object'),
	    `upstream functionDeclarations ${j(body.tools)}`);
	return frs;
}

// Thinking asked for at this effort: thought summaries included and a
// level (Gemini 3) or a positive budget (2.5-style names).
function checkNativeThinking(body, effort) {
	const tc = body.generationConfig && body.generationConfig.thinkingConfig;
	check(tc && tc.includeThoughts === true &&
	    (tc.thinkingLevel === effort || (Number.isInteger(tc.thinkingBudget) && tc.thinkingBudget > 0)),
	    `native thinkingConfig ${j(tc)} for effort ${effort}`);
	check(!('reasoning_effort' in body) && !('reasoning' in body), 'OpenAI reasoning fields sent natively');
}

// --- cases -----------------------------------------------------------------

async function createText(p) {
	const mk = marker();
	const model = `${p.prefix}text`;
	const r = await client.responses.create({ model, input: `Say hello ${mk}` });
	check(r.object === 'response', `object ${r.object}`);
	check(/^resp_/.test(r.id || ''), `id ${r.id}`);
	check(r.status === 'completed', `status ${r.status}`);
	check(r.model === model, `model echoed as ${r.model}`);
	check(r.output_text === p.hello, `output_text ${j(r.output_text)}`);
	check(r.output.length === 1 && r.output[0].type === 'message' &&
	    r.output[0].role === 'assistant' && r.output[0].status === 'completed',
	    `output ${j(r.output)}`);
	check(r.output[0].content[0].type === 'output_text', `part ${j(r.output[0].content)}`);
	check(r.error === null || r.error === undefined, `error ${j(r.error)}`);
	check(r.incomplete_details === null || r.incomplete_details === undefined,
	    `incomplete_details ${j(r.incomplete_details)}`);
	checkUsage(r.usage, await oneUpstream(mk));
}

async function requestId() {
	await client.responses.create({ model: 'openai/mock-text', input: `hi ${marker()}` });
	const id = last.headers.get('x-request-id');
	check(id && id.length > 0, 'no x-request-id header (client-apis.md §0.5)');
}

async function createStreamRaw(p) {
	const mk = marker();
	const s = await client.responses.create({ model: `${p.prefix}text`,
	    input: `Say hello ${mk}`, stream: true });
	const rec = last;
	const events = [];
	for await (const e of s)
		events.push(e);
	checkSequence(events);
	const done = events[events.length - 1];
	check(done.type === 'response.completed', `terminal ${done.type}`);
	const deltas = events.filter((e) => e.type === 'response.output_text.delta');
	check(deltas.length >= 1, 'no output_text.delta');
	check(deltas.map((e) => e.delta).join('') === p.hello,
	    `deltas ${j(deltas.map((e) => e.delta))}`);
	const added = events.find((e) => e.type === 'response.output_item.added');
	check(added && added.item.type === 'message', `output_item.added ${j(added)}`);
	for (const d of deltas)
		check(d.item_id === added.item.id && d.output_index === 0 &&
		    d.content_index === 0, `delta addressing ${j(d)}`);
	const order = events.map((e) => e.type);
	const iPart = order.indexOf('response.content_part.added');
	const iDelta = order.indexOf('response.output_text.delta');
	const iTextDone = order.indexOf('response.output_text.done');
	const iItemDone = order.indexOf('response.output_item.done');
	check(order.indexOf('response.output_item.added') < iPart && iPart < iDelta &&
	    iDelta < iTextDone && iTextDone < iItemDone &&
	    iItemDone < order.length - 1, `event order ${order.join(',')}`);
	const textDone = events.find((e) => e.type === 'response.output_text.done');
	check(textDone.text === p.hello, `output_text.done ${j(textDone)}`);
	const itemDone = events.find((e) => e.type === 'response.output_item.done');
	check(messageText(itemDone.item) === p.hello && itemDone.item.status === 'completed',
	    `output_item.done ${j(itemDone)}`);
	const out = done.response.output;
	check(Array.isArray(out) && out.length === 1 && messageText(out[0]) === p.hello,
	    `completed output ${j(out)}`);
	check(done.response.status === 'completed', `status ${done.response.status}`);
	checkUsage(done.response.usage, await oneUpstream(mk));
	await checkWire(rec);
}

async function streamHelperText(p) {
	const mk = marker();
	const s = client.responses.stream({ model: `${p.prefix}text`, input: user(`Say hello ${mk}`) });
	const r = await s.finalResponse();
	check(r.status === 'completed', `status ${r.status}`);
	check(r.output_text === p.hello, `output_text ${j(r.output_text)}`);
	check(r.output.length === 1, `output ${j(r.output)}`);
}

async function roundTrip(p) {
	const mk = marker();
	const model = `${p.prefix}agent`;
	const first = await client.responses.stream({ model, tools: FN_TOOLS,
	    input: user(`Weather in Oslo and time in CET? ${mk}`) }).finalResponse();
	check(first.status === 'completed', `turn 1 status ${first.status}`);
	const calls = checkCalls(first.output);
	const input = [...user(`Weather in Oslo and time in CET? ${mk}`), ...first.output,
		{ type: 'function_call_output', call_id: calls[0].call_id, output: '-3C, snow' },
		{ type: 'function_call_output', call_id: calls[1].call_id, output: '14:05' }];
	const second = await client.responses.stream({ model, tools: FN_TOOLS, input })
	    .finalResponse();
	check(second.status === 'completed', `turn 2 status ${second.status}`);
	check(second.output_text === ROUND_TRIP, `turn 2 output_text ${j(second.output_text)}`);
	const seen = await upstreamFor(mk);
	check(seen.length === 2, `upstream requests ${seen.length}`);
	if (nativeFor(p)) {
		checkNativeToolHistory(seen[1].body, calls.map((c) => c.call_id));
		return;
	}
	checkToolHistory(seen[1].body.messages, calls.map((c) => c.call_id));
	const tools = seen[1].body.tools;
	check(Array.isArray(tools) && tools.length === 2 && tools.every((t) =>
	    t.type === 'function' && t.function && t.function.parameters),
	    `upstream tools ${j(tools)}`);
	check(sameJson(tools.map((t) => t.function.name), ['get_weather', 'get_time']),
	    'upstream tool names');
}

async function parallelCalls(p) {
	const mk = marker();
	const r = await client.responses.create({ model: `${p.prefix}tools`, tools: FN_TOOLS,
	    parallel_tool_calls: true, input: `Weather and time ${mk}` });
	check(r.status === 'completed', `status ${r.status}`);
	checkCalls(r.output);
	check(r.output_text === '', `output_text ${j(r.output_text)}`);
	const q = await oneUpstream(mk);
	if (nativeFor(p)) {
		// no native field for it: the declarations are there and
		// calling is not switched off
		check(sameJson(nativeTools(q.body).map((t) => t.name), ['get_weather', 'get_time']),
		    `native tools ${j(q.body.tools)}`);
		const mode = q.body.toolConfig && q.body.toolConfig.functionCallingConfig &&
		    q.body.toolConfig.functionCallingConfig.mode;
		check(mode === undefined || mode === 'AUTO', `functionCallingConfig ${j(q.body.toolConfig)}`);
		return;
	}
	check(q.body.parallel_tool_calls === true, `parallel_tool_calls ${q.body.parallel_tool_calls}`);
}

async function parallelCallsStream(p) {
	const mk = marker();
	const s = await client.responses.create({ model: `${p.prefix}tools`, tools: FN_TOOLS,
	    input: `Weather and time ${mk}`, stream: true });
	const rec = last;
	const events = [];
	for await (const e of s)
		events.push(e);
	checkSequence(events);
	const done = events[events.length - 1];
	check(done.type === 'response.completed', `terminal ${done.type}`);
	checkCalls(done.response.output);
	const added = events.filter((e) => e.type === 'response.output_item.added');
	check(added.length === 2 && added.every((e) => e.item.type === 'function_call'),
	    `output_item.added ${j(added)}`);
	check(sameJson(added.map((e) => e.output_index), [0, 1]), 'output_index 0, 1');
	added.forEach((a, i) => {
		const args = events.filter((e) => e.type === 'response.function_call_arguments.delta' &&
		    e.item_id === a.item.id).map((e) => e.delta).join('');
		const fin = events.find((e) => e.type === 'response.function_call_arguments.done' &&
		    e.item_id === a.item.id);
		check(fin && fin.arguments === args && args !== '',
		    `arguments deltas ${j(args)} vs done ${j(fin)}`);
		check(fin.name === EXPECTED_CALLS[i].name, `arguments.done name ${j(fin.name)}`);
		check(a.item.call_id === done.response.output[i].call_id, 'call_id differs between events');
	});
	await checkWire(rec);
}

const SCHEMA = { type: 'object', properties: { weather: { type: 'string' },
	time: { type: 'string' } }, required: ['weather', 'time'], additionalProperties: false };

async function jsonSchema() {
	const mk = marker();
	const r = await client.responses.stream({ model: 'openai/mock-text', input: `JSON ${mk}`,
	    text: { format: { type: 'json_schema', name: 'answer', schema: SCHEMA, strict: true } } })
	    .finalResponse();
	check(r.status === 'completed', `status ${r.status}`);
	const q = await oneUpstream(mk);
	const want = { type: 'json_schema', json_schema: { name: 'answer', schema: SCHEMA, strict: true } };
	const got = q.body.response_format;
	check(got && got.type === 'json_schema' && got.json_schema &&
	    got.json_schema.name === 'answer' && got.json_schema.strict === true &&
	    sameJson(got.json_schema.schema, SCHEMA),
	    `response_format ${j(got)}, want ${j(want)}`);
	check(!('text' in q.body), 'text forwarded upstream');
}

async function jsonObject() {
	const mk = marker();
	await client.responses.create({ model: 'gemini-mock-text', input: `JSON ${mk}`,
	    text: { format: { type: 'json_object' } } });
	const q = await oneUpstream(mk);
	if (GEMINI_NATIVE) {
		const gc = q.body.generationConfig || {};
		check(gc.responseMimeType === 'application/json' && !('response_format' in q.body),
		    `native generationConfig ${j(gc)}`);
		return;
	}
	check(sameJson(q.body.response_format, { type: 'json_object' }),
	    `response_format ${j(q.body.response_format)}`);
}

// The request fields of §A.4.1 as the upstream saw them.
async function requestMapping() {
	const mk = marker();
	await client.responses.create({
		model: 'openai/mock-text', instructions: `Be brief ${mk}`,
		input: [{ role: 'developer', content: 'dev note' },
			{ role: 'user', content: [{ type: 'input_text', text: `look ${mk}` },
				{ type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' }] }],
		max_output_tokens: 321, temperature: 0.5, top_p: 0.9, user: 'user-42',
		reasoning: { effort: 'high' }, metadata: { ticket: 'T-42' }, store: false,
		include: ['reasoning.encrypted_content'], tool_choice: 'none',
		tools: FN_TOOLS,
	});
	const b = (await oneUpstream(mk)).body;
	const m = b.messages;
	check(Array.isArray(m) && m.length === 3, `messages ${j(m)}`);
	check(m[0].role === 'system' && m[0].content === `Be brief ${mk}`, `instructions -> ${j(m[0])}`);
	check(m[1].role === 'system' && JSON.stringify(m[1].content).includes('dev note'),
	    `developer -> ${j(m[1])}`);
	check(m[2].role === 'user' && Array.isArray(m[2].content), `user -> ${j(m[2])}`);
	const img = m[2].content.find((x) => x.type === 'image_url');
	check(img && img.image_url && img.image_url.url === 'data:image/png;base64,iVBORw0KGgo=',
	    `input_image -> ${j(m[2].content)}`);
	const txt = m[2].content.find((x) => x.type === 'text');
	check(txt && txt.text === `look ${mk}`, `input_text -> ${j(m[2].content)}`);
	check(b.max_tokens === 321 || b.max_completion_tokens === 321, `max_output_tokens -> ${j(b)}`);
	check(b.temperature === 0.5 && b.top_p === 0.9, `temperature/top_p ${b.temperature} ${b.top_p}`);
	check(b.reasoning_effort === 'high' || (b.reasoning && b.reasoning.effort === 'high'),
	    `reasoning.effort -> ${j({ reasoning_effort: b.reasoning_effort, reasoning: b.reasoning })}`);
	check(b.tool_choice === 'none', `tool_choice ${j(b.tool_choice)}`);
	check(b.user === 'user-42', `user ${j(b.user)}`);
	for (const k of ['input', 'instructions', 'store', 'include', 'metadata', 'max_output_tokens', 'text'])
		check(!(k in b), `${k} forwarded upstream`);
}

async function previousResponseId() {
	const mk = marker();
	const e = await expectError(client.responses.create({ model: 'openai/mock-text',
	    input: `again ${mk}`, previous_response_id: 'resp_abc123' }), OpenAI.BadRequestError, 400);
	check(e.param === 'previous_response_id', `param ${j(e.param)}`);
	check(/stateless|full|whole|entire/i.test(e.message), `message ${j(e.message)}`);
	check((await upstreamFor(mk)).length === 0, 'an upstream request was made');
}

async function unsupportedItem() {
	const mk = marker();
	const e = await expectError(client.responses.create({ model: 'openai/mock-text',
	    input: [{ role: 'user', content: `list files ${mk}` },
		{ type: 'local_shell_call', id: 'lsc_1', call_id: 'call_ls', status: 'completed',
		    action: { type: 'exec', command: ['ls'], env: {} } }] }),
	    OpenAI.BadRequestError, 400);
	check(e.param === 'input[1].type', `param ${j(e.param)}`);
	check(/local_shell_call/.test(e.message), `message does not name the type: ${j(e.message)}`);
	check(e.error && e.error.type === 'invalid_request_error', `type ${j(e.error)}`);
	check((await upstreamFor(mk)).length === 0, 'an upstream request was made');
}

async function unsupportedTool() {
	const mk = marker();
	const e = await expectError(client.responses.create({ model: 'openai/mock-text',
	    input: `search ${mk}`, tools: [FN_TOOLS[0], { type: 'file_search', vector_store_ids: ['vs_1'] }] }),
	    OpenAI.BadRequestError, 400);
	check(e.param === 'tools[1].type', `param ${j(e.param)}`);
	check(/file_search/.test(e.message), `message ${j(e.message)}`);
}

async function reasoningSummary(p) {
	const mk = marker();
	const r = await client.responses.stream({ model: `${p.prefix}reasoning`,
	    input: `Think ${mk}`, reasoning: { effort: 'low', summary: 'auto' } }).finalResponse();
	check(r.status === 'completed', `status ${r.status}`);
	check(r.output.length === 2, `output ${j(r.output)}`);
	const [rs, msg] = r.output;
	check(rs.type === 'reasoning' && Array.isArray(rs.summary) &&
	    rs.summary.map((s) => s.text).join('') === REASONING, `reasoning item ${j(rs)}`);
	check(msg.type === 'message' && messageText(msg) === p.hello, `message item ${j(msg)}`);
	check(r.output_text === p.hello, `output_text ${j(r.output_text)}`);
	check(r.usage.output_tokens_details.reasoning_tokens === 7,
	    `reasoning_tokens ${j(r.usage.output_tokens_details)}`);
	const b = (await oneUpstream(mk)).body;
	if (nativeFor(p)) {
		checkNativeThinking(b, 'low');
		return;
	}
	// Gemini's compat endpoint gets the effort as its own thinking_config
	const tc = b.extra_body && b.extra_body.google && b.extra_body.google.thinking_config;
	check(b.reasoning_effort === 'low' || (b.reasoning && b.reasoning.effort === 'low') ||
	    (tc && (tc.thinking_level === 'low' || tc.thinking_budget === 1024) &&
	    tc.include_thoughts === true && b.reasoning_effort === undefined),
	    `upstream effort ${j({ reasoning_effort: b.reasoning_effort, reasoning: b.reasoning, tc })}`);
}

async function reasoningHidden(p) {
	const r = await client.responses.create({ model: `${p.prefix}reasoning`,
	    input: `Think ${marker()}` });
	check(r.status === 'completed', `status ${r.status}`);
	check(!r.output.some((o) => o.type === 'reasoning'), `reasoning item without summary: ${j(r.output)}`);
	check(r.output_text === p.hello, `output_text ${j(r.output_text)}`);
}

async function incomplete() {
	const s = await client.responses.create({ model: 'openai/mock-length',
	    input: `cap ${marker()}`, max_output_tokens: 2, stream: true });
	const events = [];
	for await (const e of s)
		events.push(e);
	checkSequence(events);
	const t = events[events.length - 1];
	check(t.type === 'response.incomplete', `terminal ${t.type}`);
	check(t.response.status === 'incomplete', `status ${t.response.status}`);
	check(t.response.incomplete_details && t.response.incomplete_details.reason === 'max_output_tokens',
	    `incomplete_details ${j(t.response.incomplete_details)}`);
	check(messageText(t.response.output[0]) === 'Hello from', `output ${j(t.response.output)}`);
	const r = await client.responses.create({ model: 'gemini-mock-length', input: `cap ${marker()}` });
	check(r.status === 'incomplete' && r.incomplete_details &&
	    r.incomplete_details.reason === 'max_output_tokens', `non-stream ${j(r)}`);
}

async function midstream(model) {
	const mk = marker();
	const s = await client.responses.create({ model, input: `fail ${mk}`, stream: true });
	const rec = last;
	const events = [];
	for await (const e of s)
		events.push(e);
	checkSequence(events);
	const t = events[events.length - 1];
	check(t.type === 'response.failed', `terminal ${t.type}: ${events.map((e) => e.type).join(',')}`);
	check(t.response.status === 'failed', `status ${t.response.status}`);
	check(t.response.error && typeof t.response.error.code === 'string' &&
	    typeof t.response.error.message === 'string' && t.response.error.message !== '',
	    `response.error ${j(t.response.error)}`);
	check(events.some((e) => e.type === 'response.output_text.delta'),
	    'the text before the failure was not streamed');
	check(!events.some((e) => e.type === 'response.completed'), 'response.completed sent');
	check((await upstreamFor(mk)).length === 1, 'retried after the first event');
	await checkWire(rec);
}

async function wrongKey() {
	const e = await expectError(badClient.responses.create({ model: 'openai/mock-text',
	    input: 'hi' }), OpenAI.AuthenticationError, 401);
	check(e.error && typeof e.error.message === 'string' && typeof e.error.type === 'string',
	    `error body ${j(e.error)}`);
}

async function storeTrue() {
	const r = await client.responses.create({ model: 'gemini-mock-text', store: true,
	    input: `hi ${marker()}` });
	check(r.status === 'completed' && r.output_text === 'Hello from Gemini!', `response ${j(r)}`);
}

// auto-model's first model in the shared test config is openai/mock-echo:
// the answer is the canonical request the proxy sent.
async function autoModel() {
	const mk = marker();
	const r = await client.responses.create({ model: 'auto-model', input: `route ${mk}` });
	check(r.status === 'completed', `status ${r.status}`);
	check(r.model === 'auto-model', `model ${r.model}`);
	check(r.output_text.includes(mk), `output_text ${j(r.output_text)}`);
	if (process.env.AIPROXY_AUTO_MODEL_ECHO === '1') {
		const canon = JSON.parse(r.output_text);
		check(canon.model === 'openai/mock-echo' && Array.isArray(canon.messages),
		    `echoed request ${j(canon)}`);
	}
}

async function main() {
	for (const p of PROVIDERS) {
		await run(`responses.create text ${p.name}`, () => createText(p));
		await run(`responses.create stream raw events ${p.name}`, () => createStreamRaw(p));
		await run(`responses.stream finalResponse text ${p.name}`, () => streamHelperText(p));
		await run(`responses.stream function call round trip ${p.name}`, () => roundTrip(p));
		await run(`responses.create parallel function calls ${p.name}`, () => parallelCalls(p));
		await run(`responses.create stream parallel function calls ${p.name}`,
		    () => parallelCallsStream(p));
		await run(`reasoning summary item ${p.name}`, () => reasoningSummary(p));
		await run(`reasoning without summary stays hidden ${p.name}`, () => reasoningHidden(p));
	}
	await run('x-request-id header', requestId);
	await run('json_schema text.format -> upstream response_format', jsonSchema);
	await run('json_object text.format -> upstream response_format', jsonObject);
	await run('request fields mapped upstream', requestMapping);
	await run('previous_response_id -> BadRequestError param previous_response_id', previousResponseId);
	await run('unsupported input item -> 400 input[1].type', unsupportedItem);
	await run('unsupported tool type -> 400 tools[1].type', unsupportedTool);
	await run('finish length -> response.incomplete max_output_tokens', incomplete);
	await run('mid-stream failure openrouter -> response.failed', () => midstream('openai/mock-midstream'));
	await run('mid-stream failure gemini -> response.failed', () => midstream('gemini-mock-drop'));
	await run('wrong key -> AuthenticationError', wrongKey);
	await run('store:true accepted', storeTrue);
	await run('auto-model', autoModel);
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log(`not ok - harness: ${oneLine(e && e.stack)}`);
	console.log(`${passed} passed, ${failed + 1} failed`);
	process.exit(1);
});
