/**
 * Lua transliteration of the step functions in src/domain/ratelimit/
 * (gcra.ts, fixed-window.ts, sliding-window.ts, sliding-log.ts). Each returns
 * `allowed, remaining, resetMs, retryAfterMs, expiresAt, charged` where
 * `charged` is the encoded new state when the step admits a positive cost
 * (the only case in which a store writes), nil otherwise. Keep the two in
 * step: the model-based test compares them on random command sequences.
 */
export const stepsLua = `
local function gcra_step(st, now, limit, w, burst, cost)
  local debt = 0
  if st and st[1] >= now then debt = (st[1] - now) * limit + st[2] end
  local ok, retry, d, val = false, 0, debt, nil
  if cost > burst then
    retry = -1
  else
    local nxt = debt + cost * w
    if nxt <= burst * w then
      ok = true
      if cost > 0 then
        d = nxt
        val = 'g' .. fmt(now + math.floor(nxt / limit)) .. ':' .. fmt(math.fmod(nxt, limit))
      end
    else
      retry = ceil_div(nxt - burst * w, limit)
    end
  end
  local reset = ceil_div(d, limit)
  return ok, math.max(0, math.floor((burst * w - d) / w)), reset, retry, now + reset, val
end

local function fixed_step(st, now, limit, w, cost)
  local aligned = now - math.fmod(now, w)
  local start, count = aligned, 0
  if st and st[1] >= aligned then start, count = st[1], st[2] end
  local wend = start + w
  local ok = cost <= limit and count + cost <= limit
  local after, retry, val = count, 0, nil
  if ok then
    after = count + cost
    if cost > 0 then val = 'f' .. fmt(start) .. ':' .. fmt(after) end
  elseif cost > limit then
    retry = -1
  else
    retry = wend - now
  end
  if after == 0 then return ok, limit, 0, retry, now, val end
  return ok, limit - after, wend - now, retry, wend, val
end

local function sliding_retry_at(start, cur, prev, limit, w, cost)
  if prev > 0 and cur + cost <= limit then
    local elapsed = w - math.floor(((limit - cur - cost) * w) / prev)
    if elapsed < w then return start + elapsed end
  end
  if cur == 0 then return start + w end
  return start + w + math.max(0, w - math.floor(((limit - cost) * w) / cur))
end

local function sliding_roll(st, now, w)
  local aligned = now - math.fmod(now, w)
  if st then
    if st[1] >= aligned then return st[1], st[2], st[3] end
    if st[1] == aligned - w then return aligned, 0, st[2] end
  end
  return aligned, 0, 0
end

local function sliding_step(st, now, limit, w, cost)
  local start, cur, prev = sliding_roll(st, now, w)
  local carried = prev * (w - math.max(0, now - start))
  local capacity = limit * w
  local ok = cost <= limit and carried + (cur + cost) * w <= capacity
  local after, retry, val = cur, 0, nil
  if ok then
    after = cur + cost
    if cost > 0 then val = 's' .. fmt(start) .. ':' .. fmt(after) .. ':' .. fmt(prev) end
  elseif cost > limit then
    retry = -1
  else
    retry = sliding_retry_at(start, cur, prev, limit, w, cost) - now
  end
  local empty_at = now
  if after > 0 then
    empty_at = start + 2 * w
  elseif prev > 0 then
    empty_at = start + w
  end
  local remaining = math.max(0, math.floor((capacity - carried - after * w) / w))
  return ok, remaining, math.max(0, empty_at - now), retry, empty_at, val
end

-- Charges at the same time as the newest entry are merged into it: the sums,
-- expiry and retry times the step computes are the same, and the log then
-- holds at most one entry per millisecond.
local function log_step(st, now, limit, w, cost)
  local e = st or {}
  local n = #e
  local first = 1
  while first <= n and e[first] <= now - w do first = first + 2 end
  local used = 0
  for i = first + 1, n, 2 do used = used + e[i] end
  local ok = cost <= limit and used + cost <= limit
  local newest = nil
  if n >= first then newest = e[n - 1] end
  local after, retry, val = used, 0, nil
  if ok then
    after = used + cost
    if cost > 0 then
      local t = now
      if newest and newest > now then t = newest end
      local out = {}
      for i = first, n do out[#out + 1] = fmt(e[i]) end
      if newest == t then
        out[#out] = fmt(e[n] + cost)
      else
        out[#out + 1] = fmt(t)
        out[#out + 1] = fmt(cost)
      end
      newest = t
      val = 'l' .. table.concat(out, ':')
    end
  elseif cost > limit then
    retry = -1
  else
    local left, at = used, e[n - 1] + w
    for i = first, n, 2 do
      left = left - e[i + 1]
      if left + cost <= limit then
        at = e[i] + w
        break
      end
    end
    retry = at - now
  end
  local empty_at = now
  if newest then empty_at = newest + w end
  return ok, limit - after, math.max(0, empty_at - now), retry, empty_at, val
end

local function step(kind, st, now, limit, w, burst, cost)
  if kind == 'g' then return gcra_step(st, now, limit, w, burst, cost) end
  if kind == 'f' then return fixed_step(st, now, limit, w, cost) end
  if kind == 's' then return sliding_step(st, now, limit, w, cost) end
  return log_step(st, now, limit, w, cost)
end
`;
