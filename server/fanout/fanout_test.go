package fanout

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/sse"
)

// counts is a Metrics that counts, for tests.
type counts struct{ sent, dropped, evicted, failed atomic.Int64 }

func (c *counts) Sent(n int)   { c.sent.Add(int64(n)) }
func (c *counts) Dropped()     { c.dropped.Add(1) }
func (c *counts) Evicted()     { c.evicted.Add(1) }
func (c *counts) WriteFailed() { c.failed.Add(1) }

// msg is an ordered, kept frame with id n, as a message is.
func msg(n uint64) *Frame {
	id := strconv.FormatUint(n, 10)
	return &Frame{Data: sse.AppendEvent(nil, "message", id, []byte(id)), Ordered: true, ID: chat.ID{Major: n}, Keep: true}
}

func ephemeral(name string) *Frame {
	return &Frame{Data: sse.AppendEvent(nil, name, "", []byte("{}"))}
}

func kept(name string) *Frame {
	f := ephemeral(name)
	f.Keep = true
	return f
}

// TestQueueBounds pins the order of sacrifice in a full queue: a new
// ephemeral frame is dropped; a kept frame pushes out the oldest ephemeral
// one; a kept frame that finds only kept frames evicts the stream, and
// nothing is queued for it after that.
func TestQueueBounds(t *testing.T) {
	var m counts
	e := New(Options{QueueMax: 3, Metrics: &m})
	s := e.NewStream()
	s.Subscribe("r")
	other := New(Options{QueueMax: 100}).NewStream() // another engine: untouched
	other.Subscribe("r")

	e.Publish("r", msg(1))
	e.Publish("r", ephemeral("typing"))
	e.Publish("r", msg(2))
	if n := e.Publish("r", ephemeral("typing")); n != 0 || m.dropped.Load() != 1 {
		t.Fatalf("full queue: queued on %d, dropped %d; want 0 and 1", n, m.dropped.Load())
	}
	e.Publish("r", msg(3)) // full: the queued typing frame makes room
	frames, evicted, _ := s.take(nil)
	if evicted || len(frames) != 3 || !frames[0].f.Ordered || !frames[1].f.Ordered || !frames[2].f.Ordered {
		t.Fatalf("queue after overflow: %d frames, evicted %v", len(frames), evicted)
	}
	for i := uint64(4); i <= 7; i++ {
		e.Publish("r", msg(i))
	}
	if _, evicted, _ := s.take(nil); !evicted || m.evicted.Load() != 1 {
		t.Fatal("a kept frame overflowing a queue of kept frames must evict")
	}
	if n := e.Publish("r", msg(8)); n != 0 {
		t.Fatal("an evicted stream still queues")
	}
	if frames, _, _ := s.take(nil); len(frames) != 0 {
		t.Fatal("an evicted stream still queues")
	}
	s.Close()
	s.Close() // twice is fine
	if e.topicCount() != 0 {
		t.Fatal("topics left after every stream closed")
	}
}

// TestKeptEphemeralFrame: a kept frame without an order (a reset) takes an
// ephemeral frame's place in a full queue, is not pushed out by a later
// ephemeral frame, and where only kept frames are queued it evicts the
// stream rather than being dropped. Publish counts the streams that queued
// it.
func TestKeptEphemeralFrame(t *testing.T) {
	var m counts
	e := New(Options{QueueMax: 2, Metrics: &m})
	full, roomy, withTyping := e.NewStream(), e.NewStream(), e.NewStream()
	full.Subscribe("r")
	e.Publish("r", msg(1))
	e.Publish("r", msg(2)) // full: two messages
	roomy.Subscribe("r")
	withTyping.Subscribe("r")
	e.Publish("r", ephemeral("typing"))
	e.Publish("r", ephemeral("typing")) // both queues: two typing frames
	if n := e.Publish("r", kept("reset")); n != 2 {
		t.Fatalf("reset queued on %d streams, want 2 (the full one is evicted)", n)
	}
	e.Publish("r", ephemeral("typing")) // full queues: dropped, the reset stays
	frames, evicted, _ := roomy.take(nil)
	if evicted || len(frames) != 2 || frames[1].f.Data[7] != 'r' || !frames[1].f.Keep {
		t.Fatalf("roomy stream: %d frames, evicted %v; want typing, reset", len(frames), evicted)
	}
	if _, evicted, _ := full.take(nil); !evicted || m.evicted.Load() != 1 {
		t.Fatal("a kept frame meeting a queue full of kept frames must evict, not be dropped")
	}
}

// pipe is a real loopback TCP connection: the stream writes to srv, the
// test reads client.
func pipe(t *testing.T) (srv, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return r.c, client
}

// running runs s on a writer to a loopback connection and returns a reader
// of what it writes, and stop, which ends Run (at the test's end if not
// before) and returns how it ended.
func running(t *testing.T, e *Engine, s *Stream) (r *sse.Reader, stop func() End) {
	t.Helper()
	srv, client := pipe(t)
	done := make(chan struct{})
	end := make(chan End, 1)
	go func() { end <- s.Run(e.NewWriter(srv), done, nil) }()
	var once sync.Once
	var how End
	stop = func() End {
		once.Do(func() {
			close(done)
			how = <-end
		})
		return how
	}
	t.Cleanup(func() { stop() })
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	return sse.NewReader(client, 4096), stop
}

// next reads the next block, failing the test on error.
func next(t *testing.T, r *sse.Reader) string {
	t.Helper()
	b, err := r.Next()
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if b.HasComment {
		return ":" + string(b.Comment)
	}
	return fmt.Sprintf("%s %s", b.Type, b.Data)
}

// TestStreamOfManyTopics: one stream, subscribed to several topics and
// gaining and losing topics while it runs, gets every frame of each topic
// it is subscribed to, in order, and skips ordered frames per topic only.
func TestStreamOfManyTopics(t *testing.T) {
	e := New(Options{QueueMax: 100})
	s := e.NewStream()
	a := s.Subscribe("a")
	if s.Subscribe("a") != a {
		t.Fatal("subscribing twice to a topic made a second subscription")
	}
	a.Skip(chat.ID{Major: 5}) // 1..5 of a were sent from history
	s.Subscribe("b")
	r, _ := running(t, e, s)

	e.Publish("a", msg(5)) // skipped: not newer than 5
	e.Publish("b", msg(3)) // b has its own order: sent
	e.Publish("a", msg(6))
	e.Publish("c", msg(7)) // not subscribed
	e.Publish("b", ephemeral("typing"))
	for _, want := range []string{"message 3", "message 6", "typing {}"} {
		if got := next(t, r); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	s.Subscribe("c")
	if !s.Unsubscribe("a") || s.Unsubscribe("a") {
		t.Fatal("Unsubscribe reports wrongly whether it was subscribed")
	}
	e.Publish("a", msg(8)) // not subscribed any more
	e.Publish("c", msg(9))
	e.Publish("b", msg(2)) // older than b's 3: skipped
	e.Publish("b", msg(4))
	for _, want := range []string{"message 9", "message 4"} {
		if got := next(t, r); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if got := fmt.Sprint(s.Topics()); got != "[c b]" && got != "[b c]" {
		t.Fatalf("topics %s, want b and c", got)
	}
	s.Close()
	if e.Subscribed("b") || e.Subscribed("c") || e.topicCount() != 0 {
		t.Fatal("a closed stream is still subscribed")
	}
}

// TestRunPingsAndEnds: a silent stream gets a ping every heartbeat; done
// ends Run; a stream evicted while running ends with EndEvicted, a write
// to a gone client with EndWriteFailed.
func TestRunPingsAndEnds(t *testing.T) {
	var m counts
	e := New(Options{QueueMax: 1, Heartbeat: 20 * time.Millisecond, Ping: sse.Ping, WriteTimeout: 5 * time.Second, Metrics: &m})

	s := e.NewStream()
	s.Subscribe("r")
	r, stop := running(t, e, s)
	for range 2 {
		if got := next(t, r); got != ": ping" {
			t.Fatalf("a silent stream got %q, want a ping", got)
		}
	}
	if got := stop(); got != EndDone {
		t.Fatalf("Run ended with %d, want EndDone", got)
	}

	// Eviction: a stream that has not taken its queue meets a second kept
	// frame.
	s = e.NewStream()
	s.Subscribe("r")
	e.Publish("r", msg(1))
	e.Publish("r", msg(2))
	srv, _ := pipe(t)
	if got := s.Run(e.NewWriter(srv), nil, nil); got != EndEvicted {
		t.Fatalf("Run ended with %d, want EndEvicted", got)
	}
	s.Close()

	// A write failure: the connection is closed under the stream.
	s = e.NewStream()
	s.Subscribe("r")
	srv, client := pipe(t)
	client.Close()
	srv.Close()
	e.Publish("r", msg(3))
	if got := s.Run(e.NewWriter(srv), nil, nil); got != EndWriteFailed || m.failed.Load() != 1 {
		t.Fatalf("Run ended with %d after %d failures, want EndWriteFailed", got, m.failed.Load())
	}
	s.Close()

	// Stop: the owner's shutdown ends Run.
	s = e.NewStream()
	shutdown := make(chan struct{})
	close(shutdown)
	srv, _ = pipe(t)
	if got := s.Run(e.NewWriter(srv), nil, shutdown); got != EndStopped {
		t.Fatalf("Run ended with %d, want EndStopped", got)
	}
}

// TestWriterBatchesOverAConnection: a batch bigger than the pooled buffer
// arrives whole and in order, and the writer holds no buffer after Flush.
func TestWriterBatchesOverAConnection(t *testing.T) {
	e := New(Options{WriteTimeout: 5 * time.Second})
	srv, client := pipe(t)
	w := e.NewWriter(srv)
	sent := make(chan []byte, 1)
	go func() {
		want := make([]byte, 0, 3*writeBufSize)
		w.Begin()
		for i := 0; len(want) < 3*writeBufSize-2000; i++ {
			f := sse.AppendEvent(nil, "message", strconv.Itoa(i), make([]byte, 1000+i%7))
			want = append(want, f...)
			_ = w.Write(f)
		}
		_ = w.Write(make([]byte, writeBufSize)) // a big one goes straight out
		_ = w.Flush()
		srv.Close()
		sent <- want
	}()
	got, err := io.ReadAll(client)
	want := <-sent
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if len(got) != len(want)+writeBufSize || string(got[:len(want)]) != string(want) {
		t.Fatalf("read %d bytes, want %d in order", len(got), len(want)+writeBufSize)
	}
	if w.buf != nil {
		t.Fatal("the writer kept its buffer after Flush")
	}
}

// TestSubscribeWhilePublishing: streams join and leave topics while frames
// are published (run with -race); each topic's list stays exact: every
// stream still subscribed gets the last frame, no stream that left does.
func TestSubscribeWhilePublishing(t *testing.T) {
	e := New(Options{QueueMax: 1 << 16})
	streams := make([]*Stream, 8)
	for i := range streams {
		streams[i] = e.NewStream()
	}
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				topic := fmt.Sprint("t", n%3)
				s.Subscribe(topic)
				if (n+i)%2 == 0 {
					s.Unsubscribe(topic)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := range 600 {
			e.Publish(fmt.Sprint("t", n%3), ephemeral("typing"))
		}
	}()
	wg.Wait()
	for _, s := range streams {
		s.take(nil)
	}
	for _, topic := range []string{"t0", "t1", "t2"} {
		last := kept(topic)
		e.Publish(topic, last)
		for i, s := range streams {
			frames, _, _ := s.take(nil)
			subscribed := slices.Contains(s.Topics(), topic)
			got := len(frames) == 1 && frames[0].f == last
			if got != subscribed {
				t.Fatalf("stream %d, subscribed to %s: %v, got its frame: %v", i, topic, subscribed, got)
			}
		}
	}
	for _, s := range streams {
		s.Close()
	}
	if e.topicCount() != 0 {
		t.Fatal("topics left after every stream closed")
	}
}

// TestEndWritesLastFrame: End's frame comes after everything queued before
// it, even on a full queue, nothing published after it is queued, and Run
// returns EndEnded; an End before Run starts ends Run at once.
func TestEndWritesLastFrame(t *testing.T) {
	e := New(Options{QueueMax: 2, WriteTimeout: 5 * time.Second})
	s := e.NewStream()
	s.Subscribe("r")
	e.Publish("r", msg(1))
	e.Publish("r", msg(2)) // the queue is full
	s.End(kept("bye"))
	s.End(kept("again")) // only the first End counts
	if n := e.Publish("r", msg(3)); n != 0 {
		t.Fatalf("a frame published after End was queued on %d streams", n)
	}
	srv, client := pipe(t)
	end := make(chan End, 1)
	go func() { end <- s.Run(e.NewWriter(srv), nil, nil) }()
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := sse.NewReader(client, 4096)
	for _, want := range []string{"message 1", "message 2", "bye {}"} {
		if got := next(t, r); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if got := <-end; got != EndEnded {
		t.Fatalf("Run ended with %d, want EndEnded", got)
	}
	s.Close()

	// While it runs: End with no frame ends Run after what was queued.
	s = e.NewStream()
	s.Subscribe("r")
	srv, client = pipe(t)
	go func() { end <- s.Run(e.NewWriter(srv), nil, nil) }()
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	r = sse.NewReader(client, 4096)
	e.Publish("r", msg(4))
	if got := next(t, r); got != "message 4" {
		t.Fatalf("got %q, want message 4", got)
	}
	s.End(nil)
	select {
	case got := <-end:
		if got != EndEnded {
			t.Fatalf("Run ended with %d, want EndEnded", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after End")
	}
	s.Close()
}
