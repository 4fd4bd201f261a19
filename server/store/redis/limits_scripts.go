package redis

import goredis "github.com/redis/go-redis/v9"

// The limits' Lua scripts (store.Limiter). Buckets are GCRA (the generic
// cell rate algorithm): a bucket is one string, its "theoretical arrival
// time" in microseconds on Redis's clock, which runs ahead of now by the
// tokens in use times the emission interval. The key expires when the
// bucket is full again, so an idle bucket costs nothing and a new one is
// full. The clock is Redis's TIME, never a node's.

// gcraTake defines take(key, step, burst): it takes one token from the
// bucket at key, whose emission interval is step µs, and returns 0, or the
// µs until a token is back (then it takes nothing). It is prepended to the
// scripts that take tokens, the append script included. The key lives at
// least 1 ms: a step below the clock's resolution (a huge rate) leaves the
// time where it was, and SET refuses an expiry of 0.
const gcraTake = `
local function take(key, step, burst)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local wait = tat + step - now - burst * step
  if wait > 0 then return wait end
  local ttl = math.max(1, math.ceil((tat + step - now) / 1000))
  redis.call('SET', key, string.format('%.0f', tat + step), 'PX', string.format('%.0f', ttl))
  return 0
end
`

// takeScript: KEYS[1] bucket; ARGV[1] emission interval (µs), ARGV[2]
// burst. Returns 0 when a token was taken, else the µs to wait.
var takeScript = goredis.NewScript(gcraTake + `
return take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
`)

// refundScript gives one token back: KEYS[1] bucket; ARGV[1] emission
// interval (µs). A bucket that is full again is deleted.
var refundScript = goredis.NewScript(`
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local back = tat - tonumber(ARGV[1])
if back <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.0f', back), 'PX', string.format('%.0f', math.ceil((back - now) / 1000)))
end
return 1
`)

// Stream places are a sorted set per key (an account's open streams over
// every node): one member per stream, "node conn", scored by its expiry
// (ms, Redis's clock). Each node refreshes its own members; those of a node
// that died expire. The refresh is touchScript, the presence refresh.

// acquireStreamScript: KEYS[1] the set; ARGV[1] member, ARGV[2] ttl (ms),
// ARGV[3] max. Returns 1 when the place was taken, 0 when all are held.
var acquireStreamScript = goredis.NewScript(presenceNow + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ms(tonumber(ARGV[2]) + 1000))
return 1
`)
