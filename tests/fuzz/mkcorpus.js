#!/usr/bin/env node
// mkcorpus.js -- writes the seed corpora tests/fuzz/corpus/<target>/ from
// the wire formats of docs/provider-apis.md, provider-apis-2026.md and the
// unit-test vectors. Run it after changing a seed; the files are committed
// (a clean checkout needs no node to fuzz). Each target's input layout is
// described at the top of its fuzz_<target>.c.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, 'corpus');
const seeds = {};
function add(target, name, data) {
	(seeds[target] = seeds[target] || []).push([name, Buffer.from(data)]);
}
const J = (o) => JSON.stringify(o);

// keys shaped like real ones (fake)
const GKEY = 'AIzaSyD3m0K3yF0rFuzz1ngXyZ0123456789ab';
const OKEY = 'sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef01234567';

// --- validate: the request body -------------------------------------------
const user = { role: 'user', content: 'Hello!' };
const weather = {
	type: 'function', function: {
		name: 'get_weather', description: 'Get weather information',
		parameters: { type: 'object', properties: { location: {
			type: 'string', description: 'City name' } },
		required: ['location'] } } };
const call = { id: 'call_0', type: 'function',
	function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } };
const V = [
	['minimal', { model: 'gpt-4o-mini', messages: [user] }],
	['stream', { model: 'gemini-2.5-flash', stream: true, messages: [user] }],
	['stream-usage', { model: 'm', stream: true,
		stream_options: { include_usage: true }, messages: [user] }],
	['stream-options-other', { model: 'm', stream: true,
		stream_options: { include_obfuscation: false }, messages: [user] }],
	['auto-model', { model: 'auto-model', messages: [user], stream: null,
		stream_options: null }],
	['tools', { model: 'gpt-3.5-turbo:free', messages: [user],
		stream: false, tools: [weather] }],
	['tool-choice-fn', { model: 'm', messages: [user], tools: [weather],
		tool_choice: { type: 'function',
			function: { name: 'get_weather' } } }],
	['tool-choice-allowed', { model: 'm', messages: [user],
		tool_choice: { type: 'allowed_tools', allowed_tools: {
			mode: 'required', tools: [] } } }],
	['tool-turn', { model: 'm', messages: [user,
		{ role: 'assistant', content: null, tool_calls: [call] },
		{ role: 'tool', tool_call_id: 'call_0', content: '{"t":12}' }],
	tools: [weather], tool_choice: 'auto', parallel_tool_calls: true }],
	['parts', { model: 'm', messages: [{ role: 'system', content: 's' },
		{ role: 'developer', content: [{ type: 'text', text: 'd' }] },
		{ role: 'user', content: [{ type: 'text', text: 't' },
			{ type: 'image_url', image_url: {
				url: 'data:image/png;base64,iVBORw0KGgo=',
				detail: 'low' } },
			{ type: 'input_audio', input_audio: { data: 'AAA=',
				format: 'wav' } },
			{ type: 'file', file: { file_id: 'f', filename: 'a.pdf' } }] }] }],
	['assistant-parts', { model: 'm', messages: [user, { role: 'assistant',
		content: [{ type: 'text', text: 'a' },
			{ type: 'refusal', refusal: 'r' }], name: 'bot' }] }],
	['function-role', { model: 'm', messages: [user, { role: 'assistant',
		function_call: { name: 'f', arguments: '{}' } },
		{ role: 'function', name: 'f', content: 'r' }] }],
	['sampling', { model: 'm', messages: [user], max_tokens: 100,
		max_completion_tokens: 2147483647, n: 1, temperature: 0.7,
		top_p: 1, seed: 42, stop: ['a', 'b', 'c', 'd'],
		frequency_penalty: 0, presence_penalty: 0, logit_bias: { 50256: -100 },
		user: 'u', metadata: {}, reasoning_effort: 'low' }],
	['response-format', { model: 'm', messages: [user], response_format: {
		type: 'json_schema', json_schema: { name: 'x', strict: true,
			schema: { type: 'object', properties: { a: {
				type: 'integer' } } } } } }],
	['gemini-extra', { model: 'gemini-2.5-flash', messages: [user],
		extra_body: { google: { thinking_config: {
			thinking_budget: 1024, include_thoughts: true } } } }],
	['gemini3-signature', { model: 'gemini-3-flash-preview', messages: [user,
		{ role: 'assistant', content: null, tool_calls: [{ id: 'jm4owj31',
			type: 'function', function: { name: 'get_weather',
				arguments: '{"city":"Oslo"}' },
			extra_content: { google: {
				thought_signature: 'EjQKMgEMOdbH' } } }] },
		{ role: 'tool', tool_call_id: 'jm4owj31', content: 'sunny' }] }],
	['openrouter-reasoning', { model: 'google/gemini-3-pro', messages: [user,
		{ role: 'assistant', content: null, tool_calls: [call],
			reasoning_details: [{ type: 'reasoning.text', text: 'Need',
				format: 'google-gemini-v1', index: 0 },
			{ type: 'reasoning.encrypted', data: 'CiIBjz1rX6JF',
				id: 'call_0', format: 'google-gemini-v1',
				index: 1 }] }],
		reasoning: { effort: 'high' }, provider: { order: ['x'] } }],
	['unicode', { model: 'm', messages: [{ role: 'user',
		content: 'h\u00e9\u20ac\ud834\udd1e "q" \\ \n\t' }] }],
];
for (const [n, o] of V)
	add('validate', n, J(o));
add('validate', 'pretty', JSON.stringify(V[5][1], null, 2) + '\n');
add('validate', 'escapes', '{"model":"m","messages":[{"role":"user",' +
	'"content":"\\u00e9\\ud83d\\ude00\\/"}],"n":1e0,"temperature":-0.0}');
add('validate', 'bad-duplicate', '{"model":"a","model":"b","messages":[]}');
add('validate', 'bad-escaped-name', '{"mo\\u0064el":"a","messages":' +
	'[{"role":"user","content":"x"}]}');
add('validate', 'bad-role', '{"model":"m","messages":[{"role":"robot",' +
	'"content":"x"}]}');
add('validate', 'bad-trailing', J(V[0][1]) + ' x');
add('validate', 'bad-bom', '\ufeff' + J(V[0][1]));
add('validate', 'bad-numbers', '{"model":"m","messages":[],' +
	'"max_tokens":0,"top_p":1.5}');

// --- sse: [cap, stop, 8 piece sizes] + stream --------------------------------
function sse(name, cap, stop, sizes, text) {
	add('sse', name, Buffer.concat([Buffer.from([cap, stop, ...sizes]),
		Buffer.from(text)]));
}
const chunk = (c) => J({ id: 'chatcmpl-7f3a', object: 'chat.completion.chunk',
	created: 1760000000, model: 'm', choices: [{ index: 0, delta: c,
		logprobs: null, finish_reason: null }] });
const textStream = `data: ${chunk({ role: 'assistant', content: '' })}\n\n` +
	`data: ${chunk({ content: 'Hello' })}\n\ndata: [DONE]\n\n`;
sse('openai-text', 3, 0, [7, 1, 64, 3, 0, 128, 2, 255], textStream);
sse('crlf', 3, 0, [1, 2, 3, 4, 5, 6, 7, 8], textStream.replace(/\n/g, '\r\n'));
sse('cr-only', 2, 0, [13, 1, 1, 13, 40, 2, 9, 1], textStream.replace(/\n/g, '\r'));
sse('openrouter-keepalive', 3, 0, [30, 30, 30, 30, 1, 1, 1, 1],
	': OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\r\n\r\n' +
	textStream);
sse('multiline-data', 2, 0, [5, 5, 5, 5, 5, 5, 5, 5],
	'data:{"a":\ndata: 1}\nid: 7\nevent: message\nretry: 10\n\n' +
	'data\n\ndata:\ndata\n\n:comment\n\n');
sse('stop-after-2', 3, 2, [255, 255, 255, 255, 255, 255, 255, 255],
	textStream);
sse('tiny-cap', 0, 0, [1, 1, 1, 1, 1, 1, 1, 1], 'data: ab\n\ndata: x\n\n');
sse('cap16', 1, 0, [3, 3, 3, 3, 3, 3, 3, 3],
	'data: 0123456789\ndata: 0123456789\n\n');
sse('midstream-error', 3, 0, [100, 1, 100, 1, 100, 1, 100, 1],
	'data: ' + J({ id: 'gen-1', object: 'chat.completion.chunk',
		created: 1760000000, model: 'x/y', provider: 'p',
		error: { code: 'server_error',
			message: 'Provider disconnected unexpectedly' },
		choices: [{ index: 0, delta: { content: '' },
			finish_reason: 'error' }] }) + '\n\n');
sse('no-final-blank', 3, 0, [9, 9, 9, 9, 9, 9, 9, 9], 'data: {"x":1}\ndata: y');

// --- jsonraw: key \n value \n document ---------------------------------------
const jr = (n, k, v, doc) => add('jsonraw', n, `${k}\n${v}\n${doc}`);
jr('model-replace', 'model', '"gemini-2.5-flash"', J(V[0][1]));
jr('model-auto', 'model', '"openrouter/auto"', J(V[4][1]));
jr('stream-options-add', 'stream_options', '{"include_usage":true}',
	J(V[1][1]));
jr('stream-options-replace', 'stream_options',
	'{"include_obfuscation":false,"include_usage":true}', J(V[3][1]));
jr('pretty', 'model', '"x"', JSON.stringify(V[5][1], null, 2));
jr('empty-object', 'model', '"x"', ' { } ');
jr('nested-key', 'model', '"x"', '{"a":{"model":1},"b":[{"model":2}],' +
	'"model":"m","c":"\\"model\\":"}');
jr('numbers', 'n', '2', '{"n":-1.5e+10,"t":true,"f":false,"z":null}');
jr('escaped-key', 'model', '"x"', '{"mo\\u0064el":"a","model":"b"}');
jr('key-needs-escape', 'a"b\\c', '[1,{"x":[]}]', '{"k":"v"}');
jr('not-object', 'model', '"x"', '["model","m"]');
jr('unterminated', 'model', '"x"', '{"model":"m"');
jr('whitespace-value', 'temperature', ' 0.5 ', '{\t"temperature"\r\n:\n1 }');

// --- config ---------------------------------------------------------------
const cfgReadme = {
	access_key: 'your-proxy-access-key', model_usage_gap_percentage: 5,
	'auto-models': ['gpt-3.5-turbo:free', 'gemini-pro'],
	provider_keys: [
		{ provider: 'openrouter', key: ['key1', 'key2'],
			max_request_day: 1500, max_token_min: 150000,
			max_request_min: 15 },
		{ provider: 'gemini', key: ['key1', 'key2'],
			max_request_day: 1500, max_token_min: 150000,
			max_request_min: 15 }] };
add('config', 'readme', JSON.stringify(cfgReadme, null, 2) + '\n');
const cfgFull = {
	access_key: 'proxy-key-\u00e9\u00fc-0123456789abcdef',
	model_usage_gap_percentage: 12.5, 'auto-models': ['openrouter/auto'],
	state_dir: '/var/lib/aiproxy', state_durable: true, state_map_mb: 256,
	max_body_bytes: 1024, threads: 4096, connect_timeout_ms: 600000,
	first_byte_timeout_ms: 100, idle_timeout_ms: 3600000,
	keepalive_interval_ms: 5000, models_cache_s: 0, max_attempts: 10,
	key_reprobe_s: 86400, max_json_values: 100000,
	max_response_bytes: 8388608, fcgi_read_timeout_ms: 30000,
	provider_keys: [
		{ provider: 'openrouter', key: [OKEY, 'env:OPENROUTER_KEY_2'],
			max_request_day: 1000000000, max_token_min: 1,
			max_request_min: 20,
			base_url: 'http://127.0.0.1:8081/api/v1/',
			models: ['meta-llama/llama-3-8b-instruct:free', 'x/y'],
			models_filter: ':free' },
		{ provider: 'gemini', key: [GKEY], max_request_day: 10,
			max_token_min: 10, max_request_min: 10,
			base_url: 'https://example.test/v1beta/openai' }] };
add('config', 'full', JSON.stringify(cfgFull, null, 1));
add('config', 'minimal', J({ access_key: 'a', provider_keys: [{
	provider: 'gemini', key: ['k'], max_request_day: 1, max_token_min: 1,
	max_request_min: 1 }] }));
add('config', 'errors', J({ access_key: '', acess_key: 'x', threads: 0,
	model_usage_gap_percentage: 'x', 'auto-models': [1, ''],
	provider_keys: [{ provider: 'openai', key: [GKEY, GKEY, ' bad key'],
		max_request_day: 0.5, max_token_min: -1, base_url: 'ftp://x',
		models: [] }, 3] }));
add('config', 'duplicate-keys', '{"access_key":"a","access_key":"b",' +
	'"provider_keys":[{"provider":"openrouter","key":["' + OKEY + '","' +
	OKEY + '"],"max_request_day":1,"max_token_min":1,' +
	'"max_request_min":1,"provider":"gemini"}]}');
add('config', 'syntax', '{\n  "access_key": "' + GKEY + '",\n' +
	'  "provider_keys": [\n    {"provider": "gemini",}\n  ]\n}\n');
add('config', 'trailing', J({ access_key: 'a', provider_keys: [] }) + '\n}');
add('config', 'native-aliases', J({ access_key: 'Zq3xV9mK2pL8wR4tY7uB1nC6',
	model_aliases: { 'gpt-4o*': 'gemini-2.5-flash', 'gpt-3.5-turbo':
		'auto-model', '*': 'x', 'a*b': 'y', '': 'z' },
	signature_ttl_s: 86400, signature_cache_max: 4096,
	provider_keys: [{ provider: 'gemini', api: 'native', key: [GKEY],
		max_request_day: 250, max_token_min: 250000,
		max_request_min: 10 }, { provider: 'openrouter', api: 'openai',
		key: [OKEY], max_request_day: 50, max_token_min: 1,
		max_request_min: 20 }] }));
add('config', 'weak-http', J({ access_key: 'short', provider_keys: [{
	provider: 'openrouter', key: ['env:HOME', 'env:NO_SUCH_VAR_1',
		'env:bad-name'], max_request_day: 5, max_token_min: 5,
	max_request_min: 5, base_url: 'http://10.0.0.1/api/v1' }] }));

// --- retryhint: "status now provider" \n RA \n RA-ms \n reset \n body ----------
const NOW = 1760000000000;	// 2025-10-09T08:53:20Z
const rh = (n, status, prov, ra, ram, reset, body) => add('retryhint', n,
	`${status} ${NOW} ${prov}\n${ra}\n${ram}\n${reset}\n${body}`);
const g429 = (qid, delay) => J({ error: { code: 429,
	status: 'RESOURCE_EXHAUSTED', message: 'You exceeded your current ' +
	'quota, please check your plan and billing details.', details: [
		{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
			violations: [{ quotaMetric: 'generativelanguage.' +
				'googleapis.com/generate_content_free_tier_requests',
			quotaId: qid, quotaDimensions: { location: 'global',
				model: 'gemini-2.5-flash' }, quotaValue: '250' }] },
		{ '@type': 'type.googleapis.com/google.rpc.Help', links: [{
			description: 'Learn more about Gemini API quotas',
			url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
		{ '@type': 'type.googleapis.com/google.rpc.RetryInfo',
			retryDelay: delay }] } });
rh('gemini-429-day', 429, 1, '', '', '',
	g429('GenerateRequestsPerDayPerProjectPerModel-FreeTier', '22s'));
rh('gemini-429-min-array', 429, 1, '', '', '', '[' +
	g429('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', '1.5s') +
	']');
rh('gemini-429-limit-0', 429, 1, '', '', '', J({ error: { code: 429,
	status: 'RESOURCE_EXHAUSTED', message: 'You exceeded your current ' +
	'quota. \n* Quota exceeded for metric: generativelanguage.googleapis' +
	'.com/generate_content_free_tier_requests, limit: 0, model: ' +
	'gemini-3.1-pro\nPlease retry in 10.689924287s.', details: [
		{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
			violations: [{ quotaMetric: 'generativelanguage.' +
				'googleapis.com/generate_content_free_tier_requests',
			quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
			quotaDimensions: { location: 'global',
				model: 'gemini-3.1-pro' } }] },
		{ '@type': 'type.googleapis.com/google.rpc.RetryInfo',
			retryDelay: '10s' }] } }));
rh('gemini-429-bare', 429, 1, '', '', '', J({ error: { code: 429,
	message: 'Resource has been exhausted (e.g. check quota).',
	status: 'RESOURCE_EXHAUSTED' } }));
rh('openrouter-429-day', 429, 0, '', '', '1760054400000', J({ error: {
	code: 429, message: 'Rate limit exceeded: free-models-per-day. Add 10 ' +
	'credits to unlock 1000 free model requests per day', metadata: {
		headers: { 'X-RateLimit-Limit': '50', 'X-RateLimit-Remaining': '0',
			'X-RateLimit-Reset': '1760054400000' },
		provider_name: null } }, user_id: 'user_abc' }));
rh('openrouter-429-provider', 429, 0, '40', '', '', J({ error: { code: 429,
	message: 'Provider returned error', metadata: {
		raw: '{"error":"rate limited"}', provider_name: 'Chutes' } } }));
rh('retry-after-date', 429, 0, 'Thu, 09 Oct 2025 09:00:00 GMT', '', '', '');
rh('retry-after-rfc850', 429, 1, 'Thursday, 09-Oct-25 09:00:00 GMT', '', '',
	'');
rh('retry-after-asctime', 429, 1, 'Thu Oct  9 09:00:00 2025', '1500.5',
	'1760000100', '');
rh('gemini-400-key-invalid', 400, 1, '', '', '', '[' + J({ error: {
	code: 400, message: 'API key not valid. Please pass a valid API key.',
	status: 'INVALID_ARGUMENT', details: [{
		'@type': 'type.googleapis.com/google.rpc.ErrorInfo',
		reason: 'API_KEY_INVALID', domain: 'googleapis.com',
		metadata: { service: 'generativelanguage.googleapis.com' } }] } }) +
	']');
rh('gemini-401-token-type', 401, 1, '', '', '', J({ error: { code: 401,
	message: 'Request had invalid authentication credentials.',
	status: 'UNAUTHENTICATED', details: [{
		'@type': 'type.googleapis.com/google.rpc.ErrorInfo',
		reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED', metadata: {
			method: 'google.ai.generativelanguage.v1beta.' +
				'GenerativeService.GenerateContent' } }] } }));
rh('gemini-403-leaked', 403, 1, '', '', '', J({ error: { code: 403,
	message: 'Your API key was reported as leaked. Please use another API ' +
	'key.', status: 'PERMISSION_DENIED' } }));
rh('gemini-400-precondition', 400, 1, '', '', '', J({ error: { code: 400,
	message: 'User location is not supported for the API use.',
	status: 'FAILED_PRECONDITION' } }));
rh('openrouter-400-model-echo', 400, 0, '', '', '', J({ error: {
	message: 'API key not valid is not a valid model ID', code: 400 } }));
rh('openrouter-401', 401, 0, '', '', '', J({ error: {
	message: 'User not found.', code: 401 } }));
rh('openrouter-402', 402, 0, '', '', '', J({ error: { code: 402,
	message: 'Insufficient credits. Add more using ' +
	'https://openrouter.ai/credits' } }));
rh('openrouter-key-probe', 200, 0, '', '', '', J({ data: {
	label: 'sk-or-v1-au7...890', limit: 100, limit_remaining: 0,
	limit_reset: 'monthly', usage: 25.5, is_free_tier: false } }));
rh('openrouter-403-moderation', 403, 0, '', '', '', J({ error: { code: 403,
	message: 'Input was flagged', metadata: { reasons: ['violence'],
		flagged_input: 'x', provider_name: 'p', model_slug: 'x/y' } } }));
rh('availability-429', 429, 0, '40', '', '', J({ error: {
	message: 'All providers for x are at capacity. Retry after 40 seconds.',
	error_type: 'rate_limit_exceeded', http_status: 429, availability: {
		code: 'capacity_exhausted', retryable: true, retry_after: 40 } } }));
rh('503', 503, 0, '120', '', '', '');
add('retryhint', 'no-headers', '429 1760000000000 1');	// headers absent (NULL)
add('retryhint', 'negative-now', '429 -5 1\n\n\n\n');
add('retryhint', 'far-future', '429 253402300799999 1\n' +
	'Fri, 31 Dec 9999 23:59:60 GMT\n\n99999999999999999999\n');

// --- provider_event: "adapter flags" \n keys \n events ("\n\n") -------------
// adapters: 0 openrouter, 1 gemini (OpenAI-compatible), 2 gemini native;
// flags: 1 drop_usage_alone, 2 id_prefix, 4 record thought signatures
const ev = (n, prov, flags, events) => add('provider_event', n,
	`${prov} ${flags}\n${OKEY} ${GKEY}\n${events.join('\n\n')}`);
const CH = { id: 'chatcmpl-7f3a', object: 'chat.completion.chunk',
	created: 1760000000, model: 'm' };
const ck = (choices, extra) => J({ ...CH, choices, ...extra });
ev('openai-text', 0, 0, [ck([{ index: 0, delta: { role: 'assistant',
	content: '' }, logprobs: null, finish_reason: null }]),
ck([{ index: 0, delta: { content: 'Hello' }, finish_reason: null }],
	{ usage: null }),
ck([{ index: 0, delta: {}, finish_reason: 'stop' }]),
ck([], { usage: { prompt_tokens: 42, completion_tokens: 9,
	total_tokens: 51 } }), '[DONE]']);
ev('openai-tools', 0, 1, [
	ck([{ index: 0, delta: { role: 'assistant', content: null,
		tool_calls: [{ index: 0, id: 'call_0', type: 'function',
			function: { name: 'get_weather', arguments: '' } }] },
		finish_reason: null }]),
	ck([{ index: 0, delta: { tool_calls: [{ index: 0, function: {
		arguments: '{"city":' } }] }, finish_reason: null }]),
	ck([{ index: 0, delta: { tool_calls: [{ index: 0, function: {
		arguments: '"Oslo"}' } }] }, finish_reason: null }]),
	ck([{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_1',
		type: 'function', function: { name: 'get_time',
			arguments: '{"tz":"CET"}' } }] }, finish_reason: null }]),
	ck([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
	'[DONE]']);
const gTool = (id, name, args, sig) => J({ choices: [{ index: 0, delta: {
	role: 'assistant', tool_calls: [{ id, type: 'function', function: {
		name, arguments: args }, ...(sig ? { extra_content: { google: {
		thought_signature: sig } } } : {}) }] } }] });
ev('gemini-tools-no-index', 1, 6, [
	gTool('jm4owj31', 'get_weather', '{"city":"Oslo"}', 'EjQKMgEMOdbH'),
	gTool('k81zqa0c', 'get_weather', '{"city":"Bergen"}'),
	J({ choices: [{ index: 0, delta: { tool_calls: [{ extra_content: {
		google: { thought_signature: 'EjQKMgEMOdbH' } } }] } }] }),
	J({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
		usage: { prompt_tokens: 118, completion_tokens: 235,
			total_tokens: 353 } }),
	'[DONE]']);
ev('gemini-one-event-two-calls', 1, 0, [J({ choices: [{ delta: {
	tool_calls: [{ function: { name: 'get_weather', arguments: '{}' },
		id: '', type: 'function' }, { function: { name: 'get_time',
		arguments: '{}' } }] }, finish_reason: 'stop', index: 0 }],
	created: 1760000000, id: 'r1', model: 'gemini-2.5-flash',
	object: 'chat.completion.chunk' })]);
ev('openrouter-midstream-error', 0, 0, [
	': OPENROUTER PROCESSING',
	ck([{ index: 0, delta: { content: 'partial' }, finish_reason: null }]),
	J({ id: 'gen-1', object: 'chat.completion.chunk', created: 1760000000,
		model: 'x/y', provider: 'p', error: { code: 502,
			message: 'Network connection lost. key ' + OKEY,
			metadata: { error_type: 'provider_unavailable' } },
		choices: [{ index: 0, delta: { content: '' },
			finish_reason: 'error' }] })]);
ev('openai-error-event', 0, 0, [J({ error: { message: 'The server had an ' +
	'error while processing your request.', type: 'server_error',
	param: null, code: null } })]);
ev('google-error-array', 1, 0, ['[' + J({ error: { code: 429,
	message: 'Resource has been exhausted (e.g. check quota).',
	status: 'RESOURCE_EXHAUSTED' } }) + ']']);
ev('finish-error', 0, 0, [ck([{ index: 0, delta: {},
	finish_reason: 'error', native_finish_reason: 'MALFORMED_FUNCTION_CALL' }])]);
ev('continuations', 0, 0, [
	J({ choices: [{ index: 0, delta: { tool_calls: [{ index: 3, id: 'A',
		type: 'function', function: { name: 'f', arguments: '' } }] } }] }),
	J({ choices: [{ index: 0, delta: { tool_calls: [{ index: 5, id: 'B',
		type: 'function', function: { name: 'g', arguments: '' } }] } }] }),
	J({ choices: [{ index: 0, delta: { tool_calls: [{ index: 3,
		function: { arguments: '{"a":1}' } }] } }] }),
	J({ choices: [{ index: 0, delta: { tool_calls: [{
		function: { arguments: 'x' } }] } }] }),
	J({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'A',
		function: { arguments: 'y' } }] } }] }),
	J({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })]);
ev('reasoning-delta', 0, 0, [ck([{ index: 0, delta: { reasoning: 'Need',
	reasoning_details: [{ type: 'reasoning.text', text: 'Need',
		format: 'google-gemini-v1', index: 0 }] }, finish_reason: null,
	native_finish_reason: null }], { provider: 'Google AI Studio' })]);
ev('usage-alone-dropped', 0, 1, [ck([], { usage: { prompt_tokens: 1,
	completion_tokens: 2 } })]);
ev('keywords-in-content', 0, 0, [ck([{ index: 0, delta: {
	content: 'say "error" or "tool_calls": {"usage": {}}' },
	finish_reason: null }]), ck([{ index: 0, delta: {},
	"finish_reason" : 'length' }])]);


// Gemini native (adapter 2): provider-apis.md §3b, 2026 addendum §1.2, §5
const gn = (parts, extra) => J({ candidates: [{ content: { role: 'model',
	parts }, index: 0, ...extra }], usageMetadata: { promptTokenCount: 57,
	totalTokenCount: 57 }, modelVersion: 'gemini-2.5-flash', responseId: 'r1' });
ev('native-text', 2, 0, [gn([{ text: 'It is' }]),
	gn([{ text: ' -3C.' }], { finishReason: 'STOP' })]);
ev('native-thought-call', 2, 4, [
	gn([{ text: '**Locating the city**\nThe user wants', thought: true }]),
	J({ candidates: [{ content: { role: 'model', parts: [{ functionCall: {
		id: 'fc_1', name: 'get_weather', args: { city: 'Oslo' } },
		thoughtSignature: 'CrICAdHt' }] }, finishReason: 'STOP',
		index: 0 }], usageMetadata: { promptTokenCount: 41,
		candidatesTokenCount: 16, thoughtsTokenCount: 88,
		totalTokenCount: 145 }, modelVersion: 'gemini-3-flash-preview',
		responseId: 'r2a' })]);
ev('native-two-calls', 2, 6, [gn([{ functionCall: { name: 'get_weather',
	args: { city: 'Oslo' } }, thoughtSignature: 'c2ln' },
{ functionCall: { name: 'get_time', args: { tz: 'CET' } } }],
{ finishReason: 'STOP' })]);
ev('native-max-tokens', 2, 0, [gn([{ text: '' }], { finishReason: 'MAX_TOKENS' })]);
ev('native-safety', 2, 0, [gn([{ text: 'x' }], { finishReason: 'SAFETY',
	safetyRatings: [{ category: 'HARM_CATEGORY_HARASSMENT',
		probability: 'HIGH' }] })]);
ev('native-blocked', 2, 0, [J({ promptFeedback: { blockReason: 'SAFETY',
	safetyRatings: [] }, usageMetadata: { promptTokenCount: 3 } })]);
ev('native-error', 2, 0, [gn([{ text: 'a' }]), J({ error: { code: 503,
	message: 'The model is overloaded. ' + GKEY, status: 'UNAVAILABLE' } })]);
ev('native-malformed-call', 2, 0, [gn([], {
	finishReason: 'MALFORMED_FUNCTION_CALL' })]);
ev('gemini-signature-uuid-id', 1, 4, [J({ choices: [{ index: 0, delta: {
	role: 'assistant', tool_calls: [{ id: 'function-call-f3b9ecb3-d55f-' +
	'4076-98c8-b13e9d1c0e01', type: 'function', function: {
		name: 'get_weather', arguments: '{"city":"Oslo"}' },
	extra_content: { google: { thought_signature: 'CrICAdHtim82' } } }] } }]
}), J({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })]);

// --- provider_body: "adapter flags" \\n keys \\n body ------------------------------
const bd = (n, prov, body, flags) => add('provider_body', n,
	`${prov} ${flags || 0}\\n${OKEY} ${GKEY}\\n${body}`);
bd('openai-tools', 1, J({ id: 'chatcmpl-7f3a', object: 'chat.completion',
	created: 1760000000, model: 'gemini-2.5-flash', choices: [{ index: 0,
		finish_reason: 'tool_calls', logprobs: null, message: {
			role: 'assistant', content: null, refusal: null,
			tool_calls: [call] } }], usage: { prompt_tokens: 42,
		completion_tokens: 9, total_tokens: 51 } }));
bd('gemini3-stop-after-tools', 1, J({ id: 'x', object: 'chat.completion',
	created: 1790000000, model: 'gemini-3-flash-preview', choices: [{
		index: 0, finish_reason: 'stop', message: { role: 'assistant',
			content: null, tool_calls: [{ id: 'function-call-f3b9ecb3',
				type: 'function', function: { name: 'get_weather',
					arguments: '{"city":"Oslo"}' },
				extra_content: { google: {
					thought_signature: 'CrICAdHtim82' } } }] } }],
	usage: { prompt_tokens: 118, completion_tokens: 235,
		total_tokens: 353 } }));
bd('plain-text', 0, J({ id: 'gen-1760000000-AbC', object: 'chat.completion',
	created: 1760000000, model: 'x/y:free', provider: 'Google AI Studio',
	choices: [{ index: 0, finish_reason: 'stop', native_finish_reason: 'STOP',
		message: { role: 'assistant', content: 'Hi', reasoning: null } }],
	usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6,
		cost: 0, prompt_tokens_details: { cached_tokens: 0 } } }));
bd('openrouter-error-200', 0, J({ choices: [{ message: { role: 'assistant',
	content: 'partial' }, finish_reason: 'error', error: { code: 502,
	message: 'Provider disconnected mid-stream', metadata: {
		error_type: 'provider_unavailable' } } }] }));
bd('top-level-error', 0, J({ error: { code: 402, message: 'Insufficient ' +
	'credits for ' + OKEY }, user_id: 'user_abc' }));
bd('no-usage', 1, J({ choices: [{ index: 0, finish_reason: 'stop',
	message: { role: 'assistant', content: 'x' } }] }));
bd('native-calls', 2, J({ candidates: [{ index: 0, finishReason: 'STOP',
	content: { role: 'model', parts: [{ functionCall: { id: 'fc_7k2q',
		name: 'get_weather', args: { city: 'Oslo' } },
	thoughtSignature: 'CrICAdHtim82' }, { functionCall: { id: 'fc_9x4m',
		name: 'get_weather', args: { city: 'Bergen' } } }] } }],
usageMetadata: { promptTokenCount: 118, candidatesTokenCount: 31,
	thoughtsTokenCount: 204, totalTokenCount: 353 },
modelVersion: 'gemini-3-flash-preview', responseId: 'vQ9bZ' }), 4);
bd('native-text', 2, J({ candidates: [{ index: 0, finishReason: 'STOP',
	content: { role: 'model', parts: [{ text: 'It is -3C in Oslo.' }] },
	safetyRatings: [] }], usageMetadata: { promptTokenCount: 57,
	candidatesTokenCount: 8, thoughtsTokenCount: 21, totalTokenCount: 86,
	cachedContentTokenCount: 0 }, modelVersion: 'gemini-2.5-flash',
responseId: 'mW3abc' }));
bd('native-blocked', 2, J({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } }));
bd('usage-no-total', 0, J({ choices: [], usage: { prompt_tokens: 1e300,
	completion_tokens: -5 } }));

// --- provider_error: "adapter status" \n keys \n body ---------------------------
const er = (n, prov, status, body, keys) => add('provider_error', n,
	`${prov} ${status}\n${keys === undefined ? OKEY + ' ' + GKEY : keys}\n` +
	body);
er('openai-401', 0, 401, J({ error: { message: 'Incorrect API key ' +
	'provided.', type: 'invalid_request_error', param: null,
	code: 'invalid_api_key' } }));
er('openrouter-429', 0, 429, J({ error: { code: 429, message: 'Rate limit ' +
	'exceeded: free-models-per-day.', metadata: { headers: {
		'X-RateLimit-Reset': '1760054400000' }, provider_name: null } },
	user_id: 'user_abc' }));
er('openrouter-provider-raw', 0, 400, J({ error: { code: 400,
	message: 'Provider returned error', metadata: { raw: 'Gemini models ' +
		'require OpenRouter reasoning details to be preserved ' + OKEY,
		provider_name: 'Google AI Studio' } } }));
er('gemini-array-key-echo', 1, 400, '[' + J({ error: { code: 400,
	message: 'API key not valid: ' + GKEY, status: 'INVALID_ARGUMENT',
	details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
		reason: 'API_KEY_INVALID' }] } }) + ']');
er('gemini-signature', 1, 400, '[' + J({ error: { code: 400,
	message: 'Function call is missing a thought_signature in ' +
	'functionCall parts. Additional data, function call ' +
	'`default_api:get_weather` , position 2. please refer to ' +
	'https://ai.google.dev/gemini-api/docs/thought-signatures for more ' +
	'details.', status: 'INVALID_ARGUMENT' } }) + ']');
er('long-message', 0, 500, J({ error: { message: '\u00e9'.repeat(300) +
	GKEY.slice(0, 20), type: 'server_error', param: 'messages[0]',
	code: 'x' } }));
er('escaped-key', 1, 403, J({ error: { message: 'key \\u0041' +
	GKEY.slice(1) + ' blocked', status: 'PERMISSION_DENIED' } })
	.replace('\\\\u0041', '\\u0041'));
er('string-error', 0, 502, J({ error: 'upstream failed' }));
er('not-json', 0, 503, '<html><body>Service Unavailable</body></html>');
er('empty', 0, 504, '', '');
er('native-404', 2, 404, J({ error: { code: 404, message: 'models/x is not ' +
	'found for API version v1beta, or is not supported for ' +
	'generateContent.', status: 'NOT_FOUND' } }));
er('availability', 0, 429, J({ error: { message: 'All providers are at ' +
	'capacity.', error_type: 'rate_limit_exceeded', http_status: 429,
	availability: { code: 'capacity_exhausted', retry_after: 40 } } }));

// --- provider_models: "adapter stop_after" \n body ------------------------------
const md = (n, prov, stop, body) => add('provider_models', n,
	`${prov} ${stop}\n${body}`);
md('openrouter', 0, 0, J({ data: [{ id: 'x/y:free', canonical_slug: 'x/y',
	name: 'X: Y (free)', created: 1733000000, context_length: 131072,
	architecture: { modality: 'text->text', input_modalities: ['text'] },
	pricing: { prompt: '0', completion: '0' }, top_provider: {
		context_length: 131072, is_moderated: false },
	supported_parameters: ['tools', 'tool_choice'] },
{ id: 'openrouter/free', name: 'Free' }] }));
md('gemini', 1, 0, J({ object: 'list', data: [{ id: 'models/gemini-2.5-flash',
	object: 'model', created: 1750000000, owned_by: 'google' },
{ id: 'gemini-3-flash-preview', object: 'model', owned_by: 'google' },
{ id: 'models/', object: 'model' }, { id: '' }, { id: 7 }, 'x', null] }));
md('stop-after-1', 1, 1, J({ data: [{ id: 'a' }, { id: 'b' }] }));
md('not-a-list', 0, 0, J({ error: { code: 401, message: 'No auth' } }));
md('array-root', 1, 0, J([{ data: [{ id: 'a' }] }]));
md('native', 2, 0, J({ models: [{ name: 'models/gemini-2.5-flash',
	version: '001', displayName: 'Gemini 2.5 Flash', inputTokenLimit: 1048576,
	outputTokenLimit: 65536, supportedGenerationMethods: ['generateContent',
		'countTokens'], temperature: 1, thinking: true },
{ name: 'models/gemini-embedding-001', supportedGenerationMethods: [
	'embedContent'] }, { name: 'gemini-x', supportedGenerationMethods: [
	'generateContent'] }], nextPageToken: 'abc' }));
md('native-last-page', 2, 1, J({ models: [{ name: 'models/a',
	supportedGenerationMethods: ['generateContent'] }, { name: 'models/b',
	supportedGenerationMethods: ['generateContent'] }] }));

// --- dialects (issue 10): line 1 "opts max_values", line 2 the client's
// body, then canonical chunks one a line (fuzz_dialect.h) ----------------
const fx = (f) => JSON.parse(fs.readFileSync(path.join(__dirname, '..',
	'fixtures', f), 'utf8'));
const D = (delta, fin) => J({ id: 'chatcmpl-7f3a', object:
	'chat.completion.chunk', created: 1760000000, model: 'gemini-2.5-flash',
	choices: [{ index: 0, delta, finish_reason: fin === undefined ? null :
		fin }] });
const USAGE = J({ id: 'chatcmpl-7f3a', object: 'chat.completion.chunk',
	choices: [], usage: { prompt_tokens: 42, completion_tokens: 17,
		total_tokens: 59, prompt_tokens_details: { cached_tokens: 2,
			cache_write_tokens: 1 },
		completion_tokens_details: { reasoning_tokens: 5 } } });
const TC = (index, id, name, args) => D({ tool_calls: [{ index, id,
	type: 'function', function: { name, arguments: args } }] });
const TA = (index, args) => D({ tool_calls: [{ index, function: {
	arguments: args } }] });
const STREAMS = {
	text: [D({ role: 'assistant', content: '' }), D({ content: 'Hel' }),
		D({ content: 'lo "w" \u00e9\ud83d\ude00' }), D({}, 'stop'), USAGE],
	reasoning: [D({ reasoning: 'Plan: ' }), D({ reasoning_content: 'look.' }),
		D({ content: 'It is -3C.' }), D({}, 'stop'), USAGE],
	tools: [D({ content: 'Let me check.' }),
		TC(0, 'call_a', 'get_weather', ''), TC(1, 'call_b', 'get_time',
			'{"tz"'), TA(0, '{"city":"Oslo"}'), TA(1, ':"CET"}'),
		D({}, 'tool_calls'), USAGE],
	gemini: [D({ tool_calls: [{ id: 'function-call-1', type: 'function',
		function: { name: 'a', arguments: '{}' } }] }),
		D({ tool_calls: [{ function: { name: 'b', arguments: '{"k"' } }] }),
		D({ tool_calls: [{ function: { arguments: ':1}' } }] }),
		D({}, 'stop')],
	custom: [TC(0, 'call_p', 'apply_patch', '{"input":"*** Begin Patch\\n'
		+ '*** End Patch"}'), D({}, 'tool_calls')],
	length: [D({ content: 'cut sh' }), D({}, 'length'), USAGE],
	refusal: [D({ refusal: 'I cannot.' }), D({}, 'content_filter')],
	broken: [D({ content: 'a' }), '{"choices":[{"delta":{"content":"x',
		'not json', '[1,2]', D({ content: 'b' })],
	empty: [],
};
const BODY = J({ id: 'chatcmpl-1', object: 'chat.completion', created:
	1760000000, model: 'gemini-2.5-flash', choices: [{ index: 0, message: {
		role: 'assistant', content: 'Checking.', reasoning: 'Plan.',
		tool_calls: [{ id: 'call_0', type: 'function', function: {
			name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
	finish_reason: 'tool_calls' }], usage: { prompt_tokens: 42,
		completion_tokens: 17, total_tokens: 59 } });
const dlg = (t, n, opts, cap, body, stream) => add(t, n,
	`${opts} ${cap}\n${typeof body === 'string' ? body : J(body)}\n` +
	(stream === undefined ? STREAMS.text : stream).join('\n'));

// Responses
const hi = { model: 'gemini-2.5-flash', input: 'Hello!' };
const fnTool = { type: 'function', name: 'get_weather', description: 'w',
	parameters: { type: 'object', properties: { city: { type: 'string' } } },
	strict: true };
const patchTool = { type: 'custom', name: 'apply_patch', description:
	'Patch files', format: { type: 'grammar', syntax: 'lark',
		definition: 'start: "*** Begin Patch" /(.|\\n)*/ "*** End Patch"' } };
const R = 'dialect_responses';
dlg(R, 'codex', 0, 0, fx('codex_responses.json').body, STREAMS.tools);
dlg(R, 'codex-request', 0, 0, fx('responses/codex_request.json'),
	STREAMS.custom);
dlg(R, 'minimal', 0, 0, hi);
dlg(R, 'empty-answer', 0, 0, { ...hi, stream: true }, STREAMS.empty);
dlg(R, 'reasoning', 0, 0, { ...hi, stream: true, reasoning: { effort:
	'xhigh', summary: 'auto' } }, STREAMS.reasoning);
dlg(R, 'custom-tool', 0, 0, { ...hi, tools: [fnTool, patchTool,
	{ type: 'web_search' }], tool_choice: { type: 'custom',
	name: 'apply_patch' }, parallel_tool_calls: false }, STREAMS.custom);
dlg(R, 'failed', 1, 0, { ...hi, tools: [fnTool] }, STREAMS.tools.slice(0, 4));
dlg(R, 'overloaded', 3, 0, hi, STREAMS.text.slice(0, 2));
dlg(R, 'length', 0, 0, { ...hi, max_output_tokens: 5 }, STREAMS.length);
dlg(R, 'refusal', 0, 0, hi, STREAMS.refusal);
dlg(R, 'broken-chunks', 0, 0, hi, STREAMS.broken);
dlg(R, 'gemini-calls', 0, 0, { ...hi, tools: [fnTool] }, STREAMS.gemini);
dlg(R, 'body', 0, 0, hi, [BODY]);
dlg(R, 'value-cap', 0, 5, hi);
dlg(R, 'history', 0, 0, { model: 'm', instructions: 'Be terse.', input: [
	{ role: 'developer', content: [{ type: 'input_text', text: 'd' }] },
	{ type: 'message', role: 'user', content: [{ type: 'input_text',
		text: 'look' }, { type: 'input_image', image_url:
		'data:image/png;base64,iVBO', detail: 'high' }, { type: 'input_file',
		file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' }] },
	{ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'x' },
	{ type: 'message', role: 'assistant', content: [{ type: 'output_text',
		text: 'Calling.' }] },
	{ type: 'function_call', call_id: 'call_1', name: 'get_weather',
		arguments: '{"city":"Oslo"}' },
	{ type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch',
		input: '*** Begin Patch' },
	{ type: 'function_call_output', call_id: 'call_1', output: [{ type:
		'input_text', text: '-3C' }, { type: 'input_image', image_url:
		'https://x/i.png' }] },
	{ type: 'custom_tool_call_output', call_id: 'call_2', output: 'ok' }],
	tools: [fnTool, patchTool], text: { format: { type: 'json_schema',
		name: 'out', schema: { type: 'object' }, strict: true } },
	temperature: 0.2, top_p: 0.9, user: 'u'.repeat(70), store: false,
	metadata: { a: 'b' }, truncation: 'disabled' });
for (const [n, body] of [
	['bad-item-type', { model: 'm', input: [{ type: 'item_reference',
		id: 'x' }] }],
	['bad-stateful', { ...hi, previous_response_id: 'resp_1' }],
	['bad-file-id', { model: 'm', input: [{ role: 'user', content: [{
		type: 'input_image', file_id: 'f' }] }] }],
	['bad-tool-name', { ...hi, tools: [{ type: 'function', name: 'a b' }] }],
	['bad-choice', { ...hi, tools: [fnTool], tool_choice: { type:
		'function', name: 'nope' } }],
	['bad-output-id', { model: 'm', input: [{ type: 'function_call_output',
		call_id: 'zz', output: 'r' }] }],
	['bad-number', { ...hi, max_output_tokens: 0 }],
	['bad-effort', { ...hi, reasoning: { effort: 'extreme' } }],
	['bad-json', '{"model":"m","input":'],
]) dlg(R, n, 0, 0, body, []);

// Messages (opts 4: count_tokens too)
const M = 'dialect_messages';
const mhi = { model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [
	{ role: 'user', content: 'Hello!' }] };
const tu = (id) => ({ type: 'tool_use', id, name: 'get_weather',
	input: { city: 'Oslo' } });
const tr = (id, content) => ({ type: 'tool_result', tool_use_id: id,
	content });
dlg(M, 'claude-code', 4, 0, fx('claude_code_messages.json').body,
	STREAMS.tools);
dlg(M, 'count-tokens', 4, 0, fx('claude_code_count_tokens.json').body, []);
dlg(M, 'doc-b23', 0, 0, fx('messages/doc_b23_request.json'),
	STREAMS.reasoning);
dlg(M, 'minimal', 4, 0, mhi);
dlg(M, 'stream-empty', 0, 0, { ...mhi, stream: true }, STREAMS.empty);
dlg(M, 'thinking', 0, 0, { ...mhi, stream: true, thinking: { type:
	'enabled', budget_tokens: 4096 } }, STREAMS.reasoning);
dlg(M, 'adaptive', 0, 0, { ...mhi, thinking: { type: 'adaptive' },
	output_config: { effort: 'max' } }, STREAMS.tools);
dlg(M, 'failed', 1, 0, mhi, STREAMS.tools.slice(0, 3));
dlg(M, 'overloaded', 3, 0, mhi, STREAMS.text.slice(0, 2));
dlg(M, 'length', 0, 0, mhi, STREAMS.length);
dlg(M, 'refusal', 0, 0, mhi, STREAMS.refusal);
dlg(M, 'broken-chunks', 0, 0, mhi, STREAMS.broken);
dlg(M, 'gemini-calls', 0, 0, mhi, STREAMS.gemini);
dlg(M, 'body', 0, 0, { ...mhi, thinking: { type: 'enabled',
	budget_tokens: 2048 } }, [BODY]);
dlg(M, 'value-cap', 4, 7, mhi);
dlg(M, 'history', 4, 0, { model: 'm', max_tokens: 5, system: [{ type:
	'text', text: 'a' }, { type: 'text', text: 'b', cache_control: { type:
	'ephemeral' } }], messages: [
	{ role: 'user', content: [{ type: 'text', text: 'look' }, { type:
		'image', source: { type: 'base64', media_type: 'image/png', data:
		'iVBO' } }, { type: 'image', source: { type: 'url', url:
		'https://x/i.png' } }, { type: 'document', source: { type: 'base64',
		media_type: 'application/pdf', data: 'JVBE' }, title: 't' },
	{ type: 'search_result', source: 's', title: 'T', content: [{ type:
		'text', text: 'r1' }] }] },
	{ role: 'assistant', content: [{ type: 'thinking', thinking: 't',
		signature: 's' }, { type: 'text', text: 'x' }, tu('toolu_1'),
	tu('toolu_2')] },
	{ role: 'user', content: [tr('toolu_1', [{ type: 'text', text: 'l1' },
		{ type: 'image', source: { type: 'base64', media_type: 'image/png',
			data: 'iVBO' } }]), { ...tr('toolu_2', 'bad'), is_error: true },
	{ type: 'text', text: 'after' }] }],
	tools: [{ name: 'get_weather', description: 'd', input_schema: { type:
		'object' } }, { type: 'web_search_20250305', name: 'web_search' }],
	tool_choice: { type: 'any', disable_parallel_tool_use: true },
	stop_sequences: ['a', 'b', 'c', 'd', 'e'], temperature: 0.5, top_p: 0.9,
	top_k: 40, metadata: { user_id: 'x'.repeat(80) }, output_config: {
		format: { type: 'json_schema', schema: { type: 'object' } } } });
for (const [n, body] of [
	['bad-max-tokens', { ...mhi, max_tokens: 0 }],
	['bad-role', { ...mhi, messages: [{ role: 'bot', content: 'x' }] }],
	['bad-result-id', { ...mhi, messages: [{ role: 'user', content: [
		tr('nope', 'x')] }] }],
	['bad-block', { ...mhi, messages: [{ role: 'user', content: [{ type:
		'audio' }] }] }],
	['bad-thinking', { ...mhi, thinking: { type: 'enabled' } }],
	['bad-tool-name', { ...mhi, tools: [{ name: 'a b' }] }],
	['bad-json', '{"model":'],
]) dlg(M, n, 4, 0, body, []);

// the engine's chunk reader: line 1 "flags", chunks one a line
const ck2 = (n, flags, lines) => add('dialect_chunk', n,
	`${flags}\n${lines.join('\n')}`);
for (const [n, lines] of Object.entries(STREAMS))
	ck2(n, n === 'reasoning' ? 1 : n === 'custom' ? 4 : 0, lines);
ck2('fail', 3, STREAMS.tools.slice(0, 3));
ck2('body', 1, [BODY]);
ck2('escapes', 0, ['{"choices":[{"delta":{"content":"\\u00e9\\ud83d' +
	'\\ude00\\ud800\\u0041\\n\\t\\"\\\\\\/\\b\\f\\r\\x","refusal":null},' +
	'"finish_reason":null}],"usage":{"prompt_tokens":1.5e3,' +
	'"completion_tokens":-2,"total_tokens":null}}']);
ck2('many-calls', 0, [D({ tool_calls: Array.from({ length: 20 }, (_, i) =>
	({ index: i, id: `c${i}`, function: { name: 'f', arguments: '{}' } })) })]);
ck2('far-index', 0, [TC(5, 'c5', 'f', '{}'), TC(200, 'c200', 'g', '{}')]);

// native_request: line 1 "adapter op model effort", then the body
const nr = (n, hdr, body) => add('native_request', n,
	`${hdr}\n${J(body)}`);
fx('native/request.json').forEach((c, i) => nr(`chat-${String(i)
	.padStart(2, '0')}`, `0 0 ${i % 6} ${i % 7}`, c.in));
fx('native/embed.json').requests.forEach((c, i) => nr(`embed-${i}`,
	`0 1 4 0`, c.in));
nr('openrouter-splice', '1 0 1 0', { model: 'x', stream: true,
	messages: [{ role: 'user', content: 'hi' }] });
nr('compat-effort', '2 0 2 2', { model: 'gemini-2.5-flash',
	reasoning_effort: 'low', messages: [{ role: 'user', content: 'hi' }] });

// native_reply: line 1 "adapter encoding model", then the reply
fx('native/embed.json').replies.forEach((c, i) => add('native_reply',
	`reply-${i}`, `0 ${c.encoding === 'base64' ? 1 : c.encoding ? 0 : 2} ` +
	`${/embedding-001/.test(c.model || '') ? 0 : 2}\n${J(c.in)}`));
add('native_reply', 'short-normalised', `0 1 1\n${J({ embeddings: [
	{ values: [3, 4] }, { values: [] }, { values: [0, 0] }] })}`);

// thoughts: line 1 piece sizes, then the text
add('thoughts', 'summary', '3 5 1\n<thought>Plan: check the weather.' +
	'</thought>It is -3C in Oslo.');
add('thoughts', 'two', '9 10 1\nA<thought>x</thought>B<thought>y</thought>C');
add('thoughts', 'unclosed', '4\n<thought>still thinking \u00e9 </thou');
add('thoughts', 'near-tags', '1\n<though><thought<thought>></thought></t>');

// thoughtsig: line 1 "bypass lookup", then a chat request
const sc = (id, sig) => ({ id, type: 'function', function: { name: 'f',
	arguments: '{}' }, ...(sig ? { extra_content: { google: {
		thought_signature: sig } } } : {}) });
const sA = (...calls) => ({ role: 'assistant', content: null,
	tool_calls: calls });
const sT = (id) => ({ role: 'tool', tool_call_id: id, content: 'r' });
const sU = { role: 'user', content: 'q' };
add('thoughtsig', 'first-call', `0 2\n${J({ model: 'gemini-3-pro-preview',
	messages: [sU, sA(sc('c1'), sc('c2')), sT('c1'), sT('c2')] })}`);
add('thoughtsig', 'bypass-turn', `1 3\n${J({ messages: [sU, sA(sc('c_old')),
	sT('c_old'), sU, sA(sc('c_x')), sT('c_x'), sA(sc('k_known')),
	sT('k_known')] })}`);
add('thoughtsig', 'kept', `1 1\n${J({ messages: [sU, sA(sc('c1', 'CLIENT')),
	sT('c1'), sA({ id: 'z', extra_content: 5 }), sA({ id: 'y',
		extra_content: { google: [1], other: 2 } })] })}`);

// embed: the request body
for (const [n, body] of [
	['string', { model: 'gemini-embedding-001', input: 'What is life?' }],
	['array', { model: 'text-embedding-3-small', input: ['first',
		'se"cond\n'], dimensions: 768, encoding_format: 'base64',
		user: 'u' }],
	['tokens', { model: 'm', input: [[1, 2, 3], [4]], encoding_format: null,
		dimensions: null }],
	['token-ids', { model: 'm', input: [1, 2, 3] }],
	['bad-empty', { model: 'm', input: [] }],
	['bad-dims', { model: 'm', input: 'x', dimensions: 1.5 }],
	['bad-format', { model: 'm', input: 'x', encoding_format: 'hex' }],
	['bad-model', { model: '', input: 'x' }],
]) add('embed', n, J(body));

// listen: line 1 "allow_any", then the spec (tests/unit/test_listen.c)
[['unix', 0, '/run/aiproxy/app.sock'], ['relative', 0, './app.sock'],
	['loopback', 0, '127.0.0.1:9000'], ['localhost', 0, 'localhost:9000'],
	['high-port', 0, '10.1.2.3:65535'], ['any', 1, '0.0.0.0:9000'],
	['any-refused', 0, '0.0.0.0:9000'], ['empty-host', 1, ':9000'],
	['star', 1, '*:9000'], ['ipv6', 0, '[::]:9000'], ['port-0', 0,
		'127.0.0.1:0'], ['port-big', 0, '127.0.0.1:65536'],
	['port-plus', 0, '127.0.0.1:+80'], ['short-ip', 1, '10.1:00443'],
	['hex-ip', 1, '0x7f.1:1'], ['no-port', 0, 'app.sock'],
	['path-107', 0, '/' + 'a'.repeat(106)]].forEach(([n, any, spec]) =>
	add('listen', n, `${any}\n${spec}`));

// --- the ledger's stored records (win.h, ledger_rec.h): little-endian ----
const u8 = (v) => Buffer.from([v & 255]);
const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0);
	return b; };
const i64 = (v) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(v));
	return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v));
	return b; };
const txt = (t) => Buffer.concat([u8(Buffer.byteLength(t)), Buffer.from(t)]);
const cat = (...parts) => Buffer.concat(parts);

// win: 17 bytes (spec bit, now_ms, x, limit), then a stored window:
// kind, 1, u16 n, i64 head, u64 sum[ncol], n x {u16 slot, u32 v[ncol]}
const MIN = { kind: 'm', w: 100, nb: 601, ncol: 2, spec: 0 };
const DAY = { kind: 'd', w: 60000, nb: 1441, ncol: 1, spec: 1 };
function win(s, head, ents, sums) {
	const sum = sums || [0, 1].slice(0, s.ncol).map((c) =>
		ents.reduce((a, e) => a + e[1 + c], 0));
	return cat(Buffer.from(s.kind), u8(1), u16(ents.length), i64(head),
		...sum.map(u64), ...ents.map(([b, ...v]) => cat(
			u16(Number(BigInt(b) % BigInt(s.nb))), ...v.map(u32))));
}
const wseed = (n, s, now, x, limit, rec) => add('win', n,
	cat(u8(s.spec), i64(now), u32(x), u32(limit), rec));
const MH = Math.floor(NOW / 100), DH = Math.floor(NOW / 60000);
const m3 = win(MIN, MH, [[MH - 400, 2, 900], [MH - 5, 1, 50], [MH, 1, 7]]);
wseed('empty-minute', MIN, NOW, 1, 15, Buffer.alloc(0));
wseed('minute-3', MIN, NOW + 30000, 1, 4, m3);
wseed('minute-3-fits', MIN, NOW, 1, 15, m3);
wseed('minute-expire-all', MIN, NOW + 120000, 3, 3, m3);
wseed('minute-clock-behind', MIN, NOW - 5000, 2, 4, m3);
wseed('minute-wrap', MIN, NOW, 5, 6, win(MIN, 601 * 100 + 3,
	[[601 * 100 - 500, 3, 1], [601 * 100 + 1, 2, 2], [601 * 100 + 3, 1,
		4000000000]]));
wseed('minute-full', MIN, NOW + 100, 1, 601, win(MIN, MH,
	Array.from({ length: 601 }, (_, i) => [MH - 600 + i, 1, i])));
wseed('day-2', DAY, NOW + 3600000, 1, 2, win(DAY, DH, [[DH - 1000, 1],
	[DH, 1]]));
wseed('day-near-max-head', DAY, 9e18, 1, 1, win(DAY,
	'9223372036854775807', [['9223372036854775807', 1]]));
wseed('bad-sum', MIN, NOW, 1, 1, win(MIN, MH, [[MH, 1, 1]], [2, 1]));
wseed('bad-order', MIN, NOW, 1, 1, win(MIN, MH, [[MH, 1, 1],
	[MH - 1, 1, 1]]));
wseed('bad-kind', DAY, NOW, 1, 1, m3);
// byte 0 bit 1: the harness writes the totals (mutated entries decode)
add('win', 'fix-sums-minute', cat(u8(2), i64(NOW + 1000), u32(2), u32(3),
	win(MIN, MH, [[MH - 7, 1, 9], [MH - 2, 1, 1]], [0, 0])));
add('win', 'fix-sums-day', cat(u8(3), i64(NOW + 60000000), u32(1), u32(2),
	win(DAY, DH, [[DH - 1440, 1], [DH - 3, 2], [DH, 1]], [0])));

// ledger_rec: byte 0 the kind (0 health, 1 provider, 2 marks, 3 cursor,
// 4 calendar, 5 leases, 6 totals), then the record
const rec = (n, k, data) => add('ledger_rec', n, cat(u8(k), data));
rec('health-active', 0, cat(Buffer.from('h'), u8(1), u8(0), u8(0), u32(0),
	i64(0), i64(0), i64(0), u64(120), u64(45000), u64(3), txt('')));
rec('health-cooling', 0, cat(Buffer.from('h'), u8(1), u8(1), u8(1), u32(2),
	i64(NOW + 60000), i64(0), i64(0), u64(1), u64(2), u64(3),
	txt('429 quota (requests per day)')));
rec('health-disabled', 0, cat(Buffer.from('h'), u8(1), u8(2), u8(0), u32(9),
	i64(0), i64(NOW + 3600000), i64(NOW + 30000), u64(0), u64(0), u64(7),
	txt('401: API key not valid. Please pass a valid API key. é')));
rec('health-bad-state', 0, cat(Buffer.from('h'), u8(1), u8(3), u8(0),
	Buffer.alloc(52), txt('')));
rec('provider', 1, cat(Buffer.from('p'), u8(1), u8(3), u8(0), u32(4),
	i64(NOW + 5000), ...Array.from({ length: 16 }, (_, i) =>
		cat(i64(i < 3 ? NOW - 1000 * i : 0), u32(i))),
	txt('429 without a hint')));
rec('marks-2', 2, cat(Buffer.from('e'), u8(1), u8(2), i64(NOW + 86400000),
	txt('gemini-2.5-pro'), i64(NOW + 3600000), txt('gemini-3-pro-preview')));
rec('marks-0', 2, cat(Buffer.from('e'), u8(1), u8(0)));
rec('marks-bad-n', 2, cat(Buffer.from('e'), u8(1), u8(9)));
rec('cursor', 3, u32(7));
rec('cursor-short', 3, Buffer.from([7, 0, 0]));
rec('calendar', 4, cat(Buffer.from('c'), u8(1), i64(NOW - 3600000), u64(42)));
rec('leases-2', 5, cat(Buffer.from('l'), u8(1), u16(2),
	u64('9007199254740991'), i64(NOW + 30000), u64(1), i64(NOW + 1000)));
rec('leases-0', 5, cat(Buffer.from('l'), u8(1), u16(0)));
rec('leases-bad-n', 5, cat(Buffer.from('l'), u8(1), u16(1001)));
rec('totals', 6, cat(Buffer.from('t'), u8(1), u64(1234), u64(567890)));
rec('totals-v2', 6, cat(Buffer.from('t'), u8(2), u64(1), u64(2)));
rec('empty', 0, Buffer.alloc(0));

// redisurl: the URL (tests/unit/test_rec.c)
['redis://host', 'redis://cache.example-1.net:6380', 'redis://host/5',
	'redis://host/', 'redis://10.0.0.7:1/1000000', 'redis://h:65535/0',
	'redis://[::1]:6380', 'redis://[fe80::1:AbC]/3',
	'unix:///run/redis.sock', 'unix:///path?db=3',
	'unix:///' + 'a'.repeat(106), 'redis://' + 'h'.repeat(255),
	'redis://user:hunter2@host', 'redis://:pw@host:6379', 'redis://',
	'redis://[]:6379', 'redis://ho_st', 'redis://[::1]6379',
	'redis://host:65536', 'redis://host:1:2', 'redis://host/1000001',
	'redis://host?db=1', 'redis://host#x', 'unix://relative/path',
	'unix:///with space', 'unix:///p?db=1&x', 'http://host', '',
].forEach((u, i) => add('redisurl', `url-${i}`, u));

// --- write --------------------------------------------------------------
for (const [target, list] of Object.entries(seeds)) {
	const dir = path.join(root, target);
	fs.rmSync(dir, { recursive: true, force: true });
	fs.mkdirSync(dir, { recursive: true });
	for (const [name, data] of list)
		fs.writeFileSync(path.join(dir, name), data);
	console.log(`${target}: ${list.length} seeds`);
}
