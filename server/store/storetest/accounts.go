package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/server/store"
)

// RunAccounts runs the Accounts role's part of the suite.
func RunAccounts(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Accounts", testAccounts},
		{"CreateConcurrent", testCreateAccountConcurrent},
	})
}

func testAccounts(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	if list, err := s.Accounts(ctx); err != nil || len(list) != 0 {
		t.Fatalf("Accounts of an empty store = %+v, %v; want none", list, err)
	}
	created := time.Now().Add(-time.Hour).UTC()
	wantNoErr(t, "CreateAccount(Alice)", s.CreateAccount(ctx, store.Account{Nick: "Alice", PasswordHash: "h1", Created: created}))
	wantNoErr(t, "CreateAccount(bob)", s.CreateAccount(ctx, store.Account{Nick: "bob", PasswordHash: "h2"}))

	for _, nick := range []string{"Alice", "alice", "ALICE"} {
		a, err := s.Account(ctx, nick)
		wantNoErr(t, "Account("+nick+")", err)
		if a.Nick != "Alice" || a.PasswordHash != "h1" || !closeTo(a.Created, created) {
			t.Fatalf("Account(%q) = %+v, want nick Alice (as created), hash h1, created %v", nick, a, created)
		}
	}
	for _, nick := range []string{"alice", "ALICE", "Alice"} {
		err := s.CreateAccount(ctx, store.Account{Nick: nick, PasswordHash: "x"})
		wantErr(t, "CreateAccount("+nick+") when Alice exists", err, store.ErrExists)
	}
	if a, err := s.Account(ctx, "alice"); err != nil || a.PasswordHash != "h1" {
		t.Fatalf("a refused CreateAccount changed the account: %+v, %v", a, err)
	}
	_, err := s.Account(ctx, "carol")
	wantErr(t, "Account(carol)", err, store.ErrNotFound)

	wantNoErr(t, "SetPassword(ALICE)", s.SetPassword(ctx, "ALICE", "h3"))
	if a, err := s.Account(ctx, "alice"); err != nil || a.PasswordHash != "h3" || a.Nick != "Alice" {
		t.Fatalf("after SetPassword: %+v, %v; want hash h3, nick Alice", a, err)
	}
	wantErr(t, "SetPassword(carol)", s.SetPassword(ctx, "carol", "x"), store.ErrNotFound)

	exp := time.Now().Add(time.Hour)
	wantNoErr(t, "CreateSession", s.CreateSession(ctx, store.Session{TokenHash: "ta", Nick: "Alice", ExpiresAt: exp}))
	wantNoErr(t, "CreateSession", s.CreateSession(ctx, store.Session{TokenHash: "tb", Nick: "bob", ExpiresAt: exp}))
	wantNoErr(t, "DeleteAccount(alice)", s.DeleteAccount(ctx, "alice"))
	_, err = s.Account(ctx, "Alice")
	wantErr(t, "Account after DeleteAccount", err, store.ErrNotFound)
	_, err = s.Session(ctx, "ta")
	wantErr(t, "Session of a deleted account", err, store.ErrNotFound)
	if _, err := s.Session(ctx, "tb"); err != nil {
		t.Fatalf("deleting Alice's account removed bob's session: %v", err)
	}
	wantErr(t, "DeleteAccount(alice) again", s.DeleteAccount(ctx, "alice"), store.ErrNotFound)

	// The nick is free again.
	wantNoErr(t, "CreateAccount(alice) after delete", s.CreateAccount(ctx, store.Account{Nick: "alice", PasswordHash: "h4"}))
	if a, err := s.Account(ctx, "ALICE"); err != nil || a.Nick != "alice" || a.PasswordHash != "h4" {
		t.Fatalf("re-created account: %+v, %v", a, err)
	}

	// Accounts lists them all by key, spelled as created.
	wantNoErr(t, "CreateAccount(Zed)", s.CreateAccount(ctx, store.Account{Nick: "Zed", PasswordHash: "h5", Created: created}))
	wantNoErr(t, "CreateAccount(carol)", s.CreateAccount(ctx, store.Account{Nick: "carol", PasswordHash: "h6"}))
	list, err := s.Accounts(ctx)
	wantNoErr(t, "Accounts", err)
	var got []string
	for _, a := range list {
		got = append(got, a.Nick+":"+a.PasswordHash)
	}
	if want := "alice:h4 bob:h2 carol:h6 Zed:h5"; fmt.Sprint(got) != "["+want+"]" {
		t.Fatalf("Accounts = %v, want [%s]", got, want)
	}
	if !closeTo(list[3].Created, created) || list[0].Created.IsZero() {
		t.Fatalf("Accounts' creation times: %v and %v, want %v and a set one", list[3].Created, list[0].Created, created)
	}
}

// account, every other call ErrExists.
func testCreateAccountConcurrent(t *testing.T, open Opener) {
	s := open(t, Options{})
	nicks := []string{"dave", "Dave", "DAVE", "dAvE", "daVe", "DAve", "davE", "DaVe"}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		won    []string
		others []error
	)
	for i, nick := range nicks {
		wg.Go(func() {
			err := s.CreateAccount(t.Context(), store.Account{Nick: nick, PasswordHash: fmt.Sprint("h", i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, nick)
			case !errors.Is(err, store.ErrExists):
				others = append(others, err)
			}
		})
	}
	wg.Wait()
	if len(others) > 0 {
		t.Fatalf("concurrent CreateAccount failed with something other than ErrExists: %v", others[0])
	}
	if len(won) != 1 {
		t.Fatalf("concurrent CreateAccount of one nick in %d cases created %d accounts (%v), want 1", len(nicks), len(won), won)
	}
	a, err := s.Account(t.Context(), "DAVE")
	if err != nil || a.Nick != won[0] {
		t.Fatalf("Account(DAVE) = %+v, %v; want the spelling that won, %q", a, err, won[0])
	}
}
