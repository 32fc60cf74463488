'use strict';
// Security hardening (issue 9): each item of the review, through the real
// binary (as CGI, as its own --listen pool, spawned by lighttpd) against the
// mock upstream. Every check here fails on the code before the fix.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const user = (t) => [{ role: 'user', content: t }];
const ask = (model, extra) => Object.assign({ model, messages: user('x') }, extra || {});
const OR_KEYS = ['sk-or-v1-testkey-AAAA1111', 'sk-or-v1-testkey-BBBB2222', 'sk-or-v1-testkey-EEEE5555'];

const keysOf = (u, prov) => Object.values(u.details[prov].keys);
const usage = async (p) => (await h.request(p.port, 'GET', '/v1/usage')).json;
const seen = async (mock, tail) => (await mock.requests()).filter((q) => q.path.endsWith(tail));
const orError = (code, message) => ({ error: { code, message } });

function cfgWith(mock, over) {
  const cfg = h.baseConfig(mock, Object.assign({ model_usage_gap_percentage: 0 }, over || {}));
  cfg.provider_keys[0].key = OR_KEYS;
  return cfg;
}

async function withProxy(ctx, cfg, fn, opts) {
  const p = await ctx.startProxy(cfg, opts || { threads: 8 });
  try { return await fn(p); } finally { await p.stop(); }
}

// TCP ports in LISTEN state (IPv4 and IPv6), and unix socket paths.
function listeners() {
  const tcp = new Set();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '0A') tcp.add(parseInt(c[1].split(':')[1], 16));
    }
  }
  const unix = new Set(fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)
    .map((l) => l.trim().split(/\s+/)[7]).filter(Boolean));
  return { tcp, unix };
}

function statusOf(head) { const m = /^Status: (\d+)/.exec(head); return m ? Number(m[1]) : 0; }

// An own --listen pool; resolves {proc, log()} once it listens (or exited).
async function startPool(bin, args, env, opts = {}) {
  const proc = h.track(spawn(bin, args, {
    env: Object.assign({}, process.env, { ASAN_OPTIONS: 'detect_leaks=1' }, env),
    stdio: ['ignore', 'ignore', 'pipe'], uid: opts.uid, gid: opts.gid }));
  let log = '';
  proc.stderr.on('data', (c) => { log += c; });
  const pool = { proc, log: () => log };
  if (opts.port) await h.waitFor(() => h.portOpen(opts.port), 10000, 'pool listening');
  if (opts.sock) await h.waitFor(() => fs.existsSync(opts.sock), 10000, 'pool socket');
  return pool;
}

async function stopPool(pool) {
  if (pool.proc.exitCode === null && !pool.proc.signalCode) {
    pool.proc.kill('SIGTERM');
    await h.waitFor(() => pool.proc.exitCode !== null || pool.proc.signalCode, 15000, 'pool exit');
  }
  h.captured.push(pool.log());
}

function runBin(bin, args, env) {
  return spawnSync(bin, args, { encoding: 'utf8', timeout: 8000,
    env: Object.assign({}, process.env, { ASAN_OPTIONS: 'detect_leaks=1' }, env || {}) });
}

async function lighttpdPool(poolPort) {
  const lport = await h.freePort();
  const tmp = h.tmpdir('pool');
  const lt = h.track(spawn('lighttpd', ['-D', '-f', path.join(h.ROOT, 'tests/integ/lighttpd-pool.conf')], {
    env: Object.assign({}, process.env, { PX_PORT: String(lport), PX_TMP: tmp, PX_POOL_PORT: String(poolPort) }),
    stdio: 'ignore' }));
  await h.waitFor(() => h.portOpen(lport), 10000, 'lighttpd');
  return { port: lport, stop: () => lt.kill('SIGTERM') };
}

module.exports = (test) => {
  // --- H1 -------------------------------------------------------------------
  test('security H1: as CGI, argv (a query string without "=") is ignored: no pool, no unlink', async ({ bin, mock }) => {
    const dir = h.tmpdir('h1');
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    const port = await h.freePort();
    const file = h.writeConfig(h.baseConfig(mock, { state_dir: path.join(dir, 'state') }));
    const before = listeners();
    const a = h.cgi(bin, file, 'GET', `/v1/models?--listen+${victim}`, undefined, 'wrong',
      { args: ['--listen', victim, '--workers', '1', '--threads', '1'], timeout: 8000 });
    const b = h.cgi(bin, file, 'GET', `/v1/models?--listen+127.0.0.1:${port}`, undefined, 'wrong',
      { args: ['--listen', `127.0.0.1:${port}`, '--workers', '1'], timeout: 8000 });
    const c = h.cgi(bin, file, 'GET', '/v1/models?--check-config+/etc/passwd', undefined, h.ACCESS_KEY,
      { args: ['--check-config', '/etc/passwd'], timeout: 8000 });
    assert.ok(!a.error && !b.error, 'each CGI run ended by itself');
    assert.equal(statusOf(a.head), 401, a.head + a.stderr);
    assert.equal(statusOf(b.head), 401, b.head);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the file is intact');
    assert.ok(fs.lstatSync(victim).isFile());
    assert.ok(!listeners().tcp.has(port) && !(await h.portOpen(port)), 'nothing listens on the port');
    assert.ok(!listeners().unix.has(victim));
    assert.ok([...listeners().tcp].every((p) => before.tcp.has(p) || p !== port));
    assert.equal(statusOf(c.head), 200, 'answered like a request without that query');
    assert.ok(Array.isArray(JSON.parse(c.body).data));
  });

  test('security H1: --listen refuses a regular file, a live socket, wildcards, long paths; unlinks only its own socket', async ({ bin, mock }) => {
    const dir = h.tmpdir('listen');
    const file = h.writeConfig(h.baseConfig(mock, { state_dir: path.join(dir, 'state') }));
    const env = { AIPROXY_CONFIG: file };
    const reg = path.join(dir, 'regular');
    fs.writeFileSync(reg, 'keep');
    let r = runBin(bin, ['--listen', reg, '--workers', '1', '--threads', '1'], env);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /exists and is not a socket/);
    assert.equal(fs.readFileSync(reg, 'utf8'), 'keep');
    for (const spec of ['0.0.0.0:9', ':9', '*:9', '[::]:9']) {
      r = runBin(bin, ['--listen', spec], env);
      assert.equal(r.status, 2, `${spec}: ${r.stderr}`);
      assert.match(r.stderr, /every interface|IPv6/, spec);
    }
    r = runBin(bin, ['--listen', `/${'a'.repeat(4096)}`], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /at most 107 bytes/);
    r = runBin(bin, ['--listen-any'], env);
    assert.equal(r.status, 2);
    // a live pool's socket is not taken over; a stale one is
    const sock = path.join(dir, 'app.sock');
    const one = await startPool(bin, ['--listen', sock, '--workers', '1', '--threads', '1'], env, { sock });
    try {
      r = runBin(bin, ['--listen', sock, '--workers', '1', '--threads', '1'], env);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /another server is listening there/);
      assert.ok(fs.lstatSync(sock).isSocket(), 'the live socket stays');
      // the path is replaced behind the pool's back: the pool must not
      // delete what is there now when it stops
      fs.unlinkSync(sock);
      fs.writeFileSync(sock, 'not yours');
    } finally { await stopPool(one); }
    assert.equal(fs.readFileSync(sock, 'utf8'), 'not yours', 'only its own socket is unlinked');
    fs.unlinkSync(sock);
    const two = await startPool(bin, ['--listen', sock, '--workers', '1', '--threads', '1'], env, { sock });
    await stopPool(two);
    assert.ok(!fs.existsSync(sock), 'its own socket is removed at exit');
  }, { timeout: 40000 });

  test('security H1: --listen-any binds every interface only when asked', async ({ bin, mock }) => {
    const port = await h.freePort();
    const file = h.writeConfig(h.baseConfig(mock, { state_dir: path.join(h.tmpdir('any'), 'state') }));
    const pool = await startPool(bin, ['--listen', `0.0.0.0:${port}`, '--listen-any', '--workers', '1',
      '--threads', '1'], { AIPROXY_CONFIG: file }, { port });
    try {
      const lines = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n');
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      assert.ok(lines.some((l) => l.includes(`00000000:${hex}`) && / 0A /.test(l)), 'bound to 0.0.0.0');
      await h.waitFor(() => /every interface/.test(pool.log()), 5000, 'the pool says so in its log');
    } finally { await stopPool(pool); }
  });

  // --- M1 -------------------------------------------------------------------
  test('security M1: an upstream 400 echoing a model named like a key error disables nothing', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      await ctx.mock.faults([
        { flavour: 'openrouter', status: 400, times: -1, body: orError(400, '{{model}} is not a valid model ID') },
        { flavour: 'gemini', status: 400, times: -1, body: [{ error: { code: 400, status: 'INVALID_ARGUMENT',
          message: '* GenerateContentRequest.model: unexpected model name format {{model}}' } }] },
      ]);
      for (const model of ['openai/API key not valid. Please pass a valid API key. API_KEY_INVALID',
        'gemini-API key not valid. Please pass a valid API key. API_KEY_INVALID']) {
        const r = await h.request(p.port, 'POST', CHAT, { body: ask(model) });
        assert.equal(r.status, 400, r.body);
        assert.match(r.json.error.message, /API key not valid/);
      }
      assert.equal((await seen(ctx.mock, '/chat/completions')).length, 2, 'no retry on another key');
      const u = await usage(p);
      for (const k of [...keysOf(u, 'openrouter'), ...keysOf(u, 'gemini')]) assert.equal(k.state, 'active');
    });
  });

  for (const [status, body] of [[402, orError(402, 'Insufficient credits. Add more using https://openrouter.ai/credits')],
    [403, { error: { code: 403, message: 'Your chosen model requires moderation and your input was flagged',
      metadata: { reasons: ['violence'], flagged_input: 'x', provider_name: 'p', model_slug: 'm' } } }]]) {
    test(`security M1: OpenRouter ${status} is the request's unless the key probe says otherwise`, async (ctx) => {
      await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
        await ctx.mock.faults([{ flavour: 'openrouter', status, body }]);
        const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
        assert.equal(r.status, status, r.body);
        assert.equal((await seen(ctx.mock, '/chat/completions')).length, 1, 'relayed, not retried');
        const probes = await seen(ctx.mock, '/openrouter/key');
        assert.equal(probes.length, 1, 'the key was probed');
        assert.equal(probes[0].body, null, 'the probe carries nothing from the client');
        assert.ok(keysOf(await usage(p), 'openrouter').every((k) => k.state === 'active'), 'no key changed state');
        // within a minute the same key is not probed again
        await ctx.mock.faults([{ flavour: 'openrouter', status, body, times: -1 }]);
        await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
        await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
        await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
        assert.ok((await seen(ctx.mock, '/openrouter/key')).length <= 3, 'at most one probe per key');
      });
    });
  }

  test('security M1: a 402 whose key probe answers 401 disables that key; the request moves on once', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      await ctx.mock.faults([
        { flavour: 'openrouter', status: 402, body: orError(402, 'Insufficient credits') },
        { flavour: 'openrouter', path: '/key', status: 401, body: orError(401, 'User not found.') },
      ]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 200, r.body);
      const k = keysOf(await usage(p), 'openrouter').filter((x) => x.state === 'disabled');
      assert.equal(k.length, 1);
      assert.equal(k[0].reason, 'probe 401 unauthorized');
    });
  });

  test('security M1: an unusable key is retried on at most one other key', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock, { max_attempts: 3 }), async (p) => {
      await ctx.mock.faults([{ flavour: 'openrouter', status: 401, times: -1, body: orError(401, 'User not found.') }]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 401, r.body);
      assert.equal((await seen(ctx.mock, '/chat/completions')).length, 2, 'two keys, not the whole pool');
      assert.equal(keysOf(await usage(p), 'openrouter').filter((x) => x.state === 'disabled').length, 2);
    });
  });

  // --- M2 -------------------------------------------------------------------
  test('security M2: a 4 MiB array of small numbers is refused before parsing; peak RSS stays small', async (ctx) => {
    await withProxy(ctx, h.baseConfig(ctx.mock, { max_body_bytes: 8 << 20 }), async (p) => {
      const warm = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(warm.status, 200);
      const [pid] = h.responderPids(ctx.bin, p.tmp);
      const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
      const before = hwm();
      const nums = '1,'.repeat(2 << 20).slice(0, -1);
      const body = `{"model":"openai/mock-text","messages":[{"role":"user","content":"x"}],"x":[${nums}]}`;
      const t0 = Date.now();
      const r = await h.request(p.port, 'POST', CHAT, { body, capture: false });
      const ms = Date.now() - t0;
      assert.equal(r.status, 413, r.body.slice(0, 300));
      assert.match(r.json.error.message, /more than 100000 JSON values \(max_json_values\)/);
      assert.equal((await seen(ctx.mock, '/chat/completions')).length, 1, 'nothing reached the upstream');
      const grown = (hwm() - before) / 1024;
      // cJSON would need ~160 MiB for 2 M nodes; the body and its buffer
      // take ~12 MiB (figure in BENCHMARKS.md)
      assert.ok(grown < 48, `peak RSS grew ${grown.toFixed(1)} MiB`);
      return `refused in ${ms} ms; peak RSS +${grown.toFixed(1)} MiB`;
    });
  });

  test('security M2: a non-stream reply above max_response_bytes is a clear 502; no retry, no penalty', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock, { max_response_bytes: 65536 }), async (p) => {
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-big') });
      assert.equal(r.status, 502, r.body.slice(0, 200));
      assert.match(r.json.error.message, /exceeds 65536 bytes \(max_response_bytes\)/);
      assert.equal((await seen(ctx.mock, '/chat/completions')).length, 1, 'not retried');
      const ks = keysOf(await usage(p), 'openrouter');
      assert.ok(ks.every((k) => k.state === 'active'));
      const s = await h.stream(p.port, CHAT, ask('openai/mock-big', { stream: true }));
      assert.equal(s.status, 200, 'streams are not capped as a whole');
      assert.equal(s.events.at(-1).data, '[DONE]');
    });
  });

  // --- M3 is in tests/deploy (install scripts) ------------------------------

  // --- L1 -------------------------------------------------------------------
  test('security L1: every pool key is redacted from relayed upstream errors, not only the one used', async (ctx) => {
    await withProxy(ctx, cfgWith(ctx.mock), async (p) => {
      const others = `${h.KEYS.gemini[1]} ${OR_KEYS[2]} ${OR_KEYS[0]} ${OR_KEYS[1]}`;
      await ctx.mock.faults([
        { flavour: 'openrouter', status: 400, body: orError(400, `keys: ${others}`) },
      ]);
      const r = await h.request(p.port, 'POST', CHAT, { body: ask('openai/mock-text') });
      assert.equal(r.status, 400);
      for (const k of [...OR_KEYS, ...h.KEYS.gemini]) assert.ok(!r.body.includes(k), 'no key in the reply');
      assert.equal(r.json.error.message, 'keys: [redacted] [redacted] [redacted] [redacted]');
    });
  });

  // --- L2 -------------------------------------------------------------------
  test('security L2: max_body_bytes holds exactly without a Content-Length', async ({ bin, mock }) => {
    const file = h.writeConfig(h.baseConfig(mock, { max_body_bytes: 1024,
      state_dir: path.join(h.tmpdir('l2'), 'state') }));
    const sized = (n) => {
      const head = '{"model":"openai/mock-text","messages":[{"role":"user","content":"';
      const tail = '"}]}';
      return head + 'x'.repeat(n - head.length - tail.length) + tail;
    };
    const noLen = { env: { CONTENT_LENGTH: null } };
    const exact = h.cgi(bin, file, 'POST', CHAT, undefined, h.ACCESS_KEY, { input: sized(1024), ...noLen });
    assert.equal(statusOf(exact.head), 200, exact.body);
    for (const n of [1025, 1500, 2047, 70000]) {
      const r = h.cgi(bin, file, 'POST', CHAT, undefined, h.ACCESS_KEY, { input: sized(n), ...noLen });
      assert.equal(statusOf(r.head), 413, `${n} bytes: ${r.head}`);
      assert.match(JSON.parse(r.body).error.message, /max_body_bytes/);
    }
  });

  // --- L3 -------------------------------------------------------------------
  test('security L3: escaped or duplicate top-level members get a 400 naming the member; nothing sent', async (ctx) => {
    const raw = [
      ['{"model":"openai/mock-text","messages":[{"role":"user","content":"x"}],"stream":true,' +
        '"stream_optio\\u006es":{"include_usage":false}}', 'stream_options'],
      ['{"model":"openai/mock-text","model":"gemini-mock-text","messages":[{"role":"user","content":"x"}]}', 'model'],
      ['{"m\\u006fdel":"openai/mock-text","messages":[{"role":"user","content":"x"}]}', 'model'],
    ];
    for (const [body, param] of raw) {
      const r = await h.request(ctx.proxy.port, 'POST', CHAT, { body });
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json.error.param, param);
      assert.ok(r.json.error.message.startsWith(`${param}: `));
    }
    assert.equal((await ctx.mock.requests()).length, 0, 'nothing reached the upstream');
  });

  // --- L4, L7 ---------------------------------------------------------------
  test('security L4/L7: --check-config warns about a weak access key and clear-text base_url; responders log it', async (ctx) => {
    const seed = runBin(ctx.bin, ['--check-config', path.join(h.ROOT, 'tests/unit/configs/seed.json')]);
    assert.equal(seed.status, 0);
    assert.equal(seed.stdout.trim(), 'configuration OK');
    assert.match(seed.stderr, /^warning: access_key: weak \(a sample placeholder\)/m);
    const cfg = h.baseConfig(ctx.mock, { access_key: 'tiny' });
    cfg.provider_keys[1].base_url = 'http://gemini.example.com/v1beta/openai';
    const file = h.writeConfig(cfg);
    const r = runBin(ctx.bin, ['--check-config', file]);
    assert.equal(r.status, 0);
    assert.match(r.stderr, /warning: access_key: weak \(too short\)/);
    assert.match(r.stderr, /warning: provider_keys\[1\]\.base_url: plain http:\/\//);
    assert.ok(!r.stderr.includes('tiny'), 'the key itself is not shown');
    const ok = runBin(ctx.bin, ['--check-config', h.writeConfig(h.baseConfig(ctx.mock))]);
    assert.equal(ok.stderr, '', 'a strong key and loopback URLs: no warning');
    await withProxy(ctx, cfg, async (p) => {
      await h.request(p.port, 'GET', '/v1/usage', { key: 'tiny' });
      await h.waitFor(() => /WARN config: provider_keys\[1\]\.base_url/.test(p.errorLog()), 5000, 'start-up warning');
      assert.match(p.errorLog(), /WARN config: access_key: weak/);
    }, { procs: 1, threads: 2 });
  });

  test('security L7: failed authentications are counted in the log', async (ctx) => {
    await withProxy(ctx, h.baseConfig(ctx.mock), async (p) => {
      for (let i = 0; i < 3; i++) {
        const r = await h.request(p.port, 'GET', '/v1/usage', { key: `wrong-${i}` });
        assert.equal(r.status, 401);
      }
      await h.request(p.port, 'GET', '/v1/usage', { auth: false });
      await h.waitFor(() => /auth_failures=4/.test(p.errorLog()), 5000, 'fourth failure counted');
      const lines = p.errorLog().split('\n').filter((l) => / status=401 /.test(l));
      assert.equal(lines.length, 4);
      assert.ok(lines.every((l) => / note=auth_failed auth_failures=\d+$/.test(l)), lines.join('\n'));
    }, { procs: 1, threads: 4 });
  });

  // --- L5 -------------------------------------------------------------------
  test('security L5: a FastCGI peer that sends nothing is dropped; the only thread serves again', async ({ bin, mock }) => {
    const port = await h.freePort();
    const file = h.writeConfig(h.baseConfig(mock, { fcgi_read_timeout_ms: 1000,
      state_dir: path.join(h.tmpdir('l5'), 'state') }));
    const pool = await startPool(bin, ['--listen', `127.0.0.1:${port}`, '--workers', '1', '--threads', '1'],
      { AIPROXY_CONFIG: file }, { port });
    const idle = net.connect(port, '127.0.0.1');
    let closedAt = 0;
    idle.on('close', () => { closedAt = Date.now(); });
    idle.on('error', () => {});
    const lt = await lighttpdPool(port);
    try {
      await h.sleep(200);
      const t0 = Date.now();
      const r = await h.request(lt.port, 'POST', CHAT, { body: ask('openai/mock-text'), timeoutMs: 10000 });
      assert.equal(r.status, 200, r.body);
      assert.ok(closedAt > 0, 'the silent connection was closed by the pool');
      return `served after ${Date.now() - t0} ms`;
    } finally { idle.destroy(); lt.stop(); await stopPool(pool); }
  }, { timeout: 30000 });

  test('security L5: FCGI_WEB_SERVER_ADDRS limits which web servers the TCP pool serves', async ({ bin, mock }) => {
    const file = h.writeConfig(h.baseConfig(mock, { state_dir: path.join(h.tmpdir('addrs'), 'state') }));
    for (const [addrs, want] of [['127.0.0.2', 'refused'], ['127.0.0.2,127.0.0.1', 'served']]) {
      const port = await h.freePort();
      const pool = await startPool(bin, ['--listen', `127.0.0.1:${port}`, '--workers', '1', '--threads', '2'],
        { AIPROXY_CONFIG: file, FCGI_WEB_SERVER_ADDRS: addrs }, { port });
      const lt = await lighttpdPool(port);
      try {
        const r = await h.request(lt.port, 'GET', '/v1/models', { timeoutMs: 10000 });
        if (want === 'served') assert.equal(r.status, 200, r.body);
        else assert.ok(r.status >= 500, `lighttpd from 127.0.0.1 got ${r.status}`);
      } finally { lt.stop(); await stopPool(pool); }
      assert.equal(/ req=/.test(pool.log()), want === 'served', pool.log().slice(-500));
    }
  }, { timeout: 40000 });

  test('security L5: client text in a log line is escaped, the method too', async ({ bin, mock }) => {
    const file = h.writeConfig(h.baseConfig(mock, { state_dir: path.join(h.tmpdir('esc'), 'state') }));
    const r = h.cgi(bin, file, 'GET\nINFO req=forged', '/v1/usage', undefined, 'wrong');
    assert.equal(statusOf(r.head), 401);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], / GET\\x0aINFO\\x20req=forged \/v1\/usage /);
  });

  // --- L6 -------------------------------------------------------------------
  test('security L6: CGI without the access key does no ledger work', async ({ bin, mock }) => {
    const dir = h.tmpdir('l6');
    const state = path.join(dir, 'state');
    const file = h.writeConfig(h.baseConfig(mock, { state_dir: state }));
    for (const uri of ['/v1/usage', CHAT, '/v1/models']) {
      const r = h.cgi(bin, file, uri === CHAT ? 'POST' : 'GET', uri, uri === CHAT ? ask('openai/mock-text') : undefined, 'nope');
      assert.equal(statusOf(r.head), 401, r.head);
    }
    assert.ok(!fs.existsSync(state), 'state_dir untouched without the key');
    const ok = h.cgi(bin, file, 'GET', '/v1/usage');
    assert.equal(statusOf(ok.head), 200, ok.body);
    assert.ok(fs.existsSync(state), 'opened once authenticated');
  });

  // --- L8 -------------------------------------------------------------------
  test('security L8: hardened binary (PIE, full RELRO, canaries, fortify); responders not dumpable', async ({ bin, mock }) => {
    const hdr = spawnSync('readelf', ['-hdlW', bin], { encoding: 'utf8' }).stdout;
    assert.match(hdr, /Type:\s+DYN/, 'PIE');
    assert.match(hdr, /GNU_RELRO/);
    assert.match(hdr, /BIND_NOW/);
    const syms = spawnSync('nm', ['-D', bin], { encoding: 'utf8' }).stdout;
    assert.match(syms, /__stack_chk_fail/);
    assert.match(syms, /_chk@/, 'fortified libc calls');
    // as an unprivileged user, /proc/PID of a non-dumpable process is root's
    const dir = h.tmpdir('dump');
    fs.chmodSync(dir, 0o755);
    const cfgFile = path.join(dir, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify(h.baseConfig(mock, { state_dir: path.join(dir, 'state') })));
    fs.mkdirSync(path.join(dir, 'state'));
    fs.chownSync(path.join(dir, 'state'), 65534, 65534);
    fs.chownSync(cfgFile, 65534, 65534);
    const port = await h.freePort();
    const pool = await startPool(bin, ['--listen', `127.0.0.1:${port}`, '--workers', '1', '--threads', '1'],
      { AIPROXY_CONFIG: cfgFile, ASAN_OPTIONS: 'detect_leaks=0' }, { port, uid: 65534, gid: 65534 });
    try {
      const pids = [pool.proc.pid, ...spawnSync('pgrep', ['-P', String(pool.proc.pid)], { encoding: 'utf8' })
        .stdout.split('\n').filter(Boolean).map(Number)];
      assert.ok(pids.length >= 2, 'the pool and its responder');
      for (const pid of pids) {
        assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+65534\s/m, 'runs as nobody');
        assert.equal(fs.statSync(`/proc/${pid}/environ`).uid, 0, `pid ${pid} is not dumpable`);
      }
    } finally { await stopPool(pool); }
  });
};
