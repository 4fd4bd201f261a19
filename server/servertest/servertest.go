// Package servertest starts a real chat server for tests: a real listener on
// 127.0.0.1, a real SQLite store in t.TempDir() (or a store the test opens),
// and helpers to log in, call the API and read event streams.
//
//	srv := servertest.Start(t)
//	tok := srv.Login(t, "alice")
//	msg := srv.Post(t, tok, "general", "hello")
//
// Everything it starts is stopped by t.Cleanup; it never touches anything
// but 127.0.0.1 and the test's temporary directory.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

// OpenStore opens the store a test server runs on, in dir (the same dir
// again on Restart).
type OpenStore func(dir string) (store.Store, error)

type options struct {
	configure []func(*server.Config)
	open      OpenStore
	log       *slog.Logger
	dir       string
}

// Option changes how Start builds the server.
type Option func(*options)

// WithConfig lets the test change the server's configuration (applied on
// every Restart too). Start's defaults differ from server.DefaultConfig
// only in a cheap password hash.
func WithConfig(fn func(*server.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, fn) }
}

// WithStore replaces the default store (SQLite in the data dir).
func WithStore(open OpenStore) Option { return func(o *options) { o.open = open } }

// WithLogger sends the server's logs to log. By default they are discarded,
// or written to stderr when CHAT_TEST_LOG=1.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithDir runs the server on an existing data directory instead of a new
// t.TempDir().
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// OpenSQLite is the default OpenStore: the SQLite file chat.db in dir.
func OpenSQLite(dir string) (store.Store, error) {
	return sqlite.Open(filepath.Join(dir, "chat.db"), sqlite.Options{})
}

// Server is a running test server.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT, the same across Restart.
	URL string
	// Addr is the listening address, 127.0.0.1:PORT.
	Addr string
	// Dir is the data directory, kept across Restart.
	Dir string
	// Store is the running server's store (a new one after Restart).
	Store store.Store
	// Server is the running chat server (a new one after Restart).
	Server *server.Server
	// Config is the configuration the server runs with.
	Config server.Config
	// Client is an HTTP client for this server; Close closes its idle
	// connections.
	Client *http.Client

	opts   options
	t      testing.TB
	mu     sync.Mutex
	served chan error
	closed bool
}

// Start starts a server on 127.0.0.1 with a fresh data directory. The test's
// cleanup stops it.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{open: OpenSQLite}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		if os.Getenv("CHAT_TEST_LOG") == "1" {
			o.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			o.log = slog.New(slog.DiscardHandler)
		}
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	s := &Server{Dir: o.dir, opts: o, t: t,
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: false}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr
	if err := s.start(ln); err != nil {
		_ = ln.Close()
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Config returns the configuration Start gives a server before options:
// server.DefaultConfig with a cheap password hash, so tests that log in many
// nicks stay fast, and without the per-account and per-address limits, so
// tests may post and register as fast as they like from one address. Tests
// of the limits turn them on with WithConfig.
func Config() server.Config {
	cfg := server.DefaultConfig()
	cfg.Password = server.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
	cfg.Limits.Enabled = false
	return cfg
}

func (s *Server) start(ln net.Listener) error {
	st, err := s.opts.open(s.Dir)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	cfg := Config()
	for _, fn := range s.opts.configure {
		fn(&cfg)
	}
	srv, err := server.New(cfg, st, s.opts.log)
	if err != nil {
		_ = st.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.mu.Lock()
	s.Store, s.Server, s.Config, s.served = st, srv, cfg, served
	s.mu.Unlock()
	return nil
}

// stop shuts the server down (streams end, in-flight requests finish) and
// closes its store.
func (s *Server) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Server.Shutdown(ctx)
	if serr := <-s.served; serr != nil && err == nil {
		err = serr
	}
	if cerr := s.Store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// Restart shuts the server down gracefully and starts a new one on the same
// data directory and the same address. Open streams end; clients resume.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("stop server: %v", err)
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; rebinding can fail briefly.
	for i := 0; i < 100; i++ {
		if ln, err = net.Listen("tcp", s.Addr); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen again on %s: %v", s.Addr, err)
	}
	if err := s.start(ln); err != nil {
		_ = ln.Close()
		s.t.Fatalf("restart server: %v", err)
	}
}

// Close stops the server and closes its store and the client's idle
// connections. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	if err := s.stop(); err != nil {
		s.t.Errorf("stop server: %v", err)
	}
	s.Client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
}
