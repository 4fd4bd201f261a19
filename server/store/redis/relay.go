package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/tail"
)

// Payload kinds on a room's channel: the first byte says what follows.
const (
	kindMessage  = 'm' // chat.Message JSON, published by the append script
	kindTyping   = 't' // chat.Typing JSON
	kindPresence = 'p' // chat.Presence JSON
	kindTopic    = 'r' // chat.TopicChange JSON (a topic change)
	kindMember   = 'g' // store.MemberChange JSON (membership gained, lost, room deleted)
)

// catchUpPage is how many stream entries one catch-up read fetches.
const catchUpPage = 500

// Listen sets the function that receives the events of the rooms this node
// watches: every message once, per room in id order, every published
// typing, presence and room event, and a Reset when catching up after an
// outage finds messages this node missed already deleted by retention. It
// is called from the store's one pub/sub reader goroutine, so it must not
// block.
func (s *Store) Listen(fn func(store.Event)) { s.relay.fn.Store(&fn) }

// Publish relays a typing, presence or room (topic) event to every node
// watching the room. Best effort: nothing is stored.
func (s *Store) Publish(ctx context.Context, e store.Event) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	var kind byte
	var v any
	switch {
	case e.Typing != nil:
		kind, v = kindTyping, e.Typing
	case e.Presence != nil:
		kind, v = kindPresence, e.Presence
	case e.Topic != nil:
		kind, v = kindTopic, e.Topic
	case e.Member != nil:
		kind, v = kindMember, e.Member
	default:
		return errors.New("publish event: only typing, presence, room and member events are published; messages go through Append")
	}
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	payload := append([]byte{kind}, body...)
	return s.wrap("publish event", s.rdb.Publish(ctx, s.keys.channel(e.Room), payload).Err())
}

// Watch subscribes this node to the room's channel (once, however many
// callers watch it) and returns when Redis has confirmed the subscription
// and the node has caught up from the stream, so every message appended
// after Watch returns reaches the listener.
func (s *Store) Watch(ctx context.Context, room string) (func(), error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	return s.relay.watch(ctx, room)
}

// relay is the node's single pub/sub connection and the rooms it watches.
//
// Gap-free delivery rests on one rule: every subscription Redis confirms
// (the first one, or after any reconnect) is followed by a read of the
// room's stream after the last id delivered, before the reader handles
// anything that came after the confirmation. Messages published while this
// node was not subscribed are therefore read from the stream, and pub/sub
// messages with an id not above the last delivered one are dropped.
type relay struct {
	s  *Store
	fn atomic.Pointer[func(store.Event)]

	tailHits atomic.Int64 // Since calls answered from memory (for tests)

	mu    sync.Mutex
	rooms map[string]*watch
	ps    *goredis.PubSub // the connection of the current epoch; nil between epochs
}

// watch is one watched room on this node. Its fields are guarded by
// relay.mu.
type watch struct {
	room  string
	refs  int
	based bool          // last holds the stream's newest id as of before subscribing
	last  string        // the newest id delivered (or the base); "" for none
	live  bool          // caught up since the latest confirmation: pub/sub may deliver
	ready chan struct{} // closed at the first catch-up

	linger *time.Timer // set while nobody watches: unsubscribes when it fires

	// tail holds the newest messages relayed, contiguous in the stream
	// from the base on, so that resumes on this node read memory instead
	// of Redis. A gap (a Reset) drops it for good: it is invalid then.
	tail *tail.Tail
}

// isReady reports whether the room has caught up once (ready is closed).
func (w *watch) isReady() bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}

// tailSize is how many messages a watched room keeps in memory: at most
// HistoryMax, so the tail never holds what Redis already deleted.
func (r *relay) tailSize() int {
	if m := r.s.opts.HistoryMax; m > 0 && m < tail.DefaultSize {
		return m
	}
	return tail.DefaultSize
}

// emit hands an event to the listener, if one is set.
func (r *relay) emit(e store.Event) {
	if fn := r.fn.Load(); fn != nil && *fn != nil {
		(*fn)(e)
	}
}

func newRelay(s *Store) *relay {
	return &relay{s: s, rooms: map[string]*watch{}}
}

func (r *relay) watch(ctx context.Context, room string) (func(), error) {
	r.mu.Lock()
	w := r.rooms[room]
	if w == nil {
		w = &watch{room: room, ready: make(chan struct{}), tail: tail.New(r.tailSize())}
		r.rooms[room] = w
		w.refs++
		r.mu.Unlock()
		// The base must be read before subscribing: a message appended
		// between the two is then found by the catch-up that follows the
		// confirmation.
		last, err := r.s.rdb.XRevRangeN(ctx, r.s.keys.stream(room), "+", "-", 1).Result()
		if err != nil {
			r.release(w)
			return nil, r.s.wrap("watch room", err)
		}
		r.mu.Lock()
		var base chat.ID // zero: the stream's start
		if len(last) > 0 {
			w.last = last[0].ID
			base, _ = chat.ParseID(w.last)
		}
		w.based = true
		w.tail.Reset(base)
		if r.ps != nil {
			// An error here means the connection is going; the reader's
			// next epoch subscribes every based room.
			_ = r.ps.Subscribe(r.s.ctx, r.s.keys.channel(room))
		}
	} else {
		w.refs++
		if w.linger != nil {
			w.linger.Stop()
			w.linger = nil
		}
	}
	ready := w.ready
	r.mu.Unlock()

	timer := time.NewTimer(r.s.opts.WatchTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-ready:
		var once sync.Once
		return func() { once.Do(func() { r.release(w) }) }, nil
	case <-ctx.Done():
		err = fmt.Errorf("watch room %q: %w", room, ctx.Err())
	case <-timer.C:
		err = fmt.Errorf("watch room %q: no subscription within %v: %w", room, r.s.opts.WatchTimeout, store.ErrUnavailable)
	case <-r.s.closing:
		err = fmt.Errorf("watch room %q: %w", room, store.ErrClosed)
	}
	r.release(w)
	return nil, err
}

// release drops one reference; the last one unsubscribes.
func (r *relay) release(w *watch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.refs--
	if w.refs > 0 || r.rooms[w.room] != w {
		return
	}
	if d := r.s.opts.WatchLinger; d > 0 && w.isReady() && r.s.ctx.Err() == nil {
		w.linger = time.AfterFunc(d, func() { r.expire(w) })
		return
	}
	r.drop(w)
}

// expire ends a lingering watch nobody took up again.
func (r *relay) expire(w *watch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.refs == 0 && r.rooms[w.room] == w {
		r.drop(w)
	}
}

// drop forgets a room and unsubscribes it; r.mu is held.
func (r *relay) drop(w *watch) {
	if w.linger != nil {
		w.linger.Stop()
		w.linger = nil
	}
	delete(r.rooms, w.room)
	if r.ps != nil && w.based {
		_ = r.ps.Unsubscribe(r.s.ctx, r.s.keys.channel(w.room))
	}
}

// run keeps a pub/sub connection until ctx ends: each epoch is one
// connection; when it fails the next one starts after a short backoff and
// resubscribes every room.
func (r *relay) run(ctx context.Context) {
	const minBackoff = 50 * time.Millisecond
	backoff := minBackoff
	for ctx.Err() == nil {
		connected, err := r.epoch(ctx)
		if ctx.Err() != nil {
			return
		}
		r.s.wrap("relay", err) // logs the outage once
		if connected {
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// stop closes the current connection, which ends a blocked receive.
func (r *relay) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.rooms {
		if w.linger != nil {
			w.linger.Stop()
			w.linger = nil
		}
	}
	if r.ps != nil {
		_ = r.ps.Close()
	}
}

func (r *relay) epoch(ctx context.Context) (connected bool, err error) {
	ps := r.s.rdb.Subscribe(ctx) // no channels yet: no connection yet
	defer func() {
		r.mu.Lock()
		r.ps = nil
		for _, w := range r.rooms {
			w.live = false
		}
		r.mu.Unlock()
		_ = ps.Close()
	}()
	if err := ps.Ping(ctx); err != nil { // dials
		return false, fmt.Errorf("connect pub/sub: %w", err)
	}
	r.mu.Lock()
	r.ps = ps
	var chans []string
	for room, w := range r.rooms {
		if w.based {
			chans = append(chans, r.s.keys.channel(room))
		}
	}
	if len(chans) > 0 {
		err = ps.Subscribe(ctx, chans...)
	}
	r.mu.Unlock()
	if err != nil {
		return true, fmt.Errorf("subscribe: %w", err)
	}
	interval := r.s.opts.HealthInterval
	silent := 0
	for {
		msg, err := ps.ReceiveTimeout(ctx, interval)
		if ctx.Err() != nil {
			return true, nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Nothing for a whole interval: ask; twice silent, the
				// connection is dead (a half-open TCP connection never
				// reports an error by itself).
				if silent++; silent >= 2 {
					return true, fmt.Errorf("pub/sub connection silent for %v: %w", 2*interval, store.ErrUnavailable)
				}
				if err := ps.Ping(ctx); err != nil {
					return true, fmt.Errorf("ping pub/sub: %w", err)
				}
				continue
			}
			return true, fmt.Errorf("receive: %w", err)
		}
		silent = 0
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				if err := r.confirmed(ctx, m.Channel); err != nil {
					return true, err
				}
			}
		case *goredis.Message:
			r.deliver(m)
		case *goredis.Pong:
			r.s.health.up()
		}
	}
}

// confirmed handles Redis's confirmation of a subscription: catch up from
// the stream, then let pub/sub deliver.
func (r *relay) confirmed(ctx context.Context, channel string) error {
	room, ok := r.s.keys.roomOfChannel(channel)
	if !ok {
		return nil
	}
	r.mu.Lock()
	w := r.rooms[room]
	r.mu.Unlock()
	if w == nil || !w.based {
		return nil
	}
	if err := r.catchUp(ctx, w); err != nil {
		return err
	}
	r.mu.Lock()
	if r.rooms[room] == w {
		w.live = true
		if !w.isReady() {
			close(w.ready)
		}
	}
	r.mu.Unlock()
	return nil
}

// catchUp delivers every message of w's room after the last one delivered.
// Should retention have deleted some of them meanwhile (a node cut off for
// longer than the room's history lasts), it relays a Reset before the
// messages that are left: the streams on this node have a gap that only a
// reload of history mends. So it does when the room's newest id is older
// than the last one delivered (Redis was replaced or restored from an older
// backup): it then goes on from Redis's newest, or every new message would
// be taken for one delivered already until Redis's clock passed the old id.
// A room whose stream was empty when it was watched (last "") counts too:
// everything in it came after the base.
func (r *relay) catchUp(ctx context.Context, w *watch) error {
	for {
		r.mu.Lock()
		if r.rooms[w.room] != w {
			r.mu.Unlock()
			return nil
		}
		after := w.last
		r.mu.Unlock()
		rd, err := r.s.since(ctx, w.room, after, catchUpPage)
		if errors.Is(err, store.ErrNotFound) {
			return nil // no such room (yet): nothing to catch up
		}
		if err != nil {
			return fmt.Errorf("catch up room %q: %w", w.room, err)
		}
		afterID, _ := chat.ParseID(after) // "" parses as zero
		switch {
		case afterID.Compare(rd.last) > 0:
			r.s.log.Warn("redis holds older messages than this node delivered (replaced or restored?); its streams of the room are reset", "room", w.room, "after", after, "redis_last", rd.lastID)
			r.reset(w, true, rd.lastID)
			continue
		case rd.trimmed:
			r.s.log.Warn("messages this node missed were deleted by retention before it caught up; its streams of the room are reset", "room", w.room, "after", after)
			r.reset(w, false, "")
		}
		for _, m := range rd.msgs {
			r.offer(w, m)
		}
		if !rd.more {
			return nil
		}
	}
}

// reset relays a Reset for w's room and drops its tail: the node's streams
// of the room have a gap. With rewind, the newest id delivered moves back
// to last, Redis's newest ("" for none).
func (r *relay) reset(w *watch, rewind bool, last string) {
	r.mu.Lock()
	w.tail.Drop()
	current := r.rooms[w.room] == w
	if current && rewind {
		w.last = last
	}
	r.mu.Unlock()
	if current {
		r.emit(store.Event{Room: w.room, Reset: &chat.Reset{Room: w.room, Reason: chat.ResetHistoryTrimmed}})
	}
}

// offer delivers m unless an equal or newer id was delivered already.
func (r *relay) offer(w *watch, m chat.Message) {
	id, err := chat.ParseID(m.ID)
	if err != nil {
		return
	}
	r.mu.Lock()
	ok := r.rooms[w.room] == w && (w.last == "" || chat.CompareIDs(m.ID, w.last) > 0)
	if ok {
		w.last = m.ID
		w.tail.Push(id, m)
	}
	r.mu.Unlock()
	if ok {
		r.emit(store.Event{Room: w.room, Message: &m})
	}
}

// deliver handles one pub/sub message.
func (r *relay) deliver(pm *goredis.Message) {
	room, ok := r.s.keys.roomOfChannel(pm.Channel)
	if !ok || len(pm.Payload) < 2 {
		return
	}
	r.mu.Lock()
	w := r.rooms[room]
	live := w != nil && w.live
	r.mu.Unlock()
	if !live {
		// Not caught up since the latest confirmation: the catch-up that
		// follows the next confirmation reads this message from the stream.
		return
	}
	body := []byte(pm.Payload[1:])
	switch pm.Payload[0] {
	case kindMessage:
		var m chat.Message
		if err := json.Unmarshal(body, &m); err != nil {
			r.s.log.Error("skip undecodable pub/sub message", "room", room, "err", err)
			return
		}
		r.offer(w, m)
	case kindTyping:
		var t chat.Typing
		if json.Unmarshal(body, &t) == nil {
			r.emit(store.Event{Room: room, Typing: &t})
		}
	case kindPresence:
		var p chat.Presence
		if json.Unmarshal(body, &p) == nil {
			r.emit(store.Event{Room: room, Presence: &p})
		}
	case kindTopic:
		var ri chat.TopicChange
		if json.Unmarshal(body, &ri) == nil {
			r.emit(store.Event{Room: room, Topic: &ri})
		}
	case kindMember:
		var mc store.MemberChange
		if json.Unmarshal(body, &mc) == nil {
			r.emit(store.Event{Room: room, Member: &mc})
		}
	}
}

// sinceFromTail answers Since from a watched room's in-memory tail when it
// can do so exactly: the room is live on this node, the tail reaches back
// to after, and the relay has delivered the room's newest message (checked
// against Redis's last_id, one small read). ok is false when Redis must be
// asked instead.
func (r *relay) sinceFromTail(ctx context.Context, room string, after chat.ID, max int) (msgs []chat.Message, more, ok bool) {
	r.mu.Lock()
	w := r.rooms[room]
	usable := w != nil && w.live && w.tail.Valid()
	r.mu.Unlock()
	if !usable {
		return nil, false, false
	}
	last, err := r.s.rdb.HGet(ctx, r.s.keys.room(room), "last_id").Result()
	if err != nil || last == "" {
		return nil, false, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rooms[room] != w || !w.live || w.last != last {
		return nil, false, false
	}
	// Redis's retention is not the tail's business: the tail holds at most
	// HistoryMax messages, all of them still in the stream, and says ok
	// false for a resume point before them.
	msgs, more, _, ok = w.tail.Since(after, max)
	if ok {
		r.tailHits.Add(1)
	}
	return msgs, more, ok
}
