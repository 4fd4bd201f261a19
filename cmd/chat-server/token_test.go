package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/internal/testenv"
)

// TestTokenCommands: chat-server token add, list and del beside the running
// binary; the server takes a token made by add and refuses it once del has
// revoked it.
func TestTokenCommands(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	data, addr := filepath.Join(t.TempDir(), "data"), testenv.FreeAddr(t)
	srv := testenv.StartProcess(t, bin, append([]string{"--addr", addr, "--data", data, "--registration", "open"}, cheapHash...), testenv.Env())
	defer srv.Stop(20 * time.Second)
	testenv.WaitHTTP(t, "http://"+addr+"/readyz", 30*time.Second)
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("http://"+addr+"/api/session", "application/json", strings.NewReader(`{"nick":"alice","password":"a good password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	me := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	code, out, errOut := runCmd(t, "", "token", "add", "alice", "deploy", "--rooms", "ops,general", "--data", data)
	if code != 0 || !strings.HasPrefix(out, "chat_pat_") {
		t.Fatalf("token add: %d %q %q", code, out, errOut)
	}
	token := strings.TrimSpace(out)
	if got := me(token); got != http.StatusOK {
		t.Fatalf("GET /api/me with the new token: %d", got)
	}
	code, out, errOut = runCmd(t, "", "token", "list", "alice", "--data", data)
	fields := strings.Split(strings.TrimSpace(out), "\t")
	if code != 0 || len(fields) != 4 || fields[1] != "deploy" || fields[2] != "ops,general" || strings.Contains(out, token) {
		t.Fatalf("token list: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, "", "token", "del", "alice", "nosuchid", "--data", data); code != 1 || !strings.Contains(errOut, "no token nosuchid") {
		t.Fatalf("token del of an unknown id: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, "", "token", "del", "alice", fields[0], "--data", data); code != 0 {
		t.Fatalf("token del: %d %q %q", code, out, errOut)
	}
	if got := me(token); got != http.StatusUnauthorized {
		t.Fatalf("GET /api/me with the revoked token: %d, want 401", got)
	}
	if code, _, errOut := runCmd(t, "", "token", "add", "nobody", "x", "--data", data); code != 1 || !strings.Contains(errOut, "no account nobody") {
		t.Fatalf("token add for no account: %d %q", code, errOut)
	}
	if code, _, _ := runCmd(t, "", "token", "frob"); code != 2 {
		t.Fatalf("token frob: %d, want 2", code)
	}
	if out := runHelp(t, "token", "add", "--help"); !strings.Contains(out, "--rooms") && !strings.Contains(out, "-rooms") {
		t.Fatalf("token add --help does not name --rooms: %q", out)
	}
}
