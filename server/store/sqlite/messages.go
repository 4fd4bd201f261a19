package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/tail"
)

// Append stores m durably and returns it with its id ("1", "2", ... per
// room). It waits for the group commit that holds it; the listener has been
// called with the message before Append returns.
func (s *Store) Append(ctx context.Context, m store.NewMessage) (chat.Message, bool, error) {
	if err := m.Check(); err != nil {
		return chat.Message{}, false, fmt.Errorf("append message: %w", err)
	}
	if m.TS.IsZero() {
		m.TS = s.now()
	}
	m.TS = normTime(m.TS)
	r := getRequest()
	r.m = m
	r.nickKey = chat.NickKey(m.Nick)
	if !s.opts.NoSearchIndex {
		// Cut the text into words here, in the caller's goroutine: the
		// writer, which every append waits for, only inserts them.
		r.words = indexWords(m.Text)
	}
	err := s.submit(ctx, r)
	if err == nil {
		err = r.err
	}
	msg, created := r.msg, r.created
	putRequest(r)
	if err != nil {
		return chat.Message{}, false, err
	}
	return msg, created, nil
}

// Page returns a page of the room's history, oldest first. A query outside
// store.PageQuery's contract wraps store.ErrInvalid; an id that is not one
// of this store's wraps chat.ErrBadID.
func (s *Store) Page(ctx context.Context, roomName string, q store.PageQuery) ([]chat.Message, bool, error) {
	if s.isDown.Load() {
		return nil, false, store.ErrClosed
	}
	rm := s.room(roomName)
	if rm == nil {
		return nil, false, store.ErrNotFound
	}
	if err := q.Check(); err != nil {
		return nil, false, fmt.Errorf("page messages: %w", err)
	}
	if q.Around != "" {
		return s.around(ctx, rm, q)
	}
	limit := q.Limit
	dir, id := tail.Newest, int64(0)
	switch {
	case q.After != "":
		dir = tail.After
	case q.Before != "":
		dir = tail.Before
	}
	if dir != tail.Newest {
		var err error
		if id, err = parseSeq(q.Before + q.After); err != nil {
			return nil, false, err
		}
	}
	if !s.noTail {
		if msgs, more, ok := rm.tail.Page(dir, seqID(id), limit); ok {
			s.stats.tailHits.Add(1)
			return msgs, more, nil
		}
	}
	s.stats.diskRead.Add(1)
	var (
		rows *sql.Rows
		err  error
		last = rm.last.Load()
	)
	switch dir {
	case tail.After:
		rows, err = s.rs.after.QueryContext(ctx, rm.id, id, last, limit+1)
	case tail.Before:
		rows, err = s.rs.before.QueryContext(ctx, rm.id, min(id, last+1), limit+1)
	default:
		rows, err = s.rs.before.QueryContext(ctx, rm.id, last+1, limit+1)
	}
	msgs, err := readMessages(rows, err, rm.name, make([]chat.Message, 0, limit+1))
	if err != nil {
		return nil, false, s.fail("read messages", err)
	}
	more := len(msgs) > limit
	msgs = msgs[:min(len(msgs), limit)]
	if dir != tail.After {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}

// Since returns up to max messages after the id after ("" and "0" mean from
// the start), oldest first, and whether more follow. max <= 0 means no limit.
// It returns store.ErrTrimmed when retention removed a message after that id,
// and also for an id this store has not issued yet: a client holding one
// saw another database (deleted, or restored from an older backup), and
// replaying from it would skip every message up to that number, so it must
// reload history instead.
func (s *Store) Since(ctx context.Context, roomName, after string, max int) ([]chat.Message, bool, error) {
	if s.isDown.Load() {
		return nil, false, store.ErrClosed
	}
	rm := s.room(roomName)
	if rm == nil {
		return nil, false, store.ErrNotFound
	}
	var seq int64
	if after != "" {
		var err error
		if seq, err = parseSeq(after); err != nil {
			return nil, false, err
		}
	}
	if !s.noTail {
		if msgs, more, trimmed, ok := rm.tail.Since(seqID(seq), max); ok {
			s.stats.tailHits.Add(1)
			if trimmed {
				return nil, false, store.ErrTrimmed
			}
			return msgs, more, nil
		}
	}
	s.stats.diskRead.Add(1)
	limit := int64(-1) // no limit in SQLite
	var dst []chat.Message
	if max > 0 {
		limit = int64(max) + 1
		dst = make([]chat.Message, 0, min(max+1, 1024))
	}
	rows, err := s.rs.after.QueryContext(ctx, rm.id, seq, rm.last.Load(), limit)
	msgs, err := readMessages(rows, err, rm.name, dst)
	if err != nil {
		return nil, false, s.fail("read messages", err)
	}
	// Checked after the read: the writer raises the mark before it commits
	// a trim, so a read that misses trimmed rows also sees the mark. Every
	// id a client holds was committed (and last raised) before it was
	// relayed, so seq > last is an id from elsewhere.
	if seq < rm.trimmed.Load() || seq > rm.last.Load() {
		return nil, false, store.ErrTrimmed
	}
	more := max > 0 && len(msgs) > max
	if more {
		msgs = msgs[:max]
	}
	return msgs, more, nil
}

// parseSeq reads one of this store's ids: a plain decimal sequence number.
// A stream id ("N-M", even "N-0") is another store's and is refused rather
// than read as a far-future sequence number.
func parseSeq(id string) (int64, error) {
	v, err := chat.ParseID(id)
	if err != nil || strings.Contains(id, "-") || v.Major > math.MaxInt64 {
		return 0, fmt.Errorf("message id %q: %w", id, chat.ErrBadID)
	}
	return int64(v.Major), nil
}

// readMessages scans rows of msgCols into dst and closes them. It takes the
// query's error so that calls chain.
func readMessages(rows *sql.Rows, err error, room string, dst []chat.Message) ([]chat.Message, error) {
	if err != nil {
		return dst, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq, ts  int64
			clientID sql.NullString
			m        chat.Message
		)
		if err := rows.Scan(&seq, &m.Nick, &m.Kind, &m.Text, &clientID, &ts, &m.Via); err != nil {
			return dst, err
		}
		m.ID = strconv.FormatInt(seq, 10)
		m.Room = room
		m.ClientID = clientID.String
		m.TS = fromNanos(ts)
		dst = append(dst, m)
	}
	return dst, rows.Err()
}

// around answers a PageQuery with Around from SQLite (the tail holds only
// the newest messages, where a jump to a search hit rarely lands).
func (s *Store) around(ctx context.Context, rm *room, q store.PageQuery) ([]chat.Message, bool, error) {
	id, err := parseSeq(q.Around)
	if err != nil {
		return nil, false, err
	}
	s.stats.diskRead.Add(1)
	last := rm.last.Load()
	id = min(id, last)
	rows, err := s.rs.before.QueryContext(ctx, rm.id, id+1, q.Limit+1)
	older, err := readMessages(rows, err, rm.name, nil)
	if err != nil {
		return nil, false, s.fail("read messages", err)
	}
	rows, err = s.rs.after.QueryContext(ctx, rm.id, id, last, q.Limit)
	newer, err := readMessages(rows, err, rm.name, nil)
	if err != nil {
		return nil, false, s.fail("read messages", err)
	}
	msgs, more := q.Centre(older, newer)
	return msgs, more, nil
}
