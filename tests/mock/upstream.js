#!/usr/bin/env node
// tests/mock/upstream.js -- fake upstream for aiproxy integration tests.
//
// Owns: impersonating OpenRouter (/openrouter/...), Gemini's
// OpenAI-compatible endpoint (/gemini/...) and Gemini's native API
// (/gemini-native/...) on 127.0.0.1, byte for byte where
// /work/shared/docs/provider-apis.md and provider-apis-2026.md describe the
// wire format; the scenario scripts chosen by the request's model name; the
// Gemini 3 thought-signature registry and its checks; the request log and
// the /_mock control API.  See tests/mock/README.md for the scenario list.
//
// Must never: depend on npm packages (node: built-ins only, Node 18 and 20),
// listen on anything but 127.0.0.1, or print to stdout anything except the
// one startup line (errors go to stderr).
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const crypto = require('node:crypto');

const HOST = '127.0.0.1';
const HANG_MS = 60000;
const SLOW_GAP_MS = 100;
const DROP_GRACE_MS = 50;	// let sent bytes reach the client first
const MAX_BODY = 64 * 1024 * 1024;
const OR_PROCESSING = ': OPENROUTER PROCESSING\n\n';
const THOUGHT_SIG = 'c2lnbmF0dXJl';
const JSON_CT = {
	openrouter: 'application/json',
	gemini: 'application/json; charset=UTF-8',
	'gemini-native': 'application/json; charset=UTF-8',
};
const DISPLAY = { openrouter: 'OpenRouter', gemini: 'Gemini',
	'gemini-native': 'Gemini' };

const state = {
	seq: 0,
	log: [],
	faults: [],	// injected per-key failures, see applyFault()
	config: {
		models_fail: process.env.MOCK_MODELS_FAIL === '1',
		// Where OpenRouter puts its always-present stream usage:
		// "empty_choices" = extra chunk with choices:[] (default),
		// "empty_delta" = extra chunk with one choice and an empty delta.
		or_usage_chunk: 'empty_choices',
	},
};

// ---------------------------------------------------------------- helpers

function die(msg) {
	process.stderr.write(`upstream.js: ${msg}\n`);
	process.exit(2);
}

function parseArgs(argv) {
	const opts = { port: 0, portfile: null };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--port' && i + 1 < argv.length)
			opts.port = Number(argv[++i]);
		else if (a === '--portfile' && i + 1 < argv.length)
			opts.portfile = argv[++i];
		else
			die(`usage: upstream.js [--port N] [--portfile FILE] (bad: ${a})`);
	}
	if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
		die('--port must be an integer 0..65535');
	return opts;
}

function randomId(n) {
	return crypto.randomBytes(n).toString('base64url').slice(0, n);
}

function chars(s) {
	return Array.from(s).length;
}

// Characters of a message's content: a string, or the text parts of an
// array; anything else counts 0.  Deterministic so tests can predict usage.
function contentChars(content) {
	if (typeof content === 'string')
		return chars(content);
	if (!Array.isArray(content))
		return 0;
	let n = 0;
	for (const p of content) {
		if (p && typeof p.text === 'string')
			n += chars(p.text);
	}
	return n;
}

function promptTokens(body) {
	let n = 0;
	if (body && Array.isArray(body.messages)) {
		for (const m of body.messages)
			n += contentChars(m && m.content);
	}
	return Math.ceil(n / 4);
}

// The usage a reply reports; also kept in the request log (entry.usage)
// so tests can compare what the proxy booked with what was reported.
function usageFor(ctx, completionChars) {
	const p = promptTokens(ctx.body);
	const c = Math.ceil(completionChars / 4);
	const u = { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
	ctx.entry.usage = u;
	return u;
}

// Scenario = word after "mock-" up to the next ':' or the end; else "text".
function scenarioOf(model) {
	const i = model.indexOf('mock-');
	if (i < 0)
		return 'text';
	const rest = model.slice(i + 5);
	const j = rest.indexOf(':');
	return j < 0 ? rest : rest.slice(0, j);
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const parts = [];
		let size = 0;
		req.on('data', (d) => {
			size += d.length;
			if (size > MAX_BODY) {
				reject(new Error('request body too large'));
				req.destroy();
				return;
			}
			parts.push(d);
		});
		req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
		req.on('error', reject);
	});
}

function sendJson(res, status, obj, ct, headers) {
	const text = JSON.stringify(obj);
	res.writeHead(status, Object.assign({
		'Content-Type': ct || 'application/json',
		'Content-Length': Buffer.byteLength(text),
	}, headers || {}));
	res.end(text);
}

// --------------------------------------------------------------- errors

const GOOGLE_STATUS = {
	400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED',
	404: 'NOT_FOUND', 409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED',
	500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

const OR_MESSAGES = {
	400: 'Provider returned error',
	401: 'No auth credentials found',
	402: 'Insufficient credits. Add more using https://openrouter.ai/credits',
	403: 'Provider returned error',
	404: 'No endpoints found for this model.',
	408: 'Request timed out',
	429: 'Rate limit exceeded: free-models-per-min.',
	500: 'Internal Server Error',
	502: 'Provider returned error',
	503: 'No available providers for this request',
};

function geminiMessage(status, model) {
	switch (status) {
	case 400:
		return 'Invalid JSON payload received. Unknown name "mock_field": ' +
		    'Cannot find field.';
	case 404:
		return `models/${model} is not found for API version v1beta, or ` +
		    'is not supported for generateContent. Call ListModels to see ' +
		    'the list of available models and their supported methods.';
	case 429:
		return 'You exceeded your current quota, please check your plan ' +
		    'and billing details. For more information on this error, ' +
		    'head to: https://ai.google.dev/gemini-api/docs/rate-limits.';
	case 500:
		return 'An internal error has occurred. Please retry or report in ' +
		    'https://developers.generativeai.google/guide/troubleshooting';
	case 503:
		return 'The model is overloaded. Please try again later.';
	default:
		return `Mock error ${status}`;
	}
}

function geminiDetails(status, model) {
	if (status === 400) {
		return [{
			'@type': 'type.googleapis.com/google.rpc.BadRequest',
			fieldViolations: [{ description: geminiMessage(400, model) }],
		}];
	}
	if (status !== 429)
		return undefined;
	return [{
		'@type': 'type.googleapis.com/google.rpc.QuotaFailure',
		violations: [{
			quotaMetric: 'generativelanguage.googleapis.com/' +
			    'generate_content_free_tier_requests',
			quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
			quotaDimensions: { location: 'global', model: model },
			quotaValue: '10',
		}],
	}, {
		'@type': 'type.googleapis.com/google.rpc.Help',
		links: [{
			description: 'Learn more about Gemini API quotas',
			url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
		}],
	}, {
		'@type': 'type.googleapis.com/google.rpc.RetryInfo',
		retryDelay: '7s',
	}];
}

// Gemini compat wraps google.rpc.Status in a JSON array (quirk 5).
function geminiError(status, message, details) {
	const e = { code: status, message: message,
	    status: GOOGLE_STATUS[status] || 'UNKNOWN' };
	if (details)
		e.details = details;
	return [{ error: e }];
}

function openrouterError(status, message) {
	return {
		error: {
			code: status,
			message: message,
			metadata: { provider_name: 'MockProvider',
			    raw: 'secret-internal-details' },
		},
		user_id: 'u1',
	};
}

// Scripted error: status N in the flavour's shape, with rate-limit hints.
function sendScriptedError(ctx, status) {
	const model = ctx.model;
	if (ctx.flavour === 'gemini-native') {
		return finishJson(ctx, status, geminiError(status,
		    geminiMessage(status, model), geminiDetails(status, model))[0]);
	}
	if (ctx.flavour === 'gemini') {
		const body = geminiError(status, geminiMessage(status, model),
		    geminiDetails(status, model));
		return finishJson(ctx, status, body);
	}
	const body = openrouterError(status,
	    OR_MESSAGES[status] || `Mock error ${status}`);
	let headers;
	if (status === 429) {
		const reset = String(Date.now() + 7000);
		headers = { 'Retry-After': '7', 'X-RateLimit-Limit': '20',
		    'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': reset };
		body.error.metadata.headers = { 'X-RateLimit-Limit': '20',
		    'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': reset };
	}
	return finishJson(ctx, status, body, headers);
}

function sendAuthError(res, flavour, missing) {
	if (flavour === 'openrouter') {
		return sendJson(res, 401, { error: { code: 401,
		    message: 'No auth credentials found' } }, JSON_CT.openrouter);
	}
	if (missing) {
		return sendJson(res, 401, geminiError(401,
		    'Method doesn\'t allow unregistered callers (callers without ' +
		    'established identity). Please use API Key or other form of ' +
		    'API consumer identity to call this API.'), JSON_CT.gemini);
	}
	return sendJson(res, 400, geminiError(400,
	    'API key not valid. Please pass a valid API key.', [{
		'@type': 'type.googleapis.com/google.rpc.ErrorInfo',
		reason: 'API_KEY_INVALID',
		domain: 'googleapis.com',
		metadata: { service: 'generativelanguage.googleapis.com' },
	}]), JSON_CT.gemini);
}

function sendFlavourError(res, flavour, status, message) {
	const body = flavour === 'gemini' ? geminiError(status, message) :
	    openrouterError(status, message);
	sendJson(res, status, body, JSON_CT[flavour]);
}

// ------------------------------------------------- per-request context

// A ctx tracks one chat request: whether the client went away (closed) and
// who is waiting on it (wake), so scripts stop writing once nobody listens.
// life is shared with trackEntry (selfClose marks our deliberate drops).
function makeCtx(req, res, entry, flavour, life) {
	const ctx = {
		req, res, entry, flavour, life,
		body: null, model: '', stream: false, includeUsage: false,
		id: '', created: Math.floor(Date.now() / 1000),
		closed: false, wake: new Set(),
		key: null, tools: TOOLS, sig: null, includeThoughts: false,
	};
	res.on('close', () => {
		ctx.closed = true;
		for (const w of Array.from(ctx.wake))
			w();
		ctx.wake.clear();
	});
	return ctx;
}

function sleep(ctx, ms) {
	return new Promise((resolve) => {
		if (ctx.closed)
			return resolve(false);
		const done = () => {
			clearTimeout(t);
			ctx.wake.delete(done);
			resolve(false);
		};
		const t = setTimeout(() => {
			ctx.wake.delete(done);
			resolve(!ctx.closed);
		}, ms);
		ctx.wake.add(done);
		return undefined;
	});
}

// One res.write per call; resolves true once handed to the kernel, false
// if the client is gone.
function send(ctx, data) {
	if (ctx.closed)
		return Promise.resolve(false);
	return new Promise((resolve) => {
		const done = () => {
			ctx.wake.delete(done);
			resolve(!ctx.closed);
		};
		ctx.wake.add(done);
		ctx.res.write(data, done);
	});
}

function finishJson(ctx, status, obj, headers) {
	ctx.entry.status = status;
	sendJson(ctx.res, status, obj, JSON_CT[ctx.flavour], headers);
}

// Deliberate abrupt close (not a client disconnect): completed, no closed_at.
async function destroyNow(ctx) {
	if (!await sleep(ctx, DROP_GRACE_MS))
		return;
	ctx.life.selfClose = true;
	ctx.entry.completed = true;
	ctx.res.socket.destroy();
}

// ------------------------------------------------------ response shapes

function orNative(finish) {
	if (finish === 'stop')
		return 'STOP';
	return finish;
}

function choiceDelta(ctx, delta, finish) {
	if (ctx.flavour === 'gemini')
		return { delta, finish_reason: finish, index: 0 };
	return { index: 0, delta, finish_reason: finish,
	    native_finish_reason: finish ? orNative(finish) : null,
	    logprobs: null };
}

function chunk(ctx, choices, extra) {
	const base = ctx.flavour === 'gemini' ?
	    { choices, created: ctx.created, id: ctx.id, model: ctx.model,
		object: 'chat.completion.chunk' } :
	    { id: ctx.id, provider: 'MockProvider', model: ctx.model,
		object: 'chat.completion.chunk', created: ctx.created, choices };
	return Object.assign(base, extra || {});
}

function completion(ctx, message, finish, usage) {
	if (ctx.flavour === 'gemini') {
		return { choices: [{ finish_reason: finish, index: 0, message }],
		    created: ctx.created, id: ctx.id, model: ctx.model,
		    object: 'chat.completion', usage };
	}
	return { id: ctx.id, provider: 'MockProvider', model: ctx.model,
	    object: 'chat.completion', created: ctx.created,
	    choices: [{ logprobs: null, finish_reason: finish,
		native_finish_reason: orNative(finish), index: 0, message }],
	    usage };
}

function assistantMessage(ctx, content, toolCalls) {
	const m = ctx.flavour === 'gemini' ?
	    { content, role: 'assistant' } :
	    { role: 'assistant', content, refusal: null, reasoning: null };
	if (toolCalls)
		m.tool_calls = toolCalls;
	return m;
}

function event(ctx, obj) {
	return send(ctx, `data: ${JSON.stringify(obj)}\n\n`);
}

function startStream(ctx) {
	const headers = { 'Content-Type': 'text/event-stream',
	    'Cache-Control': 'no-cache' };
	if (ctx.flavour === 'openrouter')
		headers['X-Generation-Id'] = ctx.id;
	ctx.entry.status = 200;
	ctx.res.writeHead(200, headers);
	ctx.res.flushHeaders();
}

// OpenRouter: keep-alive comment before the first event.
function streamPreamble(ctx) {
	if (ctx.flavour !== 'openrouter')
		return Promise.resolve(!ctx.closed);
	return send(ctx, OR_PROCESSING);
}

// Finish chunk, then usage per flavour, then [DONE].  OpenRouter always
// sends usage in its last chunk; plain OpenAI style only with include_usage;
// Gemini compat already put it on the last content chunk (quirk 6).
async function streamTail(ctx, finish, usage) {
	if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, {}, finish)])))
		return;
	if (ctx.flavour === 'openrouter') {
		const choices = state.config.or_usage_chunk === 'empty_delta' ?
		    [choiceDelta(ctx, { role: 'assistant', content: '' }, null)] :
		    [];
		if (!await event(ctx, chunk(ctx, choices, { usage })))
			return;
	}
	if (!await send(ctx, 'data: [DONE]\n\n'))
		return;
	ctx.res.end();
}

// Extra fields for content chunk i of n: Gemini puts usage on the last one.
function contentExtra(ctx, i, n, usage) {
	if (ctx.flavour === 'gemini' && ctx.includeUsage && i === n - 1)
		return { usage };
	return undefined;
}

// ----------------------------------------------------------- scenarios

function helloPieces(ctx) {
	return ['Hello', ' from ', `${DISPLAY[ctx.flavour]}!`];
}

async function replyText(ctx, pieces, opts) {
	const o = opts || {};
	const text = pieces.join('');
	const usage = usageFor(ctx, chars(text));
	if (!ctx.stream) {
		if (o.gap && !await sleep(ctx, o.gap * pieces.length))
			return;
		return finishJson(ctx, 200, completion(ctx,
		    assistantMessage(ctx, text), o.finish || 'stop', usage));
	}
	startStream(ctx);
	if (!await streamPreamble(ctx))
		return;
	const role = choiceDelta(ctx, { role: 'assistant', content: '' }, null);
	if (!await event(ctx, chunk(ctx, [role])))
		return;
	for (let i = 0; i < pieces.length; i++) {
		if (o.gap && !await sleep(ctx, o.gap))
			return;
		if (o.pauseAt === i && !await sleep(ctx, o.pauseMs))
			return;
		if (o.midComment && i === 4 && ctx.flavour === 'openrouter' &&
		    !await send(ctx, OR_PROCESSING))
			return;
		const extra = Object.assign({},
		    contentExtra(ctx, i, pieces.length, usage));
		if (o.stamp)
			extra.mock_sent_ms = Date.now();
		const c = choiceDelta(ctx, { content: pieces[i] }, null);
		if (!await event(ctx, chunk(ctx, [c], extra)))
			return;
	}
	return streamTail(ctx, o.finish || 'stop', usage);
}

function scText(ctx) {
	return replyText(ctx, helloPieces(ctx));
}

function scSlow(ctx) {
	const pieces = ['Hello', ' from', ` ${DISPLAY[ctx.flavour]}`, ',',
	    ' one', ' piece', ' at a', ' time.'];
	return replyText(ctx, pieces,
	    { gap: SLOW_GAP_MS, stamp: true, midComment: true });
}

// Silence in the middle of a stream (keep-alive and idle-timeout tests):
// the pause comes from env MOCK_PAUSE_MS (default 1200 ms).
function scPause(ctx) {
	return replyText(ctx, ['Hello', ' after', ' a pause'],
	    { pauseAt: 2, pauseMs: Number(process.env.MOCK_PAUSE_MS || 1200) });
}

// One stream event of 1.2 MiB: above the proxy's 1 MiB SSE line cap.
function scHugeline(ctx) {
	return replyText(ctx, ['Hello', 'y'.repeat(1200 * 1024)]);
}

function scEcho(ctx) {
	return replyText(ctx, [ctx.rawBody]);
}

function scBig(ctx) {
	const kb = (i) => `big ${i} `.padEnd(1023, 'abcdefghij') + '\n';
	if (!ctx.stream) {
		const parts = [];
		for (let i = 0; i < 300; i++)
			parts.push(kb(i));
		return replyText(ctx, [parts.join('')]);
	}
	const pieces = [];
	for (let i = 0; i < 200; i++)
		pieces.push(kb(i));
	return replyText(ctx, pieces);
}

// As fast as the proxy takes them: 32000 events of 1 KB, more than the
// sockets and the web server between a client and the proxy hold (about
// 4 to 10 MB on loopback, where the kernel grows the buffers), so a client
// that stops reading makes the proxy stop reading too.
const FLOOD_N = 32000;
function scFlood(ctx) {
	const kb = (i) => `flood ${i} `.padEnd(1023, 'abcdefghij') + '\n';
	const pieces = [];
	for (let i = 0; i < FLOOD_N; i++)
		pieces.push(kb(i));
	return replyText(ctx, pieces);
}

const TOOLS = [
	{ name: 'get_weather', args: '{"city":"Oslo"}',
	    frags: ['{"city":', '"Oslo"}'] },
	{ name: 'get_time', args: '{"tz":"CET"}', frags: ['{"tz":', '"CET"}'] },
];

function toolId(ctx, i) {
	if (ctx.flavour === 'gemini')
		return `function-call-${ctx.entry.seq}-${i}`;
	return `call_${ctx.entry.seq}_${i}`;
}

function toolChars(ctx) {
	const list = ctx ? ctx.tools : TOOLS;
	return list.reduce((n, t) => n + chars(t.name) + chars(t.args), 0);
}

function fullToolCall(ctx, i) {
	const call = { id: toolId(ctx, i), type: 'function',
	    function: { name: ctx.tools[i].name, arguments: ctx.tools[i].args } };
	if (ctx.flavour === 'gemini' && i === 0)
		call.extra_content = { google: { thought_signature: sigFor(ctx) } };
	return call;
}

// OpenRouter per section 1.3: first delta has index/id/type/name and "",
// then the arguments in fragments.
async function streamToolsOpenRouter(ctx, usage) {
	const tools = ctx.tools;
	for (let i = 0; i < tools.length; i++) {
		const first = { index: i, id: toolId(ctx, i), type: 'function',
		    function: { name: tools[i].name, arguments: '' } };
		const d = i === 0 ?
		    { role: 'assistant', content: null, tool_calls: [first] } :
		    { tool_calls: [first] };
		if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, d, null)])))
			return;
		for (const f of tools[i].frags) {
			const tc = { index: i, function: { arguments: f } };
			const c = choiceDelta(ctx, { tool_calls: [tc] }, null);
			if (!await event(ctx, chunk(ctx, [c])))
				return;
		}
	}
	return streamTail(ctx, 'tool_calls', usage);
}

// Gemini compat quirks 1-3: whole call per delta, no index, finish "stop",
// thought signature on the first call.
async function streamToolsGemini(ctx, usage) {
	const n = ctx.tools.length;
	for (let i = 0; i < n; i++) {
		const d = { role: 'assistant', tool_calls: [fullToolCall(ctx, i)] };
		const extra = contentExtra(ctx, i, n, usage);
		if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, d, null)], extra)))
			return;
	}
	return streamTail(ctx, 'stop', usage);
}

async function scTools(ctx) {
	const usage = usageFor(ctx, toolChars(ctx));
	if (!ctx.stream) {
		const calls = ctx.tools.map((t, i) => fullToolCall(ctx, i));
		return finishJson(ctx, 200, completion(ctx,
		    assistantMessage(ctx, null, calls), 'tool_calls', usage));
	}
	startStream(ctx);
	if (!await streamPreamble(ctx))
		return;
	if (ctx.flavour === 'gemini')
		return streamToolsGemini(ctx, usage);
	return streamToolsOpenRouter(ctx, usage);
}

// Two content chunks (role on the first), shared by midstream and drop.
async function twoChunks(ctx) {
	startStream(ctx);
	if (!await streamPreamble(ctx))
		return false;
	const a = choiceDelta(ctx, { role: 'assistant', content: 'Hello' }, null);
	if (!await event(ctx, chunk(ctx, [a])))
		return false;
	const b = choiceDelta(ctx, { content: ' from' }, null);
	return event(ctx, chunk(ctx, [b]));
}

// Non-stream: headers and half a JSON body, then the socket dies.
async function partialJson(ctx) {
	const text = JSON.stringify(completion(ctx,
	    assistantMessage(ctx, 'Hello from nowhere'), 'stop',
	    usageFor(ctx, 18)));
	ctx.entry.status = 200;
	ctx.res.writeHead(200, { 'Content-Type': JSON_CT[ctx.flavour] });
	if (!await send(ctx, text.slice(0, Math.floor(text.length / 2))))
		return;
	await destroyNow(ctx);
}

async function scMidstream(ctx) {
	if (!ctx.stream) {
		if (ctx.flavour === 'gemini')
			return partialJson(ctx);
		// Mock's choice: OpenRouter's in-band error in a 200 JSON body.
		const body = completion(ctx, assistantMessage(ctx, 'Hello from'),
		    'error', usageFor(ctx, 10));
		body.error = { code: 502, message: 'Network connection lost.',
		    metadata: { error_type: 'provider_unavailable' } };
		return finishJson(ctx, 200, body);
	}
	if (!await twoChunks(ctx))
		return;
	if (ctx.flavour === 'gemini')
		return destroyNow(ctx);
	const err = { code: 'server_error',
	    message: 'Provider disconnected unexpectedly' };
	const c = choiceDelta(ctx, { content: '' }, 'error');
	if (!await event(ctx, chunk(ctx, [c], { error: err })))
		return;
	ctx.res.end();
}

async function scDrop(ctx) {
	if (!ctx.stream)
		return partialJson(ctx);
	if (await twoChunks(ctx))
		await destroyNow(ctx);
}

async function scHang(ctx) {
	if (ctx.stream) {
		startStream(ctx);
	} else {
		ctx.entry.status = 200;
		ctx.res.writeHead(200, { 'Content-Type': JSON_CT[ctx.flavour] });
		ctx.res.flushHeaders();
	}
	if (await sleep(ctx, HANG_MS))
		ctx.res.end();
}

// --------------------------------------- scenarios for client dialects
// (issue 10: Responses and Messages requests are translated to chat; these
// give the translators reasoning, tool round trips, empty answers, the
// output cap and in-band errors to work on).

const REASONING = ['Thinking about', ' the answer.'];

// Does a Gemini compat request ask for thought summaries
// (extra_body.google.thinking_config.include_thoughts, provider-apis-2026
// §2.1)? Then, as the real endpoint does, they come inline in content,
// wrapped in <thought>...</thought>, the tag split across chunks.
function inlineThoughts(ctx) {
	const eb = ctx.body && ctx.body.extra_body;
	const tc = eb && eb.google && eb.google.thinking_config;
	return ctx.flavour === 'gemini' && !!tc && tc.include_thoughts === true;
}

// Reasoning before the answer: OpenRouter streams delta.reasoning (next to
// content ""), Gemini delta.reasoning_content, or inline <thought> text when
// the request asked for thoughts through extra_body; non-stream:
// message.reasoning / .reasoning_content / inline. Usage adds
// completion_tokens_details.reasoning_tokens.
async function scReasoning(ctx) {
	const gem = ctx.flavour === 'gemini';
	const thought = REASONING.join('');
	const pieces = helloPieces(ctx);
	const usage = usageFor(ctx, chars(thought) + chars(pieces.join('')));
	usage.completion_tokens_details = {
		reasoning_tokens: Math.ceil(chars(thought) / 4) };
	if (inlineThoughts(ctx))
		return scInlineThoughts(ctx, thought, pieces, usage);
	if (!ctx.stream) {
		const m = assistantMessage(ctx, pieces.join(''));
		m[gem ? 'reasoning_content' : 'reasoning'] = thought;
		return finishJson(ctx, 200, completion(ctx, m, 'stop', usage));
	}
	startStream(ctx);
	if (!await streamPreamble(ctx))
		return;
	const role = choiceDelta(ctx, { role: 'assistant', content: '' }, null);
	if (!await event(ctx, chunk(ctx, [role])))
		return;
	for (const r of REASONING) {
		const d = gem ? { reasoning_content: r } :
		    { content: '', reasoning: r };
		if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, d, null)])))
			return;
	}
	for (let i = 0; i < pieces.length; i++) {
		const c = choiceDelta(ctx, { content: pieces[i] }, null);
		if (!await event(ctx, chunk(ctx, [c],
		    contentExtra(ctx, i, pieces.length, usage))))
			return;
	}
	return streamTail(ctx, 'stop', usage);
}

async function scInlineThoughts(ctx, thought, pieces, usage) {
	const text = `<thought>${thought}</thought>${pieces.join('')}`;
	if (!ctx.stream)
		return finishJson(ctx, 200, completion(ctx,
		    assistantMessage(ctx, text), 'stop', usage));
	startStream(ctx);
	if (!await streamPreamble(ctx))
		return;
	// cut every 5 characters: tags straddle chunks
	const cuts = [];
	for (let i = 0; i < text.length; i += 5)
		cuts.push(text.slice(i, i + 5));
	for (let i = 0; i < cuts.length; i++) {
		const d = i === 0 ? { role: 'assistant', content: cuts[i] } :
		    { content: cuts[i] };
		if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, d, null)],
		    contentExtra(ctx, i, cuts.length, usage))))
			return;
	}
	return streamTail(ctx, 'stop', usage);
}

// The text of a message's content: a string, or its text parts joined.
function contentText(content) {
	if (typeof content === 'string')
		return content;
	if (!Array.isArray(content))
		return '';
	return content.filter((p) => p && typeof p.text === 'string')
	    .map((p) => p.text).join('');
}

// A tool round trip: without any role "tool" message the "tools" answer
// (two calls); with them, text naming every result in order:
// "Got 2 tool results: -3C, snow | 14:05".
function scAgent(ctx) {
	const msgs = Array.isArray(ctx.body.messages) ? ctx.body.messages : [];
	const results = msgs.filter((m) => m && m.role === 'tool')
	    .map((m) => contentText(m.content));
	if (results.length === 0)
		return scTools(ctx);
	return replyText(ctx, ['Got ', `${results.length} tool results: `,
	    results.join(' | ')]);
}

// Finishes without any content: role chunk (content ""), finish "stop",
// usage; non-stream content "".
async function scEmpty(ctx) {
	const usage = usageFor(ctx, 0);
	if (!ctx.stream) {
		return finishJson(ctx, 200, completion(ctx,
		    assistantMessage(ctx, ''), 'stop', usage));
	}
	startStream(ctx);
	if (!await streamPreamble(ctx))
		return;
	const role = choiceDelta(ctx, { role: 'assistant', content: '' }, null);
	const extra = ctx.flavour === 'gemini' && ctx.includeUsage ?
	    { usage } : undefined;
	if (!await event(ctx, chunk(ctx, [role], extra)))
		return;
	return streamTail(ctx, 'stop', usage);
}

// The output cap: "Hello from" and finish_reason "length".
function scLength(ctx) {
	return replyText(ctx, ['Hello', ' from'], { finish: 'length' });
}

// An error inside a 200 reply before any content. Stream: OpenRouter's
// processing comment, then its error chunk (finish_reason "error"), no
// [DONE]; Gemini one bare {"error":{...}} event. Non-stream: OpenRouter a
// completion with a top-level error and finish_reason "error", Gemini
// {"error":{...}}.
async function scInband(ctx) {
	const gem = ctx.flavour === 'gemini';
	const err = gem ?
	    { code: 503, message: geminiMessage(503), status: 'UNAVAILABLE' } :
	    { code: 502, message: 'Network connection lost.',
		metadata: { error_type: 'provider_unavailable' } };
	if (!ctx.stream) {
		if (gem)
			return finishJson(ctx, 200, { error: err });
		const body = completion(ctx, assistantMessage(ctx, null), 'error',
		    usageFor(ctx, 0));
		body.error = err;
		return finishJson(ctx, 200, body);
	}
	startStream(ctx);
	if (!await streamPreamble(ctx))
		return;
	const ev = gem ? { error: err } : chunk(ctx, [choiceDelta(ctx,
	    { role: 'assistant', content: '' }, 'error')], { error: err });
	if (!await event(ctx, ev))
		return;
	ctx.res.end();
}

const SCENARIOS = {
	text: scText, slow: scSlow, tools: scTools, midstream: scMidstream,
	drop: scDrop, hang: scHang, echo: scEcho, big: scBig, pause: scPause,
	flood: scFlood,
	hugeline: scHugeline, reasoning: scReasoning, agent: scAgent,
	empty: scEmpty, length: scLength, inband: scInband,
	// issue 11
	multistep: scMultistep, toolsmeta: scToolsMeta,
	nolimit: (ctx) => sendQuota(ctx, 'nolimit'),
	quota0: (ctx) => sendQuota(ctx, 'quota0'),
	perday: (ctx) => sendQuota(ctx, 'perday'),
};

function scenarioFn(name) {
	if (Object.prototype.hasOwnProperty.call(SCENARIOS, name))
		return SCENARIOS[name];
	const m = /^err([1-5][0-9][0-9])$/.exec(name);
	if (m)
		return (ctx) => sendScriptedError(ctx, Number(m[1]));
	return null;
}

// --------------------------------------------------------------- routes

function bearerKey(req) {
	const h = req.headers.authorization;
	if (typeof h !== 'string' || !h.startsWith('Bearer '))
		return null;
	const k = h.slice(7).trim();
	return k === '' ? null : k;
}

// Returns true if the request may proceed; otherwise sent the flavour's
// auth error.  With a method (chat, embeddings; not the model lists),
// Gemini keys with a failure prefix (keyFamilyError) get their 2026
// error, array-wrapped as the compat endpoint does.
function checkAuth(req, res, flavour, entry, method) {
	const k = bearerKey(req);
	if (k !== null && !k.startsWith('bad')) {
		const e = flavour === 'gemini' && method ?
		    keyFamilyError(k, method) : null;
		if (e === null)
			return true;
		entry.status = e.code;
		sendJson(res, e.code, [{ error: e }], JSON_CT.gemini);
		return false;
	}
	entry.status = flavour === 'gemini' && k !== null ? 400 : 401;
	sendAuthError(res, flavour, k === null);
	return false;
}

const OR_MODELS = [
	['meta-llama/llama-3.3-70b-instruct:free', 'Meta: Llama 3.3 70B Instruct (free)', 131072],
	['openai/gpt-4o', 'OpenAI: GPT-4o', 128000],
	['mistralai/mistral-7b-instruct:free', 'Mistral: Mistral 7B Instruct (free)', 32768],
];

function orModel(m) {
	const free = m[0].endsWith(':free');
	return {
		id: m[0], canonical_slug: m[0].replace(/:free$/, ''), name: m[1],
		created: 1733000000, description: `${m[1]} (mock)`,
		context_length: m[2],
		architecture: { modality: 'text->text', input_modalities: ['text'],
		    output_modalities: ['text'], tokenizer: 'Other',
		    instruct_type: null },
		pricing: { prompt: free ? '0' : '0.0000025',
		    completion: free ? '0' : '0.00001', request: '0', image: '0' },
		top_provider: { context_length: m[2], max_completion_tokens: null,
		    is_moderated: false },
		per_request_limits: null,
		supported_parameters: ['tools', 'tool_choice', 'max_tokens',
		    'temperature'],
	};
}

const GEMINI_MODELS = ['models/gemini-2.5-flash', 'models/gemini-2.5-pro'];

// GET {prefix}/models[/{id}]; OpenRouter needs no auth (section 2.4).
function routeModels(req, res, flavour, entry, id) {
	if (flavour === 'gemini' && !checkAuth(req, res, flavour, entry))
		return;
	if (state.config.models_fail) {
		entry.status = 500;
		return sendFlavourError(res, flavour, 500,
		    flavour === 'gemini' ? geminiMessage(500) :
		    'Internal Server Error');
	}
	const list = flavour === 'gemini' ?
	    GEMINI_MODELS.map((m) => ({ id: m, object: 'model',
		owned_by: 'google' })) :
	    OR_MODELS.map(orModel);
	entry.status = 200;
	if (id === null) {
		const body = flavour === 'gemini' ?
		    { object: 'list', data: list } : { data: list };
		return sendJson(res, 200, body, JSON_CT[flavour]);
	}
	const hit = list.find((m) => m.id === id || m.id === `models/${id}`);
	if (hit)
		return sendJson(res, 200, flavour === 'gemini' ? hit :
		    { data: hit }, JSON_CT[flavour]);
	entry.status = 404;
	sendFlavourError(res, flavour, 404, flavour === 'gemini' ?
	    geminiMessage(404, id) : 'Model not found');
}

async function routeChat(req, res, flavour, entry, raw, life) {
	const body = entry.body;
	if (body && typeof body.model === 'string')
		entry.scenario = scenarioOf(body.model);
	if (!checkAuth(req, res, flavour, entry, body && body.stream === true ?
	    'StreamGenerateContent' : 'GenerateContent'))
		return;
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		entry.status = 400;
		return sendFlavourError(res, flavour, 400,
		    'mock: request body is not a JSON object');
	}
	if (typeof body.model !== 'string' || body.model === '') {
		entry.status = 400;
		return sendFlavourError(res, flavour, 400, 'mock: model missing');
	}
	if (applyFault(req, res, flavour, entry))
		return;
	const fn = scenarioFn(entry.scenario);
	if (!fn) {
		entry.status = 400;
		return sendFlavourError(res, flavour, 400,
		    `mock: unknown scenario "${entry.scenario}"`);
	}
	if (flavour === 'gemini' && isGemini3(body.model)) {
		const e = compatSignatureCheck(body, bearerKey(req), entry);
		if (e !== null) {
			entry.status = 400;
			return sendJson(res, 400, [{ error: e }], JSON_CT.gemini);
		}
	}
	const ctx = makeCtx(req, res, entry, flavour, life);
	ctx.key = bearerKey(req);
	ctx.body = body;
	ctx.rawBody = raw;
	ctx.model = body.model;
	ctx.stream = body.stream === true;
	ctx.includeUsage = !!(body.stream_options &&
	    body.stream_options.include_usage === true);
	ctx.id = flavour === 'gemini' ? randomId(22) :
	    `gen-${ctx.created}-${randomId(20)}`;
	await fn(ctx);
}

// GET /openrouter/key (provider-apis-2026.md 7.3): the key's own record;
// 401 "User not found." for a key starting with "bad" or none at all.
function routeKey(req, res, entry) {
	const key = bearerKey(req);
	if (!key || key.startsWith('bad')) {
		entry.status = 401;
		return sendJson(res, 401, { error: { message: 'User not found.',
		    code: 401 } });
	}
	entry.status = 200;
	sendJson(res, 200, { data: { label: `${key.slice(0, 11)}...`,
	    limit: null, limit_remaining: null, limit_reset: null,
	    usage: 0, is_free_tier: true } });
}

// Fault injection (POST /_mock/faults): each rule matches a bearer key
// ("*" = any) and optionally a flavour; while its `times` lasts (-1 =
// forever) the chat request gets, instead of its scenario:
//   {status, headers, body}  that reply (body: JSON value or string),
//   {action: "destroy"}      the connection closed with no response,
//   {action: "hang"}         headers never sent (first-byte timeout).
//   {preset: NAME}           a ready-made body in the flavour's shape
//                            (faultPreset: nolimit, quota0, perday,
//                            retired, nocreds, expired, leaked,
//                            sig_missing, sig_corrupted).
// The first matching rule wins. The entry records fault: <rule index>.
// sub may be a list of route names (native Gemini: "/chat/completions"
// and ":generateContent"); opt gives the key and model when they are not
// the bearer key and body.model.
function applyFault(req, res, flavour, entry, sub, opt) {
	const key = opt ? opt.key : bearerKey(req);
	const routes = Array.isArray(sub) ? sub : [sub || '/chat/completions'];
	const i = state.faults.findIndex((f) => f.times !== 0 &&
	    (f.key === '*' || f.key === key) &&
	    (!f.flavour || f.flavour === flavour) &&
	    routes.includes(f.path || '/chat/completions'));
	if (i < 0)
		return false;
	const f = state.faults[i];
	if (f.times > 0)
		f.times--;
	entry.fault = i;
	if (f.action === 'destroy') {
		entry.status = 0;
		req.socket.destroy();
		return true;
	}
	if (f.action === 'hang') {
		entry.status = 0;
		return true;	// nothing is written; the client gives up
	}
	// "{{model}}" echoes the request's model, as OpenRouter's
	// "<model> is not a valid model ID" does
	const model = opt ? opt.model : entry.body &&
	    typeof entry.body === 'object' &&
	    typeof entry.body.model === 'string' ? entry.body.model : '';
	if (typeof f.preset === 'string')
		return sendPreset(res, entry, f, flavour, model);
	entry.status = f.status;
	let text = typeof f.body === 'string' ? f.body : JSON.stringify(f.body);
	text = text.split('{{model}}').join(JSON.stringify(model).slice(1, -1));
	res.writeHead(f.status, Object.assign({ 'Content-Type':
	    'application/json' }, f.headers || {}));
	res.end(text);
	entry.completed = true;
	return true;
}

function parseBody(raw) {
	if (raw === '')
		return null;
	try {
		return JSON.parse(raw);
	} catch (e) {
		return raw;
	}
}

// /_mock/*: no auth, never logged.
function routeControl(req, res, p, raw) {
	if (req.method === 'GET' && p === '/_mock/requests')
		return sendJson(res, 200, state.log);
	if (req.method === 'POST' && p === '/_mock/reset') {
		state.log = [];
		state.faults = [];
		return sendJson(res, 200, { ok: true });
	}
	if (p === '/_mock/faults' && req.method === 'POST') {
		const b = parseBody(raw);
		if (!Array.isArray(b))
			return sendJson(res, 400, { error: 'faults: a JSON array' });
		state.faults = b.map((f) => Object.assign({ key: '*', times: 1 }, f));
		return sendJson(res, 200, state.faults);
	}
	if (p === '/_mock/faults' && req.method === 'GET')
		return sendJson(res, 200, state.faults);
	if (p === '/_mock/signatures')
		return routeSignatures(req, res, raw);
	if (p === '/_mock/config' && req.method === 'GET')
		return sendJson(res, 200, state.config);
	if (p === '/_mock/config' && req.method === 'POST') {
		const b = parseBody(raw);
		if (b === null || typeof b !== 'object')
			return sendJson(res, 400, { error: 'config must be JSON' });
		if (typeof b.models_fail === 'boolean')
			state.config.models_fail = b.models_fail;
		if (b.or_usage_chunk === 'empty_choices' ||
		    b.or_usage_chunk === 'empty_delta')
			state.config.or_usage_chunk = b.or_usage_chunk;
		return sendJson(res, 200, state.config);
	}
	return sendJson(res, 404, { error: `no control route ${p}` });
}

// Each TCP connection gets a number, so tests can see connection reuse.
const connIds = new WeakMap();
let connSeq = 0;

function connId(socket) {
	if (!connIds.has(socket))
		connIds.set(socket, ++connSeq);
	return connIds.get(socket);
}

function newEntry(req, flavour, raw) {
	const entry = {
		seq: ++state.seq, t: Date.now(), method: req.method, path: req.url,
		conn: connId(req.socket),
		flavour, scenario: null,
		authorization: req.headers.authorization === undefined ? null :
		    req.headers.authorization,
		headers: req.headers, body: parseBody(raw), status: null,
		closed_at: null, completed: false,
		// the proxy's end of the connection, and when the response
		// ended either way (in-flight counting, finding the responder
		// that holds a request)
		remote_port: req.socket.remotePort, ended_at: null,
	};
	state.log.push(entry);
	return entry;
}

// completed = the mock finished writing; closed_at = the client closed the
// connection before that (our own deliberate drops do not count).
function trackEntry(res, entry, life) {
	res.on('finish', () => {
		entry.completed = true;
	});
	res.on('close', () => {
		entry.ended_at = Date.now();
		if (!res.writableFinished && !life.selfClose)
			entry.closed_at = Date.now();
	});
}

async function handle(req, res) {
	const t0 = Date.now();
	const raw = await readBody(req);
	const url = new URL(req.url, `http://${HOST}`);
	const p = url.pathname;
	if (p.startsWith('/_mock/'))
		return routeControl(req, res, p, raw);
	const nm = /^\/gemini-native(\/.*)?$/.exec(p);
	if (nm) {
		const ne = newEntry(req, 'gemini-native', raw);
		ne.t = t0;
		const nlife = { selfClose: false };
		trackEntry(res, ne, nlife);
		return routeNative(req, res, ne, url, nm[1] || '', raw, nlife);
	}
	const m = /^\/(openrouter|gemini)(\/.*)?$/.exec(p);
	const flavour = m ? m[1] : null;
	const entry = newEntry(req, flavour, raw);
	entry.t = t0;
	const life = { selfClose: false };
	trackEntry(res, entry, life);
	const sub = m && m[2] ? m[2].replace(/\/+$/, '') : '';
	if (flavour && sub === '/chat/completions' && req.method === 'POST')
		return routeChat(req, res, flavour, entry, raw, life);
	if (flavour && sub !== '/chat/completions' && applyFault(req, res,
	    flavour, entry, sub))
		return;
	if (flavour === 'openrouter' && sub === '/key' && req.method === 'GET')
		return routeKey(req, res, entry);
	if (flavour && sub === '/embeddings' && req.method === 'POST')
		return routeEmbeddings(req, res, flavour, entry, life);
	if (flavour === 'openrouter' && sub === '/embeddings/models' &&
	    req.method === 'GET')
		return routeOrEmbedModels(res, entry);
	const mm = /^\/models(?:\/(.+))?$/.exec(sub);
	if (flavour && mm && req.method === 'GET')
		return routeModels(req, res, flavour, entry,
		    mm[1] === undefined ? null : decodeURIComponent(mm[1]));
	entry.status = 404;
	if (flavour)
		return sendFlavourError(res, flavour, 404, `mock: no route ${p}`);
	sendJson(res, 404, { error: { code: 404, message: `mock: no route ${p}` } });
}

// ============================================================ issue 11
// Gemini 3 thought signatures, 2026 key errors, quota signals, the native
// Gemini API (/gemini-native) and embeddings on every flavour
// (provider-apis.md section 3b, provider-apis-2026.md sections 1-6).

const SIG_BYPASS = ['skip_thought_signature_validator',
	'context_engineering_is_the_way_to_go'];
const SIG_MAX = 100000;	// issued signatures kept, oldest dropped first
const GOOGLE_SERVICE = 'generativelanguage.googleapis.com';
const GOOGLE_METHOD = 'google.ai.generativelanguage.v1beta.GenerativeService.';
const RATE_LIMITS_URL = 'https://ai.google.dev/gemini-api/docs/rate-limits';
const QUOTA_MESSAGE = 'You exceeded your current quota, please check your ' +
    'plan and billing details. For more information on this error, head ' +
    `to: ${RATE_LIMITS_URL}.`;
const NATIVE_PAGE_MAX = 3;	// models per page whatever pageSize asks
const EMBED_DIM = 8;		// vector length without dimensions
const EMBED_MAX_DIM = 3072;
const EMBED_BATCH_MAX = 100;
const EMBED_SLOW_MS = 800;

// The signature registry: every signature the mock issued (either Gemini
// flavour), with who got it.  Survives /_mock/reset like the provider's
// memory would; POST /_mock/signatures {"clear":true} empties it.
const sigState = {
	issued: new Map(),	// signature -> {kind, flavour, model, key, seq, t}
	bind_key: false,	// true: a signature only validates with its key
	wording: '2026',	// missing-signature message: "2026" or "legacy"
};

function isGemini3(model) {
	return typeof model === 'string' && model.includes('gemini-3');
}

function issueSignature(ctx, kind) {
	const sig = crypto.randomBytes(27).toString('base64');
	sigState.issued.set(sig, { kind, flavour: ctx.flavour, model: ctx.model,
	    key: ctx.key, seq: ctx.entry.seq, t: Date.now() });
	if (sigState.issued.size > SIG_MAX)
		sigState.issued.delete(sigState.issued.keys().next().value);
	if (!ctx.entry.signatures_issued)
		ctx.entry.signatures_issued = [];
	ctx.entry.signatures_issued.push(sig);
	return sig;
}

// The signature of this response's first call: a fresh registered one for
// Gemini 3 models, the fixed THOUGHT_SIG (never registered) otherwise.
function sigFor(ctx, kind) {
	if (ctx.sig === null)
		ctx.sig = isGemini3(ctx.model) ? issueSignature(ctx, kind || 'call') :
		    THOUGHT_SIG;
	return ctx.sig;
}

function sigVerdict(sig, key) {
	if (typeof sig !== 'string' || sig === '')
		return 'missing';
	if (SIG_BYPASS.includes(sig))
		return 'bypass';
	const rec = sigState.issued.get(sig);
	if (!rec)
		return 'unknown';
	if (sigState.bind_key && rec.key !== key)
		return 'foreign_key';
	return 'issued';
}

function missingSigMessage(name, position) {
	if (sigState.wording === 'legacy') {
		return 'Unable to submit request because function call ' +
		    `\`default_api:${name}\` in the ${position}. content block ` +
		    'is missing a `thought_signature`.';
	}
	return 'Function call is missing a thought_signature in functionCall ' +
	    'parts. This is required for tools to work correctly, and missing ' +
	    'thought_signature may lead to degraded model performance. ' +
	    `Additional data, function call \`default_api:${name}\` , position ` +
	    `${position}. please refer to ` +
	    'https://ai.google.dev/gemini-api/docs/thought-signatures for more ' +
	    'details.';
}

function corruptedSig() {
	return { code: 400, message: 'Corrupted thought signature.',
	    status: 'INVALID_ARGUMENT' };
}

// Judge the first call of every step of the current turn (2026 section
// 1.1), record it as entry.sig_check, and return the google.rpc.Status of
// the first failing step (not wrapped) or null.
function judgeSignatures(entry, model, key, turnStart, steps) {
	const check = { model, turn_start: turnStart, steps: [], result: 'ok' };
	let bad = null;
	for (const s of steps) {
		const verdict = sigVerdict(s.signature, key);
		const rec = typeof s.signature === 'string' ?
		    sigState.issued.get(s.signature) : undefined;
		check.steps.push({ index: s.index, position: s.position,
		    name: s.name, signature: s.signature === undefined ? null :
			s.signature, verdict, issued_seq: rec ? rec.seq : null });
		if (bad === null && verdict !== 'issued' && verdict !== 'bypass')
			bad = { step: s, verdict };
	}
	entry.sig_check = check;
	if (bad === null)
		return null;
	if (bad.verdict === 'missing') {
		check.result = 'missing';
		return { code: 400, message: missingSigMessage(bad.step.name,
		    bad.step.position), status: 'INVALID_ARGUMENT' };
	}
	check.result = 'corrupted';
	return corruptedSig();
}

// Compat: the current turn starts after the last role "user" message
// (tool results are role "tool").  Position = 1-based index among the
// messages that are not system/developer.
function compatSignatureCheck(body, key, entry) {
	const msgs = Array.isArray(body.messages) ? body.messages : [];
	const start = lastUserMessage(msgs);
	const steps = [];
	let position = 0;
	for (let i = 0; i < msgs.length; i++) {
		const m = msgs[i];
		if (!m || m.role === 'system' || m.role === 'developer')
			continue;
		position++;
		if (i <= start || m.role !== 'assistant' ||
		    !Array.isArray(m.tool_calls) || m.tool_calls.length === 0)
			continue;
		const tc = m.tool_calls[0] || {};
		const g = tc.extra_content && tc.extra_content.google;
		steps.push({ index: i, position,
		    name: tc.function && tc.function.name,
		    signature: g ? g.thought_signature : undefined });
	}
	return judgeSignatures(entry, body.model, key, start, steps);
}

function lastUserMessage(msgs) {
	for (let i = msgs.length - 1; i >= 0; i--) {
		if (msgs[i] && msgs[i].role === 'user')
			return i;
	}
	return -1;
}

// --------------------------------------------------- 2026 key errors

// Gemini keys whose prefix names a 2026 failure (provider-apis-2026.md
// section 3.3; rows 1, 7, 3, 4): the google.rpc.Status, or null.
function keyFamilyError(key, method) {
	const info = (reason) => [{
		'@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason,
		metadata: { method: GOOGLE_METHOD + method,
		    service: GOOGLE_SERVICE } }];
	if (key.startsWith('retired')) {
		return { code: 401, message: 'Request had invalid authentication ' +
		    'credentials. Expected OAuth 2 access token, login cookie or ' +
		    'other valid authentication credential. See ' +
		    'https://developers.google.com/identity/sign-in/web/' +
		    'devconsole-project.', status: 'UNAUTHENTICATED',
		    details: info('ACCESS_TOKEN_TYPE_UNSUPPORTED') };
	}
	if (key.startsWith('nocreds')) {
		return { code: 401, message: 'API keys are not supported by this ' +
		    'API. Expected OAuth2 access token or other authentication ' +
		    'credentials that assert a principal. See ' +
		    'https://cloud.google.com/docs/authentication',
		    status: 'UNAUTHENTICATED', details: info('CREDENTIALS_MISSING') };
	}
	if (key.startsWith('expired')) {
		return { code: 400, message: 'API key expired. Please renew the ' +
		    'API key.', status: 'INVALID_ARGUMENT', details: [{
			'@type': 'type.googleapis.com/google.rpc.ErrorInfo',
			reason: 'API_KEY_INVALID', domain: 'googleapis.com',
			metadata: { service: GOOGLE_SERVICE } }] };
	}
	if (key.startsWith('leaked')) {
		return { code: 403, message: 'Your API key was reported as leaked. ' +
		    'Please use another API key.', status: 'PERMISSION_DENIED' };
	}
	return null;
}

// ------------------------------------------------------ quota signals

const QUOTA_KINDS = ['nolimit', 'quota0', 'perday'];

function quotaHelp() {
	return { '@type': 'type.googleapis.com/google.rpc.Help', links: [{
		description: 'Learn more about Gemini API quotas',
		url: RATE_LIMITS_URL }] };
}

function violation(metric, id, model, value) {
	const v = { quotaMetric: `generativelanguage.googleapis.com/${metric}`,
	    quotaId: id, quotaDimensions: { location: 'global', model } };
	if (value !== undefined)
		v.quotaValue = value;
	return v;
}

// The 429 google.rpc.Status (not wrapped) of provider-apis-2026.md 4.1:
// nolimit = case D verbatim (limit: 0, no quotaValue), quota0 = the same
// violations with quotaValue "0" and the plain message, perday = case B.
function quotaStatus(kind, model) {
	const REQ = 'generate_content_free_tier_requests';
	const TOK = 'generate_content_free_tier_input_token_count';
	if (kind === 'perday') {
		return { code: 429, status: 'RESOURCE_EXHAUSTED',
		    message: QUOTA_MESSAGE, details: [{
			'@type': 'type.googleapis.com/google.rpc.QuotaFailure',
			violations: [violation(REQ,
			    'GenerateRequestsPerDayPerProjectPerModel-FreeTier', model,
			    '250')] }, quotaHelp(), {
			'@type': 'type.googleapis.com/google.rpc.RetryInfo',
			retryDelay: '22s' }] };
	}
	const zero = kind === 'quota0' ? '0' : undefined;
	const quota = { '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
	    violations: [
		violation(REQ, 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
		    model, zero),
		violation(REQ,
		    'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', model,
		    zero),
		violation(TOK,
		    'GenerateContentInputTokensPerModelPerMinute-FreeTier', model,
		    zero)] };
	const retry = { '@type': 'type.googleapis.com/google.rpc.RetryInfo',
	    retryDelay: '10s' };
	if (kind === 'quota0') {
		return { code: 429, status: 'RESOURCE_EXHAUSTED',
		    message: QUOTA_MESSAGE, details: [quotaHelp(), quota, retry] };
	}
	return { code: 429, status: 'RESOURCE_EXHAUSTED',
	    message: `${QUOTA_MESSAGE} To monitor your current usage, head to: ` +
		'https://ai.dev/rate-limit. \n* Quota exceeded for metric: ' +
		`generativelanguage.googleapis.com/${REQ}, limit: 0, model: ` +
		`${model}\n* Quota exceeded for metric: ` +
		`generativelanguage.googleapis.com/${TOK}, limit: 0, model: ` +
		`${model}\nPlease retry in 10.689924287s.`,
	    details: [quotaHelp(), quota, retry] };
}

// OpenRouter relays a Google 429 as a provider error (2026 section 4.3).
function orProviderError(status, googleStatus) {
	return { error: { code: status, message: 'Provider returned error',
	    metadata: { raw: JSON.stringify({ error: googleStatus }),
		provider_name: 'Google AI Studio' } }, user_id: 'u1' };
}

// A quota / key / signature body in a flavour's shape: status and body.
function flavourStatusBody(flavour, gs) {
	if (flavour === 'gemini')
		return [{ error: gs }];
	if (flavour === 'gemini-native')
		return { error: gs };
	return orProviderError(gs.code, gs);
}

function sendQuota(ctx, kind) {
	const model = String(ctx.model).replace(/^models\//, '');
	const gs = quotaStatus(kind, model);
	return finishJson(ctx, 429, flavourStatusBody(ctx.flavour, gs));
}

const KEY_PRESETS = ['retired', 'nocreds', 'expired', 'leaked'];

// Fault rule {"preset": NAME}: the flavour's shape of a ready-made error.
function faultPreset(name, flavour, model) {
	if (QUOTA_KINDS.includes(name))
		return quotaStatus(name, model.replace(/^models\//, ''));
	if (KEY_PRESETS.includes(name))
		return keyFamilyError(name, 'GenerateContent');
	if (name === 'sig_missing') {
		return { code: 400, message: missingSigMessage('get_weather', 2),
		    status: 'INVALID_ARGUMENT' };
	}
	if (name === 'sig_corrupted')
		return corruptedSig();
	return null;
}

function sendPreset(res, entry, f, flavour, model) {
	const gs = faultPreset(f.preset, flavour, model || '');
	let status;
	let body;
	if (gs === null) {
		status = 400;
		body = { error: { code: 400,
		    message: `mock: unknown fault preset "${f.preset}"` } };
	} else if (flavour === 'openrouter' && KEY_PRESETS.includes(f.preset)) {
		status = 401;	// a dead key, in OpenRouter's words
		body = { error: { message: 'User not found.', code: 401 } };
	} else {
		status = gs.code;
		body = flavourStatusBody(flavour, gs);
	}
	entry.status = status;
	res.writeHead(status, Object.assign({ 'Content-Type':
	    JSON_CT[flavour] || 'application/json' }, f.headers || {}));
	res.end(JSON.stringify(body));
	entry.completed = true;
	return true;
}

// -------------------------------------- compat scenarios for issue 11

const STEP2_TOOLS = [
	{ name: 'get_forecast', args: '{"city":"Oslo","days":2}',
	    frags: ['{"city":"Oslo",', '"days":2}'] },
];

// Two tool steps in one turn, then text: no assistant tool step after the
// last user message -> the "tools" answer (two calls); one -> a second
// step with one get_forecast call; two or more -> text naming the tool
// results of the current turn in order.
function scMultistep(ctx) {
	const msgs = Array.isArray(ctx.body.messages) ? ctx.body.messages : [];
	const turn = msgs.slice(lastUserMessage(msgs) + 1);
	const steps = turn.filter((m) => m && m.role === 'assistant' &&
	    Array.isArray(m.tool_calls) && m.tool_calls.length > 0).length;
	if (steps === 0)
		return scTools(ctx);
	if (steps === 1) {
		ctx.tools = STEP2_TOOLS;
		return scTools(ctx);
	}
	const results = turn.filter((m) => m && m.role === 'tool')
	    .map((m) => contentText(m.content));
	return replyText(ctx, ['Got ', `${results.length} tool results: `,
	    results.join(' | ')]);
}

// Gemini compat stream (2026 section 1.3): the calls without a signature,
// role only on the first, then a metadata-only delta carrying the first
// call's signature.  Anything else: the "tools" answer.
async function scToolsMeta(ctx) {
	if (ctx.flavour !== 'gemini' || !ctx.stream)
		return scTools(ctx);
	const usage = usageFor(ctx, toolChars(ctx));
	startStream(ctx);
	for (let i = 0; i < ctx.tools.length; i++) {
		const call = { id: toolId(ctx, i), type: 'function',
		    function: { name: ctx.tools[i].name,
			arguments: ctx.tools[i].args } };
		const d = i === 0 ? { role: 'assistant', tool_calls: [call] } :
		    { tool_calls: [call] };
		if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, d, null)])))
			return;
	}
	const meta = { tool_calls: [{ extra_content: { google: {
	    thought_signature: sigFor(ctx) } } }] };
	const extra = ctx.includeUsage ? { usage } : undefined;
	if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, meta, null)], extra)))
		return;
	return streamTail(ctx, 'stop', usage);
}

// ---------------------------------------------------- native Gemini API

const NATIVE_CT = JSON_CT['gemini-native'];

function snake(name) {
	return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// A field by its camelCase name or its snake_case twin (the native API
// accepts both, provider-apis.md 3b).
function nf(obj, name) {
	if (!obj || typeof obj !== 'object')
		return undefined;
	if (obj[name] !== undefined)
		return obj[name];
	return obj[snake(name)];
}

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// google.rpc.Status, not wrapped (the native API's error shape).
function nSendError(res, entry, code, message, details) {
	entry.status = code;
	sendJson(res, code, geminiError(code, message, details)[0], NATIVE_CT);
}

function nBadRequest(res, entry, message) {
	return nSendError(res, entry, 400, message, [{
		'@type': 'type.googleapis.com/google.rpc.BadRequest',
		fieldViolations: [{ description: message }] }]);
}

// The key of a native request, or null once the error is sent
// (provider-apis-2026.md 3.2, 3.3): x-goog-api-key, or ?key= (works;
// logged as key_source "query"); any Authorization header is an OAuth
// token there.  With a model-list method the key-family prefixes pass
// (3.4: the list works while generateContent fails).
function nativeAuth(req, res, entry, url, method) {
	const hv = req.headers['x-goog-api-key'];
	const qv = url.searchParams.get('key');
	const h = typeof hv === 'string' && hv !== '' ? hv : null;
	const q = qv !== null && qv !== '' ? qv : null;
	entry.key = h !== null ? h : q;
	entry.key_source = h !== null && q !== null ? 'both' :
	    h !== null ? 'header' : q !== null ? 'query' : null;
	entry.key_in_query = q !== null;
	if (req.headers.authorization !== undefined) {
		if (entry.key !== null) {
			nSendError(res, entry, 401, 'API key should not be used ' +
			    'with other authentication credentials.');
		} else {
			const e = keyFamilyError('retired', method);
			nSendError(res, entry, 401, e.message, e.details);
		}
		return null;
	}
	if (h !== null && q !== null &&
	    (h.startsWith('AQ.') || q.startsWith('AQ.'))) {
		nSendError(res, entry, 400, 'Multiple authentication credentials ' +
		    'received. Please pass only one.');
		return null;
	}
	const key = entry.key;
	if (key === null) {
		nSendError(res, entry, 403, 'Method doesn\'t allow unregistered ' +
		    'callers (callers without established identity). Please use ' +
		    'API Key or other form of API consumer identity to call this ' +
		    'API.');
		return null;
	}
	if (key.startsWith('bad')) {
		nSendError(res, entry, 400, 'API key not valid. Please pass a ' +
		    'valid API key.', [{
			'@type': 'type.googleapis.com/google.rpc.ErrorInfo',
			reason: 'API_KEY_INVALID', domain: 'googleapis.com',
			metadata: { service: GOOGLE_SERVICE } }]);
		return null;
	}
	const e = method === 'ListModels' || method === 'GetModel' ? null :
	    keyFamilyError(key, method);
	if (e !== null) {
		nSendError(res, entry, e.code, e.message, e.details);
		return null;
	}
	return key;
}

// ------------------------------------------- native request validation

const NATIVE_TOP = ['contents', 'systemInstruction', 'tools', 'toolConfig',
	'generationConfig', 'safetySettings', 'cachedContent', 'labels',
	'serviceTier', 'model'];
const NATIVE_GEN = ['temperature', 'topP', 'topK', 'maxOutputTokens',
	'stopSequences', 'candidateCount', 'seed', 'presencePenalty',
	'frequencyPenalty', 'responseMimeType', 'responseSchema',
	'responseJsonSchema', 'responseLogprobs', 'logprobs', 'thinkingConfig',
	'mediaResolution', 'responseModalities', 'speechConfig', 'imageConfig'];
const NATIVE_THINK = ['thinkingBudget', 'thinkingLevel', 'includeThoughts'];
const PART_DATA = ['text', 'inlineData', 'fileData', 'functionCall',
	'functionResponse', 'executableCode', 'codeExecutionResult', 'toolCall',
	'toolResponse'];

function unknownField(obj, names, at) {
	for (const k of Object.keys(obj)) {
		if (!names.includes(k) && !names.some((n) => snake(n) === k)) {
			return `Invalid JSON payload received. Unknown name "${k}"` +
			    `${at ? ` at '${at}'` : ''}: Cannot find field.`;
		}
	}
	return null;
}

function checkParts(parts, where) {
	if (!Array.isArray(parts) || parts.length === 0)
		return `* GenerateContentRequest.${where}.parts: contents.parts ` +
		    'must not be empty.\n';
	for (let j = 0; j < parts.length; j++) {
		const p = parts[j];
		const set = isObject(p) ?
		    PART_DATA.filter((n) => nf(p, n) !== undefined) : [];
		if (set.length === 0 && nf(p, 'thoughtSignature') === undefined)
			return `* GenerateContentRequest.${where}.parts[${j}].data: ` +
			    'required oneof field \'data\' must have one initialized ' +
			    'field\n';
		if (set.length > 1)
			return `Invalid value at '${where}.parts[${j}]' (oneof), ` +
			    'oneof field \'data\' is already set. Cannot set ' +
			    `'${set[1]}'`;
	}
	return null;
}

function countParts(content, name) {
	if (!content || !Array.isArray(content.parts))
		return 0;
	return content.parts.filter((p) => nf(p, name) !== undefined).length;
}

function checkGenerationConfig(gc) {
	if (!isObject(gc))
		return 'Invalid JSON payload received. Expected an object at ' +
		    '\'generation_config\'.';
	const e = unknownField(gc, NATIVE_GEN, 'generation_config');
	if (e !== null)
		return e;
	const tc = nf(gc, 'thinkingConfig');
	if (!isObject(tc))
		return null;
	const t = unknownField(tc, NATIVE_THINK,
	    'generation_config.thinking_config');
	if (t !== null)
		return t;
	if (nf(tc, 'thinkingLevel') !== undefined &&
	    nf(tc, 'thinkingBudget') !== undefined)
		return 'You can only set one of thinking budget and thinking level.';
	return null;
}

function checkTools(tools) {
	if (!Array.isArray(tools))
		return 'Invalid JSON payload received. Proto field is not ' +
		    'repeating, cannot start list.';
	for (let i = 0; i < tools.length; i++) {
		const decls = nf(tools[i], 'functionDeclarations');
		if (!Array.isArray(decls))
			continue;
		for (let k = 0; k < decls.length; k++) {
			if (nf(decls[k], 'parameters') !== undefined &&
			    nf(decls[k], 'parametersJsonSchema') !== undefined)
				return `tools[${i}].function_declarations[${k}]: ` +
				    'parameters and parameters_json_schema are mutually ' +
				    'exclusive.';
		}
	}
	return null;
}

// The message of the 400 a real generateContent would give, or null.
function validateNative(body) {
	let e = unknownField(body, NATIVE_TOP, '');
	if (e === null && nf(body, 'generationConfig') !== undefined)
		e = checkGenerationConfig(nf(body, 'generationConfig'));
	if (e === null && nf(body, 'tools') !== undefined)
		e = checkTools(nf(body, 'tools'));
	const si = nf(body, 'systemInstruction');
	if (e === null && si !== undefined)
		e = checkParts(si && si.parts, 'system_instruction');
	if (e !== null)
		return e;
	const contents = nf(body, 'contents');
	if (!Array.isArray(contents) || contents.length === 0)
		return '* GenerateContentRequest.contents: contents is not ' +
		    'specified\n';
	for (let i = 0; i < contents.length; i++) {
		const c = contents[i];
		const role = isObject(c) ? c.role : undefined;
		if (role !== undefined && role !== '' && role !== 'user' &&
		    role !== 'model')
			return 'Please use a valid role: user, model.';
		const pe = checkParts(isObject(c) ? c.parts : undefined,
		    `contents[${i}]`);
		if (pe !== null)
			return pe;
	}
	for (let i = 0; i + 1 < contents.length; i++) {
		const calls = contents[i].role === 'model' ?
		    countParts(contents[i], 'functionCall') : 0;
		const resps = countParts(contents[i + 1], 'functionResponse');
		if (calls > 0 && resps > 0 && calls !== resps)
			return 'Please ensure that the number of function response ' +
			    'parts is equal to the number of function call parts of ' +
			    'the function call turn.';
	}
	return null;
}

// The current turn (2026 section 1.1) starts after the last user content
// holding real input: a part that is not a functionResponse.
function nativeTurnStart(contents) {
	for (let i = contents.length - 1; i >= 0; i--) {
		const c = contents[i];
		if ((c.role || 'user') === 'user' && Array.isArray(c.parts) &&
		    c.parts.some((p) => nf(p, 'functionResponse') === undefined))
			return i;
	}
	return -1;
}

// Native: the first functionCall part of every model content of the
// current turn; position = 1-based index in contents.
function nativeSignatureCheck(body, model, key, entry) {
	const contents = nf(body, 'contents');
	const start = nativeTurnStart(contents);
	const steps = [];
	for (let i = start + 1; i < contents.length; i++) {
		if (contents[i].role !== 'model')
			continue;
		const part = contents[i].parts.find((p) =>
		    nf(p, 'functionCall') !== undefined);
		if (part === undefined)
			continue;
		const fc = nf(part, 'functionCall') || {};
		steps.push({ index: i, position: i + 1, name: fc.name,
		    signature: nf(part, 'thoughtSignature') });
	}
	return judgeSignatures(entry, model, key, start, steps);
}

// ------------------------------------------------ native replies

// Prompt characters: every text part of systemInstruction and contents,
// plus each functionResponse's response.output (or the JSON text of the
// whole response when output is not a string).
function nativePromptChars(body) {
	let n = 0;
	const add = (content) => {
		if (!content || !Array.isArray(content.parts))
			return;
		for (const p of content.parts) {
			if (p && typeof p.text === 'string')
				n += chars(p.text);
			const fr = nf(p, 'functionResponse');
			if (isObject(fr))
				n += chars(functionResult(fr));
		}
	};
	add(nf(body, 'systemInstruction'));
	for (const c of nf(body, 'contents'))
		add(c);
	return n;
}

function functionResult(fr) {
	const r = fr.response;
	if (isObject(r) && typeof r.output === 'string')
		return r.output;
	return JSON.stringify(r === undefined ? null : r);
}

// usageMetadata; zero candidate or thought counts are left out, as the
// API does.  entry.usage gets the OpenAI equivalent (2026 section 2.4).
function nUsage(ctx, candChars, thoughtChars) {
	const p = Math.ceil(nativePromptChars(ctx.body) / 4);
	const c = Math.ceil(candChars / 4);
	const t = Math.ceil(thoughtChars / 4);
	const u = { promptTokenCount: p };
	if (c > 0)
		u.candidatesTokenCount = c;
	if (t > 0)
		u.thoughtsTokenCount = t;
	u.totalTokenCount = p + c + t;
	ctx.entry.usage_metadata = u;
	const o = { prompt_tokens: p, completion_tokens: c + t,
	    total_tokens: p + c + t };
	if (t > 0)
		o.completion_tokens_details = { reasoning_tokens: t };
	ctx.entry.usage = o;
	return u;
}

// Usage on the events before the last (as the provider-apis.md example).
function nInterim(ctx) {
	const p = Math.ceil(nativePromptChars(ctx.body) / 4);
	return { promptTokenCount: p, totalTokenCount: p };
}

function nResponse(ctx, parts, finish, usage, extra) {
	const cand = { content: { parts, role: 'model' } };
	if (finish)
		cand.finishReason = finish;
	cand.index = 0;
	const r = { candidates: [cand] };
	if (usage)
		r.usageMetadata = usage;
	r.modelVersion = ctx.model;
	r.responseId = ctx.id;
	return Object.assign(r, extra || {});
}

// One SSE event: a whole GenerateContentResponse, CRLF CRLF.
function nEvent(ctx, obj) {
	return send(ctx, `data: ${JSON.stringify(obj)}\r\n\r\n`);
}

function nStartStream(ctx) {
	ctx.entry.status = 200;
	ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream',
	    'Cache-Control': 'no-cache' });
	ctx.res.flushHeaders();
}

// The stream ends with the connection: no [DONE].
function nEnd(ctx) {
	if (!ctx.closed)
		ctx.res.end();
}

// Text pieces (opts as replyText, plus thoughts: pieces of thought text,
// shown as thought parts only with thinkingConfig.includeThoughts, always
// counted).  Gemini 3 models add a registered signature on the last part;
// streamed, it comes in a last event of its own on a part {"text":""}.
async function nReplyText(ctx, pieces, opts) {
	const o = opts || {};
	const text = pieces.join('');
	const thoughts = o.thoughts || [];
	const show = thoughts.length > 0 && ctx.includeThoughts;
	const usage = nUsage(ctx, chars(text), chars(thoughts.join('')));
	const finish = o.finish || 'STOP';
	const sig = isGemini3(ctx.model) ? sigFor(ctx, 'text') : null;
	if (!ctx.stream) {
		if (o.gap && !await sleep(ctx, o.gap * pieces.length))
			return;
		const parts = show ? [{ text: thoughts.join(''), thought: true }] :
		    [];
		const last = { text };
		if (sig)
			last.thoughtSignature = sig;
		parts.push(last);
		return finishJson(ctx, 200, nResponse(ctx, parts, finish, usage));
	}
	nStartStream(ctx);
	if (show) {
		for (const t of thoughts) {
			if (!await nEvent(ctx, nResponse(ctx,
			    [{ text: t, thought: true }], null, nInterim(ctx))))
				return;
		}
	}
	for (let i = 0; i < pieces.length; i++) {
		if (o.gap && !await sleep(ctx, o.gap))
			return;
		if (o.pauseAt === i && !await sleep(ctx, o.pauseMs))
			return;
		const last = i === pieces.length - 1 && !sig;
		const extra = o.stamp ? { mock_sent_ms: Date.now() } : undefined;
		if (!await nEvent(ctx, nResponse(ctx, [{ text: pieces[i] }],
		    last ? finish : null, last ? usage : nInterim(ctx), extra)))
			return;
	}
	if (sig && !await nEvent(ctx, nResponse(ctx,
	    [{ text: '', thoughtSignature: sig }], finish, usage)))
		return;
	nEnd(ctx);
}

// Parallel calls: functionCall {id, name, args} parts, the first with the
// thoughtSignature (registered for Gemini 3), finishReason STOP.  Stream:
// one event per call (oneEvent: all in one).  noId: calls without id.
async function nCalls(ctx, tools, opts) {
	const o = opts || {};
	const usage = nUsage(ctx, tools.reduce((n, t) => n + chars(t.name) +
	    chars(t.args), 0), 0);
	const parts = tools.map((t, i) => {
		const fc = o.noId ? {} : { id: `fc_${ctx.entry.seq}_${i}` };
		fc.name = t.name;
		fc.args = JSON.parse(t.args);
		const p = { functionCall: fc };
		if (i === 0)
			p.thoughtSignature = sigFor(ctx, 'call');
		return p;
	});
	if (!ctx.stream)
		return finishJson(ctx, 200, nResponse(ctx, parts, 'STOP', usage));
	nStartStream(ctx);
	if (o.oneEvent) {
		if (await nEvent(ctx, nResponse(ctx, parts, 'STOP', usage)))
			nEnd(ctx);
		return;
	}
	for (let i = 0; i < parts.length; i++) {
		const last = i === parts.length - 1;
		if (!await nEvent(ctx, nResponse(ctx, [parts[i]],
		    last ? 'STOP' : null, last ? usage : nInterim(ctx))))
			return;
	}
	nEnd(ctx);
}

function nText(ctx) {
	return nReplyText(ctx, helloPieces(ctx));
}

function nSlow(ctx) {
	return nReplyText(ctx, ['Hello', ' from', ` ${DISPLAY[ctx.flavour]}`,
	    ',', ' one', ' piece', ' at a', ' time.'],
	    { gap: SLOW_GAP_MS, stamp: true });
}

function nPause(ctx) {
	return nReplyText(ctx, ['Hello', ' after', ' a pause'],
	    { pauseAt: 2, pauseMs: Number(process.env.MOCK_PAUSE_MS || 1200) });
}

function nHugeline(ctx) {
	return nReplyText(ctx, ['Hello', 'y'.repeat(1200 * 1024)]);
}

function nEcho(ctx) {
	return nReplyText(ctx, [ctx.rawBody]);
}

function nBig(ctx) {
	const kb = (i) => `big ${i} `.padEnd(1023, 'abcdefghij') + '\n';
	const pieces = [];
	for (let i = 0; i < (ctx.stream ? 200 : 300); i++)
		pieces.push(kb(i));
	return nReplyText(ctx, ctx.stream ? pieces : [pieces.join('')]);
}

function nReasoning(ctx) {
	return nReplyText(ctx, helloPieces(ctx), { thoughts: REASONING });
}

function nLength(ctx) {
	return nReplyText(ctx, ['Hello', ' from'], { finish: 'MAX_TOKENS' });
}

// Tool results of contents[from..]: functionResponse parts in order.
function nativeResults(contents, from) {
	const out = [];
	for (const c of contents.slice(from)) {
		for (const p of Array.isArray(c.parts) ? c.parts : []) {
			const fr = nf(p, 'functionResponse');
			if (isObject(fr))
				out.push(functionResult(fr));
		}
	}
	return out;
}

function nResultsText(ctx, results) {
	return nReplyText(ctx, ['Got ', `${results.length} tool results: `,
	    results.join(' | ')]);
}

// As the compat "agent": no functionResponse anywhere -> two calls;
// otherwise text naming every result in order.
function nAgent(ctx) {
	const results = nativeResults(nf(ctx.body, 'contents'), 0);
	if (results.length === 0)
		return nCalls(ctx, TOOLS);
	return nResultsText(ctx, results);
}

// As the compat "multistep", counting model contents with a call after
// the current turn's start.
function nMultistep(ctx) {
	const contents = nf(ctx.body, 'contents');
	const start = nativeTurnStart(contents);
	const steps = contents.slice(start + 1).filter((c) =>
	    c.role === 'model' && countParts(c, 'functionCall') > 0).length;
	if (steps === 0)
		return nCalls(ctx, TOOLS);
	if (steps === 1)
		return nCalls(ctx, STEP2_TOOLS);
	return nResultsText(ctx, nativeResults(contents, start + 1));
}

// An answer without parts: content {"role":"model"} and STOP (what the
// API sends when nothing was generated); usage without candidates.
async function nEmpty(ctx) {
	const r = { candidates: [{ content: { role: 'model' },
	    finishReason: 'STOP', index: 0 }], usageMetadata: nUsage(ctx, 0, 0),
	    modelVersion: ctx.model, responseId: ctx.id };
	if (!ctx.stream)
		return finishJson(ctx, 200, r);
	nStartStream(ctx);
	if (await nEvent(ctx, r))
		nEnd(ctx);
}

// Before any content: a bare {"error":{503}} event (stream) or body
// (non-stream, HTTP 200), as the compat Gemini "inband".
async function nInband(ctx) {
	const err = { code: 503, message: geminiMessage(503),
	    status: 'UNAVAILABLE' };
	if (!ctx.stream)
		return finishJson(ctx, 200, { error: err });
	nStartStream(ctx);
	if (await nEvent(ctx, { error: err }))
		nEnd(ctx);
}

async function nTwoEvents(ctx) {
	nStartStream(ctx);
	if (!await nEvent(ctx, nResponse(ctx, [{ text: 'Hello' }], null,
	    nInterim(ctx))))
		return false;
	return nEvent(ctx, nResponse(ctx, [{ text: ' from' }], null,
	    nInterim(ctx)));
}

async function nPartial(ctx) {
	const text = JSON.stringify(nResponse(ctx,
	    [{ text: 'Hello from nowhere' }], 'STOP', nUsage(ctx, 18, 0)));
	ctx.entry.status = 200;
	ctx.res.writeHead(200, { 'Content-Type': NATIVE_CT });
	if (!await send(ctx, text.slice(0, Math.floor(text.length / 2))))
		return;
	await destroyNow(ctx);
}

// Stream: 2 text events, then a bare {"error":{500}} event, and the end
// (no finishReason).  Non-stream: half a body, then the socket dies.
async function nMidstream(ctx) {
	if (!ctx.stream)
		return nPartial(ctx);
	if (!await nTwoEvents(ctx))
		return;
	if (await nEvent(ctx, { error: { code: 500,
	    message: geminiMessage(500), status: 'INTERNAL' } }))
		nEnd(ctx);
}

async function nDrop(ctx) {
	if (!ctx.stream)
		return nPartial(ctx);
	if (await nTwoEvents(ctx))
		await destroyNow(ctx);
}

const SAFETY_RATINGS = [
	{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH',
	    blocked: true },
	{ category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
];

// One whole response as the only event (stream) or the body.
async function nSingle(ctx, r) {
	if (!ctx.stream)
		return finishJson(ctx, 200, r);
	nStartStream(ctx);
	if (await nEvent(ctx, r))
		nEnd(ctx);
}

// Prompt blocked: HTTP 200, no candidates, promptFeedback.blockReason.
function nBlocked(ctx) {
	return nSingle(ctx, { promptFeedback: { blockReason: 'SAFETY',
	    safetyRatings: SAFETY_RATINGS }, usageMetadata: nUsage(ctx, 0, 0),
	    modelVersion: ctx.model, responseId: ctx.id });
}

// "Hello", then finishReason SAFETY (stream: on an event with text "").
async function nSafety(ctx) {
	const usage = nUsage(ctx, 5, 0);
	const fin = (text) => ({ candidates: [{ content: { parts: [{ text }],
	    role: 'model' }, finishReason: 'SAFETY', index: 0,
	    safetyRatings: SAFETY_RATINGS }], usageMetadata: usage,
	    modelVersion: ctx.model, responseId: ctx.id });
	if (!ctx.stream)
		return finishJson(ctx, 200, fin('Hello'));
	nStartStream(ctx);
	if (!await nEvent(ctx, nResponse(ctx, [{ text: 'Hello' }], null,
	    nInterim(ctx))))
		return;
	if (await nEvent(ctx, fin('')))
		nEnd(ctx);
}

// finishReason MALFORMED_FUNCTION_CALL without content.
function nMalformed(ctx) {
	return nSingle(ctx, { candidates: [{
	    finishReason: 'MALFORMED_FUNCTION_CALL',
	    finishMessage: 'Malformed function call: ' +
		'print(default_api.get_weather(city=Oslo', index: 0 }],
	    usageMetadata: nUsage(ctx, 0, 0), modelVersion: ctx.model,
	    responseId: ctx.id });
}

const NATIVE_SCENARIOS = {
	text: nText, slow: nSlow, pause: nPause, hugeline: nHugeline,
	echo: nEcho, big: nBig, reasoning: nReasoning, length: nLength,
	tools: (ctx) => nCalls(ctx, TOOLS),
	toolsmeta: (ctx) => nCalls(ctx, TOOLS),
	toolsone: (ctx) => nCalls(ctx, TOOLS, { oneEvent: true }),
	toolsnoid: (ctx) => nCalls(ctx, TOOLS, { noId: true }),
	agent: nAgent, multistep: nMultistep, empty: nEmpty, inband: nInband,
	midstream: nMidstream, drop: nDrop, hang: scHang,
	blocked: nBlocked, safety: nSafety, malformed: nMalformed,
	nolimit: (ctx) => sendQuota(ctx, 'nolimit'),
	quota0: (ctx) => sendQuota(ctx, 'quota0'),
	perday: (ctx) => sendQuota(ctx, 'perday'),
};

function nativeScenarioFn(name) {
	if (Object.prototype.hasOwnProperty.call(NATIVE_SCENARIOS, name))
		return NATIVE_SCENARIOS[name];
	const m = /^err([1-5][0-9][0-9])$/.exec(name);
	if (m)
		return (ctx) => sendScriptedError(ctx, Number(m[1]));
	return null;
}

// ------------------------------------------------- native routes

function nativeModel(id, display, methods, extra) {
	return Object.assign({ name: `models/${id}`, version: '001',
	    displayName: display, description: `${display} (mock)`,
	    inputTokenLimit: 1048576, outputTokenLimit: 65536,
	    supportedGenerationMethods: methods }, extra);
}

const GEN_METHODS = ['generateContent', 'countTokens', 'createCachedContent',
	'batchGenerateContent'];
const GEN_EXTRA = { temperature: 1, maxTemperature: 2, topP: 0.95, topK: 64,
	thinking: true };
// Page 1: three chat models; page 2: an embedding model (no
// generateContent: the proxy must drop it) and one more chat model.
const NATIVE_MODELS = [
	nativeModel('gemini-2.5-flash', 'Gemini 2.5 Flash', GEN_METHODS,
	    GEN_EXTRA),
	nativeModel('gemini-2.5-pro', 'Gemini 2.5 Pro', GEN_METHODS, GEN_EXTRA),
	nativeModel('gemini-3-flash-preview', 'Gemini 3 Flash Preview',
	    GEN_METHODS, GEN_EXTRA),
	nativeModel('gemini-embedding-001', 'Gemini Embedding 001',
	    ['embedContent', 'countTextTokens', 'countTokens',
		'asyncBatchEmbedContent'],
	    { inputTokenLimit: 2048, outputTokenLimit: 1 }),
	nativeModel('gemini-3.1-pro-preview', 'Gemini 3.1 Pro Preview',
	    GEN_METHODS, GEN_EXTRA),
];

function pageToken(offset) {
	return Buffer.from(`mock-page:${offset}`).toString('base64url');
}

function pageOffset(token) {
	const m = /^mock-page:([0-9]+)$/.exec(
	    Buffer.from(token, 'base64url').toString('utf8'));
	return m ? Number(m[1]) : null;
}

// GET /models?pageSize=&pageToken= (at most NATIVE_PAGE_MAX per page,
// whatever pageSize asks) and GET /models/{id}.
function nativeModels(req, res, entry, url, path) {
	let id = null;
	if (path !== '/models') {
		id = path.slice('/models/'.length);
		try {
			id = decodeURIComponent(id);
		} catch (e) { /* keep it raw */ }
	}
	const key = nativeAuth(req, res, entry, url,
	    id === null ? 'ListModels' : 'GetModel');
	if (key === null)
		return;
	if (applyFault(req, res, 'gemini-native', entry, '/models',
	    { key, model: id || '' }))
		return;
	if (state.config.models_fail)
		return nSendError(res, entry, 500, geminiMessage(500));
	if (id !== null) {
		const name = id.startsWith('models/') ? id : `models/${id}`;
		const hit = NATIVE_MODELS.find((m) => m.name === name);
		if (!hit)
			return nSendError(res, entry, 404,
			    geminiMessage(404, name.slice(7)));
		entry.status = 200;
		return sendJson(res, 200, hit, NATIVE_CT);
	}
	const ps = url.searchParams.get('pageSize');
	const asked = ps === null || ps === '' ? 0 : Number(ps);
	if (!Number.isInteger(asked) || asked < 0)
		return nBadRequest(res, entry, 'Invalid value at \'page_size\' ' +
		    `(TYPE_INT32), "${ps}"`);
	const tok = url.searchParams.get('pageToken');
	const offset = tok ? pageOffset(tok) : 0;
	if (offset === null)
		return nBadRequest(res, entry, 'Invalid page token.');
	const size = Math.min(asked || 50, NATIVE_PAGE_MAX);
	const body = { models: NATIVE_MODELS.slice(offset, offset + size) };
	if (offset + size < NATIVE_MODELS.length)
		body.nextPageToken = pageToken(offset + size);
	entry.page = { page_size: asked, offset, returned: body.models.length,
	    next: body.nextPageToken || null };
	entry.status = 200;
	sendJson(res, 200, body, NATIVE_CT);
}

async function nativeGenerate(req, res, entry, url, model, method, raw,
    life) {
	const stream = method === 'streamGenerateContent';
	const key = nativeAuth(req, res, entry, url,
	    stream ? 'StreamGenerateContent' : 'GenerateContent');
	if (key === null)
		return;
	if (stream && url.searchParams.get('alt') !== 'sse')
		return nBadRequest(res, entry, 'mock: streamGenerateContent ' +
		    'without alt=sse answers a JSON array; the mock only speaks ' +
		    'SSE');
	const body = entry.body;
	if (!isObject(body))
		return nBadRequest(res, entry, 'Invalid JSON payload received. ' +
		    'Unexpected token.');
	const bad = validateNative(body);
	if (bad !== null)
		return nBadRequest(res, entry, bad);
	if (applyFault(req, res, 'gemini-native', entry,
	    ['/chat/completions', `:${method}`], { key, model }))
		return;
	const fn = nativeScenarioFn(entry.scenario);
	if (!fn)
		return nBadRequest(res, entry,
		    `mock: unknown scenario "${entry.scenario}"`);
	if (isGemini3(model)) {
		const e = nativeSignatureCheck(body, model, key, entry);
		if (e !== null) {
			entry.status = 400;
			return sendJson(res, 400, { error: e }, NATIVE_CT);
		}
	}
	const ctx = makeCtx(req, res, entry, 'gemini-native', life);
	ctx.key = key;
	ctx.body = body;
	ctx.rawBody = raw;
	ctx.model = model;
	ctx.stream = stream;
	const tc = nf(nf(body, 'generationConfig'), 'thinkingConfig');
	ctx.includeThoughts = nf(tc, 'includeThoughts') === true;
	ctx.id = randomId(16);
	await fn(ctx);
}

// /gemini-native/...: the native API under one prefix.  Entries carry
// model, rpc (generateContent, ...), key, key_source and key_in_query.
function routeNative(req, res, entry, url, sub, raw, life) {
	const path = sub.replace(/\/+$/, '');
	if (req.method === 'GET' &&
	    (path === '/models' || path.startsWith('/models/')))
		return nativeModels(req, res, entry, url, path);
	const m = /^\/models\/([^/]+):([A-Za-z]+)$/.exec(path);
	if (m && req.method === 'POST') {
		let model = m[1];
		try {
			model = decodeURIComponent(model);
		} catch (e) { /* keep it raw */ }
		model = model.replace(/^models\//, '');
		entry.model = model;
		entry.rpc = m[2];
		entry.scenario = scenarioOf(model);
		if (m[2] === 'generateContent' || m[2] === 'streamGenerateContent')
			return nativeGenerate(req, res, entry, url, model, m[2], raw,
			    life);
		if (m[2] === 'batchEmbedContents' || m[2] === 'embedContent')
			return nativeEmbed(req, res, entry, url, model, m[2], life);
	}
	nSendError(res, entry, 404, `mock: no route ${url.pathname}`);
}

// ------------------------------------------------------------ embeddings

const EMBED_SCENARIOS = ['text', 'slow', 'hang', 'drop'].concat(QUOTA_KINDS);
const OR_EMBED_MODELS = [
	['openai/text-embedding-3-small', 'OpenAI: Text Embedding 3 Small', 8192],
	['google/gemini-embedding-001', 'Google: Gemini Embedding 001', 2048],
];

function embedScenarioOk(name) {
	return EMBED_SCENARIOS.includes(name) ||
	    /^err[1-5][0-9][0-9]$/.test(name);
}

// Deterministic vector: value i = the first 4 bytes of
// SHA-256("<i>:<text>") read as a big-endian uint32 u, then
// u / 4294967295 * 2 - 1, rounded to 6 decimals.
function embedVector(text, dim) {
	const v = new Array(dim);
	for (let i = 0; i < dim; i++) {
		const h = crypto.createHash('sha256').update(`${i}:${text}`)
		    .digest();
		v[i] = Number((h.readUInt32BE(0) / 4294967295 * 2 - 1).toFixed(6));
	}
	return v;
}

// encoding_format "base64": little-endian float32 bytes, base64.
function encodeVector(v, format) {
	if (format !== 'base64')
		return v;
	const b = Buffer.alloc(4 * v.length);
	v.forEach((x, i) => b.writeFloatLE(x, 4 * i));
	return b.toString('base64');
}

// The scenario of an embeddings request (hang, drop, slow, errNNN and
// the quota words; anything else is a normal answer).
async function runEmbed(ctx, reply) {
	const sc = ctx.entry.scenario;
	const m = /^err([1-5][0-9][0-9])$/.exec(sc);
	if (m)
		return sendScriptedError(ctx, Number(m[1]));
	if (QUOTA_KINDS.includes(sc))
		return sendQuota(ctx, sc);
	if (sc === 'hang')
		return scHang(ctx);
	if (sc === 'drop') {
		const text = JSON.stringify(reply());
		ctx.entry.status = 200;
		ctx.res.writeHead(200, { 'Content-Type': JSON_CT[ctx.flavour] });
		if (!await send(ctx, text.slice(0, Math.floor(text.length / 2))))
			return;
		return destroyNow(ctx);
	}
	if (sc === 'slow' && !await sleep(ctx, EMBED_SLOW_MS))
		return;
	return finishJson(ctx, 200, reply());
}

// OpenAI-shape input -> texts, or an error message.  OpenRouter also
// takes token arrays and multimodal items (their JSON text is embedded).
function embedInputs(flavour, input) {
	if (typeof input === 'string')
		return [input];
	if (!Array.isArray(input) || input.length === 0)
		return 'mock: input must be a string or a non-empty array';
	if (input.every((x) => typeof x === 'string'))
		return input;
	if (flavour !== 'openrouter')
		return 'mock: input must be a string or an array of strings';
	if (input.every((x) => typeof x === 'number'))
		return [JSON.stringify(input)];
	return input.map((x) => typeof x === 'string' ? x : JSON.stringify(x));
}

function embedDims(v) {
	if (v === undefined || v === null)
		return EMBED_DIM;
	if (!Number.isInteger(v) || v < 1 || v > EMBED_MAX_DIM)
		return null;
	return v;
}

function batchTooLarge() {
	return '* BatchEmbedContentsRequest.requests: at most 100 requests can ' +
	    'be in one batch\n';
}

// POST /gemini/embeddings and /openrouter/embeddings (2026 sections 6.1,
// 6.4): OpenAI shape in and out.
async function routeEmbeddings(req, res, flavour, entry, life) {
	const body = entry.body;
	const model = isObject(body) && typeof body.model === 'string' ?
	    body.model : '';
	if (model !== '')
		entry.scenario = scenarioOf(model);
	if (!checkAuth(req, res, flavour, entry, 'BatchEmbedContents'))
		return;
	const fail = (status, message) => {
		entry.status = status;
		return sendFlavourError(res, flavour, status, message);
	};
	if (!isObject(body))
		return fail(400, 'mock: request body is not a JSON object');
	if (model === '')
		return fail(400, 'mock: model missing');
	const inputs = embedInputs(flavour, body.input);
	if (typeof inputs === 'string')
		return fail(400, inputs);
	if (flavour === 'gemini' && inputs.length > EMBED_BATCH_MAX)
		return fail(400, batchTooLarge());
	const dims = embedDims(body.dimensions);
	if (dims === null)
		return fail(400, `mock: dimensions must be 1..${EMBED_MAX_DIM}`);
	const format = body.encoding_format;
	if (format !== undefined && format !== 'float' && format !== 'base64')
		return fail(400, 'mock: encoding_format must be float or base64');
	if (flavour === 'gemini' && !model.includes('embedding'))
		return fail(404, `models/${model.replace(/^models\//, '')} is not ` +
		    'found for API version v1beta, or is not supported for ' +
		    'embedContent. Call ListModels to see the list of available ' +
		    'models and their supported methods.');
	if (flavour === 'openrouter' && !model.includes('embed'))
		return wrongEndpoint(res, entry, model);
	if (!embedScenarioOk(entry.scenario))
		return fail(400, `mock: unknown scenario "${entry.scenario}"`);
	const ctx = makeCtx(req, res, entry, flavour, life);
	ctx.key = bearerKey(req);
	ctx.body = body;
	ctx.model = model;
	const tokens = Math.ceil(inputs.reduce((n, t) => n + chars(t), 0) / 4);
	entry.usage = { prompt_tokens: tokens, total_tokens: tokens };
	const reply = () => {
		const data = inputs.map((t, i) => ({ object: 'embedding', index: i,
		    embedding: encodeVector(embedVector(t, dims), format) }));
		if (flavour === 'gemini') {
			return { object: 'list', model, data,
			    usage: { prompt_tokens: tokens, total_tokens: tokens } };
		}
		return { id: `gen-emb-${ctx.created}-${randomId(20)}`,
		    object: 'list', model, data, usage: { prompt_tokens: tokens,
			total_tokens: tokens,
			cost: Number((tokens * 0.00000002).toFixed(12)) } };
	};
	return runEmbed(ctx, reply);
}

// OpenRouter availability error (2026 section 7.4) for a chat model on
// /embeddings; the wording is the mock's.
function wrongEndpoint(res, entry, model) {
	entry.status = 400;
	sendJson(res, 400, { error: {
		message: `${model} is not an embedding model. Use ` +
		    '/api/v1/chat/completions for this model.',
		error_type: 'invalid_request', http_status: 400,
		availability: { code: 'wrong_endpoint', retryable: false,
		    requested_models: [model],
		    docs_url: 'https://openrouter.ai/docs/errors#wrong_endpoint' },
	} }, JSON_CT.openrouter);
}

// GET /openrouter/embeddings/models (no auth, like /models).
function routeOrEmbedModels(res, entry) {
	entry.status = 200;
	sendJson(res, 200, { data: OR_EMBED_MODELS.map((m) => ({
		id: m[0], name: m[1], created: 1733000000,
		description: `${m[1]} (mock)`, context_length: m[2],
		architecture: { modality: 'text->embeddings',
		    input_modalities: ['text'], output_modalities: ['embeddings'] },
		pricing: { prompt: '0.00000002', completion: '0' },
	})) }, JSON_CT.openrouter);
}

// POST /gemini-native/models/{m}:batchEmbedContents (and :embedContent),
// 2026 section 6.2: {"embeddings":[{"values":[...]}]}, at most 100.
async function nativeEmbed(req, res, entry, url, model, method, life) {
	const key = nativeAuth(req, res, entry, url, method === 'embedContent' ?
	    'EmbedContent' : 'BatchEmbedContents');
	if (key === null)
		return;
	const body = entry.body;
	if (!isObject(body))
		return nBadRequest(res, entry, 'Invalid JSON payload received. ' +
		    'Unexpected token.');
	const batch = method === 'batchEmbedContents';
	const reqs = batch ? body.requests : [body];
	if (!Array.isArray(reqs) || reqs.length === 0)
		return nBadRequest(res, entry, '* BatchEmbedContentsRequest.' +
		    'requests: requests is not specified\n');
	if (reqs.length > EMBED_BATCH_MAX)
		return nBadRequest(res, entry, batchTooLarge());
	const items = [];
	for (let i = 0; i < reqs.length; i++) {
		const where = batch ? `BatchEmbedContentsRequest.requests[${i}]` :
		    'EmbedContentRequest';
		const content = isObject(reqs[i]) ? reqs[i].content : undefined;
		const parts = isObject(content) ? content.parts : undefined;
		if (!Array.isArray(parts) || parts.length === 0)
			return nBadRequest(res, entry, `* ${where}.content.parts: ` +
			    'contents.parts must not be empty.\n');
		const dims = embedDims(nf(reqs[i], 'outputDimensionality'));
		if (dims === null)
			return nBadRequest(res, entry, `* ${where}.` +
			    `output_dimensionality: must be 1..${EMBED_MAX_DIM}\n`);
		items.push({ text: parts.filter((p) => p && typeof p.text ===
		    'string').map((p) => p.text).join(''), dims });
	}
	if (applyFault(req, res, 'gemini-native', entry,
	    ['/embeddings', `:${method}`], { key, model }))
		return;
	if (!model.includes('embedding'))
		return nSendError(res, entry, 404, `models/${model} is not found ` +
		    `for API version v1beta, or is not supported for ${method}. ` +
		    'Call ListModels to see the list of available models and ' +
		    'their supported methods.');
	if (!embedScenarioOk(entry.scenario))
		return nBadRequest(res, entry,
		    `mock: unknown scenario "${entry.scenario}"`);
	const ctx = makeCtx(req, res, entry, 'gemini-native', life);
	ctx.key = key;
	ctx.body = body;
	ctx.model = model;
	const tokens = Math.ceil(items.reduce((n, t) => n + chars(t.text), 0) /
	    4);
	entry.usage = { prompt_tokens: tokens, total_tokens: tokens };
	const reply = () => {
		const vecs = items.map((t) => ({
		    values: embedVector(t.text, t.dims) }));
		return batch ? { embeddings: vecs } : { embedding: vecs[0] };
	};
	return runEmbed(ctx, reply);
}

// GET /_mock/signatures: {bind_key, wording, issued:[{signature, kind,
// flavour, model, key, seq, t}]}; POST takes {"bind_key": bool,
// "wording": "2026"|"legacy", "clear": true}.
function routeSignatures(req, res, raw) {
	if (req.method === 'POST') {
		const b = parseBody(raw);
		if (!isObject(b))
			return sendJson(res, 400, { error: 'signatures: a JSON object' });
		if (b.clear === true)
			sigState.issued.clear();
		if (typeof b.bind_key === 'boolean')
			sigState.bind_key = b.bind_key;
		if (b.wording === '2026' || b.wording === 'legacy')
			sigState.wording = b.wording;
	} else if (req.method !== 'GET') {
		return sendJson(res, 405, { error: 'GET or POST' });
	}
	const issued = Array.from(sigState.issued,
	    ([signature, r]) => Object.assign({ signature }, r));
	return sendJson(res, 200, { bind_key: sigState.bind_key,
	    wording: sigState.wording, issued });
}

// ----------------------------------------------------------------- main

function writePortFile(file, port) {
	const tmp = `${file}.tmp${process.pid}`;
	fs.writeFileSync(tmp, `${port}\n`);
	fs.renameSync(tmp, file);
}

function main() {
	const opts = parseArgs(process.argv.slice(2));
	const sockets = new Set();
	const server = http.createServer((req, res) => {
		handle(req, res).catch((e) => {
			process.stderr.write(`upstream.js: ${e.stack || e}\n`);
			if (!res.headersSent)
				sendJson(res, 500, { error: { code: 500,
				    message: `mock failure: ${e.message}` } });
			else
				res.destroy();
		});
	});
	server.keepAliveTimeout = 30000;
	server.headersTimeout = 35000;
	server.on('connection', (s) => {
		s.setNoDelay(true);
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	server.on('error', (e) => die(`listen: ${e.message}`));
	const stop = () => {
		server.close();
		for (const s of sockets)
			s.destroy();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	server.listen(opts.port, HOST, () => {
		const port = server.address().port;
		if (opts.portfile)
			writePortFile(opts.portfile, port);
		process.stdout.write(
		    `mock upstream listening on http://${HOST}:${port}\n`);
	});
}

main();
