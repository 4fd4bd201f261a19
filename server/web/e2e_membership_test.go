package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/internal/testenv"
)

// roomLink is the JavaScript expression of the sidebar's link to room.
func roomLink(room string) string {
	return `document.querySelector('#sidebar a[data-room=` + js(room) + `]')`
}

// openRoomFromList clicks room in the sidebar, through the drawer on a
// narrow screen, and waits until its stream is connected.
func (s *session) openRoomFromList(room string) {
	s.t.Helper()
	if eval[bool](s, `matchMedia("(max-width: 600px)").matches`) {
		s.do(chromedp.Click(chromedp.ID("rooms-toggle")))
	}
	s.do(chromedp.Click(chromedp.CSS(`#sidebar a[data-room="` + room + `"]`)))
	s.waitFor(waitShort, "room "+room+" open", `location.hash === `+js("#"+room))
	s.waitConnected()
}

// TestMembershipPageEndToEnd: alice creates a private room from the page's
// room form, adds bob from its members panel, and bob (another browser
// context) finds it in his list with its lock while an outsider's client
// gets the 404 of a missing room; the members panel shows the owner and
// removes nobody it must not; alice starts a direct message by clicking
// bob in the online list, bob finds it under "Direct messages" named by
// alice's nick and reads it; /send posts a message a Go client reads; the
// app's menu links the two simple pages. Screenshots of the app with a
// private and a direct room at 1280 and 390 px.
func TestMembershipPageEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	browserStarted := startBrowser(t)
	srv := startChatServer(t)
	browser := browserStarted()
	base := srv.URL
	shots := artifactDir(t)
	step := func(what string) { t.Logf("step: %s", what) }

	alice := newSession(t, browser, "alice", 1280, 800)
	bob := newSession(t, browser, "bob", 1280, 800)
	alice.login(base, "alice")
	bob.login(base, "bob")
	carol := login(t, base, "carol")

	step("a private room from the room form")
	alice.do(
		chromedp.SendKeys(chromedp.ID("create-room-name"), "plans"),
		chromedp.Click(chromedp.ID("create-room-private")),
		chromedp.Click(chromedp.CSS(`#create-room-form button[type="submit"]`)),
	)
	alice.waitFor(waitShort, "plans open", `document.getElementById("room-name").textContent === "#plans"`)
	alice.waitConnected()
	alice.waitFor(waitShort, "plans listed with a lock", roomLink("plans")+` && `+roomLink("plans")+`.classList.contains("private") && `+roomLink("plans")+`.querySelector(".lock")`)
	if eval[bool](alice, `document.getElementById("create-room-private").checked`) {
		t.Errorf("alice: the private box stays ticked after the room was made")
	}
	alice.waitFor(waitShort, "the members panel with its owner", `!document.getElementById("members-panel").hidden &&
		[...document.querySelectorAll("#members-list li")].map(li => li.dataset.nick).join() === "alice"`)
	if n := eval[int](alice, `document.querySelectorAll("#members-list li[data-nick=alice] button.remove").length`); n != 0 {
		t.Errorf("alice: the owner's own line offers Remove")
	}
	if _, err := carol.History(context.Background(), "plans", client.HistoryQuery{Limit: 10}); !isStatus(err, http.StatusNotFound) {
		t.Errorf("carol reads the private room plans: %v, want the 404 of a missing room", err)
	}
	if eval[bool](bob, roomLink("plans")+` !== null`) {
		t.Errorf("bob lists plans before he was added")
	}

	step("an unknown nick is refused in the panel")
	alice.do(
		chromedp.SendKeys(chromedp.ID("members-add-nick"), "nobody-here"),
		chromedp.Click(chromedp.CSS(`#members-add-form button[type="submit"]`)),
	)
	alice.waitFor(waitShort, "unknown nick refused", `document.getElementById("members-error").textContent === "There is no account nobody-here."`)
	eval[chromedp.Void](alice, `document.getElementById("members-add-nick").value = ""`)

	step("bob added from the members panel sees plans in his list")
	alice.do(
		chromedp.SendKeys(chromedp.ID("members-add-nick"), "bob"),
		chromedp.Click(chromedp.CSS(`#members-add-form button[type="submit"]`)),
	)
	alice.waitFor(waitShort, "bob in the members panel", `document.querySelector("#members-list li[data-nick=bob] button.remove")`)
	alice.screenshot(shots, "membership-private-1280")
	bob.waitFor(waitLong, "plans in bob's list with a lock", roomLink("plans")+` && `+roomLink("plans")+`.querySelector(".lock")`)
	send(t, login(t, base, "alice"), "plans", "the plan is ready")
	bob.openRoomFromList("plans")
	bob.waitText("the plan is ready")
	if !eval[bool](bob, `document.getElementById("members-panel").hidden`) {
		t.Errorf("bob, a plain member, is shown the members panel")
	}

	step("a direct message from the online list")
	alice.openRoomFromList("general")
	bob.openRoomFromList("general")
	alice.waitFor(waitShort, "bob in the online list as a button", `document.querySelector('#presence-list button[data-nick="bob"]')`)
	if v := eval[string](alice, `[...document.querySelectorAll("#presence-list li")].map(li => li.textContent).join()`); v != "alice (you),bob" {
		t.Errorf("alice: the online list reads %q", v)
	}
	alice.do(chromedp.Click(chromedp.CSS(`#presence-list button[data-nick="bob"]`)))
	alice.waitFor(waitShort, "the direct room open", `document.getElementById("room-name").textContent === "@bob" && location.hash.startsWith("#dm-")`)
	alice.waitConnected()
	dm := strings.TrimPrefix(eval[string](alice, `location.hash`), "#")
	alice.waitFor(waitShort, "the direct room under Direct messages", `!document.getElementById("dm-title").hidden &&
		document.querySelector('#dm-list a[data-room=`+js(dm)+`]') && !document.querySelector('#room-list a[data-room=`+js(dm)+`]')`)
	alice.typeMessage("hello bob, just us")
	alice.waitText("hello bob, just us")
	bob.waitFor(waitLong, "the direct room in bob's list named by alice", `(a => a && a.textContent.startsWith("@alice"))(document.querySelector('#dm-list a[data-room=`+js(dm)+`]'))`)
	bob.openRoomFromList(dm)
	bob.waitText("hello bob, just us")
	if _, err := carol.History(context.Background(), dm, client.HistoryQuery{Limit: 10}); !isStatus(err, http.StatusNotFound) {
		t.Errorf("carol reads the direct room: %v, want the 404 of a missing room", err)
	}
	alice.noViolations("after the membership steps")
	bob.noViolations("after the membership steps")
	for _, s := range []*session{alice, bob} {
		if e := s.exceptions(); len(e) != 0 {
			t.Errorf("%s: exceptions %q", s.name, e)
		}
	}

	step("screenshots of the app with a private and a direct room")
	alice.screenshot(shots, "membership-app-1280")
	alice.do(chromedp.EmulateViewport(390, 844))
	alice.do(chromedp.Click(chromedp.ID("rooms-toggle")))
	alice.waitFor(waitShort, "the drawer open", `document.getElementById("sidebar").classList.contains("open")`)
	alice.screenshot(shots, "membership-drawer-390")
	alice.do(chromedp.Click(chromedp.ID("rooms-toggle")))
	alice.screenshot(shots, "membership-dm-390")
	alice.do(chromedp.EmulateViewport(1280, 800))

	step("the menu links the simple pages")
	if v := eval[[]string](alice, `[...document.querySelectorAll(".me a.menu-link")].map(a => new URL(a.href).pathname)`); !slices.Equal(v, []string{"/send", "/view/" + dm}) {
		t.Errorf("alice: the menu links %q", v)
	}

	step("/send signs in, then posts a message a Go client reads")
	sender := newSession(t, browser, "sender", 1280, 800)
	sender.do(chromedp.Navigate(base+"/send"), chromedp.WaitVisible(chromedp.ID("send-login-nick")))
	sender.do(
		chromedp.SendKeys(chromedp.ID("send-login-nick"), "dave"),
		chromedp.SendKeys(chromedp.ID("send-login-password"), password),
		chromedp.Click(chromedp.ID("send-login-submit")),
		chromedp.WaitVisible(chromedp.ID("send-text")),
	)
	sender.waitFor(waitShort, "signed in as dave", `document.getElementById("send-nick").textContent === "dave"`)
	sender.do(
		chromedp.SendKeys(chromedp.ID("send-text"), "from the send form <b>as text</b>"),
		chromedp.Click(chromedp.ID("send-submit")),
	)
	sender.waitFor(waitShort, "sent", `document.getElementById("send-done").textContent === "Sent to #general."`)
	testenv.Eventually(t, waitShort, "the Go client reads the sent message", func() bool {
		for _, m := range history(t, carol, "general") {
			if m.Nick == "dave" && m.Text == "from the send form <b>as text</b>" {
				return true
			}
		}
		return false
	})
	alice.openRoomFromList("general")
	alice.waitText("from the send form <b>as text</b>")

	step("/send refuses a room dave cannot read as a missing one, and keeps the text")
	sender.do(
		chromedp.SetValue(chromedp.ID("send-room"), "plans"),
		chromedp.SendKeys(chromedp.ID("send-text"), "let me in"),
		chromedp.Click(chromedp.ID("send-submit")),
	)
	sender.waitFor(waitShort, "refused", `document.getElementById("send-error").textContent === "There is no room of that name."`)
	if v := eval[string](sender, `document.getElementById("send-text").value`); v != "let me in" {
		t.Errorf("sender: the text box holds %q after a refusal", v)
	}
	sender.screenshot(shots, "send-1280")

	step("a fresh /send in a signed-in browser goes straight to the form")
	alice.do(chromedp.Navigate(base+"/send"), chromedp.WaitVisible(chromedp.ID("send-text")))
	alice.waitFor(waitShort, "signed in as alice", `document.getElementById("send-nick").textContent === "alice"`)
	for _, s := range []*session{alice, sender} {
		s.noViolations("on /send")
		if e := s.exceptions(); len(e) != 0 {
			t.Errorf("%s: exceptions %q", s.name, e)
		}
	}
}

// isStatus reports whether err is the client's error for an answer of
// status code.
func isStatus(err error, code int) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == code
}

// TestViewPageEndToEnd: /view/{room} shows a room's history and then its
// live messages in large type, scrolling by itself, and for a public_read
// room does so without a session; a room that is not public_read asks to sign in
// (anonymous answers do not tell it from a missing one); a private room
// seen with a session of someone else's reads exactly as a missing room.
// Screenshots at 1280 and 390 px.
//
// It needs the anonymous event stream of a public_read room (the
// "removal" branch): without it the wall shows "Sign in to follow this
// room" and the test fails.
func TestViewPageEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	browserStarted := startBrowser(t)
	srv := startChatServer(t)
	browser := browserStarted()
	base := srv.URL
	shots := artifactDir(t)
	ctx := context.Background()

	alice := login(t, base, "alice")
	if _, err := alice.CreateRoom(ctx, "lobby", nil); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetPublicRead(ctx, "lobby", true); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateRoomKind(ctx, "secret", "private"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		send(t, alice, "lobby", fmt.Sprint("earlier message ", i))
	}

	wall := newSession(t, browser, "wall", 1280, 800)
	viewer := newSession(t, browser, "viewer", 1280, 800)

	// Anonymous: general is not public_read, and a missing room answers
	// the same.
	for _, room := range []string{"general", "no-such-room"} {
		wall.do(chromedp.Navigate(base + "/view/" + room))
		wall.waitFor(waitShort, room+" asks to sign in", `document.getElementById("wall-notice").textContent === "Sign in to follow this room. Sign in"`)
	}

	// With bob's session, alice's private room reads as a missing one.
	viewer.login(base, "bob")
	for _, room := range []string{"secret", "no-such-room"} {
		viewer.do(chromedp.Navigate(base + "/view/" + room))
		viewer.waitFor(waitShort, room+" reads as missing", `document.getElementById("wall-notice").textContent === `+js("There is no room #"+room+"."))
	}

	// Signed in, the wall follows the room live, in large type, scrolling
	// by itself, at 1280 and 390 px.
	viewer.do(chromedp.Navigate(base + "/view/lobby"))
	viewer.waitFor(waitShort, "the history on the wall", `[...document.querySelectorAll("#wall-messages li .text")].some(e => e.textContent === "earlier message 30")`)
	viewer.waitFor(waitLong, "the wall follows the room", `document.getElementById("wall-state").dataset.state === "connected"`)
	send(t, alice, "lobby", "live on the wall")
	viewer.waitFor(waitShort, "a live message on the wall", `[...document.querySelectorAll("#wall-messages li .text")].some(e => e.textContent === "live on the wall")`)
	viewer.waitFor(waitShort, "scrolled to the newest", `(s => s.scrollTop + s.clientHeight >= s.scrollHeight - 4)(document.getElementById("wall-scroller"))`)
	if px := eval[float64](viewer, `parseFloat(getComputedStyle(document.querySelector("#wall-messages li")).fontSize)`); px < 24 {
		t.Errorf("viewer: messages in %v px type, want large type", px)
	}
	viewer.screenshot(shots, "view-1280")
	viewer.do(chromedp.EmulateViewport(390, 844))
	send(t, alice, "lobby", "on a phone too")
	viewer.waitFor(waitShort, "a live message at 390 px", `[...document.querySelectorAll("#wall-messages li .text")].some(e => e.textContent === "on a phone too")`)
	viewer.waitFor(waitShort, "scrolled to the newest at 390 px", `(s => s.scrollTop + s.clientHeight >= s.scrollHeight - 4)(document.getElementById("wall-scroller"))`)
	viewer.screenshot(shots, "view-390")
	viewer.noViolations("on /view")

	// Anonymous on the public_read room: its history, then live.
	wall.do(chromedp.Navigate(base + "/view/lobby"))
	wall.waitFor(waitShort, "the history on the wall", `[...document.querySelectorAll("#wall-messages li .text")].some(e => e.textContent === "on a phone too")`)
	wall.waitFor(waitLong, "the wall follows the room or gives up", `document.getElementById("wall-state").dataset.state === "connected" || !document.getElementById("wall-notice").hidden`)
	if n := eval[string](wall, `document.getElementById("wall-notice").textContent`); n != "" {
		t.Fatalf("wall: the public_read room's wall says %q: the server has no anonymous event stream (the removal branch adds it)", n)
	}
	send(t, alice, "lobby", "live for everyone")
	wall.waitFor(waitShort, "a live message on the anonymous wall", `[...document.querySelectorAll("#wall-messages li .text")].some(e => e.textContent === "live for everyone")`)
	wall.noViolations("on /view")
	for _, s := range []*session{wall, viewer} {
		if e := s.exceptions(); len(e) != 0 {
			t.Errorf("%s: exceptions %q", s.name, e)
		}
	}
}

// TestRemovalEndToEnd: bob has alice's private room open when she removes
// him; his page closes the room, opens #general with the quiet line
// "alice removed you from #plans", drops it from his list, and does not
// try its stream again. Then a room he is in is deleted: "#gone was
// deleted".
//
// It needs the removed event of the "removal" branch (the stream ends
// with removed {room, by} when its account loses the room).
func TestRemovalEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	browserStarted := startBrowser(t)
	srv := startChatServer(t)
	browser := browserStarted()
	base := srv.URL
	ctx := context.Background()

	bob := newSession(t, browser, "bob", 1280, 800)
	bob.login(base, "bob")
	alice := login(t, base, "alice")
	for _, room := range []string{"plans", "gone"} {
		if _, err := alice.CreateRoomKind(ctx, room, "private"); err != nil {
			t.Fatal(err)
		}
		if err := alice.AddMember(ctx, room, "bob"); err != nil {
			t.Fatal(err)
		}
	}
	send(t, alice, "plans", "before the removal")

	bob.waitFor(waitLong, "plans in bob's list", roomLink("plans"))
	bob.openRoomFromList("plans")
	bob.waitText("before the removal")
	if err := alice.RemoveMember(ctx, "plans", "bob"); err != nil {
		t.Fatal(err)
	}
	bob.waitFor(waitShort, "the removal noted in general", `document.getElementById("room-name").textContent === "#general" &&
		[...document.querySelectorAll("#messages > li.note")].some(li => li.textContent === "alice removed you from #plans.")`)
	if eval[bool](bob, roomLink("plans")+` !== null`) {
		t.Errorf("bob still lists plans after his removal")
	}
	streams := func() int {
		n := 0
		for _, u := range bob.requestURIs() {
			if strings.HasPrefix(u, "/api/rooms/plans/events") {
				n += bob.requests(u)
			}
		}
		return n
	}
	before := streams()
	time.Sleep(3 * time.Second) // an EventSource retries after the server's retry: (1 s or 2 s)
	if after := streams(); after != before {
		t.Errorf("bob's page asked plans' stream %d more times after the removal", after-before)
	}

	bob.openRoomFromList("gone")
	if err := alice.DeleteRoom(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	bob.waitFor(waitShort, "the deletion noted in general", `document.getElementById("room-name").textContent === "#general" &&
		[...document.querySelectorAll("#messages > li.note")].some(li => li.textContent.startsWith("#gone was deleted"))`)
	bob.noViolations("after the removals")
	if e := bob.exceptions(); len(e) != 0 {
		t.Errorf("bob: exceptions %q", e)
	}
}
