// Package tail keeps a room's newest messages in memory, so that a store
// answers resumes (Since) and the newest history pages without its backend.
// Both stores use it: SQLite for every room, Redis for each room a node
// watches. It knows ids only through chat.ID's order, so SQLite's "N" and
// Redis's "ms-seq" ids work alike.
//
// A Tail must never answer with a gap: it answers only when it holds every
// message the question covers, and says ok false otherwise, so that the
// store asks its backend.
package tail

import (
	"sort"
	"sync"

	"github.com/ssechat/chat/chat"
)

// DefaultSize is how many messages a room's tail holds unless its store is
// told otherwise: a resume of a client that missed up to this many is
// answered from memory.
const DefaultSize = 1024

// Tail holds a contiguous run of a room's newest messages: every message
// after its base up to the newest pushed, at most max of them (a ring).
// The store also tells it its retention floor: the backend holds no message
// at or below it. Every method is safe for concurrent use; one writer
// pushes, anyone reads.
type Tail struct {
	mu    sync.RWMutex
	max   int
	buf   []entry // a ring once it holds max entries
	head  int     // index of the oldest entry once the ring is full
	base  chat.ID // the id just before the oldest entry held
	floor chat.ID // the backend holds no message at or below it
	valid bool    // false: base is unknown, nothing is answered
}

type entry struct {
	id chat.ID
	m  chat.Message
}

// New returns a tail of at most max messages (max <= 0 keeps none and
// answers nothing). It is invalid until Reset gives it a base.
func New(max int) *Tail { return &Tail{max: max} }

// Reset empties the tail and declares that it holds every message after
// base, that is none yet: the next message pushed must be the one right
// after base. The floor is kept.
func (t *Tail) Reset(base chat.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf, t.head = t.buf[:0], 0
	t.base, t.valid = base, true
}

// Drop empties the tail and makes it answer nothing until the next Reset:
// for a gap whose extent the caller does not know.
func (t *Tail) Drop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf, t.head = t.buf[:0], 0
	t.valid = false
}

// Valid reports whether the tail has a base (Reset was called since New or
// the last Drop).
func (t *Tail) Valid() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.valid
}

// Last returns the newest id held, or the base when none is held; ok is
// false for an invalid tail.
func (t *Tail) Last() (id chat.ID, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.last(), t.valid
}

// Push adds m with id, which must be the message right after the newest one
// held (or after the base): the caller guarantees that no message of the
// room lies between them. It is ignored while the tail is invalid, and an
// id not after the newest is ignored too (the tail never goes back).
func (t *Tail) Push(id chat.ID, m chat.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.valid || t.max <= 0 || id.Compare(t.last()) <= 0 {
		return
	}
	e := entry{id: id, m: m}
	if len(t.buf) < t.max {
		t.buf = append(t.buf, e)
		return
	}
	t.base = t.buf[t.head].id
	t.buf[t.head] = e
	t.head = (t.head + 1) % t.max
}

// Trim raises the retention floor: the backend deleted every message at
// or below floor. Held messages at or below it are no longer answered, and
// Since from before it reports trimmed.
func (t *Tail) Trim(floor chat.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if floor.Compare(t.floor) > 0 {
		t.floor = floor
	}
}

// Since answers a resume from memory: up to max messages after after
// (max <= 0: all), oldest first, and whether more follow. trimmed reports
// a resume point below the retention floor (messages after it are gone).
// ok is false when the tail cannot tell: it is empty or invalid, it does not
// reach back to after, or after is past its newest message (the caller
// then decides with what its backend has committed).
func (t *Tail) Since(after chat.ID, max int) (msgs []chat.Message, more, trimmed, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.valid || len(t.buf) == 0 {
		return nil, false, false, false
	}
	if after.Compare(t.floor) < 0 {
		return nil, false, true, true
	}
	switch c := after.Compare(t.last()); {
	case c > 0:
		return nil, false, false, false
	case c == 0:
		return nil, false, false, true
	}
	start, base := t.view()
	if after.Compare(base) < 0 {
		return nil, false, false, false
	}
	lo := t.firstAfter(start, after)
	hi := len(t.buf) - 1
	if max > 0 && hi-lo+1 > max {
		hi, more = lo+max-1, true
	}
	return t.copy(lo, hi), more, false, true
}

// Direction selects a page.
type Direction int

// Page directions.
const (
	Newest Direction = iota // the newest page
	Before                  // the page before an id
	After                   // the page after an id
)

// Page answers a history page from memory: the newest limit messages, or
// the limit messages before or after id, oldest first, and whether more lie
// beyond in that direction (limit must be at least 1). ok is false when
// the tail does not hold the whole page.
func (t *Tail) Page(dir Direction, id chat.ID, limit int) (msgs []chat.Message, more, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.valid || len(t.buf) == 0 || limit < 1 {
		return nil, false, false
	}
	start, base := t.view()
	older := base.Compare(t.floor) > 0 // the backend holds messages before the ones held
	n := len(t.buf)
	if dir == After {
		if id.Compare(t.last()) >= 0 {
			return nil, false, true
		}
		if id.Compare(base) < 0 && older {
			return nil, false, false
		}
		lo := t.firstAfter(start, id)
		hi := min(n-1, lo+limit-1)
		return t.copy(lo, hi), hi < n-1, true
	}
	hi := n - 1
	if dir == Before {
		hi = t.lastBefore(start, id)
	}
	if hi < start {
		if older {
			return nil, false, false
		}
		return nil, false, true
	}
	lo := hi - limit + 1
	if lo < start {
		if older {
			return nil, false, false
		}
		lo = start
	}
	return t.copy(lo, hi), lo > start || older, true
}

// last is the newest id held, or the base.
func (t *Tail) last() chat.ID {
	if len(t.buf) == 0 {
		return t.base
	}
	return t.at(len(t.buf) - 1).id
}

// at returns the i-th oldest entry held.
func (t *Tail) at(i int) *entry {
	if len(t.buf) == t.max {
		i = (t.head + i) % t.max
	}
	return &t.buf[i]
}

// view returns the first index the floor leaves answerable and the base of
// what is answerable from there: entries at or below the floor were deleted
// from the backend and are not answered.
func (t *Tail) view() (start int, base chat.ID) {
	if t.floor.Compare(t.base) <= 0 {
		return 0, t.base
	}
	return t.firstAfter(0, t.floor), t.floor
}

// firstAfter returns the index of the first entry from start on with an id
// after id (len when none).
func (t *Tail) firstAfter(start int, id chat.ID) int {
	return start + sort.Search(len(t.buf)-start, func(i int) bool { return t.at(start+i).id.Compare(id) > 0 })
}

// lastBefore returns the index of the last entry from start on with an id
// before id (start-1 when none).
func (t *Tail) lastBefore(start int, id chat.ID) int {
	return start + sort.Search(len(t.buf)-start, func(i int) bool { return t.at(start+i).id.Compare(id) >= 0 }) - 1
}

// copy returns the messages lo..hi (indices, lo <= hi+1) in a new slice.
func (t *Tail) copy(lo, hi int) []chat.Message {
	if lo > hi {
		return nil
	}
	out := make([]chat.Message, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		out = append(out, t.at(i).m)
	}
	return out
}
