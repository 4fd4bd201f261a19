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
// The model starts a subscription only from a tea.Cmd (startCmd), never in
// Update, and Bubble Tea runs commands concurrently in no set order. So every
// start and stop carries a generation from the model's one counter, and a
// start older than the newest start or stop of its room (or than the last
// stopAll) is dropped: a late command can neither bring back a stream that
// was stopped nor replace a newer one.
//
// Its goroutines end when a room is stopped or when Close is called; Close
// waits for them.
type subscriptions struct {
	be     Backend
	out    chan eventMsg
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	rooms  map[string]subscription
	latest map[string]int // newest generation started or stopped, per room
	floor  int            // generations up to this one were stopped by stopAll
}

type subscription struct {
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
		latest: map[string]int{},
	}
}

// startCmd is the command that subscribes to room from lastID ("" for live
// only) as generation gen, replacing an older subscription to it. Its message
// is nil: the subscription's events arrive through next.
func (s *subscriptions) startCmd(room string, gen int, lastID string) tea.Cmd {
	return func() tea.Msg {
		s.start(room, gen, lastID)
		return nil
	}
}

// start subscribes to room from lastID unless gen is older than what the
// room has seen (see subscriptions). It does not block: the HTTP work
// happens in the client's goroutines.
func (s *subscriptions) start(room string, gen int, lastID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil || gen <= s.floor || gen <= s.latest[room] {
		return
	}
	s.latest[room] = gen
	if old, ok := s.rooms[room]; ok {
		old.cancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.rooms[room] = subscription{cancel: cancel}
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

// stop ends the subscription to room, and any start of it up to generation
// gen that is still on its way.
func (s *subscriptions) stop(room string, gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest[room] = max(s.latest[room], gen)
	if old, ok := s.rooms[room]; ok {
		old.cancel()
		delete(s.rooms, room)
	}
}

// stopAll ends every subscription, and every start up to generation gen
// still on its way, but keeps s usable.
func (s *subscriptions) stopAll(gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.floor = max(s.floor, gen)
	for room, old := range s.rooms {
		old.cancel()
		delete(s.rooms, room)
	}
}

// Close ends every subscription and waits for their goroutines. A start
// command that runs later (Bubble Tea does not wait for commands when the
// program ends) finds s closed and starts nothing.
func (s *subscriptions) Close() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
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
