package web_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssechat/chat/internal/testenv"
)

// TestOutboxEndToEnd types 30 lines into the page through a rate limit of
// one message a second, a server restart and a reload of the page, and
// checks they are stored each once, in the order typed: the outbox sends
// one line at a time per room, waits out a 429's Retry-After with the lines
// behind it, keeps retrying while the server is away (saying so, not
// "failed"), and keeps what is unsent in localStorage over a reload.
func TestOutboxEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	const waitAll = 120 * time.Second // 30 lines at 1 a second, a restart, a reload
	browserStarted := startBrowser(t)
	srv := startChatServer(t, "--message-rate", "1", "--message-burst", "2")
	browser := browserStarted()
	base := srv.URL
	shots := artifactDir(t)

	alice := newSession(t, browser, "alice", 1280, 800)
	alice.login(base, "alice")
	carol := login(t, base, "carol")
	line := func(i int) string { return fmt.Sprintf("line %02d", i) }
	statusShown := func(what, re string) {
		t.Helper()
		alice.waitFor(waitLong, what, `[...document.querySelectorAll("#pending > li .status")].some(s => `+re+`.test(s.textContent))`)
	}
	noneFailed := func(when string) {
		t.Helper()
		if n := eval[int](alice, `document.querySelectorAll("#pending > li.failed").length`); n != 0 {
			t.Fatalf("alice: %d lines marked failed %s", n, when)
		}
	}

	// Typed faster than the server takes them: the third waits for its
	// Retry-After and the rest for it.
	for i := 1; i <= 8; i++ {
		alice.typeMessage(line(i))
	}
	statusShown("a line held by the rate limit", `/^Sending too fast: sending again in (\d+ seconds|a second)\.$/`)
	alice.screenshot(shots, "outbox-rate-limited-1280")
	noneFailed("by the rate limit")

	// The server goes away with lines still queued, and more are typed.
	srv.stop()
	for i := 9; i <= 16; i++ {
		alice.typeMessage(line(i))
	}
	statusShown("a line waiting for the server", `/^waiting for the server…$/`)
	alice.screenshot(shots, "outbox-server-away-1280")
	noneFailed("while the server was away")
	srv.start()
	for i := 17; i <= 22; i++ {
		alice.typeMessage(line(i))
	}
	alice.waitConnected()

	// The last lines are typed and the page reloaded before the rate limit
	// lets them out: they are stored in the browser and sent after.
	for i := 23; i <= 30; i++ {
		alice.typeMessage(line(i))
	}
	stored := eval[int](alice, `(JSON.parse(localStorage.getItem("outbox:alice") || "[]")).length`)
	if stored == 0 {
		t.Fatalf("alice: nothing of the outbox is stored before the reload")
	}
	t.Logf("%d lines unsent at the reload", stored)
	alice.do(chromedp.Reload())
	alice.waitConnected()

	var texts []string
	var want []string
	for i := 1; i <= 30; i++ {
		want = append(want, line(i))
	}
	testenv.Eventually(t, waitAll, "all 30 lines stored", func() bool {
		texts = texts[:0]
		for _, m := range history(t, carol, "general") {
			if m.Nick == "alice" {
				texts = append(texts, m.Text)
			}
		}
		return len(texts) >= 30 || eval[int](alice, `document.querySelectorAll("#pending > li:not(.failed)").length`) == 0
	})
	if !slices.Equal(texts, want) {
		t.Fatalf("alice's lines stored as %q, want %q: each once, in the order typed", texts, want)
	}
	sameAsHistory(t, alice, carol, "general")
	if n := eval[string](alice, `localStorage.getItem("outbox:alice") || ""`); n != "" {
		t.Errorf("alice: the outbox still holds %s after every line was stored", strconv.Quote(n))
	}
	if e := alice.exceptions(); len(e) != 0 {
		t.Errorf("alice: uncaught exceptions: %q", e)
	}
}
