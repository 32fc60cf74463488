'use strict';
// harness.js -- processes and HTTP helpers for the integration tests:
// the mock upstream, lighttpd spawning the proxy, and clients that record
// arrival times. Every wait is bounded; every process started is stopped.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const ACCESS_KEY = 'px-test-access-key-7f3a9c';
// Distinctive provider keys: the leak check greps every response and log.
const KEYS = {
  openrouter: ['sk-or-v1-testkey-AAAA1111', 'sk-or-v1-testkey-BBBB2222'],
  gemini: ['AIzaTestKeyGemini-CCCC3333', 'AIzaTestKeyGemini-DDDD4444'],
};
const children = new Set();
const captured = [];	// every response body the tests saw

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function tmpdir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `aiproxy-${tag}-`));
}

function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch (e) { /* retry */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

// --- HTTP clients ---------------------------------------------------------

// One request; resolves {status, headers, body, json}. body may be a string,
// a Buffer or an object (sent as JSON).
function request(port, method, urlPath, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (opts.auth !== false && !('authorization' in headers))
    headers.authorization = `Bearer ${opts.key || ACCESS_KEY}`;
  let body = opts.body;
  if (body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string')
    body = JSON.stringify(body);
  if (body !== undefined) {
    headers['content-type'] = headers['content-type'] || 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const rq = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers,
      agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (opts.capture !== false) captured.push(text);
        let json = null;
        try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
      res.on('error', reject);
    });
    rq.setTimeout(opts.timeoutMs || 20000, () => rq.destroy(new Error('client timeout')));
    rq.on('error', reject);
    if (body !== undefined) rq.write(body);
    rq.end();
  });
}

// A streamed chat: resolves {status, headers, events:[{data, json, t}], comments,
// raw, tEnd}. t is ms since the request started (and `t0` absolute epoch ms).
// opts.abortAfter: destroy the connection after that many events. opts.holdMs:
// read nothing for that long once the head is in (out.resumedAt: when reading
// began again).
function stream(port, urlPath, body, opts = {}) {
  const payload = JSON.stringify(body);
  const headers = { authorization: `Bearer ${opts.key || ACCESS_KEY}`,
    'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const out = { status: 0, headers: {}, events: [], comments: [], raw: '', t0, tEnd: 0 };
    let buf = '';
    const rq = http.request({ host: '127.0.0.1', port, method: 'POST', path: urlPath,
      headers, agent: false }, (res) => {
      out.status = res.statusCode;
      out.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (c) => {
        const now = Date.now();
        out.raw += c;
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) out.comments.push({ text: line.slice(1), t: now - t0 });
            else if (line.startsWith('data: ')) {
              const data = line.slice(6);
              let json = null;
              try { json = JSON.parse(data); } catch (e) { /* [DONE] */ }
              out.events.push({ data, json, t: now - t0, at: now });
            }
          }
          if (opts.abortAfter && out.events.length >= opts.abortAfter) {
            out.aborted = true;
            rq.destroy();
            captured.push(out.raw);
            resolve(out);
            return;
          }
        }
      });
      res.on('end', () => { out.tEnd = Date.now() - t0; captured.push(out.raw); resolve(out); });
      if (opts.holdMs) {	// a client that stops reading after the head
        res.pause();
        setTimeout(() => { out.resumedAt = Date.now(); res.resume(); }, opts.holdMs);
      }
      res.on('error', (e) => (out.aborted ? null : reject(e)));
    });
    rq.setTimeout(opts.timeoutMs || 20000, () => rq.destroy(new Error('client timeout')));
    rq.on('error', (e) => (out.aborted ? null : reject(e)));
    rq.write(payload);
    rq.end();
  });
}

// --- the mock upstream ----------------------------------------------------

// opts.env: extra variables for a mock of the test's own (MOCK_PAUSE_MS:
// the silence of the "pause" scenario).
async function startMock(opts = {}) {
  const dir = tmpdir('mock');
  const portfile = path.join(dir, 'port');
  const spawnOpts = { stdio: ['ignore', 'ignore', 'inherit'] };
  if (opts.env) spawnOpts.env = Object.assign({}, process.env, opts.env);
  const proc = track(spawn(process.execPath, [path.join(ROOT, 'tests/mock/upstream.js'),
    '--port', '0', '--portfile', portfile], spawnOpts));
  const port = await waitFor(() => {
    const t = fs.existsSync(portfile) && fs.readFileSync(portfile, 'utf8').trim();
    return t ? Number(t) : 0;
  }, 10000, 'mock upstream');
  // control calls are not proxy responses: keep them out of the leak check
  const ctl = (method, p, body) => request(port, method, p, { auth: false, body, capture: false });
  return {
    port, proc,
    url: (flavour) => `http://127.0.0.1:${port}/${flavour}`,
    async requests() { return (await ctl('GET', '/_mock/requests')).json; },
    async reset() { await ctl('POST', '/_mock/reset', {}); },
    async config(c) { await ctl('POST', '/_mock/config', c); },
    async faults(rules) { await ctl('POST', '/_mock/faults', rules); },
    async stop() { proc.kill('SIGTERM'); await waitFor(() => proc.exitCode !== null || proc.signalCode, 5000, 'mock exit'); },
  };
}

// --- lighttpd + proxy -----------------------------------------------------

function baseConfig(mock, extra = {}) {
  return Object.assign({
    access_key: ACCESS_KEY,
    model_usage_gap_percentage: 5,
    'auto-models': ['openai/mock-echo', 'gemini-mock-text'],
    // limits high enough that only the ledger tests (own configs) hit them
    provider_keys: [
      { provider: 'openrouter', key: KEYS.openrouter, max_request_day: 100000,
        max_token_min: 100000000, max_request_min: 10000, base_url: mock.url('openrouter') },
      { provider: 'gemini', key: KEYS.gemini, max_request_day: 100000,
        max_token_min: 100000000, max_request_min: 10000, base_url: mock.url('gemini') },
    ],
    max_body_bytes: 65536,
    first_byte_timeout_ms: 2000,
    idle_timeout_ms: 2000,
    models_cache_s: 2,
  }, extra);
}

// Start lighttpd spawning `bin` (bin-path) with config object cfg.
async function startProxy(bin, cfg, opts = {}) {
  const tmp = tmpdir('proxy');
  const port = await freePort();
  fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(cfg, null, 2));
  // opts.env: extra variables for lighttpd, which hands its whole
  // environment to the responders it spawns (test knobs such as
  // AIPROXY_TEST_CLOCK_OFFSET_MS); a value of null drops one.
  const env = Object.assign({}, process.env, opts.env || {}, {
    PX_PORT: String(port), PX_TMP: tmp, PX_BIN: path.resolve(bin),
    PX_PROCS: String(opts.procs || 1), PX_THREADS: String(opts.threads || 32),
    PX_ASAN_OPTIONS: `log_path=${tmp}/asan:detect_leaks=1`,
    PX_UBSAN_OPTIONS: `log_path=${tmp}/ubsan:print_stacktrace=1`,
  });
  for (const [k, v] of Object.entries(opts.env || {})) if (v === null) delete env[k];
  const conf = opts.conf || path.join(ROOT, 'tests/integ/lighttpd.conf');
  // lighttpd -D keeps its stderr, which the spawned responders inherit:
  // their request log lines land in this file.
  const errfd = fs.openSync(path.join(tmp, 'stderr.log'), 'a');
  const proc = track(spawn('lighttpd', ['-D', '-f', conf], { env, stdio: ['ignore', errfd, errfd] }));
  fs.closeSync(errfd);
  await waitFor(() => portOpen(port), 10000, 'lighttpd');
  return {
    port, tmp, proc,
    errorLog() {
      return ['lighttpd-error.log', 'stderr.log'].map((n) => path.join(tmp, n))
        .filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8')).join('');
    },
    sanitizerReports() {
      return fs.readdirSync(tmp).filter((f) => /^(asan|ubsan)\./.test(f))
        .map((f) => fs.readFileSync(path.join(tmp, f), 'utf8'));
    },
    async stop() {
      if (proc.exitCode === null && !proc.signalCode) {
        proc.kill('SIGTERM');
        await waitFor(() => proc.exitCode !== null || proc.signalCode, 15000, 'lighttpd exit');
      }
      // spawned responders must have exited too (clean SIGTERM handling)
      await waitFor(() => !responderAlive(bin, tmp), 15000, 'responders exit');
    },
  };
}

// Pids of the responders spawned for this tmp dir.
function responderPids(bin, tmp) {
  const r = spawnSync('pgrep', ['-f', path.resolve(bin)], { encoding: 'utf8' });
  const out = [];
  for (const pid of r.stdout.split('\n').filter(Boolean)) {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (env.includes(`AIPROXY_CONFIG=${tmp}/`)) out.push(Number(pid));
    } catch (e) { /* gone */ }
  }
  return out;
}

// Is a responder spawned for this tmp dir still running?
function responderAlive(bin, tmp) {
  return responderPids(bin, tmp).length > 0;
}

// The responder (of those spawned for tmp) whose TCP socket has local
// port `port` (a mock entry's remote_port: the upstream connection of one
// request), or 0. Reads /proc/net/tcp{,6} and the responders' fds.
function socketOwner(bin, tmp, port) {
  const inodes = new Set();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(f, 'utf8'); } catch (e) { continue; }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10) continue;
      if (parseInt(c[1].split(':')[1], 16) === port) inodes.add(c[9]);
    }
  }
  for (const pid of responderPids(bin, tmp)) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch (e) { continue; }
    for (const fd of fds) {
      let l = '';
      try { l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch (e) { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(l);
      if (m && inodes.has(m[1])) return pid;
    }
  }
  return 0;
}

// --- what reached the upstream --------------------------------------------

// Most requests in flight at once at the upstream: entries with t (arrival)
// and ended_at (null: still in flight, counted to the end). An end at the
// same ms as an arrival counts first.
function maxInFlight(entries) {
  const ev = [];
  for (const q of entries) {
    ev.push([q.t, 1]);
    ev.push([q.ended_at === null || q.ended_at === undefined ? Infinity : q.ended_at, -1]);
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let best = 0;
  for (const [, d] of ev) { n += d; best = Math.max(best, n); }
  return best;
}

// Largest number of requests to one key inside any window of `ms`: times
// are arrival times (ms); with weights, the largest sum of weights (tokens).
function maxInWindow(times, ms, weights) {
  const idx = times.map((t, i) => i).sort((a, b) => times[a] - times[b]);
  const w = (i) => (weights ? weights[idx[i]] : 1);
  let best = 0;
  let sum = 0;
  for (let i = 0, j = 0; i < idx.length; i++) {
    sum += w(i);
    while (times[idx[i]] - times[idx[j]] >= ms) sum -= w(j++);
    best = Math.max(best, sum);
  }
  return best;
}

// A provider key's short id as /v1/usage and the ledger name it
// (config.c px_key_id: FNV-1a 64 over a domain and the key, folded to 32
// bits, 8 hex digits). Never the key itself.
function keyId(secret) {
  const M = (1n << 64n) - 1n;
  let x = 0xcbf29ce484222325n;
  for (const b of Buffer.from(`aiproxy-key-id:${secret}`)) x = ((x ^ BigInt(b)) * 0x100000001b3n) & M;
  return ((x ^ (x >> 32n)) & 0xffffffffn).toString(16).padStart(8, '0');
}

// --- redis-server -----------------------------------------------------------

// One RESP reply from buf at i: {value, end}, or null while incomplete.
// Bulk strings stay Buffers (ledger records are binary); errors are Errors.
function respParse(buf, i) {
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString('utf8', i + 1, eol);
  const next = eol + 2;
  if (type === '+') return { value: line, end: next };
  if (type === '-') return { value: new Error(line), end: next };
  if (type === ':') return { value: Number(line), end: next };
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, end: next };
    if (buf.length < next + n + 2) return null;
    return { value: buf.subarray(next, next + n), end: next + n + 2 };
  }
  if (type === '*') {
    const n = Number(line);
    if (n < 0) return { value: null, end: next };
    const out = [];
    let at = next;
    for (let k = 0; k < n; k++) {
      const r = respParse(buf, at);
      if (!r) return null;
      out.push(r.value);
      at = r.end;
    }
    return { value: out, end: at };
  }
  throw new Error(`RESP: unexpected type byte ${buf[i]}`);
}

// A tiny Redis client on 127.0.0.1:port (no npm dependencies): resolves
// {cmd(...args) -> reply, close()}; every command times out after opts.timeoutMs.
function redisClient(port, opts = {}) {
  const timeoutMs = opts.timeoutMs || 2000;
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const pending = [];
    let buf = Buffer.alloc(0);
    const failAll = (e) => { for (const p of pending.splice(0)) p.reject(e); };
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error('redis client timeout')));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = respParse(buf, 0);
        if (!r) break;
        buf = buf.subarray(r.end);
        const p = pending.shift();
        if (p) (r.value instanceof Error ? p.reject(r.value) : p.resolve(r.value));
      }
    });
    sock.on('error', (e) => { failAll(e); reject(e); });
    sock.on('close', () => failAll(new Error('redis connection closed')));
    sock.on('connect', () => resolve({
      cmd(...args) {
        const parts = [`*${args.length}\r\n`];
        for (const a of args) {
          const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
          parts.push(`$${b.length}\r\n`, b, '\r\n');
        }
        return new Promise((res, rej) => {
          pending.push({ resolve: res, reject: rej });
          sock.write(Buffer.concat(parts.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x)))));
        });
      },
      close() { sock.destroy(); },
    }));
  });
}

// One command on a fresh connection.
async function redisCmd(port, ...args) {
  const c = await redisClient(port);
  try { return await c.cmd(...args); } finally { c.close(); }
}

// A redis-server of the test's own on 127.0.0.1 (a free port unless
// opts.port: a restart on the same port; opts.args: more settings, e.g.
// ['--timeout', '1']; opts.password: its requirepass, which the readiness
// check needs), without persistence, waited for
// with a bounded PING loop. Resolves {port, url, pid, proc, dir, stop(),
// kill(sig), signal(sig)}: by PID (stop: SIGTERM, then SIGKILL), never by
// name.
async function startRedis(opts = {}) {
  const port = opts.port || await freePort();
  const dir = opts.dir || tmpdir('redis');
  const proc = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir,
    '--logfile', path.join(dir, 'redis.log'), ...(opts.password ? ['--requirepass', opts.password] : []),
    ...(opts.args || [])], { stdio: 'ignore' }));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const r = {
    port, dir, proc, pid: proc.pid, url: `redis://127.0.0.1:${port}`,
    alive() { return proc.exitCode === null && !proc.signalCode; },
    signal(sig) { if (r.alive()) process.kill(proc.pid, sig); },	// SIGSTOP, SIGCONT
    async kill(sig) {	// and wait for the exit
      if (r.alive()) process.kill(proc.pid, sig);
      await Promise.race([exited, sleep(5000)]);
      if (r.alive()) throw new Error(`redis-server ${proc.pid} did not exit on ${sig}`);
    },
    async stop() {
      if (!r.alive()) return;
      process.kill(proc.pid, 'SIGCONT');	// in case a test stopped it
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (r.alive()) await r.kill('SIGKILL');
    },
  };
  try {
    await waitFor(async () => {
      if (!r.alive()) return false;
      const c = await redisClient(port);
      try {
        if (opts.password) await c.cmd('AUTH', opts.password);
        return (await c.cmd('PING')) === 'PONG';
      } finally { c.close(); }
    }, 5000, `redis-server on port ${port}`);
  } catch (e) { await r.stop(); throw e; }
  return r;
}

async function stopRedis(r) { if (r) await r.stop(); }

// --- plain CGI -------------------------------------------------------------

function writeConfig(cfg) {
  const dir = tmpdir('cfg');
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  return file;
}

// Run bin once as CGI. opts: args (argv words, as Apache passes a query
// without '='), env (extra or overriding variables; a value of null drops
// one), input (raw body; default JSON of body), timeout.
function cgi(bin, cfgFile, method, uri, body, key = ACCESS_KEY, opts = {}) {
  const input = opts.input !== undefined ? opts.input :
    body === undefined ? '' : JSON.stringify(body);
  const env = { PATH: process.env.PATH, AIPROXY_CONFIG: cfgFile, GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: method, REQUEST_URI: uri, SCRIPT_NAME: uri, HTTP_AUTHORIZATION: `Bearer ${key}`,
    CONTENT_LENGTH: String(Buffer.byteLength(input)), CONTENT_TYPE: 'application/json',
    ASAN_OPTIONS: 'detect_leaks=1' };
  for (const [k, v] of Object.entries(opts.env || {})) {
    if (v === null) delete env[k]; else env[k] = v;
  }
  const r = spawnSync(bin, opts.args || [], { input, encoding: 'utf8', timeout: opts.timeout || 20000, env });
  const out = r.stdout || '';
  const sep = out.indexOf('\r\n\r\n');
  const head = out.slice(0, sep);
  const text = out.slice(sep + 4);
  captured.push(text, r.stderr || '');
  return { rc: r.status, head, body: text, stderr: r.stderr || '', error: r.error };
}

function killAll() {
  for (const p of children) { try { p.kill('SIGKILL'); } catch (e) { /* gone */ } }
}

module.exports = { ROOT, ACCESS_KEY, KEYS, sleep, tmpdir, waitFor, freePort, portOpen,
  request, stream, startMock, startProxy, baseConfig, track, killAll, captured, writeConfig, cgi,
  responderPids, maxInWindow, keyId, redisClient, redisCmd, startRedis, stopRedis,
  socketOwner, maxInFlight };
