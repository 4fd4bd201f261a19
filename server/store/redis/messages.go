package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// emptyIDPrefix is how every message JSON the store writes begins; the
// append script puts the stream id between its quotes.
var emptyIDPrefix = []byte(`{"id":""`)

// Append stores the message in the room's stream and publishes it, in one
// script. The reply comes after Redis executed it; whether it is on disk by
// then is Redis's appendfsync setting (docs/deploy.md).
func (s *Store) Append(ctx context.Context, m store.NewMessage) (chat.Message, bool, error) {
	return s.appendMessage(ctx, m, nil)
}

// appendMessage is Append, taking a token from lim's bucket first when lim
// is not nil (AppendLimited).
func (s *Store) appendMessage(ctx context.Context, m store.NewMessage, lim *limitArgs) (chat.Message, bool, error) {
	done, err := s.begin()
	if err != nil {
		return chat.Message{}, false, err
	}
	defer done()
	if err := m.Check(); err != nil {
		return chat.Message{}, false, fmt.Errorf("append message: %w", err)
	}
	if m.TS.IsZero() {
		m.TS = time.Now()
	}
	msg := chat.Message{Room: m.Room, Nick: m.Nick, Kind: m.Kind, Text: m.Text, ClientID: m.ClientID, TS: m.TS.UTC(), Via: m.Via}
	body, err := json.Marshal(msg)
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("encode message: %w", err)
	}
	if !bytes.HasPrefix(body, emptyIDPrefix) {
		return chat.Message{}, false, fmt.Errorf("encode message: JSON does not start with the id field")
	}
	keys := []string{s.keys.room(m.Room), s.keys.stream(m.Room)}
	if m.ClientID != "" {
		keys = append(keys, s.keys.clientID(m.Room, m.Nick, m.ClientID))
	}
	args := []any{s.keys.channel(m.Room), s.opts.HistoryMax, s.opts.IdempotencyTTL.Milliseconds(), body,
		s.searchEntry(m), s.keys.search(m.Room), s.keys.searchOrder()}
	if lim != nil {
		keys = append(keys, lim.key)
		args = append(args, lim.step, lim.burst)
	}
	res, err := appendScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return chat.Message{}, false, s.wrap("append message", err)
	}
	s.health.up()
	switch status, _ := res[0].(int64); status {
	case 0:
		return chat.Message{}, false, fmt.Errorf("append message: room %q: %w", m.Room, store.ErrNotFound)
	case 1:
		msg.ID, _ = res[1].(string)
		return msg, true, nil
	case 2:
		raw, _ := res[1].(string)
		var first chat.Message
		if err := json.Unmarshal([]byte(raw), &first); err != nil {
			return chat.Message{}, false, fmt.Errorf("decode remembered message: %w", err)
		}
		return first, false, nil
	case 3:
		wait, _ := res[1].(int64)
		return chat.Message{}, false, &store.LimitedError{RetryAfter: time.Duration(wait) * time.Microsecond}
	}
	return chat.Message{}, false, fmt.Errorf("append message: unexpected reply %v", res)
}

// Page returns a page of a room's history, oldest first. A query outside
// store.PageQuery's contract wraps store.ErrInvalid.
//
// Like every read of the store it is a plain pipeline, not a MULTI: Redis
// at maxmemory refuses EXEC with OOM even when it holds only reads, and
// history must stay readable while appends are refused.
func (s *Store) Page(ctx context.Context, room string, q store.PageQuery) ([]chat.Message, bool, error) {
	done, err := s.begin()
	if err != nil {
		return nil, false, err
	}
	defer done()
	if err := q.Check(); err != nil {
		return nil, false, fmt.Errorf("page messages: %w", err)
	}
	limit := q.Limit
	for _, id := range []string{q.After, q.Before, q.Around} {
		if id != "" {
			if _, err := chat.ParseID(id); err != nil {
				return nil, false, fmt.Errorf("page messages: %q: %w", id, err)
			}
		}
	}
	stream := s.keys.stream(room)
	var exists *goredis.IntCmd
	var read, newer *goredis.XMessageSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		exists = p.Exists(ctx, s.keys.room(room))
		switch {
		case q.Around != "":
			read = p.XRevRangeN(ctx, stream, q.Around, "-", int64(limit+1))
			newer = p.XRangeN(ctx, stream, "("+q.Around, "+", int64(limit))
		case q.After != "":
			read = p.XRangeN(ctx, stream, "("+q.After, "+", int64(limit+1))
		case q.Before != "":
			read = p.XRevRangeN(ctx, stream, "("+q.Before, "-", int64(limit+1))
		default:
			read = p.XRevRangeN(ctx, stream, "+", "-", int64(limit+1))
		}
		return nil
	})
	if err != nil {
		return nil, false, s.wrap("page messages", err)
	}
	s.health.up()
	if exists.Val() == 0 {
		return nil, false, fmt.Errorf("page messages: room %q: %w", room, store.ErrNotFound)
	}
	msgs, err := decodeMessages(read.Val())
	if err != nil {
		return nil, false, fmt.Errorf("page messages: %w", err)
	}
	if newer != nil {
		after, err := decodeMessages(newer.Val())
		if err != nil {
			return nil, false, fmt.Errorf("page messages: %w", err)
		}
		msgs, more := q.Centre(msgs, after)
		return msgs, more, nil
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	if q.After == "" { // read newest first
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

// Since returns up to max messages after the given id ("" or "0": from the
// start; max 0: all). It answers ErrTrimmed when retention deleted an entry
// newer than after, so that the replay would have a gap (the test is exact
// because the store only ever deletes the oldest entries, with XDEL), and
// when after lies past the room's newest id: an id from another Redis (one
// replaced or restored from an older backup) or from a client's clock,
// which would otherwise hide every new message until Redis's clock passed
// it.
func (s *Store) Since(ctx context.Context, room, after string, max int) ([]chat.Message, bool, error) {
	done, err := s.begin()
	if err != nil {
		return nil, false, err
	}
	defer done()
	var afterID chat.ID
	if after != "" {
		if afterID, err = chat.ParseID(after); err != nil {
			return nil, false, fmt.Errorf("read messages since %q: %w", after, err)
		}
	}
	if msgs, more, ok := s.relay.sinceFromTail(ctx, room, afterID, max); ok {
		return msgs, more, nil
	}
	r, err := s.since(ctx, room, after, max)
	if err != nil {
		return nil, false, err
	}
	if r.trimmed || afterID.Compare(r.last) > 0 {
		return nil, false, fmt.Errorf("read messages since %q in %q: %w", after, room, store.ErrTrimmed)
	}
	return r.msgs, r.more, nil
}

// sinceRead is what since read.
type sinceRead struct {
	msgs    []chat.Message
	more    bool
	trimmed bool    // messages after the id were deleted by retention
	last    chat.ID // the room's newest id (zero when it has none) as of before the read
	lastID  string  // last as Redis wrote it, "" for none
}

// since reads the room's newest id, the messages after an id and the
// stream's max-deleted-entry-id (Redis 7), in one pipeline and in that
// order. No MULTI (Redis at maxmemory refuses it, and history must stay
// readable then), and none needed: retention raises max-deleted-entry-id in
// the same script that deletes, so an XINFO after the XRANGE sees every
// deletion the XRANGE missed (a trim in between is reported, never hidden),
// and last_id read first bounds every id a client could hold before the
// call. A script would be atomic too but costs several times more here:
// Lua turns every entry into a table and back.
func (s *Store) since(ctx context.Context, room, after string, max int) (sinceRead, error) {
	stream := s.keys.stream(room)
	start := "-"
	if after != "" {
		start = "(" + after
	}
	var head *goredis.SliceCmd
	var read *goredis.XMessageSliceCmd
	var info *goredis.XInfoStreamCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		head = p.HMGet(ctx, s.keys.room(room), "name", "last_id")
		if max > 0 {
			read = p.XRangeN(ctx, stream, start, "+", int64(max+1))
		} else {
			read = p.XRange(ctx, stream, start, "+")
		}
		info = p.XInfoStream(ctx, stream)
		return nil
	})
	// XINFO fails on a stream not created yet (a room without messages);
	// every other error is the store's.
	if err != nil && !(info != nil && info.Err() != nil && read.Err() == nil && head.Err() == nil) {
		return sinceRead{}, s.wrap("read messages since", err)
	}
	s.health.up()
	var r sinceRead
	name, _ := head.Val()[0].(string)
	if name == "" {
		return r, fmt.Errorf("read messages since: room %q: %w", room, store.ErrNotFound)
	}
	if r.lastID, _ = head.Val()[1].(string); r.lastID != "" {
		if r.last, err = chat.ParseID(r.lastID); err != nil {
			return r, fmt.Errorf("read messages since: room %q has last id %q: %w", room, r.lastID, err)
		}
	}
	if info.Err() == nil {
		afterID, _ := chat.ParseID(after) // "" parses as zero: before everything
		d, err := chat.ParseID(info.Val().MaxDeletedEntryID)
		r.trimmed = err == nil && d.Compare(afterID) > 0
	}
	if r.msgs, err = decodeMessages(read.Val()); err != nil {
		return r, fmt.Errorf("read messages since: %w", err)
	}
	r.more = max > 0 && len(r.msgs) > max
	if r.more {
		r.msgs = r.msgs[:max]
	}
	return r, nil
}

// decodeMessages turns stream entries into messages.
func decodeMessages(entries []goredis.XMessage) ([]chat.Message, error) {
	msgs := make([]chat.Message, 0, len(entries))
	for _, e := range entries {
		body, _ := e.Values["m"].(string)
		m, err := decodeEntry(e.ID, body)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// decodeEntry decodes a stream entry's message JSON and gives it its id.
func decodeEntry(id, body string) (chat.Message, error) {
	var m chat.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return chat.Message{}, fmt.Errorf("decode stream entry %s: %w", id, err)
	}
	m.ID = id
	return m, nil
}

func msString(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
