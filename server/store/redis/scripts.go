package redis

import goredis "github.com/redis/go-redis/v9"

// The store's Lua scripts. Each runs atomically in Redis, which is what lets
// an append check idempotency, add to the stream and publish in one step.
// go-redis runs them with EVALSHA and falls back to EVAL after a Redis
// restart emptied the script cache.

// appendScript adds a message to a room's stream and publishes it.
//
//	KEYS[1] room hash, KEYS[2] stream, KEYS[3] (optional) client_id key,
//	last (with ARGV[5]) the sender's message bucket
//	ARGV[1] channel, ARGV[2] history max (0: keep all),
//	ARGV[3] client_id ttl (ms), ARGV[4] message JSON starting {"id":"",
//	ARGV[5] the message's search entry ("nick key\nword word ...", "" to
//	leave it out of the index), ARGV[6] the room's search key prefix,
//	ARGV[7] the search order counter (search.go),
//	ARGV[8] and ARGV[9] (optional) the bucket's emission interval (µs) and
//	burst (AppendLimited)
//
// Returns {0} for an unknown room, {1, id} for a new message, {2, json} for
// a repeated client_id (the first message, nothing published), {3, µs to
// wait} when the bucket is empty (nothing stored). The token is taken first,
// so every call costs one whatever follows, as the separate check of a
// single node does.
//
// Retention deletes the oldest entries with XDEL rather than XADD MAXLEN:
// in Redis 7 only XDEL advances the stream's max-deleted-entry-id, which is
// what tells Since exactly whether a resume point fell into the trimmed
// part. In steady state that is one entry per append; a lowered limit is
// reached 100 entries per append.
//
// The search index (search.go) changes in the same script: the new message
// is indexed, and every entry retention deletes is unindexed.
var appendScript = goredis.NewScript(gcraTake + searchIndexLua + `
local nkeys = #KEYS
if ARGV[8] then
  local wait = take(KEYS[nkeys], tonumber(ARGV[8]), tonumber(ARGV[9]))
  if wait > 0 then return {3, wait} end
  nkeys = nkeys - 1
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if nkeys == 3 then
  local first = redis.call('GET', KEYS[3])
  if first then return {2, first} end
end
local max = tonumber(ARGV[2])
if max > 0 then
  local n = redis.call('XLEN', KEYS[2]) + 1 - max
  if n > 0 then
    if n > 100 then n = 100 end
    local ids = {}
    for i, e in ipairs(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', n)) do
      ids[i] = e[1]
      unindex(ARGV[6], e[1], e[2])
    end
    redis.call('XDEL', KEYS[2], unpack(ids))
  end
end
local id
if ARGV[5] == '' then
  id = redis.call('XADD', KEYS[2], '*', 'm', ARGV[4])
else
  local g = redis.call('INCR', ARGV[7])
  id = redis.call('XADD', KEYS[2], '*', 'm', ARGV[4], 'x', ARGV[5], 'g', g)
  index(ARGV[6], id, g, ARGV[5])
end
local msg = '{"id":"' .. id .. '"' .. string.sub(ARGV[4], 9)
redis.call('HSET', KEYS[1], 'last_id', id)
if nkeys == 3 then redis.call('SET', KEYS[3], msg, 'PX', ARGV[3]) end
redis.call('PUBLISH', ARGV[1], 'm' .. msg)
return {1, id}
`)

// putRoomScript creates a room or updates its topic.
//
//	KEYS[1] room hash, KEYS[2] set of rooms
//	ARGV[1] name, ARGV[2] created (RFC 3339), ARGV[3] "1" to set the topic,
//	ARGV[4] topic
//
// Returns {created 0/1, HGETALL of the room}.
var putRoomScript = goredis.NewScript(`
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'name', ARGV[1], 'topic', '', 'created', ARGV[2], 'kind', 'public')
  redis.call('SADD', KEYS[2], ARGV[1])
  created = 1
end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'topic', ARGV[4]) end
return {created, redis.call('HGETALL', KEYS[1])}
`)

// createAccountScript stores a new account and makes it a member of the
// default room when that room exists.
//
//	KEYS[1] account, KEYS[2] default room hash, KEYS[3] its members,
//	KEYS[4] the nick's set of rooms
//	ARGV nick, hash, created, admin ("1" or "0"), nick key, room name
//
// Returns 0 when the nick is taken.
var createAccountScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'nick', ARGV[1], 'hash', ARGV[2], 'created', ARGV[3], 'admin', ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[3], ARGV[5], 'member ' .. ARGV[1] .. ' ' .. ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[6])
end
return 1
`)

// setPasswordScript: KEYS[1] account; ARGV[1] hash. Returns 0 when unknown.
var setPasswordScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'hash', ARGV[1])
return 1
`)

// deleteAccountScript removes an account, its sessions and its
// memberships; the direct rooms it was in lose their key, so a new account
// of the same nick starts new conversations.
//
//	KEYS[1] account, KEYS[2] the nick's set of sessions, KEYS[3] the
//	nick's set of rooms
//	ARGV[1] prefix of session keys, ARGV[2] the store's prefix, ARGV[3]
//	nick key
//
// Returns 0 when the account did not exist. (Session and room keys are
// derived from the sets, which is fine on one Redis; Cluster would need
// them declared.)
var deleteAccountScript = goredis.NewScript(`
local existed = redis.call('DEL', KEYS[1])
for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('DEL', ARGV[1] .. h)
end
redis.call('DEL', KEYS[2])
for _, room in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('HDEL', ARGV[2] .. 'members:{' .. room .. '}', ARGV[3])
  local rk = ARGV[2] .. 'room:{' .. room .. '}'
  local dk = redis.call('HGET', rk, 'dmkey')
  if dk and dk ~= '' then
    redis.call('DEL', ARGV[2] .. 'dm:' .. dk)
    redis.call('HSET', rk, 'dmkey', '')
  end
end
redis.call('DEL', KEYS[3])
return existed
`)

// createSessionScript stores a session with its expiry and indexes it
// under the nick, pruning the index of sessions that expired.
//
//	KEYS[1] session, KEYS[2] the nick's set of sessions
//	ARGV[1] token hash, ARGV[2] nick, ARGV[3] nick key, ARGV[4] created,
//	ARGV[5] expires (RFC 3339), ARGV[6] expires (unix ms),
//	ARGV[7] prefix of session keys
var createSessionScript = goredis.NewScript(`
redis.call('HSET', KEYS[1], 'nick', ARGV[2], 'nick_key', ARGV[3], 'created', ARGV[4], 'expires', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[7] .. h) == 0 then redis.call('SREM', KEYS[2], h) end
end
redis.call('SADD', KEYS[2], ARGV[1])
local t = redis.call('PEXPIRETIME', KEYS[2])
if t < tonumber(ARGV[6]) then redis.call('PEXPIREAT', KEYS[2], ARGV[6]) end
return 1
`)

// extendSessionScript moves a session's expiry.
//
//	KEYS[1] session; ARGV[1] expires (RFC 3339), ARGV[2] expires (unix ms),
//	ARGV[3] prefix of the nicks' session sets
//
// Returns 0 for an unknown session.
var extendSessionScript = goredis.NewScript(`
local nk = redis.call('HGET', KEYS[1], 'nick_key')
if not nk then return 0 end
redis.call('HSET', KEYS[1], 'expires', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
local set = ARGV[3] .. nk
local t = redis.call('PEXPIRETIME', set)
if t ~= -2 and t < tonumber(ARGV[2]) then redis.call('PEXPIREAT', set, ARGV[2]) end
return 1
`)

// deleteSessionScript: KEYS[1] session; ARGV[1] prefix of the nicks'
// session sets, ARGV[2] token hash.
var deleteSessionScript = goredis.NewScript(`
local nk = redis.call('HGET', KEYS[1], 'nick_key')
redis.call('DEL', KEYS[1])
if nk then redis.call('SREM', ARGV[1] .. nk, ARGV[2]) end
return 1
`)

// deleteSessionsScript: KEYS[1] the nick's set of sessions; ARGV[1] prefix
// of session keys.
var deleteSessionsScript = goredis.NewScript(`
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('DEL', ARGV[1] .. h)
end
redis.call('DEL', KEYS[1])
return 1
`)

// Presence scripts keep a sorted set per room of "nick node" members scored
// by their expiry in ms, on Redis's clock so the nodes' clocks do not
// matter. The key itself expires a little after its newest member.
const presenceNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(x) return string.format('%.0f', x) end
`

// joinScript: KEYS[1] presence; ARGV[1] member, ARGV[2] ttl (ms). Returns
// the live members.
var joinScript = goredis.NewScript(presenceNow + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ms(tonumber(ARGV[2]) + 1000))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// leaveScript: KEYS[1] presence; ARGV[1] member. Returns the live members.
var leaveScript = goredis.NewScript(presenceNow + `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// onlineScript: KEYS[1] presence. Returns the live members (read only).
var onlineScript = goredis.NewScript(presenceNow + `
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ms(now), '+inf')
`)

// touchScript refreshes this node's members of one room.
// KEYS[1] presence; ARGV[1] ttl (ms), ARGV[2..] members.
var touchScript = goredis.NewScript(presenceNow + `
local exp = ms(now + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], exp, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ms(tonumber(ARGV[1]) + 1000))
return 1
`)
