package tui

import (
	"context"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/client"
)

// eventMsg is one SSE event (or connection state change) of one room's
// subscription. gen tells a live subscription's events from those of one the
// model has since stopped.
type eventMsg struct {
	gen int
	ev  client.Event
}

// subscriptions runs one Subscribe per joined room and merges their events
// into one channel, which the model reads with one re-armed command, so the
// events of a room reach Update in the order the server sent them.
//
// Its goroutines end when a room is stopped or when Close is called; Close
// waits for them.
type subscriptions struct {
	be     Backend
	out    chan eventMsg
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	rooms map[string]subscription
}

type subscription struct {
	gen    int
	cancel context.CancelFunc
}

func newSubscriptions(ctx context.Context, be Backend) *subscriptions {
	ctx, cancel := context.WithCancel(ctx)
	return &subscriptions{
		be:     be,
		out:    make(chan eventMsg, 64),
		ctx:    ctx,
		cancel: cancel,
		rooms:  map[string]subscription{},
	}
}

// start subscribes to room from lastID ("" for live only), replacing an
// older subscription to it. It does not block: the HTTP work happens in the
// client's goroutines.
func (s *subscriptions) start(room string, gen int, lastID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	if old, ok := s.rooms[room]; ok {
		old.cancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.rooms[room] = subscription{gen: gen, cancel: cancel}
	events := s.be.Subscribe(ctx, room, lastID)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// The client closes events promptly once ctx ends; read it to the
		// end so its goroutines are never stuck on a send.
		defer func() {
			for range events {
			}
		}()
		for ev := range events {
			select {
			case s.out <- eventMsg{gen: gen, ev: ev}:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// stop ends the subscription to room.
func (s *subscriptions) stop(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.rooms[room]; ok {
		old.cancel()
		delete(s.rooms, room)
	}
}

// stopAll ends every subscription but keeps s usable.
func (s *subscriptions) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for room, old := range s.rooms {
		old.cancel()
		delete(s.rooms, room)
	}
}

// Close ends every subscription and waits for their goroutines.
func (s *subscriptions) Close() {
	s.cancel()
	s.wg.Wait()
}

// next is the command that delivers the next event; Update re-arms it after
// each one, so exactly one read is outstanding at any time.
func (s *subscriptions) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case ev := <-s.out:
			return ev
		case <-s.ctx.Done():
			return nil
		}
	}
}
