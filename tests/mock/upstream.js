#!/usr/bin/env node
// tests/mock/upstream.js -- fake upstream for aiproxy integration tests.
//
// Owns: impersonating OpenRouter (/openrouter/...) and Gemini's
// OpenAI-compatible endpoint (/gemini/...) on 127.0.0.1, byte for byte where
// /work/shared/docs/provider-apis.md describes the wire format; the scenario
// scripts chosen by the request's model name; the request log and the
// /_mock control API.  See tests/mock/README.md for the scenario list.
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
};
const DISPLAY = { openrouter: 'OpenRouter', gemini: 'Gemini' };

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

function toolChars() {
	return TOOLS.reduce((n, t) => n + chars(t.name) + chars(t.args), 0);
}

function fullToolCall(ctx, i) {
	const call = { id: toolId(ctx, i), type: 'function',
	    function: { name: TOOLS[i].name, arguments: TOOLS[i].args } };
	if (ctx.flavour === 'gemini' && i === 0)
		call.extra_content = { google: { thought_signature: THOUGHT_SIG } };
	return call;
}

// OpenRouter per section 1.3: first delta has index/id/type/name and "",
// then the arguments in fragments.
async function streamToolsOpenRouter(ctx, usage) {
	for (let i = 0; i < TOOLS.length; i++) {
		const first = { index: i, id: toolId(ctx, i), type: 'function',
		    function: { name: TOOLS[i].name, arguments: '' } };
		const d = i === 0 ?
		    { role: 'assistant', content: null, tool_calls: [first] } :
		    { tool_calls: [first] };
		if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, d, null)])))
			return;
		for (const f of TOOLS[i].frags) {
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
	for (let i = 0; i < TOOLS.length; i++) {
		const d = { role: 'assistant', tool_calls: [fullToolCall(ctx, i)] };
		const extra = contentExtra(ctx, i, TOOLS.length, usage);
		if (!await event(ctx, chunk(ctx, [choiceDelta(ctx, d, null)], extra)))
			return;
	}
	return streamTail(ctx, 'stop', usage);
}

async function scTools(ctx) {
	const usage = usageFor(ctx, toolChars());
	if (!ctx.stream) {
		const calls = TOOLS.map((t, i) => fullToolCall(ctx, i));
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

// Reasoning before the answer: OpenRouter streams delta.reasoning (next to
// content ""), Gemini delta.reasoning_content (what splitting its inline
// thoughts gives); non-stream: message.reasoning / .reasoning_content.
// Usage adds completion_tokens_details.reasoning_tokens.
async function scReasoning(ctx) {
	const gem = ctx.flavour === 'gemini';
	const thought = REASONING.join('');
	const pieces = helloPieces(ctx);
	const usage = usageFor(ctx, chars(thought) + chars(pieces.join('')));
	usage.completion_tokens_details = {
		reasoning_tokens: Math.ceil(chars(thought) / 4) };
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
	hugeline: scHugeline, reasoning: scReasoning, agent: scAgent,
	empty: scEmpty, length: scLength, inband: scInband,
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
// auth error.
function checkAuth(req, res, flavour, entry) {
	const k = bearerKey(req);
	if (k !== null && !k.startsWith('bad'))
		return true;
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
	if (!checkAuth(req, res, flavour, entry))
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
	const ctx = makeCtx(req, res, entry, flavour, life);
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
// The first matching rule wins. The entry records fault: <rule index>.
function applyFault(req, res, flavour, entry, sub) {
	const key = bearerKey(req);
	const route = sub || '/chat/completions';
	const i = state.faults.findIndex((f) => f.times !== 0 &&
	    (f.key === '*' || f.key === key) &&
	    (!f.flavour || f.flavour === flavour) &&
	    (f.path || '/chat/completions') === route);
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
	entry.status = f.status;
	let text = typeof f.body === 'string' ? f.body : JSON.stringify(f.body);
	// "{{model}}" echoes the request's model, as OpenRouter's
	// "<model> is not a valid model ID" does
	const model = entry.body && typeof entry.body === 'object' &&
	    typeof entry.body.model === 'string' ? entry.body.model : '';
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
		if (!res.writableFinished && !life.selfClose)
			entry.closed_at = Date.now();
	});
}

async function handle(req, res) {
	const t0 = Date.now();
	const raw = await readBody(req);
	const p = new URL(req.url, `http://${HOST}`).pathname;
	if (p.startsWith('/_mock/'))
		return routeControl(req, res, p, raw);
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
	const mm = /^\/models(?:\/(.+))?$/.exec(sub);
	if (flavour && mm && req.method === 'GET')
		return routeModels(req, res, flavour, entry,
		    mm[1] === undefined ? null : decodeURIComponent(mm[1]));
	entry.status = 404;
	if (flavour)
		return sendFlavourError(res, flavour, 404, `mock: no route ${p}`);
	sendJson(res, 404, { error: { code: 404, message: `mock: no route ${p}` } });
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
