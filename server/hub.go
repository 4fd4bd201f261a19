package server

import (
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// frame is one event encoded once as its complete SSE bytes and shared,
// read-only, by every stream that sends it.
type frame struct {
	data    []byte
	id      chat.ID // messages only
	message bool    // a message: it has an id, and streams skip it if not newer than the last sent
	keep    bool    // never dropped (messages and resets); else ephemeral
}

// appendFrame appends the SSE encoding of one event: an optional id line,
// the event line and one data line. json.Marshal escapes every newline and
// carriage return inside strings, so data is always a single line and no
// text can add a field or an event.
func appendFrame(dst []byte, event, id string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	if id != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "event: "...)
	dst = append(dst, event...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, data...)
	dst = append(dst, "\n\n"...)
	return dst, nil
}

// appendMessageFrame appends the SSE encoding of a message event and returns
// its parsed id. Live messages (messageFrame) and replays from the store
// (handleEvents) are encoded by this one function, so a stream cannot tell
// them apart.
func appendMessageFrame(dst []byte, m *chat.Message) ([]byte, chat.ID, error) {
	id, err := chat.ParseID(m.ID)
	if err != nil {
		return dst, chat.ID{}, err
	}
	dst, err = appendFrame(dst, chat.EventMessage, m.ID, m)
	return dst, id, err
}

// messageFrame encodes a message event. The id is parsed here, once, so
// streams compare ids as numbers.
func messageFrame(m *chat.Message) (*frame, error) {
	b, id, err := appendMessageFrame(make([]byte, 0, len(m.Text)+len(m.Room)+len(m.Nick)+len(m.ClientID)+160), m)
	if err != nil {
		return nil, err
	}
	return &frame{data: b, id: id, message: true, keep: true}, nil
}

func ephemeralFrame(event string, v any) (*frame, error) {
	b, err := appendFrame(nil, event, "", v)
	if err != nil {
		return nil, err
	}
	return &frame{data: b}, nil
}

// resetFrame encodes a reset the store relayed. Like a message it is never
// dropped: a stream that lost it would go on with a silent gap. It carries
// no id, so the client's last event id stays on the last message.
func resetFrame(r *chat.Reset) (*frame, error) {
	f, err := ephemeralFrame(chat.EventReset, r)
	if err != nil {
		return nil, err
	}
	f.keep = true
	return f, nil
}

// subscriber is one stream's queue. The hub appends to it under its own
// small lock and never blocks; the stream's handler goroutine takes the
// whole queue and writes it.
type subscriber struct {
	room string
	max  int
	wake chan struct{} // 1-buffered: "the queue is not empty" or "evicted"

	mu        sync.Mutex
	queue     []*frame
	ephemeral int  // ephemeral frames in queue
	evicted   bool // a kept frame would have overflowed: the stream must end

	idx int // position in the hub's room slice; guarded by hub.mu
}

// push queues f. A full queue first loses an ephemeral event (the new one,
// or for a message or reset the oldest queued); a message or reset that
// still does not fit evicts the subscriber (its client resumes from its
// last id, and the store's answer to that resume tells it of any gap). It
// reports whether an ephemeral frame was dropped and whether the subscriber
// was evicted now.
func (s *subscriber) push(f *frame) (dropped, evicted bool) {
	s.mu.Lock()
	if s.evicted {
		s.mu.Unlock()
		return false, false
	}
	if len(s.queue) >= s.max {
		if !f.keep {
			s.mu.Unlock()
			return true, false
		}
		if s.ephemeral == 0 {
			s.evicted = true
			clear(s.queue)
			s.queue = s.queue[:0]
			s.mu.Unlock()
			s.signal()
			return false, true
		}
		s.dropOneEphemeral()
		dropped = true
	}
	s.queue = append(s.queue, f)
	if !f.keep {
		s.ephemeral++
	}
	s.mu.Unlock()
	s.signal()
	return dropped, false
}

// dropOneEphemeral removes the oldest ephemeral frame; s.mu is held.
func (s *subscriber) dropOneEphemeral() {
	for i, q := range s.queue {
		if !q.keep {
			copy(s.queue[i:], s.queue[i+1:])
			s.queue[len(s.queue)-1] = nil
			s.queue = s.queue[:len(s.queue)-1]
			s.ephemeral--
			return
		}
	}
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns everything queued and whether the subscriber was evicted. buf
// (the slice returned by the previous take, written and cleared) becomes
// the new queue, so a busy stream allocates no new queue.
func (s *subscriber) take(buf []*frame) (frames []*frame, evicted bool) {
	s.mu.Lock()
	frames = s.queue
	if cap(buf) > 128 {
		buf = nil // let a burst's big slice go: an idle stream keeps little
	}
	s.queue = buf[:0]
	s.ephemeral = 0
	evicted = s.evicted
	s.mu.Unlock()
	return frames, evicted
}

// hub fans events out to the subscribers of each room. It is fed only by the
// store's listener (dispatch), which the store calls from one goroutine at a
// time, per room in id order.
type hub struct {
	stats *stats
	log   *slog.Logger

	mu    sync.RWMutex
	rooms map[string][]*subscriber

	pmu      sync.Mutex
	presence map[presenceKey]int // streams of a nick in a room on this node
}

type presenceKey struct{ room, nick string }

func newHub(st *stats, log *slog.Logger) *hub {
	return &hub{stats: st, log: log, rooms: map[string][]*subscriber{}, presence: map[presenceKey]int{}}
}

// subscribe registers a new subscriber of room; from now on it queues every
// event dispatched for the room.
func (h *hub) subscribe(room string, max int) *subscriber {
	s := &subscriber{room: room, max: max, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	subs := h.rooms[room]
	s.idx = len(subs)
	h.rooms[room] = append(subs, s)
	h.mu.Unlock()
	return s
}

// unsubscribe removes s; it receives nothing more.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	subs := h.rooms[s.room]
	last := len(subs) - 1
	if s.idx <= last && subs[s.idx] == s {
		subs[s.idx] = subs[last]
		subs[s.idx].idx = s.idx
		subs[last] = nil
		subs = subs[:last]
		if len(subs) == 0 {
			delete(h.rooms, s.room)
		} else {
			h.rooms[s.room] = subs
		}
	}
	h.mu.Unlock()
}

// dispatch is the store's listener: it encodes the event once and queues it
// on every subscriber of its room. It never blocks on a stream.
func (h *hub) dispatch(e store.Event) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	subs := h.rooms[e.Room]
	if len(subs) == 0 {
		return
	}
	var f *frame
	var err error
	switch {
	case e.Message != nil:
		f, err = messageFrame(e.Message)
	case e.Typing != nil:
		f, err = ephemeralFrame(chat.EventTyping, e.Typing)
	case e.Presence != nil:
		f, err = ephemeralFrame(chat.EventPresence, e.Presence)
	case e.RoomInfo != nil:
		f, err = ephemeralFrame(chat.EventRoom, e.RoomInfo)
	case e.Reset != nil:
		f, err = resetFrame(e.Reset)
	default:
		return
	}
	if err != nil {
		h.log.Error("encode event", "room", e.Room, "err", err)
		return
	}
	for _, s := range subs {
		dropped, evicted := s.push(f)
		if dropped {
			h.stats.dropped()
		}
		if evicted {
			h.stats.evictedStream()
		} else if e.Reset != nil {
			h.stats.reset(e.Reset.Reason)
		}
	}
}

// joined counts a stream of nick in room on this node and reports whether it
// is the nick's first here.
func (h *hub) joined(room, nick string) bool {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	k := presenceKey{room, nick}
	h.presence[k]++
	return h.presence[k] == 1
}

// left uncounts a stream and reports whether it was the nick's last here.
func (h *hub) left(room, nick string) bool {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	k := presenceKey{room, nick}
	h.presence[k]--
	if h.presence[k] <= 0 {
		delete(h.presence, k)
		return true
	}
	return false
}
