-- ledger.lua -- the ledger's atomic steps inside Redis (ledger_redis.c
-- sends them; Redis runs a script without interleaving anything else).
-- Owns: reserve (choose a key among the candidates and take its slot on
-- every scope it draws on, one step), settle (book real usage, apply the
-- verdict, end the lease), renew (extend a lease), snapshot (every record
-- at one moment), all on the server's clock (TIME), so hosts whose clocks
-- disagree share exact windows.
-- Never: policy of its own. Every rule here restates one of C, which is
-- the reference: win.c (windows), ledger_rec.c (record bytes),
-- ledger_scope.c (scopes, calendar days, leases), ledger.c px_pol_*
-- (eligibility, health), keysel.c (the pick). The unit
-- suite runs every ledger case against both backends to keep them equal.
-- Lua 5.1 numbers are doubles: every value here (ms times, bucket
-- numbers, counters) stays far below 2^53, where doubles are exact.

local U32 = 4294967295
local NEVER = math.huge

-- Caller's clock (a test knob, ledger.h) or the server's.
local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- --- windows (win.h) ------------------------------------------------------
local MIN = { w = 100, nb = 601, ncol = 2, kb = 109, ttl = 70000 }
local DAY = { w = 60000, nb = 1441, ncol = 1, kb = 100, ttl = 86520000 }
for _, s in ipairs({ MIN, DAY }) do
  s.hl = 12 + 8 * s.ncol
  s.el = 2 + 4 * s.ncol
  s.fmt = s.ncol == 2 and '<I2I4I4' or '<I2I4'
end

local function bucket(spec, t)
  if t < 0 then return 0 end
  return math.floor(t / spec.w)
end

local function leave_time(spec, k)
  return (k + spec.nb) * spec.w
end

-- A window in Redis, read and written by byte ranges, never decoded whole
-- (a day window of a key busy all day is 1,441 entries, 8.6 KB; a request
-- changes one). wread fetches the header and the oldest WPRE entries (a
-- small window whole); other entries come on demand (GETRANGE). Expiry
-- reads from the oldest entry on, only those that left (usually none or
-- one); an add reads the newest entry; a sub looks for its bucket (a
-- recent one) from the newest back; free_at reads on only when the window
-- is full. The stored entries do not move: the oldest w.drop have left,
-- drop + 1 .. keep are unchanged, then w.tail holds the changed and new
-- ones ({bucket, value, value}). wsave writes the header and the tail in
-- place when nothing before them moved (SETRANGE), else the whole record
-- (SET). Either way the bytes are px_win_encode's (the snapshot decodes
-- them in C). Bytes that are not a window of this kind read as empty.
local WPRE = 24

local function wopen(spec, key, s, len)
  local w = { spec = spec, key = key, s = '', len = 0, n = 0, n0 = 0,
    head = 0, sum = { 0, 0 }, drop = 0, keep = 0, tail = {}, ts = '',
    tlo = 0 }
  if #s < spec.hl or s:byte(1) ~= spec.kb or s:byte(2) ~= 1 then
    return w
  end
  local n, head = struct.unpack('<I2i8', s, 3)
  if n > spec.nb or head < 0 or len ~= spec.hl + n * spec.el then
    return w
  end
  w.s, w.len, w.n, w.n0, w.keep, w.head = s, len, n, n, n, head
  w.sum[1] = struct.unpack('<I8', s, 13)
  if spec.ncol == 2 then w.sum[2] = struct.unpack('<I8', s, 21) end
  return w
end

local function wread(spec, key)
  local pre = spec.hl + WPRE * spec.el
  local s = redis.call('GETRANGE', key, 0, pre - 1)
  local len = #s
  if len == pre then len = redis.call('STRLEN', key) end
  return wopen(spec, key, s, len)
end

-- Slot and values of stored entry j: from the bytes read with the header,
-- else from a second range, fetched from 32 entries before j (a scan
-- from the newest back) or, if that was not enough, from the end of the
-- first range on.
local function sraw(w, j)
  local spec = w.spec
  local p = spec.hl + (j - 1) * spec.el + 1
  if p + spec.el - 1 <= #w.s then return struct.unpack(spec.fmt, w.s, p) end
  if w.tlo == 0 or p < w.tlo then
    local lo = #w.s + 1
    if w.tlo == 0 then lo = math.max(lo, p - 32 * spec.el) end
    w.ts, w.tlo = redis.call('GETRANGE', w.key, lo - 1, w.len - 1), lo
  end
  return struct.unpack(spec.fmt, w.ts, p - w.tlo + 1)
end

-- Bucket and values of entry i (1-based, oldest first).
local function went(w, i)
  local spec, m = w.spec, w.keep - w.drop
  if i > m then
    local e = w.tail[i - m]
    return e[1], e[2], e[3]
  end
  local slot, a, b = sraw(w, w.drop + i)
  if spec.ncol == 1 then b = 0 end
  return w.head - (w.head % spec.nb - slot) % spec.nb, a, b
end

local function pick_col(col, a, b)
  if col == 1 then return a end
  return b
end

-- Entries expired at bucket n (a prefix: those at most n - nb) and the
-- column totals without them; only that prefix is read.
local function wexpired(w, n)
  local cut, k, s1, s2 = n - w.spec.nb, 0, w.sum[1], w.sum[2]
  while k < w.n do
    local b, x, y = went(w, k + 1)
    if b > cut then break end
    s1, s2 = math.max(0, s1 - x), math.max(0, s2 - y)
    k = k + 1
  end
  return k, s1, s2
end

local function wsum(w, now, col)
  local n = bucket(w.spec, now)
  if n <= w.head then return w.sum[col] end
  local _, s1, s2 = wexpired(w, n)
  return pick_col(col, s1, s2)
end

-- Walks the entries only when the window is full at now (win.c's proof).
local function wfree(w, now, col, need, limit)
  if need > limit then return NEVER end
  local left = wsum(w, now, col)
  if left + need <= limit then return now end
  local spec = w.spec
  local cut = math.max(bucket(spec, now), w.head) - spec.nb
  for i = 1, w.n do
    local b, x, y = went(w, i)
    if b > cut then
      left = math.max(0, left - pick_col(col, x, y))
      if left + need <= limit then return leave_time(spec, b) end
    end
  end
  return leave_time(spec, w.head)
end

-- Move to now: entries that left are dropped. The stored entries kept
-- lie within nb buckets of the new head, so their slots still name them.
local function wadvance(w, now)
  local n = bucket(w.spec, now)
  if n <= w.head then return end
  local k, s1, s2 = wexpired(w, n)
  local m = w.keep - w.drop
  w.sum[1], w.sum[2] = s1, s2
  if k <= m then
    w.drop = w.drop + k
  else
    w.drop = w.keep
    for _ = 1, k - m do table.remove(w.tail, 1) end
  end
  w.n, w.head = w.n - k, n
end

-- Entries i .. n into the tail (from the newest back); entry i's table.
local function wtouch(w, i)
  while w.keep - w.drop >= i do
    local b, x, y = went(w, w.keep - w.drop)
    table.insert(w.tail, 1, { b, x, y })
    w.keep = w.keep - 1
  end
  return w.tail[i - (w.keep - w.drop)]
end

local function wadd(w, now, vals)
  wadvance(w, now)
  local spec, e = w.spec, nil
  if w.n > 0 and went(w, w.n) == w.head then
    e = wtouch(w, w.n)
  else
    if w.n >= spec.nb then return end
    e = { w.head, 0, 0 }
    w.tail[#w.tail + 1] = e
    w.n = w.n + 1
  end
  for c = 1, spec.ncol do
    local add = math.min(vals[c], U32 - e[c + 1])
    e[c + 1] = e[c + 1] + add
    w.sum[c] = w.sum[c] + add
  end
end

local function wsub(w, at, col, v)
  local spec = w.spec
  local k = bucket(spec, at)
  if k > w.head or w.head - k >= spec.nb then return end
  for i = w.n, 1, -1 do
    local b = went(w, i)
    if b < k then return end
    if b == k then
      local e = wtouch(w, i)
      v = math.min(v, e[col + 1])
      e[col + 1] = e[col + 1] - v
      w.sum[col] = math.max(0, w.sum[col] - v)
      if e[2] == 0 and e[3] == 0 then
        table.remove(w.tail, i - (w.keep - w.drop))
        w.n = w.n - 1
      end
      return
    end
  end
end

local function whead(w)
  local spec = w.spec
  local h = struct.pack('<BBI2i8', spec.kb, 1, w.n, w.head)
  if spec.ncol == 2 then return h .. struct.pack('<I8I8', w.sum[1], w.sum[2]) end
  return h .. struct.pack('<I8', w.sum[1])
end

local function wtailbytes(w)
  local spec, parts = w.spec, {}
  for i = 1, #w.tail do
    local e = w.tail[i]
    parts[i] = struct.pack(spec.fmt, e[1] % spec.nb, e[2], e[3])
  end
  return table.concat(parts)
end

-- The stored bytes of entries drop + 1 .. keep.
local function wkept(w)
  if w.keep <= w.drop then return '' end
  local spec = w.spec
  local lo = spec.hl + w.drop * spec.el + 1
  local hi = spec.hl + w.keep * spec.el
  if hi <= #w.s then return w.s:sub(lo, hi) end
  if w.tlo ~= 0 and lo >= w.tlo then
    return w.ts:sub(lo - w.tlo + 1, hi - w.tlo + 1)
  end
  return redis.call('GETRANGE', w.key, lo - 1, hi - 1)
end

-- Once per window and call: the stored record is what wread saw. A
-- record read whole is written whole (one call).
local function wsave(key, w)
  local spec = w.spec
  if w.len > #w.s and w.drop == 0 and w.keep > 0 and
      w.keep + #w.tail >= w.n0 then
    redis.call('SETRANGE', key, 0, whead(w))
    if #w.tail > 0 then
      redis.call('SETRANGE', key, spec.hl + w.keep * spec.el, wtailbytes(w))
    end
    redis.call('PEXPIRE', key, spec.ttl)
  else
    redis.call('SET', key, whead(w) .. wkept(w) .. wtailbytes(w), 'PX', spec.ttl)
  end
end

-- --- health, provider, marks, cursor (ledger_rec.h) ---------------------
local function hdecode(s)
  local h = { state = 0, daily = 0, strikes = 0, cool = 0, probe_at = 0,
    lease = 0, lreq = 0, ltok = 0, lerr = 0, reason = '' }
  if not s or #s < 57 or s:byte(1) ~= 104 or s:byte(2) ~= 1 or s:byte(3) > 2 then
    return h
  end
  local rlen = s:byte(57)
  if #s ~= 57 + rlen then return h end
  h.state, h.daily, h.strikes, h.cool, h.probe_at, h.lease, h.lreq, h.ltok,
    h.lerr = struct.unpack('<BBI4i8i8i8I8I8I8', s, 3)
  h.reason = s:sub(58, 57 + rlen)
  return h
end

local function hsave(key, h)
  local r = h.reason:sub(1, 63)
  redis.call('SET', key, struct.pack('<BBBBI4i8i8i8I8I8I8B', 104, 1, h.state,
    h.daily, h.strikes, h.cool, h.probe_at, h.lease, h.lreq, h.ltok, h.lerr,
    #r) .. r)
end

local function pdecode(s)
  local p = { next = 0, strikes = 0, backoff = 0, t = {}, k = {}, reason = '' }
  for i = 1, 16 do
    p.t[i] = 0
    p.k[i] = 0
  end
  if not s or #s < 209 or s:byte(1) ~= 112 or s:byte(2) ~= 1 or s:byte(3) >= 16 then
    return p
  end
  local rlen = s:byte(209)
  if #s ~= 209 + rlen then return p end
  p.next = s:byte(3)
  p.strikes, p.backoff = struct.unpack('<I4i8', s, 5)
  for i = 1, 16 do p.t[i], p.k[i] = struct.unpack('<i8I4', s, 17 + 12 * (i - 1)) end
  p.reason = s:sub(210, 209 + rlen)
  return p
end

-- Kept while a back-off or a remembered 429 can still matter.
local function psave(key, p, now)
  local parts = { struct.pack('<BBBBI4i8', 112, 1, p.next, 0, p.strikes, p.backoff) }
  for i = 1, 16 do parts[#parts + 1] = struct.pack('<i8I4', p.t[i], p.k[i]) end
  local r = p.reason:sub(1, 63)
  parts[#parts + 1] = string.char(#r) .. r
  redis.call('SET', key, table.concat(parts), 'PX',
    math.max(p.backoff - now, 0) + 600000)
end

local function edecode(s)
  local e = {}
  if not s or #s < 3 or s:byte(1) ~= 101 or s:byte(2) ~= 1 or s:byte(3) > 8 then
    return e
  end
  local pos = 4
  for i = 1, s:byte(3) do
    if #s - pos + 1 < 9 then return {} end
    local u = struct.unpack('<i8', s, pos)
    local l = s:byte(pos + 8)
    if l >= 120 or pos + 8 + l > #s then return {} end
    e[i] = { u = u, m = s:sub(pos + 9, pos + 8 + l) }
    pos = pos + 9 + l
  end
  if pos ~= #s + 1 then return {} end
  return e
end

local function esave(key, e, now)
  local parts, last = { struct.pack('<BBB', 101, 1, #e) }, now
  for i = 1, #e do
    parts[#parts + 1] = struct.pack('<i8B', e[i].u, #e[i].m) .. e[i].m
    last = math.max(last, e[i].u)
  end
  redis.call('SET', key, table.concat(parts), 'PX', last - now + 1000)
end

local function ent_until(e, model, now)
  model = model:sub(1, 119)
  for i = 1, #e do
    if e[i].u > now and e[i].m == model then return e[i].u end
  end
  return 0
end

-- px_pol_ent_mark: expired marks go; own slot, a new one, else the one
-- that ends first.
local function ent_mark(e, model, untilt, now)
  local live, use = {}, nil
  model = model:sub(1, 119)
  for i = 1, #e do
    if e[i].u > now then live[#live + 1] = e[i] end
  end
  for i = 1, #live do
    if live[i].m == model then use = i break end
  end
  if not use and #live == 8 then
    use = 1
    for i = 2, #live do
      if live[i].u < live[use].u then use = i end
    end
  elseif not use then
    use = #live + 1
  end
  live[use] = { u = untilt, m = model }
  return live
end

local function cursor(s)
  if s and #s == 4 then return struct.unpack('<I4', s) end
  return U32
end

-- --- policy (ledger.c px_pol_*, keysel.c) ----------------------------------
local function health_free_at(h, now)
  if h.state == 1 then return math.max(now, h.cool) end
  if h.state == 2 then return math.max(now, h.probe_at, h.lease) end
  return now
end

local function healthy(h)
  h.state, h.strikes, h.daily, h.cool, h.probe_at, h.lease, h.reason =
    0, 0, 0, 0, 0, 0, ''
end

local function pct(req_day, max_day)
  if max_day == 0 then return 0 end
  return req_day * 100 / max_day
end

-- px_keysel_pick: least-used eligible key, those within gap points of it,
-- round robin after the cursor. Returns a 0-based index or nil.
local function keysel(views, n, gap, cur)
  local least, found = 0, false
  for i = 1, n do
    if views[i].ok then
      local p = pct(views[i].rday, views[i].rpd)
      if not found or p < least then least = p end
      found = true
    end
  end
  if not found then return nil end
  if not (gap > 0) then gap = 0 end
  local bound, start = least + gap + 1e-9, cur % n
  for i = 1, n do
    local j = (start + i) % n
    local v = views[j + 1]
    if v.ok and pct(v.rday, v.rpd) <= bound then return j end
  end
  return nil
end

local function escalate(esc, strikes)
  return esc[math.min(strikes, 3) + 1]
end

-- --- calendar days, leases, client totals (ledger_rec.h) ------------------
local CAL_TTL = 2 * 86400000
local LEASE_KEEP = 60000

local function cdecode(s)
  if s and #s == 18 and s:byte(1) == 99 and s:byte(2) == 1 then
    local start, count = struct.unpack('<i8I8', s, 3)
    return { start = start, count = count }
  end
  return { start = 0, count = 0 }
end

local function ldecode(s)
  local lz = {}
  if not s or #s < 4 or s:byte(1) ~= 108 or s:byte(2) ~= 1 then return lz end
  local n = struct.unpack('<I2', s, 3)
  if #s ~= 4 + 16 * n then return lz end
  for i = 1, n do
    local id, exp = struct.unpack('<I8i8', s, 5 + 16 * (i - 1))
    lz[i] = { id = id, exp = exp }
  end
  return lz
end

local function lsave(key, lz, now)
  local parts, last = { struct.pack('<BBI2', 108, 1, #lz) }, now
  for i = 1, #lz do
    parts[#parts + 1] = struct.pack('<I8i8', lz[i].id, lz[i].exp)
    last = math.max(last, lz[i].exp)
  end
  redis.call('SET', key, table.concat(parts), 'PX', last - now + LEASE_KEEP)
end

local function live(lz, now)
  local n = 0
  for i = 1, #lz do
    if lz[i].exp > now then n = n + 1 end
  end
  return n
end

local function purge(lz, now)
  local out = {}
  for i = 1, #lz do
    if lz[i].exp > now then out[#out + 1] = lz[i] end
  end
  return out
end

local function tdecode(s)
  if s and #s == 18 and s:byte(1) == 116 and s:byte(2) == 1 then
    local r, t = struct.unpack('<I8I8', s, 3)
    return { req = r, tok = t }
  end
  return { req = 0, tok = 0 }
end

local function tsave(key, t)
  redis.call('SET', key, struct.pack('<BBI8I8', 116, 1, t.req, t.tok))
end

-- --- scopes (ledger_scope.c) --------------------------------------------------
-- A scope arrives as kind, rpm, rpd, tpm, conc, day (0 rolling, 1 UTC
-- calendar, 2 Pacific calendar) and three KEYS: m, d, l.
local LIMIT_OF = { [0] = 0, [1] = 2, [2] = 1, [3] = 2, [4] = 4 }
local LIMIT_CONC = 3

local function scope_spec(a)
  return { kind = tonumber(ARGV[a]), rpm = tonumber(ARGV[a + 1]),
    rpd = tonumber(ARGV[a + 2]), tpm = tonumber(ARGV[a + 3]),
    conc = tonumber(ARGV[a + 4]), day = tonumber(ARGV[a + 5]) }
end

-- Day starts passed by the caller (px_day_starts): 4 per calendar rule,
-- UTC at ARGV[a], Pacific at ARGV[a + 4].
local function read_starts(a)
  local st = { {}, {} }
  for r = 1, 2 do
    for i = 1, 4 do st[r][i] = tonumber(ARGV[a + 4 * (r - 1) + i - 1]) end
  end
  return st
end

-- The day containing t under rule day: its start and the next start.
local function day_of(x, day, t)
  local st = x.starts[day]
  for i = 3, 1, -1 do
    if t >= st[i] then return st[i], st[i + 1] end
  end
  return st[1], st[2]
end

local function sload(sc, k)
  local rec = { k = k, wm = wread(MIN, KEYS[k]), lz = {} }
  if sc.day == 0 then
    rec.wd = wread(DAY, KEYS[k + 1])
  else
    rec.cal = cdecode(redis.call('GET', KEYS[k + 1]))
  end
  if sc.conc > 0 then rec.lz = ldecode(redis.call('GET', KEYS[k + 2])) end
  return rec
end

local function day_count(x, sc, r)
  if sc.day == 0 then return wsum(r.wd, x.now, 1) end
  local start = day_of(x, sc.day, x.now)
  if r.cal.start >= start then return r.cal.count end
  return 0
end

local function day_free(x, sc, r)
  if sc.day == 0 then return wfree(r.wd, x.now, 1, 1, sc.rpd) end
  if day_count(x, sc, r) + 1 <= sc.rpd then return x.now end
  local _, nxt = day_of(x, sc.day, math.max(x.now, r.cal.start))
  return nxt
end

-- A full cap: retry after conc_retry, or when the lease that expires
-- first frees a slot, if sooner (exactly full: one expiry is enough).
local function conc_free(lz, conc, now, retry)
  local t = now + retry
  if live(lz, now) ~= conc then return t end
  for i = 1, #lz do
    if lz[i].exp > now and lz[i].exp < t then t = lz[i].exp end
  end
  return t
end

local function scope_eval(x, sc, r)
  local now, tok = x.now, x.tokens
  local t, tc = now, now
  local ev = { fits = true, req_day = day_count(x, sc, r) }
  if sc.rpm > 0 and not sc.carried then t = math.max(t, wfree(r.wm, now, 1, 1, sc.rpm)) end
  if sc.rpd > 0 and not sc.carried then t = math.max(t, day_free(x, sc, r)) end
  if sc.tpm > 0 then
    ev.fits = tok <= sc.tpm
    t = math.max(t, wfree(r.wm, now, 2, tok, sc.tpm))
  end
  if sc.conc > 0 and live(r.lz, now) >= sc.conc then tc = conc_free(r.lz, sc.conc, now, x.conc_retry) end
  ev.ok = t <= now and tc <= now
  ev.free_at = math.max(t, tc)
  if tc > t then ev.limit = LIMIT_CONC else ev.limit = LIMIT_OF[sc.kind] end
  return ev
end

local function fold(acc, ev)
  acc.ok = acc.ok and ev.ok
  acc.fits = acc.fits and ev.fits
  if ev.free_at > acc.free_at then
    acc.free_at, acc.limit = ev.free_at, ev.limit
  end
end

-- A carried client scope (ledger_int.h) books tokens and its lease only.
local function scope_take(x, sc, r)
  wadd(r.wm, x.now, { sc.carried and 0 or 1, x.tokens })
  wsave(KEYS[r.k], r.wm)
  if sc.carried then
    -- its day has the request already
  elseif sc.day == 0 then
    wadd(r.wd, x.now, { 1 })
    wsave(KEYS[r.k + 1], r.wd)
  else
    local start = day_of(x, sc.day, x.now)
    if r.cal.start < start then r.cal = { start = start, count = 0 } end
    r.cal.count = r.cal.count + 1
    redis.call('SET', KEYS[r.k + 1], struct.pack('<BBi8I8', 99, 1,
      r.cal.start, r.cal.count), 'PX', CAL_TTL)
  end
  if sc.conc > 0 then
    r.lz = purge(r.lz, x.now)
    if #r.lz < 1000 then r.lz[#r.lz + 1] = { id = x.lease_id, exp = x.now + x.ttl } end
    lsave(KEYS[r.k + 2], r.lz, x.now)
    return true
  end
  return false
end

-- px_scope_book: the real token count (or a release), the lease gone.
local function scope_book(q, sc, r)
  local now = q.now
  wadvance(r.wm, now)
  if q.how == 0 then
    local used = q.tokens >= 0 and q.tokens or q.ltok
    if used < q.ltok then
      wsub(r.wm, q.lt, 2, q.ltok - used)
    elseif used > q.ltok then
      wadd(r.wm, now, { 0, math.min(used - q.ltok, U32) })
    end
  else
    wsub(r.wm, q.lt, 2, q.ltok)
  end
  if q.how == 2 and not sc.carried then
    wsub(r.wm, q.lt, 1, 1)
    if sc.day == 0 then
      wadvance(r.wd, now)
      wsub(r.wd, q.lt, 1, 1)
      wsave(KEYS[r.k + 1], r.wd)
    else
      local start = day_of(q, sc.day, q.lt)
      if r.cal.start == start and r.cal.count > 0 and q.lt >= q.starts[sc.day][1] then
        r.cal.count = r.cal.count - 1
      end
      redis.call('SET', KEYS[r.k + 1], struct.pack('<BBi8I8', 99, 1,
        r.cal.start, r.cal.count), 'PX', CAL_TTL)
    end
  end
  wsave(KEYS[r.k], r.wm)
  if sc.conc > 0 and q.lease_id ~= 0 then
    local out = {}
    for i = 1, #r.lz do
      if r.lz[i].id ~= q.lease_id and r.lz[i].exp > now then out[#out + 1] = r.lz[i] end
    end
    lsave(KEYS[r.k + 2], out, now)
  end
end

-- --- reserve ---------------------------------------------------------------
-- ARGV: 'reserve', now|'', tokens, gap, probe_lease_ms, lease_id,
-- lease_ttl_ms, conc_retry_ms, 8 day starts (UTC, Pacific), has_client
-- (0, 1; 2: a retry whose client request is booked: ledger_int.h),
-- [the client scope's 6 values], nc, then per candidate: model, nkeys,
-- and per key: excluded (0/1), max_request_day, nscopes, 6 values per
-- scope (scope_spec).
-- KEYS: [client: m, d, l, t], then per candidate p/<p>, rr/<p>, and per
-- key h, e and m, d, l per scope.
-- Reply: {1, ci, i, now, capped} or
--        {0, earliest|-1, fits, nkeys, nent, now, limit}.
local function view(x, a, k, model, backoff)
  local out, rpd, ns = ARGV[a] == '1', tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local r = redis.call('MGET', KEYS[k], KEYS[k + 1])
  local v = { h = hdecode(r[1]), k = k, scopes = {}, recs = {}, rpd = rpd }
  local now = x.now
  local ent = ent_until(edecode(r[2]), model, now)
  local agg
  a, k = a + 3, k + 2
  for j = 1, ns do
    local sc = scope_spec(a)
    local rec = sload(sc, k)
    local ev = scope_eval(x, sc, rec)
    v.scopes[j], v.recs[j] = sc, rec
    if j == 1 then agg = ev else fold(agg, ev) end
    a, k = a + 6, k + 3
  end
  local hfree = health_free_at(v.h, now)
  v.ok = agg.ok and hfree <= now and backoff <= now and not out and ent == 0
  v.rday = agg.req_day
  x.nkeys = x.nkeys + 1
  if ent ~= 0 and not out then x.nent = x.nent + 1 end
  local t = math.max(agg.free_at, hfree, backoff, ent)
  if agg.fits then x.fits = 1 end
  if t < x.earliest then
    x.earliest = t
    if agg.free_at >= t then x.limit = agg.limit else x.limit = 0 end
  end
  return v, a, k
end

local function take(x, v)
  local capped = false
  for j = 1, #v.scopes do
    if scope_take(x, v.scopes[j], v.recs[j]) then capped = true end
  end
  if x.client then
    if scope_take(x, x.client, x.crec) then capped = true end
    local t = tdecode(redis.call('GET', KEYS[4]))
    if not x.client.carried then t.req = t.req + 1 end
    tsave(KEYS[4], t)
  end
  v.h.lreq = v.h.lreq + 1
  if v.h.state == 2 then v.h.lease = x.now + x.lease_ms end
  hsave(KEYS[v.k], v.h)
  if capped then return 1 end
  return 0
end

local function reserve()
  local x = { now = clock(ARGV[2]), tokens = tonumber(ARGV[3]),
    lease_ms = tonumber(ARGV[5]), lease_id = tonumber(ARGV[6]),
    ttl = tonumber(ARGV[7]), conc_retry = tonumber(ARGV[8]),
    starts = read_starts(9), earliest = NEVER, limit = 0, fits = 0,
    nkeys = 0, nent = 0 }
  local gap, a, k = tonumber(ARGV[4]), 18, 1
  local blocked
  if ARGV[17] ~= '0' then
    x.client = scope_spec(18)
    x.client.carried = ARGV[17] == '2'  -- its request is booked
    x.crec = sload(x.client, 1)
    a, k = 24, 5
    local ev = scope_eval(x, x.client, x.crec)
    -- full: no key is taken, but the keys still say when one has room
    if not ev.ok then blocked = ev end
  end
  local nc = tonumber(ARGV[a])
  a = a + 1
  for ci = 0, nc - 1 do
    local pkey, rrkey = KEYS[k], KEYS[k + 1]
    local model, n = ARGV[a], tonumber(ARGV[a + 1])
    local backoff = pdecode(redis.call('GET', pkey)).backoff
    local views = {}
    k, a = k + 2, a + 2
    for i = 1, n do views[i], a, k = view(x, a, k, model, backoff) end
    local pick = keysel(views, n, gap, cursor(redis.call('GET', rrkey)))
    if pick and not blocked then
      local capped = take(x, views[pick + 1])
      redis.call('SET', rrkey, struct.pack('<I4', pick), 'PX', 86400000)
      return { 1, ci, pick, x.now, capped }
    end
  end
  if blocked then -- the client's own limit: named; retry when both have room
    x.earliest = math.max(x.earliest, blocked.free_at)
    x.limit, x.nkeys, x.nent = 4, 0, 0
    if not blocked.fits then x.fits = 0 end
  end
  if x.earliest == NEVER then x.earliest = -1 end
  return { 0, x.earliest, x.fits, x.nkeys, x.nent, x.now, x.limit }
end

-- --- settle ------------------------------------------------------------------
-- ARGV: 'settle', now|'', how (0 done, 1 release tokens, 2 release all),
-- tokens (-1: keep the estimate), lease_t, lease_tokens, lease_id, fault
-- (none, rate, auth, ent, other), until, daily (0/1), reason, model, key
-- index, nkeys, reprobe_ms, correlate_ms, four escalation steps, 8 day
-- starts, nscopes, 6 values per scope, has_client (0, 1; 2: its request
-- was booked by an earlier attempt).
-- KEYS: h, e of the lease's key, p/<p>, m, d, l per scope (the client's
-- last), the client's t, then (a non-daily 429 only) h of every key of
-- the provider in config order (from KEYS[pardon_at]).
-- Reply: {now}.
local function provider_429(p, ki, n, untilt, now, corr, esc)
  local slot = p.next % 16 + 1
  p.t[slot], p.k[slot] = now, ki
  p.next = (p.next + 1) % 16
  local first, distinct = {}, 0
  local function span(j) return p.t[j] ~= 0 and now - p.t[j] <= corr end
  for i = 1, 16 do
    first[i] = span(i)
    for j = 1, i - 1 do
      if first[i] and span(j) and p.k[j] == p.k[i] then first[i] = false end
    end
    if first[i] then distinct = distinct + 1 end
  end
  if distinct < 2 or distinct * 2 < n then return nil end
  if untilt <= now then untilt = now + escalate(esc, p.strikes) end
  p.strikes = p.strikes + 1
  p.backoff = math.max(p.backoff, untilt)
  p.reason = '429 on several keys'
  return first
end

local function key_429(h, untilt, daily, reason, now, esc)
  if untilt <= now then
    untilt = now + escalate(esc, h.strikes)
    h.strikes = h.strikes + 1
  end
  h.state, h.daily, h.cool, h.reason = 1, daily, untilt, reason
end

local function pardon(q, p, first)
  for i = 1, 16 do
    local key = p.k[i]
    if first[i] and key < q.n and key ~= q.ki then
      local hk = KEYS[q.pardon_at + key]
      local h = hdecode(redis.call('GET', hk))
      if h.state == 1 and h.daily == 0 then
        healthy(h)
        hsave(hk, h)
      end
    end
  end
end

local function judge(q, h)
  if q.fault == 'none' then
    if q.how == 0 then
      healthy(h)
      local p = pdecode(redis.call('GET', KEYS[3]))
      if p.strikes ~= 0 then
        p.strikes = 0
        psave(KEYS[3], p, q.now)
      end
    end
  elseif q.fault == 'rate' then
    local untilt = q.untilt > q.now and q.untilt or 0
    if q.daily == 0 then
      local p = pdecode(redis.call('GET', KEYS[3]))
      local first = provider_429(p, q.ki, q.n, untilt, q.now, q.corr, q.esc)
      psave(KEYS[3], p, q.now)
      if first then
        pardon(q, p, first)
        healthy(h)
        return
      end
    end
    key_429(h, untilt, q.daily, q.reason, q.now, q.esc)
  elseif q.fault == 'auth' then
    h.state, h.probe_at, h.lease, h.reason = 2, q.now + q.reprobe, 0, q.reason
  elseif q.fault == 'ent' then
    esave(KEYS[2], ent_mark(edecode(redis.call('GET', KEYS[2])), q.model,
      q.untilt, q.now), q.now)
  elseif h.state == 2 then
    h.lease = 0 -- the probe was inconclusive
  end
end

-- px_pol_book_key
local function book_key(q, h)
  if q.how == 0 then
    local used = q.tokens >= 0 and q.tokens or q.ltok
    h.ltok = h.ltok + used
  end
  if q.how == 2 and h.lreq > 0 then h.lreq = h.lreq - 1 end
  if q.fault ~= 'none' then h.lerr = h.lerr + 1 end
end

local function settle()
  local q = { now = clock(ARGV[2]), how = tonumber(ARGV[3]),
    tokens = tonumber(ARGV[4]), lt = tonumber(ARGV[5]),
    ltok = tonumber(ARGV[6]), lease_id = tonumber(ARGV[7]),
    fault = ARGV[8], untilt = tonumber(ARGV[9]), daily = tonumber(ARGV[10]),
    reason = ARGV[11], model = ARGV[12], ki = tonumber(ARGV[13]),
    n = tonumber(ARGV[14]), reprobe = tonumber(ARGV[15]),
    corr = tonumber(ARGV[16]),
    esc = { tonumber(ARGV[17]), tonumber(ARGV[18]), tonumber(ARGV[19]),
      tonumber(ARGV[20]) }, starts = read_starts(21) }
  local ns, a, k = tonumber(ARGV[29]), 30, 4
  local has_client = ARGV[30 + 6 * ns]
  for j = 1, ns do
    local sc = scope_spec(a)
    -- 2: the client's request was booked by an earlier attempt
    sc.carried = j == ns and has_client == '2'
    scope_book(q, sc, sload(sc, k))
    a, k = a + 6, k + 3
  end
  if has_client ~= '0' then -- the last scope was the client's
    local t = tdecode(redis.call('GET', KEYS[k]))
    if q.how == 0 then
      if q.tokens >= 0 then t.tok = t.tok + q.tokens else t.tok = t.tok + q.ltok end
    end
    if q.how == 2 and t.req > 0 and has_client == '1' then t.req = t.req - 1 end
    tsave(KEYS[k], t)
    k = k + 1
  end
  q.pardon_at = k
  local h = hdecode(redis.call('GET', KEYS[1]))
  judge(q, h)
  book_key(q, h)
  hsave(KEYS[1], h)
  return { q.now }
end

-- --- renew -------------------------------------------------------------------
-- ARGV: 'renew', now|'', lease_id, ttl_ms. KEYS: l of each capped scope.
local function renew()
  local now, id, ttl = clock(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  for k = 1, #KEYS do
    local lz = ldecode(redis.call('GET', KEYS[k]))
    for i = 1, #lz do
      if lz[i].id == id then
        lz[i].exp = now + ttl
        lsave(KEYS[k], lz, now)
        break
      end
    end
  end
  return { now }
end

-- --- snapshot ------------------------------------------------------------------
-- KEYS: any records. ARGV: 'snapshot', now|''. Reply: {now, value...}
-- (nil for an absent record).
local function snapshot()
  local out, i = { clock(ARGV[2]) }, 1
  while i <= #KEYS do
    local j = math.min(i + 999, #KEYS)
    local r = redis.call('MGET', unpack(KEYS, i, j))
    for m = 1, j - i + 1 do out[i + m] = r[m] end
    i = j + 1
  end
  return out
end

-- --- the operator's acts (ledger_admin.c px_pol_admin) ---------------------
-- ARGV: 'admin', now|'', op (0 disable, 1 enable, 2 reset), reason (the
-- whole text, for disable), nhealth. KEYS: the health records to change,
-- then the records to delete.
local NEVER = 2^61
local function admin()
  local op, nh = tonumber(ARGV[3]), tonumber(ARGV[5])
  for k = 1, nh do
    local h = hdecode(redis.call('GET', KEYS[k]))
    if op == 0 then
      h.state, h.daily, h.strikes, h.cool, h.lease = 2, 0, 0, 0, 0
      h.probe_at, h.reason = NEVER, ARGV[4]
    elseif op == 1 or h.state ~= 2 then
      healthy(h)
    end
    hsave(KEYS[k], h)
  end
  local i = nh + 1
  while i <= #KEYS do
    local j = math.min(i + 999, #KEYS)
    redis.call('DEL', unpack(KEYS, i, j))
    i = j + 1
  end
  return { clock(ARGV[2]) }
end

-- --- every health record (a removed key's history, ledger_admin.c) ----------
-- ARGV: 'health_all', the MATCH pattern (the prefix escaped, then h/*),
-- the most to return. Reply: name, value, ... (names with the prefix).
local function health_all()
  local out, cursor, n, max = {}, '0', 0, tonumber(ARGV[3])
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do
      if n < max then
        local v = redis.call('GET', k)
        if v then
          out[#out + 1] = k
          out[#out + 1] = v
          n = n + 1
        end
      end
    end
  until cursor == '0' or n >= max
  return out
end

-- --- installation-wide counters (stats.h) ----------------------------------
-- ARGV: 'stats_add', then counter index and delta pairs; KEYS[1]: the hash.
local function stats_add()
  for i = 2, #ARGV - 1, 2 do
    redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  return { 0 }
end

-- ARGV: 'stats_read'; KEYS[1]: the hash. Reply: index, value, ...
local function stats_read()
  return redis.call('HGETALL', KEYS[1])
end

local ops = { reserve = reserve, settle = settle, renew = renew,
  snapshot = snapshot, admin = admin, health_all = health_all,
  stats_add = stats_add,
  stats_read = stats_read }
return ops[ARGV[1]]()
