package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/sse"
	"github.com/ssechat/chat/server/fanout"
	"github.com/ssechat/chat/server/store"
)

// handleEvents is GET (and HEAD) /api/rooms/{room}/events: the room's
// Server-Sent Events stream.
//
// No gap, no duplicate: the stream subscribes to the room's topic first
// (live events queue up from then on), the store is watched, and only then
// is the history after the resume point read and sent; of the queued live
// events, messages not newer than the last one sent are skipped.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	if s.shuttingDown() {
		return errShuttingDown
	}
	if r.Method == http.MethodHead {
		return s.headEvents(w, r)
	}
	ss, err := s.prepareOnOwnStack(w, r)
	if err != nil {
		return err
	}
	return s.serveStream(w, r, ss)
}

// streamRequest is what a stream request asks for, checked: who, which
// room, and where it resumes.
type streamRequest struct {
	nick     string // "" for an anonymous reader of a public_read room
	session  string // the session's token hash; "" for an anonymous reader
	room     store.Room
	resumeID string  // as given; "" when the stream starts from now
	resumeAt chat.ID // resumeID parsed
}

// checkStreamRequest authenticates the request, then checks the resume
// point and the room: everything a stream checks before it takes a slot.
//
// A request with neither the Authorization header nor the cookie follows
// a public_read room anonymously (as history does); any other room then
// answers 401 unauthorized, as in v1.
func (s *Server) checkStreamRequest(w http.ResponseWriter, r *http.Request) (streamRequest, error) {
	c, sess := anonymous, session{}
	if r.Header.Get("Authorization") != "" || hasCookie(r) {
		var err error
		if sess, err = s.authenticate(w, r); err != nil {
			return streamRequest{}, err
		}
		c = signedIn(sess.Nick)
	}
	resumeID, resumeAt, err := resumePoint(r)
	if err != nil {
		return streamRequest{}, err
	}
	req := streamRequest{nick: sess.Nick, session: sess.TokenHash, resumeID: resumeID, resumeAt: resumeAt}
	// The one membership rule: a private or direct room the caller is not
	// in answers as a missing room, before the stream takes a slot.
	// A personal access token limited to rooms: roomAccess asks
	// tokenAllows of the session in the context.
	r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess))
	if req.room, err = s.streamAccess(r, c); err != nil {
		return streamRequest{}, err
	}
	return req, nil
}

func hasCookie(r *http.Request) bool {
	_, err := r.Cookie(CookieName)
	return err == nil
}

// streamAccess asks roomAccess about the stream's room; for an anonymous
// caller a room it cannot read is 401, as for history.
func (s *Server) streamAccess(r *http.Request, c caller) (store.Room, error) {
	room, _, err := s.roomAccess(r.Context(), c, r.PathValue("room"))
	if errors.Is(err, errRoomNotFound) && !c.signedIn {
		return store.Room{}, errUnauthorized
	}
	return room, err
}

// headEvents answers HEAD with the status and header fields a GET would
// get, and no body: it takes no stream slot and joins no presence.
func (s *Server) headEvents(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.checkStreamRequest(w, r); err != nil {
		return err
	}
	setStreamHeader(w.Header())
	w.WriteHeader(http.StatusOK)
	return nil
}

func setStreamHeader(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
}

// resumePoint reads where a stream resumes: the Last-Event-ID header, else
// the last_event_id query parameter. id is "" when neither is given.
func resumePoint(r *http.Request) (id string, parsed chat.ID, err error) {
	id = r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("last_event_id")
	}
	if id == "" {
		return "", chat.ID{}, nil
	}
	parsed, err = chat.ParseID(id)
	if err != nil {
		return "", chat.ID{}, errBadLastEventID.with("The resume point %q is not a message id.", truncate(id, 48))
	}
	return id, parsed, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// streamStart is what a stream has settled before its first byte.
type streamStart struct {
	stream *fanout.Stream
	sub    *fanout.Subscription
	head   []byte // retry, welcome and any reset, encoded
	events int    // events in head
	replay []chat.Message
	undo   []func() // run in reverse by close
}

func (ss *streamStart) close() {
	for i := len(ss.undo) - 1; i >= 0; i-- {
		ss.undo[i]()
	}
}

// prepareOnOwnStack runs prepareStream on a goroutine of its own. The
// setup's store calls (SQLite's transpiled C in particular) grow a
// goroutine's stack to tens of KiB, and Go gives a stack back only slowly.
// A stream's goroutine idles for hours, so the setup runs on a goroutine
// that ends at once, and the stream's stays small.
func (s *Server) prepareOnOwnStack(w http.ResponseWriter, r *http.Request) (ss *streamStart, err error) {
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
	return ss, err
}

// prepareStream does everything that can still be answered with a JSON
// error: it checks the request, takes a stream slot, subscribes to the room
// and watches it, reads the replay, joins presence and encodes the head. On
// error it has undone what it did.
func (s *Server) prepareStream(w http.ResponseWriter, r *http.Request) (_ *streamStart, err error) {
	req, err := s.checkStreamRequest(w, r)
	if err != nil {
		return nil, err
	}
	ss := &streamStart{}
	defer func() {
		if err != nil {
			ss.close()
		}
	}()
	if err := s.subscribe(r, req, ss); err != nil {
		return nil, err
	}
	// Asked again now that the stream is registered and the room watched:
	// a removal made between the first answer and the registration would
	// otherwise find no stream to end, and this one would follow a room
	// its account has lost. From here on, a removal either is seen by this
	// read or ends the registered stream.
	c := anonymous
	if req.nick != "" {
		c = signedIn(req.nick)
	}
	if req.room, err = s.streamAccess(r, c); err != nil {
		return nil, err
	}
	resetReason, err := s.readReplay(r, req, ss)
	if err != nil {
		return nil, err
	}
	online := []string{}
	if req.nick != "" { // an anonymous reader is nobody: no presence join, no presence events
		var leave func()
		online, leave, err = s.presence.join(r.Context(), req.room.Name, req.nick, ss.stream)
		if err != nil {
			return nil, err
		}
		ss.undo = append(ss.undo, leave)
	}
	ss.head, ss.events = s.streamHead(req, ss.replay, online, resetReason)
	return ss, nil
}

// subscribe takes a stream slot, subscribes a new stream to the room's
// topic and watches the room in the store: from here on every event of the
// room queues up on the stream.
func (s *Server) subscribe(r *http.Request, req streamRequest, ss *streamStart) error {
	release, err := s.limits.acquireStream(r, req.nick)
	if err != nil {
		return err
	}
	ss.undo = append(ss.undo, release)
	ss.stream = s.engine.NewStream()
	ss.sub = ss.stream.Subscribe(req.room.Name)
	ss.undo = append(ss.undo, ss.stream.Close)
	stopWatch, err := s.st.Watch(r.Context(), req.room.Name)
	if err != nil {
		return fmt.Errorf("watch room: %w", err)
	}
	ss.undo = append(ss.undo, stopWatch)
	ss.undo = append(ss.undo, s.open.add(&openStream{
		stream: ss.stream, room: req.room.Name, kind: req.room.Kind,
		nick: chat.NickKey(req.nick), session: req.session,
	}))
	if req.session != "" {
		s.startRevocationSweep()
	}
	return nil
}

// readReplay reads the history after the resume point, if any, and tells
// the stream which messages it need not send live. When the history cannot
// fill the gap it returns the reason of the reset to send instead.
//
// After a reset the client reloads history up to the room's newest message
// (the welcome's last_id), so the stream goes on from that message, not
// from the resume point: a resume point past the newest (a store restored
// from an older backup) must not hide the messages posted after it.
func (s *Server) readReplay(r *http.Request, req streamRequest, ss *streamStart) (resetReason string, err error) {
	if req.resumeID == "" {
		return "", nil
	}
	msgs, more, err := s.st.Since(r.Context(), req.room.Name, req.resumeID, s.cfg.ReplayMax)
	switch {
	case errors.Is(err, store.ErrTrimmed):
		resetReason = chat.ResetHistoryTrimmed
	case errors.Is(err, chat.ErrBadID):
		// Well formed, but not of this store's kind (a stream id given to
		// SQLite, or past its range): not one of ours.
		return "", errBadLastEventID.with("The resume point %q is not a message id of this server.", truncate(req.resumeID, 48))
	case err != nil:
		return "", fmt.Errorf("read since %s: %w", req.resumeID, err)
	case more:
		resetReason = chat.ResetTooFarBehind
	default:
		ss.replay = msgs
		ss.sub.Skip(lastSendable(msgs, req.resumeAt))
		return "", nil
	}
	if newest, err := chat.ParseID(req.room.LastID); err == nil {
		ss.sub.Skip(newest)
	}
	return resetReason, nil
}

// lastSendable returns the id of the last message of replay that can be
// sent (writeStart skips, and logs, one whose id does not parse), or from
// when there is none.
func lastSendable(replay []chat.Message, from chat.ID) chat.ID {
	for i := len(replay) - 1; i >= 0; i-- {
		if id, err := chat.ParseID(replay[i].ID); err == nil {
			return id
		}
	}
	return from
}

// streamHead encodes what a stream starts with: the retry field, the
// welcome and, when the history could not fill the gap, a reset.
func (s *Server) streamHead(req streamRequest, replay []chat.Message, online []string, resetReason string) (head []byte, events int) {
	welcomeLast := req.room.LastID
	if n := len(replay); n > 0 && chat.CompareIDs(replay[n-1].ID, welcomeLast) > 0 {
		welcomeLast = replay[n-1].ID
	}
	head = make([]byte, 0, 256)
	head = sse.AppendRetry(head, s.cfg.Retry.Milliseconds())
	head, _ = sse.AppendJSON(head, chat.EventWelcome, "", chat.Welcome{
		Room: req.room.Name, Nick: req.nick, Online: online, LastID: lastIDPtr(welcomeLast), Server: s.cfg.Version,
		Limits: &s.announced,
	})
	events = 1
	if resetReason != "" {
		s.stats.reset(resetReason)
		head, _ = sse.AppendJSON(head, chat.EventReset, "", chat.Reset{Room: req.room.Name, Reason: resetReason})
		events++
	}
	return head, events
}

// serveStream turns the answer into the stream: it writes the header, the
// head and the replay, then hands the stream to the engine's writer loop,
// on this goroutine (HTTP/2) or on its own (a detached HTTP/1.x
// connection).
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, ss *streamStart) error {
	// Until the stream is handed to its own goroutines (detached), this
	// handler owns what prepareStream set up.
	handedOff := false
	defer func() {
		if !handedOff {
			ss.close()
		}
	}()
	setStreamHeader(w.Header())
	wr, conn := s.detach(w)
	ss.undo = append(ss.undo, wr.Release)
	if conn != nil {
		ss.undo = append(ss.undo, func() { conn.Close() })
	}
	s.stats.streamOpened()
	ss.undo = append(ss.undo, s.stats.streamClosed)
	if err := s.writeStart(wr, ss); err != nil {
		s.stats.WriteFailed()
		return nil
	}
	if conn == nil {
		ss.stream.Run(wr, r.Context().Done(), s.closing)
		return nil
	}
	handedOff = s.runDetached(conn, wr, ss)
	return nil
}

// writeStart writes the head and the replay as the first batch (begun by
// detach) and flushes it.
func (s *Server) writeStart(wr *fanout.Writer, ss *streamStart) error {
	if err := wr.Write(ss.head); err != nil {
		return err
	}
	sent := ss.events
	replay := ss.replay
	ss.head, ss.replay = nil, nil
	var scratch []byte
	for i := range replay {
		m := &replay[i]
		var err error
		if scratch, _, err = appendMessageFrame(scratch[:0], m); err != nil {
			s.log.Error("store returned a message that cannot be sent", "room", m.Room, "id", m.ID, "err", err)
			continue
		}
		if err := wr.Write(scratch); err != nil {
			return err
		}
		sent++
	}
	s.stats.replayed(len(replay))
	if err := wr.Flush(); err != nil {
		return err
	}
	s.stats.Sent(sent)
	return nil
}

// runDetached carries a detached stream on after its handler returns (and
// with it net/http lets go of the request, its buffers and its background
// reader): one goroutine runs the engine's writer loop, one notices the
// client leave. It reports whether it took ss over; not during shutdown.
func (s *Server) runDetached(conn net.Conn, wr *fanout.Writer, ss *streamStart) bool {
	s.mu.Lock()
	if s.shuttingDown() {
		s.mu.Unlock()
		return false
	}
	s.detached[conn] = struct{}{}
	s.streams.Add(2)
	s.mu.Unlock()
	ss.undo = append(ss.undo, func() {
		s.mu.Lock()
		delete(s.detached, conn)
		s.mu.Unlock()
	})
	gone := make(chan struct{})
	go func() {
		defer s.streams.Done()
		defer close(gone)
		watchPeer(conn)
	}()
	go func() {
		defer s.streams.Done()
		defer ss.close()
		ss.stream.Run(wr, gone, s.closing)
	}()
	return true
}
