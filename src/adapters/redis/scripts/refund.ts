import { decodeLua, timeFromArg } from './codec.ts';
import { refundsLua } from './refunds.ts';

/**
 * Refund for the enforce-mode policies of one subject, atomically, in one
 * call: each state gets `cost` back through the domain's refund function and
 * keeps its TTL; a state that becomes empty is deleted.
 *
 * KEYS: one state key per policy. ARGV: now (epoch ms, or empty for the
 * server's TIME), cost, then three values per policy: algorithm letter,
 * limit, window ms.
 */
export const refundLua = `${decodeLua}${refundsLua}${timeFromArg(1)}
local cost = tonumber(ARGV[2])
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 3
  local kind = ARGV[b + 1]
  local raw = redis.call('GET', KEYS[i])
  if raw then
    local value = refund(kind, decode(kind, raw), now, tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), cost)
    if value then
      redis.call('SET', KEYS[i], value, 'KEEPTTL')
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
return 0
`;
