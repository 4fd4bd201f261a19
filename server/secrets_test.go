package server_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// TestSecretsAtRest: the store holds a slow salted hash of each password and
// only a hash of each token, so a copy of the database logs nobody in; a
// token carries 256 random bits.
func TestSecretsAtRest(t *testing.T) {
	srv := servertest.Start(t)
	ctx := context.Background()
	password := servertest.Password("alice")
	tok := srv.Login(t, "alice")
	tok2 := srv.Login(t, "alice")

	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q is not 32 bytes of base64url: %v", tok, err)
	}
	if tok == tok2 {
		t.Fatal("two logins got the same token")
	}
	if _, err := srv.Store.Session(ctx, tok); err == nil {
		t.Fatal("the store finds the session by the token itself: it must hold only its hash")
	}
	if _, err := srv.Store.Session(ctx, server.TokenHash(tok)); err != nil {
		t.Fatalf("no session under the token's hash: %v", err)
	}
	acct, err := srv.Store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(acct.PasswordHash, "$argon2id$v=19$") || strings.Contains(acct.PasswordHash, password) {
		t.Fatalf("stored password %q; want an argon2id hash", acct.PasswordHash)
	}
	// Two accounts with one password get different hashes (salted).
	srv.LoginPassword(t, "bob", password)
	other, err := srv.Store.Account(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if other.PasswordHash == acct.PasswordHash {
		t.Fatal("equal passwords hash alike: no salt")
	}
}
