package server

import "time"

// SetClock makes s check sessions (their expiry and the session cache's
// lifetime) against now instead of time.Now, so that tests can pass a
// cache lifetime without sleeping through it.
func SetClock(s *Server, now func() time.Time) { s.clock.Store(&now) }

// PresenceRooms returns how many rooms the server keeps presence state
// (an announced set, perhaps a timer) for: those with a stream open here.
func PresenceRooms(s *Server) int {
	s.presence.mu.Lock()
	defer s.presence.mu.Unlock()
	return len(s.presence.rooms)
}
