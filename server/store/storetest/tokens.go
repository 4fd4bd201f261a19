package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ssechat/chat/server/store"
)

// RunAccessTokens runs the AccessTokens role's part of the suite.
func RunAccessTokens(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Tokens", testTokens},
		{"TokensOfDeletedAccount", testTokensOfDeletedAccount},
	})
}

func sameToken(a, b store.AccessToken) bool {
	return a.ID == b.ID && a.Hash == b.Hash && a.Nick == b.Nick && a.Name == b.Name &&
		slices.Equal(a.Rooms, b.Rooms) && closeTo(a.Created, b.Created)
}

func testTokens(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	for _, nick := range []string{"Alice", "bob"} {
		wantNoErr(t, "CreateAccount", s.CreateAccount(ctx, store.Account{Nick: nick, PasswordHash: "h"}))
	}
	now := time.Now().UTC()
	t1 := store.AccessToken{ID: "id1", Hash: "h1", Nick: "Alice", Name: "deploy bot", Created: now}
	t2 := store.AccessToken{ID: "id2", Hash: "h2", Nick: "Alice", Name: "ops only", Rooms: []string{"ops", "general"}, Created: now.Add(time.Second)}
	t3 := store.AccessToken{ID: "id3", Hash: "h3", Nick: "bob", Name: "bob's", Rooms: []string{}, Created: now}
	for _, tok := range []store.AccessToken{t1, t2, t3} {
		wantNoErr(t, "CreateToken("+tok.ID+")", s.CreateToken(ctx, tok))
	}
	t3.Rooms = nil // empty comes back nil
	wantErr(t, "CreateToken with a taken hash", s.CreateToken(ctx, store.AccessToken{ID: "id9", Hash: "h1", Nick: "bob", Created: now}), store.ErrExists)
	wantErr(t, "CreateToken with a taken id", s.CreateToken(ctx, store.AccessToken{ID: "id1", Hash: "h9", Nick: "Alice", Created: now}), store.ErrExists)
	wantErr(t, "CreateToken for no account", s.CreateToken(ctx, store.AccessToken{ID: "id8", Hash: "h8", Nick: "carol", Created: now}), store.ErrNotFound)

	for _, want := range []store.AccessToken{t1, t2, t3} {
		got, err := s.TokenByHash(ctx, want.Hash)
		wantNoErr(t, "TokenByHash("+want.Hash+")", err)
		if !sameToken(got, want) {
			t.Fatalf("TokenByHash(%s) = %+v, want %+v", want.Hash, got, want)
		}
	}
	_, err := s.TokenByHash(ctx, "nope")
	wantErr(t, "TokenByHash(unknown)", err, store.ErrNotFound)

	list, err := s.Tokens(ctx, "ALICE")
	wantNoErr(t, "Tokens(ALICE)", err)
	if len(list) != 2 || !sameToken(list[0], t1) || !sameToken(list[1], t2) {
		t.Fatalf("Tokens(ALICE) = %+v, want t1 then t2", list)
	}
	list, err = s.Tokens(ctx, "carol")
	wantNoErr(t, "Tokens(carol)", err)
	if len(list) != 0 {
		t.Fatalf("Tokens(carol) = %+v, want none", list)
	}

	_, err = s.DeleteToken(ctx, "bob", "id1")
	wantErr(t, "DeleteToken of another nick's token", err, store.ErrNotFound)
	got, err := s.DeleteToken(ctx, "alice", "id1")
	wantNoErr(t, "DeleteToken(alice, id1)", err)
	if !sameToken(got, t1) {
		t.Fatalf("DeleteToken returned %+v, want %+v", got, t1)
	}
	_, err = s.TokenByHash(ctx, "h1")
	wantErr(t, "TokenByHash after DeleteToken", err, store.ErrNotFound)
	_, err = s.DeleteToken(ctx, "alice", "id1")
	wantErr(t, "DeleteToken twice", err, store.ErrNotFound)
	if list, _ := s.Tokens(ctx, "Alice"); len(list) != 1 || list[0].ID != "id2" {
		t.Fatalf("Tokens after DeleteToken = %+v, want only id2", list)
	}
}

func testTokensOfDeletedAccount(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	wantNoErr(t, "CreateAccount", s.CreateAccount(ctx, store.Account{Nick: "alice", PasswordHash: "h", Created: time.Now().Add(-time.Minute)}))
	wantNoErr(t, "CreateToken", s.CreateToken(ctx, store.AccessToken{ID: "id1", Hash: "h1", Nick: "alice", Name: "n", Created: time.Now()}))
	wantNoErr(t, "DeleteAccount", s.DeleteAccount(ctx, "alice"))
	_, err := s.TokenByHash(ctx, "h1")
	wantErr(t, "TokenByHash after DeleteAccount", err, store.ErrNotFound)
	wantNoErr(t, "CreateAccount again", s.CreateAccount(ctx, store.Account{Nick: "alice", PasswordHash: "h", Created: time.Now().Add(time.Millisecond)}))
	_, err = s.TokenByHash(ctx, "h1")
	wantErr(t, "TokenByHash once the nick is registered again", err, store.ErrNotFound)
	if list, err := s.Tokens(ctx, "alice"); err != nil || len(list) != 0 {
		t.Fatalf("Tokens of the new account = %+v, %v; want none", list, err)
	}
}
