package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ssechat/chat/internal/sse"
)

// Event is one Server-Sent Event as a client sees it. A comment block (": ping")
// comes as an Event with only Comment set.
type Event struct {
	ID      string // the id field, "" when the event had none
	HasID   bool   // whether an id field was present
	Event   string // the event type; "" means "message" to EventSource
	Data    string // the data, lines joined by "\n"
	Retry   int    // the retry field in milliseconds, 0 when absent
	Comment string // the comment text of a comment-only block
}

// Decode unmarshals the event's data.
func (e Event) Decode(v any) error { return json.Unmarshal([]byte(e.Data), v) }

// StatusError is the answer to a stream request that did not start a stream.
type StatusError struct {
	Status int
	Header http.Header
	Body   []byte
}

func (e *StatusError) Error() string { return fmt.Sprintf("stream refused: %d %s", e.Status, e.Body) }

// ErrTimeout is returned by Next when no event came in time.
var ErrTimeout = errors.New("no event within the timeout")

// Stream reads one event stream. A goroutine parses the body and hands
// events over one at a time, so a test that stops calling Next stops
// reading the socket, as a stalled client would. Close stops it.
type Stream struct {
	Status int
	Header http.Header

	body   io.ReadCloser
	cancel context.CancelFunc
	events chan Event
	done   chan struct{}
	quit   chan struct{} // closed by Close
	err    error         // why the reader stopped; read after done is closed
	once   sync.Once
}

// Open starts a stream at url (a full URL) with an optional Bearer token and
// Last-Event-ID (both may be ""). An answer other than 200 is returned as a
// *StatusError. The stream ends when ctx does or Close is called.
func Open(ctx context.Context, client *http.Client, rawURL, token, lastID string) (*Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cancel()
		return nil, &StatusError{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	stream := &Stream{Status: resp.StatusCode, Header: resp.Header, body: resp.Body, cancel: cancel,
		events: make(chan Event), done: make(chan struct{}), quit: make(chan struct{})}
	go stream.read()
	return stream, nil
}

// Subscribe opens the event stream of room on this server.
func (s *Server) Subscribe(ctx context.Context, token, room, lastID string) (*Stream, error) {
	return Open(ctx, s.Client, s.URL+"/api/rooms/"+url.PathEscape(room)+"/events", token, lastID)
}

// MustSubscribe is Subscribe that fails the test on error and closes the
// stream at the test's end.
func (s *Server) MustSubscribe(t interface {
	Helper()
	Fatalf(string, ...any)
	Cleanup(func())
}, token, room, lastID string) *Stream {
	t.Helper()
	stream, err := s.Subscribe(context.Background(), token, room, lastID)
	if err != nil {
		t.Fatalf("subscribe to %s: %v", room, err)
	}
	t.Cleanup(stream.Close)
	return stream
}

// read parses the body by the HTML standard's rules (internal/sse, the
// parser the load generator uses too) and hands every block over: events,
// and comment blocks such as the heartbeat.
func (stream *Stream) read() {
	defer close(stream.done)
	r := sse.NewReader(stream.body, 64<<10)
	for {
		b, err := r.Next()
		if err != nil {
			stream.err = err
			return
		}
		ev := Event{Event: string(b.Type), HasID: b.HasID, ID: string(b.ID), Data: string(b.Data)}
		if b.HasRetry {
			ev.Retry = int(min(b.Retry, math.MaxInt32))
		}
		if b.HasComment {
			ev.Comment = strings.TrimPrefix(string(b.Comment), " ")
		}
		select {
		case stream.events <- ev:
		case <-stream.quit:
			stream.err = errClosed
			return
		}
	}
}

var errClosed = errors.New("stream closed")

// NextAny returns the next block of the stream, comments included, waiting
// at most timeout. At the end of the stream it returns io.EOF (the server
// ended it) or the read error.
func (stream *Stream) NextAny(timeout time.Duration) (Event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ev := <-stream.events:
		return ev, nil
	case <-stream.done:
		return Event{}, stream.err
	case <-t.C:
		return Event{}, ErrTimeout
	}
}

// Next returns the next event, skipping comments, waiting at most timeout.
func (stream *Stream) Next(timeout time.Duration) (Event, error) {
	deadline := time.Now().Add(timeout)
	for {
		ev, err := stream.NextAny(time.Until(deadline))
		if err != nil || ev.Comment == "" || ev.Event != "" || ev.HasID || ev.Data != "" {
			return ev, err
		}
	}
}

// Done is closed when the stream has ended (the server closed it, or Close).
func (stream *Stream) Done() <-chan struct{} { return stream.done }

// Close ends the stream and waits for its reader to stop.
func (stream *Stream) Close() {
	stream.once.Do(func() {
		close(stream.quit)
		stream.cancel()
		stream.body.Close()
		<-stream.done
	})
}
