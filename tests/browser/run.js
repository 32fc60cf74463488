'use strict';
// run.js -- the usage page (issue 14) in a real headless Chromium (Debian's
// /usr/bin/chromium driven by puppeteer-core; no browser is downloaded).
// Starts the mock upstream and lighttpd spawning the proxy (two providers,
// an owner, a per-key model limit, a client key), drives one OpenRouter
// key into cooldown with a 429 + Retry-After, then checks the page's
// routes and headers, and in the browser: no console errors, no CSP
// violations, every key id with its state, the cooling key's ticking
// countdown, bars, the 24-hour SVG charts, owner and client cards, the
// 5 s refresh, a 375 px phone without horizontal scroll, the key kept in
// sessionStorage only, "Forget key", 401 -> asked again, server text
// never parsed as markup, and that nothing but 127.0.0.1 was requested.
// Screenshots go to $AIPROXY_ARTEFACTS (default build/artefacts).
// Usage: node tests/browser/run.js [--bin build/asan/aiproxy]
// Prints "ok - ..." lines and "N passed, N failed"; bounded (~60 s).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../integ/harness');

const args = process.argv.slice(2);
const bin = path.resolve(args.includes('--bin') ? args[args.indexOf('--bin') + 1] : 'build/asan/aiproxy');
const CHROMIUM = process.env.AIPROXY_CHROMIUM || '/usr/bin/chromium';
const ARTEFACTS = path.resolve(process.env.AIPROXY_ARTEFACTS || path.join(h.ROOT, 'build/artefacts'));
const DEADLINE_MS = 60000;	// the whole run (npm install aside)
const PREFIX = '/ops';	// mounted under a prefix: the page must find ./v1/usage
const CLIENT_KEY = 'px-client-app-one-5d1e8b77c2a94f03b6';
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

let passed = 0;
let failed = 0;
function report(ok, name, err) {
  if (ok) { passed++; console.log(`ok - ${name}`); return; }
  failed++;
  console.log(`not ok - ${name}: ${err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err}`);
}
async function check(name, fn) {
  try { await fn(); report(true, name); } catch (e) { report(false, name, e); }
}

function puppeteerCore() {
  const dir = __dirname;
  if (!fs.existsSync(path.join(dir, 'node_modules/puppeteer-core'))) {
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: dir, encoding: 'utf8', timeout: 300000,
        env: Object.assign({}, process.env, { PUPPETEER_SKIP_DOWNLOAD: '1' }) });
    if (r.status !== 0) throw new Error(`npm install failed: ${r.stderr}`);
  }
  return require(path.join(dir, 'node_modules/puppeteer-core'));
}

function config(mock) {
  const cfg = h.baseConfig(mock, { model_usage_gap_percentage: 0 });
  Object.assign(cfg.provider_keys[0], { owner: 'team-or', max_request_min: 20,
    max_token_min: 5000, max_request_day: 200 });
  Object.assign(cfg.provider_keys[1], { max_request_min: 10, max_token_min: 2000,
    max_request_day: 100, model_limits: { 'gemini-mock-*': { max_request_min: 6 } } });
  cfg.owners = { 'team-or': { max_request_day: 300, max_concurrent: 4 } };
  cfg.access_keys = [{ name: 'app-one', key: CLIENT_KEY, max_request_min: 30, max_request_day: 500 }];
  return cfg;
}

const ask = (model, text) => ({ model, messages: [{ role: 'user', content: text || 'hello there, usage page' }] });
const CHAT = '/v1/chat/completions';

// Some traffic on both providers and the client key; then the first
// OpenRouter key answers 429 with Retry-After until the proxy cools it.
async function drive(ctx) {
  const p = ctx.proxy.port;
  for (let i = 0; i < 4; i++) {
    assert.equal((await h.request(p, 'POST', CHAT, { body: ask('openai/mock-text') })).status, 200);
    assert.equal((await h.request(p, 'POST', CHAT, { body: ask('gemini-mock-text') })).status, 200);
  }
  for (let i = 0; i < 3; i++)
    assert.equal((await h.request(p, 'POST', CHAT, { key: CLIENT_KEY, body: ask('gemini-mock-text') })).status, 200);
  const cooled = h.KEYS.openrouter[0];
  await ctx.mock.faults([{ key: cooled, times: -1, status: 429, headers: { 'Retry-After': '40' },
    body: { error: { code: 429, message: 'Rate limit exceeded: free-models-per-min.' } } }]);
  const id = h.keyId(cooled);
  await h.waitFor(async () => {
    await h.request(p, 'POST', CHAT, { body: ask('openai/mock-text') });
    const u = (await h.request(p, 'GET', '/v1/usage')).json;
    return u.details.openrouter.keys[id].state === 'cooling';
  }, 10000, 'the OpenRouter key to cool');
  await ctx.mock.faults([]);
  return id;
}

// The browser's view of one page: console errors, CSP violations, every
// URL it asked for.
function watch(page, log) {
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log.console.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => log.console.push(`pageerror: ${e.message}`));
  page.on('request', (r) => log.urls.push(r.url()));
  page.on('requestfailed', (r) => log.failed.push(`${r.url()} ${r.failure() && r.failure().errorText}`));
  return page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

async function signIn(page, key) {
  await page.waitForSelector('#login:not([hidden]) #key', { visible: true, timeout: 5000 });
  await page.type('#key', key);
  await page.click('#login button[type=submit]');
}

async function main() {
  if (!fs.existsSync(CHROMIUM)) {
    report(false, 'chromium present', new Error(`${CHROMIUM} missing: apt-get install chromium`));
    return;
  }
  if (!fs.existsSync(bin)) {
    report(false, 'proxy binary present', new Error(`${bin} missing`));
    return;
  }
  const puppeteer = puppeteerCore();	// npm install on the first run: not timed
  const killer = setTimeout(() => {
    report(false, 'browser suite finished in time', new Error(`over ${DEADLINE_MS} ms`));
    console.log(`${passed} passed, ${failed} failed`);
    h.killAll();
    process.exit(1);
  }, DEADLINE_MS);
  killer.unref();
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  const ctx = {};
  let browser = null;
  const profile = h.tmpdir('chromium');
  try {
    ctx.mock = await h.startMock();
    ctx.proxy = await h.startProxy(bin, config(ctx.mock), { threads: 8 });
    const port = ctx.proxy.port;
    const base = `http://127.0.0.1:${port}${PREFIX}`;
    const allIds = [...h.KEYS.openrouter, ...h.KEYS.gemini].map(h.keyId);
    let cooledId = null;

    await check('stack: traffic on both providers and the client key; one OpenRouter key cooled by 429 + Retry-After', async () => {
      cooledId = await drive(ctx);
    });

    await check('routes: {prefix}/, /usage, /usage.js, /usage.css with CSP, nosniff, no-cache, ETag; 304, 404, 405, HEAD; /v1/usage unchanged', async () => {
      for (const [p, ct] of [[`${PREFIX}/`, 'text/html'], [`${PREFIX}/usage`, 'text/html'], ['/', 'text/html'],
        [`${PREFIX}/usage.js`, 'text/javascript'], [`${PREFIX}/usage.css`, 'text/css']]) {
        const r = await h.request(port, 'GET', p, { auth: false });
        assert.equal(r.status, 200, p);
        assert.ok(r.headers['content-type'].startsWith(`${ct}; charset=utf-8`), `${p}: ${r.headers['content-type']}`);
        assert.equal(r.headers['content-security-policy'], CSP, p);
        assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
        assert.equal(r.headers['cache-control'], 'no-cache', p);
        assert.match(r.headers.etag, /^"px-[0-9a-f]{16}"$/, p);
        assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body), p);
        const again = await h.request(port, 'GET', p, { auth: false, headers: { 'if-none-match': r.headers.etag } });
        assert.equal(again.status, 304, `${p} revalidated`);
        assert.equal(again.body, '');
      }
      const html = (await h.request(port, 'GET', `${PREFIX}/`, { auth: false })).body;
      assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=|https?:\/\//i, 'nothing inline, nothing external');
      const nf = await h.request(port, 'GET', `${PREFIX}/usage.png`, { auth: false });
      assert.equal(nf.status, 404);
      assert.equal(nf.headers['x-content-type-options'], 'nosniff');
      const post = await h.request(port, 'POST', `${PREFIX}/usage`, { auth: false, body: '{}' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      const head = await h.request(port, 'HEAD', `${PREFIX}/`, { auth: false });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal(head.headers['content-length'], undefined, 'HEAD: no length (the HEAD / probe test)');
      assert.equal(head.headers['content-security-policy'], CSP);
      const u = await h.request(port, 'GET', `${PREFIX}/v1/usage`);
      assert.equal(u.status, 200);
      assert.ok(u.json && u.json.details, '/v1/usage is still the JSON document');
      assert.equal((await h.request(port, 'GET', `${PREFIX}/v1/usage`, { auth: false })).status, 401);
    });

    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true, userDataDir: profile, timeout: 20000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${profile}`],
    });

    // --- desktop --------------------------------------------------------------
    const log = { console: [], urls: [], failed: [] };
    const page = await browser.newPage();
    await watch(page, log);
    await page.setViewport({ width: 1280, height: 900 });
    await check('desktop: {prefix}/usage asks for the key, then draws every key id', async () => {
      await page.goto(`${base}/usage`, { waitUntil: 'load', timeout: 10000 });
      await signIn(page, h.ACCESS_KEY);
      await page.waitForFunction((n) => document.querySelectorAll('[data-key-id]').length === n,
        { timeout: 8000 }, allIds.length);
      const ids = await page.$$eval('[data-key-id]', (ns) => ns.map((n) => n.getAttribute('data-key-id')));
      assert.deepEqual([...ids].sort(), [...allIds].sort());
    });
    await check('desktop: the cooled key shows "cooling", its reason, until and a countdown that ticks', async () => {
      const sel = `[data-key-id="${cooledId}"]`;
      const st = await page.$eval(sel, (n) => ({ state: n.getAttribute('data-state'),
        badge: n.querySelector('.badge').textContent, why: n.querySelector('.why').textContent,
        cd: n.querySelector('.countdown').textContent }));
      assert.equal(st.state, 'cooling');
      assert.equal(st.badge, 'cooling');
      assert.match(st.why, /429/, st.why);
      assert.match(st.why, /until \d\d:\d\d:\d\d/, st.why);
      assert.match(st.cd, /^0:[0-4]\d left$/, st.cd);
      await page.waitForFunction((s, before) => document.querySelector(s).querySelector('.countdown').textContent !== before,
        { timeout: 3000 }, sel, st.cd);
      const others = await page.$$eval('[data-key-id]', (ns) => ns.filter((n) => n.getAttribute('data-state') !== 'cooling').length);
      assert.equal(others, allIds.length - 1, 'the other keys are active');
    });
    await check('desktop: bars against limits, an SVG 24-hour chart per provider, owner, model limit and client cards', async () => {
      const v = await page.evaluate(() => ({
        tracks: document.querySelectorAll('[data-key-id] .meter-track[role=progressbar]').length,
        filled: [...document.querySelectorAll('.meter-fill')].filter((f) => parseFloat(f.style.width) > 0).length,
        charts: [...document.querySelectorAll('section[data-provider] svg.chart')].map((s) =>
          s.closest('section').getAttribute('data-provider')),
        // inside the openrouter section once keys carry "owner" (or the
        // owner its "provider"); in the Owners section until then
        owner: !!document.querySelector('section[data-provider=openrouter] [data-owner="team-or"]') ||
          !!document.querySelector('section.owners [data-owner="team-or"]'),
        client: (document.querySelector('[data-client="app-one"]') || {}).textContent || '',
        models: document.querySelectorAll('[data-key-id] details').length,
        reqMin: [...document.querySelectorAll('[data-key-id]')].map((n) => n.querySelector('.meter .num').textContent),
      }));
      assert.ok(v.tracks >= allIds.length * 3, `tracks ${v.tracks}`);
      assert.ok(v.filled >= 2, `filled bars ${v.filled}`);
      assert.deepEqual(v.charts.sort(), ['gemini', 'openrouter']);
      assert.ok(v.owner, 'owner team-or shown');
      assert.match(v.client, /app-one/);
      assert.match(v.client, /lifetime 3 requests/);
      assert.equal(v.models, h.KEYS.gemini.length, 'the gemini keys carry their model limit');
      assert.ok(v.reqMin.every((t) => /^\d+ \/ (20|10)$/.test(t)), v.reqMin.join(','));
    });
    await check('desktop: the 24-hour chart follows the day window (day_hist: 24 hourly bars; without it the hourly average)', async () => {
      const u = (await h.request(port, 'GET', '/v1/usage')).json;
      for (const prov of ['openrouter', 'gemini']) {
        const hist = u.details[prov].day_hist;
        const c = await page.$eval(`section[data-provider=${prov}] figure.chart-box`, (f) => ({
          bars: [...f.querySelectorAll('rect.bar')].map((r) => Number(r.getAttribute('height'))),
          avg: f.querySelectorAll('line.avg').length, caption: f.querySelector('figcaption').textContent }));
        if (Array.isArray(hist)) {
          assert.equal(hist.length, 24, `${prov} day_hist`);
          assert.equal(c.bars.length, 24, `${prov} bars`);
          // the last hour holds this run's requests (the page read it a moment ago)
          assert.ok(c.bars[23] > 0 && hist[23] > 0, `${prov}: ${hist.join(',')} / ${c.bars.join(',')}`);
          assert.match(c.caption, /requests per hour/);
        } else {
          assert.equal(c.avg, 1, `${prov}: no day_hist, the average line`);
        }
      }
      const withHist = Object.values(u.details).flatMap((d) => Object.values(d.keys))
        .filter((k) => Array.isArray(k.day_hist)).length;
      assert.equal(await page.$$eval('[data-key-id] svg.spark', (n) => n.length), withHist, 'a sparkline per key with day_hist');
    });
    await check('desktop: refreshes v1/usage every 5 s with the Bearer key, nothing else', async () => {
      const n0 = log.urls.filter((u) => u.endsWith(`${PREFIX}/v1/usage`)).length;
      await page.waitForFunction(() => true, { timeout: 100 });
      await h.sleep(5600);
      const n1 = log.urls.filter((u) => u.endsWith(`${PREFIX}/v1/usage`)).length;
      assert.ok(n1 - n0 >= 1, `usage fetched ${n1 - n0} times in 5.6 s`);
      const store = await page.evaluate(() => ({ s: sessionStorage.getItem('aiproxy.usage.key'),
        l: localStorage.length, c: document.cookie }));
      assert.equal(store.s, h.ACCESS_KEY, 'kept in sessionStorage');
      assert.equal(store.l, 0, 'nothing in localStorage');
      assert.equal(store.c, '', 'no cookie');
    });
    await check('desktop: screenshot written', async () => {
      const f = path.join(ARTEFACTS, 'usage-desktop.png');
      await page.screenshot({ path: f, fullPage: true });
      assert.ok(fs.statSync(f).size > 10000);
    });
    await check('desktop: no provider key in the page', async () => {
      const text = await page.evaluate(() => document.documentElement.outerHTML + document.body.innerText);
      for (const k of [...h.KEYS.openrouter, ...h.KEYS.gemini, CLIENT_KEY, h.ACCESS_KEY])
        assert.ok(!text.includes(k), `${k.slice(0, 12)}... in the page`);
    });
    await check('desktop: "Forget key" clears sessionStorage and asks again', async () => {
      await page.click('#forget');
      await page.waitForSelector('#login:not([hidden])', { timeout: 3000 });
      const v = await page.evaluate(() => ({ s: sessionStorage.length, cards: document.querySelectorAll('[data-key-id]').length }));
      assert.equal(v.s, 0);
      assert.equal(v.cards, 0);
    });

    // --- phone ------------------------------------------------------------------
    const plog = { console: [], urls: [], failed: [] };
    const phone = await browser.newPage();
    await watch(phone, plog);
    await phone.setViewport({ width: 375, height: 812, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await check('phone 375 px: {prefix}/ readable, no horizontal scroll', async () => {
      await phone.goto(`${base}/`, { waitUntil: 'load', timeout: 10000 });
      await signIn(phone, h.ACCESS_KEY);
      await phone.waitForFunction((n) => document.querySelectorAll('[data-key-id]').length === n,
        { timeout: 8000 }, allIds.length);
      const w = await phone.evaluate(() => ({ doc: document.documentElement.scrollWidth,
        body: document.body.scrollWidth, vw: window.innerWidth,
        wide: [...document.querySelectorAll('body *')].filter((n) => n.getBoundingClientRect().right > window.innerWidth + 0.5)
          .slice(0, 3).map((n) => n.tagName + '.' + n.className) }));
      assert.equal(w.vw, 375);
      assert.ok(w.doc <= 375 && w.body <= 375, `scrollWidth ${w.doc}/${w.body}: ${w.wide.join(' ')}`);
      const f = path.join(ARTEFACTS, 'usage-phone.png');
      await phone.screenshot({ path: f, fullPage: true });
      assert.ok(fs.statSync(f).size > 10000);
    });

    await check('no console errors or warnings, no CSP violations, no failed request (desktop and phone)', async () => {
      const csp = [...await page.evaluate(() => window.__csp), ...await phone.evaluate(() => window.__csp)];
      assert.deepEqual(csp, [], 'CSP violations');
      assert.deepEqual([...log.console, ...plog.console], [], 'console');
      assert.deepEqual([...log.failed, ...plog.failed], [], 'failed requests');
    });

    // --- a refused key ---------------------------------------------------------
    await check('401: a wrong key in sessionStorage is dropped and the key asked for again', async () => {
      const p = await browser.newPage();
      const l = { console: [], urls: [], failed: [] };
      await watch(p, l);
      await p.goto(`${base}/`, { waitUntil: 'load', timeout: 10000 });
      await signIn(p, 'not-the-right-key');
      await p.waitForFunction(() => !document.getElementById('login').hidden &&
        /401/.test(document.getElementById('login-error').textContent), { timeout: 5000 });
      assert.equal(await p.evaluate(() => sessionStorage.length), 0);
      // the browser reports the refused fetch itself; nothing else
      assert.ok(l.console.every((m) => /401/.test(m)), l.console.join(' | '));
      log.urls.push(...l.urls);
      await p.close();
    });

    // --- a document the real stack cannot produce yet ---------------------------
    await check('hourly day_hist drawn as 24 bars, keys grouped by owner, hostile text shown as text, client-key view', async () => {
      const p = await browser.newPage();
      const l = { console: [], urls: [], failed: [] };
      await watch(p, l);
      const hostile = '<img src=x onerror="window.__pwned=1">';
      const hist = Array.from({ length: 24 }, (_, i) => (i * 7) % 13);
      const until = new Date(Date.now() + 95000).toISOString().replace(/\.\d+Z$/, 'Z');
      const scope = { req_min: 1, req_day: 5, tokens_min: 40, in_flight: 0,
        limits: { max_request_min: 0, max_request_day: 10, max_token_min: 0, max_concurrent: 0 },
        day_reset: 'rolling', resets_at: null };
      const key = (state, extra) => Object.assign({ requests: 5, usage_percentage: 5,
        rate_limit_windows: { req_min: 1, req_day: 5 }, tokens_min: 40, lifetime_requests: 9,
        lifetime_tokens: 99, errors: 0, rate_limits: { max_request_day: 100, max_token_min: 1000, max_request_min: 10 },
        state, reason: state === 'active' ? null : hostile, until: state === 'active' ? null : until,
        not_entitled: { 'gemini-x': until }, in_flight: 1, day_reset: 'rolling', resets_at: null, models: {} }, extra);
      const docs = {
        admin: { overview: { gemini: { total_requests: 91, total_capacity: 200, usage_percentage: 45.5 } },
          details: { gemini: { day_hist: hist, keys: { aaaa0001: key('disabled', { owner: 'proj-x' }),
            bbbb0002: key('active', { owner: 'proj-x' }), cccc0003: key('active') },
          rate_limits: {}, backoff_until: null } },
          owners: { 'proj-x': Object.assign({ models: {} }, scope) },
          clients: { [hostile]: Object.assign({ lifetime_requests: 1, lifetime_tokens: 2 }, scope) },
          ledger_backend: 'lmdb' },
        client: { clients: { 'app-one': Object.assign({ lifetime_requests: 1, lifetime_tokens: 2 }, scope) } },
      };
      let which = 'admin';
      await p.setRequestInterception(true);
      p.on('request', (r) => {
        if (r.url().endsWith('/v1/usage'))
          r.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(docs[which]) });
        else r.continue();
      });
      await p.goto(`${base}/usage`, { waitUntil: 'load', timeout: 10000 });
      await signIn(p, h.ACCESS_KEY);
      await p.waitForSelector('[data-key-id="cccc0003"]', { timeout: 5000 });
      const v = await p.evaluate(() => ({
        bars: document.querySelectorAll('section[data-provider=gemini] svg.chart rect.bar').length,
        heights: [...document.querySelectorAll('svg.chart rect.bar')].map((r) => Number(r.getAttribute('height'))),
        groups: [...document.querySelectorAll('section[data-provider=gemini] h3')].map((n) => n.textContent),
        ownerInGroup: !!document.querySelector('section[data-provider=gemini] [data-owner="proj-x"]'),
        imgs: document.querySelectorAll('img').length, pwned: !!window.__pwned,
        why: document.querySelector('[data-key-id="aaaa0001"] .why').textContent,
        cd: document.querySelector('[data-key-id="aaaa0001"] .countdown').textContent,
        client: document.querySelector('section.clients .kid').textContent,
        nolimit: document.querySelectorAll('.meter.nolimit').length,
      }));
      assert.equal(v.bars, 24);
      assert.equal(v.heights.filter((x) => x > 0).length, hist.filter((x) => x > 0).length);
      assert.deepEqual(v.groups, ['owner proj-x', 'no owner']);
      assert.ok(v.ownerInGroup);
      assert.equal(v.imgs, 0);
      assert.equal(v.pwned, false);
      assert.ok(v.why.startsWith(hostile), v.why);
      assert.match(v.cd, /^1:3\d left$/, v.cd);
      assert.equal(v.client, hostile);
      assert.ok(v.nolimit >= 2, 'limits of 0 are "no limit"');
      await p.setViewport({ width: 1024, height: 800 });
      await p.screenshot({ path: path.join(ARTEFACTS, 'usage-hourly.png'), fullPage: true });
      which = 'client';
      await p.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
      await p.waitForSelector('.banner', { timeout: 7000 });
      assert.equal(await p.$$eval('[data-key-id]', (n) => n.length), 0);
      assert.equal(await p.$eval('[data-client="app-one"] .kid', (n) => n.textContent), 'app-one');
      assert.deepEqual(await p.evaluate(() => window.__csp), []);
      assert.deepEqual(l.console, []);
      log.urls.push(...l.urls);
      await p.close();
    });

    await check('the page asked for nothing but 127.0.0.1 (and data: URLs)', async () => {
      const urls = [...log.urls, ...plog.urls];
      assert.ok(urls.length >= 8, `${urls.length} requests seen`);
      const foreign = urls.filter((u) => !u.startsWith(`http://127.0.0.1:${port}/`) && !u.startsWith('data:'));
      assert.deepEqual(foreign, []);
    });
    await check('proxy: no sanitizer report, no provider key in its logs', async () => {
      assert.deepEqual(ctx.proxy.sanitizerReports(), []);
      const logText = ctx.proxy.errorLog();
      for (const k of [...h.KEYS.openrouter, ...h.KEYS.gemini, CLIENT_KEY]) assert.ok(!logText.includes(k));
    });
  } catch (e) {
    report(false, 'browser suite ran', e);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (ctx.proxy) await ctx.proxy.stop().catch((e) => report(false, 'proxy stopped', e));
    if (ctx.mock) await ctx.mock.stop().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
    clearTimeout(killer);
  }
  console.log(`screenshots: ${['desktop', 'phone', 'hourly'].map((n) => path.join(ARTEFACTS, `usage-${n}.png`)).join(' ')}`);
}

main().catch((e) => report(false, 'browser suite', e)).finally(() => {
  console.log(`${passed} passed, ${failed} failed`);
  h.killAll();
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
});
