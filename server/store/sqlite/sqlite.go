// Package sqlite is the embedded store: one SQLite file in WAL mode, one
// writer goroutine that commits appends in groups (one fsync for many
// messages), and a pool of readers that run while it writes.
//
// It never answers an Append before the message is committed to disk, and it
// never writes from more than one goroutine, so its writes never wait for
// each other's locks (busy_timeout covers a second process such as an
// account tool). Each room's newest messages are also kept in memory, so
// resumes and the newest history page rarely touch SQLite.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/tail"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Options tunes a Store. The zero value is usable.
type Options struct {
	// HistoryMax is how many messages each room keeps; older ones are
	// trimmed. 0 keeps all.
	HistoryMax int
	// NoSearchIndex leaves new messages out of the search index, for
	// measuring what indexing costs each append (chat-bench publish). Search
	// then misses every message written while it is set; never set it on a
	// store people search.
	NoSearchIndex bool
	// MaxBatch bounds how many appends one transaction commits. Defaults to
	// 256.
	MaxBatch int
	// TailSize is how many of each room's newest messages are kept in
	// memory to answer Since and Page without SQLite. Defaults to
	// DefaultTailSize; negative keeps none.
	TailSize int
	// ReadConns is the size of the read pool. Defaults to 4 or the number of
	// CPUs, whichever is larger.
	ReadConns int
	// Logger receives errors the store cannot return to a caller. Defaults
	// to discarding them.
	Logger *slog.Logger
	// Lock takes an exclusive lock on path+".lock" for as long as the
	// store is open, so that a second server on the same file fails at
	// once with ErrInUse instead of numbering messages from its own memory.
	// Leave it off for tools that only edit accounts and sessions while a
	// server runs (chat-server user ...).
	Lock bool
	// Now is the clock for message times and session expiry. Defaults to
	// time.Now.
	Now func() time.Time
}

// DefaultTailSize is the default of Options.TailSize.
const DefaultTailSize = tail.DefaultSize

// DefaultMaxBatch is the default of Options.MaxBatch.
const DefaultMaxBatch = 256

// slowCommit is how long a COMMIT may take before it is logged: the disk is
// then the bottleneck of every POST.
const slowCommit = 500 * time.Millisecond

// ErrInUse reports a database another Store opened with Options.Lock holds,
// in this process or another.
var ErrInUse = errors.New("database is in use by another process")

// Store is the SQLite implementation of store.Store. Every method is safe for
// concurrent use.
type Store struct {
	opts      Options
	noTail    bool // tests only: Page and Since read SQLite (see export_test.go)
	log       *slog.Logger
	now       func() time.Time
	trimEvery int

	lock *os.File  // flock held on path+".lock" while open, with Options.Lock
	wdb  *sql.DB   // one connection, used only by the writer goroutine
	conn *sql.Conn // that connection
	ws   writeStmts
	rdb  *sql.DB // read pool, query_only
	rs   readStmts

	// closeMu guards closed and the send side of reqs: senders hold it for
	// reading while they send, Close takes it for writing before it closes
	// reqs, so nothing is ever sent on a closed channel.
	closeMu sync.RWMutex
	closed  bool
	isDown  atomic.Bool // closed, readable without the lock
	reqs    chan *request
	done    chan struct{} // closed when the writer goroutine has returned

	// mu guards rooms. The writer goroutine is the only one that changes
	// the map or a room's topic, and it does so holding mu.
	mu    sync.RWMutex
	rooms map[string]*room

	listenMu sync.Mutex // serialises calls of listen
	listen   func(store.Event)

	presMu   sync.Mutex
	presence map[string]*roomPresence // room → who is connected

	sessionCleanup atomic.Uint64

	health writeHealth // whether writes succeed (Ping)

	stats struct {
		commits  atomic.Uint64
		appends  atomic.Uint64
		requests atomic.Uint64
		trimmed  atomic.Uint64
		tailHits atomic.Uint64
		diskRead atomic.Uint64
		commitNs atomic.Int64
	}
}

// room is the in-memory state of one room. next and sinceTrim belong to the
// writer goroutine alone; last and trimmed are read by anyone.
type room struct {
	id         int64
	name       string
	topic      string // guarded by Store.mu
	publicRead bool   // guarded by Store.mu
	kind       string
	owner      string
	created    time.Time

	last    atomic.Int64 // newest committed seq, 0 when none
	trimmed atomic.Int64 // highest seq ever trimmed; raised before the trim commits

	tail *tail.Tail // the newest messages committed since Open

	next      int64 // writer only: the seq the next message gets
	sinceTrim int   // writer only: appends since the last trim
}

type presenceKey struct{ nick, conn string }

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, brings its
// schema up to date and starts the writer goroutine. Close releases it.
// With Options.Lock it fails with ErrInUse while another locking Store has
// path open.
func Open(path string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, runtime.NumCPU())
	}
	if opts.HistoryMax < 0 {
		opts.HistoryMax = 0
	}
	if opts.TailSize == 0 {
		opts.TailSize = DefaultTailSize
	}
	s := &Store{
		opts:     opts,
		log:      opts.Logger,
		now:      opts.Now,
		reqs:     make(chan *request, opts.MaxBatch),
		done:     make(chan struct{}),
		rooms:    map[string]*room{},
		presence: map[string]*roomPresence{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	// Trim in steps of about an eighth of what is kept, so the DELETE runs
	// rarely and removes few rows each time.
	s.trimEvery = min(max(1, opts.HistoryMax/8), 1024)
	if opts.HistoryMax > 0 {
		// No use holding more than SQLite keeps.
		s.opts.TailSize = min(opts.TailSize, opts.HistoryMax+s.trimEvery)
	}

	if err := s.open(path); err != nil {
		s.closeDBs()
		return nil, err
	}
	go s.run()
	return s, nil
}

func dsn(path string, readOnly bool) string {
	u := url.URL{Path: path}
	// journal_size_limit: after a burst the WAL file is cut back to 64 MiB
	// at the next checkpoint instead of keeping its largest size forever.
	q := "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=journal_size_limit(67108864)"
	if readOnly {
		q += "&_query_only=1"
	} else {
		// BEGIN IMMEDIATE: a transaction that reads, then writes, waits
		// (busy_timeout) for another process's writer instead of failing
		// with SQLITE_BUSY_SNAPSHOT.
		q += "&_txlock=immediate"
		// secure_delete: a deleted room's messages (DeleteRoom) and
		// trimmed history are overwritten in the file, not merely
		// unlinked, so a copy of the file does not hold them.
		q += "&_pragma=secure_delete(1)"
	}
	return "file:" + u.EscapedPath() + q
}

func (s *Store) open(path string) error {
	ctx := context.Background()
	var err error
	if s.opts.Lock {
		if s.lock, err = lockFile(path + ".lock"); err != nil {
			return fmt.Errorf("open database: %w", err)
		}
	}
	if s.wdb, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if s.conn, err = s.wdb.Conn(ctx); err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	if err := migrate(ctx, s.conn); err != nil {
		return err
	}
	if err := s.ws.prepare(ctx, s.conn); err != nil {
		return err
	}
	if s.rdb, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	s.rdb.SetMaxOpenConns(s.opts.ReadConns)
	s.rdb.SetMaxIdleConns(s.opts.ReadConns)
	if err := s.rs.prepare(ctx, s.rdb); err != nil {
		return err
	}
	return s.loadRooms(ctx)
}

// loadRooms reads every room and its newest seq into memory.
func (s *Store) loadRooms(ctx context.Context) error {
	rows, err := s.conn.QueryContext(ctx, `SELECT id, name, topic, kind, owner, public_read, created, trimmed,
		COALESCE((SELECT MAX(seq) FROM messages WHERE room_id = rooms.id), 0) FROM rooms`)
	if err != nil {
		return fmt.Errorf("load rooms: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r := s.newRoom()
		var created, trimmed, last int64
		if err := rows.Scan(&r.id, &r.name, &r.topic, &r.kind, &r.owner, &r.publicRead, &created, &trimmed, &last); err != nil {
			return fmt.Errorf("load rooms: %w", err)
		}
		r.created = fromNanos(created)
		last = max(last, trimmed)
		r.last.Store(last)
		r.trimmed.Store(trimmed)
		r.tail.Reset(seqID(last))
		r.tail.Trim(seqID(trimmed))
		r.next = last + 1
		s.rooms[r.name] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load rooms: %w", err)
	}
	return nil
}

// Stats counts the writer's work since Open.
type Stats struct {
	Commits  uint64 // transactions committed by the writer
	Appends  uint64 // messages created (duplicates by client_id not counted)
	Requests uint64 // write requests served (appends, duplicates and other writes)
	Trimmed  uint64 // messages removed by retention

	TailReads uint64 // Page and Since calls answered from memory
	DiskReads uint64 // Page and Since calls that read SQLite

	CommitTime time.Duration // spent in append groups' COMMIT (the fsync); CommitTime/Commits is its average
	Pending    int           // write requests queued for the writer now
}

// Stats returns counters of the writer's work. Appends/Commits is the average
// group size.
func (s *Store) Stats() Stats {
	return Stats{
		Commits:  s.stats.commits.Load(),
		Appends:  s.stats.appends.Load(),
		Requests: s.stats.requests.Load(),
		Trimmed:  s.stats.trimmed.Load(),

		TailReads: s.stats.tailHits.Load(),
		DiskReads: s.stats.diskRead.Load(),

		CommitTime: time.Duration(s.stats.commitNs.Load()),
		Pending:    len(s.reqs),
	}
}

// Ping reports whether the database answers and takes writes. After a
// write failed for the disk's sake (full, I/O error) it probes with a write
// of its own, so it fails for as long as the disk refuses, and recovers
// with the first write that succeeds, a probe or an append.
func (s *Store) Ping(ctx context.Context) error {
	if s.isDown.Load() {
		return store.ErrClosed
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.fail("ping", err)
	}
	if s.writeErr() == nil {
		return nil
	}
	if err := s.write(ctx, probe); err != nil {
		if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, store.ErrClosed) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return fmt.Errorf("ping: database does not take writes: %w", err)
	}
	return nil
}

// Close stops accepting requests, lets pending appends commit, stops the
// writer and closes the database. Later calls return nil; every other method
// returns store.ErrClosed after it.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.isDown.Store(true)
	close(s.reqs)
	s.closeMu.Unlock()
	<-s.done
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var errs []error
	s.ws.close()
	s.rs.close()
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // after the database: the lock guards it to the end
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// fail wraps a database error, reporting ErrClosed when the store was closed
// under the caller's feet.
func (s *Store) fail(verb string, err error) error {
	if s.isDown.Load() {
		return store.ErrClosed
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w", verb, unavailable(err))
}

// unavailable marks failures of the disk or the file (full, I/O error,
// locked by another process, out of memory) as store.ErrUnavailable, so the
// server answers 503 and clients retry, where a bug would be a 500.
func unavailable(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && !errors.Is(err, store.ErrUnavailable) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	return err
}

func (s *Store) newRoom() *room {
	r := &room{next: 1, kind: chat.KindPublic, tail: tail.New(s.opts.TailSize)}
	r.tail.Reset(seqID(0)) // a new room: every message will be pushed
	return r
}

func (s *Store) room(name string) *room {
	s.mu.RLock()
	r := s.rooms[name]
	s.mu.RUnlock()
	return r
}

// seqID is a seq as a chat.ID, the tail's order.
func seqID(seq int64) chat.ID { return chat.ID{Major: uint64(seq)} }

func toNanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// normTime drops the monotonic reading and location, so a time returned by a
// write equals the one read back later.
func normTime(t time.Time) time.Time { return fromNanos(t.UnixNano()) }
