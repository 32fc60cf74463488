'use strict';
// Operations (issue 14) through real stacks: /metrics (auth, exposition
// checked by promtool, installation-wide counters from two responder
// processes, a real Prometheus scraping it and answering queries about
// it), and the admin CLI `aiproxy ctl` on the ledger of a running stack
// (usage, keys, disable, enable, reset, check-config, exit codes; a
// disabled key gets no request at the mock; never under CGI).
// Every process started here is stopped by PID.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const METRICS_KEY = 'px-metrics-scraper-7c1f0a9e3d5b4e28';
const user = (t) => [{ role: 'user', content: t }];
const keyOf = (q) => (q.authorization || '').replace(/^Bearer /, '');
const OK = ['sk-or-v1-opstest-0x7', 'sk-or-v1-opstest-1x7', 'sk-or-v1-opstest-2x7'];

function opsConfig(mock, extra = {}) {
  const cfg = h.baseConfig(mock, Object.assign({ metrics_key: METRICS_KEY }, extra));
  cfg.provider_keys[0] = Object.assign({}, cfg.provider_keys[0], { key: OK });
  cfg['auto-models'] = ['openai/mock-text'];
  return cfg;
}

async function stack(ctx, cfg, procs = 2) {
  const c = Object.assign({}, cfg, { state_dir: h.tmpdir('opsstate') });
  const p = await ctx.startProxy(c, { procs, threads: 4 });
  p.cfgFile = path.join(p.tmp, 'config.json');
  return p;
}

function get(port, p, key) {
  return h.request(port, 'GET', p, key === undefined ? {} : key === null ?
    { auth: false } : { headers: { authorization: `Bearer ${key}` }, auth: false });
}

function chat(port, content, model = 'openai/mock-text') {
  return h.request(port, 'POST', CHAT, { body: { model, messages: user(content) } });
}

// value of one sample line "name{labels} v" (labels as written), or null
function sample(text, line) {
  for (const l of text.split('\n')) {
    if (l.startsWith(`${line} `)) return Number(l.slice(line.length + 1));
  }
  return null;
}

function promtool(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

function ctl(bin, cfgFile, args, env = {}) {
  const r = spawnSync(bin, ['ctl', '--config', cfgFile, ...args], {
    encoding: 'utf8', timeout: 20000,
    env: Object.assign({ PATH: process.env.PATH, ASAN_OPTIONS: 'detect_leaks=1' }, env) });
  h.captured.push(r.stdout || '', r.stderr || '');
  return { rc: r.status, out: r.stdout || '', err: r.stderr || '' };
}

module.exports = (test) => {
  test('metrics: auth (admin key, metrics_key; 401 otherwise, a client key too) and nothing counted without a key', async (ctx) => {
    const cfg = opsConfig(ctx.mock, { access_keys: [{ name: 'team', key: 'px-client-ops-team-19a7c3e5d2b04f86' }] });
    const p = await stack(ctx, cfg, 1);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await get(p.port, '/metrics', null)).status, 401);
      assert.equal((await get(p.port, '/metrics', 'px-client-ops-team-19a7c3e5d2b04f86')).status, 401);
      assert.equal((await get(p.port, '/metrics', OK[0])).status, 401, 'a provider key opens nothing');
      const a = await get(p.port, '/metrics', METRICS_KEY);
      assert.equal(a.status, 200);
      assert.match(a.headers['content-type'], /^text\/plain; version=0\.0\.4/);
      const b = await get(p.port, '/v1/metrics');
      assert.equal(b.status, 200, 'the admin key, and /v1/metrics too');
      await h.sleep(1300);
      const c = await get(p.port, '/metrics');
      const v = sample(c.body, 'aiproxy_requests_total{route="metrics",dialect="chat",provider="none",status_class="2xx"}');
      assert.ok(v >= 2 && v <= 3, `two or three key holders' /metrics counted, got ${v}`);
      assert.ok(!/status_class="4xx"/.test(c.body), 'the 401s left no count');
      assert.equal((await get(p.port, '/v1/chat/completions', METRICS_KEY)).status, 401, 'metrics_key opens /metrics only');
    } finally { await p.stop(); }
  }, { timeout: 40000 });

  test('metrics: metrics_public needs no key', async (ctx) => {
    const p = await stack(ctx, opsConfig(ctx.mock, { metrics_public: true, metrics_key: undefined }), 1);
    try {
      const r = await get(p.port, '/metrics', null);
      assert.equal(r.status, 200);
      assert.match(r.body, /^# HELP aiproxy_/m);
    } finally { await p.stop(); }
  });

  test('metrics: promtool-valid; counters from two processes add up; per key, state, 429s by limit, histograms', async (ctx) => {
    const cfg = opsConfig(ctx.mock);
    cfg.provider_keys[1] = Object.assign({}, cfg.provider_keys[1], { max_request_min: 2, max_request_day: 1000 });
    const p = await stack(ctx, cfg, 2);
    try {
      const N = 24;
      const rs = await Promise.all(Array.from({ length: N }, (_, i) => chat(p.port, `m${i}`)));
      assert.deepEqual(rs.map((r) => r.status), Array(N).fill(200));
      // Gemini: 2 keys x 2 a minute -> the 5th and 6th are ours 429s
      const gs = [];
      for (let i = 0; i < 6; i++) gs.push((await chat(p.port, `g${i}`, 'gemini-mock-text')).status);
      assert.deepEqual(gs.filter((s) => s === 429).length, 2, `gemini statuses ${gs}`);
      // one key answers 429 upstream once
      await ctx.mock.faults([{ key: OK[1], status: 429, headers: { 'retry-after': '30' }, times: 1,
        body: { error: { message: 'Rate limit exceeded', code: 429 } } }]);
      for (let i = 0; i < 6; i++) assert.equal((await chat(p.port, `f${i}`)).status, 200);
      await h.sleep(1500);	// every responder flushes about once a second
      const r = await get(p.port, '/metrics', METRICS_KEY);
      assert.equal(r.status, 200);
      const pt = promtool(r.body);
      assert.ok(pt.ok, `promtool check metrics: ${pt.out}`);
      const req = (route, prov, cls) => sample(r.body,
        `aiproxy_requests_total{route="${route}",dialect="chat",provider="${prov}",status_class="${cls}"}`) || 0;
      assert.equal(req('chat/completions', 'openrouter', '2xx'), N + 6, 'chat 2xx on openrouter, both processes');
      assert.equal(req('chat/completions', 'gemini', '2xx'), 4);
      assert.equal(req('chat/completions', 'none', '4xx'), 2, 'our 429s: no provider served');
      assert.equal(sample(r.body, 'aiproxy_rate_limited_total{limit="key_rate_limit"}'), 2);
      assert.equal(sample(r.body, 'aiproxy_upstream_attempts_total{provider="openrouter",outcome="rate_limited"}'), 1);
      assert.equal(sample(r.body, 'aiproxy_upstream_attempts_total{provider="openrouter",outcome="ok"}'), N + 6);
      const k1 = h.keyId(OK[1]);
      assert.equal(sample(r.body, `aiproxy_key_state{provider="openrouter",key_id="${k1}",owner="",state="cooling"}`), 1);
      const until = sample(r.body, `aiproxy_key_until_seconds{provider="openrouter",key_id="${k1}",owner=""}`);
      assert.ok(until > Date.now() / 1000 + 20 && until < Date.now() / 1000 + 31, `cooldown until ${until}`);
      const life = OK.map((k) => sample(r.body, `aiproxy_key_requests_total{provider="openrouter",key_id="${h.keyId(k)}",owner=""}`));
      assert.equal(life.reduce((a, b) => a + b, 0), N + 6, `per key lifetime ${life} (the 429 gave its slot back)`);
      const g = h.keyId(h.KEYS.gemini[0]);
      assert.equal(sample(r.body, `aiproxy_key_limit{provider="gemini",key_id="${g}",owner="",window="requests_minute"}`), 2);
      assert.equal(sample(r.body, `aiproxy_key_remaining{provider="gemini",key_id="${g}",owner="",window="requests_minute"}`), 0);
      assert.equal(sample(r.body, 'aiproxy_upstream_latency_seconds_count{provider="openrouter"}'), N + 6);
      assert.ok(sample(r.body, 'aiproxy_overhead_seconds_count') >= N + 12);
      for (const k of [...OK, ...h.KEYS.gemini]) assert.ok(!r.body.includes(k), 'no key in /metrics');
      assert.match(p.errorLog(), /overhead_ms=\d+\.\d{3} /, 'the log line gives the overhead');
    } finally { await ctx.mock.faults([]); await p.stop(); }
  }, { timeout: 60000 });

  test('metrics: a real Prometheus scrapes /metrics with the scraper key and answers queries about it', async (ctx) => {
    const p = await stack(ctx, opsConfig(ctx.mock), 2);
    const dir = h.tmpdir('prom');
    const port = await h.freePort();
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: aiproxy',
      '    metrics_path: /metrics',
      '    authorization: {type: Bearer, credentials_file: ' + path.join(dir, 'key') + '}',
      `    static_configs: [{targets: ['127.0.0.1:${p.port}']}]`, ''].join('\n'));
    fs.writeFileSync(path.join(dir, 'key'), METRICS_KEY);
    const prom = h.track(spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'prom.log'), 'a')] }));
    try {
      for (let i = 0; i < 7; i++) assert.equal((await chat(p.port, `p${i}`)).status, 200);
      const q = async (expr) => {
        const r = await h.request(port, 'GET', `/api/v1/query?query=${encodeURIComponent(expr)}`, { auth: false, capture: false });
        return r.status === 200 && r.json && r.json.status === 'success' ? r.json.data.result : null;
      };
      const got = await h.waitFor(async () => {
        const res = await q('sum(aiproxy_requests_total{route="chat/completions",status_class="2xx"})');
        return res && res.length === 1 && Number(res[0].value[1]) === 7 ? res : null;
      }, 20000, 'Prometheus has scraped 7 chat requests');
      assert.equal(Number(got[0].value[1]), 7);
      const up = await q('up{job="aiproxy"}');
      assert.equal(Number(up[0].value[1]), 1, 'the scrape succeeds');
      const keys = await q('aiproxy_key_state{state="active"}');
      assert.equal(keys.length, OK.length + h.KEYS.gemini.length, 'one active gauge per key id');
      const low = await q('aiproxy_key_remaining{window="requests_day"} / aiproxy_key_limit{window="requests_day"} < 0.1');
      assert.deepEqual(low, [], 'the alert expression of README evaluates (nothing below 10 %)');
    } finally {
      prom.kill('SIGTERM');
      await h.waitFor(() => prom.exitCode !== null || prom.signalCode, 10000, 'prometheus exit');
      await p.stop();
    }
  }, { timeout: 60000 });

  test('ctl: keys, usage, disable/enable/reset on a running stack; exit codes; a disabled key gets nothing', async (ctx) => {
    const p = await stack(ctx, opsConfig(ctx.mock), 2);
    const bin = ctx.bin;
    try {
      for (let i = 0; i < 6; i++) assert.equal((await chat(p.port, `c${i}`)).status, 200);
      let r = ctl(bin, p.cfgFile, ['keys']);
      assert.equal(r.rc, 0, r.err);
      for (const k of OK) assert.match(r.out, new RegExp(`^${h.keyId(k)} +openrouter +- +active`, 'm'));
      r = ctl(bin, p.cfgFile, ['keys', '--json']);
      const keys = JSON.parse(r.out);
      assert.equal(keys.length, OK.length + h.KEYS.gemini.length);
      r = ctl(bin, p.cfgFile, ['usage', '--json']);
      assert.equal(r.rc, 0);
      const u = JSON.parse(r.out);
      assert.equal(u.overview.openrouter.total_requests, 6, 'the CLI reads the stack\'s ledger');
      r = ctl(bin, p.cfgFile, ['usage']);
      assert.match(r.out, /openrouter: 6 of \d+ requests/);
      const victim = h.keyId(OK[0]);
      r = ctl(bin, p.cfgFile, ['disable', victim, '--reason', 'rotating']);
      assert.equal(r.rc, 0, r.err);
      await ctx.mock.reset();
      for (let i = 0; i < 9; i++) assert.equal((await chat(p.port, `d${i}`)).status, 200);
      const seen = (await ctx.mock.requests()).filter((q) => q.path.endsWith('/chat/completions'));
      assert.equal(seen.length, 9);
      assert.ok(seen.every((q) => OK.includes(keyOf(q))), 'the mock saw which key');
      assert.equal(seen.filter((q) => keyOf(q) === OK[0]).length, 0, 'the disabled key got no request');
      const uu = (await get(p.port, '/v1/usage')).json;
      const ent = uu.details.openrouter.keys[victim];
      assert.equal(ent.state, 'disabled');
      assert.equal(ent.reason, 'operator: rotating');
      assert.equal(ent.until, null, 'no probe time');
      r = ctl(bin, p.cfgFile, ['enable', victim]);
      assert.equal(r.rc, 0);
      await ctx.mock.reset();
      for (let i = 0; i < 9; i++) assert.equal((await chat(p.port, `e${i}`)).status, 200);
      assert.ok((await ctx.mock.requests()).some((q) => keyOf(q) === OK[0]), 'enabled again: it serves');
      r = ctl(bin, p.cfgFile, ['reset', victim]);
      assert.equal(r.rc, 4, 'reset asks for --yes');
      assert.match(r.err, /--yes/);
      r = ctl(bin, p.cfgFile, ['reset', victim, '--yes']);
      assert.equal(r.rc, 0);
      const after = (await get(p.port, '/v1/usage')).json.details.openrouter.keys[victim];
      assert.equal(after.rate_limit_windows.req_day, 0, 'its windows are empty');
      assert.ok(after.lifetime_requests > 0, 'its lifetime counters stay');
      r = ctl(bin, p.cfgFile, ['reset', '--all', '--yes']);
      assert.equal(r.rc, 0);
      assert.equal((await get(p.port, '/v1/usage')).json.overview.openrouter.total_requests, 0);
      assert.equal(ctl(bin, p.cfgFile, ['enable', 'deadbeef']).rc, 3, 'unknown id: 3');
      assert.equal(ctl(bin, p.cfgFile, ['frobnicate']).rc, 2, 'unknown command: 2');
      assert.equal(ctl(bin, p.cfgFile, ['disable']).rc, 2, 'missing id: 2');
      // a key taken out of the config: its history stays readable
      const cut = JSON.parse(fs.readFileSync(p.cfgFile, 'utf8'));
      cut.provider_keys[0].key = OK.slice(1);
      const cutFile = path.join(p.tmp, 'config-cut.json');
      fs.writeFileSync(cutFile, JSON.stringify(cut));
      r = ctl(bin, cutFile, ['keys', '--json']);
      assert.equal(r.rc, 0, r.err);
      const gone = JSON.parse(r.out).find((x) => x.id === victim);
      assert.ok(gone && gone.in_config === false && gone.lifetime_requests > 0,
        `the removed key is listed with its lifetime: ${JSON.stringify(gone)}`);
      assert.match(ctl(bin, cutFile, ['keys']).out, new RegExp(`no longer in the config[^]*${victim}`));
      r = ctl(bin, p.cfgFile, ['check-config']);
      assert.equal(r.rc, 0);
      assert.match(r.out, /configuration OK/);
      const bad = h.writeConfig({ access_key: 'x' });
      r = ctl(bin, bad, ['keys']);
      assert.equal(r.rc, 1, 'an invalid config: 1');
      assert.match(r.err, /provider_keys/);
      for (const k of OK) assert.ok(!r.out.includes(k) && !r.err.includes(k));
    } finally { await p.stop(); }
  }, { timeout: 60000 });

  test('ctl and metrics on the Redis ledger: two stacks, one view; disable from the CLI holds on both', async (ctx) => {
    const redis = await h.startRedis();
    const stacks = [];
    try {
      const cfg = Object.assign(opsConfig(ctx.mock), { state_backend: 'redis', redis_url: redis.url,
        redis_prefix: `aiproxy-ops-${process.pid}:` });
      for (let i = 0; i < 2; i++) stacks.push(await ctx.startProxy(Object.assign({}, cfg, { state_dir: h.tmpdir(`opsr${i}`) }),
        { procs: 1, threads: 4, env: { AIPROXY_TEST_LEDGER_CALLER_CLOCK: null } }));
      for (let i = 0; i < 4; i++) assert.equal((await chat(stacks[i % 2].port, `r${i}`)).status, 200);
      const file = path.join(stacks[0].tmp, 'config.json');
      const victim = h.keyId(OK[2]);
      let r = ctl(ctx.bin, file, ['disable', victim]);
      assert.equal(r.rc, 0, r.err);
      r = ctl(ctx.bin, file, ['keys', '--json']);
      assert.equal(JSON.parse(r.out).find((x) => x.id === victim).state, 'disabled');
      await ctx.mock.reset();
      for (let i = 0; i < 8; i++) assert.equal((await chat(stacks[i % 2].port, `s${i}`)).status, 200);
      assert.equal((await ctx.mock.requests()).filter((q) => keyOf(q) === OK[2]).length, 0,
        'neither host used the disabled key');
      await h.sleep(1500);
      const m = await get(stacks[1].port, '/metrics', METRICS_KEY);
      assert.equal(sample(m.body, 'aiproxy_ledger_info{backend="redis"}'), 1);
      assert.equal(sample(m.body, 'aiproxy_requests_total{route="chat/completions",dialect="chat",provider="openrouter",status_class="2xx"}'), 12,
        'both hosts\' requests in one count');
      assert.equal(sample(m.body, `aiproxy_key_state{provider="openrouter",key_id="${victim}",owner="",state="disabled"}`), 1);
      assert.ok(promtool(m.body).ok);
      r = ctl(ctx.bin, file, ['usage', '--json']);
      assert.equal(r.rc, 0);
      assert.equal(JSON.parse(r.out).ledger_backend, 'redis');
      const cut = JSON.parse(fs.readFileSync(file, 'utf8'));
      cut.provider_keys[0].key = OK.slice(0, 2);
      const cutFile = path.join(stacks[0].tmp, 'config-cut.json');
      fs.writeFileSync(cutFile, JSON.stringify(cut));
      const gone = JSON.parse(ctl(ctx.bin, cutFile, ['keys', '--json']).out).find((x) => x.id === victim);
      assert.ok(gone && gone.in_config === false && gone.state === 'disabled' && gone.lifetime_requests > 0,
        `Redis: the removed key's history: ${JSON.stringify(gone)}`);
    } finally {
      for (const s of stacks) await s.stop();
      await redis.stop();
    }
  }, { timeout: 60000 });

  test('models: a client key lists only the models it may ask for; the admin key all of them', async (ctx) => {
    const team = 'px-client-ops-models-3b9d1f7a2c5e4d80';
    const cfg = opsConfig(ctx.mock, { access_keys: [{ name: 'gem-only', key: team, models: ['gemini-*'] }] });
    const p = await stack(ctx, cfg, 1);
    try {
      const admin = (await get(p.port, '/v1/models')).json.data.map((m) => m.id);
      assert.ok(admin.includes('auto-model') && admin.some((id) => !id.startsWith('gemini')), `admin: ${admin}`);
      const mine = (await get(p.port, '/v1/models', team)).json.data.map((m) => m.id);
      assert.ok(mine.length > 0 && mine.every((id) => id.startsWith('gemini')), `client: ${mine}`);
      assert.ok(!mine.includes('auto-model'), 'auto-model only when listed');
      assert.equal((await get(p.port, '/v1/models/openai/mock-text', team)).status, 404);
      assert.equal((await get(p.port, '/v1/models/openai/mock-text')).status, 200);
    } finally { await p.stop(); }
  });

  test('ctl: never under CGI (argv there is a query string)', async (ctx) => {
    const state = h.tmpdir('ctlcgi');
    const file = h.writeConfig(Object.assign(opsConfig(ctx.mock), { state_dir: state }));
    const victim = h.keyId(OK[0]);
    const r = h.cgi(ctx.bin, file, 'GET', '/aiproxy/v1/models', undefined, 'wrong-key',
      { args: ['ctl', 'disable', victim] });
    assert.match(r.head, /^Status: 401/, 'answered as a CGI request');
    const k = ctl(ctx.bin, file, ['keys', '--json']);
    assert.equal(k.rc, 0, k.err);
    assert.equal(JSON.parse(k.out).find((x) => x.id === victim).state, 'active', 'nothing was disabled');
  });
};
