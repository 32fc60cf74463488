// tests/client/sdk_test.mjs -- real-client test: the official openai npm
// package (major 6) against the aiproxy OpenAI surface.
//
// Owns: proving that an unmodified OpenAI SDK can list models, chat (plain,
// streamed, with tools, streamed with tools through both the raw iterator and
// the ChatCompletionStream accumulator) and gets the right error classes.
// Must never: talk to a real provider (models default to mock scenarios), or
// retry (maxRetries 0) so a failure shows the first answer the proxy gave.
//
// Env: AIPROXY_BASE_URL (e.g. http://127.0.0.1:PORT/v1), AIPROXY_KEY (access
// key), SDK_MODEL_OR, SDK_MODEL_GEMINI, SDK_MODEL_OR_TOOLS,
// SDK_MODEL_GEMINI_TOOLS.  Prints "ok - name" / "not ok - name: reason" per
// case, then "N passed, N failed"; exit 1 on any failure.
//
// Checks marked [proxy] depend on work the proxy does, so they fail when
// AIPROXY_BASE_URL points straight at tests/mock/upstream.js:
// - auto-model in the model list (the proxy adds it);
// - 401 on models.list with a wrong key (OpenRouter's /models needs no auth);
// - Gemini streamed tools (upstream omits tool_calls[].index and ends with
//   finish_reason "stop": compat quirks 1-2, repaired by the proxy);
// - Gemini include_usage chunk with choices:[] (quirk 6);
// - error bodies normalised to OpenAI shape without upstream metadata.
// Pointed at the mock's /gemini prefix, every error check fails too (Google
// error bodies are arrays, quirk 5, so the SDK sees no "error" key).
import OpenAI from 'openai';

const BASE_URL = process.env.AIPROXY_BASE_URL;
const KEY = process.env.AIPROXY_KEY;
const MODEL_OR = process.env.SDK_MODEL_OR || 'openai/mock-text';
const MODEL_GEMINI = process.env.SDK_MODEL_GEMINI || 'gemini-mock-text';
const MODEL_OR_TOOLS = process.env.SDK_MODEL_OR_TOOLS || 'openai/mock-tools';
const MODEL_GEMINI_TOOLS =
	process.env.SDK_MODEL_GEMINI_TOOLS || 'gemini-mock-tools';
const MODEL_ERR400 = 'openai/mock-err400';
const BAD_KEY = 'bad-sdk-test-key';	// "bad" prefix: the mock rejects it too

if (!BASE_URL || !KEY) {
	console.error('sdk_test: set AIPROXY_BASE_URL and AIPROXY_KEY');
	process.exit(2);
}

function makeClient(apiKey) {
	return new OpenAI({ baseURL: BASE_URL, apiKey, maxRetries: 0,
	    timeout: 20000 });
}

const client = makeClient(KEY);
const badClient = makeClient(BAD_KEY);

const HELLO = [{ role: 'user', content: 'Say hello.' }];
const WEATHER = [{ role: 'user', content: 'Weather in Oslo and time in CET?' }];
const TOOLS = [{
	type: 'function',
	function: {
		name: 'get_weather', description: 'Current weather in a city',
		parameters: { type: 'object',
		    properties: { city: { type: 'string' } }, required: ['city'] },
	},
}, {
	type: 'function',
	function: {
		name: 'get_time', description: 'Current time in a time zone',
		parameters: { type: 'object',
		    properties: { tz: { type: 'string' } }, required: ['tz'] },
	},
}];
const EXPECTED_CALLS = [
	{ name: 'get_weather', args: { city: 'Oslo' } },
	{ name: 'get_time', args: { tz: 'CET' } },
];

let passed = 0;
let failed = 0;

function check(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

function oneLine(s) {
	return String(s).replace(/\s+/g, ' ').slice(0, 300);
}

async function run(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`ok - ${name}`);
	} catch (e) {
		failed++;
		const what = e instanceof Error ?
		    `${e.constructor.name}: ${e.message}` : e;
		console.log(`not ok - ${name}: ${oneLine(what)}`);
	}
}

function sameJson(a, b) {
	return JSON.stringify(a) === JSON.stringify(b);
}

// Two calls, in order, with ids, type "function", the expected names and
// arguments that parse as the expected JSON; finish_reason "tool_calls".
function checkToolCalls(calls, finish) {
	check(Array.isArray(calls), `tool_calls is ${JSON.stringify(calls)}`);
	check(calls.length === 2, `expected 2 tool calls, got ${calls.length} ` +
	    `(keys ${Object.keys(calls).join(',')}): ${JSON.stringify(calls)}`);
	const ids = new Set();
	EXPECTED_CALLS.forEach((want, i) => {
		const c = calls[i];
		check(c && typeof c === 'object', `tool call ${i} missing`);
		check(typeof c.id === 'string' && c.id !== '',
		    `tool call ${i} has no id`);
		ids.add(c.id);
		check(c.type === 'function', `tool call ${i} type ${c.type}`);
		check(c.function && c.function.name === want.name,
		    `tool call ${i} name ${c.function && c.function.name}`);
		let args;
		try {
			args = JSON.parse(c.function.arguments);
		} catch (e) {
			throw new Error(`tool call ${i} arguments not JSON: ` +
			    JSON.stringify(c.function.arguments));
		}
		check(sameJson(args, want.args),
		    `tool call ${i} arguments ${c.function.arguments}`);
	});
	check(ids.size === 2, 'tool call ids are not distinct');
	check(finish === 'tool_calls', `finish_reason ${finish}`);
}

// ------------------------------------------------------------------ cases

// [proxy] auto-model is added by the proxy.
async function modelsList() {
	const ids = [];
	for await (const m of client.models.list()) {
		check(m && typeof m === 'object', `model entry ${JSON.stringify(m)}`);
		check(typeof m.id === 'string' && m.id !== '',
		    `model without string id: ${JSON.stringify(m)}`);
		ids.push(m.id);
	}
	check(ids.length > 0, 'empty model list');
	check(ids.includes('auto-model'), `no auto-model in ${ids.join(',')}`);
}

async function chatPlain(model) {
	const r = await client.chat.completions.create({ model, messages: HELLO });
	const ch = r.choices && r.choices[0];
	check(ch, `no choices: ${JSON.stringify(r)}`);
	check(typeof ch.message.content === 'string' &&
	    ch.message.content.includes('Hello'),
	    `content ${JSON.stringify(ch.message.content)}`);
	check(ch.finish_reason === 'stop', `finish_reason ${ch.finish_reason}`);
}

// The iterator ends without throwing on [DONE] (or EOF); a mid-stream error
// event would throw an APIError here.
async function chatStream(model) {
	const s = await client.chat.completions.create({ model, messages: HELLO,
	    stream: true });
	let text = '';
	let finish = null;
	let chunks = 0;
	for await (const c of s) {
		chunks++;
		for (const ch of c.choices) {
			text += (ch.delta && ch.delta.content) || '';
			if (ch.finish_reason)
				finish = ch.finish_reason;
		}
	}
	check(chunks > 0, 'no chunks');
	check(text.includes('Hello'), `streamed text ${JSON.stringify(text)}`);
	check(finish === 'stop', `finish_reason ${finish}`);
}

// [proxy] for Gemini: OpenAI-style usage chunk (choices:[]) last.
async function chatStreamUsage(model) {
	const s = await client.chat.completions.create({ model, messages: HELLO,
	    stream: true, stream_options: { include_usage: true } });
	let last = null;
	for await (const c of s)
		last = c;
	check(last, 'no chunks');
	check(Array.isArray(last.choices) && last.choices.length === 0,
	    `last chunk has choices: ${JSON.stringify(last)}`);
	const u = last.usage;
	check(u && Number.isInteger(u.prompt_tokens) &&
	    Number.isInteger(u.completion_tokens) && u.total_tokens > 0 &&
	    u.total_tokens === u.prompt_tokens + u.completion_tokens,
	    `usage ${JSON.stringify(u)}`);
}

async function toolsPlain(model) {
	const r = await client.chat.completions.create({ model,
	    messages: WEATHER, tools: TOOLS });
	const ch = r.choices && r.choices[0];
	check(ch, `no choices: ${JSON.stringify(r)}`);
	checkToolCalls(ch.message.tool_calls, ch.finish_reason);
}

// [proxy] for Gemini: ChatCompletionStream needs integer indexes and
// finish_reason "tool_calls".
async function toolsStreamHelper(model) {
	const stream = client.chat.completions.stream({ model,
	    messages: WEATHER, tools: TOOLS });
	const fc = await stream.finalChatCompletion();
	const ch = fc.choices[0];
	check(ch, 'no choices in final completion');
	check(ch.message.role === 'assistant', `role ${ch.message.role}`);
	checkToolCalls(ch.message.tool_calls, ch.finish_reason);
}

// Accumulate tool_call deltas by index the way OpenAI clients do.
function addToolDelta(calls, tc) {
	check(Number.isInteger(tc.index),
	    `tool call delta without integer index: ${JSON.stringify(tc)}`);
	if (!calls[tc.index])
		calls[tc.index] = { id: '', type: '',
		    function: { name: '', arguments: '' } };
	const slot = calls[tc.index];
	if (tc.id)
		slot.id = tc.id;
	if (tc.type)
		slot.type = tc.type;
	if (tc.function && tc.function.name)
		slot.function.name = tc.function.name;
	if (tc.function && typeof tc.function.arguments === 'string')
		slot.function.arguments += tc.function.arguments;
}

// [proxy] for Gemini, as above.
async function toolsStreamRaw(model) {
	const s = await client.chat.completions.create({ model,
	    messages: WEATHER, tools: TOOLS, stream: true });
	const calls = [];
	let finish = null;
	for await (const c of s) {
		for (const ch of c.choices) {
			const tcs = (ch.delta && ch.delta.tool_calls) || [];
			for (const tc of tcs)
				addToolDelta(calls, tc);
			if (ch.finish_reason)
				finish = ch.finish_reason;
		}
	}
	check(Object.keys(calls).length === calls.length,
	    `tool call indexes have holes: ${JSON.stringify(calls)}`);
	checkToolCalls(calls, finish);
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

async function authChat() {
	await expectError(badClient.chat.completions.create({ model: MODEL_OR,
	    messages: HELLO }), OpenAI.AuthenticationError, 401);
}

// [proxy] the mock's OpenRouter /models needs no key.
async function authModels() {
	await expectError(badClient.models.list(), OpenAI.AuthenticationError,
	    401);
}

async function badRequest() {
	const e = await expectError(client.chat.completions.create({
	    model: MODEL_ERR400, messages: HELLO }), OpenAI.BadRequestError, 400);
	check(typeof e.message === 'string' && e.message.length > 0 &&
	    !/no body/.test(e.message), `message ${JSON.stringify(e.message)}`);
}

// [proxy] section 1.5 body, upstream metadata (metadata.raw) not leaked.
async function badRequestBody() {
	const e = await expectError(client.chat.completions.create({
	    model: MODEL_ERR400, messages: HELLO }), OpenAI.BadRequestError, 400);
	const body = e.error;
	check(body && typeof body.message === 'string' && body.message !== '',
	    `error body ${JSON.stringify(body)}`);
	check(typeof body.type === 'string', `no error.type: ` +
	    JSON.stringify(body));
	check(!JSON.stringify(body).includes('secret-internal-details'),
	    `upstream metadata leaked: ${JSON.stringify(body)}`);
}

async function main() {
	await run('models.list has auto-model', modelsList);
	await run('chat openrouter', () => chatPlain(MODEL_OR));
	await run('chat gemini', () => chatPlain(MODEL_GEMINI));
	await run('chat stream openrouter', () => chatStream(MODEL_OR));
	await run('chat stream gemini', () => chatStream(MODEL_GEMINI));
	await run('chat stream usage openrouter',
	    () => chatStreamUsage(MODEL_OR));
	await run('chat stream usage gemini',
	    () => chatStreamUsage(MODEL_GEMINI));
	await run('tools openrouter', () => toolsPlain(MODEL_OR_TOOLS));
	await run('tools gemini', () => toolsPlain(MODEL_GEMINI_TOOLS));
	await run('tools stream() openrouter',
	    () => toolsStreamHelper(MODEL_OR_TOOLS));
	await run('tools stream() gemini',
	    () => toolsStreamHelper(MODEL_GEMINI_TOOLS));
	await run('tools create stream openrouter',
	    () => toolsStreamRaw(MODEL_OR_TOOLS));
	await run('tools create stream gemini',
	    () => toolsStreamRaw(MODEL_GEMINI_TOOLS));
	await run('wrong key chat -> AuthenticationError', authChat);
	await run('wrong key models.list -> AuthenticationError', authModels);
	await run('mock-err400 -> BadRequestError', badRequest);
	await run('mock-err400 body is OpenAI-shaped', badRequestBody);
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log(`not ok - harness: ${oneLine(e && e.stack)}`);
	console.log(`${passed} passed, ${failed + 1} failed`);
	process.exit(1);
});
