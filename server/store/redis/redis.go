// Package redis is the cluster store: every piece of shared state (accounts,
// sessions, rooms, messages, presence) lives in one Redis, so any number of
// chat-server nodes can serve the same rooms. Messages are one Redis Stream
// per room; a Lua script appends and publishes in one step so every node
// relays a room's messages in id order. It must never report a message as
// stored before Redis has accepted it, nor let a node's subscribers see a gap
// after its pub/sub connection drops.
package redis

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/ssechat/chat/server/store"
)

// Defaults of Options.
const (
	DefaultPrefix         = "chat:"
	DefaultIdempotencyTTL = 24 * time.Hour
	DefaultPresenceTTL    = 30 * time.Second
	DefaultHealthInterval = 5 * time.Second
	DefaultWatchTimeout   = 5 * time.Second
	DefaultWatchLinger    = 30 * time.Second
)

// Options tune the store. The zero value works.
type Options struct {
	// Prefix starts every key and pub/sub channel name, so several
	// deployments (or tests) can share one Redis. Defaults to "chat:".
	// Pub/sub channels are global across Redis databases; the prefix is
	// what keeps two deployments on one server apart.
	Prefix string
	// HistoryMax bounds each room's stream to that many messages, deleting
	// the oldest as new ones arrive. 0 keeps everything.
	HistoryMax int
	// NoSearchIndex leaves new messages out of the search index, for
	// measuring what indexing costs each append (chat-bench publish). Search
	// then misses every message written while it is set; never set it on a
	// store people search.
	NoSearchIndex bool
	// IdempotencyTTL is how long a client_id is remembered. Defaults to 24h.
	IdempotencyTTL time.Duration
	// PresenceTTL is how long a connection stays online after its node
	// stopped refreshing it (the node refreshes every third of it). Defaults
	// to 30s.
	PresenceTTL time.Duration
	// HealthInterval is how long the pub/sub connection may stay silent
	// before the store pings it; two silent intervals mean the connection is
	// dead and it is replaced. Defaults to 5s.
	HealthInterval time.Duration
	// WatchLinger is how long a room stays subscribed, with its in-memory
	// tail, after its last watch stopped: streams that all dropped at once
	// (a network blip, a restart of the proxy) resume from memory when they
	// come back. Defaults to 30s; negative unsubscribes at once.
	WatchLinger time.Duration
	// WatchTimeout bounds how long Watch waits for Redis to confirm a
	// subscription before it gives up with ErrUnavailable. Defaults to 5s.
	WatchTimeout time.Duration
	// Logger receives the store's few log lines (an outage begins, an
	// outage ends). Defaults to discarding them.
	Logger *slog.Logger
}

func (o *Options) fill() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if o.PresenceTTL <= 0 {
		o.PresenceTTL = DefaultPresenceTTL
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	if o.WatchLinger == 0 {
		o.WatchLinger = DefaultWatchLinger
	}
	if o.WatchTimeout <= 0 {
		o.WatchTimeout = DefaultWatchTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Store is the Redis implementation of store.Store.
type Store struct {
	rdb  *goredis.Client
	opts Options
	keys keys
	log  *slog.Logger

	health health
	relay  *relay
	pres   *presence
	places places // stream places held by this node (limits.go)

	ctx    context.Context // ended by Close; owns the background goroutines
	cancel context.CancelFunc
	bg     sync.WaitGroup

	mu       sync.Mutex // guards closed and the in-flight count
	closed   bool
	closing  chan struct{} // closed when Close begins: waiting Watches give up
	inflight sync.WaitGroup
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.OnlineLister = (*Store)(nil)
)

// Open connects to the Redis at rawURL (redis://[user:password@]host:port/db,
// or rediss:// for TLS, with go-redis's options and ca_file as query
// parameters) and starts the store's pub/sub reader and presence
// refresher. It fails when Redis does not answer, so a wrong URL is reported
// at start rather than as 503s later.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	opts.fill()
	ro, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	// No retries inside the client: a retried EVALSHA whose first reply was
	// lost would append a message twice. The caller's retry with the same
	// client_id is the safe one.
	ro.MaxRetries = -1
	// One dial attempt per call: while Redis is down a request should get
	// its 503 at once, not after the client's five spaced retries.
	ro.DialerRetries = 1
	if ro.DialTimeout == 0 {
		ro.DialTimeout = 2 * time.Second
	}
	if ro.ReadTimeout == 0 {
		ro.ReadTimeout = 3 * time.Second
	}
	// A caller's deadline shorter than ReadTimeout (a readiness probe's,
	// say) bounds the call too.
	ro.ContextTimeoutEnabled = true
	// The maintenance-notification handshake is for Redis Enterprise and
	// Redis 8; plain Redis 7 only answers it with an error on every dial.
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	s := &Store{
		rdb:     goredis.NewClient(ro),
		opts:    opts,
		keys:    keys{prefix: opts.Prefix},
		log:     opts.Logger,
		closing: make(chan struct{}),
	}
	s.health.log = opts.Logger
	routeClientLog(opts.Logger)
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("open redis %s: %w", ro.Addr, s.classify(err))
	}
	s.warnIfNotDurable(ctx)
	if err := s.migrateMembership(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("open redis %s: %w", ro.Addr, s.classify(err))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.relay = newRelay(s)
	s.pres = newPresence(s)
	s.bg.Add(2)
	go func() { defer s.bg.Done(); s.relay.run(s.ctx) }()
	go func() { defer s.bg.Done(); s.pres.run(s.ctx) }()
	return s, nil
}

// parseURL reads a redis:// or rediss:// URL with go-redis's options, plus
// one of its own: ca_file, a PEM file of the CA that signed a rediss://
// server's certificate (a private CA; without it the system's roots are
// used).
func parseURL(rawURL string) (*goredis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", urlReason(err))
	}
	q := u.Query()
	caFile := q.Get("ca_file")
	if caFile != "" {
		q.Del("ca_file")
		u.RawQuery = q.Encode()
	}
	ro, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", urlReason(err))
	}
	if caFile != "" {
		if ro.TLSConfig == nil {
			return nil, errors.New("parse redis url: ca_file needs a rediss:// URL")
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read redis CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read redis CA %s: no PEM certificate in it", caFile)
		}
		ro.TLSConfig.RootCAs = pool
	}
	return ro, nil
}

// urlReason drops the URL from net/url's errors, which quote it whole,
// password included; this error ends up in logs.
func urlReason(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// warnIfNotDurable logs once when Redis would lose acknowledged messages on
// a crash. CONFIG may be disabled on managed Redis; then it says nothing.
func (s *Store) warnIfNotDurable(ctx context.Context) {
	cfg, err := s.rdb.ConfigGet(ctx, "append*").Result()
	if err != nil {
		return
	}
	if cfg["appendonly"] != "yes" || cfg["appendfsync"] != "always" {
		s.log.Warn("redis may lose acknowledged messages on a crash; set appendonly yes and appendfsync always (see docs/deploy.md)",
			"appendonly", cfg["appendonly"], "appendfsync", cfg["appendfsync"])
	}
}

// Ping reports whether Redis takes writes: it writes a short-lived key, so
// that a Redis that answers but refuses writes (at maxmemory with
// noeviction, a read-only replica) is not ready. Reads and open streams go
// on working meanwhile.
func (s *Store) Ping(ctx context.Context) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	return s.wrap("ping redis", s.rdb.Set(ctx, s.keys.probe(), "1", 10*time.Second).Err())
}

// Close stops the background goroutines, waits for calls in flight and
// closes the connections.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	close(s.closing)
	s.inflight.Wait()
	s.cancel()
	s.relay.stop()
	s.bg.Wait()
	s.pres.leaveAll()
	return s.rdb.Close()
}

// begin registers a call in flight; Close waits for it.
func (s *Store) begin() (done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	s.inflight.Add(1)
	return s.inflight.Done, nil
}

// wrap turns a Redis error into the store's: nil stays nil (and ends an
// outage), a connection problem becomes ErrUnavailable (and starts one).
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		s.health.up()
		return nil
	}
	err = s.classify(err)
	if errors.Is(err, store.ErrUnavailable) {
		s.health.down(err)
	} else {
		s.health.up()
	}
	return fmt.Errorf("%s: %w", op, err)
}

// classify marks errors that mean "Redis cannot be reached or cannot serve
// now" with store.ErrUnavailable. The caller's own cancellation stays as it
// is; so do errors Redis answered (a bug, not an outage).
func (s *Store) classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, goredis.ErrPoolTimeout),
		errors.Is(err, goredis.ErrPoolExhausted),
		errors.Is(err, goredis.ErrClosed),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	msg := err.Error()
	// OOM: Redis at maxmemory with noeviction refuses writes; that is an
	// outage to fix, not a bug in the request.
	for _, p := range []string{"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "OOM"} {
		if strings.HasPrefix(msg, p+" ") {
			return true
		}
	}
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "use of closed network connection")
}

// health logs an outage once when it starts and once when it ends, however
// many requests fail in between.
type health struct {
	log   *slog.Logger
	mu    sync.Mutex
	isDn  bool
	since time.Time
	fails int
}

func (h *health) down(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fails++
	if h.isDn {
		return
	}
	h.isDn, h.since, h.fails = true, time.Now(), 1
	h.log.Error("redis unavailable: answering 503 until it is back", "err", err)
}

func (h *health) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.isDn {
		return
	}
	h.isDn = false
	h.log.Info("redis available again", "outage", time.Since(h.since).Round(time.Millisecond).String(), "failed_calls", h.fails)
}

func (h *health) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.isDn
}

var clientLogOnce sync.Once

// routeClientLog sends go-redis's own log lines (one per failed dial, which
// during an outage means one per request) to the first store's logger at
// debug level; the store itself logs an outage once at error level.
// go-redis has one logger per process, hence once.
func routeClientLog(log *slog.Logger) {
	clientLogOnce.Do(func() { goredis.SetLogger(clientLog{log}) })
}

type clientLog struct{ log *slog.Logger }

func (l clientLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}
