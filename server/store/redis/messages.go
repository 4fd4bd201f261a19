package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

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
	done, err := s.begin()
	if err != nil {
		return chat.Message{}, false, err
	}
	defer done()
	if m.TS.IsZero() {
		m.TS = time.Now()
	}
	if m.Kind == "" {
		m.Kind = chat.KindText
	}
	msg := chat.Message{Room: m.Room, Nick: m.Nick, Kind: m.Kind, Text: m.Text, ClientID: m.ClientID, TS: m.TS.UTC()}
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
	res, err := appendScript.Run(ctx, s.rdb, keys,
		s.keys.channel(m.Room), s.opts.HistoryMax, s.opts.IdempotencyTTL.Milliseconds(), body).Slice()
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
	}
	return chat.Message{}, false, fmt.Errorf("append message: unexpected reply %v", res)
}

// Page returns a page of a room's history, oldest first.
func (s *Store) Page(ctx context.Context, room string, q store.PageQuery) ([]chat.Message, bool, error) {
	done, err := s.begin()
	if err != nil {
		return nil, false, err
	}
	defer done()
	limit := q.Limit
	if limit <= 0 {
		limit = chat.DefaultPageSize
	}
	if limit > chat.MaxPageSize {
		limit = chat.MaxPageSize
	}
	dir, id := "newest", ""
	switch {
	case q.After != "":
		dir, id = "after", q.After
	case q.Before != "":
		dir, id = "before", q.Before
	}
	if id != "" {
		if _, err := chat.ParseID(id); err != nil {
			return nil, false, fmt.Errorf("page messages: %q: %w", id, err)
		}
	}
	res, err := pageScript.Run(ctx, s.rdb, []string{s.keys.room(room), s.keys.stream(room)}, dir, id, limit+1).Slice()
	if err != nil {
		return nil, false, s.wrap("page messages", err)
	}
	s.health.up()
	if status, _ := res[0].(int64); status == 0 {
		return nil, false, fmt.Errorf("page messages: room %q: %w", room, store.ErrNotFound)
	}
	msgs, err := decodeEntries(res[1])
	if err != nil {
		return nil, false, fmt.Errorf("page messages: %w", err)
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	if dir != "after" { // read newest first
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i]
		}
	}
	return msgs, more, nil
}

// Since returns up to max messages after the given id ("" or "0": from the
// start; max 0: all). It answers ErrTrimmed when retention deleted an entry
// newer than after, so that the replay would have a gap; the test is exact
// because the store only ever deletes by trimming the oldest entries.
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
	count := 0
	if max > 0 {
		count = max + 1
	}
	res, err := sinceScript.Run(ctx, s.rdb, []string{s.keys.room(room), s.keys.stream(room)}, after, count).Slice()
	if err != nil {
		return nil, false, s.wrap("read messages since", err)
	}
	s.health.up()
	if status, _ := res[0].(int64); status == 0 {
		return nil, false, fmt.Errorf("read messages since: room %q: %w", room, store.ErrNotFound)
	}
	maxDel, _ := res[1].(string)
	if d, err := chat.ParseID(maxDel); err == nil && d.Compare(afterID) > 0 {
		return nil, false, fmt.Errorf("read messages since %q in %q: %w", after, room, store.ErrTrimmed)
	}
	msgs, err := decodeEntries(res[2])
	if err != nil {
		return nil, false, fmt.Errorf("read messages since: %w", err)
	}
	more := max > 0 && len(msgs) > max
	if more {
		msgs = msgs[:max]
	}
	return msgs, more, nil
}

// decodeEntries turns a script's XRANGE reply ([[id, [field, value ...]] ...])
// into messages.
func decodeEntries(v any) ([]chat.Message, error) {
	list, _ := v.([]any)
	msgs := make([]chat.Message, 0, len(list))
	for _, e := range list {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, errors.New("malformed stream entry")
		}
		id, _ := pair[0].(string)
		fields, _ := pair[1].([]any)
		var body string
		for i := 0; i+1 < len(fields); i += 2 {
			if f, _ := fields[i].(string); f == "m" {
				body, _ = fields[i+1].(string)
			}
		}
		m, err := decodeEntry(id, body)
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
