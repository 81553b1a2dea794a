/**
 * Lua shared by every script: state decoding and integer helpers.
 *
 * A state is a string tagged with its algorithm's letter (`g` gcra, `f`
 * fixed-window, `s` sliding-window, `l` sliding-log) followed by integers
 * joined with `:`. A tag that does not match the policy's algorithm (the
 * policy was redefined under the same name) reads as no state rather than
 * as corrupt numbers. Integers are written with `%d` (a C long) because
 * `tostring` keeps only 14 significant digits.
 *
 * JavaScript's `%` is an exact remainder while Lua 5.1's is
 * `a - floor(a/b)*b` in doubles, which can be off for large operands: the
 * scripts use `math.fmod` (C fmod, exact) wherever the TypeScript uses `%`.
 */
export const codecLua = `
local arity = { g = 2, f = 2, s = 3 }

local function decode(kind, raw)
  if not raw or string.sub(raw, 1, 1) ~= kind then return nil end
  local v = {}
  for part in string.gmatch(raw, '%-?%d+') do v[#v + 1] = tonumber(part) end
  local want = arity[kind]
  if want then
    if #v ~= want then return nil end
  elseif #v == 0 or #v % 2 ~= 0 then
    return nil
  end
  return v
end

local function ceil_div(a, b)
  return math.floor((a + b - 1) / b)
end

local function fmt(x)
  return string.format('%d', x)
end

local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;
