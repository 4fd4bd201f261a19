package server

import (
	"context"
	"time"
)

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

// RoomAccess runs the membership rule every room endpoint asks, for
// BenchmarkRoomAccess: nick signed in, or anonymous when nick is "".
func RoomAccess(s *Server, nick, room string) error {
	c := anonymous
	if nick != "" {
		c = signedIn(nick)
	}
	_, _, err := s.roomAccess(context.Background(), c, room)
	return err
}

// ErrRoomNotFound is the answer of a room the caller cannot read.
var ErrRoomNotFound error = errRoomNotFound
