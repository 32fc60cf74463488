'use strict';
// Run modes of the one binary: --check-config, plain CGI, and the own
// prefork pool (--listen) behind lighttpd, with prompt SIGTERM handling.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const h = require('./harness');

const CHAT = '/v1/chat/completions';
const user = (t) => [{ role: 'user', content: t }];

const { writeConfig, cgi } = h;

module.exports = (test) => {
  test('--check-config: seed config OK; a bad one lists each error by path', async ({ bin }) => {
    const good = spawnSync(bin, ['--check-config', path.join(h.ROOT, 'tests/unit/configs/seed.json')], { encoding: 'utf8' });
    assert.equal(good.status, 0, good.stderr);
    assert.equal(good.stdout.trim(), 'configuration OK');
    const bad = writeConfig({ access_key: 'k', provider_keys: [{ provider: 'openrouter', key: ['a'],
      max_request_day: 'many', max_token_min: 1, max_request_min: 1, bogus: 1 }] });
    const r = spawnSync(bin, ['--check-config', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /provider_keys\[0\]\.max_request_day: expected integer/);
    assert.match(r.stderr, /provider_keys\[0\]\.bogus: unknown key/);
    assert.ok(!r.stdout.includes('configuration OK'));
  });

  test('plain CGI: one request per process, JSON and SSE', async ({ bin, mock }) => {
    const file = writeConfig(h.baseConfig(mock));
    const a = cgi(bin, file, 'POST', '/cgi-bin/aiproxy/v1/chat/completions', { model: 'gemini-mock-text', messages: user('x') });
    assert.equal(a.rc, 0, a.stderr);
    assert.match(a.head, /^Status: 200/);
    assert.match(JSON.parse(a.body).choices[0].message.content, /Hello from/);
    assert.match(a.stderr, /req=\S+ POST/);
    const s = cgi(bin, file, 'POST', '/v1/chat/completions', { model: 'openai/mock-text', messages: user('x'), stream: true });
    assert.match(s.head, /Content-Type: text\/event-stream/);
    assert.match(s.body, /data: \[DONE\]\n\n$/);
    const u = cgi(bin, file, 'GET', '/v1/usage', undefined, 'wrong');
    assert.match(u.head, /^Status: 401/);
    assert.equal(JSON.parse(u.body).error.code, 'invalid_api_key');
  });

  test('--listen pool (2 processes x 4 threads) behind lighttpd; SIGTERM stops it', async ({ bin, mock }) => {
    const poolPort = await h.freePort();
    const file = writeConfig(h.baseConfig(mock));
    const pool = h.track(spawn(bin, ['--listen', `127.0.0.1:${poolPort}`, '--workers', '2', '--threads', '4'], {
      env: Object.assign({}, process.env, { AIPROXY_CONFIG: file, ASAN_OPTIONS: 'detect_leaks=1' }),
      stdio: ['ignore', 'ignore', 'pipe'] }));
    let log = '';
    pool.stderr.on('data', (c) => { log += c; });
    await h.waitFor(() => h.portOpen(poolPort), 10000, 'pool listening');
    const lport = await h.freePort();
    const tmp = h.tmpdir('pool');
    const lt = h.track(spawn('lighttpd', ['-D', '-f', path.join(h.ROOT, 'tests/integ/lighttpd-pool.conf')], {
      env: Object.assign({}, process.env, { PX_PORT: String(lport), PX_TMP: tmp, PX_POOL_PORT: String(poolPort) }),
      stdio: 'ignore' }));
    try {
      await h.waitFor(() => h.portOpen(lport), 10000, 'lighttpd');
      const r = await h.request(lport, 'POST', CHAT, { body: { model: 'openai/mock-text', messages: user('x') } });
      assert.equal(r.status, 200, r.body);
      const all = await Promise.all(Array.from({ length: 8 }, () =>
        h.stream(lport, CHAT, { model: 'openai/mock-slow', messages: user('x'), stream: true })));
      const lastFirst = Math.max(...all.map((s) => s.events[0].at));
      const firstEnd = Math.min(...all.map((s) => s.t0 + s.tEnd));
      assert.ok(lastFirst < firstEnd, '8 streams served at once by 2x4 threads');
      const pids = new Set([...log.matchAll(/aiproxy\[(\d+)\] INFO req=/g)].map((m) => m[1]));
      assert.equal(pids.size, 2, `both pool processes served: ${[...pids]}`);
    } finally {
      lt.kill('SIGTERM');
      const t0 = Date.now();
      pool.kill('SIGTERM');
      await h.waitFor(() => pool.exitCode !== null, 10000, 'pool exit on SIGTERM');
      assert.equal(pool.exitCode, 0);
      assert.ok(Date.now() - t0 < 5000, 'idle pool stops promptly');
    }
    assert.ok(!/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(log), log.slice(-2000));
    h.captured.push(log);
  }, { timeout: 40000 });
};
