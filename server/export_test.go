package server

import "time"

// SetClock makes s check sessions (their expiry and the session cache's
// lifetime) against now instead of time.Now, so that tests can pass a
// cache lifetime without sleeping through it.
func SetClock(s *Server, now func() time.Time) { s.clock.Store(&now) }
