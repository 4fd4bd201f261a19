package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssechat/chat/server/store"
)

// failLogEvery bounds how often a failing write is logged: a full disk
// refuses every POST, and one line per refusal would flood the log that
// says why.
const failLogEvery = time.Second

// writeHealth remembers whether the database takes writes: a write that
// failed with store.ErrUnavailable (a full disk, an I/O error) makes the
// store not ready until a commit succeeds again, so that /readyz tells the
// load balancer what every POST is finding out.
type writeHealth struct {
	failing atomic.Bool // read on every commit; the rest only while failing

	mu         sync.Mutex
	err        error     // the latest failure
	since      time.Time // when the failures began
	failed     int       // writes refused since then
	logged     time.Time // when the last line was written
	suppressed int       // refusals not logged since then
}

// writeFailed records a refused write and logs it, at most once per
// failLogEvery with the count of refusals not logged in between. Only
// errors of the backend (store.ErrUnavailable) make the store unwritable;
// any other is a bug and is logged all the same.
func (s *Store) writeFailed(err error, msg string, args ...any) {
	h := &s.health
	now := time.Now()
	h.mu.Lock()
	if errors.Is(err, store.ErrUnavailable) {
		if !h.failing.Load() {
			h.since, h.failed = now, 0
		}
		h.err = err
		h.failed++
		h.failing.Store(true)
	}
	if now.Sub(h.logged) < failLogEvery {
		h.suppressed++
		h.mu.Unlock()
		return
	}
	suppressed := h.suppressed
	h.logged, h.suppressed = now, 0
	h.mu.Unlock()
	s.log.Error(msg, append(args, "err", err, "suppressed", suppressed)...)
}

// wrote records a successful commit, which ends a run of failures.
func (s *Store) wrote() {
	h := &s.health
	if !h.failing.Load() {
		return
	}
	h.mu.Lock()
	if !h.failing.Load() {
		h.mu.Unlock()
		return
	}
	h.failing.Store(false)
	failed, since := h.failed, h.since
	h.err, h.suppressed = nil, 0
	h.mu.Unlock()
	s.log.Info("database writable again", "refused_writes", failed, "outage", time.Since(since).Round(time.Millisecond).String())
}

// writeErr returns the latest write failure while writes are failing.
func (s *Store) writeErr() error {
	h := &s.health
	if !h.failing.Load() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// probeSize is how much a probe writes: more than a group of a few
// messages, so that a probe that succeeds means appends will too (a probe
// of one page fits into the WAL space a failed group left behind, and would
// call a full disk ready).
const probeSize = 64 << 10

// probe is a write that needs the disk like an append group does: it
// rewrites one row of probeSize bytes in write_probe, a table made on the
// first probe (so only a database that once failed to write has it) and
// read by nothing.
func probe(ctx context.Context, tx *sql.Tx) (func(), error) {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, b BLOB NOT NULL)`); err != nil {
		return nil, fmt.Errorf("probe write: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO write_probe (id, b) VALUES (1, randomblob(?))`, probeSize); err != nil {
		return nil, fmt.Errorf("probe write: %w", err)
	}
	return nil, nil
}
