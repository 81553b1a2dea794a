/**
 * Lua shared by the scripts: how states are stored and how time is read.
 *
 * A state is a string: its algorithm's letter (`g` gcra, `f` fixed-window,
 * `s` sliding-window, `l` sliding-log) and integers joined with `:`, such as
 * `g1700000000123:41`; a sliding log is stored as `L` with a header (its
 * total, newest time and last cost) before a `;` and its entries (steps.ts).
 * A letter that does not match the policy's algorithm (the policy was
 * redefined under the same name) reads as no state.
 *
 * Numbers are written with Lua's `..`, which formats with `%.14g`: exact for
 * every stored value, all of which stay below 10^14 (epoch ms until the year
 * 5138, counts and costs up to 10^9); the store refuses client times outside
 * that range. JavaScript's `%` is an exact remainder while Lua 5.1's is
 * `a - floor(a/b)*b` in doubles: the scripts use `math.fmod` (C fmod, exact)
 * wherever the TypeScript uses `%`.
 */
export const timeLua = `
local now
if ARGV[TIME_ARG] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[TIME_ARG])
end
`;

/** Lua `decode(kind, raw)`: the state's integers as a list, or nil. Used off the hot path (refund). */
export const decodeLua = `
local arity = { g = 2, f = 2, s = 3 }

local function decode(kind, raw)
  if not raw then return nil end
  local from = 1
  if kind == 'l' and string.sub(raw, 1, 1) == 'L' then
    -- A sliding log with its header: the entries follow the ';'.
    from = string.find(raw, ';', 2, true)
    if not from then return nil end
  elseif string.sub(raw, 1, 1) ~= kind then
    return nil
  end
  local v = {}
  for part in string.gmatch(string.sub(raw, from), '%-?%d+') do v[#v + 1] = tonumber(part) end
  local want = arity[kind]
  if want then
    if #v ~= want then return nil end
  elseif #v == 0 or #v % 2 ~= 0 then
    return nil
  end
  return v
end
`;

/** Lua reading the time into `now`: the server's TIME when ARGV[`index`] is empty, else that value. */
export function timeFromArg(index: number): string {
  return timeLua.replaceAll('TIME_ARG', String(index));
}
