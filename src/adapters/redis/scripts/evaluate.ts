import { timeFromArg } from './codec.ts';
import { stepsLua } from './steps.ts';

/**
 * Check and peek for every policy of one subject, atomically, in one call:
 * a transliteration of `evaluate` in src/domain/ratelimit/evaluate.ts.
 * Enforce-mode policies are charged only when all of them admit; an
 * observe-mode policy whenever it alone admits; a policy that admits but is
 * not charged reports its standing state (a step with cost 0).
 *
 * Arguments are packed into three strings, so a call sends five bulk
 * strings plus one key per policy, not four more per policy (each one is
 * work for the client on every request); the last two repeat from call to
 * call, so the client keeps them instead of building them.
 *
 * KEYS: one state key per policy, in policy order.
 * ARGV[1]: now (epoch ms), or empty for the server's TIME.
 * ARGV[2]: `<c|p>:<cost>:<extra>[:<count>]`: check or peek, the cost, the
 * extra TTL ms in client-time mode (`-1` in server-time mode: keys then
 * expire exactly when their state does, PXAT), and how many identical calls
 * to make one after another (1 when left out): calls of one subject that
 * the client sent together, decided in order as if made one by one, with
 * each key written once at the end.
 * ARGV[3]: per policy `<algorithm letter><mode letter>:<limit>:<window ms>:<burst>`,
 * joined with `;` (`ge:100:60000:100;lo:50:10000:50`).
 *
 * Returns one string, four integers per policy and call joined with `:`:
 * allowed (1/0), remaining, resetMs, retryAfterMs. The caller builds each
 * decision with `decide()`. (One string rather than an array of integers:
 * ioredis reads an array's integers one by one, several times slower.)
 */
export const evaluateLua = `${stepsLua}${timeFromArg(1)}
local call_spec = ARGV[2]
local c1 = find(call_spec, ':', 3, true)
local c2 = find(call_spec, ':', c1 + 1, true)
local charge = byte(call_spec, 1) == 99
local cost = tonumber(sub(call_spec, 3, c1 - 1))
local extra = tonumber(sub(call_spec, c1 + 1, (c2 or 0) - 1))
local calls = c2 and tonumber(sub(call_spec, c2 + 1)) or 1
local n = #KEYS

-- Five slots per policy: algorithm letter, mode letter, limit, window ms, burst.
local specs = ARGV[3]
local p = {}
local at = 1
for i = 1, n do
  local a = find(specs, ':', at, true)
  local b = find(specs, ':', a + 1, true)
  local c = find(specs, ':', b + 1, true)
  local e = find(specs, ';', c + 1, true) or #specs + 1
  local k = 5 * i
  p[k - 4], p[k - 3] = byte(specs, at, at + 1)
  p[k - 2], p[k - 1] = tonumber(sub(specs, a + 1, b - 1)), tonumber(sub(specs, b + 1, c - 1))
  p[k] = tonumber(sub(specs, c + 1, e - 1))
  at = e + 1
end

local function write(key, value, expires)
  if expires <= now then
    redis.call('DEL', key)
  elseif extra < 0 then
    redis.call('SET', key, value, 'PXAT', expires .. '')
  else
    redis.call('SET', key, value, 'PX', (expires - now + extra) .. '')
  end
end

-- Within one script call time stands still, so a step on an unchanged state gives the same
-- result again: a policy that was not charged (a refusal, or a burst detector past its
-- threshold, the common case in a flood) is stepped and its result written out once, not
-- once per call.

-- One policy (the common case): it is charged exactly when it admits, so
-- the general two passes below reduce to one step per call.
if n == 1 then
  local kind, limit, w, burst = p[1], p[3], p[4], p[5]
  local raw = redis.call('GET', KEYS[1])
  local out, written, expires_at = {}, nil, 0
  local result = nil
  for call = 1, calls do
    if not result then
      local ok, rem, reset, retry, expires, value = step(kind, raw, now, limit, w, burst, cost)
      if ok and not charge then
        ok, rem, reset = step(kind, raw, now, limit, w, burst, 0)
        retry = 0
      end
      out[call] = (ok and '1:' or '0:') .. rem .. ':' .. reset .. ':' .. retry
      if ok and charge and value then
        raw, written, expires_at = value, value, expires
      else
        result = out[call]
      end
    else
      out[call] = result
    end
  end
  if written then write(KEYS[1], written, expires_at) end
  return table.concat(out, ':')
end

local raws = redis.call('MGET', unpack(KEYS))
-- The state each key gets at the end (nil: unchanged) and when that state expires.
local written, expires_at = {}, {}
-- Six slots per policy: allowed, remaining, resetMs, retryAfterMs, expiresAt, new state;
-- stepped[i] says they still hold the step of policy i on its current state, refused[i] is
-- then its refusal written out.
local r, stepped, refused = {}, {}, {}
local out = {}
for call = 1, calls do
  local enforce_admits = true
  for i = 1, n do
    local j, k = 6 * i, 5 * i
    if not stepped[i] then
      r[j - 5], r[j - 4], r[j - 3], r[j - 2], r[j - 1], r[j] =
        step(p[k - 4], raws[i], now, p[k - 2], p[k - 1], p[k], cost)
      stepped[i], refused[i] = true, nil
    end
    if not r[j - 5] and p[k - 3] == 101 then enforce_admits = false end
  end
  for i = 1, n do
    local j, k = 6 * i, 5 * i
    local ok = r[j - 5]
    local charged = charge and ok and (enforce_admits or p[k - 3] == 111)
    if not ok then
      if not refused[i] then refused[i] = '0:' .. r[j - 4] .. ':' .. r[j - 3] .. ':' .. r[j - 2] end
      out[#out + 1] = refused[i]
    elseif charged then
      out[#out + 1] = '1:' .. r[j - 4] .. ':' .. r[j - 3] .. ':' .. r[j - 2]
      if r[j] then raws[i], written[i], expires_at[i], stepped[i] = r[j], r[j], r[j - 1], false end
    else
      local _, rem, reset = step(p[k - 4], raws[i], now, p[k - 2], p[k - 1], p[k], 0)
      out[#out + 1] = '1:' .. rem .. ':' .. reset .. ':0'
    end
  end
end
for i = 1, n do
  if written[i] then write(KEYS[i], written[i], expires_at[i]) end
end
return table.concat(out, ':')
`;
