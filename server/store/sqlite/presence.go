package sqlite

import (
	"context"
	"slices"

	"github.com/ssechat/chat/server/store"
)

// Join records one connection of nick in room and returns who is online.
// Presence lives in memory only: it vanishes with the process.
func (s *Store) Join(ctx context.Context, room, nick, conn string) ([]string, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	s.presMu.Lock()
	defer s.presMu.Unlock()
	conns := s.presence[room]
	if conns == nil {
		conns = map[presenceKey]string{}
		s.presence[room] = conns
	}
	conns[presenceKey{nick, conn}] = nick
	return online(conns), nil
}

// Leave removes one connection of nick from room and returns who is online.
// Leaving twice is not an error.
func (s *Store) Leave(ctx context.Context, room, nick, conn string) ([]string, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	s.presMu.Lock()
	defer s.presMu.Unlock()
	conns := s.presence[room]
	delete(conns, presenceKey{nick, conn})
	if len(conns) == 0 {
		delete(s.presence, room)
	}
	return online(conns), nil
}

// Online returns the distinct nicks connected to room, sorted.
func (s *Store) Online(ctx context.Context, room string) ([]string, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	s.presMu.Lock()
	defer s.presMu.Unlock()
	return online(s.presence[room]), nil
}

func online(conns map[presenceKey]string) []string {
	out := make([]string, 0, len(conns))
	for _, nick := range conns {
		out = append(out, nick)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Publish hands an ephemeral event to the listener at once.
func (s *Store) Publish(ctx context.Context, e store.Event) error {
	if s.isDown.Load() {
		return store.ErrClosed
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if s.listen != nil {
		s.listen(e)
	}
	return nil
}

// Listen sets the function that receives every committed message and every
// published event, every room's (Watch is not needed here). It is called
// from one goroutine at a time: the writer after each commit (before the
// appends of that commit return), or a Publish caller. fn must not block
// and must not call the store: the writer waits for it.
func (s *Store) Listen(fn func(store.Event)) {
	s.listenMu.Lock()
	s.listen = fn
	s.listenMu.Unlock()
}

// Watch is a no-op: this store relays every room.
func (s *Store) Watch(ctx context.Context, room string) (func(), error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	return func() {}, nil
}
