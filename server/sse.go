package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// refreshEvery is how many bytes a stream may write under one write deadline
// before it sets the next, so a long replay to a slow but live client is
// not cut while a stalled one still is.
const refreshEvery = 64 << 10

var pingFrame = []byte(": ping\n\n")

// resumePoint reads where a stream resumes: the Last-Event-ID header, else
// the last_event_id query parameter. ok is false when neither is given.
func resumePoint(r *http.Request) (id string, parsed chat.ID, ok bool, err error) {
	id = r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("last_event_id")
	}
	if id == "" {
		return "", chat.ID{}, false, nil
	}
	parsed, err = chat.ParseID(id)
	if err != nil {
		return "", chat.ID{}, false, errBadLastEventID.with("The resume point %q is not a message id.", truncate(id, 48))
	}
	return id, parsed, true, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// streamStart is what a stream has settled before its first byte.
type streamStart struct {
	sub      *subscriber
	head     []byte // retry, welcome and any reset, encoded
	events   int    // events in head
	replay   []chat.Message
	resume   bool
	lastSent chat.ID
	undo     []func() // run in reverse by close
}

func (ss *streamStart) close() {
	for i := len(ss.undo) - 1; i >= 0; i-- {
		ss.undo[i]()
	}
}

// handleEvents is GET /api/rooms/{room}/events: the room's Server-Sent
// Events stream.
//
// No gap, no duplicate: the subscriber is registered in the hub first (live
// events queue up from then on), the store is watched, and only then is the
// history after the resume point read and sent; of the queued live events,
// messages not newer than the last one sent are skipped.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	if s.shuttingDown() {
		return errShuttingDown
	}
	// The setup's store calls (SQLite's transpiled C in particular) grow a
	// goroutine's stack to tens of KiB, and Go gives a stack back only
	// slowly. A stream's goroutine idles for hours, so the setup runs on a
	// goroutine of its own that ends at once, and the stream's stays small.
	var ss *streamStart
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("prepare stream: panic: %v", p)
			}
		}()
		ss, err = s.prepareStream(w, r)
	}()
	<-done
	if err != nil {
		return err
	}
	// Until the stream is handed to its own goroutines (detached), this
	// handler owns what prepareStream set up.
	handedOff := false
	defer func() {
		if !handedOff {
			ss.close()
		}
	}()

	// From here on the answer is a stream; errors end it instead.
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	st, conn := s.detach(w)
	if conn == nil {
		w.WriteHeader(http.StatusOK)
	} else {
		ss.undo = append(ss.undo, func() { conn.Close() })
	}
	s.stats.streamOpened()
	ss.undo = append(ss.undo, s.stats.streamClosed)
	sub := ss.sub

	st.begin()
	if err := st.write(ss.head); err != nil {
		s.stats.writeFailure()
		return nil
	}
	sent := ss.events
	replay, lastSent, resume := ss.replay, ss.lastSent, ss.resume
	ss.head, ss.replay = nil, nil
	haveLast := resume
	var scratch []byte
	for i := range replay {
		m := &replay[i]
		var id chat.ID
		var err error
		if scratch, id, err = appendMessageFrame(scratch[:0], m); err != nil {
			s.log.Error("store returned a message that cannot be sent", "room", sub.room, "id", m.ID, "err", err)
			continue
		}
		if err := st.write(scratch); err != nil {
			s.stats.writeFailure()
			return nil
		}
		lastSent, haveLast = id, true
		sent++
	}
	s.stats.replayed(len(replay))
	replay, scratch = nil, nil
	if err := st.flush(); err != nil {
		s.stats.writeFailure()
		return nil
	}
	s.stats.sent(sent)

	if conn == nil {
		s.pump(st, sub, r.Context().Done(), lastSent, haveLast)
		return nil
	}
	// Detached: this handler returns, and with it net/http lets go of the
	// request, its buffers and its background reader; two small goroutines
	// carry the stream on: pump writes, watchPeer notices the client leave.
	s.mu.Lock()
	if s.shuttingDown() {
		s.mu.Unlock()
		return nil
	}
	s.detached[conn] = struct{}{}
	s.streams.Add(2)
	s.mu.Unlock()
	ss.undo = append(ss.undo, func() {
		s.mu.Lock()
		delete(s.detached, conn)
		s.mu.Unlock()
	})
	handedOff = true
	gone := make(chan struct{})
	go func() {
		defer s.streams.Done()
		defer close(gone)
		watchPeer(conn)
	}()
	go func() {
		defer s.streams.Done()
		defer ss.close()
		s.pump(st, sub, gone, lastSent, haveLast)
	}()
	return nil
}

// pump writes the subscriber's queued events, one write per batch, until
// the client is gone (done), the subscriber is evicted, a write fails, or
// the server shuts down. Messages not newer than lastSent (already sent
// from the store) are skipped. A reset the store relays mid-stream is
// written like any event and the stream goes on: lastSent stays on the
// last message sent, so the messages after the gap, all newer, follow it
// and nothing sent before comes again. A ping comment goes out after
// Heartbeat of silence.
func (s *Server) pump(st *stream, sub *subscriber, done <-chan struct{}, lastSent chat.ID, haveLast bool) {
	ping := time.NewTimer(s.cfg.Heartbeat)
	defer ping.Stop()
	var frames []*frame
	for {
		select {
		case <-sub.wake:
		case <-ping.C:
			st.begin()
			err := st.write(pingFrame)
			if err == nil {
				err = st.flush()
			}
			if err != nil {
				s.stats.writeFailure()
				return
			}
			ping.Reset(s.cfg.Heartbeat)
			continue
		case <-done:
			return
		case <-s.closing:
			// End the response cleanly, but do not let a stalled client hold
			// the shutdown up.
			st.deadline(time.Now().Add(time.Second))
			return
		}
		if s.shuttingDown() { // closing and wake were both ready
			st.deadline(time.Now().Add(time.Second))
			return
		}
		var evicted bool
		frames, evicted = sub.take(frames)
		if evicted {
			// A message or reset would have overflowed the queue: cut the
			// stream at once (its client is not reading); the client resumes
			// from the last id it got, and a gap since then is a reset from
			// the store's ErrTrimmed.
			st.deadline(time.Now())
			return
		}
		st.begin()
		n := 0
		var err error
		for _, f := range frames {
			if f.message {
				if haveLast && f.id.Compare(lastSent) <= 0 {
					continue // already sent from the store
				}
				lastSent, haveLast = f.id, true
			}
			if err = st.write(f.data); err != nil {
				break
			}
			n++
		}
		clear(frames)
		if err == nil {
			err = st.flush()
		}
		if err != nil {
			s.stats.writeFailure()
			return
		}
		s.stats.sent(n)
		ping.Reset(s.cfg.Heartbeat)
	}
}

// prepareStream authenticates the request, checks the room and the resume
// point, registers the subscriber, watches the room, reads the replay and
// records presence: everything that can still be answered with a JSON
// error. On error it has undone what it did.
func (s *Server) prepareStream(w http.ResponseWriter, r *http.Request) (_ *streamStart, err error) {
	ss := &streamStart{}
	defer func() {
		if err != nil {
			ss.close()
		}
	}()
	sess, err := s.authenticate(w, r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	resumeID, lastSent, resume, err := resumePoint(r)
	if err != nil {
		return nil, err
	}
	ss.lastSent, ss.resume = lastSent, resume
	room, err := s.roomOf(ctx, r)
	if err != nil {
		return nil, err
	}
	release, err := s.limits.acquireStream(r, sess.Nick)
	if err != nil {
		return nil, err
	}
	ss.undo = append(ss.undo, release)

	ss.sub = s.hub.subscribe(room.Name, s.cfg.QueueMax)
	ss.undo = append(ss.undo, func() { s.hub.unsubscribe(ss.sub) })
	stopWatch, err := s.st.Watch(ctx, room.Name)
	if err != nil {
		return nil, fmt.Errorf("watch room: %w", err)
	}
	ss.undo = append(ss.undo, stopWatch)

	resetReason := ""
	if resume {
		msgs, more, err := s.st.Since(ctx, room.Name, resumeID, s.cfg.ReplayMax)
		switch {
		case errors.Is(err, store.ErrTrimmed):
			resetReason = chat.ResetHistoryTrimmed
		case errors.Is(err, chat.ErrBadID):
			// Well formed, but not of this store's kind (a stream id given
			// to SQLite, or past its range): not one of ours.
			return nil, errBadLastEventID.with("The resume point %q is not a message id of this server.", truncate(resumeID, 48))
		case err != nil:
			return nil, fmt.Errorf("read since %s: %w", resumeID, err)
		case more:
			resetReason = chat.ResetTooFarBehind
		default:
			ss.replay = msgs
		}
	}
	welcomeLast := room.LastID
	if n := len(ss.replay); n > 0 && chat.CompareIDs(ss.replay[n-1].ID, welcomeLast) > 0 {
		welcomeLast = ss.replay[n-1].ID
	}

	online, leave, err := s.join(ctx, room.Name, sess.Nick)
	if err != nil {
		return nil, err
	}
	ss.undo = append(ss.undo, leave)

	head := make([]byte, 0, 256)
	head = append(head, "retry: "...)
	head = strconv.AppendInt(head, s.cfg.Retry.Milliseconds(), 10)
	head = append(head, '\n')
	head, _ = appendFrame(head, chat.EventWelcome, "", chat.Welcome{
		Room: room.Name, Nick: sess.Nick, Online: online, LastID: lastIDPtr(welcomeLast), Server: s.cfg.Version,
		Limits: &s.announced,
	})
	ss.events = 1
	if resetReason != "" {
		s.stats.reset(resetReason)
		head, _ = appendFrame(head, chat.EventReset, "", chat.Reset{Room: room.Name, Reason: resetReason})
		ss.events++
	}
	ss.head = head
	return ss, nil
}

// stream writes SSE bytes under a write deadline that begin sets per batch
// and write refreshes after every refreshEvery bytes. A detached stream
// (conn set) writes through a pooled buffer that it holds only from begin
// to flush, so an idle stream holds none; otherwise (HTTP/2, where the
// connection cannot be taken over) it writes into net/http's own buffer.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	conn    net.Conn
	buf     *[]byte
	timeout time.Duration
	since   int // bytes written under the current deadline
}

// begin starts a batch: a fresh write deadline.
func (st *stream) begin() {
	st.deadline(time.Now().Add(st.timeout))
	st.since = 0
}

func (st *stream) deadline(t time.Time) {
	if st.conn != nil {
		_ = st.conn.SetWriteDeadline(t)
		return
	}
	_ = st.rc.SetWriteDeadline(t)
}

func (st *stream) write(b []byte) error {
	if st.since > refreshEvery {
		st.begin()
	}
	st.since += len(b)
	if st.conn == nil {
		_, err := st.w.Write(b)
		return err
	}
	if st.buf == nil {
		st.buf = writeBufs.Get().(*[]byte)
	}
	if len(*st.buf) > 0 && len(*st.buf)+len(b) > writeBufSize {
		if err := st.send(); err != nil {
			return err
		}
	}
	if len(b) >= writeBufSize {
		_, err := st.conn.Write(b)
		return err
	}
	*st.buf = append(*st.buf, b...)
	return nil
}

// send writes out what is buffered.
func (st *stream) send() error {
	_, err := st.conn.Write(*st.buf)
	*st.buf = (*st.buf)[:0]
	return err
}

// flush sends what is buffered: once per batch. A detached stream gives its
// buffer back to the pool.
func (st *stream) flush() error {
	if st.conn == nil {
		return st.rc.Flush()
	}
	if st.buf == nil {
		return nil
	}
	err := st.send()
	writeBufs.Put(st.buf)
	st.buf = nil
	return err
}

// writeBufSize is the size of a detached stream's pooled write buffer; a
// bigger batch goes out in several writes.
const writeBufSize = 32 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBufSize); return &b }}

// detach takes the connection over from net/http where it can (HTTP/1.x)
// and returns a stream on it, with the response header already buffered:
// "200 OK", w's header fields, and Connection: close, the body running to
// the end of the connection (no chunked framing). A stream left in its
// handler keeps, for as long as it lives, net/http's read and write buffers
// (about 10 KB), its background reader goroutine and the handler's stack;
// a detached one costs two small goroutines and no buffer while idle: about
// a third of the memory per idle stream (docs/benchmarks.md). Where the
// connection cannot be taken over it returns a stream on w and a nil conn.
func (s *Server) detach(w http.ResponseWriter) (*stream, net.Conn) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		return &stream{w: w, rc: rc, timeout: s.cfg.WriteTimeout}, nil
	}
	// The request had no body and a stream's client sends nothing more, so
	// the reader net/http hands over holds nothing; its writer is not used.
	_ = conn.SetDeadline(time.Time{})
	st := &stream{conn: conn, timeout: s.cfg.WriteTimeout, buf: writeBufs.Get().(*[]byte)}
	hb := bytes.NewBuffer(append(*st.buf, "HTTP/1.1 200 OK\r\n"...))
	_ = w.Header().Write(hb)
	*st.buf = append(hb.Bytes(), "Connection: close\r\n\r\n"...)
	return st, conn
}

// watchPeer returns when the client closes its connection, or sends
// anything (which a stream's client never does; the stream then ends).
func watchPeer(conn net.Conn) {
	var b [1]byte
	_, _ = conn.Read(b[:])
}

// join records this stream's presence in the room and, when it is the nick's
// first stream here, tells the room. leave undoes it when the stream ends.
func (s *Server) join(ctx context.Context, room, nick string) (online []string, leave func(), err error) {
	conn := randomToken()[:16]
	online, err = s.st.Join(ctx, room, nick, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("join room: %w", err)
	}
	if online == nil {
		online = []string{}
	}
	if s.hub.joined(room, nick) {
		s.publishPresence(ctx, room, nick, chat.PresenceJoin, online)
	}
	leave = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		online, err := s.st.Leave(ctx, room, nick, conn)
		last := s.hub.left(room, nick)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				s.log.Warn("leave room", "room", room, "nick", nick, "err", err)
			}
			return
		}
		if last && !slices.Contains(online, nick) {
			if online == nil {
				online = []string{}
			}
			s.publishPresence(ctx, room, nick, chat.PresenceLeave, online)
		}
	}
	return online, leave, nil
}

func (s *Server) publishPresence(ctx context.Context, room, nick, state string, online []string) {
	err := s.st.Publish(ctx, store.Event{Room: room, Presence: &chat.Presence{Room: room, Nick: nick, State: state, Online: online}})
	if err != nil && !errors.Is(err, store.ErrClosed) {
		s.log.Warn("publish presence", "room", room, "nick", nick, "err", err)
	}
}
