package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// The search index lives beside each room's stream (Debian's Redis has no
// RediSearch): for every word (store.AnalyzeText's folded tokens) a sorted
// set "sx:{room}:w:WORD" of the ids of the room's messages holding it, for
// every author one "sx:{room}:@NICKKEY", the room's word list
// "sx:{room}:dict" (all scored 0, read by range for prefixes) and author
// set "sx:{room}:authors". A message's
// score is its place in the counter "sxorder", shared by every room, so
// hits of several rooms merge newest first and the score is the cursor.
//
// The append script indexes a message as it adds it (index below) and
// unindexes every entry retention deletes (unindex), reading the words from
// the entry's "x" field, so the index holds exactly the retained messages;
// deleting a room drops its index (unindexroom, from the room's word and
// author lists). Edits and deletions (issue 15) must call index and
// unindex in their scripts. A search runs one script per room (searchScript) and then
// checks every candidate's text with store.Highlights, which is what makes
// phrases exact. docs/design.md has the costs and limits.

// searchIndexLua defines index and unindex for the scripts that change
// messages. P is the room's search key prefix; x is "nickkey\nword word".
const searchIndexLua = `
local function searchparts(x)
  local nl = string.find(x, '\n', 1, true)
  return string.sub(x, 1, nl - 1), string.sub(x, nl + 1)
end
local function index(P, id, g, x)
  local nick, words = searchparts(x)
  redis.call('ZADD', P .. '@' .. nick, g, id)
  redis.call('SADD', P .. 'authors', nick)
  for w in string.gmatch(words, '%S+') do
    redis.call('ZADD', P .. 'w:' .. w, g, id)
    redis.call('ZADD', P .. 'dict', 0, w)
  end
end
local function unindex(P, id, fields)
  local x
  for i = 1, #fields, 2 do
    if fields[i] == 'x' then x = fields[i + 1] end
  end
  if not x then return end
  local nick, words = searchparts(x)
  redis.call('ZREM', P .. '@' .. nick, id)
  if redis.call('EXISTS', P .. '@' .. nick) == 0 then redis.call('SREM', P .. 'authors', nick) end
  for w in string.gmatch(words, '%S+') do
    local k = P .. 'w:' .. w
    redis.call('ZREM', k, id)
    if redis.call('EXISTS', k) == 0 then redis.call('ZREM', P .. 'dict', w) end
  end
end
local function unindexroom(P)
  for _, w in ipairs(redis.call('ZRANGE', P .. 'dict', 0, -1)) do redis.call('DEL', P .. 'w:' .. w) end
  for _, n in ipairs(redis.call('SMEMBERS', P .. 'authors')) do redis.call('DEL', P .. '@' .. n) end
  redis.call('DEL', P .. 'dict', P .. 'authors')
end
`

// searchEntry is the "x" field of m's stream entry: its author's nick key
// and its distinct words. "" leaves m out of the index (NoSearchIndex).
func (s *Store) searchEntry(m store.NewMessage) string {
	if s.opts.NoSearchIndex {
		return ""
	}
	words := store.Tokens(m.Text)
	slices.Sort(words)
	words = slices.Compact(words)
	return chat.NickKey(m.Nick) + "\n" + strings.Join(words, " ")
}

// maxPrefixWords bounds how many of a room's words one prefix stands for;
// a prefix that matches more makes the answer partial.
const maxPrefixWords = 200

// searchScript finds one room's candidates: ids whose sets hold every
// condition, newest first.
//
//	ARGV[1] the room's search key prefix, ARGV[2] the score bound
//	("+inf" or "(N"), ARGV[3] how many, ARGV[4] maxPrefixWords,
//	ARGV[5] a scratch key, ARGV[6...] conditions: "w:WORD", "@NICKKEY" or
//	"p:PREFIX"
//
// Returns {partial 0/1, {id, score, id, score, ...}}.
var searchScript = goredis.NewScript(`
local P = ARGV[1]
local max = tonumber(ARGV[4])
local want = tonumber(ARGV[3])
local sets, temps, partial = {}, {}, 0
local function expand(pre)
  local words = redis.call('ZRANGEBYLEX', P .. 'dict', '[' .. pre, '[' .. pre .. '\255', 'LIMIT', 0, max + 1)
  if #words > max then partial = 1; words[max + 1] = nil end
  return words
end
-- A lone prefix: the newest of each word's set, merged, instead of a
-- union of whole sets.
if #ARGV == 6 and string.sub(ARGV[6], 1, 2) == 'p:' then
  local all = {}
  for _, w in ipairs(expand(string.sub(ARGV[6], 3))) do
    local r = redis.call('ZREVRANGEBYSCORE', P .. 'w:' .. w, ARGV[2], '-inf', 'WITHSCORES', 'LIMIT', 0, want)
    for j = 1, #r, 2 do all[#all + 1] = {r[j], tonumber(r[j + 1])} end
  end
  table.sort(all, function(a, b) return a[2] > b[2] end)
  local res, seen = {}, {}
  for _, e in ipairs(all) do
    if #res >= 2 * want then break end
    if not seen[e[1]] then
      seen[e[1]] = true
      res[#res + 1] = e[1]
      res[#res + 1] = string.format('%d', e[2])
    end
  end
  return {partial, res}
end
for i = 6, #ARGV do
  local c = ARGV[i]
  if string.sub(c, 1, 2) == 'p:' then
    local words = expand(string.sub(c, 3))
    if #words == 0 then return {partial, {}} end
    local keys = {}
    for j, w in ipairs(words) do keys[j] = P .. 'w:' .. w end
    local t = ARGV[5] .. ':' .. i
    redis.call('ZUNIONSTORE', t, #keys, unpack(keys))
    temps[#temps + 1] = t
    sets[#sets + 1] = t
  else
    sets[#sets + 1] = P .. c
  end
end
local res
if #sets == 1 then
  res = redis.call('ZREVRANGEBYSCORE', sets[1], ARGV[2], '-inf', 'WITHSCORES', 'LIMIT', 0, want)
else
  -- unpack expands only as the last argument: the rest goes first.
  local args = {ARGV[5], #sets}
  for _, k in ipairs(sets) do args[#args + 1] = k end
  args[#args + 1] = 'AGGREGATE'
  args[#args + 1] = 'MAX'
  redis.call('ZINTERSTORE', unpack(args))
  temps[#temps + 1] = ARGV[5]
  res = redis.call('ZREVRANGEBYSCORE', ARGV[5], ARGV[2], '-inf', 'WITHSCORES', 'LIMIT', 0, want)
end
if #temps > 0 then redis.call('DEL', unpack(temps)) end
return {partial, res}
`)

// searchTemps numbers the scratch keys of this process's searches; the
// script deletes them before it returns, so a name only needs to be unique
// among scripts running at once, and Redis runs one at a time.
var searchTemps atomic.Uint64

// candidate is an id a room's index found, not yet checked against its
// text.
type candidate struct {
	room  string
	id    string
	order uint64
}

// maxSearchRounds bounds how many times Search asks the rooms for more
// candidates when checking the text rejected some (a phrase whose words
// are all there but apart).
const maxSearchRounds = 20

// Search asks each room's index for its newest candidates below the
// cursor, merges them by order, reads their messages and keeps those whose
// text matches every term (phrases and prefixes checked exactly), asking
// for more until the page is full or the candidates end.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) (store.SearchResult, error) {
	done, err := s.begin()
	if err != nil {
		return store.SearchResult{}, err
	}
	defer done()
	if err := q.Check(); err != nil {
		return store.SearchResult{}, fmt.Errorf("search: %w", err)
	}
	bound := "+inf"
	if q.Before != "" {
		n, err := strconv.ParseUint(q.Before, 10, 64)
		if err != nil || n < 1 {
			return store.SearchResult{}, fmt.Errorf("search before %q: %w", q.Before, chat.ErrBadID)
		}
		bound = "(" + q.Before
	}
	var conds []string
	for _, t := range q.Terms {
		for i, w := range t.Tokens {
			if t.Prefix && i == len(t.Tokens)-1 {
				conds = append(conds, "p:"+w)
			} else {
				conds = append(conds, "w:"+w)
			}
		}
	}
	if q.From != "" {
		conds = append(conds, "@"+chat.NickKey(q.From))
	}
	slices.Sort(conds)
	conds = slices.Compact(conds)
	rooms := slices.Clone(q.Rooms)
	slices.Sort(rooms)
	rooms = slices.Compact(rooms)

	var res store.SearchResult
	want := q.Limit + 1
	for range maxSearchRounds {
		var last uint64 // the order of the last candidate checked
		cands, full, partial, err := s.searchCandidates(ctx, rooms, conds, bound, want)
		if err != nil {
			return store.SearchResult{}, err
		}
		res.Partial = res.Partial || partial
		// Read the candidates in slices of the page's size: the merge may
		// keep thousands (every room's newest), and most pages fill from
		// the first slice.
		for len(cands) > 0 {
			chunk := cands[:min(len(cands), want)]
			cands = cands[len(chunk):]
			msgs, err := s.readCandidates(ctx, chunk)
			if err != nil {
				return store.SearchResult{}, err
			}
			for i, c := range chunk {
				m, ok := msgs[i]
				if !ok {
					continue // deleted by retention since the index answered
				}
				if _, all := store.Highlights(m.Text, q.Terms); !all {
					continue
				}
				if len(res.Hits) == q.Limit {
					res.More = true
					return res, nil
				}
				res.Hits = append(res.Hits, store.SearchHit{Message: m, Cursor: strconv.FormatUint(c.order, 10)})
			}
			last = chunk[len(chunk)-1].order
		}
		if !full || last == 0 {
			return res, nil
		}
		bound = "(" + strconv.FormatUint(last, 10)
	}
	// Still short after every round (candidates whose words are all there
	// but never as the phrase asks): answer what was found as partial,
	// with more after it when there is a hit to continue from.
	res.Partial = true
	res.More = len(res.Hits) > 0
	return res, nil
}

// searchCandidates runs searchScript for every room in one pipeline and
// merges the answers newest first, keeping only those every room has
// answered completely (a room that returned want candidates may hold more
// above the next room's). full says some room had more.
func (s *Store) searchCandidates(ctx context.Context, rooms, conds []string, bound string, want int) (cands []candidate, full, partial bool, err error) {
	cmds := make([]*goredis.Cmd, len(rooms))
	run := func(p goredis.Pipeliner) error {
		for i, room := range rooms {
			args := []any{s.keys.search(room), bound, want, maxPrefixWords, s.keys.searchTemp(searchTemps.Add(1))}
			for _, c := range conds {
				args = append(args, c)
			}
			cmds[i] = searchScript.EvalSha(ctx, p, nil, args...)
		}
		return nil
	}
	_, err = s.rdb.Pipelined(ctx, run)
	if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
		// A pipeline cannot fall back to EVAL command by command: load the
		// script (new Redis, or one restarted) and run the pipeline again.
		if err = searchScript.Load(ctx, s.rdb).Err(); err == nil {
			_, err = s.rdb.Pipelined(ctx, run)
		}
	}
	if err != nil {
		return nil, false, false, s.wrap("search", err)
	}
	var floor uint64 // the lowest order every room answered down to
	for i, cmd := range cmds {
		reply, _ := cmd.Val().([]any)
		if len(reply) != 2 {
			return nil, false, false, fmt.Errorf("search: unexpected reply %v", cmd.Val())
		}
		if p, _ := reply[0].(int64); p == 1 {
			partial = true
		}
		pairs, _ := reply[1].([]any)
		for j := 0; j+1 < len(pairs); j += 2 {
			id, _ := pairs[j].(string)
			sc, _ := pairs[j+1].(string)
			order, err := strconv.ParseUint(sc, 10, 64)
			if err != nil {
				return nil, false, false, fmt.Errorf("search: score %q: %w", sc, err)
			}
			cands = append(cands, candidate{room: rooms[i], id: id, order: order})
			if len(pairs)/2 >= want && j+2 >= len(pairs) {
				full = true
				floor = max(floor, order)
			}
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		switch {
		case a.order > b.order:
			return -1
		case a.order < b.order:
			return 1
		}
		return 0
	})
	if full {
		n := 0
		for n < len(cands) && cands[n].order >= floor {
			n++
		}
		cands = cands[:n]
	}
	return cands, full, partial, nil
}

// readCandidates reads the candidates' messages in one pipeline; a message
// retention removed meanwhile is absent from the map.
func (s *Store) readCandidates(ctx context.Context, cands []candidate) (map[int]chat.Message, error) {
	cmds := make([]*goredis.XMessageSliceCmd, len(cands))
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, c := range cands {
			cmds[i] = p.XRangeN(ctx, s.keys.stream(c.room), c.id, c.id, 1)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("search: read messages", err)
	}
	s.health.up()
	out := make(map[int]chat.Message, len(cands))
	for i, cmd := range cmds {
		msgs, err := decodeMessages(cmd.Val())
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if len(msgs) == 1 {
			out[i] = msgs[0]
		}
	}
	return out, nil
}
