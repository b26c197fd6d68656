/**
 * The Redis side of the multi-limit decision: one script call decides a batch of
 * requests, one after the other, each over every key of that request.
 *
 * Redis runs a script to completion before any other command, so the reads, the
 * decisions and the writes below are one atomic step across all the keys, and across
 * every gateway sharing this Redis. For each request, phase 1 evaluates every limit
 * without writing; phase 2 writes all of them only if all allowed. A request that any
 * limit rejects writes nothing at all. The requests of a batch are decided in the order
 * they were sent, each seeing what the ones before it wrote, exactly as the same
 * requests sent as one call each would have been.
 *
 * The arithmetic is a line-by-line port of evaluate-limit.ts (same operations in the
 * same order, so the same IEEE doubles); states are written with %.17g so a double
 * survives the round trip through a string exactly.
 *
 * The same step can also count the request against its subscription's quota (the
 * combined limits step, one round trip per request instead of two): the quota counter
 * is incremented only when every rate limit allowed the request and the quota has room
 * (or the plan allows overage), after the rate limits were written, exactly as the two
 * separate steps would have done one after the other.
 *
 * ARGV[1]: now in epoch ms, or "" to use the Redis server's clock (one clock for every
 * gateway), read once for the whole batch. ARGV[2]: the number of requests. Then, per
 * request: cost; the quota (0 none, 1 hard, 2 overage); its limit; its counter's time to
 * live in ms (both ignored without a quota); the number of limits; then three per limit:
 * algorithm (1 fixed-window, 2 sliding-window, 3 token-bucket), points, window in ms.
 * KEYS, per request in the same order: one per limit, then the quota counter when there
 * is one.
 *
 * Returns, per request: allAllowed, then per limit: allowed, remaining, resetMs,
 * retryAfterMs, then, with a quota: admitted (1, 0, or -1 when a rate limit refused
 * first and the quota was not looked at) and the counter's value (this request included
 * when admitted). A request whose decision raised an error (a key holding another type,
 * say) answers -2, the length of the message, and the message; the requests around it
 * are decided as usual. Every request's numbers are big-endian doubles (`struct.pack`,
 * part of Redis's Lua since 2.6), all concatenated into one string: the client decodes
 * one bulk string instead of arrays of integers. The client truncates them toward zero,
 * as Redis does when it turns a Lua number into an integer reply.
 *
 * Redis Cluster would need every key of a batch in one hash slot; this targets a single
 * Redis (or a primary with replicas / Sentinel).
 */
export const multiLimitScript = `
local EPS = 1e-6
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- One request: its first key is KEYS[k], its first argument ARGV[a].
local function decide(k, a, limits)
  local cost = tonumber(ARGV[a])
  local quota = tonumber(ARGV[a + 1])
  local out = { 0 }
  local values = {}
  local expiries = {}
  local all = true

  for i = 1, limits do
    local algorithm = tonumber(ARGV[a + 2 + 3 * i])
    local points = tonumber(ARGV[a + 3 + 3 * i])
    local window = tonumber(ARGV[a + 4 + 3 * i])
    local raw = redis.call('GET', KEYS[k + i - 1])
    local s = {}
    if raw then
      for part in string.gmatch(raw, '[^:]+') do s[#s + 1] = tonumber(part) end
    end
    local allowed, remaining, reset, retry

    if algorithm == 1 then
      local start, count = now, 0
      if s[1] and s[2] and now < s[1] + window then
        start = s[1]
        count = s[2]
      end
      allowed = count + cost <= points
      local used = count
      if allowed then used = count + cost end
      reset = start + window - now
      remaining = math.max(0, points - used)
      retry = 0
      if not allowed then retry = reset end
      values[i] = string.format('%.17g:%.17g', start, used)
      expiries[i] = start + window

    elseif algorithm == 2 then
      local index = math.floor(now / window)
      local current, previous = 0, 0
      if s[1] and s[2] and s[3] then
        if s[1] == index then
          current = s[2]
          previous = s[3]
        elseif s[1] == index - 1 then
          previous = s[2]
        end
      end
      local windowStart = index * window
      local weight = (window - (now - windowStart)) / window
      allowed = previous * weight + current + cost <= points
      if allowed then current = current + cost end
      remaining = math.max(0, math.floor(points - (previous * weight + current)))
      if current > 0 then
        reset = windowStart + 2 * window - now
      elseif previous > 0 then
        reset = windowStart + window - now
      else
        reset = 0
      end
      retry = 0
      if not allowed then
        if cost > points then
          retry = reset
        elseif current + cost > points then
          retry = windowStart + window + math.ceil(window * (1 - (points - cost) / current)) - now
        else
          retry = windowStart + math.ceil(window * (1 - (points - cost - current) / previous)) - now
        end
        retry = math.max(1, retry)
      end
      values[i] = string.format('%.17g:%.17g:%.17g', index, current, previous)
      expiries[i] = windowStart + 2 * window

    else
      local interval = window / points
      local tat = now
      if s[1] then tat = math.max(s[1], now) end
      local nextTat = tat + interval * cost
      allowed = nextTat - now <= window + EPS
      local held = tat
      if allowed then held = nextTat end
      remaining = math.max(0, math.floor((window - (held - now)) / interval + EPS))
      reset = math.ceil(held - now)
      retry = 0
      if not allowed then retry = math.max(1, math.ceil(nextTat - window - now)) end
      values[i] = string.format('%.17g', nextTat)
      expiries[i] = math.ceil(held)
    end

    if not allowed then all = false end
    local n = #out
    out[n + 1] = allowed and 1 or 0
    out[n + 2] = remaining
    out[n + 3] = reset
    out[n + 4] = retry
  end

  if all then
    for i = 1, limits do
      redis.call('SET', KEYS[k + i - 1], values[i], 'PX', math.max(1, math.ceil(expiries[i] - now)))
    end
    out[1] = 1
  end

  if quota ~= 0 then
    local key = KEYS[k + limits]
    local n = #out
    if not all then
      out[n + 1] = -1
      out[n + 2] = 0
    else
      local raw = redis.call('GET', key)
      local used = tonumber(raw or '0')
      if quota == 2 or used + cost <= tonumber(ARGV[a + 2]) then
        out[n + 1] = 1
        if raw then
          out[n + 2] = redis.call('INCRBY', key, cost)
        else
          -- A new counter lives until its period's end plus the retention.
          redis.call('SET', key, cost, 'PX', ARGV[a + 3])
          out[n + 2] = cost
        end
      else
        out[n + 1] = 0
        out[n + 2] = used
      end
    end
  end
  return struct.pack('>' .. string.rep('d', #out), unpack(out))
end

local replies = {}
local k, a = 1, 3
for r = 1, tonumber(ARGV[2]) do
  local limits = tonumber(ARGV[a + 4])
  local ok, reply = pcall(decide, k, a, limits)
  if not ok then
    -- redis.call raises a table ({ err = ... }); Lua itself raises a string.
    if type(reply) == 'table' then reply = reply.err end
    reply = tostring(reply)
    reply = struct.pack('>dd', -2, #reply) .. reply
  end
  replies[r] = reply
  k = k + limits
  if tonumber(ARGV[a + 1]) ~= 0 then k = k + 1 end
  a = a + 5 + 3 * limits
end
return table.concat(replies)
`;

/** Each request's quota argument in the script. */
export const quotaCodes = { none: 0, hard: 1, overage: 2 } as const;

export const algorithmCodes = { "fixed-window": 1, "sliding-window": 2, "token-bucket": 3 } as const;
