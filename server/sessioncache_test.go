package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
)

// countingStore is the real SQLite store, counting the session reads and
// extensions the server asks of it.
type countingStore struct {
	store.Store
	reads, extends atomic.Int64
}

func (c *countingStore) Session(ctx context.Context, hash string) (store.Session, error) {
	c.reads.Add(1)
	return c.Store.Session(ctx, hash)
}

func (c *countingStore) ExtendSession(ctx context.Context, hash string, exp time.Time) error {
	c.extends.Add(1)
	return c.Store.ExtendSession(ctx, hash, exp)
}

// testClock is a clock the test moves by hand.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// startCounted starts a server over a countingStore with its session clock
// frozen at the present until the test advances it.
func startCounted(t *testing.T, configure func(*server.Config)) (*servertest.Server, *countingStore, *testClock) {
	t.Helper()
	cs := &countingStore{}
	srv := servertest.Start(t,
		servertest.WithStore(func(dir string) (store.Store, error) {
			st, err := servertest.OpenSQLite(dir)
			cs.Store = st
			return cs, err
		}),
		servertest.WithConfig(configure))
	clock := &testClock{}
	clock.ns.Store(time.Now().UnixNano())
	server.SetClock(srv.Server, clock.now)
	return srv, cs, clock
}

func wantMe(t *testing.T, srv *servertest.Server, token string, status int) {
	t.Helper()
	if r := srv.Do(t, http.MethodGet, "/api/me", token, nil); r.Status != status {
		t.Fatalf("GET /api/me: %d, want %d (body %s)", r.Status, status, r.Body)
	}
}

// TestSessionCacheHits: within the cache's lifetime, a token's requests
// cost one session read from the store, and no extension; once the
// lifetime has passed the store is asked again.
func TestSessionCacheHits(t *testing.T) {
	srv, cs, clock := startCounted(t, func(c *server.Config) {})
	if srv.Config.SessionCache != time.Second {
		t.Fatalf("servertest's session cache is %v; this test expects the 1s default", srv.Config.SessionCache)
	}
	tok := srv.Login(t, "hana")
	for range 20 {
		wantMe(t, srv, tok, 200)
	}
	srv.Post(t, tok, "general", "through the cache too")
	if n := cs.reads.Load(); n != 1 {
		t.Fatalf("21 requests read the session %d times, want 1", n)
	}
	clock.advance(999 * time.Millisecond)
	wantMe(t, srv, tok, 200)
	if n := cs.reads.Load(); n != 1 {
		t.Fatalf("a request within the lifetime read the store (%d reads)", n)
	}
	clock.advance(time.Millisecond)
	wantMe(t, srv, tok, 200)
	wantMe(t, srv, tok, 200)
	if n := cs.reads.Load(); n != 2 {
		t.Fatalf("after the lifetime: %d reads, want 2", n)
	}
	if n := cs.extends.Load(); n != 0 {
		t.Fatalf("a fresh session was extended %d times", n)
	}
}

// TestLogoutEndsCachedSession: a logout through this server ends the token
// at once, though it was cached a moment before; another token of the same
// nick is untouched.
func TestLogoutEndsCachedSession(t *testing.T) {
	srv, _, _ := startCounted(t, func(c *server.Config) { c.SessionCache = time.Hour })
	tok, other := srv.Login(t, "ines"), srv.Login(t, "ines")
	wantMe(t, srv, tok, 200)
	wantMe(t, srv, other, 200)
	if r := srv.Do(t, http.MethodDelete, "/api/session", tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	wantErr(t, srv.Do(t, http.MethodGet, "/api/me", tok, nil), 401, "unauthorized")
	wantErr(t, srv.Do(t, http.MethodPost, "/api/rooms/general/messages", tok, `{"text":"after logout"}`, "Content-Type", "application/json"), 401, "unauthorized")
	wantMe(t, srv, other, 200)
}

// TestRevocationElsewhereWithinCacheLifetime: sessions deleted in the store
// behind the server's back (as chat-server user passwd/del or another node
// do) keep working from the cache until its lifetime has passed, and not a
// moment longer.
func TestRevocationElsewhereWithinCacheLifetime(t *testing.T) {
	srv, _, clock := startCounted(t, func(c *server.Config) {})
	tok := srv.Login(t, "jude")
	wantMe(t, srv, tok, 200)
	if err := srv.Store.DeleteSessions(context.Background(), "jude"); err != nil {
		t.Fatal(err)
	}
	wantMe(t, srv, tok, 200) // the documented staleness: still cached
	clock.advance(time.Second)
	wantErr(t, srv.Do(t, http.MethodGet, "/api/me", tok, nil), 401, "unauthorized")
}

// TestSessionCacheNeverOutlivesExpiry: a cached session ends at its own
// expiry even when the cache's lifetime is longer.
func TestSessionCacheNeverOutlivesExpiry(t *testing.T) {
	srv, cs, clock := startCounted(t, func(c *server.Config) {
		c.SessionTTL = time.Minute // a thirtieth is 2s: a session with 59s left is not extended
		c.SessionCache = time.Hour
	})
	srv.Login(t, "kim")
	tok := strings.Repeat("k", 43)
	now := clock.now()
	sess := store.Session{TokenHash: server.TokenHash(tok), Nick: "kim", Created: now, ExpiresAt: now.Add(59 * time.Second)}
	if err := srv.Store.CreateSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	wantMe(t, srv, tok, 200)
	clock.advance(59 * time.Second)
	wantErr(t, srv.Do(t, http.MethodGet, "/api/me", tok, nil), 401, "unauthorized")
	if r, e := cs.reads.Load(), cs.extends.Load(); r != 1 || e != 0 {
		t.Fatalf("%d reads and %d extensions, want 1 and 0: the expiry must be checked on the cached entry", r, e)
	}
}

// TestSessionCacheKeepsExtensionThrottle: a session due for extension is
// extended once, not on every request, with the cache on or off; and a
// cached session found gone when it is extended ends there.
func TestSessionCacheKeepsExtensionThrottle(t *testing.T) {
	for _, lifetime := range []time.Duration{time.Second, 0} {
		t.Run(lifetime.String(), func(t *testing.T) {
			srv, cs, clock := startCounted(t, func(c *server.Config) { c.SessionCache = lifetime })
			srv.Login(t, "lena")
			ttl := srv.Config.SessionTTL
			tok := strings.Repeat("l", 43)
			now := clock.now()
			half := store.Session{TokenHash: server.TokenHash(tok), Nick: "lena", Created: now.Add(-ttl / 2), ExpiresAt: now.Add(ttl / 2)}
			if err := srv.Store.CreateSession(context.Background(), half); err != nil {
				t.Fatal(err)
			}
			for range 10 {
				wantMe(t, srv, tok, 200)
				clock.advance(300 * time.Millisecond) // the cache's entry is read again now and then
			}
			if n := cs.extends.Load(); n != 1 {
				t.Fatalf("10 requests extended the session %d times, want 1", n)
			}
			got, err := cs.Store.Session(context.Background(), half.TokenHash) // uncounted
			if err != nil {
				t.Fatal(err)
			}
			if d := got.ExpiresAt.Sub(now); d < ttl-time.Minute {
				t.Fatalf("session not extended: expires %v after the first request", d)
			}
			wantReads := int64(10)
			if lifetime > 0 {
				wantReads = 3 // at 0, 1.2 and 2.4 s of the test clock
			}
			if n := cs.reads.Load(); n != wantReads {
				t.Fatalf("%d session reads, want %d", n, wantReads)
			}
		})
	}
	t.Run("gone when extended", func(t *testing.T) {
		srv, cs, clock := startCounted(t, func(c *server.Config) { c.SessionCache = 48 * time.Hour })
		srv.Login(t, "mona")
		ttl := srv.Config.SessionTTL
		tok := strings.Repeat("m", 43)
		now := clock.now()
		// Used an hour ago: cached, not due for extension (a day).
		sess := store.Session{TokenHash: server.TokenHash(tok), Nick: "mona", Created: now, ExpiresAt: now.Add(ttl - time.Hour)}
		if err := srv.Store.CreateSession(context.Background(), sess); err != nil {
			t.Fatal(err)
		}
		wantMe(t, srv, tok, 200)
		if err := srv.Store.DeleteSession(context.Background(), sess.TokenHash); err != nil {
			t.Fatal(err)
		}
		clock.advance(25 * time.Hour) // still cached, now due
		wantErr(t, srv.Do(t, http.MethodGet, "/api/me", tok, nil), 401, "unauthorized")
		if r, e := cs.reads.Load(), cs.extends.Load(); r != 1 || e != 1 {
			t.Fatalf("%d reads and %d extensions, want 1 and 1", r, e)
		}
	})
}

// TestSessionCacheOff: with --session-cache 0 every request reads the store,
// and a revocation behind the server's back bites at once.
func TestSessionCacheOff(t *testing.T) {
	srv, cs, _ := startCounted(t, func(c *server.Config) { c.SessionCache = 0 })
	tok := srv.Login(t, "nils")
	for range 5 {
		wantMe(t, srv, tok, 200)
	}
	if n := cs.reads.Load(); n != 5 {
		t.Fatalf("5 requests read the session %d times, want 5", n)
	}
	if err := srv.Store.DeleteSessions(context.Background(), "nils"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, srv.Do(t, http.MethodGet, "/api/me", tok, nil), 401, "unauthorized")
}
