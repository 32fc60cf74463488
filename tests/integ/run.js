'use strict';
// run.js -- the integration suite: one mock upstream and one lighttpd that
// spawns the proxy are shared by the cases; cases that need another config
// start their own. Ends with the official openai client, the secret-leak
// check and the sanitizer check, then prints "N passed, N failed".
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

const args = process.argv.slice(2);
const bin = path.resolve(args[args.indexOf('--bin') + 1] || 'build/asan/aiproxy');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const FILES = ['test_chat', 'test_stream', 'test_tools', 'test_errors', 'test_endpoints',
  'test_modes', 'test_ledger', 'test_failures', 'test_security', 'test_dialects', 'test_native',
  'test_redis', 'test_ops', 'test_quota', 'test_reload'];

const cases = [];
function test(name, fn, opts = {}) { cases.push({ name, fn, opts }); }
for (const f of FILES) require(`./${f}`)(test);

let passed = 0;
let failed = 0;
function report(ok, name, err) {
  if (ok) { passed++; console.log(`ok - ${name}`); return; }
  failed++;
  console.log(`not ok - ${name}: ${err && err.stack ? err.stack.split('\n').slice(0, 4).join(' | ') : err}`);
}

async function withTimeout(p, ms, name) {
  let timer;
  const t = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${name}: timed out after ${ms} ms`)), ms); });
  try { return await Promise.race([p, t]); } finally { clearTimeout(timer); }
}

async function sdkTest(ctx) {
  const dir = path.join(h.ROOT, 'tests/client');
  if (!fs.existsSync(path.join(dir, 'node_modules/openai'))) {
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: dir, encoding: 'utf8', timeout: 300000 });
    if (r.status !== 0) throw new Error(`npm install failed: ${r.stderr}`);
  }
  const r = spawnSync(process.execPath, [path.join(dir, 'sdk_test.mjs')], {
    encoding: 'utf8', timeout: 120000,
    env: Object.assign({}, process.env, {
      AIPROXY_BASE_URL: `http://127.0.0.1:${ctx.proxy.port}/v1`, AIPROXY_KEY: h.ACCESS_KEY }),
  });
  process.stdout.write(r.stdout.split('\n').map((l) => (l ? `  sdk: ${l}` : l)).join('\n'));
  h.captured.push(r.stdout);
  const m = /^(\d+) passed, (\d+) failed/m.exec(r.stdout);
  if (!m) throw new Error(`sdk_test printed no summary: ${r.stderr}`);
  if (Number(m[2]) !== 0 || Number(m[1]) === 0) throw new Error(`sdk_test: ${m[0]}`);
  return Number(m[1]);
}

function leakCheck(logs, full) {
  const secrets = [...h.KEYS.openrouter, ...h.KEYS.gemini];
  const haystacks = h.captured.concat(logs);
  for (const s of secrets)
    for (const text of haystacks)
      if (text.includes(s)) throw new Error(`provider key ${s.slice(0, 12)}... leaked`);
  if (full && h.captured.length < 20) throw new Error('too few responses captured to check');
}

async function main() {
  const ctx = { bin, h };
  ctx.mock = await h.startMock();
  ctx.proxy = await h.startProxy(bin, h.baseConfig(ctx.mock));
  ctx.logs = [];
  // cases that need another config start their own lighttpd through this
  ctx.startProxy = async (cfg, opts) => {
    const p = await h.startProxy(bin, cfg, opts);
    ctx.logs.push(p);
    return p;
  };
  for (const c of cases) {
    if (only && !c.name.includes(only)) continue;
    try {
      await ctx.mock.reset();
      await withTimeout(c.fn(ctx), c.opts.timeout || 30000, c.name);
      report(true, c.name);
    } catch (e) { report(false, c.name, e); }
  }
  if (!only) {
    try { const n = await sdkTest(ctx); report(true, `openai sdk client (${n} checks)`); }
    catch (e) { report(false, 'openai sdk client', e); }
  }
  const log = ctx.proxy.errorLog();
  try {
    await ctx.proxy.stop();
    report(true, 'lighttpd stop: spawned threaded responders exit on SIGTERM');
  } catch (e) { report(false, 'lighttpd stop: spawned threaded responders exit on SIGTERM', e); }
  const reports = ctx.proxy.sanitizerReports().concat(ctx.logs.flatMap((p) => p.sanitizerReports()));
  report(reports.length === 0, 'no sanitizer reports from the responders',
    reports.join('\n').slice(0, 2000));
  try {
    if (!only && !/req=\S+ POST \/v1\/chat\/completions model=\S+ provider=\S+ key=[0-9a-f]{8}/.test(log))
      throw new Error('request log lines missing from the error log');
    leakCheck([log, ...ctx.logs.map((p) => p.errorLog())], !only);
    report(true, 'no provider key in any response body or log; request lines logged');
  } catch (e) { report(false, 'secret-leak check', e); }
  await ctx.mock.stop();
}

main().catch((e) => report(false, 'harness', e)).finally(() => {
  h.killAll();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
