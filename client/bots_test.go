package client

import (
	"net/http"
	"strings"
	"testing"
)

// TestTokensAndHooks: the client makes, lists and revokes tokens and hooks
// against the real server, and a client holding a made token acts as its
// owner.
func TestTokensAndHooks(t *testing.T) {
	srv := startServer(t)
	c := newTestClient(t, srv, srv.URL, "alice")
	ctx := t.Context()
	tok, err := c.CreateToken(ctx, "bot", "general")
	if err != nil {
		t.Fatal(err)
	}
	bot := New(srv.URL, WithToken(tok.Token))
	t.Cleanup(bot.CloseIdleConnections)
	if nick, err := bot.Me(ctx); err != nil || nick != "alice" {
		t.Fatalf("Me with the token: %q, %v", nick, err)
	}
	if _, err := bot.CreateToken(ctx, "more"); !isCode(err, "token_forbidden") {
		t.Fatalf("CreateToken with a token: %v, want token_forbidden", err)
	}
	if list, err := c.Tokens(ctx); err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].Token != "" {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}

	h, err := bot.CreateHook(ctx, "general", "ci")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(h.URL, "text/plain", strings.NewReader("built"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post to the hook: %d", resp.StatusCode)
	}
	if hooks, err := c.Hooks(ctx, "general"); err != nil || len(hooks) != 1 || hooks[0].URL != "" {
		t.Fatalf("Hooks = %+v, %v", hooks, err)
	}
	if err := c.DeleteHook(ctx, "general", h.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Me(ctx); !isCode(err, "unauthorized") {
		t.Fatalf("Me with the revoked token: %v, want unauthorized", err)
	}
}
