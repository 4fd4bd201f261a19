package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// These tests drive Subscribe's wrappers around r3labs' client against small
// SSE handlers on 127.0.0.1 that misbehave on purpose, byte for byte, in
// ways the real server cannot be made to. The same behaviour against the real
// server is tested in server_test.go.

// scripted is an SSE endpoint that runs the script for the n-th request (1,
// 2, ...) and records each request's Last-Event-ID.
type scripted struct {
	mu      sync.Mutex
	lastIDs []string
	srv     *httptest.Server
}

func newScripted(t *testing.T, script func(n int, w http.ResponseWriter, r *http.Request)) *scripted {
	t.Helper()
	s := &scripted{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/rooms/general/events" || r.Header.Get("Accept") != "text/event-stream" {
			http.Error(w, "wrong request "+r.URL.Path, http.StatusTeapot)
			return
		}
		s.mu.Lock()
		s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
		n := len(s.lastIDs)
		s.mu.Unlock()
		script(n, w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lastIDs)
}

func fastClient(t *testing.T, url string, opts ...Option) *Client {
	c := New(url, append([]Option{WithBackoff(5*time.Millisecond, 20*time.Millisecond)}, opts...)...)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// hold keeps a stream open until the client goes away.
func hold(r *http.Request) { <-r.Context().Done() }

func TestSubscribeSkipsHeartbeatsAndUnknownEventsStripsBOMAndTakesBigEvents(t *testing.T) {
	big := strings.Repeat("x", 1<<20-200)
	s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		startStream(w)
		// A BOM right before the first field would turn "event" into
		// "\uFEFFevent" and lose the welcome.
		write(w, "\xEF\xBB\xBF"+sseFrame("welcome", "", `{"room":"general","nick":"alice","online":["alice"],"last_id":null,"server":"test"}`))
		write(w, msgFrame("general", "1"))
		// A comment right after an event with an id: r3labs hands it on as
		// an event with that id and no data.
		write(w, ": ping\n\n")
		write(w, sseFrame("typing", "", `{"room":"general","nick":"bob"}`))
		write(w, ":\n\n: ping\n\n")
		write(w, msgFrame("general", "2"))
		write(w, sseFrame("message", "3", fmt.Sprintf(`{"id":"3","room":"general","nick":"bob","kind":"text","text":%q,"ts":"2026-01-01T00:00:00Z"}`, big)))
		write(w, sseFrame("shiny-new-event", "", `{}`))
		write(w, sseFrame("presence", "", `{"room":"general","nick":"carol","state":"join","online":["alice","carol"]}`))
		write(w, msgFrame("general", "4"))
		hold(r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	ch := fastClient(t, s.srv.URL).Subscribe(ctx, "general", "")
	got := recvUntil(t, ch, messages(4))
	cancel()
	waitClosed(t, ch)
	want := "connecting connected welcome m:1 typing:bob m:2 m:3 presence:carol:join m:4"
	if describe(got) != want {
		t.Fatalf("got  %s\nwant %s", describe(got), want)
	}
	if m := got[6].Message; m.Text != big || m.Room != "general" || got[6].Room != "general" {
		t.Fatalf("big message arrived with %d bytes of text", len(m.Text))
	}
	if got[2].Welcome.Nick != "alice" || got[2].Welcome.LastID != nil {
		t.Fatalf("welcome = %+v", *got[2].Welcome)
	}
}

// TestSubscribeResumesAfterCleanEOF: r3labs ends a subscription on a clean
// end of stream; ours reconnects with the last id, and drops what a resumed
// stream sends again.
func TestSubscribeResumesAfterCleanEOF(t *testing.T) {
	s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		startStream(w)
		write(w, welcomeFrame("general", "2"))
		switch n {
		case 1:
			write(w, msgFrame("general", "1")+msgFrame("general", "2"))
			return // clean EOF
		case 2:
			// A careless server repeats what the client had.
			write(w, msgFrame("general", "1")+msgFrame("general", "2")+msgFrame("general", "3"))
			return
		}
		write(w, msgFrame("general", "3")+msgFrame("general", "4"))
		hold(r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := fastClient(t, s.srv.URL).Subscribe(ctx, "general", "")
	got := recvUntil(t, ch, messages(4))
	want := "connecting connected welcome m:1 m:2 reconnecting connecting connected welcome m:3 reconnecting connecting connected welcome m:4"
	if describe(got) != want {
		t.Fatalf("got  %s\nwant %s", describe(got), want)
	}
	for _, ev := range got {
		if st := ev.State; st != nil && st.State == StateReconnecting {
			if !errors.Is(st.Err, ErrStreamEnded) || st.NextTry.IsZero() {
				t.Fatalf("reconnecting state %+v, want ErrStreamEnded with NextTry", *st)
			}
		}
	}
	if reqs := s.requests(); !slices.Equal(reqs, []string{"", "2", "3"}) {
		t.Fatalf("Last-Event-ID of the requests: %q, want [\"\" 2 3]", reqs)
	}
	cancel()
	waitClosed(t, ch)
}

// TestSubscribeLiveOnlyResumesFromWelcome: a caller that asked for live
// events only still gets what was posted while its first stream was down.
func TestSubscribeLiveOnlyResumesFromWelcome(t *testing.T) {
	for _, tc := range []struct{ welcomeLast, want string }{{"41", "41"}, {"", resumeFromStart}} {
		s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
			startStream(w)
			write(w, welcomeFrame("general", tc.welcomeLast))
			if n == 1 {
				return
			}
			hold(r)
		})
		ctx, cancel := context.WithCancel(context.Background())
		ch := fastClient(t, s.srv.URL).Subscribe(ctx, "general", "")
		recvUntil(t, ch, func(evs []Event) bool {
			n := 0
			for _, ev := range evs {
				if ev.Welcome != nil {
					n++
				}
			}
			return n == 2
		})
		cancel()
		waitClosed(t, ch)
		if reqs := s.requests(); !slices.Equal(reqs, []string{"", tc.want}) {
			t.Fatalf("welcome last_id %q: Last-Event-IDs %q, want [\"\" %q]", tc.welcomeLast, reqs, tc.want)
		}
	}
}

// TestSubscribeReadIdleTimeout: a stream that goes silent, and an answer
// whose headers never come, are dropped after the read-idle timeout.
func TestSubscribeReadIdleTimeout(t *testing.T) {
	s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			startStream(w)
			write(w, welcomeFrame("general", "")+msgFrame("general", "1"))
			hold(r) // half-open: the connection stays, nothing comes
		case 2:
			hold(r) // not even headers
		default:
			startStream(w)
			write(w, welcomeFrame("general", "1")+msgFrame("general", "2"))
			hold(r)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := fastClient(t, s.srv.URL, WithReadIdleTimeout(200*time.Millisecond)).Subscribe(ctx, "general", "")
	got := recvUntil(t, ch, messages(2))
	want := "connecting connected welcome m:1 reconnecting connecting reconnecting connecting connected welcome m:2"
	if describe(got) != want {
		t.Fatalf("got  %s\nwant %s", describe(got), want)
	}
	for _, ev := range got {
		if st := ev.State; st != nil && st.State == StateReconnecting && !errors.Is(st.Err, ErrReadIdle) {
			t.Fatalf("reconnecting because of %v, want ErrReadIdle", st.Err)
		}
	}
	if reqs := s.requests(); !slices.Equal(reqs, []string{"", "1", "1"}) {
		t.Fatalf("Last-Event-IDs %q", reqs)
	}
	cancel()
	waitClosed(t, ch)
}

// TestSubscribeHeartbeatsKeepStreamAlive: a stream whose only traffic is
// heartbeat comments is not taken for half-open.
func TestSubscribeHeartbeatsKeepStreamAlive(t *testing.T) {
	s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		startStream(w)
		write(w, welcomeFrame("general", ""))
		for range 15 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			write(w, ": ping\n\n")
		}
		write(w, msgFrame("general", "1"))
		hold(r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 15 pings 50ms apart span 750ms, past the 500ms idle timeout, which
	// is ten times the gap between pings.
	ch := fastClient(t, s.srv.URL, WithReadIdleTimeout(500*time.Millisecond)).Subscribe(ctx, "general", "")
	got := recvUntil(t, ch, messages(1))
	if want := "connecting connected welcome m:1"; describe(got) != want {
		t.Fatalf("got %s, want %s", describe(got), want)
	}
	cancel()
	waitClosed(t, ch)
}

// TestSubscribeStopsOnRefusal: 401 and 403 end with StateUnauthorized, 404
// and 400 with StateClosed, each after exactly one request.
func TestSubscribeStopsOnRefusal(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   State
		is     error
	}{
		{401, "unauthorized", StateUnauthorized, ErrUnauthorized},
		{403, "cross_origin", StateUnauthorized, ErrForbidden},
		{404, "room_not_found", StateClosed, ErrNotFound},
		{400, "bad_last_event_id", StateClosed, ErrInvalid},
	} {
		s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
			apiError(w, tc.status, "", tc.code)
		})
		ch := fastClient(t, s.srv.URL).Subscribe(context.Background(), "general", "")
		got := waitClosed(t, ch)
		if len(got) != 2 || got[0].State.State != StateConnecting || got[1].State.State != tc.want {
			t.Fatalf("status %d: got %s, want connecting %v", tc.status, describe(got), tc.want)
		}
		var apiErr *APIError
		if err := got[1].State.Err; !errors.Is(err, tc.is) || !errors.As(err, &apiErr) || apiErr.Code != tc.code {
			t.Fatalf("status %d: state error %v", tc.status, err)
		}
		if n := len(s.requests()); n != 1 {
			t.Fatalf("status %d: %d requests, want 1", tc.status, n)
		}
	}
}

// TestSubscribeRetriesUnavailable: 503 is retried, no sooner than its
// Retry-After; so is a 200 that is not an event stream.
func TestSubscribeRetriesUnavailable(t *testing.T) {
	s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			apiError(w, http.StatusServiceUnavailable, "1", "unavailable")
		case 2:
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>captive portal</html>"))
		default:
			startStream(w)
			write(w, welcomeFrame("general", ""))
			hold(r)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	ch := fastClient(t, s.srv.URL).Subscribe(ctx, "general", "")
	got := recvUntil(t, ch, func(evs []Event) bool { return len(evs) > 0 && evs[len(evs)-1].Welcome != nil })
	if want := "connecting reconnecting connecting reconnecting connecting connected welcome"; describe(got) != want {
		t.Fatalf("got %s, want %s", describe(got), want)
	}
	first := got[1].State
	if !errors.Is(first.Err, ErrUnavailable) || first.NextTry.Before(start.Add(time.Second)) {
		t.Fatalf("first reconnect %+v: want unavailable, next try after Retry-After", *first)
	}
	cancel()
	waitClosed(t, ch)
}

// TestSubscribeSlowReaderNeverStallsTheSocket: with a buffer of 8 and a
// caller that reads nothing, the subscription keeps reading the socket, drops
// the stream when messages would overflow, and once the caller reads again
// resumes from the last message it kept: every message once, in order.
func TestSubscribeSlowReaderNeverStallsTheSocket(t *testing.T) {
	const total = 100
	firstGone := make(chan struct{})
	s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		startStream(w)
		write(w, welcomeFrame("general", ""))
		from := 1
		if n > 1 {
			fmt.Sscan(r.Header.Get("Last-Event-ID"), &from)
			from++
		}
		var b strings.Builder
		for i := from; i <= total; i++ {
			b.WriteString(msgFrame("general", fmt.Sprint(i)))
		}
		write(w, b.String())
		hold(r)
		if n == 1 {
			close(firstGone)
		}
	})
	ch, cancel := subscribeUnread(t, s.srv.URL, firstGone, "the client never dropped the stream of a caller that does not read")
	defer cancel()
	// While the caller still reads nothing, the subscription waits instead of
	// reconnecting in a loop. (A window of quiet: this can miss a storm that
	// starts later, never report one that is not there.)
	time.Sleep(200 * time.Millisecond)
	if n := len(s.requests()); n != 1 {
		t.Fatalf("%d requests while the caller read nothing, want 1", n)
	}
	got := recvUntil(t, ch, messages(total))
	if ids := messageIDs(got); !slices.Equal(ids, seq(1, total)) {
		t.Fatalf("messages %v, want 1..%d once each", ids, total)
	}
	var overflowed bool
	for _, ev := range got {
		if ev.State != nil && errors.Is(ev.State.Err, ErrBufferFull) {
			overflowed = true
		}
	}
	if !overflowed {
		t.Fatalf("no ErrBufferFull reconnect in %s", describe(got))
	}
	reqs := s.requests()
	if len(reqs) < 2 || reqs[0] != "" || reqs[1] == "" {
		t.Fatalf("Last-Event-IDs %q: want a resume after the overflow", reqs)
	}
	cancel()
	waitClosed(t, ch)
}

// TestSubscribeCancelLeavesNothingRunning cancels a subscription in each
// place it can wait: reading a stream, waiting for headers, sleeping between
// attempts, and holding a full buffer the caller does not read. Each time the
// channel closes and no goroutine is left.
func TestSubscribeCancelLeavesNothingRunning(t *testing.T) {
	for _, phase := range []string{"streaming", "headers", "backoff", "full buffer"} {
		t.Run(phase, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			inHandler := make(chan struct{}, 100)
			gone := make(chan struct{}, 100) // a held stream ended
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inHandler <- struct{}{}
				switch phase {
				case "headers":
					hold(r)
					return
				case "backoff":
					apiError(w, http.StatusServiceUnavailable, "3600", "unavailable")
					return
				}
				startStream(w)
				write(w, welcomeFrame("general", ""))
				if phase == "full buffer" {
					var b strings.Builder
					for i := 1; i <= 50; i++ {
						b.WriteString(msgFrame("general", fmt.Sprint(i)))
					}
					write(w, b.String())
				}
				hold(r)
				gone <- struct{}{}
			}))
			c := New(srv.URL, WithEventBuffer(8))
			ctx, cancel := context.WithCancel(context.Background())
			ch := c.Subscribe(ctx, "general", "")
			<-inHandler
			switch phase {
			case "streaming":
				for recv(t, ch).Welcome == nil {
				}
			case "backoff":
				for ev := recv(t, ch); ev.State == nil || ev.State.State != StateReconnecting; ev = recv(t, ch) {
				}
			case "full buffer":
				// Read nothing: the buffer fills and the stream is dropped;
				// the subscription then waits for the caller.
				select {
				case <-gone:
				case <-time.After(guard):
					t.Fatal("stream not dropped on overflow")
				}
			}
			cancel()
			waitClosed(t, ch)
			c.CloseIdleConnections()
			srv.Close()
			goleak.VerifyNone(t, before)
		})
	}
}

// TestSubscribeSilentListener: a TCP listener that accepts connections and
// never sends a byte (a peer gone half-open, a black-holing middlebox). Each
// attempt is dropped after the read-idle timeout and tried again.
func TestSubscribeSilentListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- conn // held open, never answered
		}
	}()
	defer func() {
		ln.Close()
		for conn := range accepted {
			conn.Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := fastClient(t, "http://"+ln.Addr().String(), WithReadIdleTimeout(100*time.Millisecond)).Subscribe(ctx, "general", "")
	got := recvUntil(t, ch, func(evs []Event) bool { return len(reconnectErrs(evs)) >= 2 })
	if want := "connecting reconnecting connecting reconnecting"; describe(got) != want {
		t.Fatalf("got %s, want %s", describe(got), want)
	}
	for _, err := range reconnectErrs(got) {
		if !errors.Is(err, ErrReadIdle) {
			t.Fatalf("reconnecting because of %v, want ErrReadIdle", err)
		}
	}
	if n := len(accepted); n < 2 {
		t.Fatalf("%d connections accepted, want a new one per attempt", n)
	}
	cancel()
	waitClosed(t, ch)
}

// TestSubscribePresenceNeverDropped: presence events carry changes to the
// welcome's online list, so a buffer that cannot take one drops the stream
// (and the next welcome brings a fresh list) rather than lose it, as it
// does for a message.
func TestSubscribePresenceNeverDropped(t *testing.T) {
	firstGone := make(chan struct{})
	s := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		startStream(w)
		write(w, welcomeFrame("general", ""))
		if n == 1 {
			var b strings.Builder
			for i := range 20 {
				b.WriteString(sseFrame("presence", "", fmt.Sprintf(`{"room":"general","changes":[{"nick":"n%d","state":"join"}],"nick":"n%d","state":"join"}`, i, i)))
			}
			write(w, b.String())
		}
		hold(r)
		if n == 1 {
			close(firstGone)
		}
	})
	ch, cancel := subscribeUnread(t, s.srv.URL, firstGone, "the client kept a stream whose presence events did not fit")
	defer cancel()
	got := recvUntil(t, ch, func(evs []Event) bool {
		for _, ev := range evs {
			if ev.State != nil && errors.Is(ev.State.Err, ErrBufferFull) {
				return true
			}
		}
		return false
	})
	cancel()
	waitClosed(t, ch)
	if strings.Count(describe(got), "presence:") >= 20 {
		t.Fatalf("all 20 presence events fitted a buffer of 8: %s", describe(got))
	}
}

// subscribeUnread subscribes to general with an event buffer of 8, reads
// nothing, and waits until firstGone says the test server saw the first
// stream end; failure is the test's message when it never does. The caller
// cancels the subscription with the function returned.
func subscribeUnread(t *testing.T, url string, firstGone <-chan struct{}, failure string) (<-chan Event, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := fastClient(t, url, WithEventBuffer(8)).Subscribe(ctx, "general", "")
	select {
	case <-firstGone: // the client dropped the first stream while nobody read
	case <-time.After(guard):
		cancel()
		t.Fatal(failure)
	}
	return ch, cancel
}
