'use strict';
// recipes.js -- each deploy/ recipe, started from its files in deploy/
// (system paths and ports templated into a temp tree) behind a real web
// server running in the foreground. start() returns what the checks need:
// {port, prefix, logFile, warm?}. Env.stopAll() stops everything started.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../integ/harness');
const L = require('./lib');
const { STREAMING, BUFFERED, QUERY_ARGV, PAGE, chat, queryListenPath } = require('./checks');

// Known proxy bug (not in deploy/): as plain CGI the proxy answers 413
// without reading stdin; Apache mod_cgid then fails writing the body to it
// (AH02651 Broken pipe) and resets the client instead of passing the 413.

const BIN = '/usr/local/lib/aiproxy';	// the binary's directory in deploy/
const CONFIG = '/etc/aiproxy/config.json';

async function waitPort(port, what) { await h.waitFor(() => h.portOpen(port), 15000, what); }

function mode(p) { return fs.statSync(p).mode & 0o7777; }

// --- web servers ----------------------------------------------------------

// vars: more environment for lighttpd, which hands its environment on to
// the responders it spawns (bin-path), as a systemd EnvironmentFile would.
async function lighttpd(env, snippetText, before = '', vars = {}) {
  const port = await h.freePort();
  const snippet = env.write('conf/aiproxy.conf', snippetText);
  const conf = env.write('conf/lighttpd.conf', L.lighttpdConf(env, port, snippet, before));
  const t = spawnSync('lighttpd', ['-tt', '-f', conf], { encoding: 'utf8', timeout: 20000 });
  assert.equal(t.status, 0, `lighttpd -tt: ${t.stderr}`);
  env.start('lighttpd', 'lighttpd', ['-D', '-f', conf], { env: vars });
  await waitPort(port, 'lighttpd');
  return port;
}

async function apache(env, mods, body) {
  const port = await h.freePort();
  const conf = env.write('conf/apache2.conf', L.apacheConf(env, port, mods, body));
  const t = spawnSync('apache2', ['-t', '-f', conf], { encoding: 'utf8', timeout: 20000 });
  assert.equal(t.status, 0, `apache2 -t: ${t.stderr}`);
  env.start('apache2', 'apache2', ['-f', conf, '-DFOREGROUND']);
  await waitPort(port, 'apache2');
  return port;
}

async function nginx(env, snippetText) {
  const port = await h.freePort();
  fs.copyFileSync('/etc/nginx/fastcgi_params', env.path('conf/fastcgi_params'));
  const snippet = env.write('conf/aiproxy.conf', snippetText);
  const conf = env.write('conf/nginx.conf', L.nginxConf(env, port, snippet));
  L.mkdir(env.path('run/nginx'), 0o755);
  const args = ['-c', conf, '-e', env.path('log/nginx-startup.log')];
  const t = spawnSync('nginx', [...args, '-t'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(t.status, 0, `nginx -t: ${t.stderr}`);
  env.start('nginx', 'nginx', [...args, '-g', 'daemon off;']);
  await waitPort(port, 'nginx');
  return port;
}

// --- pools ----------------------------------------------------------------

// [Service] of a unit file as {key: [values]}.
function unitService(text) {
  const out = {};
  let inService = false;
  for (const line of text.split('\n')) {
    if (/^\s*(#|;|$)/.test(line)) continue;
    if (/^\[/.test(line)) { inService = line.trim() === '[Service]'; continue; }
    const m = /^(\w+)=(.*)$/.exec(line.trim());
    if (inService && m) (out[m[1]] = out[m[1]] || []).push(m[2]);
  }
  return out;
}

// Do what systemd would do for this unit (no systemd runs here): verify it,
// make RuntimeDirectory/StateDirectory, run ExecStartPre, then ExecStart as
// User/Group with UMask and Environment; KillSignal stops it.
async function systemdPool(env, used) {
  const run = env.path('run');
  const text = L.template('pool/aiproxy.service', {
    [`${BIN}/aiproxy`]: env.bin, [CONFIG]: env.config, '/run/aiproxy': `${run}/aiproxy`,
    'User=aiproxy': `User=${L.RUN_AS.user}`, 'Group=www-data': `Group=${L.RUN_AS.group}`,
    'SupplementaryGroups=aiproxy': `SupplementaryGroups=${L.RUN_AS.group}`,
  }, used);
  const unit = env.write('conf/aiproxy.service', text);
  const va = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 20000 });
  if (va.error) console.log('# systemd-analyze not installed: unit not verified');
  else assert.equal(va.status, 0, `systemd-analyze verify: ${va.stderr}${va.stdout}`);
  const s = unitService(text);
  const one = (k) => { assert.equal((s[k] || []).length, 1, `one ${k}=`); return s[k][0]; };
  assert.equal(one('RuntimeDirectory'), 'aiproxy');
  assert.equal(one('StateDirectory'), 'aiproxy');
  const owner = L.RUN_AS;
  L.mkdir(path.join(run, 'aiproxy'), parseInt(one('RuntimeDirectoryMode'), 8), owner);
  L.mkdir(env.state, parseInt(one('StateDirectoryMode'), 8), owner);
  const vars = {};
  for (const e of s.Environment || []) { const i = e.indexOf('='); vars[e.slice(0, i)] = e.slice(i + 1); }
  const umask = one('UMask');
  const argv = (k) => {
    const v = one(k);
    assert.ok(!/["'\\$%]/.test(v), `${k} needs no quoting`);
    return v.split(/\s+/);
  };
  const sh = ['-c', `umask ${umask} && exec "$@"`, 'sh'];
  const pre = spawnSync('/bin/sh', [...sh, ...argv('ExecStartPre')], {
    encoding: 'utf8', timeout: 20000, env: Object.assign({}, process.env, env.asan, vars),
    uid: L.IS_ROOT ? owner.uid : undefined, gid: L.IS_ROOT ? owner.gid : undefined });
  assert.equal(pre.status, 0, `ExecStartPre: ${pre.stderr}`);
  const sig = one('KillSignal');
  env.start('pool', '/bin/sh', [...sh, ...argv('ExecStart')], { env: vars, runAs: true, signal: sig });
  const sock = `${run}/aiproxy/app.sock`;
  await h.waitFor(() => fs.existsSync(sock), 15000, 'the pool socket');
  assert.equal(mode(sock), 0o660, 'socket mode 0660 (--socket-mode)');
  assert.equal(mode(path.join(run, 'aiproxy')), 0o750);
  return sock;
}

async function spawnFcgiPool(env, used) {
  const script = path.join(L.DEPLOY, 'pool/aiproxy-spawn-fcgi.sh');
  used.add('pool/aiproxy-spawn-fcgi.sh');
  const pidfile = env.path('run/aiproxy/spawn-fcgi.pid');
  const vars = Object.assign({}, process.env, env.asan, {
    AIPROXY_BIN: env.bin, AIPROXY_CONFIG: env.config, AIPROXY_LISTEN: env.path('run/aiproxy/app.sock'),
    AIPROXY_PROCS: '2', AIPROXY_THREADS: '16', AIPROXY_USER: L.RUN_AS.user,
    AIPROXY_SOCKET_GROUP: L.RUN_AS.group, AIPROXY_PIDFILE: pidfile,
    AIPROXY_LOG: env.path('log/pool/aiproxy.log'),
  });
  const r = spawnSync('/bin/sh', [script, 'start'], { env: vars, encoding: 'utf8', timeout: 20000 });
  const pids = fs.existsSync(pidfile) ?
    fs.readFileSync(pidfile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
  env.adopt(pids);
  // stopped the documented way; Env.stopAll then waits for these PIDs
  env.stopHooks.push(() => {
    const s = spawnSync('/bin/sh', [script, 'stop'], { env: vars, encoding: 'utf8', timeout: 10000 });
    if (s.status !== 0) throw new Error(`spawn-fcgi stop: ${s.stderr}`);
  });
  assert.equal(r.status, 0, `spawn-fcgi start: ${r.stderr}`);
  assert.equal(pids.length, 2, 'two pids in the pid file');
  const sock = env.path('run/aiproxy/app.sock');
  assert.equal(mode(sock), 0o660);
  return sock;
}

async function listenPool(env, used, listen) {
  const script = path.join(L.DEPLOY, 'pool/aiproxy-listen.sh');
  used.add('pool/aiproxy-listen.sh');
  env.start('pool', '/bin/sh', [script], { runAs: true, env: {
    AIPROXY_BIN: env.bin, AIPROXY_CONFIG: env.config, AIPROXY_LISTEN: listen,
    AIPROXY_WORKERS: '2', AIPROXY_THREADS: '16' } });
}

// --- shared hosting layout ------------------------------------------------
// ~/aiproxy/{aiproxy,config.json,var/}  outside the web root, 0700
// ~/public_html/ai/{.htaccess,aiproxy.cgi}
function sharedLayout(env, used, fcgid, mock) {
  const home = L.mkdir(env.path('home/aiproxy'), 0o700, L.RUN_AS);
  const bin = path.join(home, 'aiproxy');
  fs.renameSync(env.bin, bin);
  env.bin = bin;
  L.chown(bin, L.RUN_AS.uid, L.RUN_AS.gid);
  // no state_dir: the default "var" is relative to the config's directory
  env.state = path.join(home, 'var');
  const cfg = path.join(home, 'config.json');
  env.writeConfig(cfg, h.baseConfig(mock));
  fs.chmodSync(cfg, 0o600);
  L.chown(cfg, L.RUN_AS.uid, L.RUN_AS.gid);
  const web = L.mkdir(env.path('htdocs/ai'), 0o755, L.RUN_AS);
  let ht = L.template('shared-hosting/htaccess', {}, used);
  if (fcgid) {	// the one-line change the file documents
    const a = 'AddHandler cgi-script .cgi\n';
    const b = '#AddHandler fcgid-script .cgi\n';
    assert.ok(ht.includes(a) && ht.includes(b), 'htaccess has both AddHandler lines');
    ht = ht.replace(a, `#${a}`).replace(b, b.slice(1));
  }
  fs.writeFileSync(path.join(web, '.htaccess'), ht, { mode: 0o644 });
  const cgi = L.template('shared-hosting/aiproxy.cgi', { '/home/USER/aiproxy': home }, used);
  fs.writeFileSync(path.join(web, 'aiproxy.cgi'), cgi, { mode: 0o755 });
  for (const f of ['.htaccess', 'aiproxy.cgi']) L.chown(path.join(web, f), L.RUN_AS.uid, L.RUN_AS.gid);
}

// What a typical shared host's admin has set up (not ours to change).
function sharedHost(env, fcgid) {
  const asan = `SetEnv ASAN_OPTIONS ${env.asan.ASAN_OPTIONS}\nSetEnv UBSAN_OPTIONS ${env.asan.UBSAN_OPTIONS}\n`;
  const fc = fcgid ? fcgidIpc(env) : `ScriptSock "${env.path('run/cgid.sock')}"\n`;
  return `${fc}${asan}<Directory "${env.path('htdocs')}">
	AllowOverride FileInfo AuthConfig Options
	Require all granted
</Directory>
`;
}

function fcgidIpc(env) {
  return `FcgidIPCDir "${env.path('run/fcgid')}"
FcgidProcessTableFile "${env.path('run/fcgid_shm')}"
FcgidInitialEnv ASAN_OPTIONS ${env.asan.ASAN_OPTIONS}
FcgidInitialEnv UBSAN_OPTIONS ${env.asan.UBSAN_OPTIONS}
`;
}

function cgidHost(env, site) {
  return `ScriptSock "${env.path('run/cgid.sock')}"
SetEnv ASAN_OPTIONS ${env.asan.ASAN_OPTIONS}
SetEnv UBSAN_OPTIONS ${env.asan.UBSAN_OPTIONS}
Include "${site}"`;
}

// mod_fcgid starts processes on demand, and a request that finds every
// process busy waits about a second before it asks again: start N before
// timing N concurrent streams. Each warm-up request holds its process for
// first_byte_timeout_ms (the mock's "hang"), so none is reused meanwhile.
async function fcgidWarm(r, env, n) {
  const t0 = Date.now();
  const hang = { model: 'openai/mock-hang', messages: [{ role: 'user', content: 'x' }] };
  while (env.responders().length < n && Date.now() - t0 < 20000) {
    await Promise.all(Array.from({ length: n }, () => h.request(r.port, 'POST',
      `${r.prefix}/v1/chat/completions`, { body: hang, timeoutMs: 20000 })));
  }
  assert.ok(env.responders().length >= n, `mod_fcgid started ${env.responders().length} of ${n}`);
}

// --- the recipes ------------------------------------------------------------

const RECIPES = [
  {
    tag: 'lt-spawn',
    name: 'lighttpd spawning the responders (lighttpd/aiproxy-spawned.conf)',
    checks: [...STREAMING, ...PAGE],
    async start(env, used) {
      L.mkdir(env.path('run/lighttpd'), 0o750, L.RUN_AS);
      const port = await lighttpd(env, L.template('lighttpd/aiproxy-spawned.conf', {
        [BIN]: env.path('lib/aiproxy'), [CONFIG]: env.config, '/run/lighttpd': env.path('run/lighttpd') }, used));
      return { port, prefix: '', logFile: 'lighttpd.out' };
    },
  },
  {
    tag: 'lt-pool',
    name: 'lighttpd to a systemd-unit pool on a unix socket (lighttpd/aiproxy-pool.conf, pool/aiproxy.service)',
    checks: [...STREAMING, ...PAGE],
    async start(env, used) {
      const sock = await systemdPool(env, used);
      const port = await lighttpd(env, L.template('lighttpd/aiproxy-pool.conf',
        { '/run/aiproxy/app.sock': sock }, used));
      return { port, prefix: '', logFile: 'pool.out' };
    },
  },
  {
    tag: 'nginx',
    name: 'nginx to a spawn-fcgi pool on a unix socket (nginx/aiproxy.conf, pool/aiproxy-spawn-fcgi.sh)',
    checks: [...STREAMING, ...PAGE],
    async start(env, used) {
      const sock = await spawnFcgiPool(env, used);
      const port = await nginx(env, L.template('nginx/aiproxy.conf',
        { 'unix:/run/aiproxy/app.sock': `unix:${sock}` }, used));
      return { port, prefix: '', logFile: 'pool/aiproxy.log' };
    },
  },
  {
    tag: 'ap-proxy',
    name: 'Apache mod_proxy_fcgi to an own --listen pool on 127.0.0.1 (apache/aiproxy-proxy-fcgi.conf, pool/aiproxy-listen.sh)',
    checks: [...STREAMING, ...PAGE],
    async start(env, used) {
      const poolPort = await h.freePort();
      await listenPool(env, used, `127.0.0.1:${poolPort}`);
      await waitPort(poolPort, 'the --listen pool');
      const site = env.write('conf/aiproxy.conf', L.template('apache/aiproxy-proxy-fcgi.conf',
        { 'fcgi://127.0.0.1:9000/': `fcgi://127.0.0.1:${poolPort}/` }, used));
      const port = await apache(env, ['proxy', 'proxy_fcgi'], `Include "${site}"`);
      return { port, prefix: '', logFile: 'pool.out' };
    },
  },
  {
    tag: 'ap-fcgid',
    name: 'Apache mod_fcgid spawning the responders (apache/aiproxy-fcgid.conf)',
    checks: [...STREAMING, ...PAGE],
    async start(env, used) {
      const site = env.write('conf/aiproxy.conf', L.template('apache/aiproxy-fcgid.conf',
        { [BIN]: env.path('lib/aiproxy'), [CONFIG]: env.config }, used));
      const port = await apache(env, ['alias', 'fcgid'], `${fcgidIpc(env)}Include "${site}"`);
      const r = { port, prefix: '', logFile: 'apache-error.log' };
      r.warm = () => fcgidWarm(r, env, 16);
      return r;
    },
  },
  {
    tag: 'ap-cgid',
    name: 'Apache mod_cgid, plain CGI (apache/aiproxy-cgid.conf, apache/aiproxy-cgi-wrapper.sh)',
    checks: [...STREAMING, ...PAGE, ...QUERY_ARGV],
    async start(env, used) {
      // make install puts the wrapper next to the binary
      env.write('lib/aiproxy/aiproxy-cgi-wrapper.sh', L.template('apache/aiproxy-cgi-wrapper.sh',
        { [`${BIN}/aiproxy`]: env.bin }, used), 0o755);
      const site = env.write('conf/aiproxy.conf', L.template('apache/aiproxy-cgid.conf',
        { [BIN]: env.path('lib/aiproxy'), [CONFIG]: env.config }, used));
      const port = await apache(env, ['alias', 'cgid', 'env'], cgidHost(env, site));
      return { port, prefix: '', logFile: 'apache-error.log' };
    },
  },
  {
    // Not a recipe: the old cgid recipe (ScriptAlias straight at the
    // binary), built here, so that the binary's own defence is tested
    // without the wrapper: under CGI it ignores its command line.
    tag: 'ap-cgid-bin',
    name: 'Apache mod_cgid with ScriptAlias at the binary itself (no wrapper; not a recipe)',
    checks: [
      ['a chat completion works', chat],
      ['the binary ignores argv under CGI: ?--listen+PATH leaves PATH intact, opens no listener, the same 401',
        queryListenPath],
    ],
    async start(env) {
      const site = env.write('conf/aiproxy.conf', `ScriptAlias "/v1" "${env.bin}"
<Location "/v1">
	CGIPassAuth On
	SetEnv AIPROXY_CONFIG ${env.config}
</Location>
<Directory "${env.path('lib/aiproxy')}">
	Require all granted
</Directory>
`);
      const port = await apache(env, ['alias', 'cgid', 'env'], cgidHost(env, site));
      return { port, prefix: '', logFile: 'apache-error.log' };
    },
  },
  {
    tag: 'lt-cgi',
    name: 'lighttpd mod_cgi, plain CGI (lighttpd/aiproxy-cgi.conf)',
    checks: [...STREAMING, ...PAGE],
    async start(env, used) {
      // mod_cgi gives a CGI only its own variables: the site's global
      // setenv (here the sanitizer's) must survive the snippet's +=
      const asan = `server.modules += ( "mod_setenv" )
setenv.add-environment = ( "ASAN_OPTIONS" => "${env.asan.ASAN_OPTIONS}",
	"UBSAN_OPTIONS" => "${env.asan.UBSAN_OPTIONS}" )
`;
      const port = await lighttpd(env, L.template('lighttpd/aiproxy-cgi.conf',
        { [BIN]: env.path('lib/aiproxy'), [CONFIG]: env.config }, used), asan);
      return { port, prefix: '', logFile: 'lighttpd.out' };
    },
  },
  {
    tag: 'sh-cgi',
    name: 'shared hosting: .htaccess + aiproxy.cgi as CGI (shared-hosting/)',
    checks: [...STREAMING, ...PAGE, ...QUERY_ARGV],
    async start(env, used, mock) {
      sharedLayout(env, used, false, mock);
      const port = await apache(env, ['alias', 'cgid', 'env', 'mime', 'rewrite'], sharedHost(env, false));
      return { port, prefix: '/ai', altPrefixes: ['/ai/aiproxy.cgi'], logFile: 'apache-error.log' };
    },
  },
  {
    tag: 'sh-fcgid',
    name: 'shared hosting: .htaccess + aiproxy.cgi under a default mod_fcgid (buffers: not streaming)',
    checks: [...BUFFERED, ...PAGE],
    async start(env, used, mock) {
      sharedLayout(env, used, true, mock);
      const port = await apache(env, ['alias', 'fcgid', 'env', 'mime', 'rewrite'], sharedHost(env, true));
      return { port, prefix: '/ai', altPrefixes: ['/ai/aiproxy.cgi'], logFile: 'apache-error.log',
        };
    },
  },
];

module.exports = { RECIPES, lighttpd, BIN, CONFIG };
