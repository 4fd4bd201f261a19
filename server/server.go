// Package server is the chat's HTTP server: the JSON API of PROTOCOL.md
// (sessions, rooms, messages), the Server-Sent Events streams with gap-free
// resume, fed to the fan-out engine (package fanout) that hands committed
// messages to the streams. It keeps no state of its own beyond live streams
// and presence counts: all of it lives in a store.Store, which also feeds
// the engine (Listen).
//
// It must never answer with internals (SQL, paths, stacks), never block the
// store's listener, and never let one slow stream delay another.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/sse"
	"github.com/ssechat/chat/server/fanout"
	"github.com/ssechat/chat/server/limit"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/web"
)

// Server serves the chat API, the event streams and the page. Create it with
// New; it is safe for concurrent use.
type Server struct {
	cfg Config
	st  store.Store
	log *slog.Logger
	// engine fans events out to the streams open here; presence counts
	// them per nick and room.
	engine   *fanout.Engine
	presence *presence
	// open finds the open streams a removal, a deletion or a revocation
	// ends (openstreams.go).
	open *openStreams
	// sweepMu guards sweeping, whether the revocation sweep
	// (revocation.go) runs; sweepers counts it for Shutdown.
	sweepMu  sync.Mutex
	sweeping bool
	sweepers sync.WaitGroup
	stats    stats
	metrics  *metrics
	limits   *limiter
	// addrConns caps connections per client address at accept (nil when
	// the per-address limits are off).
	addrConns *limit.AddrConnCap
	// announced are the limits told to clients (GET /api/limits, welcome).
	announced chat.ServerLimits

	// sessions caches sessions read from the store (Config.SessionCache).
	sessions *sessionCache
	// clock, when set (tests), replaces time.Now for sessions.
	clock atomic.Pointer[func() time.Time]

	handler http.Handler
	apiMux  *http.ServeMux

	// closing is closed by Shutdown: streams end, new ones are refused.
	closing   chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	servers []*http.Server
	// detached holds the connections of event streams that left net/http
	// (see detach), which http.Server no longer tracks; streams counts
	// their goroutines. Shutdown ends them and waits.
	detached map[net.Conn]struct{}
	streams  sync.WaitGroup

	tlsConfig *tls.Config // nil: plain HTTP

	dummyHash string        // compared against when the nick is unknown
	hashSem   chan struct{} // bounds concurrent password hashing (memory)
}

// New returns a server over st, which feeds its fan-out engine (st.Listen; call
// New once per store). The caller owns st and closes it after Shutdown. New
// makes sure room "general" exists.
func New(cfg Config, st store.Store, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("check config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		st:       st,
		log:      log,
		closing:  make(chan struct{}),
		detached: map[net.Conn]struct{}{},
		hashSem:  make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
	s.limits = newLimiter(cfg.Limits, cfg.TrustedProxies)
	s.limits.useStore(st, log)
	s.addrConns = newAddrConnCap(cfg)
	s.sessions = newSessionCache(cfg.SessionCache)
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		s.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.metrics = newMetrics(&s.stats)
	s.engine = fanout.New(fanout.Options{
		QueueMax:     cfg.QueueMax,
		Heartbeat:    cfg.Heartbeat,
		Ping:         sse.Ping,
		WriteTimeout: cfg.WriteTimeout,
		Metrics:      &s.stats,
	})
	s.presence = newPresence(st, s.engine, log)
	s.open = newOpenStreams()
	st.Listen(s.dispatch)

	dummy, err := hashPassword(cfg.Password, randomToken())
	if err != nil {
		return nil, fmt.Errorf("make dummy hash: %w", err)
	}
	s.dummyHash = dummy

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := st.PutRoom(ctx, chat.DefaultRoom, nil); err != nil {
		return nil, fmt.Errorf("create room %s: %w", chat.DefaultRoom, err)
	}
	s.announced = cfg.serverLimits()
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	api := http.NewServeMux()
	api.Handle("POST /api/session", s.handle(s.handleLogin))
	api.Handle("DELETE /api/session", s.authed(s.handleLogout))
	api.Handle("GET /api/me", s.authed(s.handleMe))
	api.Handle("GET /api/limits", s.handle(s.handleLimits))
	api.Handle("GET /api/me/rooms", s.authed(s.handleMyRooms))
	api.Handle("POST /api/me/tokens", s.authed(s.handleCreateToken))
	api.Handle("GET /api/me/tokens", s.authed(s.handleTokens))
	api.Handle("DELETE /api/me/tokens/{id}", s.authed(s.handleDeleteToken))
	api.Handle("GET /api/rooms", s.authed(s.handleRooms))
	api.Handle("PUT /api/rooms/{room}", s.authed(s.handlePutRoom))
	api.Handle("DELETE /api/rooms/{room}", s.authed(s.handleDeleteRoom))
	api.Handle("GET /api/rooms/{room}/members", s.authed(s.handleMembers))
	api.Handle("PUT /api/rooms/{room}/members/{nick}", s.authed(s.handlePutMember))
	api.Handle("DELETE /api/rooms/{room}/members/{nick}", s.authed(s.handleDeleteMember))
	api.Handle("POST /api/dms", s.authed(s.handleDirect))
	api.Handle("GET /api/rooms/{room}/messages", s.maybeAuthed(s.handleHistory)) // public_read rooms answer without a session
	api.Handle("POST /api/rooms/{room}/messages", s.authed(s.handlePost))
	api.Handle("POST /api/rooms/{room}/typing", s.authed(s.handleTyping))
	api.Handle("POST /api/rooms/{room}/hooks", s.authed(s.handleCreateHook))
	api.Handle("GET /api/rooms/{room}/hooks", s.authed(s.handleHooks))
	api.Handle("DELETE /api/rooms/{room}/hooks/{id}", s.authed(s.handleDeleteHook))
	api.Handle("GET /api/rooms/{room}/events", s.handle(s.handleEvents)) // authenticates in its setup
	api.Handle("GET /api/search", s.authed(s.handleSearch))
	api.Handle("/api/", s.handle(s.handleNoRoute))
	s.apiMux = api

	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("POST /hooks/{id}/{secret}", s.handle(s.handleHookPost))
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("/", web.Handler())
	s.handler = s.refuseBadFraming(s.bodyDeadline(s.metrics.instrument(s.refuseUncleanAPIPaths(mux))))
}

// refuseUncleanAPIPaths answers a JSON 404 for an API path with "..", "."
// or "//" in it. http.ServeMux would redirect it (307, keeping the method
// and body) to the cleaned path: the API never redirects, and every answer
// under /api/ is JSON.
func (s *Server) refuseUncleanAPIPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if clean := path.Clean("/" + p); clean != p && strings.HasPrefix(clean+"/", "/api/") {
			s.writeError(w, r, errNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleNoRoute answers JSON for unknown API paths: 405 when the path exists
// with another method, else 404.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.apiMux.Handler(probe); pattern != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return errNotFound
	}
	for _, m := range allow {
		w.Header().Add("Allow", m)
	}
	return errMethodNotAllowed.with("This endpoint does not answer %s.", r.Method)
}

// Handler returns the server's HTTP handler: the API under /api/, /healthz,
// /readyz, and the page at /.
func (s *Server) Handler() http.Handler { return s.handler }

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// Serve accepts connections on ln until Shutdown, and then returns nil.
// It may be called for several listeners; Limits.MaxConns and
// Limits.ConnsPerAddr cap their connections together. With a TLS
// certificate configured it speaks HTTPS, with HTTP/2.
func (s *Server) Serve(ln net.Listener) error {
	ln = s.capListener(ln)
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		// net/http reads headerSlack bytes past its MaxHeaderBytes.
		MaxHeaderBytes: s.cfg.MaxHeaderBytes - headerSlack,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// No WriteTimeout: it would cut event streams. Each stream write
		// has its own deadline instead (Config.WriteTimeout).
	}
	s.mu.Lock()
	select {
	case <-s.closing:
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	default:
	}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	var err error
	if s.tlsConfig == nil {
		// Plain HTTP: the guard follows the requests' framing (framing.go)
		// and counts the requests; every one must reach the handler, so
		// OPTIONS * is the mux's (400) rather than net/http's own answer.
		ln = guardListener{ln}
		hs.ConnContext = guardContext
		hs.DisableGeneralOptionsHandler = true
	}
	if s.tlsConfig != nil {
		// ServeTLS, unlike Serve with a tls listener, also offers HTTP/2
		// (ALPN "h2"): browsers then multiplex every stream on one
		// connection instead of six per host.
		hs.TLSConfig = s.tlsConfig.Clone()
		err = hs.ServeTLS(ln, "", "")
	} else {
		err = hs.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, ends every event stream (clients
// resume elsewhere or later), and waits for in-flight requests to finish or
// ctx to end. It does not close the store: its owner does, afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	// Under mu, so that no stream detaches (streams.Add) after this.
	s.mu.Lock()
	s.closeOnce.Do(func() { close(s.closing) })
	servers := s.servers
	// A detached stream blocked in a write to a client that does not read
	// would hold Shutdown for up to WriteTimeout: cut that write now.
	for c := range s.detached {
		_ = c.SetWriteDeadline(time.Now())
	}
	s.mu.Unlock()
	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			_ = hs.Close()
		}
	}
	done := make(chan struct{})
	// A barrier: a sweep that started before closing was closed has taken
	// its place in sweepers by now, and none starts after.
	s.sweepMu.Lock()
	s.sweepMu.Unlock()
	go func() { s.streams.Wait(); s.sweepers.Wait(); s.presence.close(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("wait for event streams: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// now is the time sessions are checked against: time.Now, or a test's
// clock.
func (s *Server) now() time.Time {
	if f := s.clock.Load(); f != nil {
		return (*f)()
	}
	return time.Now()
}

// shuttingDown reports whether Shutdown has begun.
func (s *Server) shuttingDown() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.shuttingDown() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("shutting down\n"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		s.log.Debug("readiness check failed", "err", err) // probed every few seconds; the store logs the outage once
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("store unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
