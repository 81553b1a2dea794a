/**
 * Lua transliteration of the step functions in src/domain/ratelimit/
 * (gcra.ts, fixed-window.ts, sliding-window.ts, sliding-log.ts). Each takes
 * the stored string (or false) and returns `allowed, remaining, resetMs,
 * retryAfterMs, expiresAt, charged`, where `charged` is the new state string
 * when the step admits a positive cost (the only case in which a store
 * writes), nil otherwise. Keep the two in step: the model-based test
 * compares them on random command sequences.
 *
 * This runs on every check, so it decodes with string.find/sub rather than
 * patterns and builds no tables except for sliding-log entries.
 */
export const stepsLua = `
local find, sub, byte, floor, fmod, max = string.find, string.sub, string.byte, math.floor, math.fmod, math.max

local function gcra_step(raw, now, limit, w, burst, cost)
  local debt = 0
  if raw and byte(raw, 1) == 103 then
    local c = find(raw, ':', 3, true)
    local tat = c and tonumber(sub(raw, 2, c - 1))
    if tat and tat >= now then debt = (tat - now) * limit + tonumber(sub(raw, c + 1)) end
  end
  local ok, retry, d, val = false, 0, debt, nil
  if cost > burst then
    retry = -1
  else
    local nxt = debt + cost * w
    if nxt <= burst * w then
      ok = true
      if cost > 0 then
        d = nxt
        val = 'g' .. (now + floor(nxt / limit)) .. ':' .. fmod(nxt, limit)
      end
    else
      retry = floor((nxt - burst * w + limit - 1) / limit)
    end
  end
  local reset = floor((d + limit - 1) / limit)
  return ok, max(0, floor((burst * w - d) / w)), reset, retry, now + reset, val
end

local function fixed_step(raw, now, limit, w, cost)
  local aligned = now - fmod(now, w)
  local start, count = aligned, 0
  if raw and byte(raw, 1) == 102 then
    local c = find(raw, ':', 3, true)
    local s = c and tonumber(sub(raw, 2, c - 1))
    if s and s >= aligned then start, count = s, tonumber(sub(raw, c + 1)) end
  end
  local wend = start + w
  local ok = cost <= limit and count + cost <= limit
  local after, retry, val = count, 0, nil
  if ok then
    after = count + cost
    if cost > 0 then val = 'f' .. start .. ':' .. after end
  elseif cost > limit then
    retry = -1
  else
    retry = wend - now
  end
  if after == 0 then return ok, limit, 0, retry, now, val end
  return ok, limit - after, wend - now, retry, wend, val
end

local function sliding_step(raw, now, limit, w, cost)
  local aligned = now - fmod(now, w)
  local start, cur, prev = aligned, 0, 0
  if raw and byte(raw, 1) == 115 then
    local c1 = find(raw, ':', 3, true)
    local c2 = c1 and find(raw, ':', c1 + 1, true)
    local s = c2 and tonumber(sub(raw, 2, c1 - 1))
    if s then
      if s >= aligned then
        start, cur, prev = s, tonumber(sub(raw, c1 + 1, c2 - 1)), tonumber(sub(raw, c2 + 1))
      elseif s == aligned - w then
        prev = tonumber(sub(raw, c1 + 1, c2 - 1))
      end
    end
  end
  local carried = prev * (w - max(0, now - start))
  local capacity = limit * w
  local ok = cost <= limit and carried + (cur + cost) * w <= capacity
  local after, retry, val = cur, 0, nil
  if ok then
    after = cur + cost
    if cost > 0 then val = 's' .. start .. ':' .. after .. ':' .. prev end
  elseif cost > limit then
    retry = -1
  else
    local at = nil
    if prev > 0 and cur + cost <= limit then
      local elapsed = w - floor(((limit - cur - cost) * w) / prev)
      if elapsed < w then at = start + elapsed end
    end
    if not at then
      if cur == 0 then
        at = start + w
      else
        at = start + w + max(0, w - floor(((limit - cost) * w) / cur))
      end
    end
    retry = at - now
  end
  local empty_at = now
  if after > 0 then
    empty_at = start + 2 * w
  elseif prev > 0 then
    empty_at = start + w
  end
  local remaining = max(0, floor((capacity - carried - after * w) / w))
  return ok, remaining, max(0, empty_at - now), retry, empty_at, val
end

-- Charges at the same time as the newest entry are merged into it: the sums,
-- expiry and retry times the step computes are the same, and the log then
-- holds at most one entry per millisecond.
local function log_step(raw, now, limit, w, cost)
  local e, n = {}, 0
  if raw and byte(raw, 1) == 108 then
    for part in string.gmatch(raw, '%-?%d+') do
      n = n + 1
      e[n] = tonumber(part)
    end
    if n % 2 ~= 0 then n = 0 end
  end
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
      local last = n
      if newest == t then
        e[n] = e[n] + cost
      else
        e[n + 1], e[n + 2] = t, cost
        last = n + 2
      end
      newest = t
      val = 'l' .. table.concat(e, ':', first, last)
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
  return ok, limit - after, max(0, empty_at - now), retry, empty_at, val
end

local function step(kind, raw, now, limit, w, burst, cost)
  if kind == 103 then return gcra_step(raw, now, limit, w, burst, cost) end
  if kind == 102 then return fixed_step(raw, now, limit, w, cost) end
  if kind == 115 then return sliding_step(raw, now, limit, w, cost) end
  return log_step(raw, now, limit, w, cost)
end
`;
