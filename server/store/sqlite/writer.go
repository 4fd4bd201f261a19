package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/tail"
)

// request is one write for the writer goroutine: an append when op is nil,
// otherwise op runs in a transaction of its own.
type request struct {
	m       store.NewMessage
	nickKey string
	words   string // the text's search words, made by the caller (indexWords)
	room    *room  // set by the writer
	seq     int64  // set by the writer for a created message
	op      func(ctx context.Context, tx *sql.Tx) (after func(), err error)

	msg     chat.Message
	created bool
	err     error
	done    chan struct{} // the writer sends once when the request is answered
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func getRequest() *request { return requestPool.Get().(*request) }

func putRequest(r *request) {
	done := r.done
	*r = request{done: done}
	requestPool.Put(r)
}

// submit hands r to the writer and waits for its answer. Once r is queued it
// waits even if ctx ends: the write may already be committed, and the caller
// must learn its outcome.
func (s *Store) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()
	<-r.done
	return nil
}

// write runs op in the writer goroutine, in a transaction of its own. after,
// when op returns one, runs once the transaction has committed.
func (s *Store) write(ctx context.Context, op func(ctx context.Context, tx *sql.Tx) (after func(), err error)) error {
	r := getRequest()
	r.op = op
	err := s.submit(ctx, r)
	if err == nil {
		err = r.err
	}
	putRequest(r)
	return err
}

// run is the writer goroutine: it takes every request waiting (up to
// MaxBatch) and serves them, appends in one transaction per group. It returns
// when Close has closed reqs and everything queued is served.
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		r, ok := <-s.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.serve(batch)
		clear(batch)
	}
}

// serve runs a batch in order: runs of appends as one group, other writes
// one by one between them.
func (s *Store) serve(batch []*request) {
	start := 0
	for i, r := range batch {
		if r.op == nil {
			continue
		}
		if start < i {
			s.appendGroup(batch[start:i])
		}
		s.runOp(r)
		start = i + 1
	}
	if start < len(batch) {
		s.appendGroup(batch[start:])
	}
}

func (s *Store) runOp(r *request) {
	ctx := context.Background()
	s.stats.requests.Add(1)
	defer func() { r.done <- struct{}{} }()
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		r.err = fmt.Errorf("begin transaction: %w", unavailable(err))
		s.writeFailed(r.err, "write failed")
		return
	}
	after, err := r.op(ctx, tx)
	if err != nil {
		tx.Rollback()
		r.err = unavailable(err)
		if errors.Is(r.err, store.ErrUnavailable) {
			s.writeFailed(r.err, "write failed")
		}
		return
	}
	if err := tx.Commit(); err != nil {
		r.err = fmt.Errorf("commit: %w", unavailable(err))
		s.writeFailed(r.err, "write failed")
		return
	}
	s.wrote()
	s.stats.commits.Add(1)
	if after != nil {
		after()
	}
}

// undo is what a failed group must restore in a room's memory.
type undo struct {
	r         *room
	next      int64
	sinceTrim int
	trimmed   int64
}

// resync reads a room's newest seq and trim mark back from the database
// after a failed group: a COMMIT that reported an error (a failed fsync, say)
// may still have reached the file, and the next seqs must not collide with
// it.
func (s *Store) resync(ctx context.Context, rm *room) {
	var last, trimmed int64
	err := s.conn.QueryRowContext(ctx, `SELECT COALESCE((SELECT MAX(seq) FROM messages WHERE room_id = ?1), 0),
		trimmed FROM rooms WHERE id = ?1`, rm.id).Scan(&last, &trimmed)
	if err != nil {
		s.log.Error("re-read room after a failed append group", "room", rm.name, "err", err)
		return
	}
	last = max(last, trimmed)
	rm.next = max(rm.next, last+1)
	if last > rm.last.Load() {
		rm.last.Store(last)
	}
	if trimmed > rm.trimmed.Load() {
		rm.trimmed.Store(trimmed)
	}
}

// group is one append group on its way through the writer: the requests,
// the rooms they touched (with what to restore should it fail) and what it
// did.
type group struct {
	reqs    []*request
	touched []undo
	created int   // messages created (not duplicates)
	trimmed int64 // rows deleted by retention
}

// touch remembers rm's writer state before the group changes it.
func (g *group) touch(rm *room) {
	for _, u := range g.touched {
		if u.r == rm {
			return
		}
	}
	g.touched = append(g.touched, undo{r: rm, next: rm.next, sinceTrim: rm.sinceTrim, trimmed: rm.trimmed.Load()})
}

// appendGroup stores a group of appends in one transaction, commits it (one
// fsync), relays the new messages to the listener in id order, then answers
// every caller. Each phase is a method below; the first error fails the
// whole group.
func (s *Store) appendGroup(reqs []*request) {
	ctx := context.Background()
	s.stats.requests.Add(uint64(len(reqs)))
	g := &group{reqs: reqs}
	err := s.insertGroup(ctx, g)
	if err == nil {
		err = s.trimGroup(ctx, g)
	}
	if err == nil {
		err = s.commitGroup(ctx, g)
	}
	if err != nil {
		s.failGroup(ctx, g, err)
		return
	}
	s.publishGroup(g)
	s.relayGroup(g)
	for _, r := range g.reqs {
		r.done <- struct{}{}
	}
}

// insertGroup begins the transaction and inserts every message, giving each
// its room's next seq; a repeated client_id is answered with the message
// stored first.
func (s *Store) insertGroup(ctx context.Context, g *group) error {
	if _, err := s.ws.begin.ExecContext(ctx); err != nil {
		return err
	}
	for _, r := range g.reqs {
		rm := s.rooms[r.m.Room] // the writer is the only goroutine changing the map
		if rm == nil {
			r.err = store.ErrNotFound
			continue
		}
		g.touch(rm)
		if err := s.insert(ctx, r, rm); err != nil {
			return err
		}
	}
	return nil
}

// insert inserts one message into rm and fills in r's answer.
func (s *Store) insert(ctx context.Context, r *request, rm *room) error {
	var clientID any
	if r.m.ClientID != "" {
		clientID = r.m.ClientID
	}
	res, err := s.ws.insert.ExecContext(ctx, rm.id, rm.next, r.m.Nick, r.nickKey, r.m.Kind, r.m.Text, clientID, toNanos(r.m.TS), r.m.Via)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		// The client_id was used before, maybe earlier in this group:
		// answer with that first message.
		rows, err := s.ws.byClient.QueryContext(ctx, rm.id, r.nickKey, r.m.ClientID)
		msgs, err := readMessages(rows, err, rm.name, nil)
		if err != nil {
			return err
		}
		if len(msgs) != 1 {
			return fmt.Errorf("message %d of room %s exists but not client_id %q", rm.next, rm.name, r.m.ClientID)
		}
		r.msg = msgs[0]
		return nil
	}
	if err := s.indexMessage(ctx, res, rm.id, r.nickKey, r.words); err != nil {
		return err
	}
	r.msg = chat.Message{
		ID:       strconv.FormatInt(rm.next, 10),
		Room:     rm.name,
		Nick:     r.m.Nick,
		Kind:     r.m.Kind,
		Text:     r.m.Text,
		ClientID: r.m.ClientID,
		TS:       r.m.TS,
		Via:      r.m.Via,
	}
	r.created = true
	r.room, r.seq = rm, rm.next
	rm.next++
	rm.sinceTrim++
	return nil
}

// trimGroup applies retention to the rooms the group touched, every
// trimEvery appends of a room, in the same transaction.
func (s *Store) trimGroup(ctx context.Context, g *group) error {
	if s.opts.HistoryMax <= 0 {
		return nil
	}
	for _, u := range g.touched {
		rm := u.r
		if rm.sinceTrim < s.trimEvery {
			continue
		}
		rm.sinceTrim = 0
		cut := rm.next - 1 - int64(s.opts.HistoryMax)
		if cut <= rm.trimmed.Load() {
			continue
		}
		if err := s.unindexTrimmed(ctx, rm.id, cut); err != nil {
			return err
		}
		res, err := s.ws.trim.ExecContext(ctx, rm.id, cut)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		g.trimmed += n
		if _, err := s.ws.setTrimmed.ExecContext(ctx, cut, rm.id); err != nil {
			return err
		}
		// Raised before the commit: a reader that already sees the rows
		// gone must also see the mark (Since checks it after reading).
		rm.trimmed.Store(cut)
	}
	return nil
}

// commitGroup commits the transaction: the one fsync of the group.
func (s *Store) commitGroup(ctx context.Context, g *group) error {
	start := time.Now()
	if _, err := s.ws.commit.ExecContext(ctx); err != nil {
		return err
	}
	took := time.Since(start)
	s.stats.commitNs.Add(int64(took))
	if took > slowCommit {
		s.log.Warn("slow commit", "took", took, "appends", len(g.reqs))
	}
	s.wrote()
	return nil
}

// publishGroup makes the committed messages visible to readers, in this
// order: last (the bound of every read and the judge of future ids in
// Since), then the tail. A client can then only ever hold ids at or below
// last.
func (s *Store) publishGroup(g *group) {
	for _, u := range g.touched {
		u.r.last.Store(u.r.next - 1)
	}
	for _, r := range g.reqs {
		if r.created {
			g.created++
			pushTail(r.room.tail, r.seq, r.msg)
		}
	}
	for _, u := range g.touched {
		u.r.tail.Trim(seqID(u.r.trimmed.Load()))
	}
	s.stats.commits.Add(1)
	s.stats.appends.Add(uint64(g.created))
	s.stats.trimmed.Add(uint64(g.trimmed))
}

// relayGroup hands the created messages to the listener in id order, before
// any caller is answered.
func (s *Store) relayGroup(g *group) {
	if g.created == 0 {
		return
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	fn := s.listen
	if fn == nil {
		return
	}
	for _, r := range g.reqs {
		if r.created {
			m := new(chat.Message)
			*m = r.msg
			fn(store.Event{Room: m.Room, Message: m})
		}
	}
}

// failGroup rolls the group back, restores the touched rooms' memory (and
// re-reads it, in case a failed COMMIT reached the file), logs the failure
// once (rate-limited) and answers every caller with it.
func (s *Store) failGroup(ctx context.Context, g *group, err error) {
	// A COMMIT that failed has usually ended the transaction already; the
	// ROLLBACK then fails too, and says nothing worth a line of its own.
	var extra []any
	if rbErr := s.rollback(ctx); rbErr != nil {
		extra = []any{"rollback_err", rbErr}
	}
	for _, u := range g.touched {
		u.r.next, u.r.sinceTrim = u.next, u.sinceTrim
		u.r.trimmed.Store(u.trimmed)
		s.resync(ctx, u.r)
	}
	err = unavailable(err)
	s.writeFailed(err, "append group failed", append(extra, "appends", len(g.reqs))...)
	for _, r := range g.reqs {
		if r.err == nil {
			r.err = fmt.Errorf("append message: %w", err)
		}
		r.created = false
		r.msg = chat.Message{}
		r.done <- struct{}{}
	}
}

// rollback ends a failed transaction. It returns nil when there was none
// left to roll back (SQLite ends a transaction itself when a COMMIT fails
// for lack of space or an I/O error).
func (s *Store) rollback(ctx context.Context) error {
	if _, err := s.ws.rollback.ExecContext(ctx); err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		return err
	}
	return nil
}

// pushTail adds a committed message to its room's tail. Seqs are committed
// in order without holes; should one appear all the same (a COMMIT that
// reported failure but reached the file, see resync), the tail starts
// afresh rather than answer across it.
func pushTail(t *tail.Tail, seq int64, m chat.Message) {
	if last, ok := t.Last(); !ok || last != seqID(seq-1) {
		t.Reset(seqID(seq - 1))
	}
	t.Push(seqID(seq), m)
}
