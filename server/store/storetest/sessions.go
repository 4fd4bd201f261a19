package storetest

import (
	"testing"
	"time"

	"github.com/ssechat/chat/server/store"
)

// RunSessions runs the Sessions role's part of the suite.
func RunSessions(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Sessions", testSessions},
	})
}

func testSessions(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	for _, nick := range []string{"Alice", "bob"} {
		wantNoErr(t, "CreateAccount", s.CreateAccount(ctx, store.Account{Nick: nick, PasswordHash: "h"}))
	}
	now := time.Now()
	exp := now.Add(time.Hour).UTC()
	wantNoErr(t, "CreateSession(t1)", s.CreateSession(ctx, store.Session{TokenHash: "t1", Nick: "Alice", Created: now, ExpiresAt: exp}))
	wantNoErr(t, "CreateSession(t2)", s.CreateSession(ctx, store.Session{TokenHash: "t2", Nick: "Alice", Created: now, ExpiresAt: exp}))
	wantNoErr(t, "CreateSession(t3)", s.CreateSession(ctx, store.Session{TokenHash: "t3", Nick: "bob", Created: now, ExpiresAt: exp}))
	wantNoErr(t, "CreateSession(old)", s.CreateSession(ctx, store.Session{TokenHash: "old", Nick: "bob", Created: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}))

	got, err := s.Session(ctx, "t1")
	wantNoErr(t, "Session(t1)", err)
	if got.TokenHash != "t1" || got.Nick != "Alice" || !closeTo(got.ExpiresAt, exp) || !closeTo(got.Created, now) {
		t.Fatalf("Session(t1) = %+v, want token t1, nick Alice, expiry %v, created %v", got, exp, now)
	}
	_, err = s.Session(ctx, "old")
	wantErr(t, "Session of an expired session", err, store.ErrNotFound)
	_, err = s.Session(ctx, "nope")
	wantErr(t, "Session(unknown)", err, store.ErrNotFound)

	// Sliding expiry: further out, then into the past.
	later := now.Add(48 * time.Hour).UTC()
	wantNoErr(t, "ExtendSession(t1)", s.ExtendSession(ctx, "t1", later))
	if got, err := s.Session(ctx, "t1"); err != nil || !closeTo(got.ExpiresAt, later) {
		t.Fatalf("after ExtendSession: %+v, %v; want expiry %v", got, err, later)
	}
	wantErr(t, "ExtendSession(unknown)", s.ExtendSession(ctx, "nope", later), store.ErrNotFound)
	wantNoErr(t, "ExtendSession(t2, past)", s.ExtendSession(ctx, "t2", now.Add(-time.Minute)))
	_, err = s.Session(ctx, "t2")
	wantErr(t, "Session after its expiry was moved into the past", err, store.ErrNotFound)

	wantNoErr(t, "DeleteSession(t3)", s.DeleteSession(ctx, "t3"))
	_, err = s.Session(ctx, "t3")
	wantErr(t, "Session after DeleteSession", err, store.ErrNotFound)
	wantNoErr(t, "DeleteSession(unknown)", s.DeleteSession(ctx, "t3"))

	// DeleteSessions ignores case and leaves other nicks alone.
	wantNoErr(t, "CreateSession(t4)", s.CreateSession(ctx, store.Session{TokenHash: "t4", Nick: "Alice", Created: now, ExpiresAt: exp}))
	wantNoErr(t, "CreateSession(t5)", s.CreateSession(ctx, store.Session{TokenHash: "t5", Nick: "bob", Created: now, ExpiresAt: exp}))
	wantNoErr(t, "DeleteSessions(ALICE)", s.DeleteSessions(ctx, "ALICE"))
	for _, tok := range []string{"t1", "t4"} {
		_, err := s.Session(ctx, tok)
		wantErr(t, "Session("+tok+") after DeleteSessions", err, store.ErrNotFound)
	}
	if _, err := s.Session(ctx, "t5"); err != nil {
		t.Fatalf("DeleteSessions(ALICE) removed bob's session: %v", err)
	}
	wantNoErr(t, "DeleteSessions(nobody)", s.DeleteSessions(ctx, "carol"))
}
