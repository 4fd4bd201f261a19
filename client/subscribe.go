package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/r3labs/sse/v2"
	cenkalti "gopkg.in/cenkalti/backoff.v1"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/ctxtime"
)

// maxEventSize bounds one SSE event (all its lines): a 1 MiB data line plus
// room for the event and id lines. r3labs' default of 64 KiB would fail
// larger events with "token too long".
const maxEventSize = 1<<20 + 16<<10

// resumeFromStart is the Last-Event-ID sent after a first connection to an
// empty room (welcome's last_id null) was lost before any message came: it
// sorts before every id, so the server replays whatever was posted in the gap.
const resumeFromStart = "0"

// Subscribe follows room's events from the message after lastID ("" for live
// events only) and returns a channel of them, in order: state changes, then
// the welcome, messages, presence, typing and reset events as the server
// sends them.
//
// It reconnects by itself after network errors, server restarts, clean ends
// of stream and connections silent for longer than the read-idle timeout,
// waiting a capped exponential backoff with jitter (reset once a connection
// delivered events; it never gives up) and resuming with Last-Event-ID set to
// the last message it received, so no message is lost or delivered twice: a
// message whose id is not after the last delivered one is dropped. Events are
// read from the socket into a buffer (WithEventBuffer) whatever the caller's
// pace; when a message or a presence event (a change to the welcome's online
// list) would overflow it, the stream is dropped and resumed from the last
// buffered message once the caller has caught up. Typing and room events are
// dropped instead when the buffer is full.
//
// A 401 or 403 ends the subscription with StateUnauthorized, a 404 or another
// final refusal with StateClosed; the channel closes after that state. The
// channel also closes, promptly and with no goroutine left behind, when ctx
// ends; the caller should keep reading until it closes. After a Reset event
// the subscription goes on from the id it had: the caller reloads history
// and may subscribe again from the newest id it then holds.
func (c *Client) Subscribe(ctx context.Context, room, lastID string) <-chan Event {
	s := &subscription{
		c:         c,
		ctx:       ctx,
		room:      room,
		url:       c.base + roomPath(room, "/events"),
		limit:     c.eventBuffer,
		out:       make(chan Event),
		wake:      make(chan struct{}, 1),
		space:     make(chan struct{}, 1),
		delivered: lastID,
		resume:    lastID,
	}
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		s.run()
	}()
	go s.forward(runDone)
	return s.out
}

// subscription is one Subscribe call. Two goroutines serve it: run owns the
// connection (and the r3labs client, whose reader goroutine it outlives) and
// never waits for the caller; forward hands the queued events to the caller.
type subscription struct {
	c     *Client
	ctx   context.Context
	room  string
	url   string
	limit int
	out   chan Event

	mu       sync.Mutex
	queue    []Event
	finished bool          // run stopped after a final state
	wake     chan struct{} // the queue got an event, or finished was set
	space    chan struct{} // forward took an event off the queue

	// Owned by run's goroutine (the r3labs handler and validator run on it).
	delivered string // id of the last message queued for the caller
	resume    string // Last-Event-ID of the next attempt
}

// pushMode says what push does when the buffer is full.
type pushMode int

const (
	pushAlways   pushMode = iota // state changes and welcome: few, bounded by attempts
	pushOrRefuse                 // messages, resets and presence: refused, the caller drops the stream
	pushOrDrop                   // typing and room events: dropped, they cannot be replayed anyway
)

func (s *subscription) push(ev Event, mode pushMode) bool {
	ev.Room = s.room
	s.mu.Lock()
	if mode != pushAlways && len(s.queue) >= s.limit {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

func (s *subscription) state(state State, next time.Time, err error) {
	s.push(Event{State: &StateChange{State: state, NextTry: next, Err: err}}, pushAlways)
}

// finish reports a final state; forward closes the channel once the caller
// has read everything before it.
func (s *subscription) finish(state State, err error) {
	s.state(state, time.Time{}, err)
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// forward moves events from the queue to the caller. It closes the channel
// when ctx ends or after a final state, and only after run has returned, so
// that a closed channel means no goroutine of this subscription is left.
func (s *subscription) forward(runDone <-chan struct{}) {
	defer close(s.out)
	defer func() { <-runDone }()
	for {
		if s.ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		if len(s.queue) == 0 {
			finished := s.finished
			s.mu.Unlock()
			if finished {
				return
			}
			select {
			case <-s.wake:
			case <-s.ctx.Done():
			}
			continue
		}
		ev := s.queue[0]
		s.queue[0] = Event{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.space <- struct{}{}:
		default:
		}
		select {
		case s.out <- ev:
		case <-s.ctx.Done():
			return
		}
	}
}

// waitRoom holds a (re)connection until the buffer is at most half full, so
// a slow caller makes the subscription pause rather than reconnect in a loop.
func (s *subscription) waitRoom() bool {
	for {
		s.mu.Lock()
		n := len(s.queue)
		s.mu.Unlock()
		if n <= s.limit/2 {
			return s.ctx.Err() == nil
		}
		select {
		case <-s.space:
		case <-s.ctx.Done():
			return false
		}
	}
}

// run connects, and reconnects, until ctx ends or the server refuses for
// good.
func (s *subscription) run() {
	attempt := 0
	for {
		if !s.waitRoom() {
			return
		}
		s.state(StateConnecting, time.Time{}, nil)
		r := s.connect()
		if s.ctx.Err() != nil {
			return
		}
		if r.messages > 0 || (r.welcomed && !r.reset) {
			attempt = 0
		}
		var apiErr *APIError
		if errors.As(r.err, &apiErr) {
			switch {
			case apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden:
				s.c.log.Info("subscribe: refused", "room", s.room, "err", r.err)
				s.finish(StateUnauthorized, r.err)
				return
			case apiErr.Status >= 400 && apiErr.Status < 500 && !apiErr.temporary():
				s.c.log.Info("subscribe: refused", "room", s.room, "err", r.err)
				s.finish(StateClosed, r.err)
				return
			}
		}
		wait := s.c.backoff.delay(attempt)
		attempt++
		if apiErr != nil && apiErr.RetryAfter > wait {
			wait = apiErr.RetryAfter
		}
		if errors.Is(r.err, ErrBufferFull) {
			wait = 0 // waitRoom holds the next attempt until the caller catches up
		}
		s.c.log.Debug("subscribe: reconnecting", "room", s.room, "wait", wait, "resume", s.resume, "err", r.err)
		s.state(StateReconnecting, time.Now().Add(wait), r.err)
		if !ctxtime.Sleep(s.ctx, wait) {
			return
		}
	}
}

// attempt is what one connection did.
type attempt struct {
	err      error // why it ended; never nil
	welcomed bool
	messages int
	reset    bool
	overflow bool
}

// connect runs one connection through r3labs' client, with its own retries
// turned off (StopBackOff): reconnecting is run's job, because r3labs' loop
// ignores the context while it waits, gives up after 15 minutes and treats a
// clean end of stream as the end of the subscription.
func (s *subscription) connect() attempt {
	var r attempt
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	// One timer guards the whole attempt: the wait for the answer's headers,
	// then every read (streamBody re-arms it on each byte that comes).
	idle := time.AfterFunc(s.c.idleTimeout, func() { cancel(ErrReadIdle) })
	defer idle.Stop()

	sc := sse.NewClient(s.url, sse.ClientMaxBufferSize(maxEventSize))
	sc.Connection = s.c.stream
	sc.ReconnectStrategy = &cenkalti.StopBackOff{}
	sc.Headers = map[string]string{"Accept": "text/event-stream"}
	if s.c.userAgent != "" {
		sc.Headers["User-Agent"] = s.c.userAgent
	}
	if t := s.c.Token(); t != "" {
		sc.Headers["Authorization"] = "Bearer " + t
	}
	if s.resume != "" {
		sc.LastEventID.Store([]byte(s.resume))
	}
	sc.ResponseValidator = func(_ *sse.Client, resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			// r3labs leaves a refused answer's body open.
			defer resp.Body.Close()
			return decodeError(resp)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			resp.Body.Close()
			return fmt.Errorf("subscribe: answer is %q, not an event stream", ct)
		}
		idle.Reset(s.c.idleTimeout)
		resp.Body = newStreamBody(resp.Body, func() { idle.Reset(s.c.idleTimeout) })
		s.state(StateConnected, time.Time{}, nil)
		return nil
	}
	err := sc.SubscribeRawWithContext(ctx, func(ev *sse.Event) { s.handle(ev, &r, cancel) })
	switch cause := context.Cause(ctx); {
	case cause != nil && s.ctx.Err() == nil:
		err = cause // ErrReadIdle or ErrBufferFull
	case err == nil:
		err = ErrStreamEnded
	}
	r.err = err
	return r
}

// handle takes one event from r3labs' reader. It must never block: it only
// decodes and queues.
func (s *subscription) handle(ev *sse.Event, r *attempt, cancel context.CancelCauseFunc) {
	// Heartbeat comments come through r3labs as events with no data (and the
	// previous event's id); so would any other empty event. None is ours.
	if r.overflow || len(ev.Data) == 0 {
		return
	}
	name := string(ev.Event)
	switch name {
	case "", chat.EventMessage:
		var m chat.Message
		if !s.decode(name, ev.Data, &m) {
			return
		}
		if m.ID == "" {
			m.ID = string(ev.ID)
		}
		if s.delivered != "" && chat.CompareIDs(m.ID, s.delivered) <= 0 {
			s.c.log.Debug("subscribe: dropped repeated message", "room", s.room, "id", m.ID, "last", s.delivered)
			return
		}
		if !s.push(Event{Message: &m}, pushOrRefuse) {
			r.overflow = true
			cancel(ErrBufferFull)
			return
		}
		s.delivered, s.resume = m.ID, m.ID
		r.messages++
	case chat.EventWelcome:
		var w chat.Welcome
		if !s.decode(name, ev.Data, &w) {
			return
		}
		if s.resume == "" {
			// The caller asked for live events only. Should this stream
			// break before a message comes, resume from where it started.
			s.resume = resumeFromStart
			if w.LastID != nil && *w.LastID != "" {
				s.resume = *w.LastID
			}
		}
		if w.Limits != nil {
			s.c.learnLimits(*w.Limits)
		}
		s.push(Event{Welcome: &w}, pushAlways)
		r.welcomed = true
	case chat.EventPresence:
		// Presence carries changes to the welcome's online list (see
		// chat.Presence): one lost would leave the caller's list wrong
		// for good, so a full buffer drops the stream as for a message,
		// and the welcome of the next one brings a fresh list.
		var p chat.Presence
		if s.decode(name, ev.Data, &p) && !s.push(Event{Presence: &p}, pushOrRefuse) {
			r.overflow = true
			cancel(ErrBufferFull)
			return
		}
	case chat.EventTyping:
		var t chat.Typing
		if s.decode(name, ev.Data, &t) && !s.push(Event{Typing: &t}, pushOrDrop) {
			s.c.log.Debug("subscribe: buffer full, dropped typing", "room", s.room)
		}
	case chat.EventRoom:
		// Ephemeral like typing: a dropped one only delays a topic until
		// the next room list.
		var ri chat.TopicChange
		if s.decode(name, ev.Data, &ri) && !s.push(Event{Topic: &ri}, pushOrDrop) {
			s.c.log.Debug("subscribe: buffer full, dropped room event", "room", s.room)
		}
	case chat.EventReset:
		var rs chat.Reset
		if !s.decode(name, ev.Data, &rs) {
			return
		}
		r.reset = true
		if !s.push(Event{Reset: &rs}, pushOrRefuse) {
			r.overflow = true
			cancel(ErrBufferFull)
		}
	case chat.EventRemoved:
		var rm chat.Removed
		if s.decode(name, ev.Data, &rm) {
			s.push(Event{Removed: &rm}, pushAlways)
		}
	default:
		s.c.log.Debug("subscribe: ignored unknown event", "room", s.room, "event", name)
	}
}

func (s *subscription) decode(name string, data []byte, v any) bool {
	if err := json.Unmarshal(data, v); err != nil {
		s.c.log.Warn("subscribe: undecodable event", "room", s.room, "event", name, "err", err)
		return false
	}
	return true
}

// utf8BOM may open an event stream; r3labs would take it as part of the
// first line and lose the first event.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// streamBody wraps an event stream's body: it reports every read that
// brought bytes (to re-arm the read-idle timer) and strips a leading BOM.
type streamBody struct {
	rc      io.ReadCloser
	br      *bufio.Reader
	onBytes func()
	started bool
}

func newStreamBody(rc io.ReadCloser, onBytes func()) *streamBody {
	return &streamBody{rc: rc, br: bufio.NewReaderSize(rc, 32<<10), onBytes: onBytes}
}

func (b *streamBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		if pre, _ := b.br.Peek(len(utf8BOM)); bytes.Equal(pre, utf8BOM) {
			_, _ = b.br.Discard(len(utf8BOM))
		}
	}
	n, err := b.br.Read(p)
	if n > 0 {
		b.onBytes()
	}
	return n, err
}

func (b *streamBody) Close() error { return b.rc.Close() }
