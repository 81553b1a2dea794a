/**
 * Lua transliteration of the refund functions in src/domain/ratelimit/.
 * Each returns the encoded new state, or nil when the state is now empty.
 */
export const refundsLua = `
local function gcra_refund(st, now, limit, w, cost)
  if not st or st[1] < now then return nil end
  local debt = (st[1] - now) * limit + st[2] - cost * w
  if debt <= 0 then return nil end
  return 'g' .. fmt(now + math.floor(debt / limit)) .. ':' .. fmt(math.fmod(debt, limit))
end

local function fixed_refund(st, now, w, cost)
  local aligned = now - math.fmod(now, w)
  if not st or st[1] < aligned then return nil end
  local count = st[2] - cost
  if count <= 0 then return nil end
  return 'f' .. fmt(st[1]) .. ':' .. fmt(count)
end

local function sliding_refund(st, now, w, cost)
  if not st then return nil end
  local start, cur, prev = sliding_roll(st, now, w)
  cur = math.max(0, cur - cost)
  if cur == 0 and prev == 0 then return nil end
  return 's' .. fmt(start) .. ':' .. fmt(cur) .. ':' .. fmt(prev)
end

local function log_refund(st, now, w, cost)
  if not st then return nil end
  local e = {}
  for i = 1, #st, 2 do
    if st[i] > now - w then
      e[#e + 1] = st[i]
      e[#e + 1] = st[i + 1]
    end
  end
  local owed = cost
  while owed > 0 and #e > 0 do
    local last = e[#e]
    if last <= owed then
      owed = owed - last
      e[#e] = nil
      e[#e] = nil
    else
      e[#e] = last - owed
      owed = 0
    end
  end
  if #e == 0 then return nil end
  local out = {}
  for i = 1, #e do out[i] = fmt(e[i]) end
  return 'l' .. table.concat(out, ':')
end

local function refund(kind, st, now, limit, w, cost)
  if kind == 'g' then return gcra_refund(st, now, limit, w, cost) end
  if kind == 'f' then return fixed_refund(st, now, w, cost) end
  if kind == 's' then return sliding_refund(st, now, w, cost) end
  return log_refund(st, now, w, cost)
end
`;
