/**
 * Lua of the Redis TokenStore. All keys of a user share the user's hash tag
 * (`<prefix>:{<tag>}:`), so every script touches one Cluster slot; scripts
 * that walk a user's sessions build session keys from that base, which
 * stays in the slot of the declared key.
 *
 * A session is a hash: `u` user, `f` family hash, `h` current refresh hash,
 * `ph` previous hash, `ra` rotated-at, `g` generation, `c` created, `l` last
 * used, `e` expiry, `ip`, `ua`, `lip` last IP, `d` data, and `r` (reused-at)
 * on a tombstone. The user's sorted set `ss` holds live session ids scored
 * by creation time. Deny-list and single-use entries are strings holding
 * their expiry; the cut-off is `<at>|<expiry>`. Times are the caller's
 * epoch ms (below 10^14, written with `%.0f`, exact); a key's Redis TTL is
 * its logical expiry plus the clock-skew margin, and every read compares
 * the logical expiry with the caller's `now`.
 */

const helpers = `
local function num(x) return string.format('%.0f', x) end
local function ttl(expires, now, skew) return num(math.max(1, expires - now + skew)) end
local function extend(key, ms)
  local current = redis.call('PTTL', key)
  if current < tonumber(ms) then redis.call('PEXPIRE', key, ms) end
end
`;

/**
 * `cutoffAt(key, now)`: the cut-off stored at `key` while it is in force at
 * `now`, as a number, else nil. A session created at or before it is logged
 * out (see `loggedOutByCutoff` in src/domain/tokens/rotation.ts). A session
 * hash without its creation time (`c`, which LockWatch always writes) counts
 * as created at 0: logged out, instead of a script error on every call.
 */
const cutoffHelper = `
local function cutoffAt(key, now)
  local c = redis.call('GET', key)
  if not c then return nil end
  local at, expires = string.match(c, '^(%d+)|(%d+)$')
  if at and tonumber(expires) > now then return tonumber(at) end
  return nil
end
`;

/**
 * KEYS: session, user set. ARGV: id, created, expires, now, skew, then
 * field/value pairs of the hash.
 */
export const createSessionLua = `${helpers}
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
local ms = ttl(tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
extend(KEYS[2], ms)
return 1
`;

/**
 * The rotation rule of src/domain/tokens/rotation.ts, transliterated.
 * KEYS: session, user set, cut-off. ARGV: id, family hash, presented hash,
 * next hash, now, expires, max lifetime, grace, ip ('' for none), skew.
 * Returns {'not_found'}, {'reused'}, or {'rotated'|'grace', hash fields...}.
 */
export const rotateLua = `${helpers}${cutoffHelper}
local r = redis.call('HMGET', KEYS[1], 'f', 'h', 'ph', 'ra', 'g', 'c', 'e', 'r')
if not r[1] then return {'not_found'} end
local now = tonumber(ARGV[5])
local expires = tonumber(r[7])
if expires <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'not_found'}
end
if r[1] ~= ARGV[2] then return {'not_found'} end
if r[8] then return {'reused'} end
local cutoff = cutoffAt(KEYS[3], now)
if cutoff and (tonumber(r[6]) or 0) <= cutoff then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'not_found'}
end
if ARGV[3] == r[2] then
  local nextExpires = math.min(tonumber(ARGV[6]), tonumber(r[6]) + tonumber(ARGV[7]))
  redis.call('HSET', KEYS[1], 'h', ARGV[4], 'ph', ARGV[3], 'ra', ARGV[5],
    'g', num(tonumber(r[5]) + 1), 'l', ARGV[5], 'e', num(nextExpires))
  if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'lip', ARGV[9]) end
  local ms = ttl(nextExpires, now, tonumber(ARGV[10]))
  redis.call('PEXPIRE', KEYS[1], ms)
  extend(KEYS[2], ms)
  local out = redis.call('HGETALL', KEYS[1])
  table.insert(out, 1, 'rotated')
  return out
end
local grace = tonumber(ARGV[8])
if grace > 0 and r[3] and ARGV[3] == r[3] and r[4] and math.abs(now - tonumber(r[4])) < grace then
  local out = redis.call('HGETALL', KEYS[1])
  table.insert(out, 1, 'grace')
  return out
end
redis.call('HSET', KEYS[1], 'h', '', 'r', ARGV[5])
redis.call('HDEL', KEYS[1], 'ph')
redis.call('ZREM', KEYS[2], ARGV[1])
return {'reused'}
`;

/**
 * KEYS: deny entry, session, cut-off. ARGV: now, '1' when a session is asked about.
 * Returns {jti revoked 0/1, session revoked 0/1, cut-off or ''}; a session
 * created at or before the cut-off is revoked.
 */
export const revocationLua = `${cutoffHelper}
local now = tonumber(ARGV[1])
local denied = redis.call('GET', KEYS[1])
local jti = 0
if denied and tonumber(denied) > now then jti = 1 end
local cutoff = cutoffAt(KEYS[3], now)
local session = 0
if ARGV[2] == '1' then
  local s = redis.call('HMGET', KEYS[2], 'e', 'r', 'c')
  if not s[1] or s[2] or tonumber(s[1]) <= now then session = 1
  elseif cutoff and (tonumber(s[3]) or 0) <= cutoff then session = 1 end
end
return {jti, session, cutoff and string.format('%.0f', cutoff) or ''}
`;

/**
 * KEYS: user set, cut-off. ARGV: session key base, now. Returns the live
 * sessions' hashes, newest first, leaving out those the cut-off logged out.
 */
export const listLua = `${cutoffHelper}
local now = tonumber(ARGV[2])
local cutoff = cutoffAt(KEYS[2], now)
local ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', ARGV[1] .. id)
  local e, c, reused
  for i = 1, #h, 2 do
    if h[i] == 'e' then e = tonumber(h[i + 1])
    elseif h[i] == 'c' then c = tonumber(h[i + 1])
    elseif h[i] == 'r' then reused = true end
  end
  if e == nil or reused or e <= now then
    redis.call('ZREM', KEYS[1], id)
    if e ~= nil and not reused then redis.call('DEL', ARGV[1] .. id) end
  elseif cutoff and (c or 0) <= cutoff then
    -- Logged out by the cut-off: left for rotation or expiry to remove.
  else
    h[#h + 1] = 'id'
    h[#h + 1] = id
    out[#out + 1] = h
  end
end
return out
`;

/**
 * KEYS: session, cut-off. ARGV: now. Returns the session's hash as a flat
 * list when it is live (not expired, not a tombstone, not logged out by the
 * cut-off), else an empty list.
 */
export const getSessionLua = `${cutoffHelper}
local now = tonumber(ARGV[1])
local s = redis.call('HMGET', KEYS[1], 'e', 'r', 'c')
if not s[1] or s[2] or tonumber(s[1]) <= now then return {} end
local cutoff = cutoffAt(KEYS[2], now)
if cutoff and (tonumber(s[3]) or 0) <= cutoff then return {} end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * KEYS: session, user set, cut-off. ARGV: id, now. Returns 1 when a live
 * session was revoked; one the cut-off logged out is removed and answers 0.
 */
export const revokeSessionLua = `${cutoffHelper}
local now = tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'e', 'r', 'c')
redis.call('ZREM', KEYS[2], ARGV[1])
if not s[1] then return 0 end
local expired = tonumber(s[1]) <= now
if s[2] and not expired then return 0 end
redis.call('DEL', KEYS[1])
if s[2] or expired then return 0 end
local cutoff = cutoffAt(KEYS[3], now)
if cutoff and (tonumber(s[3]) or 0) <= cutoff then return 0 end
return 1
`;

/**
 * KEYS: user set, cut-off. ARGV: session key base, id to keep ('' for
 * none), now. Returns how many live sessions went (none the cut-off had
 * logged out).
 */
export const revokeUserLua = `${cutoffHelper}
local now = tonumber(ARGV[3])
local cutoff = cutoffAt(KEYS[2], now)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local count = 0
for _, id in ipairs(ids) do
  if id ~= ARGV[2] then
    local key = ARGV[1] .. id
    local s = redis.call('HMGET', key, 'e', 'r', 'c')
    if not s[2] then
      if s[1] and tonumber(s[1]) > now and not (cutoff and (tonumber(s[3]) or 0) <= cutoff) then
        count = count + 1
      end
      redis.call('DEL', key)
    end
    redis.call('ZREM', KEYS[1], id)
  end
end
return count
`;

/** KEYS: entry. ARGV: expires, now, skew. Keeps the later expiry. */
export const denyLua = `${helpers}
local expires = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > expires then expires = current end
redis.call('SET', KEYS[1], num(expires), 'PX', ttl(expires, tonumber(ARGV[2]), tonumber(ARGV[3])))
return 1
`;

/** KEYS: cut-off. ARGV: at, expires, now, skew. A cut-off never moves back. */
export const cutoffLua = `${helpers}
local now = tonumber(ARGV[3])
local at = tonumber(ARGV[1])
local expires = tonumber(ARGV[2])
local c = redis.call('GET', KEYS[1])
if c then
  local a, e = string.match(c, '^(%d+)|(%d+)$')
  if a and tonumber(e) > now then
    at = math.max(at, tonumber(a))
    expires = math.max(expires, tonumber(e))
  end
end
redis.call('SET', KEYS[1], num(at) .. '|' .. num(expires), 'PX', ttl(expires, now, tonumber(ARGV[4])))
return 1
`;

/** KEYS: entry. ARGV: expires, now, skew. Returns 1 the first time, 0 while the entry lives. */
export const consumeLua = `${helpers}
local now = tonumber(ARGV[2])
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) > now then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl(tonumber(ARGV[1]), now, tonumber(ARGV[3])))
return 1
`;
