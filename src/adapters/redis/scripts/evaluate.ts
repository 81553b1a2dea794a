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
 * ARGV[2]: `<c|p>:<cost>:<extra>`: check or peek, the cost, and the extra
 * TTL ms in client-time mode (`-1` in server-time mode: keys then expire
 * exactly when their state does, PXAT).
 * ARGV[3]: per policy `<algorithm letter><mode letter>:<limit>:<window ms>:<burst>`,
 * joined with `;` (`ge:100:60000:100;lo:50:10000:50`).
 *
 * Returns one string, four integers per policy joined with `:`: allowed
 * (1/0), remaining, resetMs, retryAfterMs. The caller builds the decision
 * with `decide()`.
 */
export const evaluateLua = `${stepsLua}${timeFromArg(1)}
local call_spec = ARGV[2]
local c1 = find(call_spec, ':', 3, true)
local charge = byte(call_spec, 1) == 99
local cost = tonumber(sub(call_spec, 3, c1 - 1))
local extra = tonumber(sub(call_spec, c1 + 1))
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

-- One policy (the common case): it is charged exactly when it admits, so
-- the general two passes below reduce to one step.
if n == 1 then
  local kind, limit, w, burst = p[1], p[3], p[4], p[5]
  local raw = redis.call('GET', KEYS[1])
  local ok, rem, reset, retry, expires, value = step(kind, raw, now, limit, w, burst, cost)
  if ok and not charge then
    ok, rem, reset = step(kind, raw, now, limit, w, burst, 0)
    retry = 0
  elseif value then
    write(KEYS[1], value, expires)
  end
  return (ok and '1:' or '0:') .. rem .. ':' .. reset .. ':' .. retry
end

local raws = redis.call('MGET', unpack(KEYS))
-- Six slots per policy: allowed, remaining, resetMs, retryAfterMs, expiresAt, new state.
local r = {}
local enforce_admits = true
for i = 1, n do
  local j, k = 6 * i, 5 * i
  r[j - 5], r[j - 4], r[j - 3], r[j - 2], r[j - 1], r[j] =
    step(p[k - 4], raws[i], now, p[k - 2], p[k - 1], p[k], cost)
  if not r[j - 5] and p[k - 3] == 101 then enforce_admits = false end
end
local out = {}
for i = 1, n do
  local j, k = 6 * i, 5 * i
  local ok = r[j - 5]
  local charged = charge and ok and (enforce_admits or p[k - 3] == 111)
  if charged or not ok then
    out[i] = (ok and '1:' or '0:') .. r[j - 4] .. ':' .. r[j - 3] .. ':' .. r[j - 2]
  else
    local _, rem, reset = step(p[k - 4], raws[i], now, p[k - 2], p[k - 1], p[k], 0)
    out[i] = '1:' .. rem .. ':' .. reset .. ':0'
  end
  if charged and r[j] then write(KEYS[i], r[j], r[j - 1]) end
end
return table.concat(out, ':')
`;
