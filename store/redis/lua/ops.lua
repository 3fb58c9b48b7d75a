-- ops.lua: the operations, appended to lib.lua. Each is one atomic step.

-- pick is the old window a new one of length len takes its spending from:
-- the shortest at least as long, else the longest (as the reference store).
function L.pick(olds, n, len)
  local src
  for i = 0, n - 1 do
    local o = olds[i]
    if not src or (o.len >= len and (src.len < len or o.len < src.len))
      or (o.len < len and src.len < len and o.len > src.len) then
      src = o
    end
  end
  return src
end

-- reshape rewrites the windows stored under another plan into this plan's:
-- rolling slots move to the new slot holding their end (never earlier);
-- what a calendar period holds, or goes into one, counts from u. False if
-- the caller must send the calendar periods of u.
function L.reshape(st, u)
  local n = tonumber(redis.call('HGET', KW, 'n')) or 0
  local olds, dels = {}, {}
  for i = 0, n - 1 do
    local v = redis.call('HMGET', KW, L.fld(i, 'k'), L.fld(i, 'W'), L.fld(i, 'w'), L.fld(i, 'h'), L.fld(i, 'c'), L.fld(i, 's'))
    local o = {kind = v[1], len = tonumber(v[2]) or 0, w = tonumber(v[3]) or 1,
      h = tonumber(v[4]) or 0, c = tonumber(v[5]) or -1, s = tonumber(v[6]) or 0}
    if o.kind == 'c' and o.c <= u then o.s = 0 end
    if o.kind == 'r' and o.s > 0 then o.slots = L.range(i, o.h, o.c) end
    for _, f in ipairs({'k', 'W', 'w', 'h', 'c', 's'}) do dels[#dels + 1] = L.fld(i, f) end -- rare: reshapes only
    for k in pairs(o.slots or {}) do dels[#dels + 1] = L.slot(i, k) end
    olds[i] = o
  end
  L.hdel(dels)
  for j = 0, plan.n - 1 do
    local win, src = plan.wins[j], L.pick(olds, n, plan.wins[j].len)
    local ws = {h = 0, c = -1, s = 0}
    if win.kind == 'c' then ws.c = nil end
    if win.kind == 'c' then
      local pe = L.cperiod(win, ws, u)
      if not pe then return false end
      ws.c, ws.h = pe, u
      if src then ws.s = src.s end
    elseif src and src.kind == 'r' and src.slots then
      local acc = {}
      for k, a in pairs(src.slots) do
        local k2 = math.ceil((k + 1) * src.w / win.a) - 1
        acc[k2] = (acc[k2] or 0) + a
      end
      for k2, a in pairs(acc) do L.add(j, win, ws, k2 * win.a, a) end
    elseif src and src.s > 0 then
      L.add(j, win, ws, u, src.s)
    end
    st.wins[j] = ws
  end
  st.fresh = true
  L.newEpoch(st)
  return true
end

-- begin loads the tenant for this plan at the caller's clock (the
-- frontier if that is behind) and expires what came back. It returns the
-- state and u, or a reply to send instead: another plan is stored (the
-- caller retries with it), or calendar periods are due. A step that may
-- create the tenant adopts the pending plan SetPlan left for it.
function L.begin(create, setting)
  local st = L.load()
  if setting then st.o = plan.id end
  if not setting and st.o and st.o ~= plan.id then
    return nil, {PLAN, redis.call('HGET', KW, 'oe')}
  end
  local u = math.max(L.clock(), st.f)
  if not st.held then
    if create and not setting then
      local q = redis.call('HMGET', KQ, 'id', 'enc')
      if q[1] and q[1] ~= plan.id then return nil, {PLAN, q[2]} end
      if q[1] then
        redis.call('HSET', KW, 'o', q[1], 'oe', q[2])
        redis.call('DEL', KQ)
        st.o = q[1]
      end
    end
    st.fresh = true
    st.born = u
    L.newEpoch(st)
  elseif st.id ~= plan.id then
    if not L.reshape(st, u) then return nil, {PERIODS, u} end
  end
  for i = 0, plan.n - 1 do
    if not L.expire(i, plan.wins[i], st.wins[i], u, st.dels) then return nil, {PERIODS, u} end
  end
  return st, u
end

-- full reports whether key's live leases leave fewer than k units of cap;
-- expired ones are pruned only when that seems so.
function L.full(key, cap, u, k)
  local n = redis.call('ZCARD', key)
  if n + k > cap then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', u)
    n = redis.call('ZCARD', key)
  end
  return n + k > cap
end

-- units is how many units of the application's cap member takes: the
-- count after its last '*' (the Go side's unitMember), 1 if none. Each
-- unit is a member of KA: member itself, then member#2 up to member#k,
-- all with one deadline; a class key holds member alone (one unit).
function L.units(m)
  return tonumber(string.match(m, '%*(%d+)$')) or 1
end

-- ahold adds member's units to KA until deadline.
function L.ahold(deadline, m)
  redis.call('ZADD', KA, deadline, m)
  for i = 2, L.units(m) do redis.call('ZADD', KA, deadline, m .. '#' .. i) end
end

-- arem removes member's units from KA.
function L.arem(m)
  redis.call('ZREM', KA, m)
  for i = 2, L.units(m) do redis.call('ZREM', KA, m .. '#' .. i) end
end

-- over reports whether key holds more than cap live leases.
function L.over(key, cap, u)
  return redis.call('ZCOUNT', key, '(' .. L.fmt(u), '+inf') > cap
end

-- keep makes key live at least kttl ms more (never less: another
-- instance's leases, with a longer TTL, may be in it).
function L.keep(key, kttl)
  if redis.call('PTTL', key) < kttl then redis.call('PEXPIRE', key, kttl) end
end

-- hold adds member to key's leases until deadline, the key living past it:
-- a key whose expiry only its first take set (or a renewal of another
-- instance, which has let go since) expired under the slots still in it.
function L.hold(key, deadline, member, kttl)
  if key == KA then L.ahold(deadline, member) else redis.call('ZADD', key, deadline, member) end
  L.keep(key, kttl)
end

-- marked reports whether a take of several units was refused for
-- concurrency on KA within a lease length (see op_take): then no
-- instance keeps spares of the application (the renewals give them up),
-- as they are units of KA that another instance's composite call needs.
-- The mark is the key KM, which Redis expires: a field of W lapsed only
-- when a step of its application read it, and an application not used
-- again left its field in W for as long as the tenant lived.
function L.marked()
  return KM ~= KW and redis.call('EXISTS', KM) == 1
end

-- take args: 0 the slots' member, 1 lease length (us), 2 lease key ttl
-- (ms), 3 credits, 4 keep, 5 block wanted beyond the credits, 6 block
-- fraction, 7 '1' if the member is a slot this instance holds already (a
-- spare it reuses: not counted again), 8 '1' if this is a replay (sent
-- again after an ambiguous error), then members of the same slots this
-- instance released since its last step (removed first). A replayed take whose member is held
-- ran and admitted, and is not run again (its figures are read now, and
-- a block it leased stays with the pool).
function L.op_take()
  local capped = KC ~= KW
  -- the releases first: a take sent back for another plan or for
  -- calendar periods must not drop them (its caller does not send them again)
  for j = 9, #ARGV - OPARG do
    L.arem(L.arg(j))
    if capped then redis.call('ZREM', KC, L.arg(j)) end
  end
  local st, u = L.begin(true, false)
  if not st then return u end
  local n, keep, member = tonumber(L.arg(3)), tonumber(L.arg(4)), L.arg(0)
  local reuse = L.arg(7) == '1'
  -- leases count by Redis's clock as it is (see rtime), as renewals set
  -- them: not the frontier, which a failover to a node whose clock is
  -- behind leaves ahead of it (renewed leases then looked expired)
  local lt = L.rtime()
  -- a spare is counted already, while it is still held and within the
  -- caps (a plan stored since may have lowered them): else it is given
  -- up and the take counts anew, caps checked
  if reuse and (not redis.call('ZSCORE', KA, member) or L.over(KA, plan.app, lt)
      or (capped and (not redis.call('ZSCORE', KC, member) or L.over(KC, plan.class, lt)))) then
    L.arem(member)
    if capped then redis.call('ZREM', KC, member) end
    reuse = false
  end
  if not reuse and L.arg(8) == '1' and redis.call('ZSCORE', KA, member) then
    local res = L.decision(st, u, R_NONE, n, 0)
    res[#res + 1] = L.marked() and 1 or 0 -- as an admitted take's (see below)
    return res
  end
  local reason, afull, cfull = R_NONE, false, false
  if not reuse then afull = L.full(KA, plan.app, lt, L.units(member)) end
  if afull then
    reason = R_CONC
  elseif capped and not reuse then
    cfull = L.full(KC, plan.class, lt, 1)
    if cfull then reason = R_SUB end
  end
  if reason == R_NONE and not L.fits(st, n, keep) then
    local r = L.retry(st, u, n + keep, 0)
    L.save(st, u)
    return L.decision(st, u, R_CREDITS, n, r)
  end
  if reason == R_CONC and L.units(member) > 1 then -- see marked
    redis.call('SET', KM, '1', 'PX', L.fmt(math.max(math.ceil(tonumber(L.arg(1)) / 1000), 1)))
  end
  if reason ~= R_NONE then
    L.save(st, u)
    return L.decision(st, u, reason, n, 0)
  end
  for i = 0, plan.n - 1 do L.add(i, plan.wins[i], st.wins[i], u, n) end
  local extra, want, frac = 0, tonumber(L.arg(5)), tonumber(L.arg(6))
  if n > 0 and want > 0 then
    extra = want
    for i = 0, plan.n - 1 do
      local lim = plan.wins[i].credits - st.wins[i].s
      if i == 0 then lim = lim - keep end
      extra = math.min(extra, math.floor(lim / frac))
    end
    extra = math.max(extra, 0)
    for i = 0, plan.n - 1 do L.add(i, plan.wins[i], st.wins[i], u, extra) end
  end
  local deadline, kttl = lt + tonumber(L.arg(1)), tonumber(L.arg(2))
  L.hold(KA, deadline, member, kttl)
  if capped then L.hold(KC, deadline, member, kttl) end
  L.save(st, u)
  local res = L.decision(st, u, R_NONE, n, 0, extra)
  res[#res + 1] = L.marked() and 1 or 0 -- 1: the holder keeps no spare of it
  return res
end

-- settle args: 0 the instant the lease's credits were counted at, 1
-- delta, 2 exact (1) or partial (0).
function L.op_settle()
  local st, u = L.begin(false, false)
  if not st then return u end
  local ut, delta, exact = tonumber(L.arg(0)), tonumber(L.arg(1)), L.arg(2) == '1'
  local res
  if delta < 0 and ut < st.born then -- counted in windows since lost: nothing of it is out here
    res = L.decision(st, u, R_NONE, 0, 0)
  elseif delta < 0 then
    local back = L.refund(0, plan.wins[0], st.wins[0], ut, -delta)
    for i = 1, plan.n - 1 do L.refund(i, plan.wins[i], st.wins[i], ut, -delta) end
    res = L.decision(st, u, R_NONE, -back, 0)
  elseif exact and not L.fits(st, delta, 0) then
    res = L.decision(st, u, R_CREDITS, delta, L.retry(st, u, delta, 0))
  elseif exact then
    for i = 0, plan.n - 1 do L.add(i, plan.wins[i], st.wins[i], u, delta) end
    res = L.decision(st, u, R_NONE, delta, 0)
  else
    res = L.decision(st, u, R_NONE, L.charge(st, u, delta), 0)
  end
  L.save(st, u)
  return res
end

-- charge args: 0 credits.
function L.op_charge()
  local st, u = L.begin(true, false)
  if not st then return u end
  local res = L.decision(st, u, R_NONE, L.charge(st, u, math.max(tonumber(L.arg(0)), 0)), 0)
  L.save(st, u)
  return res
end

-- peek args: 0 credits wanted, 1 '1' to read a tenant not held under the
-- plan SetPlan left pending for it, if any (the one a take would adopt:
-- see Take's over-cap refusal); Peek's own creates nothing, and shows
-- none. Writes nothing unless the stored windows
-- are of another plan (reshaped for it, as any step would).
function L.op_peek()
  local m = tonumber(L.arg(0))
  local st = L.load()
  if st.o and st.o ~= plan.id then return {PLAN, redis.call('HGET', KW, 'oe')} end
  if not st.held and L.arg(1) == '1' then
    local q = redis.call('HMGET', KQ, 'id', 'enc')
    if q[1] and q[1] ~= plan.id then return {PLAN, q[2]} end
  end
  local u = math.max(L.clock(), st.f)
  if st.held and st.id ~= plan.id then
    if not L.reshape(st, u) then return {PERIODS, u} end
    L.save(st, u)
  end
  for i = 0, plan.n - 1 do
    if not L.expire(i, plan.wins[i], st.wins[i], u, {}) then return {PERIODS, u} end
  end
  local r = 0
  if m > 0 then r = L.retry(st, u, m, 0) end
  return L.decision(st, u, R_NONE, 0, r)
end

-- setplan args: 0 the plan's encoding, 1 pending ttl (ms). A tenant not
-- held is not created: the plan waits in Q for a creation already under
-- way (one that asked its PlanFunc before the caller stored the plan).
function L.op_setplan()
  if redis.call('HEXISTS', KW, 'id') == 0 then
    redis.call('HSET', KQ, 'id', plan.id, 'enc', L.arg(0))
    redis.call('PEXPIRE', KQ, tonumber(L.arg(1)))
    return {OK, 0}
  end
  redis.call('HSET', KW, 'o', plan.id, 'oe', L.arg(0))
  local st, u = L.begin(false, true)
  if not st then return u end
  L.save(st, u)
  return {OK, 1}
end

-- release args: members. Idempotent.
function L.op_release()
  for j = 0, #ARGV - OPARG do
    L.arem(L.arg(j))
    if KC ~= KW then redis.call('ZREM', KC, L.arg(j)) end
  end
  return {OK}
end

-- renew args: 0 lease length (us), 1 key ttl (ms), 2 how many of the
-- members are slots of calls in flight (they come first; the rest are
-- spares), members. Returns how many were still held, the windows' epoch
-- (-1 if W is gone) and frontier (the holder checks its block), 1 if the
-- application is marked (see marked: the holder gives back its spares of
-- it and keeps none of the slots of its calls in flight), then the
-- spares that were not held (in either key): given up in both, their
-- holder forgets them. A slot of a call in flight that is not held (a restart without
-- persistence, a failover, an eviction, a lease that expired) is held
-- again: the call still runs, and the caps must count it from now on,
-- also past them if others took its place meanwhile (they are refused
-- until enough calls end).
function L.op_renew()
  local w = redis.call('HMGET', KW, 'e', 'f', 'id')
  local e = tonumber(w[1]) or 0
  if not w[3] then e = -1 end -- no windows (see load)
  local lt = L.rtime()
  local marked = L.marked()
  local deadline, held, res = lt + tonumber(L.arg(0)), 0, {OK, 0, e, tonumber(w[2]) or 0, marked and 1 or 0}
  local inuse = tonumber(L.arg(2))
  for j = 3, #ARGV - OPARG do
    local m = L.arg(j)
    if redis.call('ZSCORE', KA, m) and (KC == KW or redis.call('ZSCORE', KC, m)) then
      held = held + 1
      L.ahold(deadline, m)
      if KC ~= KW then redis.call('ZADD', KC, 'XX', deadline, m) end
    elseif j - 3 < inuse then
      L.ahold(deadline, m)
      if KC ~= KW then redis.call('ZADD', KC, deadline, m) end
    else
      L.arem(m)
      if KC ~= KW then redis.call('ZREM', KC, m) end
      res[#res + 1] = m
    end
  end
  res[2] = held
  -- never shortening the keys' life (see hold)
  L.keep(KA, tonumber(L.arg(1)))
  if KC ~= KW then L.keep(KC, tonumber(L.arg(1))) end
  return res
end

local ops = {take = L.op_take, settle = L.op_settle, charge = L.op_charge, peek = L.op_peek,
  setplan = L.op_setplan, release = L.op_release, renew = L.op_renew}
local fn = ops[ARGV[1]]
if not fn then return redis.error_reply('creditgate: unknown op') end
local rec = L.replayed()
if rec then return rec end
return L.record(fn())
