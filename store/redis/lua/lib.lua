-- lib.lua: what every operation of the creditgate Redis store shares.
-- ops.lua is appended to this file: the two make one script, loaded once
-- and run by its SHA (store/redis/script.go).
--
-- Units: instants and lengths are microseconds since the Unix epoch. Lua
-- numbers are doubles, exact below 2^53 us (the year 2255). Numbers go
-- into strings through fmt (%d), never tostring: Lua 5.1 prints numbers
-- with 14 digits.
--
-- KEYS, all inside the tenant's hash tag (so the script runs on a cluster):
--   1 W  hash: the tenant's windows, frontier, plan id ("held" = has id),
--        the plan SetPlan stored (o its id, oe its encoding) and the
--        windows' epoch (e: changed whenever W is made anew or reshaped
--        for another plan; instances drop leased blocks of another epoch)
--        and the instant it was made at (b, on the windows' clock: what
--        was counted before it was counted in windows since lost)
--   2 Q  hash: a pending plan, for a tenant SetPlan found absent
--   3 A  zset: the application's leases, scored by deadline
--   4 C  zset: the class's leases (W when the class is not capped)
--   5 R  string: this step's recorded result, for replays (W when unused)
local KW, KQ, KA, KC, KR = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
-- M string: the application's mark, expiring (W when no application; see
-- L.marked). Not one of KEYS (their count is the scripts' calling
-- convention), but in A's hash tag, so in its cluster slot; no other key
-- ends with ':m' (the names in keys are base64, which has no ':').
local KM = KW
if KA ~= KW then KM = KA .. ':m' end

-- L holds the functions, so that each closure the script makes on every
-- run captures one local, not dozens: Lua finds each captured local by
-- walking a list of them (defining the ops took 5 us a run, now 2.5).
local L = {}

-- ARGV: 1 op, 2 now ('' = Redis TIME), 3 plan id, 4 app cap, 5 class cap
-- (0 = uncapped), 6 ttl of W and P (ms), 7 ttl of replay records (ms),
-- 8 number of windows, then 5 per window (the pool first): kind ('r'
-- rolling, 'c' calendar), credits, length, and for 'r' the slot width
-- and 0, for 'c' the end of the period holding the caller's clock and the
-- end of the next; then the operation's own arguments (arg(0), ...).
local plan = {id = ARGV[3], app = tonumber(ARGV[4]), class = tonumber(ARGV[5]),
  ttl = tonumber(ARGV[6]), rttl = tonumber(ARGV[7]), n = tonumber(ARGV[8]), wins = {}}
for i = 0, plan.n - 1 do
  local b = 9 + 5 * i
  plan.wins[i] = {kind = ARGV[b], credits = tonumber(ARGV[b + 1]), len = tonumber(ARGV[b + 2]),
    a = tonumber(ARGV[b + 3]), b = tonumber(ARGV[b + 4])}
end
local OPARG = 9 + 5 * plan.n
function L.arg(i) return ARGV[OPARG + i] end

-- Replies are arrays: {status, ...}. OK carries a decision: {0, reason,
-- cost, remaining, used, reset, retry (-1 never), u, extra, 1 if W holds
-- a plan SetPlan stored, the windows' epoch}.
local OK, PLAN, PERIODS = 0, 1, 2
local R_NONE, R_CREDITS, R_CONC, R_SUB = 0, 1, 2, 3

function L.fmt(x) return string.format('%d', x) end
function L.fld(i, name) return L.fmt(i) .. '.' .. name end
function L.slot(i, k) return L.fmt(i) .. '.' .. L.fmt(k) end

-- rtime is Redis's clock: leases always expire by it (a holder's
-- liveness is real time, also when the windows count at the caller's).
-- Read once a run (Redis gives a script one instant anyway).
local rnow
function L.rtime()
  if not rnow then
    local t = redis.call('TIME')
    rnow = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  return rnow
end

-- clock is the windows' clock: the caller's now if it sent one.
function L.clock()
  if ARGV[2] ~= '' then return tonumber(ARGV[2]) end
  return L.rtime()
end

-- range reads the slot fields lo..hi of window i: amounts by slot, absent
-- slots nil. Chunked: unpack has a stack limit.
function L.range(i, lo, hi)
  local out = {}
  local k = lo
  while k <= hi do
    local names = {}
    local top = math.min(hi, k + 999)
    for j = k, top do names[#names + 1] = L.slot(i, j) end
    local v = redis.call('HMGET', KW, unpack(names))
    for j = 1, #names do out[k + j - 1] = tonumber(v[j]) end
    k = top + 1
  end
  return out
end

function L.hdel(names)
  for j = 1, #names, 1000 do
    redis.call('HDEL', KW, unpack(names, j, math.min(#names, j + 999)))
  end
end

-- touched is set when a step opens a new slot or period: only then does
-- save push W's expiry on (its ttl covers a window and two slots, and the
-- rest of every calendar period, which can be longer than its window: the
-- day the clocks go back has 25 hours).
local touched = false

-- A window's state: s spent; rolling: slot fields only in h..c (h the
-- first that holds credits, once expired); calendar: c the end of the
-- stored period, h the first instant counted in it.

-- cperiod is the end of the calendar period u counts in: the stored one
-- while it runs (a caller behind it counts in it), else the caller's; nil
-- when u is past both periods the caller sent (it computes them for u).
function L.cperiod(win, ws, u)
  if ws.c and ws.c > u then return ws.c end
  if u < win.a then return win.a end
  if u < win.b then return win.b end
  return nil
end

-- expire drops what has come back by u; false if the caller must send
-- the calendar periods of u.
function L.expire(i, win, ws, u, dels)
  if win.kind == 'c' then
    local pe = L.cperiod(win, ws, u)
    if not pe then return false end
    if pe ~= ws.c then ws.s, ws.c, ws.h, touched = 0, pe, u, true end
    return true
  end
  local k0 = math.floor((u - win.len) / win.a) -- the first slot still out at u
  if ws.s <= 0 or ws.h >= k0 then return true end
  local v = L.range(i, ws.h, ws.c)
  local first
  for k = ws.h, ws.c do
    local a = v[k]
    if a then
      if k < k0 then
        ws.s = ws.s - a
        dels[#dels + 1] = L.slot(i, k)
      elseif not first then
        first = k
      end
    end
  end
  ws.h = first or (ws.c + 1)
  if not first then ws.s = 0 end
  return true
end

-- add spends n at u.
function L.add(i, win, ws, u, n)
  if n <= 0 then return end
  if win.kind == 'c' then
    ws.s = ws.s + n
    return
  end
  local k = math.floor(u / win.a)
  redis.call('HINCRBY', KW, L.slot(i, k), n)
  if ws.s <= 0 then ws.h, ws.c, touched = k, k, true end
  if k > ws.c then ws.c, touched = k, true end
  if k < ws.h then ws.h = k end -- a reshape adds slots in any order
  ws.s = ws.s + n
end

-- refund gives back up to n of what was spent at ut, if still out.
function L.refund(i, win, ws, ut, n)
  if n <= 0 or ws.s <= 0 then return 0 end
  if win.kind == 'c' then
    if ut < ws.h or ut >= ws.c then return 0 end
    local r = math.min(ws.s, n)
    ws.s = ws.s - r
    return r
  end
  local k = math.floor(ut / win.a)
  if k < ws.h or k > ws.c then return 0 end
  local a = tonumber(redis.call('HGET', KW, L.slot(i, k))) or 0
  local r = math.min(a, n)
  if r <= 0 then return 0 end
  if r == a then
    redis.call('HDEL', KW, L.slot(i, k))
  else
    redis.call('HINCRBY', KW, L.slot(i, k), -r)
  end
  ws.s = ws.s - r
  if ws.s <= 0 then
    ws.s, ws.h = 0, ws.c + 1
  elseif k == ws.h and r == a then -- the head emptied: find the next
    local v = L.range(i, k + 1, ws.c)
    for j = k + 1, ws.c do
      if v[j] then ws.h = j break end
    end
  end
  return r
end

function L.reset(win, ws, u)
  if ws.s <= 0 then return u end
  if win.kind == 'c' then return ws.c end
  return (ws.h + 1) * win.a + win.len
end

-- avail is when m credits are free under lim if nothing more is spent:
-- u if now, -1 if never.
function L.avail(i, win, ws, u, m, lim)
  if m > lim then return -1 end
  local free = lim - ws.s
  if free >= m then return u end
  if win.kind == 'c' then return ws.c end
  local v = L.range(i, ws.h, ws.c)
  for k = ws.h, ws.c do
    if v[k] then
      free = free + v[k]
      if free >= m then return (k + 1) * win.a + win.len end
    end
  end
  return -1
end

-- newEpoch gives the windows a new epoch (Redis's clock, past the old).
function L.newEpoch(st)
  st.e = math.max(L.rtime(), st.e + 1)
end

-- load reads the frontier, the plan ids, the epoch and every window's state.
function L.load()
  local names = {'f', 'id', 'o', 'e', 'b'}
  for i = 0, plan.n - 1 do
    names[#names + 1] = L.fld(i, 'h')
    names[#names + 1] = L.fld(i, 'c')
    names[#names + 1] = L.fld(i, 's')
  end
  local v = redis.call('HMGET', KW, unpack(names))
  local st = {f = tonumber(v[1]) or 0, id = v[2], held = v[2] ~= false, o = v[3], e = tonumber(v[4]) or 0,
    born = tonumber(v[5]) or 0, wins = {}, dels = {}}
  if not st.held then st.e = -1 end -- no windows: no block's epoch (0 is one from before epochs)
  for i = 0, plan.n - 1 do
    local b = 6 + 3 * i
    st.wins[i] = {h = tonumber(v[b]) or 0, c = tonumber(v[b + 1]) or -1, s = tonumber(v[b + 2]) or 0}
    if plan.wins[i].kind == 'c' and not v[b + 1] then st.wins[i].c = nil end
  end
  return st
end

-- save writes the windows back (and the plan's shape if new).
function L.save(st, u)
  local f = {'f', u, 'id', plan.id}
  local function put(name, x)
    f[#f + 1] = name
    f[#f + 1] = x
  end
  if st.fresh then
    put('n', plan.n)
    put('e', L.fmt(st.e))
    put('b', L.fmt(st.born))
    for i = 0, plan.n - 1 do
      local win = plan.wins[i]
      put(L.fld(i, 'k'), win.kind)
      put(L.fld(i, 'W'), win.len)
      put(L.fld(i, 'w'), win.a)
    end
  end
  for i = 0, plan.n - 1 do
    local ws = st.wins[i]
    put(L.fld(i, 'h'), ws.h)
    put(L.fld(i, 'c'), ws.c or 0)
    put(L.fld(i, 's'), ws.s)
  end
  L.hdel(st.dels)
  redis.call('HSET', KW, unpack(f))
  if st.fresh or touched then
    local ttl = plan.ttl
    for i = 0, plan.n - 1 do
      local ws = st.wins[i]
      if plan.wins[i].kind == 'c' and ws.c then ttl = math.max(ttl, math.floor((ws.c - u) / 1000) + 1000) end
    end
    redis.call('PEXPIRE', KW, L.fmt(ttl))
  end
end

-- decision is an OK reply for the tenant's windows at u: the pool's use,
-- the least remaining, and the binding window's reset (latest among ties).
function L.decision(st, u, reason, cost, ra, extra)
  local pool = st.wins[0]
  local rem, least, rs = plan.wins[0].credits, -1, u
  for i = 0, plan.n - 1 do
    local win, ws = plan.wins[i], st.wins[i]
    local r = math.max(win.credits - ws.s, 0)
    rem = math.min(rem, r)
    local t = L.reset(win, ws, u)
    if least < 0 or r < least or (r == least and t > rs) then least, rs = r, t end
  end
  local o = 0
  if st.o then o = 1 end
  return {OK, reason, cost, rem, pool.s, rs, ra, u, extra or 0, o, st.e}
end

-- retry is how long until m credits (keep more in the pool) are free in
-- every window, -1 if never.
function L.retry(st, u, m, keep)
  local at = u
  for i = 0, plan.n - 1 do
    local win = plan.wins[i]
    local lim = win.credits
    if i == 0 then lim = lim - keep end
    local t = L.avail(i, win, st.wins[i], u, m, lim)
    if t < 0 then return -1 end
    at = math.max(at, t)
  end
  return at - u
end

-- fits reports whether n credits fit every window (keep in the pool).
function L.fits(st, n, keep)
  for i = 0, plan.n - 1 do
    local lim = plan.wins[i].credits
    if i == 0 then lim = lim - keep end
    if n > lim - st.wins[i].s then return false end
  end
  return true
end

-- charge takes up to n: the pool as much as fits, each later window up to
-- what the one before took (as window.Compound); returns what the pool
-- took, as the decision describes the pool (its Used less Cost is its use
-- before).
function L.charge(st, u, n)
  local took, pool = n, 0
  for i = 0, plan.n - 1 do
    took = math.min(took, math.max(plan.wins[i].credits - st.wins[i].s, 0))
    L.add(i, plan.wins[i], st.wins[i], u, took)
    if i == 0 then pool = took end
  end
  return pool
end

function L.replayed()
  if KR == KW then return nil end
  local r = redis.call('GET', KR)
  if not r then return nil end
  local out = {}
  for x in string.gmatch(r, '[^,]+') do out[#out + 1] = tonumber(x) end
  return out
end

-- record keeps an OK reply under this step's id for a while, so that a
-- replay after an ambiguous error returns it instead of acting twice.
function L.record(res)
  if KR ~= KW and res[1] == OK then
    local parts = {}
    for j = 1, #res do parts[j] = L.fmt(res[j]) end
    redis.call('SET', KR, table.concat(parts, ','), 'PX', plan.rttl)
  end
  return res
end
