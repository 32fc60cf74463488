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
  'apache/aiproxy-fcgid.conf', 'apache/aiproxy-cgid.conf', 'nginx/aiproxy.conf',
  'pool/aiproxy.service', 'pool/aiproxy-spawn-fcgi.sh', 'pool/aiproxy-listen.sh',
  'shared-hosting/htaccess', 'shared-hosting/aiproxy.cgi'];

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

module.exports = { SHIPPED, fresh, otherPrefix, rejects };
