'use strict';
// checks.js -- what every deploy recipe must show through its web server:
// the Authorization header reaches the app, a chat works, a stream arrives
// incrementally, a client hang-up closes the upstream connection, and 16
// streams run at once. Recipes that cannot stream (a default mod_fcgid)
// get the correctness-only variants at the end.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../integ/harness');
const L = require('./lib');

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

// --- the usage page and /metrics (issue 14) -------------------------------
// The proxy answers {prefix}/usage, /usage.js, /usage.css and
// {prefix}/metrics outside /v1/, so a recipe must mount those paths too.
// A recipe with a prefix of its own (r.prefix) also gives it {prefix}/;
// one mounted at the site root leaves the site's "/" alone.

function header(res, name) { return res.headers[name] || ''; }

// The page's own headers: only what page.c sends carries this policy.
function assertPage(res, url, ctype) {
  assert.equal(res.status, 200, `GET ${url}: ${res.status} ${res.body.slice(0, 200)}`);
  assert.match(header(res, 'content-type'), ctype, `GET ${url}: Content-Type`);
  const csp = header(res, 'content-security-policy');
  assert.match(csp, /default-src 'none'/, `GET ${url}: Content-Security-Policy "${csp}"`);
  assert.match(csp, /script-src 'self'/, `GET ${url}: Content-Security-Policy "${csp}"`);
  assert.equal(header(res, 'x-content-type-options'), 'nosniff', `GET ${url}: nosniff`);
}

// GET {prefix}/usage (no key: the page holds no data) is the page, and so
// is {prefix}/ when the recipe has a prefix; at the site root, "/" is
// not the proxy's, and neither is a neighbour such as {prefix}/usage.txt.
// The page's relative links resolve through the recipe: v1/usage (its
// data, with the key) from where it was served.
async function usagePage(r) {
  const url = `${r.prefix}/usage`;
  const res = await h.request(r.port, 'GET', url, { auth: false });
  assertPage(res, url, /^text\/html/);
  assert.match(res.body, /<script src="usage\.js"/, `GET ${url}: the page's HTML`);
  const data = new URL('v1/usage', `http://127.0.0.1${url}`).pathname;
  const u = await h.request(r.port, 'GET', data);
  assert.equal(u.status, 200, `GET ${data} (the page's fetch): ${u.body.slice(0, 200)}`);
  assert.ok(u.json && u.json.details, `GET ${data}: the usage document`);
  const other = `${r.prefix}/usage.txt`;	// a neighbour of the site's: not mounted
  const o = await h.request(r.port, 'GET', other, { auth: false });
  assert.ok(!header(o, 'content-security-policy').includes("default-src 'none'"),
    `GET ${other} answered by the proxy (${o.status}): the recipe mounts more than the page's paths`);
  for (const alt of r.altPrefixes || [])	// e.g. /ai/aiproxy.cgi: no mod_rewrite
    assertPage(await h.request(r.port, 'GET', `${alt}/usage`, { auth: false }), `${alt}/usage`, /^text\/html/);
  const root = await h.request(r.port, 'GET', `${r.prefix}/`, { auth: false });
  if (r.prefix) {
    assertPage(root, `${r.prefix}/`, /^text\/html/);
    return `${url} and ${r.prefix}/ are the page`;
  }
  assert.ok(!header(root, 'content-security-policy').includes("default-src 'none'") &&
    !root.body.includes('usage.js'), `GET / answered by the proxy (${root.status}): the site's root hijacked`);
  return `${url} is the page; GET / stays the site's (${root.status})`;
}

async function usageAssets(r) {
  const js = `${r.prefix}/usage.js`;
  assertPage(await h.request(r.port, 'GET', js, { auth: false }), js,
    /^(text|application)\/javascript/);
  const css = `${r.prefix}/usage.css`;
  assertPage(await h.request(r.port, 'GET', css, { auth: false }), css, /^text\/css/);
}

// {prefix}/metrics: the proxy's 401 without a key (and with a wrong one),
// the Prometheus text format with the access key.
async function metrics(r) {
  const url = `${r.prefix}/metrics`;
  for (const opts of [{ auth: false }, { key: 'wrong-key' }]) {
    const res = await h.request(r.port, 'GET', url, opts);
    assert.equal(res.status, 401, `GET ${url} ${opts.key ? 'with a wrong key' : 'without a key'}: ` +
      `${res.status} ${res.body.slice(0, 200)}`);
    assert.equal(res.json && res.json.error && res.json.error.code, 'invalid_api_key',
      `GET ${url}: the 401 comes from the proxy`);
  }
  const res = await h.request(r.port, 'GET', url);
  assert.equal(res.status, 200, `GET ${url} with the key: ${res.body.slice(0, 200)}`);
  assert.match(header(res, 'content-type'), /^text\/plain; version=0\.0\.4/, `GET ${url}: Content-Type`);
  assert.match(res.body, /^# TYPE aiproxy_requests_total counter$/m, `GET ${url}: aiproxy_requests_total`);
}

const PAGE = [
  ['GET {prefix}/usage (no key): 200 text/html with the Content-Security-Policy; {prefix}/ too with a ' +
    'prefix of its own, the site\'s "/" untouched at the site root; the page\'s v1/usage resolves', usagePage],
  ['GET {prefix}/usage.js and /usage.css: 200 JavaScript and CSS, with the Content-Security-Policy',
    usageAssets],
  ['GET {prefix}/metrics: the proxy\'s 401 without a key or with a wrong one, 200 ' +
    'text/plain; version=0.0.4 with aiproxy_requests_total with the access key', metrics],
];

// --- a query string is never a command line (issue 9, H1) --------------
// Apache's mod_cgi and mod_cgid run a CGI whose query string holds no "="
// with that query as argv words split on "+" (RFC 3875 4.4). Pointed at
// the binary, /v1/models?--listen+PATH made it unlink PATH and serve a
// FastCGI pool there, without any key. These checks send such queries and
// look for the damage: PATH replaced, a new listening socket of this
// recipe's binary, an answer that differs from the same request without
// the query (401: no key is sent).

// Listening sockets now: inode -> "tcp 0100007F:1F90" / "unix /path".
function listeners() {
  const out = new Map();
  for (const f of ['tcp', 'tcp6']) {
    let text = '';
    try { text = fs.readFileSync(`/proc/net/${f}`, 'utf8'); } catch (e) { continue; }
    for (const line of text.split('\n').slice(1)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      const c = line.trim().split(/\s+/);
      if (c.length >= 10 && c[3] === '0A') out.set(c[9], `${f} ${c[1]}`);
    }
  }
  for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode [Path]; listening: __SO_ACCEPTCON
    const c = line.trim().split(/\s+/);
    if (c.length >= 7 && (parseInt(c[3], 16) & 0x10000)) out.set(c[6], `unix ${c[7] || '(unnamed)'}`);
  }
  return out;
}

// Listening sockets that appeared since `before` and belong to this
// recipe: held by a process of its binary, or a unix path in its tree.
// (Sockets of anything else on the machine are not this test's business.)
function newListeners(env, before) {
  const holders = new Map();	// inode -> [pid]
  for (const pid of env.responders()) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch (e) { continue; }
    for (const fd of fds) {
      let l = '';
      try { l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch (e) { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(l);
      if (m) holders.set(m[1], [...(holders.get(m[1]) || []), pid]);
    }
  }
  const found = [];
  for (const [ino, what] of listeners()) {
    if (before.has(ino)) continue;
    const pids = holders.get(ino) || [];
    if (pids.length || what.startsWith(`unix ${env.tmp}/`)) found.push({ what, pids });
  }
  return found;
}

// A regular file the web server's user could delete (its directory is
// that user's), as the ledger's lock file is.
function victim(env, tag) {
  const dir = L.mkdir(env.path('victim'), 0o755, L.RUN_AS);
  const file = path.join(dir, `${tag}.mdb`);
  const content = `not a socket: ${tag} ${process.hrtime.bigint()}\n`;
  fs.writeFileSync(file, content, { mode: 0o600 });
  L.chown(file, L.RUN_AS.uid, L.RUN_AS.gid);
  return { file, content };
}

// GET {prefix}ROUTE?QUERY without a key (ROUTE /v1/models: a 401): the
// same answer as without the query (`want`), no new listener of this
// recipe, and whatever `intact` says. A listener that did appear is
// stopped here, by PID.
async function queryIsNotArgv(r, env, query, intact, route = '/v1/models', want = 401) {
  const plain = await h.request(r.port, 'GET', `${r.prefix}${route}`, { auth: false });
  assert.equal(plain.status, want, `without the query: ${plain.body.slice(0, 200)}`);
  const before = listeners();
  const url = `${r.prefix}${route}?${query}`;
  const res = await h.request(r.port, 'GET', url, { auth: false, timeoutMs: 4000 })
    .catch((e) => ({ error: e }));
  await h.sleep(300);
  const rogue = newListeners(env, before);
  const bad = await intact();	// before the rogue listeners are stopped
  for (const x of rogue) for (const pid of x.pids) try { process.kill(pid, 'SIGKILL'); } catch (e) { /* gone */ }
  if (rogue.length) bad.push(`new listener(s): ${rogue.map((x) => `${x.what} (pids ${x.pids.join(',') || '-'})`).join('; ')}`);
  if (res.error) bad.push(`no answer: ${res.error.message}`);
  else {
    if (res.status !== plain.status) bad.push(`status ${res.status}, without the query ${plain.status}: ${res.body.slice(0, 200)}`);
    const code = (x) => x.json && x.json.error && x.json.error.code;
    if (code(res) !== code(plain)) bad.push(`error code ${code(res)}, without the query ${code(plain)}`);
  }
  if (bad.length) throw new Error(`GET ${url}: ${bad.join('; ')}`);
}

function fileIntact(v) {
  return async () => {
    let st;
    try { st = fs.lstatSync(v.file); } catch (e) { return [`${v.file} is gone`]; }
    if (!st.isFile()) return [`${v.file} is no longer a regular file (mode ${st.mode.toString(8)})`];
    return fs.readFileSync(v.file, 'utf8') === v.content ? [] : [`${v.file} was rewritten`];
  };
}

async function queryListenPath(r, mock, env) {
  const v = victim(env, 'listen-path');
  await queryIsNotArgv(r, env, `--listen+${v.file}`, fileIntact(v));
}

async function queryListenPort(r, mock, env) {
  const port = await h.freePort();
  await queryIsNotArgv(r, env, `--listen+127.0.0.1:${port}+--workers+1`,
    async () => ((await h.portOpen(port)) ? [`something listens on 127.0.0.1:${port}`] : []));
}

// The page's and the metrics' mounts run the same entry point as /v1/:
// no argv there either (the page: 200 with and without the query).
async function queryListenPathPage(r, mock, env) {
  for (const [route, want] of [['/usage', 200], ['/metrics', 401]]) {
    const v = victim(env, `listen-path${route.replace('/', '-')}`);
    await queryIsNotArgv(r, env, `--listen+${v.file}`, fileIntact(v), route, want);
  }
}

// Through the CGI recipes of Apache (a wrapper between server and binary).
const QUERY_ARGV = [
  ['?--listen+PATH (Apache makes argv of it): PATH intact, no new listener, the same 401 as without it',
    queryListenPath],
  ['?--listen+127.0.0.1:PORT+--workers+1: nothing listens on PORT, no new listener, the same 401',
    queryListenPort],
  ['{prefix}/usage?--listen+PATH and {prefix}/metrics?--listen+PATH: PATH intact, no new listener, ' +
    'the same 200 and 401 as without the query', queryListenPathPage],
];

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

module.exports = { STREAMING, BUFFERED, QUERY_ARGV, PAGE, CHAT, chat, queryListenPath, usagePage,
  usageAssets, metrics };
