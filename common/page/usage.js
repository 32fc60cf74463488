/*
 * usage.js -- the usage page's script, served as {prefix}/usage.js under
 * script-src 'self'.
 * Owns: asking for the access key and keeping it in sessionStorage only
 * (never localStorage, never a cookie; "Forget key" removes it), reading
 * {prefix}/v1/usage with it every 5 s, and drawing the document: per
 * provider a 24-hour requests chart (SVG) and each key id's windows
 * against its limits, state, reason, until and a cooldown countdown;
 * owners, per-key and per-owner model limits, client keys.
 * Never: puts server data into markup (no innerHTML: textContent and DOM
 * nodes only), talks to another origin, or shows anything but key ids.
 */
(function () {
  'use strict';

  var STORE = 'aiproxy.usage.key';
  var REFRESH_MS = 5000;
  var FETCH_TIMEOUT_MS = 10000;
  var SVGNS = 'http://www.w3.org/2000/svg';

  var st = {
    key: null,        // the access key, also in sessionStorage
    timer: 0,         // next refresh
    ticker: 0,        // the 1 s countdown tick
    loading: false,
    countdowns: [],   // [{node, until (ms), done}]
    skew: 0,          // server clock - our clock, from the Date header
    open: {},         // <details> the operator opened, by id
    lastOk: 0,
    chartW: 480,
    doc: null
  };

  function $(id) { return document.getElementById(id); }

  // An element with a class and text; children appended in order.
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function sv(tag, attrs) {
    var n = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, String(attrs[k]));
    return n;
  }

  // --- formatting -------------------------------------------------------

  var nf = new Intl.NumberFormat('en-US');
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }
  function fmt(v) { return nf.format(num(v)); }
  function obj(v) { return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {}; }
  function keys(o) { return Object.keys(obj(o)); }
  function str(v) { return typeof v === 'string' ? v : ''; }

  function two(n) { return (n < 10 ? '0' : '') + n; }
  // "0:07", "4:05", "1:02:03", "2 d 03:04:05"
  function dur(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24,
      m = Math.floor(s / 60) % 60, x = s % 60;
    if (d > 0) return d + ' d ' + two(h) + ':' + two(m) + ':' + two(x);
    if (h > 0) return h + ':' + two(m) + ':' + two(x);
    return m + ':' + two(x);
  }
  function when(iso) {
    var t = Date.parse(str(iso));
    if (!isFinite(t)) return '';
    var d = new Date(t - st.skew), now = new Date();
    var hm = two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
    if (d.toDateString() === now.toDateString()) return hm;
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' + hm;
  }
  function serverNow() { return Date.now() + st.skew; }

  // --- bars -------------------------------------------------------------

  // used against limit (0 or absent: no limit). label like "requests/min".
  function meter(label, used, limit) {
    used = num(used); limit = num(limit);
    var m = el('div', 'meter');
    var pct = limit > 0 ? Math.min(100, used * 100 / limit) : 0;
    if (limit <= 0) m.classList.add('nolimit');
    else if (used >= limit) m.classList.add('full');
    else if (pct >= 80) m.classList.add('warn');
    var right = limit > 0 ? fmt(used) + ' / ' + fmt(limit) : fmt(used) + ' (no limit)';
    add(m, add(el('div', 'meter-label'), el('span', 'name', label), el('span', 'num', right)));
    var track = el('div', 'meter-track');
    track.setAttribute('role', 'progressbar');
    track.setAttribute('aria-label', label);
    track.setAttribute('aria-valuemin', '0');
    track.setAttribute('aria-valuemax', String(limit > 0 ? limit : used));
    track.setAttribute('aria-valuenow', String(used));
    track.setAttribute('aria-valuetext', right);
    var fill = el('div', 'meter-fill');
    fill.style.width = (limit > 0 ? pct : 0).toFixed(1) + '%';
    return add(m, add(track, fill));
  }

  // The windows of a scope document (owner, client, model limit).
  function scopeMeters(box, sc, what) {
    var lim = obj(sc.limits);
    add(box,
      meter('requests/min', sc.req_min, lim.max_request_min),
      meter('tokens/min', sc.tokens_min, lim.max_token_min),
      meter('requests/' + dayWord(sc), sc.req_day, lim.max_request_day));
    if (num(lim.max_concurrent) > 0 || num(sc.in_flight) > 0)
      add(box, meter('in flight', sc.in_flight, lim.max_concurrent));
    if (what !== 'model' && sc.resets_at) add(box, el('p', 'meta', 'day resets at ' + when(sc.resets_at)));
  }
  function dayWord(sc) { return str(sc.day_reset) && sc.day_reset !== 'rolling' ? 'day (' + sc.day_reset + ')' : 'day'; }

  // --- countdowns -------------------------------------------------------

  function countdown(untilIso, prefix) {
    var t = Date.parse(str(untilIso));
    var n = el('span', 'countdown');
    if (!isFinite(t)) return n;
    // one already over does not ask for an early refresh again
    st.countdowns.push({ node: n, until: t, prefix: prefix, done: t <= serverNow() });
    paint(st.countdowns[st.countdowns.length - 1]);
    return n;
  }
  function paint(c) {
    var left = c.until - serverNow();
    if (left > 0) c.node.textContent = c.prefix + dur(left) + ' left';
    else { c.node.textContent = c.prefix + 'ending\u2026'; }
    return left;
  }
  function tick() {
    var due = false;
    st.countdowns.forEach(function (c) {
      if (paint(c) <= 0 && !c.done) { c.done = true; due = true; }
    });
    if (due) schedule(800);	// the state should have changed: look again soon
  }

  // --- the 24-hour chart --------------------------------------------------

  // hist: 24 hourly request counts, oldest first, the last ending now
  // ("day_hist"); null when the server does not report them: then the
  // chart shows the day's total as an hourly average, labelled as such.
  function chart(title, hist, total) {
    // drawn at the width it is shown (redrawn with each refresh), so its
    // text keeps the page's size on a phone and on a wide screen
    var W = st.chartW, H = 150, L = 34, R = 6, T = 10, B = 22;
    var pw = W - L - R, ph = H - T - B;
    var box = el('figure', 'chart-box');
    var s = sv('svg', { 'class': 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var desc = title + ': ' + (hist ? 'requests per hour over the last 24 hours' :
      fmt(total) + ' requests in the last 24 hours; hourly breakdown not reported by the server');
    s.setAttribute('aria-label', desc);
    add(s, add(sv('title', {}), desc));
    var max = 0, i;
    if (hist) for (i = 0; i < hist.length; i++) max = Math.max(max, hist[i]);
    else max = total / 24;
    var top = niceMax(max);
    // grid lines at 0, half and the top; whole numbers on the axis
    [0, 0.5, 1].forEach(function (f) {
      var y = T + ph - f * ph;
      add(s, sv('line', { 'class': 'axis', x1: L, x2: W - R, y1: y.toFixed(1), y2: y.toFixed(1) }));
      if (f !== 0.5 || top % 2 === 0)
        add(s, add(sv('text', { x: L - 4, y: (y + 4).toFixed(1), 'text-anchor': 'end' }), fmtShort(top * f)));
    });
    [[0, '-24 h'], [12, '-12 h'], [24, 'now']].forEach(function (p) {
      var x = L + pw * p[0] / 24;
      add(s, add(sv('text', { x: x.toFixed(1), y: H - 6,
        'text-anchor': p[0] === 0 ? 'start' : p[0] === 24 ? 'end' : 'middle' }), p[1]));
    });
    if (hist) {
      var bw = pw / hist.length;
      for (i = 0; i < hist.length; i++) {
        var h = top > 0 ? hist[i] / top * ph : 0;
        var r = sv('rect', { 'class': 'bar', x: (L + i * bw + 1).toFixed(1), y: (T + ph - h).toFixed(1),
          width: Math.max(1, bw - 2).toFixed(1), height: Math.max(0, h).toFixed(1) });
        var ago = hist.length - i;
        add(r, add(sv('title', {}), fmt(hist[i]) + ' requests, ' + ago + ' to ' + (ago - 1) + ' h ago'));
        add(s, r);
      }
    } else {
      var y = T + ph - (top > 0 ? total / 24 / top * ph : 0);
      add(s, sv('line', { 'class': 'avg', x1: L, x2: W - R, y1: y.toFixed(1), y2: y.toFixed(1) }));
      add(s, add(sv('text', { x: L + 4, y: (y - 5).toFixed(1) }), 'average per hour'));
    }
    var cap = el('figcaption', 'chart-title', hist ?
      title + ': requests per hour, last 24 h (' + fmt(total) + ' in all)' :
      title + ': ' + fmt(total) + ' requests in the last 24 h (average ' + fmtShort(total / 24) +
      '/h; the server does not report hourly counts)');
    return add(box, cap, s);
  }
  // A key's own last 24 hours, small and without text (it stretches).
  function spark(hist) {
    if (!Array.isArray(hist) || hist.length === 0) return null;
    var h = hist.map(num), n = h.length, max = Math.max.apply(null, h.concat([1]));
    var total = h.reduce(function (a, b) { return a + b; }, 0);
    var s = sv('svg', { 'class': 'spark', viewBox: '0 0 ' + n * 4 + ' 20', preserveAspectRatio: 'none',
      role: 'img', 'aria-label': fmt(total) + ' requests in the last 24 h, per hour' });
    add(s, add(sv('title', {}), fmt(total) + ' requests in the last 24 h (per hour, oldest first)'));
    for (var i = 0; i < n; i++) {
      var y = h[i] > 0 ? Math.max(1, h[i] / max * 20) : 0;
      add(s, sv('rect', { 'class': 'bar', x: i * 4 + 0.5, y: (20 - y).toFixed(2), width: 3, height: y.toFixed(2) }));
    }
    return add(el('div', 'spark-box'), el('span', 'spark-label', 'last 24 h'), s);
  }
  function niceMax(v) {
    if (!(v > 1)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v))), f = v / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }
  function fmtShort(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + 'M';
    if (v >= 1e4) return (v / 1e3).toFixed(0) + 'k';
    return String(Math.round(v * 10) / 10);
  }
  // 24 counts, or null.
  function histOf(p) {
    var h = p.day_hist;
    if (h && !Array.isArray(h)) h = h.requests;
    if (Array.isArray(h) && h.length > 0) return h.map(num);
    // the sum of the keys' own histograms, when they carry them
    var out = null;
    keys(p.keys).forEach(function (id) {
      var k = obj(p.keys[id]).day_hist;
      if (k && !Array.isArray(k)) k = k.requests;
      if (!Array.isArray(k)) return;
      if (!out) out = k.map(function () { return 0; });
      for (var i = 0; i < Math.min(out.length, k.length); i++) out[i] += num(k[i]);
    });
    return out;
  }

  // --- cards --------------------------------------------------------------

  function details(id, label, fill) {
    var d = el('details');
    if (st.open[id]) d.open = true;
    d.addEventListener('toggle', function () { st.open[id] = d.open; });
    add(d, el('summary', null, label));
    fill(d);
    return d;
  }

  function modelsBlock(id, models) {
    var names = keys(models);
    if (names.length === 0) return null;
    return details(id, 'model limits (' + names.length + ')', function (d) {
      names.forEach(function (m) {
        var sub = add(el('div', 'sub'), el('div', 'sub-name', m));
        scopeMeters(sub, obj(models[m]), 'model');
        add(d, sub);
      });
    });
  }

  function keyCard(prov, id, k) {
    var state = str(k.state) || 'active';
    var c = el('article', 'card key state-' + state);
    c.setAttribute('data-key-id', id);
    c.setAttribute('data-state', state);
    var badge = el('span', 'badge ' + state, state);
    add(c, add(el('div', 'card-head'), el('code', 'kid', id), badge));
    if (state !== 'active') {
      var why = el('p', 'why');
      if (k.reason) add(why, str(k.reason));
      if (k.until) {
        add(why, (k.reason ? ' \u00b7 ' : '') + 'until ' + when(k.until) + ' \u00b7 ');
        add(why, countdown(k.until, ''));
      }
      add(c, why);
    }
    var win = obj(k.rate_limit_windows), lim = obj(k.rate_limits);
    add(c,
      meter('requests/min', win.req_min, lim.max_request_min),
      meter('tokens/min', k.tokens_min, lim.max_token_min),
      meter('requests/' + dayWord(k), win.req_day, lim.max_request_day),
      spark(k.day_hist));
    var meta = 'in flight ' + fmt(k.in_flight) + ' \u00b7 lifetime ' + fmt(k.lifetime_requests) +
      ' requests, ' + fmt(k.lifetime_tokens) + ' tokens \u00b7 ' + fmt(k.errors) + (num(k.errors) === 1 ? ' error' : ' errors');
    if (k.resets_at) meta += ' \u00b7 day resets at ' + when(k.resets_at);
    add(c, el('p', 'meta', meta));
    var ne = keys(k.not_entitled);
    if (ne.length) {
      var ul = el('ul', 'notes');
      ne.forEach(function (m) {
        var u = k.not_entitled[m];
        add(ul, el('li', null, 'no quota for ' + m + (u ? ' until ' + when(u) : '')));
      });
      add(c, ul);
    }
    add(c, modelsBlock('key:' + prov + ':' + id, k.models));
    return c;
  }

  function scopeCard(kind, name, sc) {
    var c = el('article', 'card scope');
    c.setAttribute('data-' + kind, name);
    add(c, add(el('div', 'card-head'), el('span', 'kid', name), el('span', 'badge', kind)));
    scopeMeters(c, sc, kind);
    if (kind === 'client')
      add(c, el('p', 'meta', 'lifetime ' + fmt(sc.lifetime_requests) + ' requests, ' +
        fmt(sc.lifetime_tokens) + ' tokens'));
    add(c, modelsBlock(kind + ':' + name, sc.models));
    return c;
  }

  // --- the document -------------------------------------------------------

  function providerSection(name, p, ov, owners) {
    var sec = el('section', 'provider');
    sec.setAttribute('data-provider', name);
    add(sec, el('h2', null, name));
    var o = obj(ov), sum = el('p', 'summary');
    add(sum, el('strong', null, fmt(o.total_requests)), ' of ' + fmt(o.total_capacity) +
      ' requests in the day windows (' + num(o.usage_percentage).toFixed(1) + ' %)');
    if (p.backoff_until && Date.parse(p.backoff_until) > serverNow()) {
      add(sum, ' \u00b7 provider backing off until ' + when(p.backoff_until) + ' \u00b7 ');
      add(sum, countdown(p.backoff_until, ''));
    }
    add(sec, sum);
    add(sec, chart(name, histOf(p), num(o.total_requests)));
    // keys grouped by owner when the document says whose they are
    var groups = {}, order = [];
    keys(p.keys).forEach(function (id) {
      var ow = str(obj(p.keys[id]).owner);
      if (!groups[ow]) { groups[ow] = []; order.push(ow); }
      groups[ow].push(id);
    });
    order.sort(function (a, b) { return a === '' ? 1 : b === '' ? -1 : a < b ? -1 : 1; });
    order.forEach(function (ow) {
      if (order.length > 1 || ow) add(sec, el('h3', null, ow ? 'owner ' + ow : 'no owner'));
      var grid = el('div', 'grid');
      if (ow && owners[ow]) add(grid, scopeCard('owner', ow, obj(owners[ow])));
      groups[ow].forEach(function (id) { add(grid, keyCard(name, id, obj(p.keys[id]))); });
      add(sec, grid);
    });
    if (order.length === 0) add(sec, el('p', 'empty', 'no keys'));
    return sec;
  }

  function render(doc) {
    st.countdowns = [];
    var view = $('view'), frag = document.createDocumentFragment();
    st.chartW = Math.round(Math.max(260, Math.min(900, (view.clientWidth || 600) - 22)));
    var det = obj(doc.details), owners = obj(doc.owners), clients = obj(doc.clients);
    var provs = keys(det);
    // owners already shown inside a provider (keys carry "owner", or the
    // owner names its provider) are not repeated below
    var shown = {};
    provs.forEach(function (pn) {
      keys(obj(det[pn]).keys).forEach(function (id) {
        var ow = str(obj(obj(det[pn]).keys[id]).owner);
        if (ow) shown[ow] = true;
      });
    });
    provs.forEach(function (pn) {
      add(frag, providerSection(pn, obj(det[pn]), obj(doc.overview)[pn], owners));
      var mine = keys(owners).filter(function (ow) {
        return !shown[ow] && str(obj(owners[ow]).provider) === pn;
      });
      if (mine.length) {
        var g = el('div', 'grid');
        mine.forEach(function (ow) { shown[ow] = true; add(g, scopeCard('owner', ow, obj(owners[ow]))); });
        add(frag, add(el('section', 'provider'), el('h3', null, pn + ' owners'), g));
      }
    });
    var rest = keys(owners).filter(function (ow) { return !shown[ow]; });
    if (rest.length) {
      var og = el('div', 'grid');
      rest.forEach(function (ow) { add(og, scopeCard('owner', ow, obj(owners[ow]))); });
      add(frag, add(el('section', 'owners'), el('h2', null, 'Owners'), og));
    }
    var cl = keys(clients);
    if (cl.length) {
      var cg = el('div', 'grid');
      cl.forEach(function (n) { add(cg, scopeCard('client', n, obj(clients[n]))); });
      add(frag, add(el('section', 'clients'), el('h2', null, 'Client keys'), cg));
    }
    if (!provs.length && !cl.length && !rest.length)
      add(frag, el('p', 'empty', 'The usage document lists nothing.'));
    if (!doc.details && cl.length)
      frag.insertBefore(el('p', 'banner', 'Signed in with a client key: only its own usage is shown.'),
        frag.firstChild);
    view.replaceChildren(frag);
  }

  // --- fetching -----------------------------------------------------------

  function setStatus(text, bad) {
    var s = $('status');
    s.textContent = text;
    s.classList.toggle('bad', !!bad);
  }

  function schedule(ms) {
    clearTimeout(st.timer);
    if (st.key) st.timer = setTimeout(load, ms);
  }

  function load() {
    clearTimeout(st.timer);
    if (!st.key || st.loading) return;
    if (document.hidden) { schedule(REFRESH_MS); return; }
    st.loading = true;
    var ctl = new AbortController();
    var to = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT_MS);
    var key = st.key;
    fetch('v1/usage', {
      headers: { Authorization: 'Bearer ' + key, Accept: 'application/json' },
      cache: 'no-store', credentials: 'omit', redirect: 'error',
      referrerPolicy: 'no-referrer', signal: ctl.signal
    }).then(function (res) {
      var date = Date.parse(res.headers.get('Date') || '');
      if (isFinite(date) && Math.abs(date - Date.now()) > 2000) st.skew = date - Date.now();
      else st.skew = 0;
      if (key !== st.key) return null;	// forgotten or replaced meanwhile
      if (res.status === 401) { askKey('The server refused this key (401). Enter the access key again.'); return null; }
      if (!res.ok) {
        return res.text().then(function (t) {
          var msg = 'HTTP ' + res.status;
          try { msg += ': ' + str(JSON.parse(t).error.message); } catch (e) { /* not JSON */ }
          throw new Error(msg);
        });
      }
      return res.json();
    }).then(function (doc) {
      if (!doc || key !== st.key) return;
      st.doc = doc;
      st.lastOk = Date.now();
      render(obj(doc));
      setStatus('Updated ' + when(new Date(serverNow()).toISOString()) +
        (doc.ledger_backend ? ' \u00b7 ledger ' + str(doc.ledger_backend) : '') +
        ' \u00b7 refreshes every ' + REFRESH_MS / 1000 + ' s');
    }).catch(function (e) {
      var what = e && e.name === 'AbortError' ? 'no answer in ' + FETCH_TIMEOUT_MS / 1000 + ' s' :
        (e && e.message) || 'failed';
      setStatus('Could not read v1/usage (' + what + ')' +
        (st.lastOk ? '; showing the data of ' + when(new Date(st.lastOk + st.skew).toISOString()) : '') +
        '. Retrying.', true);
    }).then(function () {
      clearTimeout(to);
      st.loading = false;
      if (st.key && key !== st.key) load();	// a new key came in meanwhile
      else schedule(REFRESH_MS);
    });
  }

  // --- the key --------------------------------------------------------------

  function storeGet() { try { return sessionStorage.getItem(STORE); } catch (e) { return null; } }
  function storeSet(v) { try { sessionStorage.setItem(STORE, v); } catch (e) { /* private mode */ } }
  function storeDel() { try { sessionStorage.removeItem(STORE); } catch (e) { /* ignore */ } }

  function askKey(msg) {
    st.key = null;
    storeDel();
    clearTimeout(st.timer);
    st.countdowns = [];
    st.doc = null;
    st.lastOk = 0;
    $('view').replaceChildren();
    $('forget').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = msg || '';
    setStatus(msg ? 'Not signed in.' : 'Enter the access key to see the usage.', !!msg);
    $('key').value = '';
    $('key').focus();
  }

  function useKey(k) {
    st.key = k;
    $('login').hidden = true;
    $('login-error').textContent = '';
    $('forget').hidden = false;
    setStatus('Loading\u2026');
    load();
  }

  function start() {
    $('login').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var k = $('key').value.trim();
      $('key').value = '';
      if (!k) return;
      storeSet(k);
      useKey(k);
    });
    $('forget').addEventListener('click', function () { askKey(''); });
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && st.key) load();
    });
    st.ticker = setInterval(tick, 1000);
    var k = storeGet();
    if (k) useKey(k); else askKey('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
