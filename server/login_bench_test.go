package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
)

// BenchmarkLoginTiming compares, at the default argon2id cost, a wrong
// password for a known nick with any password for an unknown nick (closed
// registration): both must cost one hash, so timing does not tell whether a
// nick exists. Compare the two ns/op figures; docs/security.md has them.
//
//	go test -run '^$' -bench BenchmarkLoginTiming -benchtime 50x ./server
func BenchmarkLoginTiming(b *testing.B) {
	srv := servertest.Start(b, servertest.WithConfig(func(c *server.Config) {
		c.Password = server.DefaultConfig().Password
		c.Registration = server.RegistrationClosed
	}))
	hash, err := server.HashPassword(server.DefaultConfig().Password, servertest.Password("alice"))
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Store.CreateAccount(b.Context(), store.Account{Nick: "alice", PasswordHash: hash, Created: time.Now().UTC()}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, nick string }{
		{"known_nick_wrong_password", "alice"},
		{"unknown_nick", "nobody"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r := srv.LoginPassword(b, bc.nick, "wrong password")
				if r.Status != http.StatusUnauthorized || r.Error().Code != "bad_credentials" {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
			}
		})
	}
}
