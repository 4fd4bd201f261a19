package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/fanout"
	"github.com/ssechat/chat/server/store"
)

// presenceWindow is the shortest time between two presence events of one
// room on one node: changes that come faster are coalesced into the next
// event, so streams opening and closing in a loop cost every other stream
// of the room at most four events a second.
const presenceWindow = 250 * time.Millisecond

// presenceReadTimeout bounds a flush's read of the store's online list.
const presenceReadTimeout = 5 * time.Second

// presence records who is in which room and tells each room's streams on
// this node who came and went.
//
// Each stream joins the store's presence for its room (the store counts
// over every node). A nick's first stream and last stream on this node
// (a second tab announces nothing) are hints that the room's online set may
// have changed: a hint of this node's own, and one relayed to every node
// through the store (announce). Streams never see the hints. Instead each
// node keeps, per room with a stream open here, the online set it last
// announced to its streams; a hint arms the room's timer, and when it fires
// (flush) the node reads the store's online set and publishes one presence
// event with the difference. So:
//   - a room's streams get at most one presence event per presenceWindow;
//   - a nick's changes alternate on every stream (a change is only sent
//     when it differs from what was announced), and a join and a leave
//     within one window cancel out;
//   - N nicks joining cost each stream O(N) bytes (changes only, never the
//     whole list);
//   - after the last hint the announced set is the store's, whatever order
//     the hints of several nodes arrived in.
//
// A stream's welcome lists the announced set, read under the room's lock
// at the moment the stream subscribes to the room's presence topic, so the
// events that follow it start from exactly that set.
type presence struct {
	st     store.Store
	engine *fanout.Engine
	log    *slog.Logger
	window time.Duration

	// ctx ends at close, cutting a flush's store read short.
	ctx    context.Context
	cancel context.CancelFunc
	// flushes counts the timers armed and the flushes running, so that
	// close can wait for them.
	flushes sync.WaitGroup

	mu     sync.Mutex
	closed bool
	counts map[presenceKey]int      // streams of a nick in a room on this node
	rooms  map[string]*roomPresence // rooms with a stream open on this node
}

type presenceKey struct{ room, nick string }

// roomPresence is what one node announced of one room, and its pending
// flush. It lives while a stream of the room is open on this node.
type roomPresence struct {
	room    string
	topic   string
	streams int // guarded by presence.mu

	mu        sync.Mutex
	announced []string    // the online set the room's streams were last told; never changed in place
	dirty     bool        // a hint came since the last read of the store
	armed     bool        // a flush is scheduled or running
	timer     *time.Timer // the scheduled flush
	gone      bool        // the room's last stream here closed, or the server did
}

// presenceTopic is the engine topic of a room's presence events, apart from
// the room's own topic: a stream subscribes to it only when it reads the
// announced set for its welcome, while it subscribes to the room's messages
// earlier (before reading the history). Room names hold no ':'.
func presenceTopic(room string) string { return "presence:" + room }

func newPresence(st store.Store, engine *fanout.Engine, log *slog.Logger) *presence {
	ctx, cancel := context.WithCancel(context.Background())
	return &presence{
		st: st, engine: engine, log: log, window: presenceWindow,
		ctx: ctx, cancel: cancel,
		counts: map[presenceKey]int{}, rooms: map[string]*roomPresence{},
	}
}

// join records stream as a stream of nick in room, subscribes it to the
// room's presence events and returns the online set its welcome lists, and
// leave, which undoes it when the stream ends.
func (p *presence) join(ctx context.Context, room, nick string, stream *fanout.Stream) (online []string, leave func(), err error) {
	conn := randomToken()[:16]
	stored, err := p.st.Join(ctx, room, nick, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("join room: %w", err)
	}
	if stored == nil {
		stored = []string{}
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.undoJoin(room, nick, conn)
		return nil, nil, errShuttingDown
	}
	k := presenceKey{room, nick}
	p.counts[k]++
	first := p.counts[k] == 1
	rp := p.rooms[room]
	if rp == nil {
		// A room new to this node starts from the store's list, which
		// holds this join already.
		rp = &roomPresence{room: room, topic: presenceTopic(room), announced: stored}
		p.rooms[room] = rp
	}
	rp.streams++
	rp.mu.Lock()
	p.mu.Unlock()
	stream.Subscribe(rp.topic)
	online = rp.announced
	if first {
		p.hintLocked(rp)
	}
	rp.mu.Unlock()

	if first {
		p.announce(ctx, room, nick, chat.PresenceJoin, stored)
	}
	leave = func() { p.leave(room, nick, conn) }
	return online, leave, nil
}

// undoJoin takes back a store join that the node will not count.
func (p *presence) undoJoin(room, nick, conn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.st.Leave(ctx, room, nick, conn); err != nil && !errors.Is(err, store.ErrClosed) {
		p.log.Warn("leave room", "room", room, "nick", nick, "err", err)
	}
}

// leave ends one stream of nick in room (join's leave).
func (p *presence) leave(room, nick, conn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stored, err := p.st.Leave(ctx, room, nick, conn)
	if err != nil && !errors.Is(err, store.ErrClosed) {
		p.log.Warn("leave room", "room", room, "nick", nick, "err", err)
	}

	p.mu.Lock()
	k := presenceKey{room, nick}
	p.counts[k]--
	last := p.counts[k] <= 0
	if last {
		delete(p.counts, k)
	}
	if rp := p.rooms[room]; rp != nil {
		rp.streams--
		rp.mu.Lock()
		if rp.streams <= 0 {
			// Nobody here to tell: the room's state goes, and with it
			// its timer. A stream that opens later starts afresh.
			delete(p.rooms, room)
			p.stopLocked(rp)
		} else if last {
			p.hintLocked(rp)
		}
		rp.mu.Unlock()
	}
	p.mu.Unlock()

	// The other nodes need a hint only when the store no longer counts
	// the nick: another stream of it elsewhere keeps it online.
	if last && err == nil && !slices.Contains(stored, nick) {
		if stored == nil {
			stored = []string{}
		}
		p.announce(ctx, room, nick, chat.PresenceLeave, stored)
	}
}

// announce relays a hint to every node (itself included) that room's online
// set changed. It keeps the form of protocol version 1 (nick, state and the
// store's online list), so that a node of an older version, during a rolling
// upgrade, still passes something sensible to its streams; a node of this
// version only notes that the room changed (hint).
func (p *presence) announce(ctx context.Context, room, nick, state string, online []string) {
	err := p.st.Publish(ctx, store.Event{Room: room, Presence: &chat.Presence{Room: room, Nick: nick, State: state, Online: online}})
	if err != nil && !errors.Is(err, store.ErrClosed) {
		p.log.Warn("publish presence", "room", room, "nick", nick, "err", err)
	}
}

// hint notes that room's online set may have changed (a relayed presence
// event). A room with no stream here is none of this node's business. It
// never blocks: it may be called by the store's listener.
func (p *presence) hint(room string) {
	p.mu.Lock()
	rp := p.rooms[room]
	if rp == nil {
		p.mu.Unlock()
		return
	}
	rp.mu.Lock()
	p.mu.Unlock()
	p.hintLocked(rp)
	rp.mu.Unlock()
}

// hintLocked marks rp dirty and, unless a flush is already scheduled or
// running, schedules one a window from now. rp.mu is held.
func (p *presence) hintLocked(rp *roomPresence) {
	rp.dirty = true
	if rp.armed || rp.gone {
		return
	}
	p.armLocked(rp)
}

// armLocked schedules rp's flush a window from now. rp.mu is held.
func (p *presence) armLocked(rp *roomPresence) {
	rp.armed = true
	p.flushes.Add(1)
	rp.timer = time.AfterFunc(p.window, func() { p.flush(rp) })
}

// stopLocked ends rp: no flush runs for it after this (a running one
// notices gone and publishes nothing). rp.mu is held.
func (p *presence) stopLocked(rp *roomPresence) {
	rp.gone = true
	if rp.armed && rp.timer.Stop() {
		// The flush will not run: its count is given back here.
		rp.armed = false
		p.flushes.Done()
	}
}

// flush reads the store's online set of rp's room and publishes the
// difference from the announced set as one presence event. Hints that come
// while it reads schedule the next flush a window after this one, so the
// room's streams never get two events closer than the window.
func (p *presence) flush(rp *roomPresence) {
	defer p.flushes.Done()
	rp.mu.Lock()
	if rp.gone {
		rp.armed = false
		rp.mu.Unlock()
		return
	}
	rp.dirty = false
	rp.mu.Unlock()

	ctx, cancel := context.WithTimeout(p.ctx, presenceReadTimeout)
	online, err := p.st.Online(ctx, rp.room)
	cancel()

	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.gone {
		rp.armed = false
		return
	}
	if err != nil {
		// Try again a window later; the store logs its own outages.
		p.log.Debug("read online set", "room", rp.room, "err", err)
		rp.dirty = true
	} else {
		p.publishLocked(rp, online)
	}
	if rp.dirty {
		p.armLocked(rp)
		return
	}
	rp.armed = false
}

// publishLocked sends the room's streams the changes from the announced set
// to online, if any, and makes online the announced set. Under rp.mu, so
// that a stream subscribing meanwhile (join) either reads the old set and
// gets the event, or reads the new set and does not.
func (p *presence) publishLocked(rp *roomPresence, online []string) {
	changes := presenceChanges(rp.announced, online)
	if online == nil {
		online = []string{}
	}
	rp.announced = online
	if len(changes) == 0 {
		return
	}
	ev := chat.NewPresence(rp.room, changes)
	f, err := ephemeralFrame(chat.EventPresence, &ev)
	if err != nil {
		p.log.Error("encode presence", "room", rp.room, "err", err)
		return
	}
	// Never dropped from a full queue: a stream that lost one would show
	// a nick online forever, or miss a join and then see a leave. One
	// that cannot take it is closed and resumes with a fresh welcome.
	f.Keep = true
	p.engine.Publish(rp.topic, f)
}

// presenceChanges returns the changes from the online set was to now: a
// leave for each nick only in was, a join for each only in now, sorted by
// nick.
func presenceChanges(was, now []string) []chat.PresenceChange {
	in := make(map[string]bool, len(was))
	for _, n := range was {
		in[n] = true
	}
	var changes []chat.PresenceChange
	for _, n := range now {
		if in[n] {
			delete(in, n)
			continue
		}
		changes = append(changes, chat.PresenceChange{Nick: n, State: chat.PresenceJoin})
	}
	for n := range in {
		changes = append(changes, chat.PresenceChange{Nick: n, State: chat.PresenceLeave})
	}
	slices.SortFunc(changes, func(a, b chat.PresenceChange) int { return strings.Compare(a.Nick, b.Nick) })
	return changes
}

// close stops every room's timer and waits for flushes under way; hints
// after it do nothing. The server calls it when it shuts down.
func (p *presence) close() {
	p.mu.Lock()
	p.closed = true
	for room, rp := range p.rooms {
		rp.mu.Lock()
		p.stopLocked(rp)
		rp.mu.Unlock()
		delete(p.rooms, room)
	}
	p.mu.Unlock()
	p.cancel()
	p.flushes.Wait()
}
