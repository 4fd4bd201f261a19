// Command chat-server runs the chat server: the JSON API, the event streams
// and the browser page, over an embedded SQLite store in --data.
//
//	chat-server [flags]                 serve
//	chat-server user add|passwd|del NICK [flags]   manage accounts
//
// Settings come from defaults, then CHAT_* environment variables, then
// flags: a flag given on the command line wins over its variable. This file
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
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

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
	ShutdownTimeout time.Duration
	DebugAddr       string
}

// envFlag ties a flag to its environment variable.
type envFlag struct{ name, env string }

// newFlags defines every flag on a new FlagSet bound to s, which starts from
// the defaults. It returns the flag-to-variable table.
func newFlags(name string, s *settings, out io.Writer) (*flag.FlagSet, []envFlag) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	var table []envFlag
	env := func(flagName string) string {
		v := "CHAT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
		table = append(table, envFlag{flagName, v})
		return v
	}
	c := &s.Server
	fs.StringVar(&s.Addr, "addr", s.Addr, "address to listen on (host:port) "+envNote(env("addr")))
	fs.StringVar(&s.Data, "data", s.Data, "directory of the data (SQLite file chat.db) "+envNote(env("data")))
	fs.StringVar(&s.Redis, "redis", s.Redis, "redis://[user:password@]host:port/db (rediss:// for TLS): keep everything in that Redis instead of --data, so several nodes serve the same rooms "+envNote(env("redis")))
	fs.StringVar(&c.Registration, "registration", c.Registration, "open: an unknown nick that logs in gets an account; closed: only accounts made with 'chat-server user add' "+envNote(env("registration")))
	fs.DurationVar(&c.Heartbeat, "heartbeat", c.Heartbeat, "a ': ping' comment after this much silence on a stream "+envNote(env("heartbeat")))
	fs.IntVar(&c.HistoryPageMax, "history-page-max", c.HistoryPageMax, "the largest page of GET .../messages (1 to 200) "+envNote(env("history-page-max")))
	fs.IntVar(&c.ReplayMax, "replay-max", c.ReplayMax, "the most messages replayed to a resuming stream; further behind gets a reset "+envNote(env("replay-max")))
	fs.IntVar(&s.HistoryMax, "history-max", s.HistoryMax, "messages kept per room; older ones are deleted (0 keeps all) "+envNote(env("history-max")))
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "a session ends after this long unused "+envNote(env("session-ttl")))
	fs.DurationVar(&c.SessionCache, "session-cache", c.SessionCache, "trust a session read from the store for this long (0: ask the store on every request); a logout here ends it at once, but 'chat-server user passwd/del' or another node's revocation takes up to this long to reach this server "+envNote(env("session-cache")))
	fs.IntVar(&c.QueueMax, "queue-max", c.QueueMax, "events queued per stream before a slow one is closed "+envNote(env("queue-max")))
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "a stream whose client reads nothing for this long is closed "+envNote(env("write-timeout")))
	fs.BoolVar(&c.Limits.Enabled, "rate-limits", c.Limits.Enabled, "per-account and per-address limits (false for benchmarks) "+envNote(env("rate-limits")))
	fs.IntVar(&c.Limits.MaxStreams, "max-streams", c.Limits.MaxStreams, "open event streams this process serves at most "+envNote(env("max-streams")))
	fs.IntVar(&c.Limits.MaxConns, "max-conns", c.Limits.MaxConns, "open connections this process accepts at most; more are closed at once "+envNote(env("max-conns")))
	fs.Float64Var(&c.Limits.MessageRate, "message-rate", c.Limits.MessageRate, "messages (and room changes) per second per account "+envNote(env("message-rate")))
	fs.IntVar(&c.Limits.MessageBurst, "message-burst", c.Limits.MessageBurst, "burst of messages per account above the rate "+envNote(env("message-burst")))
	fs.Float64Var(&c.Limits.TypingRate, "typing-rate", c.Limits.TypingRate, "typing notices relayed per second per account; more are answered 204 and dropped "+envNote(env("typing-rate")))
	fs.IntVar(&c.Limits.TypingBurst, "typing-burst", c.Limits.TypingBurst, "burst of typing notices per account above the rate "+envNote(env("typing-burst")))
	fs.IntVar(&c.Limits.LoginFailures, "login-failures", c.Limits.LoginFailures, "failed logins per nick and per address within --login-window, then 429 "+envNote(env("login-failures")))
	fs.DurationVar(&c.Limits.LoginWindow, "login-window", c.Limits.LoginWindow, "the window of --login-failures "+envNote(env("login-window")))
	fs.IntVar(&c.Limits.Registrations, "registrations", c.Limits.Registrations, "new accounts per address within --registration-window "+envNote(env("registrations")))
	fs.DurationVar(&c.Limits.RegistrationWindow, "registration-window", c.Limits.RegistrationWindow, "the window of --registrations "+envNote(env("registration-window")))
	fs.IntVar(&c.Limits.StreamsPerAccount, "streams-per-account", c.Limits.StreamsPerAccount, "open event streams per account "+envNote(env("streams-per-account")))
	fs.IntVar(&c.Limits.StreamsPerAddr, "streams-per-addr", c.Limits.StreamsPerAddr, "open event streams per client address (IPv6: per /64) "+envNote(env("streams-per-addr")))
	fs.Int64Var(&c.MaxBodyBytes, "max-body", c.MaxBodyBytes, "largest request body in bytes (413 beyond) "+envNote(env("max-body")))
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes, "largest request header block in bytes "+envNote(env("max-header-bytes")))
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "time a client has to send its request headers "+envNote(env("read-header-timeout")))
	fs.DurationVar(&c.BodyTimeout, "body-timeout", c.BodyTimeout, "time a client has to send a request body "+envNote(env("body-timeout")))
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "an idle keep-alive connection is closed after this (never a live stream) "+envNote(env("idle-timeout")))
	fs.Func("trusted-proxy", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "+envNote(env("trusted-proxy")), func(v string) error {
		p, err := clientaddr.ParsePrefixes(v)
		c.TrustedProxies = p
		return err
	})
	fs.StringVar(&c.TLSCertFile, "tls-cert", c.TLSCertFile, "PEM certificate (chain): serve HTTPS with HTTP/2; needs --tls-key "+envNote(env("tls-cert")))
	fs.StringVar(&c.TLSKeyFile, "tls-key", c.TLSKeyFile, "PEM private key of --tls-cert "+envNote(env("tls-key")))
	fs.Func("password-memory", "memory of each argon2id password hash in KiB (default "+strconv.Itoa(int(c.Password.MemoryKiB))+") "+envNote(env("password-memory")),
		func(v string) error { return parseUint32(v, &c.Password.MemoryKiB) })
	fs.Func("password-passes", "passes of each argon2id password hash (default "+strconv.Itoa(int(c.Password.Time))+") "+envNote(env("password-passes")),
		func(v string) error { return parseUint32(v, &c.Password.Time) })
	fs.DurationVar(&s.ShutdownTimeout, "shutdown-timeout", s.ShutdownTimeout, "how long a graceful shutdown waits for requests in flight "+envNote(env("shutdown-timeout")))
	fs.StringVar(&s.DebugAddr, "debug-addr", s.DebugAddr, "serve Go's profiler (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060; off when empty "+envNote(env("debug-addr")))
	fs.TextVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info, warn or error "+envNote(env("log-level")))
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage:\n  %s [flags]\n  %s user add|passwd|del NICK [flags]\n\n"+
			"Each flag can also be set by its CHAT_* environment variable; a flag on the\n"+
			"command line wins over the variable.\n\nFlags:\n", name, name)
		fs.PrintDefaults()
	}
	return fs, table
}

func parseUint32(v string, dst *uint32) error {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return err
	}
	*dst = uint32(n)
	return nil
}

func envNote(v string) string { return "(env " + v + ")" }

// parse reads the environment, then the flags. It returns the remaining
// arguments.
func parse(name string, args []string, s *settings, out io.Writer) ([]string, error) {
	fs, table := newFlags(name, s, out)
	// Variables first, so flags given on the command line override them.
	for _, e := range table {
		if v, ok := os.LookupEnv(e.env); ok {
			if err := fs.Set(e.name, v); err != nil {
				return nil, fmt.Errorf("read %s=%q: %w", e.env, v, err)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

func defaults() settings {
	cfg := server.DefaultConfig()
	cfg.Version = version()
	return settings{Server: cfg, Addr: "127.0.0.1:8080", Data: "./chat-data", LogLevel: slog.LevelInfo, ShutdownTimeout: 10 * time.Second}
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	s := defaults()
	rest, err := parse("chat-server", args, &s, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "chat-server:", err)
		return 2
	}
	if len(rest) > 0 && rest[0] == "user" {
		return runUser(rest[1:], &s, stdin, stdout, stderr)
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
	if err := serve(s, log, stdout); err != nil {
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
		st, err := redis.Open(ctx, s.Redis, redis.Options{HistoryMax: s.HistoryMax, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(s.Data, 0o700); err != nil {
		return nil, fmt.Errorf("make data directory: %w", err)
	}
	st, err := sqlite.Open(filepath.Join(s.Data, "chat.db"), sqlite.Options{HistoryMax: s.HistoryMax, Logger: log, Lock: lock})
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

// serve runs the server until SIGINT or SIGTERM, then shuts down gracefully;
// a second signal exits at once.
func serve(s settings, log *slog.Logger, stdout io.Writer) error {
	st, err := openStore(s, log, true)
	if err != nil {
		return err
	}
	srv, err := server.New(s.Server, st, log)
	if err != nil {
		_ = st.Close()
		return err
	}
	storeMetrics(srv, st)
	if s.DebugAddr != "" {
		stopDebug, err := startDebug(s.DebugAddr, log)
		if err != nil {
			_ = st.Close()
			return err
		}
		defer stopDebug()
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		_ = st.Close()
		return fmt.Errorf("listen: %w", err)
	}
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
