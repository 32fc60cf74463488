'use strict';
// install.js -- deploy/install.sh (what `make install` runs) into temp
// DESTDIRs: files and modes, the state dir's owner, a kept config, PREFIX
// rewriting, and the installed binary accepting the installed sample.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../integ/harness');
const L = require('./lib');

// Every recipe file install.sh must ship (paths under deploy/).
const SHIPPED = ['README.md', 'config.sample.json', 'lighttpd/aiproxy-spawned.conf',
  'lighttpd/aiproxy-pool.conf', 'lighttpd/aiproxy-cgi.conf', 'apache/aiproxy-proxy-fcgi.conf',
  'apache/aiproxy-fcgid.conf', 'apache/aiproxy-cgid.conf', 'apache/aiproxy-cgi-wrapper.sh',
  'nginx/aiproxy.conf',
  'pool/aiproxy.service', 'pool/aiproxy-spawn-fcgi.sh', 'pool/aiproxy-listen.sh',
  'shared-hosting/htaccess', 'shared-hosting/aiproxy.cgi',
  'two-hosts/README.md', 'two-hosts/config.host.json', 'two-hosts/redis.conf'];

function mode(p) { return fs.lstatSync(p).mode & 0o7777; }

// Run install.sh as `make install` does, under a hostile umask.
function install(dest, prefix, env = {}) {
  const r = spawnSync('/bin/sh', ['-c', 'umask 000 && exec sh "$@"', 'sh',
    path.join(L.DEPLOY, 'install.sh'), dest, prefix], {
    encoding: 'utf8', timeout: 30000, env: Object.assign({}, process.env, env) });
  assert.equal(r.status, 0, `install.sh: ${r.stderr}${r.stdout}`);
  return r;
}

async function fresh(bin) {
  const dest = h.tmpdir('destdir');
  const env = { AIPROXY_BIN: bin };
  if (L.IS_ROOT) env.AIPROXY_USER = L.RUN_AS.user;
  install(dest, '/usr/local', env);
  const d = (p) => path.join(dest, p);
  const lib = d('usr/local/lib/aiproxy/aiproxy');
  assert.equal(mode(lib), 0o755, 'binary 0755');
  assert.equal(fs.readlinkSync(d('usr/local/bin/aiproxy')), '../lib/aiproxy/aiproxy');
  for (const f of SHIPPED) {
    const p = d(`usr/local/share/aiproxy/${f}`);
    assert.ok(fs.existsSync(p), `share/aiproxy/${f} installed`);
    const x = fs.statSync(path.join(L.DEPLOY, f)).mode & 0o111;
    assert.equal(mode(p), x ? 0o755 : 0o644, `${f} mode`);
  }
  // the CGI wrapper sits next to the binary (apache/aiproxy-cgid.conf) and
  // passes no arguments on
  const wrapper = d('usr/local/lib/aiproxy/aiproxy-cgi-wrapper.sh');
  assert.equal(mode(wrapper), 0o755, 'lib/aiproxy/aiproxy-cgi-wrapper.sh 0755');
  assert.match(fs.readFileSync(wrapper, 'utf8'), /^exec \/usr\/local\/lib\/aiproxy\/aiproxy$/m,
    'the wrapper execs the binary with no arguments');
  for (const f of ['run-local.sh', 'lighttpd-local.conf', 'install.sh'])
    assert.ok(!fs.existsSync(d(`usr/local/share/aiproxy/${f}`)), `${f} is not a recipe`);
  const cfg = d('etc/aiproxy/config.json');
  assert.equal(mode(cfg), 0o640, 'config 0640');
  assert.equal(mode(d('etc/aiproxy')), 0o750, '/etc/aiproxy 0750');
  const state = d('var/lib/aiproxy');
  assert.equal(mode(state), 0o700, 'state dir 0700');
  if (L.IS_ROOT) {
    assert.equal(fs.statSync(state).uid, L.RUN_AS.uid, 'state dir owned by AIPROXY_USER');
    assert.equal(fs.statSync(cfg).gid, L.RUN_AS.gid, 'config group is AIPROXY_USER\'s');
    assert.equal(fs.statSync(cfg).uid, 0, 'config owned by root');
  }
  const c = spawnSync(lib, ['--check-config', cfg], { encoding: 'utf8', timeout: 20000 });
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.stdout.trim(), 'configuration OK');
  // a second install keeps an edited config and fixes a loosened state dir
  fs.appendFileSync(cfg, '\n');
  const before = fs.readFileSync(cfg, 'utf8');
  fs.chmodSync(state, 0o755);
  install(dest, '/usr/local', env);
  assert.equal(fs.readFileSync(cfg, 'utf8'), before, 'existing config kept');
  assert.equal(mode(state), 0o700, 'state dir back to 0700');
  return dest;
}

async function otherPrefix(bin) {
  const dest = h.tmpdir('destdir');
  install(dest, '/opt/aiproxy', { AIPROXY_BIN: bin });
  const share = path.join(dest, 'opt/aiproxy/share/aiproxy');
  for (const f of SHIPPED) {
    const text = fs.readFileSync(path.join(share, f), 'utf8');
    assert.ok(!text.includes('/usr/local/'), `${f}: /usr/local rewritten`);
  }
  assert.match(fs.readFileSync(path.join(share, 'pool/aiproxy.service'), 'utf8'),
    /^ExecStart=\/opt\/aiproxy\/lib\/aiproxy\/aiproxy --listen/m);
  assert.ok(fs.existsSync(path.join(dest, 'opt/aiproxy/lib/aiproxy/aiproxy')));
  assert.match(fs.readFileSync(path.join(dest, 'opt/aiproxy/lib/aiproxy/aiproxy-cgi-wrapper.sh'), 'utf8'),
    /^exec \/opt\/aiproxy\/lib\/aiproxy\/aiproxy$/m, 'the installed wrapper execs this PREFIX\'s binary');
  assert.ok(fs.existsSync(path.join(dest, 'etc/aiproxy/config.json')), 'config under DESTDIR/etc');
  return dest;
}

function rejects() {
  const dest = h.tmpdir('destdir');
  const r = spawnSync('sh', [path.join(L.DEPLOY, 'install.sh'), dest, 'usr'],
    { encoding: 'utf8', timeout: 20000 });
  const left = fs.readdirSync(dest);
  fs.rmSync(dest, { recursive: true, force: true });
  assert.notEqual(r.status, 0, 'a relative PREFIX is refused');
  assert.deepEqual(left, [], 'nothing installed');
}

// --- directories install.sh did not create (issue 9, M3) ---------------

const NOBODY = { uid: 65534, gid: 65534 };	// "somebody else"
function owned(p) {
  const st = fs.lstatSync(p);
  return `uid ${st.uid} gid ${st.gid} mode ${(st.mode & 0o7777).toString(8)}`;
}

// An existing /etc/aiproxy of another user: the config with every key
// must not go in, the directory must not change, and the refusal comes
// before anything is installed.
async function foreignEtcRefused(bin) {
  if (!L.IS_ROOT) return 'skipped: needs root';
  const dest = h.tmpdir('destdir');
  try {
    const etc = L.mkdir(path.join(dest, 'etc/aiproxy'), 0o777, NOBODY);
    const before = owned(etc);
    const r = spawnSync('/bin/sh', ['-c', 'umask 000 && exec sh "$@"', 'sh',
      path.join(L.DEPLOY, 'install.sh'), dest, '/usr/local'], { encoding: 'utf8', timeout: 30000,
      env: Object.assign({}, process.env, { AIPROXY_BIN: bin, AIPROXY_USER: L.RUN_AS.user }) });
    const bad = [];
    if (r.status === 0) bad.push('install.sh succeeded');
    else if (!r.stderr.includes(etc) || !/refus/i.test(r.stderr))
      bad.push(`no clear refusal naming ${etc}: ${r.stderr.trim().slice(0, 300)}`);
    if (owned(etc) !== before) bad.push(`${etc} changed from ${before} to ${owned(etc)}`);
    if (fs.existsSync(path.join(etc, 'config.json'))) bad.push('a config was put into it');
    const left = fs.readdirSync(dest).filter((e) => e !== 'etc');
    if (left.length) bad.push(`installed before refusing: ${left.join(', ')}`);
    if (bad.length) throw new Error(bad.join('; '));
  } finally { fs.rmSync(dest, { recursive: true, force: true }); }
}

// Existing directories install.sh did not create keep owner and mode:
// another user's state dir (left alone, with a message), an existing
// PREFIX/bin with its own mode (2775). An existing /etc/aiproxy of the
// installing user (root) still gets the config, 0750 with the group.
async function foreignDirsKept(bin) {
  if (!L.IS_ROOT) return 'skipped: needs root';
  const dest = h.tmpdir('destdir');
  try {
    const state = L.mkdir(path.join(dest, 'var/lib/aiproxy'), 0o755, NOBODY);
    const bindir = L.mkdir(path.join(dest, 'usr/local/bin'), 0o2775, { uid: 0, gid: 0 });
    const etc = L.mkdir(path.join(dest, 'etc/aiproxy'), 0o755, { uid: 0, gid: 0 });
    const before = [owned(state), owned(bindir)];
    const r = install(dest, '/usr/local', { AIPROXY_BIN: bin, AIPROXY_USER: L.RUN_AS.user });
    const bad = [];
    if (owned(state) !== before[0]) bad.push(`${state} changed from ${before[0]} to ${owned(state)}`);
    if (!r.stdout.includes(state)) bad.push(`no message about ${state}: ${r.stdout.trim()}`);
    if (owned(bindir) !== before[1]) bad.push(`${bindir} changed from ${before[1]} to ${owned(bindir)}`);
    const cfg = path.join(etc, 'config.json');
    if (!fs.existsSync(cfg)) bad.push('no config in the installing user\'s existing /etc/aiproxy');
    else if (owned(cfg) !== `uid 0 gid ${L.RUN_AS.gid} mode 640`) bad.push(`config: ${owned(cfg)}`);
    if (owned(etc) !== `uid 0 gid ${L.RUN_AS.gid} mode 750`) bad.push(`${etc}: ${owned(etc)}`);
    if (bad.length) throw new Error(bad.join('; '));
  } finally { fs.rmSync(dest, { recursive: true, force: true }); }
}

module.exports = { SHIPPED, fresh, otherPrefix, rejects, foreignEtcRefused, foreignDirsKept };
