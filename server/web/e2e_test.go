package web_test

// End-to-end tests of the page in Debian's headless Chromium against the
// real chat-server binary. They skip where chromium is missing and fail
// under CI=true.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/internal/testenv"
)

const (
	waitShort = 15 * time.Second // a page reacting to something that happened
	waitLong  = 30 * time.Second // a restart, a rate-limit wait
	password  = "correct horse battery"
)

// chatServer runs the chat-server binary on a fixed address and data
// directory, so that it can be stopped and started again in place.
type chatServer struct {
	t    *testing.T
	bin  string
	data string
	addr string
	URL  string
	args []string // extra flags for the next start
	proc *testenv.Process
	logs strings.Builder // output of the processes already stopped
}

// startChatServer starts the server with the extra flags args.
func startChatServer(t *testing.T, args ...string) *chatServer {
	t.Helper()
	s := &chatServer{
		t:    t,
		bin:  testenv.Build(t, "./cmd/chat-server"),
		data: t.TempDir(),
		addr: testenv.FreeAddr(t),
		args: args,
	}
	s.URL = "http://" + s.addr
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b := s.logs.String()
		if s.proc != nil {
			b += s.proc.Output()
		}
		if len(b) > 8000 {
			b = b[len(b)-8000:]
		}
		t.Logf("chat-server log (tail):\n%s", b)
	})
	s.start()
	return s
}

func (s *chatServer) start() {
	s.t.Helper()
	p := testenv.StartProcess(s.t, s.bin, append([]string{"--addr", s.addr, "--data", s.data}, s.args...), nil)
	s.proc = p
	// Registered after StartProcess's kill, so it runs first: the last
	// server gets its SIGTERM and must exit cleanly.
	s.t.Cleanup(func() {
		if s.proc == p {
			s.stop()
		}
	})
	testenv.WaitHTTP(s.t, s.URL+"/healthz", 30*time.Second)
}

// stop sends SIGTERM and waits for the exit, killing the process if it
// overstays the 15 s the protocol allows.
func (s *chatServer) stop() {
	if s.proc == nil {
		return
	}
	if code := s.proc.Stop(20 * time.Second); code != 0 {
		s.t.Errorf("chat-server exited with code %d after SIGTERM", code)
	}
	s.logs.WriteString(s.proc.Output())
	s.proc = nil
}

// startBrowser starts one headless Chromium with a fresh profile; each
// session made from it gets its own cookie jar.
func startBrowser(t *testing.T) (wait func() context.Context) {
	t.Helper()
	path := testenv.RequireTool(t, "chromium", "/usr/bin/chromium")
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// Chromium starts while the caller builds and starts the server; the
	// returned func waits for it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	return func() context.Context {
		t.Helper()
		if err := <-started; err != nil {
			t.Fatalf("start chromium: %v", err)
		}
		return bctx
	}
}

// session is one browser profile (cookie jar) with one tab, and the
// JavaScript dialogs that tab has opened.
type session struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu      sync.Mutex
	dialogs []string
	loads   map[string]int            // requests per URL path and query
	console []chromedp.ConsoleMessage // errors and exceptions the console showed
}

func newSession(t *testing.T, browser context.Context, name string, width, height int64) *session {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	s := &session{t: t, name: name, ctx: ctx, loads: map[string]int{}}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	// Record every Content-Security-Policy violation from the start of each
	// document: the page itself must cause none.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__violations = [];
			document.addEventListener("securitypolicyviolation", e => window.__violations.push(e.violatedDirective + " " + (e.blockedURI || e.sample)));`,
	}); err != nil {
		t.Fatalf("%s: install the CSP violation recorder: %v", name, err)
	}
	// Record and dismiss every dialog: one would mean script ran that the
	// page never calls.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			s.mu.Lock()
			s.dialogs = append(s.dialogs, ev.Message)
			s.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				s.mu.Lock()
				s.console = append(s.console, m)
				s.mu.Unlock()
			}
		}
	}()
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			if u, err := url.Parse(ev.Request.URL); err == nil {
				s.mu.Lock()
				s.loads[u.RequestURI()]++
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// consoleErrors returns the errors and uncaught exceptions the tab's console
// has shown, except the browser's notes on failed requests (source
// "network"): a 401 or a refused connection is the page's business, and the
// tests check how it handles them.
func (s *session) consoleErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.console {
		if m.Source != "network" {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
		}
	}
	return out
}

// allConsole returns every error the tab's console has shown, the
// browser's notes on failed requests included: on a fresh load there must
// be none at all.
func (s *session) allConsole() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.console {
		out = append(out, fmt.Sprintf("%s [%s] (%s:%d)", m, m.Source, m.URL, m.Line))
	}
	return out
}

// exceptions returns the uncaught exceptions and unhandled rejections the
// tab's console has shown: each is a defect of the page.
func (s *session) exceptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.console {
		if m.IsException() {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
		}
	}
	return out
}

// requestURIs returns every path?query the tab has requested.
func (s *session) requestURIs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.loads))
}

// requests returns how many requests the tab has made for path?query.
func (s *session) requests(uri string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[uri]
}

func (s *session) do(actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, waitLong)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		s.t.Fatalf("%s: %v", s.name, err)
	}
}

// eval runs js in the page and decodes its value.
func eval[T any](s *session, js string) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, waitShort)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		s.t.Fatalf("%s: evaluate %s: %v", s.name, js, err)
	}
	return v
}

// evalAwait runs js, whose value is a promise, and decodes what it
// resolves to.
func evalAwait[T any](s *session, js string) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, waitShort)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		s.t.Fatalf("%s: evaluate %s: %v", s.name, js, err)
	}
	return v
}

// waitFor polls the boolean expression js until it holds.
func (s *session) waitFor(timeout time.Duration, what, js string) {
	s.t.Helper()
	testenv.Eventually(s.t, timeout, s.name+": "+what, func() bool {
		return eval[bool](s, "!!("+js+")")
	})
}

// violations returns the CSP violations of the current document.
func (s *session) violations() []string {
	s.t.Helper()
	return eval[[]string](s, `window.__violations || ["recorder missing"]`)
}

func (s *session) noViolations(when string) {
	s.t.Helper()
	if v := s.violations(); len(v) != 0 {
		s.t.Errorf("%s: CSP violations %s: %q", s.name, when, v)
	}
}

func (s *session) dialogCount() int { return len(s.dialogTexts()) }

func (s *session) dialogTexts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dialogs)
}

func (s *session) screenshot(dir, name string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, waitShort)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		s.t.Fatalf("%s: screenshot: %v", s.name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// js quotes v as a JavaScript literal.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// login signs in through the form.
func (s *session) login(base, nick string) {
	s.t.Helper()
	s.do(
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("login-nick")),
		chromedp.SendKeys(chromedp.ID("login-nick"), nick),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	s.waitConnected()
	s.waitFor(waitShort, "own nick shown", `document.getElementById("me-nick").textContent === `+js(nick))
}

func (s *session) waitConnected() {
	s.t.Helper()
	s.waitFor(waitLong, "connected", `document.getElementById("chat-view").hidden === false &&
		document.getElementById("conn-state").dataset.state === "connected"`)
}

// typeMessage types text into the composer as keystrokes; "\n" in text is
// typed as Shift+Enter. Then Enter sends it, or on a narrow screen (where
// Enter makes a new line) a tap on Send.
func (s *session) typeMessage(text string) {
	s.t.Helper()
	s.do(chromedp.Focus(chromedp.ID("composer-input")))
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			s.do(chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)))
		}
		if line != "" {
			s.do(chromedp.SendKeys(chromedp.ID("composer-input"), line))
		}
	}
	s.submit()
}

// submit sends what the composer holds as its user would: Enter, or the
// Send button on a screen of 600 px or less.
func (s *session) submit() {
	s.t.Helper()
	if eval[bool](s, `matchMedia("(max-width: 600px)").matches`) {
		s.do(chromedp.Click(chromedp.ID("send")))
		return
	}
	s.do(chromedp.KeyEvent("\r"))
}

// shownMessages returns the ids and texts of the messages the page shows, in
// page order.
type shown struct {
	ID   string `json:"id"`
	Nick string `json:"nick"`
	Text string `json:"text"`
}

func (s *session) messages() []shown {
	s.t.Helper()
	return eval[[]shown](s, `[...document.querySelectorAll("#messages > li.msg")].map(li => ({
		id: li.dataset.id || "",
		nick: li.querySelector(".author").textContent,
		text: li.querySelector(".text").textContent,
	}))`)
}

func (s *session) showsText(text string) bool {
	return eval[bool](s, `[...document.querySelectorAll("#messages > li.msg .text")].some(p => p.textContent === `+js(text)+`)`)
}

// waitText waits until the page shows a stored message whose text is text
// (for an action, "* nick text").
func (s *session) waitText(text string) {
	s.t.Helper()
	testenv.Eventually(s.t, waitShort, s.name+": message "+js(text)+" shown", func() bool { return s.showsText(text) })
}

// history reads a room's whole history through the API, oldest first, in
// the largest pages the server allows.
func history(t *testing.T, c *client.Client, room string) []chat.Message {
	t.Helper()
	l, err := c.Limits(context.Background())
	if err != nil {
		t.Fatalf("limits: %v", err)
	}
	var all []chat.Message
	before := ""
	for {
		p, err := c.History(context.Background(), room, client.HistoryQuery{Before: before, Limit: l.HistoryPageMax})
		if err != nil {
			t.Fatalf("history of %s: %v", room, err)
		}
		all = append(p.Messages, all...)
		if !p.HasMore || len(p.Messages) == 0 {
			return all
		}
		before = p.Messages[0].ID
	}
}

// sameAsHistory fails unless the page shows exactly the room's history: in
// order, nothing missing, nothing twice, nothing pending.
func sameAsHistory(t *testing.T, s *session, c *client.Client, room string) {
	t.Helper()
	var want []string
	for _, m := range history(t, c, room) {
		want = append(want, m.ID)
	}
	var got []string
	testenv.Eventually(t, waitShort, s.name+": page shows the history of "+room, func() bool {
		got = got[:0]
		for _, m := range s.messages() {
			got = append(got, m.ID)
		}
		return slices.Equal(got, want)
	})
	if n := eval[int](s, `document.querySelectorAll("#pending > li").length`); n != 0 {
		t.Errorf("%s: %d messages still pending", s.name, n)
	}
}

func login(t *testing.T, base, nick string) *client.Client {
	t.Helper()
	c := client.New(base)
	if _, err := c.Login(context.Background(), nick, password); err != nil {
		t.Fatalf("login %s: %v", nick, err)
	}
	return c
}

func send(t *testing.T, c *client.Client, room, text string) chat.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	m, err := c.Send(ctx, room, chat.PostMessage{Text: text})
	if err != nil {
		t.Fatalf("send %q to %s: %v", text, room, err)
	}
	return m
}

func artifactDir(t *testing.T) string {
	if d := os.Getenv("TEST_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "server-web")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

// TestChatPageEndToEnd drives two browser sessions and one Go client through
// one server's life: login, chatting, typing and presence, hostile text, a
// cross-origin POST, older pages, the new-messages button, rate limiting,
// a server restart, and logout. The steps share the server and browsers to
// keep the suite fast, so they run in order.
func TestChatPageEndToEnd(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	began := time.Now()
	step := func(what string) { t.Logf("%5.1fs step: %s", time.Since(began).Seconds(), what) }
	browserStarted := startBrowser(t)
	srv := startChatServer(t)
	browser := browserStarted()
	base := srv.URL
	shots := artifactDir(t)
	t.Logf("screenshots go to %s (kept with go test -artifacts, or under $TEST_ARTIFACTS)", shots)

	step("the page's security headers")
	for _, p := range []string{"/", "/app.js", "/connection.js", "/style.css"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", p, resp.StatusCode)
		}
		checkSecurityHeaders(t, "chat-server GET "+p, resp.Header)
	}

	alice := newSession(t, browser, "alice", 1280, 800)
	bob := newSession(t, browser, "bob", 360, 740)

	step("login through the form")
	bob.do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("login-nick")))
	bob.screenshot(shots, "login-360")
	alice.login(base, "alice")
	bob.login(base, "bob")
	for _, s := range []*session{alice, bob} {
		if e := s.consoleErrors(); len(e) != 0 {
			t.Errorf("%s: console errors on a fresh load: %q", s.name, e)
		}
	}
	carol := login(t, base, "carol")
	alice.waitFor(waitShort, "bob in the presence list", `[...document.querySelectorAll("#presence-list li")].some(li => li.textContent === "bob")`)
	bob.waitFor(waitShort, "alice in the presence list", `[...document.querySelectorAll("#presence-list li")].some(li => li.textContent === "alice")`)

	step("the page orders message ids as the server does")
	ids := []string{"", "x", "01", "1-", "-1", "1-01", "+1", "1.0", "18446744073709551616", "1-18446744073709551616",
		"0", "1", "2", "9", "10", "42", "9007199254740993", "9007199254740992", "18446744073709551615",
		"1700000000000-0", "1700000000000-3", "1700000000000-10", "1700000000001-0", "18446744073709551615-18446744073709551615"}
	order := evalAwait[[][]int](alice, `import("/ids.js").then(m => (ids => ids.map(a => ids.map(b => m.compare(a, b))))(`+js(ids)+`))`)
	valid := evalAwait[[]bool](alice, `import("/ids.js").then(m => (ids => ids.map(a => m.parse(a) !== null))(`+js(ids)+`))`)
	for i, a := range ids {
		if _, err := chat.ParseID(a); valid[i] != (err == nil) {
			t.Errorf("page parses %q as valid=%v; chat.ParseID says %v", a, valid[i], err)
		}
		for j, b := range ids {
			if want := chat.CompareIDs(a, b); order[i][j] != want {
				t.Errorf("page compares %q with %q as %d; chat.CompareIDs says %d", a, b, order[i][j], want)
			}
		}
	}

	step("chat between two pages and a Go client")
	alice.typeMessage("hello from alice")
	bob.waitText("hello from alice")
	alice.waitText("hello from alice")
	alice.waitFor(waitShort, "pending replaced by the echo", `document.querySelectorAll("#pending > li").length === 0`)
	if v := eval[string](alice, `document.getElementById("composer-input").value`); v != "" {
		t.Errorf("alice: after Enter sent, the composer holds %q", v)
	}
	// bob types: alice is told, then Shift+Enter makes a second line.
	bob.do(chromedp.Focus(chromedp.ID("composer-input")), chromedp.SendKeys(chromedp.ID("composer-input"), "line one"))
	alice.waitFor(waitShort, "bob is typing", `document.getElementById("typing").textContent === "bob is typing…"`)
	bob.do(
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.SendKeys(chromedp.ID("composer-input"), "line two"),
	)
	if v := eval[string](bob, `document.getElementById("composer-input").value`); v != "line one\nline two" {
		t.Fatalf("bob: after Shift+Enter the composer holds %q", v)
	}
	bob.submit()
	alice.waitText("line one\nline two")
	alice.waitFor(waitShort, "typing notice cleared by bob's message", `document.getElementById("typing").textContent === ""`)
	send(t, carol, "general", "hello from carol")
	alice.waitText("hello from carol")
	bob.waitText("hello from carol")
	// bob's room-list fetches are held until he shows the topic, so only
	// the stream's room event can bring it.
	eval[chromedp.Void](bob, `(() => {
		window.__realFetch = window.fetch;
		window.__held = [];
		window.fetch = (input, init) => {
			const path = new URL(typeof input === "string" ? input : input.url, location.href).pathname;
			if (path !== "/api/rooms") return window.__realFetch(input, init);
			return new Promise((ok, fail) => window.__held.push(() => window.__realFetch(input, init).then(ok, fail)));
		};
	})()`)
	alice.typeMessage("/topic <b>plans</b> for today")
	alice.waitFor(waitShort, "topic shown", `document.getElementById("room-topic").textContent === "<b>plans</b> for today" && document.getElementById("composer-input").value === ""`)
	bob.waitFor(waitShort, "topic shown from the room event", `document.getElementById("room-topic").textContent === "<b>plans</b> for today"`)
	eval[chromedp.Void](bob, `(() => { window.fetch = window.__realFetch; window.__held.forEach((f) => f()); window.__held = []; })()`)
	bob.typeMessage("/me waves")
	alice.waitText("* bob waves")
	bob.typeMessage("//not a command")
	alice.waitText("/not a command")
	sameAsHistory(t, alice, carol, "general")
	sameAsHistory(t, bob, carol, "general")

	step("hostile text is shown as text and runs nothing")
	// First show that a dialog would be seen: the check must be able to fail.
	ctx, cancel := context.WithTimeout(alice.ctx, waitShort)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(() => alert("probe"), 0)`))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitShort, "the probe dialog recorded", func() bool { return alice.dialogCount() == 1 })
	// And that a CSP violation would be seen: an inline style attribute.
	alice.noViolations("before the probe")
	eval[chromedp.Void](alice, `document.body.setAttribute("style", "outline: 1px solid red")`)
	testenv.Eventually(t, waitShort, "the probe violation recorded", func() bool { return len(alice.violations()) == 1 })
	// The console shows the refusal too: the check of the console after
	// the first load could have failed.
	testenv.Eventually(t, waitShort, "the probe violation in the console", func() bool { return len(alice.consoleErrors()) > 0 })
	eval[chromedp.Void](alice, `document.body.removeAttribute("style"); window.__violations = []`)
	hostile := `<img src=x onerror=alert(1)> <script>alert(2);window.__pwned=1</script> <b>bold</b> &amp; <a href="javascript:alert(3)">x</a>`
	send(t, carol, "general", hostile)
	for _, s := range []*session{alice, bob} {
		s.waitText(hostile)
		counts := eval[map[string]int](s, `({
			img: document.querySelectorAll("#messages img").length,
			script: document.querySelectorAll("script").length,
			b: document.querySelectorAll("#messages b").length,
			a: document.querySelectorAll("#messages a").length,
			pwned: window.__pwned === undefined ? 0 : 1,
		})`)
		want := map[string]int{"img": 0, "script": 1, "b": 0, "a": 0, "pwned": 0} // the one script is app.js
		if !maps.Equal(counts, want) {
			t.Errorf("%s: after the hostile message: %v, want %v", s.name, counts, want)
		}
		s.noViolations("after the hostile message")
	}
	// alice's own send of the same text must also stay text (pending path).
	alice.typeMessage("<img src=y onerror=alert(4)>")
	bob.waitText("<img src=y onerror=alert(4)>")
	alice.waitText("<img src=y onerror=alert(4)>")
	if n := alice.dialogCount() + bob.dialogCount(); n != 1 {
		t.Errorf("dialogs opened: alice %q, bob %q; want only alice's probe", alice.dialogTexts(), bob.dialogTexts())
	}
	if n := eval[int](alice, `document.querySelectorAll("img").length`); n != 0 {
		t.Errorf("alice: %d img elements in the page", n)
	}

	// A right-to-left override in an action's text stays inside its own
	// isolated run: every element holding user text computes to isolate.
	ctx, cancel = context.WithTimeout(context.Background(), waitLong)
	if _, err := carol.Send(ctx, "general", chat.PostMessage{Text: "\u202eevil", Kind: chat.KindAction}); err != nil {
		t.Fatal(err)
	}
	cancel()
	alice.waitText("* carol \u202eevil")
	iso := eval[map[string]string](alice, `(() => {
		const li = [...document.querySelectorAll("#messages > li.action")].pop();
		const bidi = (el) => el ? getComputedStyle(el).unicodeBidi : "missing";
		return {
			author: bidi(li.querySelector(".author")), text: bidi(li.querySelector(".text")),
			nick: bidi(li.querySelector(".text .nick")), body: bidi(li.querySelector(".text .body")),
			topic: bidi(document.getElementById("room-topic")), online: bidi(document.querySelector("#presence-list li")),
		};
	})()`)
	for k, v := range iso {
		if v != "isolate" {
			t.Errorf("alice: unicode-bidi of the %s is %q, want isolate", k, v)
		}
	}

	step("a cross-origin POST with the session cookie is refused")
	aliceCookie := crossOrigin(t, alice, base, carol)

	step("create a room; older pages; the new-messages button; unread counts")
	alice.do(
		chromedp.SendKeys(chromedp.ID("create-room-name"), "busy"),
		chromedp.Click(chromedp.CSS(`#create-room-form button[type="submit"]`)),
	)
	alice.waitFor(waitShort, "busy opened", `location.hash === "#busy" && document.getElementById("room-name").textContent === "#busy"`)
	alice.waitConnected()
	bots := []*client.Client{carol, login(t, base, "dave"), login(t, base, "erin")}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i, c := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			defer cancel()
			for j := range 20 {
				if _, err := c.Send(ctx, "busy", chat.PostMessage{Text: fmt.Sprintf("bot %d message %d", i, j)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("bots posting: %v", err)
	}
	sameAsHistory(t, alice, carol, "busy") // live, while alice watched
	alice.do(chromedp.Reload())
	alice.waitConnected()
	alice.waitFor(waitShort, "newest page loaded", `document.querySelectorAll("#messages > li.msg").length >= 50`)
	if n := len(alice.messages()); n != 50 {
		t.Errorf("alice: after a reload %d messages shown, want the newest page of 50", n)
	}
	alice.waitFor(waitShort, "at the bottom", `(s => s.scrollHeight - s.scrollTop - s.clientHeight < 5)(document.getElementById("scroller"))`)
	eval[chromedp.Void](alice, `document.getElementById("scroller").scrollTop = 0`)
	alice.waitFor(waitShort, "older page loaded", `document.getElementById("history-state").textContent === "This is the beginning of #busy."`)
	sameAsHistory(t, alice, carol, "busy")
	// Scrolled up, a new message must not pull the view down.
	eval[chromedp.Void](alice, `document.getElementById("scroller").scrollTop = 0`)
	send(t, carol, "busy", "while alice reads old messages")
	alice.waitText("while alice reads old messages")
	alice.waitFor(waitShort, "new-messages button shown", `!document.getElementById("new-messages").hidden`)
	alice.screenshot(shots, "new-messages-1280")
	if top := eval[float64](alice, `document.getElementById("scroller").scrollTop`); top > 100 {
		t.Errorf("alice: the view moved to scrollTop %v while she read old messages", top)
	}
	alice.do(chromedp.Click(chromedp.ID("new-messages")))
	alice.waitFor(waitShort, "at the bottom after the button", `(s => s.scrollHeight - s.scrollTop - s.clientHeight < 5)(document.getElementById("scroller")) && document.getElementById("new-messages").hidden`)
	send(t, carol, "busy", "while alice is at the bottom")
	alice.waitText("while alice is at the bottom")
	alice.waitFor(waitShort, "still at the bottom, no button", `(s => s.scrollHeight - s.scrollTop - s.clientHeight < 5)(document.getElementById("scroller")) && document.getElementById("new-messages").hidden`)
	// bob stayed in general: the room list counts busy's messages.
	bob.waitFor(waitLong, "busy's unread count", `(a => a && a.querySelector(".badge") && a.querySelector(".badge").firstChild.textContent === "62")(document.querySelector('#room-list a[data-room="busy"]'))`)

	bob.do(chromedp.Click(chromedp.ID("rooms-toggle")), chromedp.Click(chromedp.CSS(`#room-list a[data-room="busy"]`)))
	bob.waitFor(waitShort, "busy opened from the drawer", `document.getElementById("room-name").textContent === "#busy" &&
		!document.getElementById("sidebar").classList.contains("open") &&
		document.getElementById("conn-state").dataset.state === "connected" &&
		document.querySelectorAll("#messages > li.msg").length === 50 &&
		!document.querySelector('#room-list a[data-room="busy"] .badge') &&
		document.getElementById("rooms-toggle-unread").hidden`)
	bob.do(chromedp.Click(chromedp.ID("rooms-toggle")), chromedp.Click(chromedp.CSS(`#room-list a[data-room="general"]`)))
	bob.waitFor(waitShort, "back in general", `document.getElementById("room-name").textContent === "#general" &&
		document.getElementById("conn-state").dataset.state === "connected"`)
	sameAsHistory(t, bob, carol, "general")

	step("sending too fast waits for the server's time to retry and delivers each once, in order")
	eval[chromedp.Void](alice, `(() => {
		const input = document.getElementById("composer-input");
		const form = document.getElementById("composer");
		for (let i = 0; i < 30; i++) { input.value = "burst " + i; form.requestSubmit(); }
	})()`)
	// Nothing is clicked: a refused send says when it goes again, and the
	// outbox sends it then, with the lines behind it.
	sawLimit := false
	testenv.Eventually(t, waitLong, "alice: every burst message delivered", func() bool {
		r := eval[map[string]int](alice, `(() => {
			const lines = [...document.querySelectorAll("#pending > li")];
			const limited = lines.filter(li => /^Sending too fast: sending again in (\d+ seconds|a second)\.$/.test(li.querySelector(".status").textContent));
			return {pending: lines.length, limited: limited.length, failed: document.querySelectorAll("#pending > li.failed").length};
		})()`)
		if r["failed"] > 0 {
			t.Fatalf("alice: a burst line was marked failed")
		}
		if r["limited"] > 0 && !sawLimit {
			alice.screenshot(shots, "rate-limited-1280")
		}
		sawLimit = sawLimit || r["limited"] > 0
		return r["pending"] == 0
	})
	if !sawLimit {
		t.Errorf("alice: no send of a burst of 30 was refused as too fast (the default limit is 5/s with a burst of 20), so the page's 429 path went untested")
	}
	var burst []string
	for _, m := range history(t, carol, "busy") {
		if m.Nick == "alice" {
			burst = append(burst, m.Text)
		}
	}
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprintf("burst %d", i))
	}
	if !slices.Equal(burst, want) {
		t.Errorf("alice's burst stored %q, want each of 30 once, in the order typed", burst)
	}
	sameAsHistory(t, alice, carol, "busy")

	step("screenshots")
	alice.do(chromedp.Navigate(base + "/#general"))
	alice.waitFor(waitShort, "general open with its people", `document.getElementById("room-name").textContent === "#general" &&
		document.getElementById("conn-state").dataset.state === "connected" &&
		document.querySelectorAll("#presence-list li").length === 2`)
	alice.screenshot(shots, "chat-1280")
	bob.screenshot(shots, "chat-360")
	bob.do(chromedp.Click(chromedp.ID("rooms-toggle")))
	bob.waitFor(waitShort, "drawer open", `document.getElementById("sidebar").classList.contains("open")`)
	bob.screenshot(shots, "rooms-drawer-360")
	bob.do(chromedp.KeyEvent(kb.Escape))
	bob.waitFor(waitShort, "drawer closed by Escape", `!document.getElementById("sidebar").classList.contains("open") && document.activeElement.id === "rooms-toggle"`)
	step("every control is reachable by Tab, with a visible focus ring")
	eval[chromedp.Void](alice, `document.activeElement && document.activeElement.blur()`)
	reached := map[string]string{}
	for range 14 {
		alice.do(chromedp.KeyEvent("\t"))
		f := eval[map[string]string](alice, `(e => ({
			name: e.id || (e.dataset && e.dataset.room ? "room:" + e.dataset.room : e.tagName),
			outline: getComputedStyle(e).outlineStyle + " " + getComputedStyle(e).outlineWidth,
		}))(document.activeElement)`)
		reached[f["name"]] = f["outline"]
	}
	for _, want := range []string{"logout", "room:general", "room:busy", "create-room-name", "scroller", "composer-input", "send"} {
		o, ok := reached[want]
		if !ok {
			t.Errorf("alice: Tab never reached %s (reached %v)", want, reached)
		} else if strings.HasPrefix(o, "none") || strings.HasSuffix(o, " 0px") {
			t.Errorf("alice: %s has no visible focus ring (outline %s)", want, o)
		}
	}
	setDark(t, alice, true)
	alice.screenshot(shots, "chat-1280-dark")
	setDark(t, alice, false)

	step("the server restarts; the pages resume with nothing lost or doubled")
	// bob's tab cannot reach the event stream while the server is away, and
	// the server comes back replaying at most 2 messages: bob, 4 behind, must
	// get a reset and reload. alice resumes (or resets) as her timing falls.
	eventsPattern := []*network.BlockPattern{{URLPattern: base + "/api/rooms/*/events*", Block: true}}
	block := func(p []*network.BlockPattern) {
		ctx, cancel := context.WithTimeout(bob.ctx, waitShort)
		defer cancel()
		if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: p}); err != nil {
			t.Fatal(err)
		}
	}
	block(eventsPattern)
	srv.stop()
	alice.waitFor(waitLong, "disconnected", `document.getElementById("conn-state").dataset.state !== "connected"`)
	alice.typeMessage("sent while the server was down")
	alice.waitFor(waitLong, "the send waits for the server", `(li => li && !li.classList.contains("failed") && li.querySelector(".status").textContent === "waiting for the server…")(document.querySelector("#pending > li"))`)
	alice.screenshot(shots, "offline-waiting-1280")
	bob.waitFor(waitLong, "disconnected", `document.getElementById("conn-state").dataset.state !== "connected"`)
	bob.screenshot(shots, "offline-360")
	srv.args = []string{"--replay-max", "2"}
	srv.start()
	for i := range 4 {
		send(t, carol, "general", fmt.Sprintf("after restart %d", i))
	}
	alice.waitConnected()
	if st := eval[string](bob, `document.getElementById("conn-state").dataset.state`); st == "connected" {
		t.Fatalf("bob: connected although his event requests are blocked")
	}
	reloads := bob.requests("/api/rooms/general/messages?limit=50")
	block(nil)
	bob.waitConnected()
	bob.waitText("sent while the server was down")
	send(t, carol, "general", "after everyone is back")
	bob.waitText("after everyone is back")
	sameAsHistory(t, alice, carol, "general")
	sameAsHistory(t, bob, carol, "general")
	if n := bob.requests("/api/rooms/general/messages?limit=50"); n != reloads+1 {
		t.Errorf("bob: %d history reloads after the reset, want 1", n-reloads)
	}
	if n := alice.dialogCount() + bob.dialogCount(); n != 1 {
		t.Errorf("dialogs opened: alice %q, bob %q; want only alice's probe", alice.dialogTexts(), bob.dialogTexts())
	}

	alice.noViolations("by the end")
	bob.noViolations("by the end")
	for _, s := range []*session{alice, bob} {
		if e := s.exceptions(); len(e) != 0 {
			t.Errorf("%s: uncaught exceptions: %q", s.name, e)
		}
	}

	step("logout ends the session")
	alice.do(chromedp.Click(chromedp.ID("logout")))
	alice.waitFor(waitShort, "login form after logout", `!document.getElementById("login-view").hidden && document.getElementById("chat-view").hidden`)
	alice.do(chromedp.Reload())
	alice.waitFor(waitShort, "still logged out after a reload", `!document.getElementById("login-view").hidden`)
	req, err := http.NewRequest(http.MethodGet, base+"/api/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", aliceCookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/me with alice's cookie after logout: status %d, want 401", resp.StatusCode)
	}
}

func setDark(t *testing.T, s *session, dark bool) {
	t.Helper()
	v := "light"
	if dark {
		v = "dark"
	}
	ctx, cancel := context.WithTimeout(s.ctx, waitShort)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}},
	}); err != nil {
		t.Fatal(err)
	}
}

// crossOrigin shows the server refuses a cookie-authenticated POST whose
// Origin is not its own: sent from Go with alice's real cookie (where the
// status can be read), and from a page on another origin in alice's
// browser (where only the absence of the message can be seen).
func crossOrigin(t *testing.T, alice *session, base string, reader *client.Client) (cookie string) {
	ctx, cancel := context.WithTimeout(alice.ctx, waitShort)
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "chat_session" {
			cookie = c.Name + "=" + c.Value
			if !c.HTTPOnly {
				t.Errorf("the session cookie is not HttpOnly")
			}
		}
	}
	if cookie == "" {
		t.Fatalf("alice's browser holds no chat_session cookie for %s", base)
	}
	post := func(origin, text string) (int, string) {
		body := strings.NewReader(`{"text":` + js(text) + `}`)
		req, err := http.NewRequest(http.MethodPost, base+"/api/rooms/general/messages", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", cookie)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e chat.ErrorBody
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error.Code
	}
	for _, origin := range []string{"http://evil.example", "null", ""} {
		if st, code := post(origin, "forged from "+origin); st != http.StatusForbidden {
			t.Errorf("POST with alice's cookie and Origin %q: status %d (%s), want 403", origin, st, code)
		} else if code != "cross_origin" {
			t.Errorf("POST with Origin %q: code %q, want cross_origin", origin, code)
		}
	}
	// The control: the same cookie from the server's own origin works, so
	// the refusals above are the Origin check's doing.
	if st, code := post(base, "posted with the right origin"); st != http.StatusCreated {
		t.Fatalf("POST with alice's cookie and her own Origin: status %d (%s), want 201", st, code)
	}

	// A page on another origin (another port of 127.0.0.1: same site, so the
	// SameSite=Strict cookie goes along) tries it the way an attacker could.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title><script>
			window.__done = Promise.allSettled([
				fetch(%[1]s + "/api/rooms/general/messages", {method: "POST", mode: "no-cors", credentials: "include",
					headers: {"Content-Type": "text/plain"}, body: JSON.stringify({text: "csrf via fetch"})}),
				fetch(%[1]s + "/api/rooms/general/messages", {method: "POST", credentials: "include",
					headers: {"Content-Type": "application/json"}, body: JSON.stringify({text: "csrf via cors"})}),
			]).then(() => true);
			</script>`, js(base))
	}))
	defer evil.Close()
	tab, cancelTab := chromedp.NewContext(alice.ctx) // same browser context: alice's cookies
	defer cancelTab()
	tctx, cancel := context.WithTimeout(tab, waitShort)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`window.__done`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	for _, m := range history(t, reader, "general") {
		if strings.HasPrefix(m.Text, "csrf") || strings.HasPrefix(m.Text, "forged") {
			t.Errorf("a cross-origin request was stored: %+v", m)
		}
	}
	return cookie
}
