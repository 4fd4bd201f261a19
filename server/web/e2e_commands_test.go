package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "modernc.org/sqlite"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
)

// TestCommandsAndQuietLinesEndToEnd checks the composer's commands (an
// unknown one, one a later version brings, /msg to a nick nobody has and
// /create with an unknown flag are refused and nothing is posted; /join
// opens the room; /topic alone shows the topic), the quiet lines between
// the messages (day separators, topic changes, joins, the answers of /help
// and /who), the sender over a group cut by the top of the view, a fresh
// load with nothing in the console, and the page at 390 px: its own nick
// in view, Enter making a new line and Send sending, and a refused line's
// Retry and Discard in view.
func TestCommandsAndQuietLinesEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	browserStarted := startBrowser(t)
	srv := startChatServer(t, "--message-burst", "200")
	browser := browserStarted()
	base := srv.URL
	shots := artifactDir(t)

	// Two messages from yesterday, written back a day in the database while
	// the server is stopped, and one from today.
	carol := login(t, base, "carol")
	send(t, carol, "general", "from yesterday 1")
	send(t, carol, "general", "from yesterday 2")
	srv.stop()
	db, err := sql.Open("sqlite", filepath.Join(srv.data, "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE messages SET ts = ts - ? WHERE text LIKE 'from yesterday%'`, int64(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	srv.start()
	send(t, carol, "general", "from today")

	alice := newSession(t, browser, "alice", 1280, 800)
	alice.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-nick")))
	alice.waitFor(waitShort, "the limits read", `performance.getEntriesByType("resource").some(e => e.name.endsWith("/api/limits"))`)
	if c := alice.allConsole(); len(c) != 0 {
		t.Errorf("alice: the console on a fresh load shows %q", c)
	}
	alice.login(base, "alice")
	if c := alice.allConsole(); len(c) != 0 {
		t.Errorf("alice: the console after signing in shows %q", c)
	}

	// Day separators: one before yesterday's first message, one before
	// today's.
	alice.waitText("from today")
	days := eval[[]string](alice, `[...document.querySelectorAll("#messages > li")].map(li =>
		li.classList.contains("daysep") ? "day:" + li.textContent : li.querySelector(".text").textContent)`)
	if want := []string{"day:Yesterday", "from yesterday 1", "from yesterday 2", "day:Today", "from today"}; !slices.Equal(days, want) {
		t.Errorf("alice: general reads %q, want %q", days, want)
	}
	if n := eval[string](alice, `(li => li.querySelector(".meta").getBoundingClientRect().height > 0 ? "shown" : "hidden")([...document.querySelectorAll("#messages > li.msg")][2])`); n != "shown" {
		t.Errorf("alice: the sender of the first message after a day separator is %s", n)
	}
	alice.screenshot(shots, "days-1280")

	step := func(what string) { t.Logf("step: %s", what) }
	composerSays := func(want string) {
		t.Helper()
		alice.waitFor(waitShort, "composer says "+want, `document.getElementById("composer-error").textContent === `+js(want))
	}
	composerHolds := func(want string) {
		t.Helper()
		if v := eval[string](alice, `document.getElementById("composer-input").value`); v != want {
			t.Errorf("alice: the composer holds %q, want %q", v, want)
		}
	}
	note := func(want string) {
		t.Helper()
		alice.waitFor(waitShort, "quiet line "+js(want), `[...document.querySelectorAll("#messages > li.note")].some(li => li.textContent === `+js(want)+`)`)
	}

	step("commands that are refused post nothing")
	alice.typeMessage("/frob now")
	composerSays("Unknown command /frob: /help lists the commands. Nothing was sent.")
	composerHolds("/frob now")
	eval[chromedp.Void](alice, `document.getElementById("composer-input").value = ""`)
	alice.typeMessage("/msg nobody-here secret")
	composerSays("There is no account nobody-here.")
	composerHolds("/msg nobody-here secret")
	eval[chromedp.Void](alice, `document.getElementById("composer-input").value = ""`)
	alice.typeMessage("/create plans --secret")
	composerSays("Usage: /create ROOM [--private]. Nothing was sent.")
	eval[chromedp.Void](alice, `document.getElementById("composer-input").value = ""`)
	alice.typeMessage("/search plans")
	composerSays("/search is not available yet on this server. Nothing was sent.")
	eval[chromedp.Void](alice, `document.getElementById("composer-input").value = ""`)
	alice.typeMessage("/who is there")
	composerSays("Usage: /who (no argument). Nothing was sent.")
	eval[chromedp.Void](alice, `document.getElementById("composer-input").value = ""`)

	step("/join opens a room and posts nothing")
	alice.typeMessage("/join dev")
	alice.waitFor(waitShort, "dev opened", `location.hash === "#dev" && document.getElementById("room-name").textContent === "#dev"`)
	alice.waitConnected()
	composerHolds("")
	alice.typeMessage("/JOIN #general")
	alice.waitFor(waitShort, "general opened", `location.hash === "#general" && document.getElementById("room-name").textContent === "#general"`)
	alice.waitConnected()
	alice.typeMessage("/part")
	note("#general is where the page starts; there is no room to go back to.")
	alice.typeMessage("/join dev")
	alice.waitFor(waitShort, "dev opened", `location.hash === "#dev"`)
	alice.waitConnected()

	step("/topic alone shows the topic; with text sets it, a quiet line for all")
	alice.typeMessage("/topic")
	note("#dev has no topic.")
	alice.typeMessage("/topic plans for today")
	note("alice set the topic: plans for today")
	alice.typeMessage("/topic")
	note("The topic of #dev is: plans for today")
	rs, err := carol.Rooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name == "dev" && r.Topic != "plans for today" {
			t.Errorf("dev's topic is %q after /topic alone, want it kept", r.Topic)
		}
	}
	alice.typeMessage("/help")
	alice.waitFor(waitShort, "help listed", `[...document.querySelectorAll("#messages > li.note")].some(li => li.textContent.startsWith("Commands: /join ROOM: ") && li.textContent.includes("/leave (or /part)"))`)
	alice.typeMessage("/who")
	note("Online in #dev: alice.")
	alice.typeMessage("//slash at the start")
	alice.waitText("/slash at the start")
	alice.typeMessage("/me waves")
	alice.waitText("* alice waves")
	for _, room := range []string{"general", "dev"} {
		for _, m := range history(t, carol, room) {
			if m.Nick == "alice" && m.Text != "/slash at the start" && m.Text != "waves" {
				t.Errorf("a command was posted to %s: %q", room, m.Text)
			}
		}
	}

	step("joins as quiet lines; the sender over a cut group")
	bob := newSession(t, browser, "bob", 390, 844)
	bob.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-nick")))
	if c := bob.allConsole(); len(c) != 0 {
		t.Errorf("bob: the console on a fresh load shows %q", c)
	}
	bob.login(base, "bob")
	eval[chromedp.Void](bob, `location.hash = "#dev"`)
	bob.waitFor(waitShort, "dev opened", `document.getElementById("room-name").textContent === "#dev"`)
	bob.waitConnected()
	note("bob joined")
	alice.screenshot(shots, "quiet-lines-1280")
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	for i := range 60 {
		if _, err := carol.Send(ctx, "dev", chat.PostMessage{Text: fmt.Sprintf("carol says %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	alice.waitText("carol says 59")
	// Scroll so that a message in the middle of carol's group is at the top.
	eval[chromedp.Void](alice, `(() => {
		const s = document.getElementById("scroller");
		const li = [...document.querySelectorAll("#messages > li.msg")].find(li => li.querySelector(".text").textContent === "carol says 30");
		s.scrollTop += li.getBoundingClientRect().top - s.getBoundingClientRect().top;
	})()`)
	alice.waitFor(waitShort, "carol shown over the top", `(e => !e.hidden && e.textContent === "carol")(document.getElementById("top-sender"))`)
	alice.screenshot(shots, "top-sender-1280")

	step("390 px: own nick, Enter makes a line, Send sends, Retry and Discard in view")
	bob.waitFor(waitShort, "own nick in view", `(e => { const r = e.getBoundingClientRect(); return getComputedStyle(e).display !== "none" && r.width > 10 && r.left >= 0 && r.right <= innerWidth && e.textContent === "bob"; })(document.getElementById("me-nick"))`)
	bob.do(
		chromedp.Focus(chromedp.ID("composer-input")),
		chromedp.SendKeys(chromedp.ID("composer-input"), "first line"),
		chromedp.KeyEvent("\r"),
		chromedp.SendKeys(chromedp.ID("composer-input"), "second line"),
	)
	if v := eval[string](bob, `document.getElementById("composer-input").value`); v != "first line\nsecond line" {
		t.Fatalf("bob: after Enter the composer holds %q, want two lines", v)
	}
	if n := eval[int](bob, `document.querySelectorAll("#pending > li").length`); n != 0 {
		t.Errorf("bob: Enter sent something at 390 px")
	}
	bob.do(chromedp.Click(chromedp.ID("send")))
	alice.waitText("first line\nsecond line")
	bob.waitText("first line\nsecond line")
	// A line the server refuses for good (a control character): the reason
	// in words and both buttons inside the view.
	eval[chromedp.Void](bob, `document.getElementById("composer-input").value = "bell \u0007"`)
	bob.do(chromedp.Click(chromedp.ID("send")))
	bob.waitFor(waitShort, "refused line with its buttons", `document.querySelector("#pending > li.failed .discard")`)
	status := eval[string](bob, `document.querySelector("#pending > li.failed .status").textContent`)
	if !strings.HasPrefix(status, "Not sent: The text holds the control character U+0007") {
		t.Errorf("bob: the refused line says %q", status)
	}
	bob.waitFor(waitShort, "Retry and Discard inside the view", `(() => {
		const s = document.getElementById("scroller").getBoundingClientRect();
		return [...document.querySelectorAll("#pending > li.failed .actions button")].every(b => {
			const r = b.getBoundingClientRect();
			return r.height > 0 && r.top >= s.top && r.bottom <= s.bottom && r.left >= s.left && r.right <= s.right;
		});
	})()`)
	bob.screenshot(shots, "refused-390")
	bob.do(chromedp.Click(chromedp.CSS("#pending > li.failed .discard")))
	bob.waitFor(waitShort, "discarded", `document.querySelectorAll("#pending > li").length === 0 && localStorage.getItem("outbox:bob") === null`)
	bob.screenshot(shots, "commands-390")
	alice.screenshot(shots, "commands-1280")

	step("leaves as quiet lines")
	eval[chromedp.Void](bob, `location.hash = "#general"`)
	alice.waitFor(waitLong, "bob left", `[...document.querySelectorAll("#messages > li.note")].some(li => li.textContent === "bob left")`)

	for _, s := range []*session{alice, bob} {
		if e := s.exceptions(); len(e) != 0 {
			t.Errorf("%s: uncaught exceptions: %q", s.name, e)
		}
	}
}
