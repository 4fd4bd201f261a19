package redis

// Crash stops the store as a killed process would: its goroutines and
// connections end, and nothing is cleaned up in Redis (no presence leaves).
func (s *Store) Crash() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.relay.stop()
	s.bg.Wait()
	_ = s.rdb.Close()
}

// TailHits counts the Since calls answered from the in-memory tail.
func (s *Store) TailHits() int64 { return s.relay.tailHits.Load() }
