package sqlite

import (
	"sync"

	"github.com/ssechat/chat/chat"
)

// DefaultTailSize is the default of Options.TailSize.
const DefaultTailSize = 1024

// tail keeps a room's newest messages in memory, so that a resume (Since)
// and the newest history pages are answered without SQLite. It holds a run
// of consecutive seqs first..last: every seq the writer commits is pushed,
// in order, after the commit. The writer pushes; anyone reads.
type tail struct {
	mu      sync.RWMutex
	buf     []chat.Message // a ring once it holds max messages
	max     int
	head    int   // index of the oldest message once the ring is full
	first   int64 // seq of the oldest message held; meaningless when empty
	trimmed int64 // the room's trim mark as of the messages held
}

// push adds the message with seq, the newest committed one. Call with mu
// held for writing.
func (t *tail) push(seq int64, m chat.Message) {
	if t.max <= 0 {
		return
	}
	if len(t.buf) > 0 && seq != t.last()+1 {
		// Never expected (seqs are committed in order without holes); a
		// hole would make the tail lie, so start afresh.
		t.buf, t.head = t.buf[:0], 0
	}
	if len(t.buf) == 0 {
		t.first = seq
	}
	if len(t.buf) < t.max {
		t.buf = append(t.buf, m)
		return
	}
	t.buf[t.head] = m
	t.head = (t.head + 1) % t.max
	t.first++
}

func (t *tail) last() int64 { return t.first + int64(len(t.buf)) - 1 }

// copyRange appends the messages lo..hi (held, lo <= hi) to dst.
func (t *tail) copyRange(dst []chat.Message, lo, hi int64) []chat.Message {
	n := len(t.buf)
	for seq := lo; seq <= hi; seq++ {
		i := int(seq - t.first)
		if n == t.max {
			i = (t.head + i) % n
		}
		dst = append(dst, t.buf[i])
	}
	return dst
}

// since answers Since from memory; ok is false when the tail does not hold
// every message after after, or after is past its newest message (the
// caller then decides with the room's committed last seq). trimmed reports
// a resume point retention has passed.
func (t *tail) since(after int64, max int) (msgs []chat.Message, more, trimmed, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.buf) == 0 {
		return nil, false, false, false
	}
	last := t.last()
	if after < t.trimmed {
		return nil, false, true, true
	}
	if after > last {
		return nil, false, false, false
	}
	if after == last {
		return nil, false, false, true
	}
	lo, hi := after+1, last
	if lo < t.first {
		return nil, false, false, false
	}
	if max > 0 && hi-lo+1 > int64(max) {
		hi, more = lo+int64(max)-1, true
	}
	return t.copyRange(make([]chat.Message, 0, hi-lo+1), lo, hi), more, false, true
}

// Page directions.
const (
	pageNewest = iota
	pageBefore
	pageAfter
)

// page answers Page from memory: the newest page, or the one before or after
// id. ok is false when the tail does not hold the whole page.
func (t *tail) page(dir int, id int64, limit int) (msgs []chat.Message, more, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.buf) == 0 {
		return nil, false, false
	}
	last, oldest := t.last(), t.trimmed+1 // oldest: the first seq SQLite still holds
	var lo, hi int64
	switch dir {
	case pageAfter:
		if id >= last {
			return nil, false, true
		}
		lo = max(id+1, oldest)
		hi = min(last, lo+int64(limit)-1)
		more = hi < last
	default:
		hi = last
		if dir == pageBefore {
			hi = min(id-1, last)
		}
		lo = max(oldest, hi-int64(limit)+1)
		more = lo > oldest
	}
	if lo > hi {
		return nil, false, true
	}
	if lo < t.first {
		return nil, false, false
	}
	return t.copyRange(make([]chat.Message, 0, hi-lo+1), lo, hi), more, true
}
