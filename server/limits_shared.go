package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// In a cluster every node must count the same failures, tokens and streams,
// or each node added gives an attacker as many guesses again. A store that
// serves a cluster (Redis) offers store.Limiter; the limiter then counts
// there what an attacker could spread over the nodes: failed logins per
// nick and per address, registrations per address, each account's message
// bucket and its open streams. Typing notices and streams per address stay
// per node (docs/security.md says why).
//
// When the store cannot be reached:
//   - logins and registrations are refused (503): the login needs the store
//     for the account anyway, and answering without the shared count would
//     hand out a node's own guesses just when an attacker may have caused
//     the outage;
//   - a message's token is taken in the append's own script, so the post
//     fails (503) as it would without limits;
//   - a stream is counted against this node's own per-account cap only, and
//     a line is logged (once a minute): refusing would turn a Redis blip
//     into a storm of refused reconnects, and the node's cap still bounds
//     what one account holds on it.

// Shared limit keys, which the store prefixes (docs/deploy.md, Keys).
func messageKey(nick string) string      { return "msg:" + chat.NickKey(nick) }
func loginNickKey(nick string) string    { return "login-nick:" + chat.NickKey(nick) }
func loginAddrKey(addr string) string    { return "login-addr:" + addr }
func registrationKey(addr string) string { return "reg:" + addr }
func streamsKey(nick string) string      { return "streams:" + chat.NickKey(nick) }
func streamOpensKey(nick string) string  { return "stream-opens:" + chat.NickKey(nick) }

// sharedTimeout bounds the store calls that end an attempt or release a
// place after the request is gone.
const sharedTimeout = 2 * time.Second

// useStore makes the limiter count in st's shared limits when st offers them
// and the per-account limits are on.
func (l *limiter) useStore(st store.Store, log *slog.Logger) {
	if !l.cfg.Enabled {
		return
	}
	if sl, ok := st.(store.Limiter); ok {
		l.shared = sl
		l.log = log
	}
}

func (l *limiter) messageBucket() store.Bucket {
	return store.Bucket{Rate: l.cfg.MessageRate, Burst: l.cfg.MessageBurst}
}

func (l *limiter) streamBucket() store.Bucket {
	return store.Bucket{Rate: l.cfg.StreamRate, Burst: l.cfg.StreamBurst}
}

func (l *limiter) loginBucket() store.Bucket {
	return store.Bucket{Rate: float64(l.cfg.LoginFailures) / l.cfg.LoginWindow.Seconds(), Burst: l.cfg.LoginFailures}
}

func (l *limiter) registrationBucket() store.Bucket {
	return store.Bucket{Rate: float64(l.cfg.Registrations) / l.cfg.RegistrationWindow.Seconds(), Burst: l.cfg.Registrations}
}

// takeShared takes a token from the shared bucket key; refused is the error
// for an empty bucket. A store error is returned as it is (503 when the
// store is unavailable).
func (l *limiter) takeShared(ctx context.Context, key string, b store.Bucket, refused func(time.Duration) error) error {
	ok, wait, err := l.shared.Take(ctx, key, b)
	if err != nil {
		return fmt.Errorf("take %s token: %w", key, err)
	}
	if !ok {
		return refused(wait)
	}
	return nil
}

// sharedAttempt is a login counted in the shared buckets: each attempt takes
// a token from the nick's and from the address's bucket at once, as if it
// failed, and gives them back when it did not. So attempts under way on any
// node count as failures, as the in-memory limiter counts them on one.
type sharedAttempt struct {
	l    *limiter
	keys []string
}

func (l *limiter) allowLoginShared(r *http.Request, nick string) (*loginAttempt, error) {
	ctx := r.Context()
	b := l.loginBucket()
	nk, ak := loginNickKey(nick), loginAddrKey(l.addrKey(r))
	if err := l.takeShared(ctx, nk, b, errLoginsNick); err != nil {
		return nil, err
	}
	if err := l.takeShared(ctx, ak, b, errLoginsAddr); err != nil {
		l.refund(nk)
		return nil, err
	}
	return &loginAttempt{shared: &sharedAttempt{l: l, keys: []string{nk, ak}}}, nil
}

// endShared gives the tokens back unless the login failed.
func (a *loginAttempt) endShared() {
	if a.failed {
		return
	}
	for _, k := range a.shared.keys {
		a.shared.l.refund(k)
	}
}

// refund gives a login token back. When the store cannot take it, the
// token stays taken until it refills: an error that counts against the
// user, never for an attacker.
func (l *limiter) refund(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := l.shared.Refund(ctx, key, l.loginBucket()); err != nil {
		l.log.Warn("give back a login token", "key", key, "err", err)
	}
}

// acquireStreamShared takes a place among the account's streams over every
// node. When the store cannot be reached it allows the stream (the node's
// own per-account cap, already taken, still holds) and logs once a minute.
func (l *limiter) acquireStreamShared(ctx context.Context, nick string) (release func(), ok bool) {
	release, ok, err := l.shared.AcquireStream(ctx, streamsKey(nick), l.cfg.StreamsPerAccount)
	if err != nil {
		l.sharedDown(err)
		return func() {}, true
	}
	return release, ok
}

// sharedDown logs, once a minute, that a stream was counted against this
// node's own limits because the shared ones could not be reached.
func (l *limiter) sharedDown(err error) {
	now := time.Now().UnixNano()
	if last := l.sharedDownLogged.Load(); now-last >= int64(time.Minute) && l.sharedDownLogged.CompareAndSwap(last, now) {
		l.log.Warn("shared stream count unavailable: counting this node's streams per account only", "err", err)
	}
}
