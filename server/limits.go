package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/clientaddr"
	"github.com/ssechat/chat/server/limit"
	"github.com/ssechat/chat/server/store"
)

// Limits holds the server's limits. The per-account and per-address ones
// (message rate, login failures, registrations, streams per account and per
// address) are switched by Enabled; the total stream and connection caps
// hold either way. On a store shared by several nodes (one that offers
// store.Limiter: Redis) the login, registration, message and
// streams-per-account limits hold for all the nodes together; the others
// are per node (limits_shared.go).
type Limits struct {
	// Enabled turns the per-account and per-address limits on. Defaults
	// to true; --rate-limits=false turns them off for benchmarks. Sizes,
	// timeouts, MaxStreams and MaxConns stay either way.
	Enabled bool
	// MessageRate and MessageBurst are each account's token bucket for
	// posting messages and creating or updating rooms. Defaults: 5 per
	// second, a burst of 20.
	MessageRate  float64
	MessageBurst int
	// TypingRate and TypingBurst are each account's own bucket for typing
	// notices, apart from MessageRate so that a fast typist never has a
	// real message refused. A notice over it is answered 204 and not
	// relayed (typing is best effort). Defaults: 1 per second, a burst of 3.
	TypingRate  float64
	TypingBurst int
	// LoginFailures failed logins per nick, and as many per client address,
	// are allowed within LoginWindow; then 429 until the window's share of
	// them has passed. Defaults: 10 in 15 minutes.
	LoginFailures int
	LoginWindow   time.Duration
	// Registrations new accounts per client address are allowed within
	// RegistrationWindow (open registration only). Defaults: 20 an hour.
	Registrations      int
	RegistrationWindow time.Duration
	// StreamsPerAccount and StreamsPerAddr cap the open event streams of
	// one account and of one client address (429 beyond). Defaults: 32
	// and 256.
	StreamsPerAccount int
	StreamsPerAddr    int
	// StreamRate and StreamBurst are each account's token bucket for
	// opening event streams (429 too_many_streams beyond, with
	// Retry-After). Every open and close is announced to the room's other
	// streams, so without it a few accounts opening and closing streams in
	// a loop would make the whole room's presence churn. The burst lets a
	// client open all its streams at once after a restart. Defaults: 1 per
	// second, a burst of 32.
	StreamRate  float64
	StreamBurst int
	// MaxStreams caps the open event streams of this process (503 beyond).
	// Defaults to 50000.
	MaxStreams int
	// MaxConns caps the open connections of this process over all its
	// listeners; one over it is closed at once. Defaults to 60000: room for
	// MaxStreams streams and the API calls beside them.
	MaxConns int
	// ConnsPerAddr caps the open connections from one address (IPv6: one
	// /64), counted at accept like MaxConns, so that one client cannot
	// fill MaxConns and lock everyone else out; one over it is closed at
	// once. It counts the connection's peer: X-Forwarded-For is known only
	// after the headers, and a trusted proxy (TrustedProxies), which
	// carries many clients, is not counted. Defaults to 2000: a browser
	// holds at most six connections to a server over HTTP/1.1 (one over
	// HTTP/2), so an office behind one NAT reaches StreamsPerAddr (256
	// users with a stream each) long before it reaches this.
	ConnsPerAddr int
}

// DefaultLimits returns the limits documented on each field.
func DefaultLimits() Limits {
	return Limits{
		Enabled:            true,
		MessageRate:        5,
		MessageBurst:       20,
		TypingRate:         1,
		TypingBurst:        3,
		LoginFailures:      10,
		LoginWindow:        15 * time.Minute,
		Registrations:      20,
		RegistrationWindow: time.Hour,
		StreamsPerAccount:  32,
		StreamsPerAddr:     256,
		StreamRate:         1,
		StreamBurst:        32,
		MaxStreams:         50000,
		MaxConns:           60000,
		ConnsPerAddr:       2000,
	}
}

func (l Limits) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if l.MaxStreams < 1 {
		bad("max streams must be at least 1")
	}
	if l.MaxConns < 1 {
		bad("max connections must be at least 1")
	}
	if !l.Enabled {
		return errors.Join(errs...)
	}
	if !(l.MessageRate > 0) || l.MessageBurst < 1 {
		bad("message rate and burst must be positive")
	}
	if !(l.TypingRate > 0) || l.TypingBurst < 1 {
		bad("typing rate and burst must be positive")
	}
	if l.LoginFailures < 1 || l.LoginWindow <= 0 {
		bad("login failures and window must be positive")
	}
	if l.Registrations < 1 || l.RegistrationWindow <= 0 {
		bad("registrations and their window must be positive")
	}
	if l.StreamsPerAccount < 1 || l.StreamsPerAddr < 1 {
		bad("streams per account and per address must be at least 1")
	}
	if !(l.StreamRate > 0) || l.StreamBurst < 1 {
		bad("stream rate and burst must be positive")
	}
	if l.ConnsPerAddr < 1 {
		bad("connections per address must be at least 1")
	}
	return errors.Join(errs...)
}

// limiter applies Limits. Its per-key structures (package limit) are nil
// when the per-account and per-address limits are off, and a nil one allows
// everything; the total caps are always there.
type limiter struct {
	cfg     Limits
	proxies []netip.Prefix

	messages          *limit.Keyed // per account (NickKey)
	typing            *limit.Keyed // typing notices per account (NickKey)
	streamOpens       *limit.Keyed // streams opened per account (NickKey)
	loginNick         *limit.Keyed // failed logins per nick (NickKey)
	loginAddr         *limit.Keyed // failed logins per address (AddrKey)
	registrations     *limit.Keyed // new accounts per address
	streamsPerAccount *limit.Counter
	streamsPerAddr    *limit.Counter

	streams atomic.Int64
	conns   *limit.ConnCap

	// shared is the store's limits when it serves a cluster (Redis): then
	// login failures, registrations, the message bucket and streams per
	// account are counted over every node (limits_shared.go), and the
	// in-memory structures above serve only typing, streams per address and
	// a fallback. nil on one node, and when the limits are off.
	shared store.Limiter
	log    *slog.Logger
	// sharedDownLogged is when the last "shared stream count unavailable"
	// line was logged (unix ns), so an outage logs once a minute.
	sharedDownLogged atomic.Int64
}

func newLimiter(cfg Limits, proxies []netip.Prefix) *limiter {
	l := &limiter{cfg: cfg, proxies: proxies, conns: limit.NewConnCap(cfg.MaxConns, nil)}
	if !cfg.Enabled {
		return l
	}
	per := func(n int, window time.Duration) rate.Limit { return rate.Every(window / time.Duration(n)) }
	l.messages = limit.NewKeyed(rate.Limit(cfg.MessageRate), cfg.MessageBurst)
	l.typing = limit.NewKeyed(rate.Limit(cfg.TypingRate), cfg.TypingBurst)
	l.streamOpens = limit.NewKeyed(rate.Limit(cfg.StreamRate), cfg.StreamBurst)
	l.loginNick = limit.NewKeyed(per(cfg.LoginFailures, cfg.LoginWindow), cfg.LoginFailures)
	l.loginAddr = limit.NewKeyed(per(cfg.LoginFailures, cfg.LoginWindow), cfg.LoginFailures)
	l.registrations = limit.NewKeyed(per(cfg.Registrations, cfg.RegistrationWindow), cfg.Registrations)
	l.streamsPerAccount = limit.NewCounter(cfg.StreamsPerAccount)
	l.streamsPerAddr = limit.NewCounter(cfg.StreamsPerAddr)
	return l
}

// clientAddr is the address per-address limits are keyed by: the peer, or
// behind a trusted proxy the client it names in X-Forwarded-For.
func (l *limiter) clientAddr(r *http.Request) netip.Addr {
	return clientaddr.Of(r, l.proxies)
}

// addrKey is clientAddr in the form limits count it (IPv6 by /64).
func (l *limiter) addrKey(r *http.Request) string {
	return limit.AddrKey(l.clientAddr(r))
}

// forwardedTLS reports whether a trusted proxy says the client reached it
// over HTTPS (X-Forwarded-Proto), for the cookie's Secure flag and the
// Origin check.
func (l *limiter) forwardedTLS(r *http.Request) bool {
	return r.Header.Get("X-Forwarded-Proto") == "https" && clientaddr.FromTrustedProxy(r, l.proxies)
}

// loginAttempt is one login under the failure limits; end it exactly once.
type loginAttempt struct {
	nick, addr limit.Attempt
	failed     bool
	shared     *sharedAttempt // in a cluster instead of nick and addr
}

// fail marks the attempt as a failed login (wrong password, unknown nick).
func (a *loginAttempt) fail() { a.failed = true }

func (a *loginAttempt) end() {
	if a.shared != nil {
		a.endShared()
		return
	}
	a.nick.End(a.failed)
	a.addr.End(a.failed)
}

// allowLogin is asked before a password is checked; an error (429) refuses
// the attempt without checking it. Attempts under way count as failures
// until they end, so parallel guesses cannot overshoot the limit.
func (l *limiter) allowLogin(r *http.Request, nick string) (*loginAttempt, error) {
	if l.shared != nil {
		return l.allowLoginShared(r, nick)
	}
	an, ok, wait := l.loginNick.Begin(chat.NickKey(nick))
	if !ok {
		return nil, errLoginsNick(wait)
	}
	aa, ok, wait := l.loginAddr.Begin(l.addrKey(r))
	if !ok {
		an.End(false)
		return nil, errLoginsAddr(wait)
	}
	return &loginAttempt{nick: an, addr: aa}, nil
}

func errLoginsNick(wait time.Duration) error {
	return errTooManyLogins.with("Too many failed logins for this nick; try again later.").after(wait)
}

func errLoginsAddr(wait time.Duration) error {
	return errTooManyLogins.with("Too many failed logins from this address; try again later.").after(wait)
}

// allowRegistration is asked before an account is created.
func (l *limiter) allowRegistration(r *http.Request) error {
	if l.shared != nil {
		return l.takeShared(r.Context(), registrationKey(l.addrKey(r)), l.registrationBucket(), errRegistrations)
	}
	if ok, wait := l.registrations.Allow(l.addrKey(r)); !ok {
		return errRegistrations(wait)
	}
	return nil
}

func errRegistrations(wait time.Duration) error { return errTooManyRegistrations.after(wait) }

// allowPost is asked before a message is stored or a room created or
// changed: one bucket per account for everything others keep. An error
// (429 with Retry-After) refuses it and nothing is stored.
func (l *limiter) allowPost(r *http.Request, nick string) error {
	if l.shared != nil {
		return l.takeShared(r.Context(), messageKey(nick), l.messageBucket(), errSendingTooFast)
	}
	if ok, wait := l.messages.Allow(chat.NickKey(nick)); !ok {
		return errRateLimited.after(wait)
	}
	return nil
}

// allowMessage is allowPost for a message, whose token a cluster store
// takes in the append itself (appendMessage): then it allows everything.
func (l *limiter) allowMessage(r *http.Request, nick string) error {
	if l.shared != nil {
		return nil
	}
	return l.allowPost(r, nick)
}

func errSendingTooFast(wait time.Duration) error { return errRateLimited.after(wait) }

// appendMessage appends m under its sender's message bucket: on one node
// allowMessage checked the bucket already; in a cluster the store takes the
// token in the append's own round trip, and an empty bucket is an error
// wrapping store.ErrLimited (refusedMessage renders it).
func (l *limiter) appendMessage(ctx context.Context, st store.Store, m store.NewMessage) (chat.Message, bool, error) {
	if l.shared == nil {
		return st.Append(ctx, m)
	}
	return l.shared.AppendLimited(ctx, m, messageKey(m.Nick), l.messageBucket())
}

// refusedMessage is the 429 of an append refused by the shared bucket.
func refusedMessage(err error) error {
	var le *store.LimitedError
	if !errors.As(err, &le) {
		return errRateLimited
	}
	return errRateLimited.after(le.RetryAfter)
}

// allowTyping reports whether a typing notice of nick may be relayed. It
// draws on its own bucket, never on allowPost's.
func (l *limiter) allowTyping(nick string) bool {
	ok, _ := l.typing.Allow(chat.NickKey(nick))
	return ok
}

// allowStreamOpen takes a token from nick's stream bucket: over every node
// in a cluster, and from the node's own bucket when the shared one cannot
// be reached (as for the stream count, limits_shared.go).
func (l *limiter) allowStreamOpen(ctx context.Context, nick string) error {
	if l.shared != nil {
		ok, wait, err := l.shared.Take(ctx, streamOpensKey(nick), l.streamBucket())
		if err == nil {
			if !ok {
				return errStreamsTooFast(wait)
			}
			return nil
		}
		l.sharedDown(err)
	}
	if ok, wait := l.streamOpens.Allow(chat.NickKey(nick)); !ok {
		return errStreamsTooFast(wait)
	}
	return nil
}

func errStreamsTooFast(wait time.Duration) error {
	return errTooManyStreams.with("This account opens event streams too fast; wait a moment.").after(wait)
}

// streamRetry is the Retry-After of a refused stream: nobody knows when one
// of the others ends, so a guess that keeps retries slow.
const streamRetry = 10 * time.Second

// acquireStream is asked before a stream starts; release must be called when
// it ends. Every attempt takes a token from the account's stream bucket
// first, whether or not a place is then free.
//
// An anonymous reader (nick "") counts against its address only: its
// opening bucket is keyed by the address, and it holds no account's place.
func (l *limiter) acquireStream(r *http.Request, nick string) (release func(), err error) {
	if nick == "" {
		return l.acquireAnonymousStream(r)
	}
	if err := l.allowStreamOpen(r.Context(), nick); err != nil {
		return nil, err
	}
	if l.streams.Add(1) > int64(l.cfg.MaxStreams) {
		l.streams.Add(-1)
		return nil, errServerFull.after(streamRetry)
	}
	held, which, ok := limit.AcquireAll(
		limit.Hold{Counter: l.streamsPerAccount, Key: chat.NickKey(nick)},
		limit.Hold{Counter: l.streamsPerAddr, Key: l.addrKey(r)},
	)
	if ok && l.shared != nil {
		// The node's own count is taken too: it is what holds when the
		// shared one cannot be reached (limits_shared.go).
		local := held
		var shared func()
		if shared, ok = l.acquireStreamShared(r.Context(), nick); ok {
			held = func() { shared(); local() }
		} else {
			local()
			which = 0 // the account's streams over the cluster
		}
	}
	if !ok {
		l.streams.Add(-1)
		err := errTooManyStreams.with("This account has %d event streams open; close one first.", l.cfg.StreamsPerAccount)
		if which == 1 {
			err = errTooManyStreams.with("This address has %d event streams open; close one first.", l.cfg.StreamsPerAddr)
		}
		return nil, err.after(streamRetry)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			held()
			l.streams.Add(-1)
		})
	}, nil
}

// acquireAnonymousStream is acquireStream for a reader without a session
// (a public_read room): the address's opening bucket (under a key no nick
// can have), the server's cap and the address's cap on open streams.
func (l *limiter) acquireAnonymousStream(r *http.Request) (release func(), err error) {
	if ok, wait := l.streamOpens.Allow("\x00addr " + l.addrKey(r)); !ok {
		return nil, errTooManyStreams.with("This address opens event streams too fast; wait a moment.").after(wait)
	}
	if l.streams.Add(1) > int64(l.cfg.MaxStreams) {
		l.streams.Add(-1)
		return nil, errServerFull.after(streamRetry)
	}
	held, _, ok := limit.AcquireAll(limit.Hold{Counter: l.streamsPerAddr, Key: l.addrKey(r)})
	if !ok {
		l.streams.Add(-1)
		return nil, errTooManyStreams.with("This address has %d event streams open; close one first.", l.cfg.StreamsPerAddr).after(streamRetry)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			held()
			l.streams.Add(-1)
		})
	}, nil
}
