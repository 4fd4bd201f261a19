package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ssechat/chat/chat"
)

// endpoint is where and as whom subscribers and posters connect.
type endpoint struct {
	addr    string // host:port to dial
	host    string // Host header
	bufSize int    // bytes of each read buffer (two per stream)
	timeout time.Duration
}

func newEndpoint(base string, bufSize int, timeout time.Duration) (endpoint, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return endpoint{}, fmt.Errorf("parse url %q: want http://host:port", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr += ":80"
	}
	return endpoint{addr: addr, host: u.Host, bufSize: bufSize, timeout: timeout}, nil
}

// dial opens a TCP connection; a stalled subscriber asks for a small
// receive buffer so that the server meets its back-pressure soon.
func (e endpoint) dial(ctx context.Context, rcvBuf int) (net.Conn, error) {
	d := net.Dialer{Timeout: e.timeout}
	c, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", e.addr, err)
	}
	if tc, ok := c.(*net.TCPConn); ok && rcvBuf > 0 {
		_ = tc.SetReadBuffer(rcvBuf)
	}
	return c, nil
}

// subscriber is one SSE stream of one room, kept across reconnects. Its
// goroutine owns every plain field; the atomics are read by the run's
// progress and completion checks while it runs.
type subscriber struct {
	room    *room
	token   string
	stalled bool // reads its welcome, then never reads again

	hist     atomic.Pointer[Histogram] // where latencies go; nil: not recorded
	distinct atomic.Int64              // distinct messages of this run received
	open     atomic.Bool
	up       atomic.Bool  // a stream of it started once: it counts in the results
	lastRecv atomic.Int64 // unix ns of its latest delivery of this run

	got        bitset
	dup        int64
	outOfOrder int64
	foreign    int64 // message events that are not this run's
	resets     int64
	reconnects int64
	ended      int64 // streams the server ended while the run wanted them
	last       chat.ID
	hasLast    bool
	lastID     [chat.MaxIDLen]byte // the newest id, as sent, to resume from
	lastIDLen  int
}

// resumeID returns the id to send as Last-Event-ID, "" when none was seen.
func (s *subscriber) resumeID() string { return string(s.lastID[:s.lastIDLen]) }

// errStatus is a stream refused before it started.
type errStatus struct {
	status int
	body   string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("subscribe: status %d: %s", e.status, e.body)
}

// connect opens one stream, resuming after the newest id seen when resume is
// set, and reads it until it ends or ctx is done. ready is called once:
// with nil after the first event (the server's welcome), or with the error
// that kept the stream from starting.
func (s *subscriber) connect(ctx context.Context, ep endpoint, mark []byte, resume bool, ready func(error)) error {
	readyOnce := func(err error) {
		if ready != nil {
			ready(err)
			ready = nil
		}
	}
	rcv := 0
	if s.stalled {
		rcv = 4096
	}
	conn, err := ep.dial(ctx, rcv)
	if err != nil {
		readyOnce(err)
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		stop()
		conn.Close()
		readyOnce(errors.New("subscribe: stream ended before its first event"))
	}()

	var req strings.Builder
	req.WriteString("GET /api/rooms/" + url.PathEscape(s.room.name) + "/events HTTP/1.1\r\nHost: " + ep.host +
		"\r\nAccept: text/event-stream\r\nUser-Agent: chat-bench\r\nAuthorization: Bearer " + s.token + "\r\n")
	if id := s.resumeID(); resume && id != "" {
		req.WriteString("Last-Event-ID: " + id + "\r\n")
	}
	req.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(ep.timeout))
	if _, err := io.WriteString(conn, req.String()); err != nil {
		readyOnce(fmt.Errorf("subscribe: write request: %w", err))
		return err
	}
	br := bufio.NewReaderSize(conn, ep.bufSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		readyOnce(fmt.Errorf("subscribe: read response: %w", err))
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		err := &errStatus{status: resp.StatusCode, body: strings.TrimSpace(string(b))}
		readyOnce(err)
		return err
	}
	er := newEventReader(resp.Body, ep.bufSize)
	s.open.Store(true)
	defer s.open.Store(false)
	for {
		ev, err := er.next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.ended++
			return fmt.Errorf("subscribe: read stream: %w", err)
		}
		if ready != nil {
			_ = conn.SetDeadline(time.Time{})
			readyOnce(nil)
		}
		if s.stalled {
			<-ctx.Done()
			return nil
		}
		s.handle(ev, mark)
	}
}

// handle counts one event: order against the server's ids, duplicates and
// latency against the payload's sequence number and send time.
func (s *subscriber) handle(ev event, mark []byte) {
	switch string(ev.name) {
	case chat.EventMessage:
	case chat.EventWelcome:
		s.welcome(ev.data)
		return
	case chat.EventReset:
		s.resets++
		return
	default:
		return
	}
	now := time.Now()
	newer := true
	if ev.hasID {
		id, ok := parseID(ev.id)
		if ok {
			if s.hasLast && id.Compare(s.last) <= 0 {
				newer = false
			} else {
				s.last, s.hasLast = id, true
				s.lastIDLen = copy(s.lastID[:], ev.id)
			}
		}
	}
	seq, sent, ok := parsePayload(ev.data, mark)
	if !ok || seq >= s.got.len() {
		s.foreign++
		return
	}
	if s.got.has(seq) {
		s.dup++
		return
	}
	if !newer {
		s.outOfOrder++
	}
	s.got.set(seq)
	s.distinct.Add(1)
	s.lastRecv.Store(now.UnixNano())
	if h := s.hist.Load(); h != nil {
		h.Record(now.Sub(time.Unix(0, sent)))
	}
}

// welcome takes the room's newest id as the resume point of a subscriber
// that has seen no message yet, so that a reconnect before the first message
// still misses nothing.
func (s *subscriber) welcome(data []byte) {
	if s.lastIDLen > 0 {
		return
	}
	var w chat.Welcome
	if json.Unmarshal(data, &w) != nil || w.LastID == nil {
		return
	}
	if _, ok := parseID([]byte(*w.LastID)); ok {
		s.lastIDLen = copy(s.lastID[:], *w.LastID)
	}
}

// bitset is a fixed set of small non-negative integers.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) len() int       { return len(b) * 64 }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) missing(want bitset) int {
	n := 0
	for i, w := range want {
		n += bits.OnesCount64(w &^ b[i])
	}
	return n
}
