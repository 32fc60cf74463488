'use strict';
// twohosts.js -- deploy/two-hosts/: two front-end hosts sharing one Redis.
// The Redis host is a redis-server started from two-hosts/redis.conf (only
// its port, private address and password changed), in its own temp dir.
// Each front end is the spawned-lighttpd recipe (lighttpd/aiproxy-spawned.conf)
// in its own temp tree (L.Env: binary, config, state_dir, logs), with a
// config.json made from two-hosts/config.host.json (the test's key and the
// mock upstream in place of the placeholders), and AIPROXY_REDIS_PASSWORD in
// lighttpd's environment, as a systemd EnvironmentFile would put it there.
// Everything on free 127.0.0.1 ports; every wait bounded; redis-server
// stopped by PID.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const h = require('../integ/harness');
const L = require('./lib');
const R = require('./recipes');
const C = require('./checks');

const PW_VAR = 'AIPROXY_REDIS_PASSWORD';
const RPM = 3;	// max_request_min of the one key both hosts share
const CHAT = '/v1/chat/completions';

// The Redis host: redis-server in the foreground from the templated
// two-hosts/redis.conf, its append-only file in its own dir (cwd), so a
// restart on the same port reads back what it wrote.
class RedisHost {
  constructor(used) {
    this.used = used;
    this.dir = h.tmpdir('deploy-redis');
    this.password = crypto.randomBytes(16).toString('hex');
    this.port = 0;
    this.proc = null;
  }

  async start() {
    if (!this.port) {
      this.port = await h.freePort();
      const text = L.template('two-hosts/redis.conf', {
        'bind 127.0.0.1 10.0.0.5': 'bind 127.0.0.1',	// no private network here
        'port 6379': `port ${this.port}`,
        'CHANGE-ME-to-a-long-random-password': this.password,
      }, this.used);
      fs.writeFileSync(path.join(this.dir, 'redis.conf'), text, { mode: 0o600 });
    }
    const out = fs.openSync(this.log(), 'a');
    const proc = h.track(spawn('redis-server', [path.join(this.dir, 'redis.conf')],
      { cwd: this.dir, stdio: ['ignore', out, out] }));
    fs.closeSync(out);
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on('exit', resolve));
    try {
      await h.waitFor(async () => this.alive() && (await this.cmd('PING')) === 'PONG', 10000,
        `redis-server on 127.0.0.1:${this.port}`);
    } catch (e) {
      const tail = fs.readFileSync(this.log(), 'utf8').split('\n').slice(-6).join(' | ');
      throw new Error(`${e.message}; redis log: ${tail}`);
    }
  }

  log() { return path.join(this.dir, 'redis.out'); }

  alive() { return this.proc !== null && this.proc.exitCode === null && !this.proc.signalCode; }

  // One command on a fresh connection, after AUTH.
  async cmd(...args) {
    const c = await h.redisClient(this.port);
    try {
      await c.cmd('AUTH', this.password);
      return await c.cmd(...args);
    } finally { c.close(); }
  }

  // SIGTERM by PID (Redis then writes and fsyncs its append-only file),
  // SIGKILL if it is still there after 10 s.
  async stop() {
    if (!this.alive()) return;
    this.proc.kill('SIGTERM');
    await Promise.race([this.exited, h.sleep(10000)]);
    if (!this.alive()) return;
    this.proc.kill('SIGKILL');
    await Promise.race([this.exited, h.sleep(5000)]);
    throw new Error(`redis-server ${this.proc.pid} ignored SIGTERM for 10 s`);
  }

  remove() { fs.rmSync(this.dir, { recursive: true, force: true }); }
}

// The settings redis.conf documents are the ones in force, and nothing is
// served without the password.
async function redisSettings(redis) {
  const get = async (k) => (await redis.cmd('CONFIG', 'GET', k))[1].toString();
  assert.equal(await get('appendonly'), 'yes');
  assert.equal(await get('appendfsync'), 'everysec');
  assert.equal(await get('save'), '', 'no RDB snapshots');
  assert.equal(await get('maxmemory-policy'), 'noeviction');
  const c = await h.redisClient(redis.port);
  try {
    await assert.rejects(c.cmd('GET', 'aiproxy:rr/openrouter'), /NOAUTH/, 'a client without the password');
  } finally { c.close(); }
}

// config.json of one host, from two-hosts/config.host.json: its state_dir
// and the Redis URL templated; the test's key and the mock upstream in
// place of the placeholder keys. The Redis settings stay as in the file.
function hostConfig(env, redis, mock, used) {
  const cfg = JSON.parse(L.template('two-hosts/config.host.json', {
    '/var/lib/aiproxy': env.state,
    'redis://10.0.0.5:6379/0': `redis://127.0.0.1:${redis.port}/0`,
  }, used));
  assert.equal(cfg.state_backend, 'redis');
  assert.equal(cfg.redis_password, `env:${PW_VAR}`);
  Object.assign(cfg, {
    access_key: h.ACCESS_KEY,
    'auto-models': ['openai/mock-text'],
    provider_keys: [{ provider: 'openrouter', key: [h.KEYS.openrouter[0]], max_request_day: 1000,
      max_token_min: 1000000, max_request_min: RPM, base_url: mock.url('openrouter') }],
    first_byte_timeout_ms: 2000,
    idle_timeout_ms: 2000,
  });
  env.writeConfig(env.config, cfg);
}

function checkConfig(env, vars) {
  const e = Object.assign({}, process.env, env.asan, vars);
  delete e[PW_VAR];
  Object.assign(e, vars);
  return spawnSync(env.bin, ['--check-config', env.config], { encoding: 'utf8', timeout: 20000, env: e });
}

// One front end: its tree (pushed to envs at once, for the cleanup), its
// config checked with and without the password variable, lighttpd running.
async function startHost(tag, bin, mock, redis, used, envs) {
  const env = new L.Env(tag, bin, mock);
  envs.push(env);
  hostConfig(env, redis, mock, used);
  const vars = { [PW_VAR]: redis.password };
  const ok = checkConfig(env, vars);
  assert.equal(ok.status, 0, `--check-config: ${ok.stdout}${ok.stderr}`);
  assert.match(ok.stdout, /configuration OK/);
  const bad = checkConfig(env, {});
  assert.equal(bad.status, 1, `--check-config without ${PW_VAR}: ${bad.stdout}${bad.stderr}`);
  assert.match(bad.stderr, new RegExp(`redis_password: environment variable ${PW_VAR} is not set`));
  L.mkdir(env.path('run/lighttpd'), 0o750, L.RUN_AS);
  const port = await R.lighttpd(env, L.template('lighttpd/aiproxy-spawned.conf', {
    [R.BIN]: env.path('lib/aiproxy'), [R.CONFIG]: env.config, '/run/lighttpd': env.path('run/lighttpd') },
  used), '', vars);
  return { env, tag, port, prefix: '', logFile: 'lighttpd.out' };
}

function chat(host, content) {
  return h.request(host.port, 'POST', CHAT,
    { body: { model: 'openai/mock-text', messages: [{ role: 'user', content }] }, timeoutMs: 10000 });
}

async function upstreamChats(mock) {
  return (await mock.requests()).filter((q) => q.method === 'POST' && q.path.endsWith('/chat/completions')).length;
}

// A, B, A are admitted; then B and A get the ledger's 429: the minute's
// three requests were counted once, across both hosts.
async function oneLimit([a, b], mock) {
  const order = [a, b, a, b, a];
  const got = [];
  for (let i = 0; i < order.length; i++) got.push(await chat(order[i], `[two-hosts ${i}]`));
  const seen = got.map((r, i) => `${order[i].tag.slice(-1)}:${r.status}`).join(' ');
  assert.deepEqual(got.map((r) => r.status), [200, 200, 200, 429, 429], seen);
  const ra = [];
  for (const r of got.slice(3)) {
    assert.equal(r.json && r.json.error && r.json.error.type, 'rate_limit_error', r.body);
    const s = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(s) && s >= 1 && s <= 61, `Retry-After ${r.headers['retry-after']}`);
    ra.push(s);
  }
  assert.equal(await upstreamChats(mock), RPM, 'requests that reached the upstream');
  return `${seen}; Retry-After ${ra.join(', ')} s`;
}

async function usageAlike([a, b]) {
  const id = h.keyId(h.KEYS.openrouter[0]);
  const seen = [];
  for (const x of [a, b]) {
    const r = await h.request(x.port, 'GET', '/v1/usage');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.ledger_backend, 'redis', `${x.tag}: ${r.body.slice(0, 200)}`);
    const k = r.json.details.openrouter.keys[id];
    assert.ok(k, `${x.tag}: key ${id} in /v1/usage`);
    assert.equal(k.rate_limit_windows.req_min, RPM, `${x.tag}: req_min`);
    assert.equal(k.lifetime_requests, RPM, `${x.tag}: lifetime_requests`);
    seen.push(JSON.stringify(r.json.details));
  }
  assert.equal(seen[0], seen[1], 'both hosts show the same counters');
}

// The usage page and /metrics through each host's recipe (the same checks
// as every recipe); the metrics name the shared backend.
async function pageAndMetrics(hosts) {
  for (const x of hosts) {
    await C.usagePage(x);
    await C.usageAssets(x);
    await C.metrics(x);
    const m = await h.request(x.port, 'GET', '/metrics');
    assert.match(m.body, /^aiproxy_ledger_info\{backend="redis"\} 1$/m, `${x.tag}: aiproxy_ledger_info`);
  }
}

function assertUnavailable(r, what) {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.body}`);
  assert.equal(r.headers['retry-after'], '1', `${what}: Retry-After`);
  assert.equal(r.json && r.json.error && r.json.error.code, 'service_unavailable', `${what}: ${r.body}`);
}

// Redis gone: both hosts fail closed, nothing goes upstream, a log line.
async function failClosed([a, b], mock, redis) {
  await redis.stop();
  for (const x of [a, b]) {
    assertUnavailable(await chat(x, '[redis down]'), `${x.tag} chat`);
    assertUnavailable(await h.request(x.port, 'GET', '/v1/usage'), `${x.tag} /v1/usage`);
  }
  assert.equal(await upstreamChats(mock), 0, 'requests that reached the upstream');
  await h.waitFor(() => /ledger: redis [^\n]*fail closed \(503\)/.test(a.env.log(a.logFile)), 3000,
    `the fail-closed line in ${a.tag}'s log/${a.logFile}`);
}

// Redis back on the same port from its append-only file: each host serves
// again by itself (a thread that failed reconnects after at most 2 s), and
// the minute's three requests are still counted (429, not 200).
async function backFromAof([a, b], mock, redis) {
  await redis.start();
  const t0 = Date.now();
  for (const x of [a, b]) {
    const r = await h.waitFor(async () => {
      const q = await chat(x, '[redis back]');
      if (q.status === 503) { await h.sleep(100); return null; }
      return q;
    }, 8000, `${x.tag} to answer other than 503`);
    assert.equal(r.status, 429, `${x.tag}: ${r.status} ${r.body} (the counters did not survive the restart)`);
  }
  assert.equal(await upstreamChats(mock), 0, 'requests that reached the upstream');
  return `both hosts answered again ${Date.now() - t0} ms after Redis was up`;
}

// The Redis password is in no log of either host or of Redis.
function passwordInNoLog(hosts, redis) {
  const logs = hosts.map((x) => x.env.allLogs()).join('\n') + fs.readFileSync(redis.log(), 'utf8');
  assert.ok(!logs.includes(redis.password), 'the Redis password is in a log');
}

module.exports = { RedisHost, redisSettings, startHost, oneLimit, usageAlike, pageAndMetrics, failClosed,
  backFromAof,
  passwordInNoLog };
