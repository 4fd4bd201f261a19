package server

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ssechat/chat/chat"
)

// Registration modes, as GET /api/limits announces them.
const (
	RegistrationOpen   = chat.RegistrationOpen   // an unknown nick logging in creates its account
	RegistrationClosed = chat.RegistrationClosed // accounts are made by an operator (chat-server user add)
)

// Config holds every setting of the server. Build it with DefaultConfig and
// change what you need; New calls Validate.
type Config struct {
	// Registration is RegistrationOpen or RegistrationClosed. Defaults to open.
	Registration string
	// SessionTTL is how long a session lives after its last use (sessions
	// slide). Defaults to 30 days.
	SessionTTL time.Duration
	// SessionCache is how long a session read from the store is trusted
	// without asking the store again (never past its own expiry). A
	// logout through this server ends it at once; a revocation from
	// another process (chat-server user passwd/del on the same SQLite
	// file, another node on the same Redis) takes up to this long to
	// reach this server. 0 asks the store on every request. Defaults to
	// 1s.
	SessionCache time.Duration
	// Heartbeat is how long a stream may stay silent before a ": ping"
	// comment is sent. Defaults to 15s.
	Heartbeat time.Duration
	// Retry is the reconnection delay announced to EventSource clients in
	// the stream's "retry:" line. Defaults to 2s.
	Retry time.Duration
	// HistoryPageMax is the largest page of GET .../messages. Defaults to
	// chat.MaxPageSize (200).
	HistoryPageMax int
	// ReplayMax is the most messages a resuming stream is sent from the
	// store; a client further behind gets a reset (too_far_behind).
	// Defaults to 1000.
	ReplayMax int
	// QueueMax bounds each stream's queue of events not yet written. A
	// typing or room event that would overflow it is dropped; a message or
	// a presence event (a change to the welcome's online list) that would
	// overflow it closes the stream (the client resumes). The
	// events themselves are shared by all streams, so an entry costs a
	// pointer. Defaults to 4096.
	QueueMax int
	// WriteTimeout bounds each write to a stream; a client that does not
	// read for this long is disconnected. Defaults to 15s.
	WriteTimeout time.Duration
	// MaxBodyBytes bounds request bodies (413 beyond). Defaults to 64 KiB,
	// enough for 4000 characters escaped as JSON.
	MaxBodyBytes int64
	// BodyTimeout bounds the time a request body has to arrive, counted
	// from the end of its headers, whether or not the handler reads it; a
	// connection whose body is late is answered and closed. Defaults to 10s.
	BodyTimeout time.Duration
	// ReadHeaderTimeout, IdleTimeout and MaxHeaderBytes configure the
	// http.Server made by Serve. Defaults: 10s, 120s, 16 KiB. MaxHeaderBytes
	// bounds the request line and headers together (431 beyond), at least
	// 5 KiB. There is no write timeout: it would cut streams; WriteTimeout
	// bounds each write instead.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// Password sets the cost of the argon2id password hash. The defaults
	// follow OWASP's guidance (19 MiB, 2 passes, 1 lane); tests lower them.
	Password PasswordParams
	// Limits holds the per-account and per-address limits and the total
	// caps (see limits.go).
	Limits Limits
	// TrustedProxies are the proxies whose X-Forwarded-For (the client's
	// address, for per-address limits) and X-Forwarded-Proto (https: the
	// cookie is Secure) are believed. Empty by default: the connection's
	// peer is the client.
	TrustedProxies []netip.Prefix
	// TLSCertFile and TLSKeyFile, when set, make Serve speak HTTPS with
	// HTTP/2 (PEM files, as for tls.LoadX509KeyPair). Both or neither.
	TLSCertFile string
	TLSKeyFile  string
	// RoomsPerAccount caps the rooms an account owns (creates and has not
	// deleted): a PUT of a new room beyond it is 403 too_many_rooms. 0
	// lifts the cap. Defaults to 100.
	RoomsPerAccount int
	// Version is reported in the welcome event's "server" field.
	Version string
}

// PasswordParams are argon2id's cost parameters. Stored hashes carry their
// own parameters, so changing these affects only new hashes.
type PasswordParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultConfig returns the configuration documented on each field.
func DefaultConfig() Config {
	return Config{
		Registration:      RegistrationOpen,
		SessionTTL:        30 * 24 * time.Hour,
		SessionCache:      time.Second,
		Heartbeat:         15 * time.Second,
		Retry:             2 * time.Second,
		HistoryPageMax:    chat.MaxPageSize,
		ReplayMax:         1000,
		QueueMax:          4096,
		WriteTimeout:      15 * time.Second,
		MaxBodyBytes:      64 << 10,
		BodyTimeout:       10 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		Password:          PasswordParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1},
		Limits:            DefaultLimits(),
		RoomsPerAccount:   100,
		Version:           "dev",
	}
}

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Registration != RegistrationOpen && c.Registration != RegistrationClosed {
		bad("registration is %q; want open or closed", c.Registration)
	}
	if c.SessionTTL < time.Minute {
		bad("session TTL %v is under a minute", c.SessionTTL)
	}
	if c.SessionCache < 0 {
		bad("session cache %v is negative", c.SessionCache)
	}
	if c.Heartbeat <= 0 {
		bad("heartbeat must be positive")
	}
	if c.Retry <= 0 {
		bad("retry must be positive")
	}
	if c.HistoryPageMax < 1 || c.HistoryPageMax > chat.MaxPageSize {
		bad("history page max %d is outside 1 to %d", c.HistoryPageMax, chat.MaxPageSize)
	}
	if c.ReplayMax < 1 {
		bad("replay max must be at least 1")
	}
	if c.QueueMax < 1 {
		bad("queue max must be at least 1")
	}
	if c.WriteTimeout <= 0 || c.BodyTimeout <= 0 || c.ReadHeaderTimeout <= 0 {
		bad("write, body and read-header timeouts must be positive")
	}
	if c.MaxBodyBytes < 1024 {
		bad("max body bytes %d is under 1024", c.MaxBodyBytes)
	}
	if c.Password.Time < 1 || c.Password.MemoryKiB < 8 || c.Password.Threads < 1 {
		bad("password hash parameters are too small")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("give both a TLS certificate and its key, or neither")
	}
	if c.MaxHeaderBytes < minHeaderBytes {
		bad("max header bytes %d is under %d", c.MaxHeaderBytes, minHeaderBytes)
	}
	if c.RoomsPerAccount < 0 {
		bad("rooms per account %d is negative (0 lifts the cap)", c.RoomsPerAccount)
	}
	if c.IdleTimeout <= 0 {
		bad("idle timeout must be positive")
	}
	if err := c.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
