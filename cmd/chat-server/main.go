// Command chat-server runs the chat server: the JSON API, the event streams
// and the browser page, over an embedded SQLite store in --data.
//
//	chat-server [flags]                              serve
//	chat-server user add|passwd|del NICK [flags]     manage accounts
//	chat-server user list [flags]                    list accounts
//	chat-server token add|list|del NICK ... [flags]  manage access tokens
//	chat-server --version                            print the version
//
// Settings come from defaults, then CHAT_* environment variables, then
// flags: a flag given on the command line wins over its variable
// (internal/envflag). An empty variable counts as unset. This file
// only wires things together; the logic lives in package server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ssechat/chat/internal/cmdline"
	"github.com/ssechat/chat/internal/envflag"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/clientaddr"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
	"github.com/ssechat/chat/server/store/sqlite"
)

// settings is everything the command is configured by.
type settings struct {
	Server          server.Config
	Addr            string
	Data            string
	Redis           string
	LogLevel        slog.Level
	HistoryMax      int
	SearchIndex     bool
	ShutdownTimeout time.Duration
	DebugAddr       string
}

// newFlags defines every flag on a new FlagSet bound to s, which starts from
// the defaults. Every flag takes its CHAT_* variable (env).
func newFlags(name string, s *settings, out io.Writer) (*flag.FlagSet, *envflag.Env) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	env := &envflag.Env{}
	c := &s.Server
	fs.StringVar(&s.Addr, "addr", s.Addr, env.Usage("addr", "address to listen on (host:port)"))
	storeFlags(fs, env, s)
	fs.StringVar(&c.Registration, "registration", c.Registration, env.Usage("registration", "open: an unknown nick that logs in gets an account; closed: only accounts made with 'chat-server user add'"))
	fs.DurationVar(&c.Heartbeat, "heartbeat", c.Heartbeat, env.Usage("heartbeat", "a ': ping' comment after this much silence on a stream"))
	fs.IntVar(&c.HistoryPageMax, "history-page-max", c.HistoryPageMax, env.Usage("history-page-max", "the largest page of GET .../messages (1 to 200)"))
	fs.IntVar(&c.RoomsPerAccount, "rooms-per-account", c.RoomsPerAccount, env.Usage("rooms-per-account", "rooms an account may own at once (0: no cap); a new room beyond it is 403 too_many_rooms"))
	fs.IntVar(&c.ReplayMax, "replay-max", c.ReplayMax, env.Usage("replay-max", "the most messages replayed to a resuming stream; further behind gets a reset"))
	fs.IntVar(&s.HistoryMax, "history-max", s.HistoryMax, env.Usage("history-max", "messages kept per room; older ones are deleted (0 keeps all)"))
	fs.BoolVar(&s.SearchIndex, "search-index", s.SearchIndex, env.Usage("search-index", "index new messages for search (false only to measure what indexing costs: search then misses what is written meanwhile)"))
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, env.Usage("session-ttl", "a session ends after this long unused"))
	fs.DurationVar(&c.SessionCache, "session-cache", c.SessionCache, env.Usage("session-cache", "trust a session read from the store for this long (0: ask the store on every request); a logout here ends it at once, but 'chat-server user passwd/del' or another node's revocation takes up to this long to reach this server"))
	fs.IntVar(&c.QueueMax, "queue-max", c.QueueMax, env.Usage("queue-max", "events queued per stream before a slow one is closed"))
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, env.Usage("write-timeout", "a stream whose client reads nothing for this long is closed"))
	fs.BoolVar(&c.Limits.Enabled, "rate-limits", c.Limits.Enabled, env.Usage("rate-limits", "per-account and per-address limits (false for benchmarks)"))
	fs.IntVar(&c.Limits.MaxStreams, "max-streams", c.Limits.MaxStreams, env.Usage("max-streams", "open event streams this process serves at most"))
	fs.IntVar(&c.Limits.MaxConns, "max-conns", c.Limits.MaxConns, env.Usage("max-conns", "open connections this process accepts at most; more are closed at once"))
	fs.IntVar(&c.Limits.ConnsPerAddr, "conns-per-addr", c.Limits.ConnsPerAddr, env.Usage("conns-per-addr", "open connections per client address (IPv6: per /64; a trusted proxy is not counted); more are closed at once"))
	fs.Float64Var(&c.Limits.MessageRate, "message-rate", c.Limits.MessageRate, env.Usage("message-rate", "messages (and room changes) per second per account"))
	fs.IntVar(&c.Limits.MessageBurst, "message-burst", c.Limits.MessageBurst, env.Usage("message-burst", "burst of messages per account above the rate"))
	fs.Float64Var(&c.Limits.TypingRate, "typing-rate", c.Limits.TypingRate, env.Usage("typing-rate", "typing notices relayed per second per account; more are answered 204 and dropped"))
	fs.IntVar(&c.Limits.TypingBurst, "typing-burst", c.Limits.TypingBurst, env.Usage("typing-burst", "burst of typing notices per account above the rate"))
	fs.IntVar(&c.Limits.LoginFailures, "login-failures", c.Limits.LoginFailures, env.Usage("login-failures", "failed logins per nick and per address within --login-window, then 429"))
	fs.DurationVar(&c.Limits.LoginWindow, "login-window", c.Limits.LoginWindow, env.Usage("login-window", "the window of --login-failures"))
	fs.IntVar(&c.Limits.Registrations, "registrations", c.Limits.Registrations, env.Usage("registrations", "new accounts per address within --registration-window"))
	fs.DurationVar(&c.Limits.RegistrationWindow, "registration-window", c.Limits.RegistrationWindow, env.Usage("registration-window", "the window of --registrations"))
	fs.IntVar(&c.Limits.StreamsPerAccount, "streams-per-account", c.Limits.StreamsPerAccount, env.Usage("streams-per-account", "open event streams per account"))
	fs.IntVar(&c.Limits.StreamsPerAddr, "streams-per-addr", c.Limits.StreamsPerAddr, env.Usage("streams-per-addr", "open event streams per client address (IPv6: per /64)"))
	fs.Float64Var(&c.Limits.StreamRate, "stream-rate", c.Limits.StreamRate, env.Usage("stream-rate", "event streams opened per second per account"))
	fs.IntVar(&c.Limits.StreamBurst, "stream-burst", c.Limits.StreamBurst, env.Usage("stream-burst", "burst of event streams opened per account above the rate"))
	fs.Int64Var(&c.MaxBodyBytes, "max-body", c.MaxBodyBytes, env.Usage("max-body", "largest request body in bytes (413 beyond)"))
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes, env.Usage("max-header-bytes", "largest request header block in bytes"))
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, env.Usage("read-header-timeout", "time a client has to send its request headers"))
	fs.DurationVar(&c.BodyTimeout, "body-timeout", c.BodyTimeout, env.Usage("body-timeout", "time a client has to send a request body"))
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, env.Usage("idle-timeout", "an idle keep-alive connection is closed after this (never a live stream)"))
	fs.Func("trusted-proxy", env.Usage("trusted-proxy", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed"), func(v string) error {
		p, err := clientaddr.ParsePrefixes(v)
		c.TrustedProxies = p
		return err
	})
	fs.StringVar(&c.TLSCertFile, "tls-cert", c.TLSCertFile, env.Usage("tls-cert", "PEM certificate (chain): serve HTTPS with HTTP/2; needs --tls-key"))
	fs.StringVar(&c.TLSKeyFile, "tls-key", c.TLSKeyFile, env.Usage("tls-key", "PEM private key of --tls-cert"))
	passwordFlags(fs, env, &c.Password)
	fs.DurationVar(&s.ShutdownTimeout, "shutdown-timeout", s.ShutdownTimeout, env.Usage("shutdown-timeout", "how long a graceful shutdown waits for requests in flight"))
	fs.StringVar(&s.DebugAddr, "debug-addr", s.DebugAddr, env.Usage("debug-addr", "serve Go's profiler (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060; off when empty"))
	fs.TextVar(&s.LogLevel, "log-level", s.LogLevel, env.Usage("log-level", "debug, info, warn or error"))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  %s [flags]\n  %s user add|passwd|del|list ... (see %s user --help)\n  %s token add|list|del ... (see %s token --help)\n  %s --version\n\n"+
			"Each flag can also be set by its CHAT_* environment variable; a flag on the\n"+
			"command line wins over the variable.\n\nFlags:\n", name, name, name, name, name, name)
		fs.PrintDefaults()
	}
	return fs, env
}

// storeFlags are the flags that say where the data is: the server's and
// the user commands'.
func storeFlags(fs *flag.FlagSet, env *envflag.Env, s *settings) {
	fs.StringVar(&s.Data, "data", s.Data, env.Usage("data", "directory of the data (SQLite file chat.db)"))
	fs.StringVar(&s.Redis, "redis", s.Redis, env.Usage("redis", "redis://[user:password@]host:port/db (rediss:// for TLS): keep everything in that Redis instead of --data, so several nodes serve the same rooms"))
}

// passwordFlags are the cost of the password hash: the server's, and that
// of user add and user passwd.
func passwordFlags(fs *flag.FlagSet, env *envflag.Env, p *server.PasswordParams) {
	fs.Func("password-memory", env.Usage("password-memory", "memory of each argon2id password hash in KiB (default "+strconv.Itoa(int(p.MemoryKiB))+")"),
		func(v string) error { return parseUint32(v, &p.MemoryKiB) })
	fs.Func("password-passes", env.Usage("password-passes", "passes of each argon2id password hash (default "+strconv.Itoa(int(p.Time))+")"),
		func(v string) error { return parseUint32(v, &p.Time) })
}

func parseUint32(v string, dst *uint32) error {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return err
	}
	*dst = uint32(n)
	return nil
}

// parse reads the flags, then the CHAT_* variables of the flags the command
// line left alone. It returns the remaining arguments. --help and --version
// are answered on stdout with flag.ErrHelp (internal/cmdline); other errors
// are returned unprinted.
func parse(name string, args []string, s *settings, stdout io.Writer) ([]string, error) {
	fs, env := newFlags(name, s, stdout)
	if err := cmdline.Parse(fs, args, stdout); err != nil {
		return nil, err
	}
	if err := env.Apply(fs, os.LookupEnv); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

func defaults() settings {
	cfg := server.DefaultConfig()
	cfg.Version = cmdline.Version()
	return settings{Server: cfg, Addr: "127.0.0.1:8080", Data: "./chat-data", LogLevel: slog.LevelInfo, ShutdownTimeout: 10 * time.Second, SearchIndex: true}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	s := defaults()
	rest, err := parse("chat-server", args, &s, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chat-server: %v (see --help)\n", err)
		return 2
	}
	if len(rest) > 0 && rest[0] == "user" {
		return runUser(rest[1:], &s, stdin, stdout, stderr)
	}
	if len(rest) > 0 && rest[0] == "token" {
		return runToken(rest[1:], &s, stdout, stderr)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "chat-server: unexpected argument %q (see --help)\n", rest[0])
		return 2
	}
	if err := s.Server.Validate(); err != nil {
		fmt.Fprintln(stderr, "chat-server: bad configuration:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: s.LogLevel}))
	// Listen before anything else: a port that is taken or an address that
	// cannot be is one plain line, and nothing has been made on disk yet
	// (the data directory, the SQLite file).
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		fmt.Fprintln(stderr, "chat-server:", err)
		return 1
	}
	if s.DebugAddr != "" {
		stopDebug, err := startDebug(s.DebugAddr, log)
		if err != nil {
			_ = ln.Close()
			fmt.Fprintln(stderr, "chat-server:", err)
			return 1
		}
		defer stopDebug()
	}
	if err := serve(s, ln, log, stdout); err != nil {
		log.Error("chat-server stopped", "err", err)
		return 1
	}
	return 0
}

// openStore opens the Redis store when --redis is set, else the SQLite
// store in the data directory, creating it. A serving process locks the SQLite
// file (lock), so that a second server on the same data cannot hand out the
// same message ids; the account commands do not, so that they work beside a
// running server, which reads accounts from the file on every login and
// sessions at least every --session-cache.
func openStore(s settings, log *slog.Logger, lock bool) (store.Store, error) {
	if s.Redis != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := redis.Open(ctx, s.Redis, redis.Options{HistoryMax: s.HistoryMax, NoSearchIndex: !s.SearchIndex, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(s.Data, 0o700); err != nil {
		return nil, fmt.Errorf("make data directory: %w", err)
	}
	st, err := sqlite.Open(filepath.Join(s.Data, "chat.db"), sqlite.Options{HistoryMax: s.HistoryMax, NoSearchIndex: !s.SearchIndex, Logger: log, Lock: lock})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// storeAttr names the store in use for the log: "data" with the SQLite
// directory, or "redis" with the URL as redactRedisURL leaves it.
func storeAttr(s settings) slog.Attr {
	if s.Redis != "" {
		return slog.String("redis", redactRedisURL(s.Redis))
	}
	return slog.String("data", s.Data)
}

// redactRedisURL keeps of a --redis URL only what says which Redis it is:
// scheme, user name, host and database. The password goes, and so does the
// query (go-redis's options and ca_file), so that nothing secret can reach a
// log however the URL was written.
func redactRedisURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	out := neturl.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if name := u.User.Username(); name != "" {
		out.User = neturl.User(name)
	}
	return out.String()
}

// serve runs the server on ln until SIGINT or SIGTERM, then shuts down
// gracefully; a second signal exits at once. It closes ln.
func serve(s settings, ln net.Listener, log *slog.Logger, stdout io.Writer) error {
	st, err := openStore(s, log, true)
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv, err := server.New(s.Server, st, log)
	if err != nil {
		_ = ln.Close()
		_ = st.Close()
		return err
	}
	storeMetrics(srv, st)
	scheme := "http"
	if s.Server.TLSCertFile != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	log.Info("chat-server listening", "url", url, storeAttr(s), "registration", s.Server.Registration, "version", s.Server.Version)
	fmt.Fprintf(stdout, "chat-server listening on %s\n", url)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		_ = st.Close()
		return fmt.Errorf("serve: %w", err)
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String())
	}
	go func() {
		sig := <-sigs
		log.Warn("second signal: exiting now", "signal", sig.String())
		os.Exit(1)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("shutdown did not finish in time", "err", err)
	}
	<-served
	if err := st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return nil
}
