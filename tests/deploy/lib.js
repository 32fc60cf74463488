'use strict';
// lib.js -- the deploy tests' plumbing: a temp tree per recipe that mirrors
// the system paths the deploy/ files name, templating those files into it,
// running the web servers in the foreground from their own configs, and
// finding the responders by their executable. Every wait is bounded; only
// processes started here (or by servers started here) are ever signalled,
// and always by PID.
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const h = require('../integ/harness');

const DEPLOY = path.join(h.ROOT, 'deploy');
const IS_ROOT = process.getuid() === 0;

// Who the responders run as. As root every server drops to www-data (as
// Debian's packages do), so ownership and modes are really exercised.
function responderUser() {
  if (!IS_ROOT) {
    const name = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    return { user: name, group, uid: process.getuid(), gid: process.getgid() };
  }
  const id = (flag) => Number(spawnSync('id', [flag, 'www-data'], { encoding: 'utf8' }).stdout);
  return { user: 'www-data', group: 'www-data', uid: id('-u'), gid: id('-g') };
}
const RUN_AS = responderUser();

function chown(p, uid, gid) { if (IS_ROOT) fs.chownSync(p, uid, gid); }

function mkdir(p, mode, owner) {
  fs.mkdirSync(p, { recursive: true });
  fs.chmodSync(p, mode);
  if (owner) chown(p, owner.uid, owner.gid);
  return p;
}

// Lines that are not comments (# for every file type used in deploy/).
function activeLines(text) {
  return text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
}

// Read deploy/REL and replace each key of map (longest first) by its value.
// Every key must occur (the test would silently drift from the file
// otherwise), and no system path may remain on an active line.
function template(rel, map, used) {
  let text = fs.readFileSync(path.join(DEPLOY, rel), 'utf8');
  if (used) used.add(rel);
  for (const k of Object.keys(map).sort((a, b) => b.length - a.length)) {
    if (!text.includes(k)) throw new Error(`deploy/${rel}: expected "${k}" to template`);
    text = text.split(k).join(map[k]);
  }
  const left = /(?<![\w.-])(\/usr\/local\/|\/etc\/aiproxy|\/var\/lib\/aiproxy|\/run\/|\/home\/USER)/
    .exec(activeLines(text));
  if (left) throw new Error(`deploy/${rel}: untemplated system path ${left[0]}`);
  return text;
}

function withTimeout(p, ms, what) {
  let timer;
  const t = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// PIDs whose executable is exactly `exe` (the recipe's own copy).
function pidsOf(exe) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const l = fs.readlinkSync(`/proc/${d}/exe`);
      if (l === exe || l === `${exe} (deleted)`) out.push(Number(d));
    } catch (e) { /* gone, or not ours to read */ }
  }
  return out;
}

function pidAlive(pid) {
  try { process.kill(pid, 0); } catch (e) { return e.code === 'EPERM'; }
  // a zombie has exited; its parent just has not reaped it yet
  try { return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); }
  catch (e) { return false; }
}

// One recipe's temp tree. The layout mirrors the paths in deploy/:
//   lib/aiproxy/aiproxy      the binary (a copy of --bin)
//   etc/aiproxy/config.json  root:group 0640, as install.sh makes it
//   var/lib/aiproxy          state, responder user only, 0700
//   run/                     sockets, pid files
//   log/  conf/  htdocs/  asan/
class Env {
  constructor(tag, bin, mock) {
    this.tmp = h.tmpdir(`deploy-${tag}`);
    fs.chmodSync(this.tmp, 0o755);
    this.procs = [];	// [{proc|pid, name}] to stop, in reverse order
    this.pidsToStop = new Set();
    this.stopHooks = [];	// run after the servers, before adopted PIDs
    const t = (...p) => path.join(this.tmp, ...p);
    mkdir(t('lib/aiproxy'), 0o755);
    this.bin = t('lib/aiproxy/aiproxy');
    fs.copyFileSync(bin, this.bin);
    fs.chmodSync(this.bin, 0o755);
    for (const d of ['conf', 'htdocs', 'run']) mkdir(t(d), 0o755);
    mkdir(t('log'), 0o755, RUN_AS);
    mkdir(t('asan'), 0o1777);
    mkdir(t('etc/aiproxy'), 0o750, { uid: 0, gid: RUN_AS.gid });
    this.state = mkdir(t('var/lib/aiproxy'), 0o700, RUN_AS);
    this.config = t('etc/aiproxy/config.json');
    this.writeConfig(this.config, h.baseConfig(mock, { state_dir: this.state }));
    this.asan = {
      ASAN_OPTIONS: `log_path=${t('asan/asan')}:detect_leaks=1`,
      UBSAN_OPTIONS: `log_path=${t('asan/ubsan')}:print_stacktrace=1`,
    };
  }

  path(...p) { return path.join(this.tmp, ...p); }

  writeConfig(file, cfg) {
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2), { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    chown(file, 0, RUN_AS.gid);
  }

  write(rel, text, mode = 0o644) {
    const f = this.path(rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
    fs.chmodSync(f, mode);
    return f;
  }

  // Start a foreground daemon; stdout+stderr to log/NAME.out.
  start(name, cmd, args, opts = {}) {
    const out = fs.openSync(this.path('log', `${name}.out`), 'a');
    const env = Object.assign({}, process.env, this.asan, opts.env || {});
    const o = { env, stdio: ['ignore', out, out], cwd: opts.cwd || this.tmp };
    if (opts.runAs && IS_ROOT) { o.uid = RUN_AS.uid; o.gid = RUN_AS.gid; }
    const proc = h.track(spawn(cmd, args, o));
    fs.closeSync(out);
    this.procs.push({ proc, name, signal: opts.signal || 'SIGTERM' });
    return proc;
  }

  // Processes that daemonised themselves (spawn-fcgi): stop by PID later.
  adopt(pids) { for (const p of pids) this.pidsToStop.add(p); }

  log(name) {
    const f = this.path('log', name);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  allLogs() {
    const out = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) out.push(fs.readFileSync(p, 'utf8'));
      }
    };
    walk(this.path('log'));
    return out.join('\n');
  }

  sanitizerReports() {
    return fs.readdirSync(this.path('asan'))
      .map((f) => `${f}: ${fs.readFileSync(this.path('asan', f), 'utf8').slice(0, 1500)}`);
  }

  responders() { return pidsOf(this.bin); }

  // Stop what this recipe started: servers in reverse start order (SIGTERM,
  // SIGKILL after `ms`), then adopted PIDs. Returns the errors seen.
  async stopAll(ms = 15000) {
    const errs = [];
    for (const p of this.procs.slice().reverse()) {
      const { proc } = p;
      if (proc.exitCode !== null || proc.signalCode) continue;
      proc.kill(p.signal);
      try {
        await h.waitFor(() => proc.exitCode !== null || proc.signalCode, ms, `${p.name} exit`);
      } catch (e) {
        errs.push(e.message);
        proc.kill('SIGKILL');
      }
    }
    for (const hook of this.stopHooks.splice(0)) {
      try { hook(); } catch (e) { errs.push(e.message); }
    }
    for (const pid of this.pidsToStop) {
      if (!pidAlive(pid)) continue;
      try { process.kill(pid, 'SIGTERM'); } catch (e) { /* gone */ }
    }
    try {
      await h.waitFor(() => [...this.pidsToStop].every((pid) => !pidAlive(pid)), ms, 'adopted pids exit');
    } catch (e) {
      errs.push(e.message);
      for (const pid of this.pidsToStop) try { process.kill(pid, 'SIGKILL'); } catch (x) { /* gone */ }
    }
    return errs;
  }

  // Last resort (a failed stop): responders of this recipe's own binary.
  killStrays() {
    for (const pid of this.responders()) try { process.kill(pid, 'SIGKILL'); } catch (e) { /* gone */ }
  }

  remove() { fs.rmSync(this.tmp, { recursive: true, force: true }); }
}

// --- main configs wrapping a deploy/ snippet ----------------------------

const APACHE_MODS = '/usr/lib/apache2/modules';

function apacheConf(env, port, mods, body) {
  const user = IS_ROOT ? `User ${RUN_AS.user}\nGroup ${RUN_AS.group}\n` : '';
  const load = ['mpm_event', 'authz_core', ...mods]
    .map((m) => `LoadModule ${m}_module ${APACHE_MODS}/mod_${m}.so`).join('\n');
  return `# Apache main config for a deploy test (generated by tests/deploy)
ServerRoot "${env.tmp}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${env.path('run/apache2.pid')}"
DefaultRuntimeDir "${env.path('run')}"
Mutex file:${env.path('run')} default
ErrorLog "${env.path('log/apache-error.log')}"
LogLevel warn
${load}
${user}Timeout 60
MaxRequestWorkers 128
ThreadsPerChild 32
ServerLimit 4
DocumentRoot "${env.path('htdocs')}"
<Directory />
	AllowOverride None
	Require all denied
</Directory>
<Directory "${env.path('htdocs')}">
	Require all granted
</Directory>
${mods.includes('mime') ? 'TypesConfig /etc/mime.types\n' : ''}${body}
`;
}

function nginxConf(env, port, snippet) {
  const user = IS_ROOT ? `user ${RUN_AS.user} ${RUN_AS.group};\n` : '';
  const tmpPaths = ['client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi']
    .map((n) => `\t${n}_temp_path ${env.path('run/nginx', n)};`).join('\n');
  return `# nginx main config for a deploy test (generated by tests/deploy)
${user}worker_processes 1;
pid ${env.path('run/nginx.pid')};
error_log ${env.path('log/nginx-error.log')} warn;
events { worker_connections 1024; }
http {
	access_log off;
${tmpPaths}
	server {
		listen 127.0.0.1:${port};
		server_name localhost;
		root ${env.path('htdocs')};
		include ${snippet};
	}
}
`;
}

function lighttpdConf(env, port, snippet, before = '') {
  const user = IS_ROOT ? `server.username = "${RUN_AS.user}"\nserver.groupname = "${RUN_AS.group}"\n` : '';
  return `# lighttpd main config for a deploy test (generated by tests/deploy)
server.port = ${port}
server.bind = "127.0.0.1"
server.document-root = "${env.path('htdocs')}"
server.errorlog = "${env.path('log/lighttpd-error.log')}"
server.max-connections = 1024
${user}${before}include "${snippet}"
`;
}

module.exports = { DEPLOY, IS_ROOT, RUN_AS, template, activeLines, withTimeout, pidsOf, pidAlive,
  mkdir, chown, Env, apacheConf, nginxConf, lighttpdConf };
