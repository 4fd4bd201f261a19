package fanout

import (
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
)

// Frame is one event encoded once as the complete bytes a stream writes,
// shared read-only by every stream that sends it: nobody may change it
// once published.
type Frame struct {
	Data []byte
	// Ordered marks a frame with an ID that only grows within its topic (a
	// message): a stream skips it when it is not newer than the last
	// ordered frame of the topic it sent (see Subscription.Skip).
	Ordered bool
	ID      chat.ID
	// Keep marks a frame a stream must never lose (a message, a reset):
	// a full queue drops ephemeral frames first, and evicts the stream
	// rather than drop a kept one.
	Keep bool
}

// Options configure an Engine.
type Options struct {
	// QueueMax bounds each stream's queue of frames not yet written; at
	// least 1.
	QueueMax int
	// Heartbeat is how long a stream may stay silent before Ping is
	// written to it; 0 sends no ping.
	Heartbeat time.Duration
	// Ping is the bytes of a heartbeat (an SSE comment).
	Ping []byte
	// WriteTimeout bounds each write to a stream: a batch's, renewed every
	// 64 KiB, so a long batch to a slow but live client is not cut while a
	// stalled one still is. 0 sets no deadline.
	WriteTimeout time.Duration
	// Metrics observes the engine; nil means NopMetrics.
	Metrics Metrics
}

// Engine registers streams by topic and publishes frames to them. All its
// methods are safe for concurrent use; Publish never blocks on a stream.
type Engine struct {
	opt     Options
	metrics Metrics

	mu     sync.RWMutex
	topics map[string][]member
}

// member is a stream in a topic's list. It holds the stream itself, not
// only the subscription, so that Publish goes straight to each stream's
// queue without a second pointer to chase per delivery.
type member struct {
	s   *Stream
	sub *Subscription
}

// New returns an engine with no streams.
func New(opt Options) *Engine {
	if opt.QueueMax < 1 {
		opt.QueueMax = 1
	}
	m := opt.Metrics
	if m == nil {
		m = NopMetrics{}
	}
	return &Engine{opt: opt, metrics: m, topics: map[string][]member{}}
}

// Subscribed reports whether any stream is subscribed to topic, so that a
// publisher can skip encoding what nobody would receive. A stream that
// subscribes a moment later must get what it missed some other way (the
// server reads history after subscribing for exactly this).
func (e *Engine) Subscribed(topic string) bool {
	e.mu.RLock()
	n := len(e.topics[topic])
	e.mu.RUnlock()
	return n > 0
}

// Publish queues f on every stream subscribed to topic and returns how many
// queued it (a stream that is evicted now, or was before, does not). It
// takes one small lock per stream and never waits for a write, so one
// stalled client cannot hold up the others. Frames published to one topic
// by one goroutine reach each stream in that order.
func (e *Engine) Publish(topic string, f *Frame) (queued int) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, m := range e.topics[topic] {
		dropped, ok := m.s.push(f, m.sub)
		if dropped {
			e.metrics.Dropped()
		}
		if ok {
			queued++
		}
	}
	return queued
}

// NewStream returns a stream subscribed to nothing yet. Its owner runs it
// (Run) and closes it (Close).
func (e *Engine) NewStream() *Stream {
	return &Stream{e: e, wake: make(chan struct{}, 1)}
}

// Subscribe subscribes s to topic, from now on queueing every frame
// published to it, and returns the subscription; subscribing again to a
// topic returns the same subscription. It may be called while s runs.
func (s *Stream) Subscribe(topic string) *Subscription {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, sub := range s.subs {
		if sub.topic == topic {
			return sub
		}
	}
	subs := e.topics[topic]
	sub := &Subscription{s: s, topic: topic, idx: len(subs)}
	e.topics[topic] = append(subs, member{s, sub})
	s.subs = append(s.subs, sub)
	return sub
}

// Unsubscribe ends s's subscription to topic: nothing more published to it
// is queued (frames already queued are still written). It reports whether
// s was subscribed. It may be called while s runs.
func (s *Stream) Unsubscribe(topic string) bool {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, sub := range s.subs {
		if sub.topic == topic {
			e.remove(sub)
			last := len(s.subs) - 1
			s.subs[i] = s.subs[last]
			s.subs[last] = nil
			s.subs = s.subs[:last]
			return true
		}
	}
	return false
}

// Close unsubscribes s from every topic. It is safe to call more than once
// and while s runs; it does not end Run (its owner's done channel does).
func (s *Stream) Close() {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, sub := range s.subs {
		e.remove(sub)
		s.subs[i] = nil
	}
	s.subs = nil
}

// Topics returns the topics s is subscribed to now.
func (s *Stream) Topics() []string {
	s.e.mu.RLock()
	defer s.e.mu.RUnlock()
	out := make([]string, len(s.subs))
	for i, sub := range s.subs {
		out[i] = sub.topic
	}
	return out
}

// remove takes sub out of its topic's list, swapping the last one into its
// place; e.mu is held.
func (e *Engine) remove(sub *Subscription) {
	subs := e.topics[sub.topic]
	last := len(subs) - 1
	if sub.idx > last || subs[sub.idx].sub != sub {
		return
	}
	subs[sub.idx] = subs[last]
	subs[sub.idx].sub.idx = sub.idx
	subs[last] = member{}
	subs = subs[:last]
	if len(subs) == 0 {
		delete(e.topics, sub.topic)
	} else {
		e.topics[sub.topic] = subs
	}
}

// topicCount is the number of topics with a subscriber, for tests.
func (e *Engine) topicCount() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.topics)
}
