package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/internal/testenv"
)

// chatServer is a chat-server process on a fixed address and data dir, so
// it can be stopped and started again in place.
type chatServer struct {
	t    *testing.T
	bin  string
	addr string
	data string
	proc *testenv.Process
}

func (s *chatServer) URL() string { return "http://" + s.addr }

func (s *chatServer) start() {
	s.t.Helper()
	s.proc = testenv.StartProcess(s.t, s.bin, []string{"--addr", s.addr, "--data", s.data}, nil)
	testenv.WaitHTTP(s.t, s.URL()+"/healthz", 20*time.Second)
}

func (s *chatServer) stop() {
	s.t.Helper()
	if s.proc == nil {
		return
	}
	s.proc.Stop(20 * time.Second)
	s.proc = nil
}

// pane is one chat-tui running in a tmux session of a private tmux server.
type pane struct {
	t    *testing.T
	tmux string
	sock string
	name string
}

func (p *pane) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command(p.tmux, append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (p *pane) screen() string { return p.run("capture-pane", "-p", "-t", p.name) }

// typeText types literal text; keys sends named keys (Enter, C-c ...).
func (p *pane) typeText(s string)   { p.run("send-keys", "-t", p.name, "-l", s) }
func (p *pane) keys(keys ...string) { p.run(append([]string{"send-keys", "-t", p.name}, keys...)...) }
func (p *pane) wait(what string, cond func(string) bool) string {
	p.t.Helper()
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		last = p.screen()
		if cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: timed out waiting for %s; screen:\n%s", p.name, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				return false
			}
		}
		return true
	}
}

// TestTwoTUIsInTmux runs the real chat-server and two real chat-tui in tmux:
// both register with the password typed in the TUI, a message typed in one
// shows in the other and in the server's history, then the server restarts
// while a message is typed: both show that they reconnect, and the message
// shows exactly once on both screens and in the history.
func TestTwoTUIsInTmux(t *testing.T) {
	testenv.SkipShort(t, "builds and runs chat-server and two chat-tui in tmux")
	tmux := testenv.RequireTool(t, "tmux")
	srvBin := testenv.Build(t, "./cmd/chat-server")
	tuiBin := testenv.Build(t, "./cmd/chat-tui")

	dir := t.TempDir()
	srv := &chatServer{t: t, bin: srvBin, addr: testenv.FreeAddr(t), data: filepath.Join(dir, "data")}
	srv.start()
	defer srv.stop()

	sock := filepath.Join(dir, "tmux.sock")
	t.Cleanup(func() { _ = exec.Command(tmux, "-S", sock, "kill-server").Run() })
	open := func(nick string) *pane {
		home := filepath.Join(dir, nick)
		if err := os.MkdirAll(home, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd := strings.Join([]string{
			"env", "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
			"XDG_CACHE_HOME=" + filepath.Join(home, "cache"), "TERM=xterm-256color",
			tuiBin, "--server", srv.URL(), "--nick", nick,
		}, " ")
		p := &pane{t: t, tmux: tmux, sock: sock, name: nick}
		p.run("-f", "/dev/null", "new-session", "-d", "-s", nick, "-x", "100", "-y", "30", cmd)
		return p
	}
	alice, bob := open("alice"), open("bob")
	for _, p := range []*pane{alice, bob} {
		p.wait("the password prompt", contains("Password:"))
		p.typeText("pw-" + p.name + "-secret")
		p.keys("Enter")
	}
	for _, p := range []*pane{alice, bob} {
		p.wait("the connected chat", contains("● connected", "#general"))
	}

	alice.typeText("hello from alice, down to the end")
	alice.keys("Enter")
	bob.wait("alice's message", contains("alice │ hello from alice, down to the end"))
	alice.wait("the echo", func(s string) bool {
		return strings.Contains(s, "alice │ hello from alice, down to the end") && !strings.Contains(s, " ... ")
	})

	// Alt+Enter and Ctrl+J insert newlines; only Enter sends.
	alice.typeText("line one")
	alice.keys("M-Enter")
	alice.typeText("line two")
	alice.keys("C-j")
	alice.typeText("line three")
	alice.keys("Enter")
	bob.wait("the three-line message", func(s string) bool {
		return strings.Contains(s, "alice │ line one\n") && strings.Contains(s, "│ line two\n") && strings.Contains(s, "│ line three\n")
	})

	reader := client.New(srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := reader.Login(ctx, "carol", "pw-carol-secret"); err != nil {
		t.Fatalf("log in to read history: %v", err)
	}
	countInHistory := func(text string) int {
		page, err := reader.History(ctx, "general", client.HistoryQuery{Limit: chat.MaxPageSize})
		if err != nil {
			t.Fatalf("read history: %v", err)
		}
		n := 0
		for _, m := range page.Messages {
			if m.Text == text {
				n++
			}
		}
		return n
	}
	if n := countInHistory("hello from alice, down to the end"); n != 1 {
		t.Fatalf("the server's history holds %d copies of the message, want 1", n)
	}

	// The outage: the server stops, bob types a message, both show that
	// they are reconnecting; the server comes back on the same data.
	srv.stop()
	for _, p := range []*pane{alice, bob} {
		p.wait("the reconnecting state", contains("reconnecting in"))
	}
	bob.typeText("sent during the outage")
	bob.keys("Enter")
	bob.wait("the pending message", contains(" ... ", "sent during the outage", "waiting for the server"))
	// More lines behind it, typed quickly: the outbox keeps their order.
	for _, s := range []string{"outage two", "outage three", "outage four"} {
		bob.typeText(s)
		bob.keys("Enter")
	}
	bob.wait("the lines queued", contains("outage four"))
	srv.start()
	for _, p := range []*pane{alice, bob} {
		s := p.wait("the reconnect and the outage message", func(s string) bool {
			return strings.Contains(s, "● connected") && strings.Contains(s, "bob │ sent during the outage") && !strings.Contains(s, " ... ")
		})
		if n := strings.Count(s, "sent during the outage"); n != 1 {
			t.Fatalf("%s shows the outage message %d times, want once:\n%s", p.name, n, s)
		}
	}
	// A late duplicate would show up after a moment: look again.
	time.Sleep(time.Second)
	for _, p := range []*pane{alice, bob} {
		if n := strings.Count(p.screen(), "sent during the outage"); n != 1 {
			t.Fatalf("%s shows the outage message %d times a second later, want once:\n%s", p.name, n, p.screen())
		}
	}
	if n := countInHistory("sent during the outage"); n != 1 {
		t.Fatalf("the server's history holds %d copies of the outage message, want 1", n)
	}
	page, err := reader.History(ctx, "general", client.HistoryQuery{Limit: chat.MaxPageSize})
	if err != nil {
		t.Fatalf("read history: %v", err)
	}
	var order []string
	for _, m := range page.Messages {
		if m.Nick == "bob" {
			order = append(order, m.Text)
		}
	}
	if want := []string{"sent during the outage", "outage two", "outage three", "outage four"}; !slices.Equal(order, want) {
		t.Fatalf("bob's lines stored as %q, want %q: in the order typed, each once", order, want)
	}

	// Terminal basics: Tab completes a nick ("bob: " at the start of the
	// line), Up recalls the line sent, and "?" alone is sent, not help.
	alice.typeText("bo")
	alice.keys("Tab")
	alice.wait("the completed nick", contains("> bob:")) // capture-pane drops the trailing space
	alice.typeText("tab works")
	alice.keys("Enter")
	bob.wait("the completed line", contains("alice │ bob: tab works"))
	alice.keys("Up")
	alice.wait("the recalled line", contains("> bob: tab works"))
	alice.keys("Down") // back to the empty draft
	alice.typeText("?")
	alice.keys("Enter")
	bob.wait("the lone question mark", contains("alice │ ?\n"))

	alice.keys("C-c")
	bob.keys("C-c")
	for _, p := range []*pane{alice, bob} {
		testenv.Eventually(t, 10*time.Second, p.name+" to exit", func() bool {
			return exec.Command(tmux, "-S", sock, "has-session", "-t", p.name).Run() != nil
		})
		// The session was saved, only for its owner; logs went to the cache dir.
		home := filepath.Join(dir, p.name)
		fi, err := os.Stat(filepath.Join(home, "config", "chat-tui", "state.json"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: state file: %v, mode %v; want 0600", p.name, err, fi.Mode().Perm())
		}
		if _, err := os.Stat(filepath.Join(home, "cache", "chat-tui", p.name+".log")); err != nil {
			t.Fatalf("%s: no log file of its own in the cache dir: %v", p.name, err)
		}
	}
}
