import { timeFromArg } from './codec.ts';
import { stepsLua } from './steps.ts';

/**
 * Check and peek for every policy of one subject, atomically, in one call:
 * a transliteration of `evaluate` in src/domain/ratelimit/evaluate.ts.
 * Enforce-mode policies are charged only when all of them admit; an
 * observe-mode policy whenever it alone admits; a policy that admits but is
 * not charged reports its standing state (a step with cost 0).
 *
 * KEYS: one state key per policy, in policy order.
 * ARGV: charge (`1` check, `0` peek), now (epoch ms, or empty for the
 * server's TIME), extra TTL ms in client-time mode (`-1` in server-time
 * mode: keys then expire exactly when their state does, PXAT), cost, then
 * four values per policy: algorithm letter and mode letter (`ge`, `lo`, …),
 * limit, window ms, burst.
 *
 * Returns four integers per policy: allowed (1/0), remaining, resetMs,
 * retryAfterMs. The caller builds the decision with `decide()`.
 */
export const evaluateLua = `${stepsLua}${timeFromArg(2)}
local charge = ARGV[1] == '1'
local extra = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local n = #KEYS

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
  local spec = ARGV[5]
  local kind, limit, w, burst = byte(spec, 1), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
  local raw = redis.call('GET', KEYS[1])
  local ok, rem, reset, retry, expires, value = step(kind, raw, now, limit, w, burst, cost)
  if ok and not charge then
    ok, rem, reset = step(kind, raw, now, limit, w, burst, 0)
    retry = 0
  elseif value then
    write(KEYS[1], value, expires)
  end
  return { ok and 1 or 0, rem, reset, retry }
end

local raws = redis.call('MGET', unpack(KEYS))
-- Six slots per policy: allowed, remaining, resetMs, retryAfterMs, expiresAt, new state.
local r = {}
local enforce_admits = true
for i = 1, n do
  local b, j = 4 * i, 6 * i
  local spec = ARGV[b + 1]
  r[j - 5], r[j - 4], r[j - 3], r[j - 2], r[j - 1], r[j] = step(byte(spec, 1), raws[i], now,
    tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), cost)
  if not r[j - 5] and byte(spec, 2) == 101 then enforce_admits = false end
end
local out = {}
for i = 1, n do
  local b, j, o = 4 * i, 6 * i, 4 * i
  local spec = ARGV[b + 1]
  local ok = r[j - 5]
  local charged = charge and ok and (enforce_admits or byte(spec, 2) == 111)
  if charged or not ok then
    out[o - 3], out[o - 2], out[o - 1], out[o] = ok and 1 or 0, r[j - 4], r[j - 3], r[j - 2]
  else
    local _, rem, reset = step(byte(spec, 1), raws[i], now,
      tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), 0)
    out[o - 3], out[o - 2], out[o - 1], out[o] = 1, rem, reset, 0
  end
  if charged and r[j] then write(KEYS[i], r[j], r[j - 1]) end
end
return out
`;
