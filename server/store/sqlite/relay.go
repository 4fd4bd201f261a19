package sqlite

import (
	"context"

	"github.com/ssechat/chat/server/store"
)

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
