import { codecLua } from './codec.ts';
import { stepsLua } from './steps.ts';

/**
 * Check and peek for every policy of one subject, atomically, in one call:
 * a transliteration of `evaluate` in src/domain/ratelimit/evaluate.ts.
 *
 * KEYS: one state key per policy, in policy order.
 * ARGV: charge (`1` check, `0` peek), now (epoch ms, or empty for the
 * server's TIME), extra TTL ms in client-time mode (`-1` in server-time
 * mode: keys then expire at the state's own expiry, PXAT), cost, then four
 * values per policy: algorithm letter and mode letter (`ge`, `lo`, …),
 * limit, window ms, burst.
 *
 * Returns four integers per policy: allowed (1/0), remaining, resetMs,
 * retryAfterMs. The caller builds the decision with `decide()`.
 */
export const evaluateLua = `${codecLua}${stepsLua}
local charge = ARGV[1] == '1'
local now
if ARGV[2] == '' then now = server_now() else now = tonumber(ARGV[2]) end
local extra = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local n = #KEYS
local raws = redis.call('MGET', unpack(KEYS))
local kinds, observe, limits, windows, bursts, states = {}, {}, {}, {}, {}, {}
local oks, rems, resets, retries, expiries, values = {}, {}, {}, {}, {}, {}
local enforce_admits = true
for i = 1, n do
  local b = 4 + (i - 1) * 4
  local spec = ARGV[b + 1]
  local kind = string.sub(spec, 1, 1)
  kinds[i] = kind
  observe[i] = string.sub(spec, 2, 2) == 'o'
  limits[i] = tonumber(ARGV[b + 2])
  windows[i] = tonumber(ARGV[b + 3])
  bursts[i] = tonumber(ARGV[b + 4])
  states[i] = decode(kind, raws[i])
  oks[i], rems[i], resets[i], retries[i], expiries[i], values[i] =
    step(kind, states[i], now, limits[i], windows[i], bursts[i], cost)
  if not observe[i] and not oks[i] then enforce_admits = false end
end
local out = {}
for i = 1, n do
  local ok = oks[i]
  local charged = charge and ok and (observe[i] or enforce_admits)
  local o = (i - 1) * 4
  if charged or not ok then
    out[o + 1] = ok and 1 or 0
    out[o + 2] = rems[i]
    out[o + 3] = resets[i]
    out[o + 4] = retries[i]
  else
    local _, rem, reset = step(kinds[i], states[i], now, limits[i], windows[i], bursts[i], 0)
    out[o + 1] = 1
    out[o + 2] = rem
    out[o + 3] = reset
    out[o + 4] = 0
  end
  local value = values[i]
  if charged and value then
    local expires = expiries[i]
    if expires <= now then
      redis.call('DEL', KEYS[i])
    elseif extra < 0 then
      redis.call('SET', KEYS[i], value, 'PXAT', fmt(expires))
    else
      redis.call('SET', KEYS[i], value, 'PX', fmt(expires - now + extra))
    end
  end
end
return out
`;
