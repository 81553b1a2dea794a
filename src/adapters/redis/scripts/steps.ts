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
 * patterns and builds no tables (but to read a sliding log in the earlier form).
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

-- Sliding-log state: 'L' .. total .. ':' .. newest .. ':' .. last .. ';' .. entries, where
-- entries are 'time:cost' pairs joined with ':', oldest first, total is the sum of their
-- costs, newest the time of the last one and last its cost. With that header a check
-- reads only the entries that left the window (from the front) and, when it refuses, the
-- few it needs for Retry-After: the flood a burst detector sees costs O(1), not a parse of
-- the whole log. Charges at the same time as the newest entry are merged into it: the
-- sums, expiry and retry times the step computes are the same, and the log then holds at
-- most one entry per millisecond. The earlier 'l' form (entries only) is still read.
local function log_head(raw)
  local b = byte(raw, 1)
  if b == 76 then
    local c1 = find(raw, ':', 2, true)
    local c2 = c1 and find(raw, ':', c1 + 1, true)
    local semi = c2 and find(raw, ';', c2 + 1, true)
    if not semi or semi == #raw then return nil end
    local total, newest = tonumber(sub(raw, 2, c1 - 1)), tonumber(sub(raw, c1 + 1, c2 - 1))
    local last = tonumber(sub(raw, c2 + 1, semi - 1))
    if not (total and newest and last) then return nil end
    return raw, semi + 1, total, newest, last
  end
  if b ~= 108 then return nil end
  local e, n, total = {}, 0, 0
  for part in string.gmatch(raw, '%-?%d+') do
    n = n + 1
    e[n] = tonumber(part)
    if n % 2 == 0 then total = total + e[n] end
  end
  if n == 0 or n % 2 ~= 0 then return nil end
  local head = 'L' .. total .. ':' .. e[n - 1] .. ':' .. e[n] .. ';'
  return head .. table.concat(e, ':'), #head + 1, total, e[n - 1], e[n]
end

local function log_step(raw, now, limit, w, cost)
  local pos, used, newest, last = 1, 0, nil, 0
  if raw then raw, pos, used, newest, last = log_head(raw) end
  if not raw then raw, pos, used, newest = '', 1, 0, nil end
  local len = #raw
  if newest and newest <= now - w then
    pos, used, newest = len + 1, 0, nil
  else
    -- Drop the entries that left the window, oldest first. A log that does not parse reads as
    -- empty, as a state of another algorithm does: never an error that trips the breaker.
    while pos <= len do
      local c1 = find(raw, ':', pos, true)
      local t = c1 and tonumber(sub(raw, pos, c1 - 1))
      if t and t > now - w then break end
      local c2 = c1 and find(raw, ':', c1 + 1, true)
      local c = c1 and tonumber(sub(raw, c1 + 1, c2 and c2 - 1 or -1))
      if not (t and c) then
        pos, used, newest = len + 1, 0, nil
        break
      end
      used = used - c
      pos = c2 and c2 + 1 or len + 1
    end
  end
  local ok = cost <= limit and used + cost <= limit
  local after, retry, val = used, 0, nil
  if ok then
    after = used + cost
    if cost > 0 then
      local t = now
      if newest and newest > now then t = newest end
      local body = sub(raw, pos)
      if newest == t then
        last = last + cost
        body = sub(body, 1, #body - #('' .. (last - cost))) .. last
      else
        last = cost
        if body == '' then body = t .. ':' .. cost else body = body .. ':' .. t .. ':' .. cost end
      end
      newest = t
      val = 'L' .. after .. ':' .. t .. ':' .. last .. ';' .. body
    end
  elseif cost > limit then
    retry = -1
  else
    -- The earliest time enough of the oldest charges have left for this cost to fit.
    local left, at = used, newest + w
    while pos <= len do
      local c1 = find(raw, ':', pos, true)
      local c2 = c1 and find(raw, ':', c1 + 1, true)
      local c = c1 and tonumber(sub(raw, c1 + 1, c2 and c2 - 1 or -1))
      if not c then break end
      left = left - c
      if left + cost <= limit then
        at = (tonumber(sub(raw, pos, c1 - 1)) or newest) + w
        break
      end
      pos = c2 and c2 + 1 or len + 1
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
