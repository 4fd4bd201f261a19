package server

import (
	"sync/atomic"
	"time"

	"github.com/ssechat/chat/server/fanout"
)

// stats counts what matters for operating the server. Every point that a
// metric should observe calls one of these methods, so exporting them (for
// example as Prometheus metrics) is a change to this type alone. The
// methods are safe for concurrent use and cheap: one atomic add.
type stats struct {
	streamsOpen    atomic.Int64
	streamsTotal   atomic.Uint64
	eventsSent     atomic.Uint64
	eventsDropped  atomic.Uint64 // ephemeral events dropped from full queues
	evicted        atomic.Uint64 // streams closed because a message would overflow
	writeFailed    atomic.Uint64 // streams closed by a failed or timed-out write
	accepted       atomic.Uint64 // messages stored (201)
	duplicates     atomic.Uint64 // repeated client_id answered 200
	refused        atomic.Uint64 // messages refused, any reason
	resumedReplays atomic.Uint64 // messages sent from the store on resume
	resets         atomic.Uint64

	m *metrics // histograms and labelled counters; nil in tests that build a bare stats
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	StreamsOpen    int64
	StreamsTotal   uint64
	EventsSent     uint64
	EventsDropped  uint64
	Evicted        uint64
	WriteFailed    uint64
	Accepted       uint64
	Duplicates     uint64
	Refused        uint64
	ResumedReplays uint64
	Resets         uint64
}

func (s *stats) streamOpened()     { s.streamsOpen.Add(1); s.streamsTotal.Add(1) }
func (s *stats) streamClosed()     { s.streamsOpen.Add(-1) }
func (s *stats) messageAccepted()  { s.accepted.Add(1) }
func (s *stats) messageDuplicate() { s.duplicates.Add(1) }

// messageRefused counts a refused message; reason is the error code.
func (s *stats) messageRefused(reason string) {
	s.refused.Add(1)
	if s.m != nil {
		s.m.refused.WithLabelValues(reason).Inc()
	}
}

// replayed counts the messages one resuming stream was sent from the store.
func (s *stats) replayed(n int) {
	s.resumedReplays.Add(uint64(n))
	if s.m != nil {
		s.m.resumeLen.Observe(float64(n))
	}
}

// The fan-out engine reports to stats through these four (fanout.Metrics).

func (s *stats) Sent(n int)   { s.eventsSent.Add(uint64(n)) }
func (s *stats) Dropped()     { s.eventsDropped.Add(1) }
func (s *stats) Evicted()     { s.evicted.Add(1) }
func (s *stats) WriteFailed() { s.writeFailed.Add(1) }

var _ fanout.Metrics = (*stats)(nil)

// reset counts one stream told to reload history.
func (s *stats) reset(reason string) { s.streamsReset(reason, 1) }

// streamsReset counts n streams told to reload history at once (a reset the
// store relayed to a room).
func (s *stats) streamsReset(reason string, n int) {
	if n <= 0 {
		return
	}
	s.resets.Add(uint64(n))
	if s.m != nil {
		s.m.resets.WithLabelValues(reason).Add(float64(n))
	}
}

// appended records how long the store took to make one message durable.
func (s *stats) appended(d time.Duration) {
	if s.m != nil {
		s.m.appendDur.Observe(d.Seconds())
	}
}

func (s *stats) snapshot() Stats {
	return Stats{
		StreamsOpen:    s.streamsOpen.Load(),
		StreamsTotal:   s.streamsTotal.Load(),
		EventsSent:     s.eventsSent.Load(),
		EventsDropped:  s.eventsDropped.Load(),
		Evicted:        s.evicted.Load(),
		WriteFailed:    s.writeFailed.Load(),
		Accepted:       s.accepted.Load(),
		Duplicates:     s.duplicates.Load(),
		Refused:        s.refused.Load(),
		ResumedReplays: s.resumedReplays.Load(),
		Resets:         s.resets.Load(),
	}
}
