package fanout

import (
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
)

// Stream is one client's stream: a bounded queue that Publish appends to
// under the stream's own small lock, and a writer loop (Run) that takes
// the whole queue at once and writes it as one batch.
type Stream struct {
	e    *Engine
	wake chan struct{}   // 1-buffered: "the queue is not empty" or "evicted"
	subs []*Subscription // guarded by e.mu

	mu        sync.Mutex
	queue     []queued
	ephemeral int  // ephemeral frames in queue
	evicted   bool // a kept frame would have overflowed: the stream must end
	ended     bool // End was called: nothing more is queued, Run ends after the queue
}

// queued is a frame with the subscription it came through, so that the
// writer knows which topic's order it belongs to.
type queued struct {
	f   *Frame
	sub *Subscription
}

// Subscription is one stream's subscription to one topic.
type Subscription struct {
	s     *Stream
	topic string
	idx   int // position in the engine's topic list; guarded by e.mu

	// last is the newest ordered frame of the topic sent; only the
	// stream's writer (and Skip, before Run) touches it.
	last     chat.ID
	haveLast bool
}

// Topic returns the subscription's topic.
func (sub *Subscription) Topic() string { return sub.topic }

// Skip tells the stream that everything of this topic up to id has been
// sent some other way (a replay from history): ordered frames not newer
// than id are not written. It must be called before Run starts.
func (sub *Subscription) Skip(id chat.ID) {
	sub.last, sub.haveLast = id, true
}

// push queues f. A full queue first loses an ephemeral frame (the new one,
// or for a kept frame the oldest queued); a kept frame that still does not
// fit evicts the stream (its client resumes from its last id, and the
// history's answer to that resume tells it of any gap). It reports whether
// an ephemeral frame was dropped and whether f was queued.
func (s *Stream) push(f *Frame, sub *Subscription) (dropped, ok bool) {
	s.mu.Lock()
	if s.evicted || s.ended {
		s.mu.Unlock()
		return false, false
	}
	if len(s.queue) >= s.e.opt.QueueMax {
		if !f.Keep {
			s.mu.Unlock()
			return true, false
		}
		if s.ephemeral == 0 {
			s.evicted = true
			clear(s.queue)
			s.queue = s.queue[:0]
			s.mu.Unlock()
			s.e.metrics.Evicted()
			s.signal()
			return false, false
		}
		s.dropOneEphemeral()
		dropped = true
	}
	s.queue = append(s.queue, queued{f, sub})
	if !f.Keep {
		s.ephemeral++
	}
	s.mu.Unlock()
	s.signal()
	return dropped, true
}

// dropOneEphemeral removes the oldest ephemeral frame; s.mu is held.
func (s *Stream) dropOneEphemeral() {
	for i, q := range s.queue {
		if !q.f.Keep {
			copy(s.queue[i:], s.queue[i+1:])
			s.queue[len(s.queue)-1] = queued{}
			s.queue = s.queue[:len(s.queue)-1]
			s.ephemeral--
			return
		}
	}
}

// End makes the stream's last frame f (nil for none): Run writes what was
// queued before, then f, and returns EndEnded; nothing published after End
// is queued. f is queued even on a full queue, so the client always gets
// it. It is safe to call more than once (only the first counts), before
// Run starts (Run then writes the queue at once and ends) and while it
// runs. The caller decides whom to end and why; the engine only ends.
func (s *Stream) End(f *Frame) {
	s.mu.Lock()
	if s.evicted || s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	if f != nil {
		s.queue = append(s.queue, queued{f: f})
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns everything queued and whether the stream was evicted. buf
// (the slice returned by the previous take, written and cleared) becomes
// the new queue, so a busy stream allocates no new queue.
func (s *Stream) take(buf []queued) (frames []queued, evicted, ended bool) {
	s.mu.Lock()
	frames = s.queue
	if cap(buf) > 128 {
		buf = nil // let a burst's big slice go: an idle stream keeps little
	}
	s.queue = buf[:0]
	s.ephemeral = 0
	evicted, ended = s.evicted, s.ended
	s.mu.Unlock()
	return frames, evicted, ended
}

// End says why Run returned.
type End int

const (
	// EndDone: the done channel closed (the client left).
	EndDone End = iota
	// EndStopped: the stop channel closed (the server is shutting down).
	// The writer's deadline is then one second away, so the owner can end
	// the response cleanly without a stalled client holding it up.
	EndStopped
	// EndEvicted: a kept frame would have overflowed the queue. The
	// writer's deadline is now: the client is not reading.
	EndEvicted
	// EndWriteFailed: a write failed or timed out.
	EndWriteFailed
	// EndEnded: End was called, and its frame and everything queued
	// before it were written.
	EndEnded
)

// Run writes the stream's queued frames to w until done or stop closes,
// the stream is evicted or ended (End), or a write fails, and says which. Each wake-up
// takes the whole queue and writes it as one batch with one flush;
// ordered frames not newer than the last sent of their topic are skipped.
// After Heartbeat of silence it writes Ping. Run is the stream's only
// writer: one goroutine runs it, once.
func (s *Stream) Run(w *Writer, done, stop <-chan struct{}) End {
	opt := &s.e.opt
	m := s.e.metrics
	var ping *time.Timer
	var pingC <-chan time.Time
	if opt.Heartbeat > 0 {
		ping = time.NewTimer(opt.Heartbeat)
		defer ping.Stop()
		pingC = ping.C
	}
	var frames []queued
	for {
		select {
		case <-s.wake:
		case <-pingC:
			w.Begin()
			err := w.Write(opt.Ping)
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				m.WriteFailed()
				return EndWriteFailed
			}
			ping.Reset(opt.Heartbeat)
			continue
		case <-done:
			return EndDone
		case <-stop:
			w.Deadline(time.Now().Add(time.Second))
			return EndStopped
		}
		select {
		case <-stop: // stop and wake were both ready
			w.Deadline(time.Now().Add(time.Second))
			return EndStopped
		default:
		}
		var evicted, ended bool
		frames, evicted, ended = s.take(frames)
		if evicted {
			w.Deadline(time.Now())
			return EndEvicted
		}
		w.Begin()
		n := 0
		var err error
		for _, q := range frames {
			if f, sub := q.f, q.sub; f.Ordered && sub != nil {
				if sub.haveLast && f.ID.Compare(sub.last) <= 0 {
					continue // already sent
				}
				sub.last, sub.haveLast = f.ID, true
			}
			if err = w.Write(q.f.Data); err != nil {
				break
			}
			n++
		}
		clear(frames)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			m.WriteFailed()
			return EndWriteFailed
		}
		m.Sent(n)
		if ended {
			return EndEnded
		}
		if ping != nil {
			ping.Reset(opt.Heartbeat)
		}
	}
}
