package fanout

// Metrics observes the engine. Its methods are called from the publishing
// goroutine and from every stream's writer at once, so they must be safe
// for concurrent use, and cheap: Dropped runs inside Publish.
type Metrics interface {
	// Sent counts frames written to a stream (pings excluded).
	Sent(n int)
	// Dropped counts an ephemeral frame dropped from a full queue.
	Dropped()
	// Evicted counts a stream cut because a kept frame would overflow its
	// queue.
	Evicted()
	// WriteFailed counts a stream ended by a failed or timed-out write.
	WriteFailed()
}

// NopMetrics is the Metrics an engine uses when given none: it records
// nothing.
type NopMetrics struct{}

func (NopMetrics) Sent(int)     {}
func (NopMetrics) Dropped()     {}
func (NopMetrics) Evicted()     {}
func (NopMetrics) WriteFailed() {}
