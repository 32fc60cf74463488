// tests/client/anthropic_test.mjs -- real-client test: the official
// @anthropic-ai/sdk, both its last 0.x (0.137.0, as Claude Code speaks:
// x-api-key, anthropic-version 2023-06-01, ?beta=true) and the newest 1.x
// that runs on Node 20 (1.17.0: Bearer, 2026 version date), against the
// proxy's Anthropic Messages routes (POST /v1/messages and
// /v1/messages/count_tokens, issue 10; wire reference client-apis.md Part
// B, C.4). Installed as npm aliases "anthropic0" and "anthropic1".
//
// Owns: proving that both unmodified SDKs get what they need from the
// translated route: messages.create (plain and {stream:true}),
// messages.stream().finalMessage() (text, tool use round trip with
// tool_result, parallel tool use, thinking), messages.countTokens, the
// error classes and shapes, both credential headers, and that what reached
// the upstream is the canonical chat request (the mock's log).
// Must never: talk to a real provider (models are mock scenarios), or retry
// (maxRetries 0).
//
// Env: AIPROXY_ROOT (http://127.0.0.1:PORT: the SDK appends /v1/...),
// AIPROXY_KEY, AIPROXY_MOCK_URL (the mock upstream, for its request log;
// checks that need it fail without it). Optional AIPROXY_GEMINI_API=native
// when the proxy's gemini entry has "api": "native" (the mock's
// /gemini-native): checks of what reached the upstream then read the native
// request (contents, functionDeclarations, generationConfig) for the gemini
// models. Prints "ok - name" / "not ok - name: reason" per check, then
// "N passed, N failed"; exit 1 on any failure.
import Anthropic0 from 'anthropic0';
import Anthropic1 from 'anthropic1';
import { randomBytes } from 'node:crypto';

const ROOT = process.env.AIPROXY_ROOT ||
    (process.env.AIPROXY_BASE_URL || '').replace(/\/v1\/?$/, '');
const KEY = process.env.AIPROXY_KEY;
const MOCK_URL = process.env.AIPROXY_MOCK_URL || '';
const GEMINI_NATIVE = process.env.AIPROXY_GEMINI_API === 'native';
const PROVIDERS = [
	{ name: 'openrouter', prefix: 'openai/mock-', hello: 'Hello from OpenRouter!' },
	{ name: 'gemini', prefix: 'gemini-mock-', hello: 'Hello from Gemini!' },
];
const REASONING = 'Thinking about the answer.';

if (!ROOT || !KEY) {
	console.error('anthropic_test: set AIPROXY_ROOT and AIPROXY_KEY');
	process.exit(2);
}

// --- wire capture: the SDK's own fetch, teed -------------------------------

let last = null;

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
		} catch (e) { /* junk */ }
		out.push({ event, data: d, json });
	}
	return out;
}

// Every event on the wire has an "event:" line equal to its JSON type (the
// SDK drops events without one), no [DONE], SSE Content-Type.
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
		check(b.event === b.json.type, `event: ${b.event} but type ${b.json.type}`);
	}
	return blocks;
}

// The order rule of §B.4.1 over SDK-yielded events (ping excluded).
function checkOrder(events) {
	const types = events.map((e) => e.type);
	check(types[0] === 'message_start', `first event ${types[0]}`);
	check(types[types.length - 1] === 'message_stop', `last event ${types[types.length - 1]}`);
	check(types.filter((t) => t === 'message_start').length === 1 &&
	    types.filter((t) => t === 'message_stop').length === 1, `types ${types.join(',')}`);
	const iDelta = types.lastIndexOf('message_delta');
	check(iDelta > 0 && iDelta === types.length - 2, `message_delta position: ${types.join(',')}`);
	let open = -1;
	let next = 0;
	for (const e of events.slice(1, iDelta)) {
		if (e.type === 'content_block_start') {
			check(open < 0, `block ${e.index} opened while ${open} is open`);
			check(e.index === next, `block index ${e.index}, expected ${next}`);
			open = e.index;
			next++;
		} else if (e.type === 'content_block_delta') {
			check(e.index === open, `delta for block ${e.index} while ${open} is open`);
		} else if (e.type === 'content_block_stop') {
			check(e.index === open, `stop for block ${e.index} while ${open} is open`);
			open = -1;
		} else if (e.type !== 'message_delta') {
			throw new Error(`unexpected event ${e.type} inside the message`);
		}
	}
	check(open < 0, `block ${open} never closed`);
	const md = events[iDelta];
	check(md.usage && Number.isInteger(md.usage.output_tokens),
	    `message_delta usage ${j(md.usage)}`);
	const ms = events[0].message;
	check(ms && ms.role === 'assistant' && ms.type === 'message' && Array.isArray(ms.content) &&
	    ms.usage && Number.isInteger(ms.usage.input_tokens) && Number.isInteger(ms.usage.output_tokens),
	    `message_start ${j(ms)}`);
	check(/^msg_/.test(ms.id || ''), `message id ${ms.id}`);
	return md;
}

async function expectError(promise, A, cls, status) {
	let err = null;
	try {
		await promise;
	} catch (e) {
		err = e;
	}
	check(err, `expected ${cls.name}, got a success`);
	check(err instanceof A.APIError, `expected an APIError, got ${err.constructor.name}: ${err.message}`);
	check(err instanceof cls, `expected ${cls.name}, got ` +
	    `${err.constructor.name} status ${err.status}: ${err.message}`);
	check(err.status === status, `status ${err.status}`);
	return err;
}

// The Anthropic error body {type:"error", error:{type, message}}.
function checkErrorBody(err, type) {
	const b = err.error;
	check(b && b.type === 'error' && b.error && b.error.type === type &&
	    typeof b.error.message === 'string' && b.error.message !== '',
	    `error body ${j(b)}, want error.type ${type}`);
}

const TOOLS = [
	{ name: 'get_weather', description: 'Current weather in a city',
	    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
	{ name: 'get_time', description: 'Current time in a time zone',
	    input_schema: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } },
];
const EXPECTED_CALLS = [
	{ name: 'get_weather', input: { city: 'Oslo' } },
	{ name: 'get_time', input: { tz: 'CET' } },
];

function checkToolUse(msg) {
	const uses = msg.content.filter((b) => b.type === 'tool_use');
	check(uses.length === 2, `tool_use blocks: ${j(msg.content)}`);
	const ids = new Set();
	EXPECTED_CALLS.forEach((want, i) => {
		const u = uses[i];
		check(typeof u.id === 'string' && /^[A-Za-z0-9_-]+$/.test(u.id), `tool_use ${i} id ${j(u.id)}`);
		ids.add(u.id);
		check(u.name === want.name, `tool_use ${i} name ${u.name}`);
		check(u.input && typeof u.input === 'object' && sameJson(u.input, want.input),
		    `tool_use ${i} input ${j(u.input)}`);
	});
	check(ids.size === 2, 'tool_use ids not distinct');
	check(msg.stop_reason === 'tool_use', `stop_reason ${msg.stop_reason}`);
	return uses;
}

function textOf(msg) {
	return msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
}

function checkToolHistory(messages, ids) {
	const a = messages.findIndex((m) => m.role === 'assistant' &&
	    Array.isArray(m.tool_calls) && m.tool_calls.length > 0);
	check(a >= 0, `no assistant tool_calls upstream: ${j(messages)}`);
	const got = messages[a].tool_calls.map((c) => c.id);
	check(sameJson(got, ids), `assistant tool_calls ids ${j(got)}, want ${j(ids)}`);
	for (const c of messages[a].tool_calls) {
		check(c.type === 'function' && c.function && typeof c.function.arguments === 'string',
		    `tool_call shape ${j(c)}`);
		JSON.parse(c.function.arguments);
	}
	const after = messages.slice(a + 1, a + 1 + ids.length);
	check(after.every((m) => m.role === 'tool'), `after the tool_calls: ${j(after.map((m) => m.role))}`);
	check(sameJson(after.map((m) => m.tool_call_id), ids), `tool message ids ${j(after.map((m) => m.tool_call_id))}`);
	return after;
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
// these calls (ids, when sent, equal the tool_use ids), followed at once by
// a user content with one functionResponse per call, in order. Returns the
// functionResponse objects.
function checkNativeToolHistory(body, ids) {
	const contents = body.contents;
	check(Array.isArray(contents), `no contents upstream: ${j(body)}`);
	const a = contents.findIndex((c) => c.role === 'model' && Array.isArray(c.parts) &&
	    c.parts.some((x) => x.functionCall));
	check(a >= 0, `no model functionCall content upstream: ${j(contents)}`);
	const fcs = contents[a].parts.filter((x) => x.functionCall).map((x) => x.functionCall);
	check(sameJson(fcs.map((f) => f.name), EXPECTED_CALLS.map((c) => c.name)),
	    `functionCall names ${j(fcs)}`);
	fcs.forEach((f, i) => {
		check(f.id === undefined || f.id === ids[i], `functionCall ${i} id ${j(f.id)}, want ${ids[i]}`);
		check(sameJson(f.args, EXPECTED_CALLS[i].input), `functionCall ${i} args ${j(f.args)}`);
	});
	const next = contents[a + 1];
	check(next && (next.role || 'user') === 'user', `content after the calls ${j(next)}`);
	const frs = next.parts.filter((x) => x.functionResponse).map((x) => x.functionResponse);
	check(frs.length === ids.length && next.parts.length === frs.length,
	    `functionResponse parts ${j(next.parts)}`);
	frs.forEach((f, i) => {
		check(f.name === EXPECTED_CALLS[i].name, `functionResponse ${i} name ${f.name}`);
		check(f.id === undefined || f.id === ids[i], `functionResponse ${i} id ${j(f.id)}`);
	});
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

const ask = (text) => [{ role: 'user', content: text }];

// --- one SDK ---------------------------------------------------------------

function suite(label, A, major) {
	const client = new A({ apiKey: KEY, baseURL: ROOT, maxRetries: 0, timeout: 20000,
	    fetch: capturingFetch });
	const badClient = new A({ apiKey: 'bad-anthropic-test-key', baseURL: ROOT,
	    maxRetries: 0, timeout: 20000, fetch: capturingFetch });
	const cases = [];
	const t = (name, fn) => cases.push([`${label} ${name}`, fn]);

	for (const p of PROVIDERS) {
		t(`messages.create text ${p.name}`, async () => {
			const mk = marker();
			const model = `${p.prefix}text`;
			const m = await client.messages.create({ model, max_tokens: 1024,
			    messages: ask(`Say hello ${mk}`) });
			check(/^msg_/.test(m.id || ''), `id ${m.id}`);
			check(m.type === 'message' && m.role === 'assistant', `type/role ${m.type} ${m.role}`);
			check(m.model === model, `model echoed as ${m.model}`);
			check(m.content.length === 1 && m.content[0].type === 'text' &&
			    m.content[0].text === p.hello, `content ${j(m.content)}`);
			check(m.stop_reason === 'end_turn', `stop_reason ${m.stop_reason}`);
			const u = m.usage;
			check(u && Number.isInteger(u.input_tokens) && Number.isInteger(u.output_tokens) &&
			    u.input_tokens > 0 && u.output_tokens > 0, `usage ${j(u)}`);
			const want = (await oneUpstream(mk)).usage;
			check(u.input_tokens === want.prompt_tokens && u.output_tokens === want.completion_tokens,
			    `usage ${j(u)} but the upstream reported ${j(want)}`);
		});

		t(`messages.stream finalMessage text ${p.name}`, async () => {
			const mk = marker();
			const m = await client.messages.stream({ model: `${p.prefix}text`, max_tokens: 1024,
			    messages: ask(`Say hello ${mk}`) }).finalMessage();
			check(textOf(m) === p.hello && m.content.length === 1, `content ${j(m.content)}`);
			check(m.stop_reason === 'end_turn', `stop_reason ${m.stop_reason}`);
			const want = (await oneUpstream(mk)).usage;
			check(m.usage.output_tokens === want.completion_tokens,
			    `output_tokens ${m.usage.output_tokens}, upstream ${want.completion_tokens}`);
			check(m.usage.input_tokens === want.prompt_tokens,
			    `input_tokens ${m.usage.input_tokens}, upstream ${want.prompt_tokens}`);
		});

		t(`messages.create stream raw events ${p.name}`, async () => {
			const s = await client.messages.create({ model: `${p.prefix}text`, max_tokens: 1024,
			    stream: true, messages: ask(`Say hello ${marker()}`) });
			const rec = last;
			const events = [];
			for await (const e of s)
				events.push(e);
			const md = checkOrder(events);
			check(md.delta && md.delta.stop_reason === 'end_turn', `message_delta ${j(md)}`);
			check(md.usage.output_tokens > 0, `output_tokens ${md.usage.output_tokens}`);
			const text = events.filter((e) => e.type === 'content_block_delta')
			    .map((e) => e.delta.type === 'text_delta' ? e.delta.text : `<${e.delta.type}>`).join('');
			check(text === p.hello, `streamed text ${j(text)}`);
			const start = events.find((e) => e.type === 'content_block_start');
			check(start.content_block.type === 'text' && start.content_block.text === '',
			    `content_block_start ${j(start)}`);
			await checkWire(rec);
		});

		t(`tool use round trip ${p.name}`, async () => {
			const mk = marker();
			const model = `${p.prefix}agent`;
			const question = ask(`Weather in Oslo and time in CET? ${mk}`);
			const first = await client.messages.stream({ model, max_tokens: 1024, tools: TOOLS,
			    messages: question }).finalMessage();
			const uses = checkToolUse(first);
			const messages = [...question, { role: 'assistant', content: first.content },
				{ role: 'user', content: [
					{ type: 'tool_result', tool_use_id: uses[0].id, content: '-3C, snow' },
					{ type: 'tool_result', tool_use_id: uses[1].id, is_error: true,
					    content: [{ type: 'text', text: 'timezone lookup failed' }] }] }];
			const second = await client.messages.stream({ model, max_tokens: 1024, tools: TOOLS,
			    messages }).finalMessage();
			check(second.stop_reason === 'end_turn', `turn 2 stop_reason ${second.stop_reason}`);
			const text = textOf(second);
			check(/^Got 2 tool results: -3C, snow \| .*timezone lookup failed$/.test(text),
			    `turn 2 text ${j(text)}`);
			const seen = await upstreamFor(mk);
			check(seen.length === 2, `upstream requests ${seen.length}`);
			if (nativeFor(p)) {
				const frs = checkNativeToolHistory(seen[1].body, uses.map((u) => u.id));
				check(JSON.stringify(frs[0].response).includes('-3C, snow'),
				    `functionResponse ${j(frs[0])}`);
				const nt = nativeTools(seen[1].body);
				check(sameJson(nt.map((x) => x.name), ['get_weather', 'get_time']),
				    `upstream functionDeclarations ${j(seen[1].body.tools)}`);
				check(sameJson(nt[0].parameters, TOOLS[0].input_schema),
				    `input_schema -> parameters ${j(nt[0])}`);
				return;
			}
			const tools = checkToolHistory(seen[1].body.messages, uses.map((u) => u.id));
			check(tools[0].content === '-3C, snow', `tool content ${j(tools[0].content)}`);
			const up = seen[1].body.tools;
			check(Array.isArray(up) && sameJson(up.map((x) => x.type === 'function' &&
			    x.function.name), ['get_weather', 'get_time']), `upstream tools ${j(up)}`);
			check(sameJson(up[0].function.parameters, TOOLS[0].input_schema),
			    `input_schema -> parameters ${j(up[0].function)}`);
		});

		t(`parallel tool use (create) ${p.name}`, async () => {
			const m = await client.messages.create({ model: `${p.prefix}tools`, max_tokens: 1024,
			    tools: TOOLS, messages: ask(`Weather and time ${marker()}`) });
			checkToolUse(m);
		});

		t(`parallel tool use (stream) ${p.name}`, async () => {
			const s = await client.messages.create({ model: `${p.prefix}tools`, max_tokens: 1024,
			    tools: TOOLS, stream: true, messages: ask(`Weather and time ${marker()}`) });
			const rec = last;
			const events = [];
			for await (const e of s)
				events.push(e);
			const md = checkOrder(events);
			check(md.delta.stop_reason === 'tool_use', `stop_reason ${md.delta.stop_reason}`);
			const starts = events.filter((e) => e.type === 'content_block_start');
			check(starts.length === 2 && starts.every((e) => e.content_block.type === 'tool_use' &&
			    sameJson(e.content_block.input, {})), `blocks ${j(starts)}`);
			starts.forEach((st, i) => {
				const json = events.filter((e) => e.type === 'content_block_delta' &&
				    e.index === st.index).map((e) => e.delta.partial_json).join('');
				check(sameJson(JSON.parse(json || '{}'), EXPECTED_CALLS[i].input),
				    `block ${st.index} input ${j(json)}`);
			});
			await checkWire(rec);
		});

		t(`thinking blocks from upstream reasoning ${p.name}`, async () => {
			const mk = marker();
			const m = await client.messages.stream({ model: `${p.prefix}reasoning`, max_tokens: 8192,
			    thinking: { type: 'enabled', budget_tokens: 2048 },
			    messages: ask(`Think ${mk}`) }).finalMessage();
			check(m.content.length === 2 && m.content[0].type === 'thinking' &&
			    m.content[0].thinking === REASONING, `content ${j(m.content)}`);
			check(m.content[1].type === 'text' && m.content[1].text === p.hello,
			    `text block ${j(m.content[1])}`);
			const b = (await oneUpstream(mk)).body;
			if (nativeFor(p)) {
				checkNativeThinking(b, 'low');
				return;
			}
			const tc = b.extra_body && b.extra_body.google && b.extra_body.google.thinking_config;
			check(b.reasoning_effort === 'low' ||
			    (b.reasoning && (b.reasoning.max_tokens === 2048 || b.reasoning.effort === 'low')) ||
			    (tc && (tc.thinking_level === 'low' || tc.thinking_budget === 1024) &&
			    tc.include_thoughts === true && b.reasoning_effort === undefined),
			    `budget_tokens 2048 -> ${j({ reasoning_effort: b.reasoning_effort, reasoning: b.reasoning, tc })}`);
		});

		t(`no thinking requested: reasoning stays hidden ${p.name}`, async () => {
			const m = await client.messages.create({ model: `${p.prefix}reasoning`, max_tokens: 1024,
			    messages: ask(`Think ${marker()}`) });
			check(m.content.length === 1 && m.content[0].type === 'text' &&
			    m.content[0].text === p.hello, `content ${j(m.content)}`);
		});
	}

	t('request-id header', async () => {
		await client.messages.create({ model: 'openai/mock-text', max_tokens: 64,
		    messages: ask(`hi ${marker()}`) });
		const id = last.headers.get('request-id');
		check(id && id.length > 0, 'no request-id header (client-apis.md §B.1.2)');
	});

	t('messages.countTokens', async () => {
		const mk = marker();
		const small = await client.messages.countTokens({ model: 'gemini-mock-text',
		    messages: ask(`count ${mk}`) });
		check(sameJson(Object.keys(small), ['input_tokens']), `answer ${j(small)}`);
		check(Number.isInteger(small.input_tokens) && small.input_tokens > 0, `input_tokens ${j(small)}`);
		const big = await client.messages.countTokens({ model: 'gemini-mock-text',
		    system: 'You are terse.', tools: TOOLS,
		    messages: ask(`count ${mk} ${'lorem ipsum dolor sit amet '.repeat(40)}`) });
		check(big.input_tokens > small.input_tokens + 200,
		    `a longer request counts ${big.input_tokens} vs ${small.input_tokens}`);
		check((await upstreamFor(mk)).length === 0, 'count_tokens reached the upstream');
	});

	t('missing max_tokens -> 400 invalid_request_error', async () => {
		const mk = marker();
		const e = await expectError(client.messages.create({ model: 'openai/mock-text',
		    messages: ask(`no cap ${mk}`) }), A, A.BadRequestError, 400);
		checkErrorBody(e, 'invalid_request_error');
		check(/max_tokens/.test(e.error.error.message), `message ${j(e.error.error.message)}`);
		check((await upstreamFor(mk)).length === 0, 'an upstream request was made');
	});

	t(`apiKey sent as ${major === 0 ? 'x-api-key' : 'Bearer'} is accepted`, async () => {
		const m = await client.messages.create({ model: 'openai/mock-text', max_tokens: 64,
		    messages: ask(`auth ${marker()}`) });
		check(textOf(m) === 'Hello from OpenRouter!', `content ${j(m.content)}`);
		const h = last.reqHeaders;
		if (major === 0) {
			check(h.get('x-api-key') === KEY && !h.has('authorization'),
			    'the 0.x SDK did not send x-api-key alone');
			check(h.get('anthropic-version') === '2023-06-01', `version ${h.get('anthropic-version')}`);
		} else {
			check(h.get('authorization') === `Bearer ${KEY}` && !h.has('x-api-key'),
			    'the 1.x SDK did not send Bearer alone');
		}
	});

	t('authToken (Bearer) is accepted', async () => {
		const c = new A({ authToken: KEY, apiKey: null, baseURL: ROOT, maxRetries: 0,
		    timeout: 20000, fetch: capturingFetch });
		const m = await c.messages.create({ model: 'gemini-mock-text', max_tokens: 64,
		    messages: ask(`auth ${marker()}`) });
		check(textOf(m) === 'Hello from Gemini!', `content ${j(m.content)}`);
		check(last.reqHeaders.get('authorization') === `Bearer ${KEY}`, 'no Bearer sent');
	});

	t('wrong key -> 401 authentication_error', async () => {
		const e = await expectError(badClient.messages.create({ model: 'openai/mock-text',
		    max_tokens: 64, messages: ask('hi') }), A, A.AuthenticationError, 401);
		checkErrorBody(e, 'authentication_error');
		const e2 = await expectError(badClient.messages.countTokens({ model: 'openai/mock-text',
		    messages: ask('hi') }), A, A.AuthenticationError, 401);
		checkErrorBody(e2, 'authentication_error');
	});

	t('?beta=true accepted', async () => {
		const m = await client.messages.create({ model: 'openai/mock-text', max_tokens: 64,
		    messages: ask(`beta ${marker()}`) }, { query: { beta: 'true' } });
		check(/[?&]beta=true/.test(last.url), `url ${last.url}`);
		check(textOf(m) === 'Hello from OpenRouter!', `content ${j(m.content)}`);
		const b = await client.beta.messages.create({ model: 'gemini-mock-text', max_tokens: 64,
		    messages: ask(`beta ${marker()}`) });
		check(textOf(b) === 'Hello from Gemini!', `beta.messages.create ${j(b.content)}`);
		if (major === 0)
			check(/\/v1\/messages\?beta=true$/.test(last.url), `0.x beta url ${last.url}`);
		const n = await client.beta.messages.countTokens({ model: 'gemini-mock-text',
		    messages: ask('beta count') });
		check(Number.isInteger(n.input_tokens) && n.input_tokens > 0, `beta countTokens ${j(n)}`);
	});

	for (const model of ['openai/mock-midstream', 'gemini-mock-drop']) {
		t(`mid-stream failure ${model} -> error event, APIError`, async () => {
			const mk = marker();
			const s = await client.messages.create({ model, max_tokens: 1024, stream: true,
			    messages: ask(`fail ${mk}`) });
			const rec = last;
			const events = [];
			let err = null;
			try {
				for await (const e of s)
					events.push(e);
			} catch (e) {
				err = e;
			}
			check(err instanceof A.APIError, `raw iterator: ${err ? err.constructor.name : 'no error'}`);
			const et = (err.error && err.error.error && err.error.error.type) || err.type;
			check(et === 'api_error' || et === 'overloaded_error', `error type ${j(et)}`);
			check(events.length > 0 && events[0].type === 'message_start', 'no message_start before the error');
			check(events.some((e) => e.type === 'content_block_delta'), 'no text before the failure');
			check(!events.some((e) => e.type === 'message_stop'), 'message_stop sent');
			const blocks = await checkWire(rec);
			check(blocks[blocks.length - 1].event === 'error', `last wire event ${blocks[blocks.length - 1].event}`);
			check((await upstreamFor(mk)).length === 1, 'retried after the first event');
			let err2 = null;
			try {
				await client.messages.stream({ model, max_tokens: 1024,
				    messages: ask(`fail ${marker()}`) }).finalMessage();
			} catch (e) {
				err2 = e;
			}
			check(err2 instanceof A.APIError, `finalMessage: ${err2 ? err2.constructor.name : 'resolved'}`);
		});
	}

	t('finish length -> stop_reason max_tokens', async () => {
		const m = await client.messages.create({ model: 'openai/mock-length', max_tokens: 2,
		    messages: ask(`cap ${marker()}`) });
		check(m.stop_reason === 'max_tokens' && textOf(m) === 'Hello from', `message ${j(m)}`);
		const f = await client.messages.stream({ model: 'gemini-mock-length', max_tokens: 2,
		    messages: ask(`cap ${marker()}`) }).finalMessage();
		check(f.stop_reason === 'max_tokens' && textOf(f) === 'Hello from', `streamed ${j(f)}`);
	});

	t('request fields mapped upstream', async () => {
		const mk = marker();
		await client.messages.create({
			model: 'openai/mock-text', max_tokens: 333,
			system: [{ type: 'text', text: `Be brief ${mk}` },
				{ type: 'text', text: 'Second block.', cache_control: { type: 'ephemeral' } }],
			messages: [{ role: 'user', content: [{ type: 'text', text: `look ${mk}` },
				{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }],
			stop_sequences: ['END'], temperature: 0.5, tools: TOOLS,
			tool_choice: { type: 'any', disable_parallel_tool_use: true },
			metadata: { user_id: `u-${'x'.repeat(100)}` },
		}, { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } });
		const b = (await oneUpstream(mk)).body;
		const m = b.messages;
		check(Array.isArray(m) && m.length === 2, `messages ${j(m)}`);
		check(m[0].role === 'system' && JSON.stringify(m[0].content).includes(`Be brief ${mk}`) &&
		    JSON.stringify(m[0].content).includes('Second block.'), `system -> ${j(m[0])}`);
		check(m[1].role === 'user' && Array.isArray(m[1].content), `user -> ${j(m[1])}`);
		const img = m[1].content.find((x) => x.type === 'image_url');
		check(img && img.image_url.url === 'data:image/png;base64,iVBORw0KGgo=', `image -> ${j(m[1].content)}`);
		check(b.max_tokens === 333 || b.max_completion_tokens === 333, `max_tokens ${j(b)}`);
		check(sameJson(b.stop, ['END']) || b.stop === 'END', `stop ${j(b.stop)}`);
		check(b.temperature === 0.5, `temperature ${b.temperature}`);
		check(b.tool_choice === 'required', `tool_choice ${j(b.tool_choice)}`);
		check(b.parallel_tool_calls === false, `parallel_tool_calls ${b.parallel_tool_calls}`);
		check(typeof b.user === 'string' && b.user.length > 0 && b.user.length <= 64, `user ${j(b.user)}`);
		for (const k of ['system', 'stop_sequences', 'metadata'])
			check(!(k in b), `${k} forwarded upstream`);
	});

	t('models.list reads the superset shape', async () => {
		const ids = [];
		for await (const mdl of client.models.list()) {
			check(typeof mdl.id === 'string' && mdl.type === 'model' &&
			    typeof mdl.display_name === 'string', `model entry ${j(mdl)}`);
			ids.push(mdl.id);
		}
		check(ids.includes('auto-model'), `auto-model missing from ${ids.length} ids`);
	});

	return cases;
}

async function main() {
	const cases = [...suite('sdk 0.137', Anthropic0, 0), ...suite('sdk 1.17', Anthropic1, 1)];
	for (const [name, fn] of cases)
		await run(name, fn);
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log(`not ok - harness: ${oneLine(e && e.stack)}`);
	console.log(`${passed} passed, ${failed + 1} failed`);
	process.exit(1);
});
