package tui

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// replayOff is the real client with one change: every stream starts live,
// without its resume point, so the server replays nothing and whatever was
// posted before the stream started reaches the TUI only through its own gap
// fill. Before the first stream starts it waits for gap to be posted.
type replayOff struct {
	*client.Client
	once      sync.Once
	ready     chan struct{} // closed when the first stream is about to start
	gapPosted chan struct{} // closed by the test when the gap is posted
}

func (b *replayOff) Subscribe(ctx context.Context, room, lastID string) <-chan client.Event {
	b.once.Do(func() {
		close(b.ready)
		select {
		case <-b.gapPosted:
		case <-time.After(30 * time.Second):
		}
	})
	return b.Client.Subscribe(ctx, room, "")
}

// TestGapFilledInThePagesTheServerAllows runs the TUI against a real server
// whose history pages hold at most 20 messages. The room holds 30 messages
// when the TUI joins, and 100 more are posted before its stream starts, with
// no replay: the TUI must fill that gap of 100 in pages of 20, and load the
// older ten when scrolled to the top. Every one of the 130 must reach the
// screen. (With pages of 50 and 200 hard-wired, the server refused the join
// and the gap fill with 400.)
func TestGapFilledInThePagesTheServerAllows(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(cfg *server.Config) {
		cfg.HistoryPageMax = 20
		cfg.Limits.Enabled = false // bob posts 130 messages at once
	}))
	state := OpenState(filepath.Join(t.TempDir(), "chat-tui"))
	tok := srv.Login(t, "alice")
	if err := state.SaveToken(srv.URL, "alice", tok); err != nil {
		t.Fatal(err)
	}
	bob := srv.Login(t, "bob")
	for i := range 30 {
		srv.Post(t, bob, "general", fmt.Sprintf("old-%03d", i))
	}

	ctx, cancel := context.WithCancel(context.Background())
	hc := &http.Client{Transport: &http.Transport{}}
	be := &replayOff{
		Client:    client.New(srv.URL, client.WithToken(tok), client.WithHTTPClient(hc), client.WithBackoff(20*time.Millisecond, 200*time.Millisecond)),
		ready:     make(chan struct{}),
		gapPosted: make(chan struct{}),
	}
	m := New(ctx, Config{Server: srv.URL, Nick: "alice", Room: "general"}, be, WithState(state))
	tm := teatest.NewTestModel(t, probe{m}, teatest.WithInitialTermSize(100, 30))
	defer func() {
		cancel()
		m.Close()
		hc.CloseIdleConnections()
	}()

	select {
	case <-be.ready:
	case <-time.After(15 * time.Second):
		t.Fatalf("the TUI never joined the room; screen:\n%s", snapshot(tm))
	}
	for i := range 100 {
		srv.Post(t, bob, "general", fmt.Sprintf("gap-%03d", i))
	}
	close(be.gapPosted)
	waitScreen(t, tm, "the end of the gap", func(s string) bool { return strings.Contains(s, "gap-099") })

	// Scroll to the top, collecting every message that passes by.
	seen := map[string]bool{}
	text := regexp.MustCompile(`\b(old|gap)-\d{3}\b`)
	deadline := time.Now().Add(30 * time.Second)
	for !seen["old-000"] {
		for _, w := range text.FindAllString(snapshot(tm), -1) {
			seen[w] = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("old-000 never came into view; saw %d messages; screen:\n%s", len(seen), snapshot(tm))
		}
		tm.Send(tea.KeyMsg{Type: tea.KeyPgUp})
		time.Sleep(20 * time.Millisecond)
	}
	var missing []string
	for _, prefix := range []string{"old", "gap"} {
		n := map[string]int{"old": 30, "gap": 100}[prefix]
		for i := range n {
			if w := fmt.Sprintf("%s-%03d", prefix, i); !seen[w] {
				missing = append(missing, w)
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of 130 messages never reached the screen: %v", len(missing), missing)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
