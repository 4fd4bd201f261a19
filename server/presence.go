package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// presence records who is in which room: each stream joins the store's
// presence for its room, and the room hears of a nick's first stream
// (join) and last (leave). It counts a nick's streams in a room on this
// node, so a second tab or device announces nothing. Announcements go
// through announce alone, the place where they can later be coalesced per
// room.
type presence struct {
	st  store.Store
	log *slog.Logger

	mu     sync.Mutex
	counts map[presenceKey]int // streams of a nick in a room on this node
}

type presenceKey struct{ room, nick string }

func newPresence(st store.Store, log *slog.Logger) *presence {
	return &presence{st: st, log: log, counts: map[presenceKey]int{}}
}

// join records a stream of nick in room and, when it is the nick's first
// stream here, tells the room. It returns who is online, and leave, which
// undoes it when the stream ends.
func (p *presence) join(ctx context.Context, room, nick string) (online []string, leave func(), err error) {
	conn := randomToken()[:16]
	online, err = p.st.Join(ctx, room, nick, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("join room: %w", err)
	}
	if online == nil {
		online = []string{}
	}
	if p.first(room, nick) {
		p.announce(ctx, room, nick, chat.PresenceJoin, online)
	}
	leave = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		online, err := p.st.Leave(ctx, room, nick, conn)
		last := p.last(room, nick)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				p.log.Warn("leave room", "room", room, "nick", nick, "err", err)
			}
			return
		}
		if last && !slices.Contains(online, nick) {
			if online == nil {
				online = []string{}
			}
			p.announce(ctx, room, nick, chat.PresenceLeave, online)
		}
	}
	return online, leave, nil
}

// first counts a stream of nick in room on this node and reports whether it
// is the nick's first here.
func (p *presence) first(room, nick string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := presenceKey{room, nick}
	p.counts[k]++
	return p.counts[k] == 1
}

// last uncounts a stream and reports whether it was the nick's last here.
func (p *presence) last(room, nick string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := presenceKey{room, nick}
	p.counts[k]--
	if p.counts[k] <= 0 {
		delete(p.counts, k)
		return true
	}
	return false
}

// announce publishes a presence change to the room's streams on every node.
func (p *presence) announce(ctx context.Context, room, nick, state string, online []string) {
	err := p.st.Publish(ctx, store.Event{Room: room, Presence: &chat.Presence{Room: room, Nick: nick, State: state, Online: online}})
	if err != nil && !errors.Is(err, store.ErrClosed) {
		p.log.Warn("publish presence", "room", room, "nick", nick, "err", err)
	}
}
