package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/servertest"
)

// cheapHash keeps password hashing fast in a race-enabled binary.
var cheapHash = []string{"--password-memory", "64", "--password-passes", "1"}

// binServer is the real chat-server binary running on a data directory.
type binServer struct {
	*testenv.Process
	url string
	// api talks to it with servertest's helpers.
	api *servertest.Server
}

func startBinary(t *testing.T, bin, addr, dir string, extra ...string) *binServer {
	t.Helper()
	args := append([]string{"--addr", addr, "--data", dir, "--log-level", "warn"}, extra...)
	args = append(args, cheapHash...)
	// Posters here run flat out from one account: no per-account limits.
	p := testenv.StartProcess(t, bin, args, testenv.Env("CHAT_REGISTRATION=open", "CHAT_RATE_LIMITS=false"))
	b := &binServer{Process: p, url: "http://" + addr}
	testenv.WaitHTTP(t, b.url+"/readyz", 30*time.Second)
	b.api = &servertest.Server{URL: b.url, Addr: addr, Client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(b.api.Client.CloseIdleConnections)
	return b
}

// wait waits for the process to exit and returns its exit code.
func (b *binServer) wait(timeout time.Duration) (int, time.Duration) {
	start := time.Now()
	code := b.Wait(timeout)
	return code, time.Since(start)
}

// allMessages reads the whole history of room, oldest first, by paging
// forward.
func allMessages(t *testing.T, api *servertest.Server, tok, room string) []chat.Message {
	t.Helper()
	var all []chat.Message
	after := "0"
	for {
		page := api.History(t, tok, room, map[string][]string{"after": {after}, "limit": {"200"}})
		all = append(all, page.Messages...)
		if !page.HasMore {
			return all
		}
		after = page.Messages[len(page.Messages)-1].ID
	}
}

// TestCrashSafety: every message answered 201 survives kill -9 of the real
// binary, with the same ids in the same order, and a stream resuming from
// the middle gets the rest.
func TestCrashSafety(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	b := startBinary(t, bin, addr, dir)
	tok := b.api.Login(t, "crash")

	const total, posters = 500, 10
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	posted := map[string]string{} // id → text
	var wg sync.WaitGroup
	errs := make(chan error, posters)
	for p := 0; p < posters; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < total/posters; i++ {
				text := fmt.Sprintf("message %d of poster %d", i, p)
				m, err := post(ctx, b.api, tok, "general", text)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				posted[m.ID] = text
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("every post must be answered 201: %v", err)
	}
	if len(posted) != total {
		t.Fatalf("%d distinct ids for %d posts", len(posted), total)
	}

	b.Kill() // SIGKILL: no shutdown at all
	b.wait(10 * time.Second)

	b = startBinary(t, bin, addr, dir)
	tok = b.api.Login(t, "crash")
	msgs := allMessages(t, b.api, tok, "general")
	if len(msgs) != total {
		t.Fatalf("after kill -9: %d messages, want %d", len(msgs), total)
	}
	var ids []string
	for i, m := range msgs {
		if posted[m.ID] != m.Text {
			t.Fatalf("message %s is %q, was posted as %q", m.ID, m.Text, posted[m.ID])
		}
		if i > 0 && chat.CompareIDs(msgs[i-1].ID, m.ID) >= 0 {
			t.Fatalf("ids out of order: %s then %s", msgs[i-1].ID, m.ID)
		}
		ids = append(ids, m.ID)
	}

	st, err := b.api.Subscribe(ctx, tok, "general", ids[249])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	for len(got) < total-250 {
		ev, err := st.Next(wait)
		if err != nil {
			t.Fatalf("resume from the 250th after %d: %v", len(got), err)
		}
		if ev.Event == chat.EventMessage {
			got = append(got, ev.ID)
		}
	}
	if !slices.Equal(got, ids[250:]) {
		t.Fatal("resuming from the 250th message did not give the other 250 in order")
	}
}

// TestGracefulShutdown: SIGTERM while streams are open and posts are in
// flight: the process exits 0 well within 15 s, the streams end, and every
// post answered 201 is there after a restart.
func TestGracefulShutdown(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	b := startBinary(t, bin, addr, dir)
	tok := b.api.Login(t, "grace")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var streams []*servertest.Stream
	for i := 0; i < 5; i++ {
		st, err := b.api.Subscribe(ctx, tok, "general", "")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if ev, err := st.Next(wait); err != nil || ev.Event != chat.EventWelcome {
			t.Fatalf("welcome: %v %v", ev, err)
		}
		streams = append(streams, st)
	}

	// Posters run until the server stops answering.
	var mu sync.Mutex
	var accepted []string
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				m, err := post(ctx, b.api, tok, "general", "p"+strconv.Itoa(p)+"-"+strconv.Itoa(i))
				if err != nil {
					return
				}
				mu.Lock()
				accepted = append(accepted, m.ID)
				mu.Unlock()
				if i == 5 {
					started <- struct{}{}
				}
			}
		}()
	}
	for range 4 {
		<-started
	}
	if err := b.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, took := b.wait(15 * time.Second)
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, b.Output())
	}
	t.Logf("exited 0 in %v with %d posts accepted", took, len(accepted))
	for _, st := range streams {
		for {
			_, err := st.NextAny(wait)
			if errors.Is(err, servertest.ErrTimeout) {
				t.Fatal("a stream stayed open after shutdown")
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Logf("stream ended with %v", err)
				}
				break
			}
		}
	}

	b = startBinary(t, bin, addr, dir)
	tok = b.api.Login(t, "grace")
	var have []string
	for _, m := range allMessages(t, b.api, tok, "general") {
		have = append(have, m.ID)
	}
	sortIDs(accepted)
	for _, id := range accepted {
		if _, ok := slices.BinarySearchFunc(have, id, chat.CompareIDs); !ok {
			t.Fatalf("message %s was answered 201 but is gone after a graceful restart", id)
		}
	}
}

// TestUserCommands: with registration closed, accounts come from
// "chat-server user add" (password on stdin); passwd and del revoke the
// account's sessions.
func TestUserCommands(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	user := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, append(append(append([]string{"user"}, args...), "--data", dir), cheapHash...)...)
		cmd.Stdin = bytes.NewBufferString(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := user("first password\n", "add", "olga"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := user("first password\n", "add", "OLGA"); err == nil {
		t.Fatalf("a second account of the same nick: %s", out)
	}
	if out, err := user("short\n", "add", "pat"); err == nil {
		t.Fatalf("a too short password was taken: %s", out)
	}
	// Account commands work beside a running server: it reads accounts from
	// the file on every login and sessions at least every --session-cache
	// (1s by default), so passwd and del revoke a live session within that.
	b := startBinary(t, bin, addr, dir, "--registration", "closed")
	wantErr(t, b.api.LoginPassword(t, "pat", "any password"), 401, "bad_credentials")
	r := b.api.LoginPassword(t, "olga", "first password")
	if r.Status != 200 {
		t.Fatalf("login of an added account: %d %s", r.Status, r.Body)
	}
	var info chat.SessionInfo
	r.Decode(t, &info)
	if r := b.api.Do(t, "GET", "/api/me", info.Token, nil); r.Status != 200 {
		t.Fatalf("GET /api/me with a fresh session: %d %s", r.Status, r.Body)
	}

	// A second server on the same data refuses to start.
	second := exec.Command(bin, "--addr", testenv.FreeAddr(t), "--data", dir)
	if out, err := second.CombinedOutput(); err == nil {
		t.Fatalf("a second server on the same data started:\n%s", out)
	}

	if out, err := user("second password\n", "passwd", "olga"); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	revoked := func(token string) func() bool {
		return func() bool { return b.api.Do(t, "GET", "/api/me", token, nil).Status == 401 }
	}
	testenv.Eventually(t, 5*time.Second, "user passwd to revoke the live session", revoked(info.Token))
	wantErr(t, b.api.Do(t, "GET", "/api/me", info.Token, nil), 401, "unauthorized")
	wantErr(t, b.api.LoginPassword(t, "olga", "first password"), 401, "bad_credentials")
	r = b.api.LoginPassword(t, "olga", "second password")
	if r.Status != 200 {
		t.Fatalf("login with the new password: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &info)
	if r := b.api.Do(t, "GET", "/api/me", info.Token, nil); r.Status != 200 { // cached now
		t.Fatalf("GET /api/me after the new login: %d %s", r.Status, r.Body)
	}

	if out, err := user("", "del", "olga"); err != nil {
		t.Fatalf("user del: %v\n%s", err, out)
	}
	testenv.Eventually(t, 5*time.Second, "user del to revoke the live session", revoked(info.Token))
	wantErr(t, b.api.Do(t, "GET", "/api/me", info.Token, nil), 401, "unauthorized")
	wantErr(t, b.api.LoginPassword(t, "olga", "second password"), 401, "bad_credentials")
}

func init() {
	// The binary tests run the server with its own environment; make sure
	// a developer's CHAT_* settings cannot change what they test.
	for _, k := range []string{"CHAT_ADDR", "CHAT_DATA", "CHAT_REGISTRATION"} {
		os.Unsetenv(k)
	}
}
