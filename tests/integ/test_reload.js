'use strict';
// Config reload without losing counters (issue 14): the --listen pool
// re-reads its file on SIGHUP behind lighttpd, and lighttpd-spawned
// responders hand over to fresh ones when the file changes; both under a
// loop of concurrent requests (no request may fail), with a stream that
// started before the reload and must arrive whole. An invalid file keeps
// the old config and is logged; key ids follow the key, not its place.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const user = (t) => [{ role: 'user', content: t }];
const NEW_KEY = 'sk-or-v1-testkey-EEEE5555';	// added by a reload
const PAUSE_MS = 4000;	// the stream that spans a reload

// A mock of our own whose "pause" scenario is silent for PAUSE_MS, so a
// stream is still running while the reload happens.
async function pauseMock() {
  const was = process.env.MOCK_PAUSE_MS;
  process.env.MOCK_PAUSE_MS = String(PAUSE_MS);
  try { return await h.startMock(); } finally {
    if (was === undefined) delete process.env.MOCK_PAUSE_MS; else process.env.MOCK_PAUSE_MS = was;
  }
}

function config(mock, over = {}) {
  return h.baseConfig(mock, Object.assign({ idle_timeout_ms: 10000, first_byte_timeout_ms: 10000 }, over));
}

// Replace the file the way editors and deploy tools do (write + rename):
// a reader sees the old file or the new one, never half of it.
function writeAtomic(file, cfg) {
  const tmp = `${file}.new`;
  fs.writeFileSync(tmp, typeof cfg === 'string' ? cfg : JSON.stringify(cfg, null, 2));
  fs.renameSync(tmp, file);
}

// Concurrent chat requests until stop() (or maxMs / maxCount): counts
// every answer that is not a 200 with the mock's reply as a failure.
function loadLoop(port, { concurrency = 6, maxMs = 20000, maxCount = 40000 } = {}) {
  const st = { ok: 0, failed: [], stopped: false };
  const end = Date.now() + maxMs;
  const one = async () => {
    while (!st.stopped && Date.now() < end && st.ok + st.failed.length < maxCount) {
      try {
        const r = await h.request(port, 'POST', CHAT, { capture: false, timeoutMs: 15000,
          body: { model: 'openai/mock-text', messages: user('x') } });
        if (r.status === 200 && /Hello from/.test(r.body)) st.ok++;
        else st.failed.push(`${r.status} ${r.body.slice(0, 160)}`);
      } catch (e) { st.failed.push(String(e.message)); }
    }
  };
  const runners = Array.from({ length: concurrency }, one);
  st.stop = async () => { st.stopped = true; await Promise.all(runners); return st; };
  return st;
}

// A stream started now, past its first events (the mock's pause follows
// them); resolves {done}, the promise of the whole stream.
async function startStream(port) {
  const done = h.stream(port, CHAT, { model: 'openai/mock-pause', messages: user('x'), stream: true },
    { timeoutMs: 30000 });
  done.catch(() => {});	// awaited later
  await h.sleep(400);
  return { done };
}

function assertWhole(s) {
  assert.equal(s.status, 200, s.raw);
  const text = s.events.filter((e) => e.json && e.json.choices && e.json.choices[0])
    .map((e) => e.json.choices[0].delta.content || '').join('');
  assert.equal(text, 'Hello after a pause', `stream arrived whole: ${JSON.stringify(s.raw.slice(-400))}`);
  assert.equal(s.events[s.events.length - 1].data, '[DONE]');
  assert.ok(s.tEnd >= PAUSE_MS - 200, `the stream spanned the reload (${s.tEnd} ms)`);
}

async function usage(port) {
  const r = await h.request(port, 'GET', '/v1/usage', { capture: false });
  assert.equal(r.status, 200, r.body);
  return r.json;
}

// key id -> {requests, lifetime_requests, max_request_day} for one provider
async function keysOf(port, provider) {
  const u = await usage(port);
  const out = {};
  for (const [id, k] of Object.entries((u.details[provider] || {}).keys || {}))
    out[id] = { requests: k.requests, lifetime: k.lifetime_requests, day: k.rate_limits.max_request_day };
  return out;
}

// --- the --listen pool behind lighttpd ----------------------------------------

async function startPool(bin, file, { workers = 2, threads = 4 } = {}) {
  const poolPort = await h.freePort();
  const proc = h.track(spawn(bin, ['--listen', `127.0.0.1:${poolPort}`, '--workers', String(workers),
    '--threads', String(threads)], {
    env: Object.assign({}, process.env, { AIPROXY_CONFIG: file, ASAN_OPTIONS: 'detect_leaks=1' }),
    stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  proc.stderr.on('data', (c) => { log += c; });
  await h.waitFor(() => h.portOpen(poolPort), 10000, 'pool listening');
  const port = await h.freePort();
  const tmp = h.tmpdir('reload-front');
  const lt = h.track(spawn('lighttpd', ['-D', '-f', path.join(h.ROOT, 'tests/integ/lighttpd-pool.conf')], {
    env: Object.assign({}, process.env, { PX_PORT: String(port), PX_TMP: tmp, PX_POOL_PORT: String(poolPort) }),
    stdio: 'ignore' }));
  await h.waitFor(() => h.portOpen(port), 10000, 'lighttpd');
  const workersNow = () => spawnSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' })
    .stdout.split('\n').filter(Boolean).map(Number);
  return {
    port, proc, file, workers: workersNow, log: () => log,
    hup() { process.kill(proc.pid, 'SIGHUP'); },
    // SIGHUP, then wait until the workers running now have all left
    // (the reload is complete: only new workers accept)
    async reload(what) {
      const was = workersNow();
      const n = (log.match(/new workers accept/g) || []).length;
      process.kill(proc.pid, 'SIGHUP');
      await h.waitFor(() => (log.match(/new workers accept/g) || []).length > n &&
        workersNow().every((p) => !was.includes(p)), 15000, what || 'reload');
    },
    async stop() {
      if (lt.exitCode === null && !lt.signalCode) lt.kill('SIGTERM');
      if (proc.exitCode !== null || proc.signalCode) return;
      const t0 = Date.now();
      proc.kill('SIGTERM');
      await h.waitFor(() => proc.exitCode !== null || proc.signalCode, 15000, 'pool exit on SIGTERM');
      assert.equal(proc.exitCode, 0, 'SIGTERM still stops the pool, status 0');
      assert.ok(Date.now() - t0 < 5000, 'an idle pool stops promptly');
      assert.ok(!/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(log), log.slice(-2000));
      h.captured.push(log);
    },
  };
}

// lighttpd is up once it listens; wait for its n responders to serve too
async function responders(bin, px, n) {
  await h.waitFor(() => h.responderPids(bin, px.tmp).length === n &&
    (px.errorLog().match(/INFO serving with/g) || []).length >= n, 15000, `${n} responders`);
  return h.responderPids(bin, px.tmp);
}

// pids that logged request lines
function servingPids(log) {
  return new Set([...log.matchAll(/aiproxy\[(\d+)\] INFO req=/g)].map((m) => Number(m[1])));
}

module.exports = (test) => {
  test('reload: --listen pool, SIGHUP under load: no failed request, the stream completes, new config in effect, old workers gone', async ({ bin }) => {
    const mock = await pauseMock();
    const file = h.writeConfig(config(mock));
    const pool = await startPool(bin, file);
    try {
      const before = pool.workers();
      assert.equal(before.length, 2);
      const load = loadLoop(pool.port);
      await h.sleep(500);
      const s = await startStream(pool.port);
      const cfg2 = config(mock);
      cfg2.provider_keys[0].key = [...h.KEYS.openrouter, NEW_KEY];
      cfg2.provider_keys[0].max_request_day = 99999;
      writeAtomic(file, cfg2);
      await pool.reload();
      const k = await keysOf(pool.port, 'openrouter');
      assert.ok(k[h.keyId(NEW_KEY)], `the new key is in /v1/usage: ${JSON.stringify(k)}`);
      assert.equal(k[h.keyId(NEW_KEY)].day, 99999, 'the changed limit is in effect');
      await h.sleep(1000);	// keep the load on the new workers for a while
      const st = await load.stop();
      assertWhole(await s.done);
      assert.equal(st.failed.length, 0, `no request failed: ${JSON.stringify(st.failed.slice(0, 3))} (${st.ok} ok)`);
      assert.ok(st.ok >= 30, `the load ran (${st.ok} requests)`);
      // the previous workers finished their requests and left
      await h.waitFor(() => pool.workers().every((p) => !before.includes(p)), 15000, 'old workers exit');
      assert.equal(pool.workers().length, 2);
      const after = pool.workers();
      const r = await h.request(pool.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
      assert.equal(r.status, 200);
      assert.ok([...servingPids(pool.log())].some((p) => after.includes(p)), 'new workers serve');
      // repeated SIGHUPs are safe: they fold, and the pool ends with 2 workers
      for (let i = 0; i < 4; i++) { pool.hup(); await h.sleep(30); }
      const load2 = loadLoop(pool.port, { concurrency: 4, maxMs: 3000 });
      await h.sleep(2500);
      const st2 = await load2.stop();
      assert.equal(st2.failed.length, 0, `no request failed across repeated SIGHUPs: ${JSON.stringify(st2.failed.slice(0, 3))}`);
      await h.waitFor(() => pool.workers().length === 2 && pool.workers().every((p) => !after.includes(p)),
        15000, `2 workers after repeated SIGHUPs (now ${pool.workers()})`);
    } finally {
      await pool.stop();
      await mock.stop();
    }
  }, { timeout: 90000 });

  test('reload: --listen pool, an invalid file (or workers that cannot start) keeps the old config running and logs each problem by path', async ({ bin, mock }) => {
    const file = h.writeConfig(config(mock));
    const pool = await startPool(bin, file);
    try {
      const before = pool.workers();
      const load = loadLoop(pool.port, { concurrency: 4, maxMs: 10000 });
      const bad = config(mock);
      bad.provider_keys[0].max_request_day = 'many';
      bad.provider_keys[1].bogus = 1;
      writeAtomic(file, bad);
      pool.hup();
      await h.waitFor(() => /still serving the previous configuration/.test(pool.log()), 10000, 'reload refused');
      const log = pool.log();
      assert.match(log, new RegExp(`config reload: ${file}: provider_keys\\[0\\]\\.max_request_day: expected integer`));
      assert.match(log, new RegExp(`config reload: ${file}: provider_keys\\[1\\]\\.bogus: unknown key`));
      assert.match(log, /config reload: 2 problems in /);
      await h.sleep(1000);
      const st = await load.stop();
      assert.equal(st.failed.length, 0, `no request failed: ${JSON.stringify(st.failed.slice(0, 3))} (${st.ok} ok)`);
      assert.deepEqual(pool.workers().sort(), before.sort(), 'the same workers keep serving');
      const k = await keysOf(pool.port, 'openrouter');
      assert.equal(Object.keys(k).length, 2);
      assert.ok(Object.values(k).every((x) => x.day === 100000), 'old limits');
      // a JSON syntax error is refused too, then a good file loads
      writeAtomic(file, '{"access_key": ');
      pool.hup();
      await h.waitFor(() => (pool.log().match(/still serving the previous configuration/g) || []).length >= 2,
        10000, 'syntax error refused');
      assert.match(pool.log(), /config reload: \S*config\.json:\d+:\d+: /);
      // a file that loads but whose workers cannot start (state_dir under
      // a regular file): they are stopped, the old ones keep serving
      const nostate = config(mock);
      nostate.state_dir = path.join(file, 'var');
      writeAtomic(file, nostate);
      const was = pool.workers();
      pool.hup();
      await h.waitFor(() => /new worker exited before it accepted/.test(pool.log()), 15000, 'failed start noticed');
      await h.waitFor(() => pool.workers().length === 2, 10000, 'the failed workers gone');
      assert.deepEqual(pool.workers().sort(), was.sort(), 'the old workers still serve');
      const r2 = await h.request(pool.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
      assert.equal(r2.status, 200);
      const good = config(mock);
      good.provider_keys[0].max_request_day = 4242;
      writeAtomic(file, good);
      await pool.reload('good file loaded');
      assert.ok(Object.values(await keysOf(pool.port, 'openrouter')).every((x) => x.day === 4242));
    } finally {
      await pool.stop();
    }
  }, { timeout: 60000 });

  test('reload: --listen pool, reordered keys keep their counters; a new key starts empty; a removed key comes back with its history', async ({ bin, mock }) => {
    const file = h.writeConfig(config(mock));
    const pool = await startPool(bin, file);
    try {
      for (let i = 0; i < 6; i++) {
        const r = await h.request(pool.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
        assert.equal(r.status, 200);
      }
      for (let i = 0; i < 3; i++) {
        const r = await h.request(pool.port, 'POST', CHAT, { body: { model: 'gemini-mock-text', messages: user('x') } });
        assert.equal(r.status, 200);
      }
      const or0 = await keysOf(pool.port, 'openrouter');
      const ge0 = await keysOf(pool.port, 'gemini');
      const total = (k) => Object.values(k).reduce((a, x) => a + x.lifetime, 0);
      assert.equal(total(or0), 6);
      assert.equal(total(ge0), 3);
      // gemini entry first, every key list reversed, one new key
      const cfg2 = config(mock);
      cfg2.provider_keys = [cfg2.provider_keys[1], cfg2.provider_keys[0]];
      cfg2.provider_keys[0].key = [...h.KEYS.gemini].reverse();
      cfg2.provider_keys[1].key = [NEW_KEY, ...[...h.KEYS.openrouter].reverse()];
      writeAtomic(file, cfg2);
      await pool.reload('reordered config');
      const or1 = await keysOf(pool.port, 'openrouter');
      const ge1 = await keysOf(pool.port, 'gemini');
      for (const [id, v] of Object.entries(or0))
        assert.deepEqual([or1[id].lifetime, or1[id].requests], [v.lifetime, v.requests], `openrouter ${id} kept`);
      for (const [id, v] of Object.entries(ge0))
        assert.deepEqual([ge1[id].lifetime, ge1[id].requests], [v.lifetime, v.requests], `gemini ${id} kept`);
      assert.deepEqual([or1[h.keyId(NEW_KEY)].lifetime, or1[h.keyId(NEW_KEY)].requests], [0, 0], 'the new key starts empty');
      // remove a key, use the others, then bring it back: its history is there
      const gone = h.KEYS.openrouter[1];
      const cfg3 = JSON.parse(JSON.stringify(cfg2));
      cfg3.provider_keys[1].key = [NEW_KEY, h.KEYS.openrouter[0]];
      writeAtomic(file, cfg3);
      await pool.reload('key removed');
      assert.ok(!(await keysOf(pool.port, 'openrouter'))[h.keyId(gone)], 'key removed');
      for (let i = 0; i < 4; i++) {
        const r = await h.request(pool.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
        assert.equal(r.status, 200);
      }
      writeAtomic(file, cfg2);
      await pool.reload('key back');
      const or3 = await keysOf(pool.port, 'openrouter');
      assert.deepEqual([or3[h.keyId(gone)].lifetime, or3[h.keyId(gone)].requests],
        [or0[h.keyId(gone)].lifetime, or0[h.keyId(gone)].requests], 'the removed key kept its history');
      assert.equal(total(or3), 10, 'every request still counted');
    } finally {
      await pool.stop();
    }
  }, { timeout: 60000 });

  // --- responders spawned by lighttpd (bin-path, max-procs 2) -----------------

  test('reload: lighttpd-spawned responders hand over on a config change under load: no failed request, the stream completes, lighttpd respawns them', async (ctx) => {
    const mock = await pauseMock();
    const start = ctx.startProxy || ((c, o) => h.startProxy(ctx.bin, c, o));
    const px = await start(config(mock), { procs: 2, threads: 8 });
    try {
      const file = path.join(px.tmp, 'config.json');
      const before = await responders(ctx.bin, px, 2);
      // lighttpd sends each new request to the least loaded responder:
      // one stream on each, both still running when the file changes
      const s = await startStream(px.port);
      const s2 = await startStream(px.port);
      const load = loadLoop(px.port, { concurrency: 6, maxMs: 30000 });
      const cfg2 = config(mock);
      cfg2.provider_keys[0].key = [...h.KEYS.openrouter, NEW_KEY];
      cfg2.provider_keys[0].max_request_day = 99999;
      writeAtomic(file, cfg2);
      // every responder is replaced, one after the other
      await h.waitFor(() => {
        const now = h.responderPids(ctx.bin, px.tmp);
        return now.length === 2 && now.every((p) => !before.includes(p));
      }, 20000, 'fresh responders');
      const k = await keysOf(px.port, 'openrouter');
      assert.ok(k[h.keyId(NEW_KEY)], `the new key is in /v1/usage: ${JSON.stringify(k)}`);
      assert.equal(k[h.keyId(NEW_KEY)].day, 99999, 'the changed limit is in effect');
      await h.sleep(1500);	// the new responders under load, and no further hand-over
      const st = await load.stop();
      assertWhole(await s.done);
      assertWhole(await s2.done);
      assert.equal(st.failed.length, 0, `no request failed: ${JSON.stringify(st.failed.slice(0, 3))} (${st.ok} ok)`);
      assert.ok(st.ok >= 30, `the load ran (${st.ok} requests)`);
      const log = px.errorLog();
      // a responder stopped accepting while its stream was still running,
      // and exited only after the stream's end (its request line)
      const at = (re) => { const m = re.exec(log); return m ? Date.parse(m[1]) : NaN; };
      const streamPids = [...log.matchAll(/aiproxy\[(\d+)\] INFO req=\S+ POST \S+ model=openai\/mock-pause/g)].map((m) => m[1]);
      assert.equal(new Set(streamPids).size, 2, `one stream per responder: ${streamPids}`);
      const drainedMidStream = streamPids.filter((p) => {
        const off = at(new RegExp(`(\\S+) aiproxy\\[${p}\\] INFO config reload: \\S+ changed; no longer accepting`));
        const end = at(new RegExp(`(\\S+) aiproxy\\[${p}\\] INFO req=\\S+ POST \\S+ model=openai\\/mock-pause`));
        const exit = at(new RegExp(`(\\S+) aiproxy\\[${p}\\] INFO config reload: requests done`));
        return off < end && end <= exit;
      });
      assert.ok(drainedMidStream.length >= 1, 'a responder handed over with a stream in flight');
      assert.equal((log.match(/hands over to a fresh one/g) || []).length, 2, 'each responder saw the change once');
      assert.equal((log.match(/requests done; exiting so that a fresh responder loads/g) || []).length, 2);
      assert.ok(!/config reload: .*problem/.test(log), 'no spurious problem');
      const after = h.responderPids(ctx.bin, px.tmp);
      await h.sleep(1500);
      assert.deepEqual(h.responderPids(ctx.bin, px.tmp).sort(), after.sort(), 'fresh responders stay');
    } finally {
      await px.stop();
      await mock.stop();
    }
  }, { timeout: 90000 });

  test('reload: a lone lighttpd-spawned responder (max-procs 1) restarts in place after its stream: no failed request, same pid', async (ctx) => {
    const mock = await pauseMock();
    const start = ctx.startProxy || ((c, o) => h.startProxy(ctx.bin, c, o));
    const px = await start(config(mock), { procs: 1, threads: 8 });
    try {
      const file = path.join(px.tmp, 'config.json');
      const [pid] = await responders(ctx.bin, px, 1);
      const s = await startStream(px.port);
      const load = loadLoop(px.port, { concurrency: 6, maxMs: 30000 });
      const cfg2 = config(mock);
      cfg2.provider_keys[0].key = [...h.KEYS.openrouter, NEW_KEY];
      writeAtomic(file, cfg2);
      await h.waitFor(() => /restarting to load/.test(px.errorLog()), 15000, 'restart');
      await h.waitFor(async () => (await keysOf(px.port, 'openrouter'))[h.keyId(NEW_KEY)], 10000, 'new config');
      await h.sleep(1000);
      const st = await load.stop();
      assertWhole(await s.done);
      assert.equal(st.failed.length, 0, `no request failed: ${JSON.stringify(st.failed.slice(0, 3))} (${st.ok} ok)`);
      assert.ok(st.ok >= 30, `the load ran (${st.ok} requests)`);
      assert.deepEqual(h.responderPids(ctx.bin, px.tmp), [pid], 'the same process, started again');
      const log = px.errorLog();
      // it waited for the stream: the restart came after the stream's end
      const at = (re) => { const m = re.exec(log); return m ? Date.parse(m[1]) : NaN; };
      assert.ok(at(/(\S+) aiproxy\[\d+\] INFO req=\S+ POST \S+ model=openai\/mock-pause/) <=
        at(/(\S+) aiproxy\[\d+\] INFO config reload: requests done; restarting/), 'the stream ended first');
      assert.equal((log.match(/INFO serving with/g) || []).length, 2);
      assert.ok(!/child exited/.test(log), 'lighttpd saw no exit');
    } finally {
      await px.stop();
      await mock.stop();
    }
  }, { timeout: 60000 });

  test('reload: lighttpd-spawned responders keep an invalid file out and log it once; a later valid file loads', async (ctx) => {
    const start = ctx.startProxy || ((c, o) => h.startProxy(ctx.bin, c, o));
    const px = await start(config(ctx.mock), { procs: 2, threads: 4 });
    try {
      const file = path.join(px.tmp, 'config.json');
      const before = await responders(ctx.bin, px, 2);
      const bad = config(ctx.mock);
      bad.provider_keys[0].max_request_min = 'x';
      writeAtomic(file, bad);
      await h.waitFor(() => (px.errorLog().match(/still serving the previous configuration/g) || []).length >= 2,
        5000, 'both responders refuse it');
      await h.sleep(2500);	// checked every second, logged once
      const log = px.errorLog();
      const re = new RegExp(`config reload: ${file}: provider_keys\\[0\\]\\.max_request_min: expected integer`, 'g');
      assert.equal((log.match(re) || []).length, 2, 'one line per problem per responder, not one per second');
      assert.deepEqual(h.responderPids(ctx.bin, px.tmp).sort(), before.sort(), 'the same responders serve');
      const r = await h.request(px.port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
      assert.equal(r.status, 200);
      const good = config(ctx.mock);
      good.provider_keys[0].max_request_day = 4242;
      writeAtomic(file, good);
      await h.waitFor(async () => Object.values(await keysOf(px.port, 'openrouter'))
        .every((x) => x.day === 4242) && h.responderPids(ctx.bin, px.tmp).every((p) => !before.includes(p)),
      15000, 'the valid file loads');
    } finally {
      await px.stop();
    }
  }, { timeout: 40000 });
  test('reload: a spawn-fcgi pool (one shared socket, nobody to restart it) keeps serving on a config change and says so', async ({ bin, mock }) => {
    const file = h.writeConfig(config(mock));
    const dir = path.dirname(file);
    const poolPort = await h.freePort();
    const pidfile = path.join(dir, 'spawn.pid');
    const logfile = path.join(dir, 'aiproxy.log');
    const r0 = spawnSync('spawn-fcgi', ['-a', '127.0.0.1', '-p', String(poolPort), '-F', '2', '-P', pidfile,
      '--', '/bin/sh', '-c', 'exec "$0" 2>>"$1"', bin, logfile], {
      encoding: 'utf8', timeout: 10000,
      env: Object.assign({}, process.env, { AIPROXY_CONFIG: file, AIPROXY_THREADS: '4', ASAN_OPTIONS: 'detect_leaks=0' }) });
    assert.equal(r0.status, 0, r0.stderr);
    const pids = fs.readFileSync(pidfile, 'utf8').split('\n').filter(Boolean).map(Number);
    assert.equal(pids.length, 2);
    const port = await h.freePort();
    const lt = h.track(spawn('lighttpd', ['-D', '-f', path.join(h.ROOT, 'tests/integ/lighttpd-pool.conf')], {
      env: Object.assign({}, process.env, { PX_PORT: String(port), PX_TMP: dir, PX_POOL_PORT: String(poolPort) }),
      stdio: 'ignore' }));
    const alive = () => pids.filter((p) => { try { process.kill(p, 0); return true; } catch (e) { return false; } });
    try {
      await h.waitFor(() => h.portOpen(port), 10000, 'lighttpd');
      await h.waitFor(() => (fs.readFileSync(logfile, 'utf8').match(/serving with/g) || []).length === 2, 10000, 'pool up');
      const cfg2 = config(mock);
      cfg2.provider_keys[0].max_request_day = 4242;
      writeAtomic(file, cfg2);
      await h.waitFor(() => (fs.readFileSync(logfile, 'utf8').match(/nothing would start a fresh responder/g) || [])
        .length === 2, 5000, 'both responders say why they stay');
      await h.sleep(1500);
      assert.deepEqual(alive(), pids, 'the pool keeps both processes');
      for (let i = 0; i < 6; i++) {
        const r = await h.request(port, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
        assert.equal(r.status, 200, r.body);
      }
      assert.ok(!/hands over|no longer accepting/.test(fs.readFileSync(logfile, 'utf8')));
    } finally {
      lt.kill('SIGTERM');
      for (const p of alive()) process.kill(p, 'SIGTERM');
      await h.waitFor(() => alive().length === 0, 15000, 'spawn-fcgi pool exit');
      h.captured.push(fs.readFileSync(logfile, 'utf8'));
    }
  }, { timeout: 40000 });
};
