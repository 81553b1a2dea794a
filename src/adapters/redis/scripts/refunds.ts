/**
 * Lua transliteration of the refund functions in src/domain/ratelimit/.
 * Each takes the decoded state (a list of integers, or nil) and returns the
 * new state string, or nil when the state is now empty.
 */
export const refundsLua = `
local function gcra_refund(st, now, limit, w, cost)
  if not st or st[1] < now then return nil end
  local debt = (st[1] - now) * limit + st[2] - cost * w
  if debt <= 0 then return nil end
  return 'g' .. (now + math.floor(debt / limit)) .. ':' .. math.fmod(debt, limit)
end

local function fixed_refund(st, now, w, cost)
  local aligned = now - math.fmod(now, w)
  if not st or st[1] < aligned then return nil end
  local count = st[2] - cost
  if count <= 0 then return nil end
  return 'f' .. st[1] .. ':' .. count
end

local function sliding_refund(st, now, w, cost)
  if not st then return nil end
  local aligned = now - math.fmod(now, w)
  local start, cur, prev = aligned, 0, 0
  if st[1] >= aligned then
    start, cur, prev = st[1], st[2], st[3]
  elseif st[1] == aligned - w then
    prev = st[2]
  end
  cur = math.max(0, cur - cost)
  if cur == 0 and prev == 0 then return nil end
  return 's' .. start .. ':' .. cur .. ':' .. prev
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
  local total = 0
  for i = 2, #e, 2 do total = total + e[i] end
  return 'L' .. total .. ':' .. e[#e - 1] .. ':' .. e[#e] .. ';' .. table.concat(e, ':')
end

local function refund(kind, st, now, limit, w, cost)
  if kind == 'g' then return gcra_refund(st, now, limit, w, cost) end
  if kind == 'f' then return fixed_refund(st, now, w, cost) end
  if kind == 's' then return sliding_refund(st, now, w, cost) end
  return log_refund(st, now, w, cost)
end
`;
