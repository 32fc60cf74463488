'use strict';
// dirs.js -- pool/aiproxy-spawn-fcgi.sh as root never chowns or chmods a
// directory it did not create (issue 9, M3): a socket in a shared temp dir
// or a log in the system log dir is refused before anything changes;
// missing directories are created for the service user; an existing one
// of the service user is used as it is; `stop` signals only processes
// that run the binary. Every process started here is stopped by PID.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const h = require('../integ/harness');
const L = require('./lib');

const SCRIPT = path.join(L.DEPLOY, 'pool/aiproxy-spawn-fcgi.sh');

function stat(p) {
  const st = fs.statSync(p);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}
const fmt = (s) => `uid ${s.uid} gid ${s.gid} mode ${s.mode.toString(8)}`;

function pidsIn(pidfile) {
  return fs.existsSync(pidfile) ?
    fs.readFileSync(pidfile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

// Run the script; whatever it started is stopped again here, by PID.
async function run(env, cmd, vars) {
  const r = spawnSync('/bin/sh', [SCRIPT, cmd], { encoding: 'utf8', timeout: 20000,
    env: Object.assign({}, process.env, env.asan, {
      AIPROXY_BIN: env.bin, AIPROXY_CONFIG: env.config, AIPROXY_PROCS: '1', AIPROXY_THREADS: '2',
      AIPROXY_USER: L.RUN_AS.user, AIPROXY_SOCKET_GROUP: L.RUN_AS.group,
      AIPROXY_PIDFILE: env.path('run/spawn-fcgi.pid') }, vars) });
  return r;
}

async function killPidfile(env, known = []) {
  const pids = [...known, ...pidsIn(env.path('run/spawn-fcgi.pid'))];
  for (const pid of pids) try { process.kill(pid, 'SIGTERM'); } catch (e) { /* gone */ }
  await h.waitFor(() => pids.every((p) => !L.pidAlive(p)), 10000, 'spawn-fcgi responders to exit')
    .catch(() => { for (const p of pids) try { process.kill(p, 'SIGKILL'); } catch (e) { /* gone */ } });
  fs.rmSync(env.path('run/spawn-fcgi.pid'), { force: true });
}

// A shared temp dir (root 1777) for the socket and a system log dir (root
// 0755) for the log: refused, each on its own, with a message naming the
// directory; both keep owner and mode; nothing is created or started.
async function sharedDirsRefused(env) {
  if (!L.IS_ROOT) return 'skipped: needs root';
  const tmp = L.mkdir(env.path('sys/tmp'), 0o1777, { uid: 0, gid: 0 });
  const log = L.mkdir(env.path('sys/log'), 0o755, { uid: 0, gid: 0 });
  const before = [stat(tmp), stat(log)];
  const fresh = env.path('run/fresh');
  const cases = [
    ['socket in the shared temp dir, log in the system log dir', tmp,
      { AIPROXY_LISTEN: `${tmp}/aiproxy.sock`, AIPROXY_LOG: `${log}/aiproxy.log` }],
    ['log in the system log dir (socket dir missing)', log,
      { AIPROXY_LISTEN: `${fresh}/app.sock`, AIPROXY_LOG: `${log}/aiproxy.log` }],
    ['socket in the shared temp dir (log dir missing)', tmp,
      { AIPROXY_LISTEN: `${tmp}/aiproxy.sock`, AIPROXY_LOG: `${env.path('sys/newlog')}/aiproxy.log` }],
  ];
  const bad = [];
  for (const [what, named, vars] of cases) {
    const r = await run(env, 'start', vars);
    const started = pidsIn(env.path('run/spawn-fcgi.pid')).length;
    await killPidfile(env);
    if (r.status === 0) bad.push(`${what}: start succeeded (${started} responder(s))`);
    else if (!r.stderr.includes(named) || !/refus/i.test(r.stderr))
      bad.push(`${what}: no clear refusal naming ${named}: ${r.stderr.trim().slice(0, 300)}`);
    [tmp, log].forEach((d, i) => {
      const now = stat(d);
      if (fmt(now) !== fmt(before[i])) bad.push(`${what}: ${d} changed from ${fmt(before[i])} to ${fmt(now)}`);
    });
    for (const p of [`${tmp}/aiproxy.sock`, `${log}/aiproxy.log`, fresh, env.path('sys/newlog')])
      if (fs.existsSync(p)) { bad.push(`${what}: ${p} was created`); fs.rmSync(p, { recursive: true, force: true }); }
  }
  if (bad.length) throw new Error(bad.join('\n'));
}

// Missing socket and log dirs (their parents root's, 0755) are created
// for the service user; once they exist and are the service user's, a
// second start uses them as they are (no chmod back).
async function missingDirsCreated(env) {
  if (!L.IS_ROOT) return 'skipped: needs root';
  const sockdir = path.join(L.mkdir(env.path('sys/run'), 0o755), 'aiproxy');
  const logdir = path.join(L.mkdir(env.path('sys/varlog'), 0o755), 'aiproxy');
  const vars = { AIPROXY_LISTEN: `${sockdir}/app.sock`, AIPROXY_LOG: `${logdir}/aiproxy.log` };
  try {
    let r = await run(env, 'start', vars);
    assert.equal(r.status, 0, `start: ${r.stderr}`);
    const pids = pidsIn(env.path('run/spawn-fcgi.pid'));
    assert.equal(pids.length, 1, 'one responder');
    const want = (d, mode, gid) => {
      const s = stat(d);
      assert.equal(s.uid, L.RUN_AS.uid, `${d}: owner ${s.uid}, not ${L.RUN_AS.user}`);
      if (gid !== undefined) assert.equal(s.gid, gid, `${d}: group ${s.gid}`);
      assert.equal(s.mode, mode, `${d}: mode ${s.mode.toString(8)}`);
    };
    want(sockdir, 0o750, L.RUN_AS.gid);
    want(logdir, 0o700);
    assert.equal(stat(`${sockdir}/app.sock`).mode, 0o660, 'socket 0660');
    r = await run(env, 'stop', vars);
    assert.equal(r.status, 0, `stop: ${r.stderr}`);
    await killPidfile(env, pids);
    // the service user's own dirs, changed by their owner: used as they are
    fs.chmodSync(sockdir, 0o710);
    fs.chmodSync(logdir, 0o750);
    r = await run(env, 'start', vars);
    assert.equal(r.status, 0, `second start: ${r.stderr}`);
    want(sockdir, 0o710, L.RUN_AS.gid);
    want(logdir, 0o750);
  } finally {
    await killPidfile(env);
  }
}

// The pid file may sit in the service user's directory: `stop` (root)
// signals only processes that run AIPROXY_BIN, never any PID it holds.
async function stopOnlyOwnPids(env) {
  const other = h.track(spawn('sleep', ['30'], { stdio: 'ignore' }));
  try {
    await h.waitFor(() => L.pidAlive(other.pid), 5000, 'sleep to start');
    fs.writeFileSync(env.path('run/spawn-fcgi.pid'), `${other.pid}\n`);
    const r = await run(env, 'stop', {});
    assert.equal(r.status, 0, `stop: ${r.stderr}`);
    await h.sleep(300);
    assert.ok(L.pidAlive(other.pid) && other.exitCode === null && !other.signalCode,
      `stop signalled pid ${other.pid}, which runs sleep, not the binary`);
  } finally {
    other.kill('SIGKILL');
    fs.rmSync(env.path('run/spawn-fcgi.pid'), { force: true });
  }
}

module.exports = { sharedDirsRefused, missingDirsCreated, stopOnlyOwnPids };
