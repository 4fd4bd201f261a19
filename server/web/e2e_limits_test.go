package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
)

// TestHistoryPageMaxEndToEnd runs the page against a server that answers
// history pages of at most 20 messages (--history-page-max 20; a larger
// limit is answered 400) and replays at most 10 messages to a resuming
// stream (--replay-max 10). The page must take the page size the server
// announces and still fill gaps of 100 messages, each shown once and in
// order: the catch-up of a stream that starts without a resume point (the
// room was empty when the page read it), and the reload after a reset when
// the page comes back 100 messages behind.
func TestHistoryPageMaxEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	const pageMax = 20
	browserStarted := startBrowser(t)
	srv := startChatServer(t, "--history-page-max", strconv.Itoa(pageMax), "--replay-max", "10", "--message-burst", "250")
	browser := browserStarted()
	base := srv.URL
	shots := artifactDir(t)

	alice := newSession(t, browser, "alice", 1280, 800)
	alice.login(base, "alice")
	carol := login(t, base, "carol")
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	if _, err := carol.CreateRoom(ctx, "gap", nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	block := func(on bool) {
		t.Helper()
		var p []*network.BlockPattern
		if on {
			p = []*network.BlockPattern{{URLPattern: base + "/api/rooms/*/events*", Block: true}}
		}
		ctx, cancel := context.WithTimeout(alice.ctx, waitShort)
		defer cancel()
		if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: p}); err != nil {
			t.Fatal(err)
		}
	}
	post := func(from, n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		for i := from; i < from+n; i++ {
			if _, err := carol.Send(ctx, "gap", chat.PostMessage{Text: fmt.Sprintf("gap %03d", i)}); err != nil {
				t.Fatalf("post gap %d: %v", i, err)
			}
		}
	}
	connected := `document.getElementById("conn-state").dataset.state === "connected"`

	// The room is empty when alice opens it, and her stream cannot start
	// while 100 messages are posted: when it does, it starts without a
	// resume point, and the page must read all 100 in pages of 20.
	block(true)
	eval[chromedp.Void](alice, `location.hash = "#gap"`)
	alice.waitFor(waitShort, "the empty room open, its stream refused", `document.getElementById("room-name").textContent === "#gap" &&
		document.getElementById("history-state").textContent === "No messages in #gap yet." && !(`+connected+`)`)
	post(0, 100)
	block(false)
	alice.waitFor(waitLong, "connected again", connected)
	alice.waitFor(waitShort, "all 100 caught up", `document.querySelectorAll("#messages > li.msg").length >= 100`)
	sameAsHistory(t, alice, carol, "gap")
	if got := eval[string](alice, `document.getElementById("history-state").textContent`); got != "This is the beginning of #gap." {
		t.Errorf("alice: after the catch-up the list says %q, want the beginning of #gap", got)
	}

	// The server restarts while alice's stream is refused, and 100 more
	// are posted: her resume is 100 behind, more than the 10 it replays,
	// so she gets a reset, reloads the newest page, and scrolls back to
	// the beginning in pages of 20.
	block(true)
	srv.stop()
	alice.waitFor(waitLong, "disconnected", `!(`+connected+`)`)
	srv.start()
	post(100, 100)
	reloads := alice.requests("/api/rooms/gap/messages?limit=20")
	block(false)
	alice.waitFor(waitLong, "connected after the restart", connected)
	alice.waitText("gap 199")
	if n := alice.requests("/api/rooms/gap/messages?limit=20"); n != reloads+1 {
		t.Errorf("alice: %d reloads of the newest page after coming back 100 behind, want 1 (the reset's)", n-reloads)
	}
	testenv.Eventually(t, waitLong, "alice: scrolled back to the beginning of #gap", func() bool {
		return eval[bool](alice, `(() => {
			document.getElementById("scroller").scrollTop = 0;
			return document.getElementById("history-state").textContent === "This is the beginning of #gap.";
		})()`)
	})
	sameAsHistory(t, alice, carol, "gap")
	alice.pageDoesNotScroll() // the list scrolled to the top
	alice.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("scroller").scrollTop = 1e9`))
	alice.pageDoesNotScroll() // and to the bottom
	alice.screenshot(shots, "small-pages-1280")

	// A fresh load on a phone-sized screen: the newest page, in order,
	// and nothing in the console.
	phone := newSession(t, browser, "phone", 390, 844)
	phone.login(base, "dave")
	if e := phone.consoleErrors(); len(e) != 0 {
		t.Errorf("phone: console errors on a fresh load: %q", e)
	}
	phone.do(chromedp.Navigate(base + "/#gap"))
	phone.waitFor(waitLong, "#gap open", `document.getElementById("room-name").textContent === "#gap" && `+connected)
	phone.waitText("gap 199")
	want := history(t, carol, "gap")
	got := phone.messages()
	if len(got) < pageMax || len(got) > len(want) {
		t.Fatalf("phone: %d messages shown, want at least the newest page of %d", len(got), pageMax)
	}
	for i, m := range got {
		if w := want[len(want)-len(got)+i]; m.ID != w.ID {
			t.Fatalf("phone: message %d shown is %s %q, want %s %q: not the newest in order", i, m.ID, m.Text, w.ID, w.Text)
		}
	}
	phone.screenshot(shots, "small-pages-390")
	phone.pageDoesNotScroll()
	phone.do(chromedp.Click(chromedp.ID("rooms-toggle")))
	phone.waitFor(waitShort, "drawer open", `document.getElementById("sidebar").classList.contains("open")`)
	phone.screenshot(shots, "rooms-drawer-390")

	// Every history page anyone asked for was within the announced size.
	for _, s := range []*session{alice, phone} {
		for _, uri := range s.requestURIs() {
			path, query, _ := strings.Cut(uri, "?")
			if !strings.HasSuffix(path, "/messages") {
				continue
			}
			q, err := url.ParseQuery(query)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := strconv.Atoi(q.Get("limit")); err != nil || n < 1 || n > pageMax {
				t.Errorf("%s: asked for %s, not a page of 1 to %d", s.name, uri, pageMax)
			}
		}
		s.noViolations("by the end")
		if e := s.exceptions(); len(e) != 0 {
			t.Errorf("%s: uncaught exceptions: %q", s.name, e)
		}
	}
}

// pageDoesNotScroll fails the test if the document is taller than the
// window: only the message list scrolls, and the header and the composer
// stay in view. (The names hidden in a run of messages by one nick once
// stretched the page by the height of the run.)
func (s *session) pageDoesNotScroll() {
	s.t.Helper()
	if d := eval[map[string]float64](s, `({scroll: document.documentElement.scrollHeight, client: document.documentElement.clientHeight})`); d["scroll"] > d["client"] {
		s.t.Errorf("%s: the page is %v px tall in a window of %v: the whole page scrolls", s.name, d["scroll"], d["client"])
	}
}
