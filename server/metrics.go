package server

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// streamPattern is the route of the event streams: a stream's duration is its
// life, not a latency, so it is kept out of the request-latency histogram.
const streamPattern = "GET /api/rooms/{room}/events"

// metrics publishes the server's counters in Prometheus text at /metrics, on
// a registry of its own (never the global one, so two servers in one process
// do not collide). The hot counters stay plain atomics in stats and are read
// only when scraped; the histograms and the labelled counters are resolved
// once, so no event pays for a label lookup.
type metrics struct {
	reg       *prometheus.Registry
	refused   *prometheus.CounterVec // by reason (the error code)
	resets    *prometheus.CounterVec // by reason
	resumeLen prometheus.Histogram
	appendDur prometheus.Histogram
	httpDur   *prometheus.HistogramVec
	routes    sync.Map // route pattern → prometheus.Observer
}

func newMetrics(counts *stats) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string, v func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chat_messages_refused_total", Help: "Messages not stored, by reason (the error code, or store).",
	}, []string{"reason"})
	m.resets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chat_stream_resets_total", Help: "Streams told to reload history (at resume, or mid-stream when the store relays a gap), by reason.",
	}, []string{"reason"})
	m.resumeLen = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "chat_resume_messages",
		Help:    "Messages replayed from the store to a stream that resumed with Last-Event-ID.",
		Buckets: []float64{0, 1, 10, 100, 1000, 10000},
	})
	m.appendDur = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "chat_store_append_seconds",
		Help:    "Time for the store to make one message durable (group commit included).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100 µs to 3.3 s
	})
	m.httpDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "chat_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern (event streams excluded).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"route"})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chat_streams_open", Help: "Event streams open now."},
			func() float64 { return float64(counts.streamsOpen.Load()) }),
		counter("chat_streams_opened_total", "Event streams opened.", counts.streamsTotal.Load),
		counter("chat_events_sent_total", "Events written to streams (messages, presence, typing, welcome, reset).", counts.eventsSent.Load),
		counter("chat_events_dropped_total", "Typing and room events dropped from full stream queues.", counts.eventsDropped.Load),
		counter("chat_streams_evicted_total", "Streams closed because a message would have overflowed their queue.", counts.evicted.Load),
		counter("chat_stream_write_failures_total", "Streams closed by a failed or timed-out write.", counts.writeFailed.Load),
		counter("chat_messages_accepted_total", "Messages stored (201).", counts.accepted.Load),
		counter("chat_messages_duplicate_total", "Repeated client_id answered with the first message (200).", counts.duplicates.Load),
		counter("chat_resume_messages_total", "Messages replayed from the store to resuming streams.", counts.resumedReplays.Load),
		m.refused, m.resets, m.resumeLen, m.appendDur, m.httpDur,
	)
	counts.m = m
	return m
}

// Registry returns the registry behind /metrics, for the program to add
// collectors the server cannot know of (for example its store's).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// instrument times every request by the route pattern the mux matched. It
// does not wrap the ResponseWriter, so streams can still take over their
// connection (see detach).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		// ServeMux writes the pattern it matched into r (the innermost
		// mux's, for nested ones).
		if r.Pattern == streamPattern {
			return
		}
		m.route(r.Pattern).Observe(time.Since(start).Seconds())
	})
}

// route returns the latency observer of a pattern, made once per pattern:
// patterns are the fixed set the muxes hold, so the label set is bounded.
func (m *metrics) route(pattern string) prometheus.Observer {
	if pattern == "" {
		pattern = "none"
	}
	if o, ok := m.routes.Load(pattern); ok {
		return o.(prometheus.Observer)
	}
	o, _ := m.routes.LoadOrStore(pattern, m.httpDur.WithLabelValues(pattern))
	return o.(prometheus.Observer)
}
