package server_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// rawRequest sends raw bytes on a new connection to addr and reads one
// answer. It returns the status, or 0 when the server closed the connection
// without answering; when nothing happened within limit it marks the test
// failed and returns -1. It may be called from any goroutine.
func rawRequest(t *testing.T, addr, raw string, limit time.Duration) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return -1
	}
	defer c.Close()
	return rawExchange(t, c, raw, limit)
}

func rawExchange(t *testing.T, c net.Conn, raw string, limit time.Duration) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(limit))
	if _, err := io.WriteString(c, raw); err != nil {
		return 0 // refused at accept: closed before the request was written
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("no answer and no close within %v to %q", limit, firstLine(raw))
		return -1
	case err != nil:
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func firstLine(raw string) string {
	line, _, _ := strings.Cut(raw, "\r\n")
	return line
}

// TestSilentBodiesAreAnswered: requests that announce a body (a length or
// chunked) and never send it are each answered, or their connection closed,
// once BodyTimeout has passed, whatever the handler does with the body; their
// connections do not keep the server full (issue 19, item 2).
func TestSilentBodiesAreAnswered(t *testing.T) {
	const conns = 60
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.BodyTimeout = 300 * time.Millisecond
		c.Limits.MaxConns = conns
	}))
	tok := srv.Login(t, "quiet")
	srv.Client.CloseIdleConnections()

	auth := "Authorization: Bearer " + tok + "\r\n"
	requests := []string{
		"POST /api/rooms/general/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n", // 401, never reads
		"GET /healthz HTTP/1.1\r\nHost: x\r\n",
		"GET /api/nowhere HTTP/1.1\r\nHost: x\r\n",
		"POST /api/rooms/general/typing HTTP/1.1\r\nHost: x\r\n" + auth, // never reads its body
		"POST /api/rooms/general/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth,
		"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
		"GET /api/rooms/general/messages HTTP/1.1\r\nHost: x\r\n" + auth,
		"PUT /api/rooms/quiet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth,
		"GET / HTTP/1.1\r\nHost: x\r\n",
	}
	framings := []string{"Content-Length: 100\r\n\r\n", "Content-Length: 100\r\n\r\n{\"te", "Transfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"te"}

	var wg sync.WaitGroup
	for i := range conns {
		raw := requests[i%len(requests)] + framings[(i/len(requests))%len(framings)]
		wg.Go(func() { rawRequest(t, srv.Addr, raw, 10*time.Second) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every silent connection has been answered or closed: the server takes
	// new ones again.
	testenv.Eventually(t, 10*time.Second, "a new connection to be served", func() bool {
		return rawRequest(t, srv.Addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second) == http.StatusOK
	})
	if p := srv.History(t, tok, chat.DefaultRoom, nil); len(p.Messages) != 0 {
		t.Fatalf("bodies that never came stored %d messages", len(p.Messages))
	}
}

// TestBodyDeadlineSparesPromptBodies: a body that arrives in time is read,
// answered and the connection kept for the next request, even when the
// handler ignored the body, and an answer that needs its whole time to be
// worked out is not cut by the body's deadline.
func TestBodyDeadlineSparesPromptBodies(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.BodyTimeout = 300 * time.Millisecond }))
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	exchange := func(raw string) int {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", firstLine(raw), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// The body comes after the deadline would have expired had it been
	// set per connection rather than per body: the keep-alive connection
	// serves request after request.
	for range 3 {
		if got := exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); got != http.StatusOK {
			t.Fatalf("healthz with a body: %d", got)
		}
		time.Sleep(200 * time.Millisecond) // longer than half the body timeout, twice over
	}
	body := `{"nick":"prompt","password":"` + servertest.Password("prompt") + `"}`
	if got := exchange(fmt.Sprintf("POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)); got != http.StatusCreated && got != http.StatusOK {
		t.Fatalf("login on the kept connection: %d", got)
	}
}

// TestConnsPerAddr: connections from one address beyond ConnsPerAddr are
// closed at accept; once the silent ones close, a new one gets in.
func TestConnsPerAddr(t *testing.T) {
	cfg := servertest.Config()
	cfg.Limits.Enabled = true
	cfg.Limits.ConnsPerAddr = 3
	_, addr := startServer(t, cfg)
	var silent []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
	}
	// The three are accepted; the fourth is closed. Ask on one of the
	// three that it was served, which also shows the cap has counted them.
	if got := rawExchange(t, silent[0], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); got != http.StatusOK {
		t.Fatalf("a connection under the cap: %d", got)
	}
	testenv.Eventually(t, 10*time.Second, "all three counted", func() bool {
		return rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second) == 0
	})
	for _, c := range silent {
		c.Close()
	}
	testenv.Eventually(t, 10*time.Second, "a place after the silent ones closed", func() bool {
		return rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second) == http.StatusOK
	})
}

// TestConnsPerAddrSparesTrustedProxies: a trusted proxy carries many
// clients on its connections; the per-address cap does not count it.
func TestConnsPerAddrSparesTrustedProxies(t *testing.T) {
	cfg := servertest.Config()
	cfg.Limits.Enabled = true
	cfg.Limits.ConnsPerAddr = 2
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	_, addr := startServer(t, cfg)
	for range 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := rawExchange(t, c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 10*time.Second); got != http.StatusOK {
			t.Fatalf("a connection from the trusted proxy: %d", got)
		}
	}
}

// TestHeaderLimit: the header block may hold MaxHeaderBytes (16 KiB by
// default), as documented, and not the 4 KiB more net/http allows on its
// own (issue 19, item 10).
func TestHeaderLimit(t *testing.T) {
	srv := servertest.Start(t)
	limit := server.DefaultConfig().MaxHeaderBytes
	if limit != 16<<10 {
		t.Fatalf("default MaxHeaderBytes %d; the docs say 16 KiB", limit)
	}
	request := func(size int) string {
		head := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: "
		pad := size - len(head) - len("\r\n\r\n")
		return head + strings.Repeat("x", pad) + "\r\n\r\n"
	}
	if got := rawRequest(t, srv.Addr, request(limit-512), 10*time.Second); got != http.StatusOK {
		t.Fatalf("a header block of 16 KiB less 512 bytes: %d, want 200", got)
	}
	if got := rawRequest(t, srv.Addr, request(limit+1024), 10*time.Second); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a header block of 17 KiB: %d, want 431", got)
	}
}

// TestJSONKeysExact: a key matches a field only as its json tag spells it,
// and a key given twice is refused, on every endpoint that reads a body;
// nothing of such a body is stored (issue 19, item 6).
func TestJSONKeysExact(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "exact")
	cases := []struct {
		method, path, token, body string
		status                    int
		code                      string
	}{
		{"POST", "/api/rooms/general/messages", tok, `{"text":"lower","TEXT":"upper"}`, 400, "unknown_field"},
		{"POST", "/api/rooms/general/messages", tok, `{"Text":"upper"}`, 400, "unknown_field"},
		{"POST", "/api/rooms/general/messages", tok, `{"text":"first","text":"second"}`, 400, "duplicate_field"},
		{"POST", "/api/rooms/general/messages", tok, `{"text":"first","t\u0065xt":"second"}`, 400, "duplicate_field"},
		{"POST", "/api/rooms/general/messages", tok, `{"text":"x","client_id":"a","CLIENT_ID":"b"}`, 400, "unknown_field"},
		{"PUT", "/api/rooms/exact", tok, `{"topic":"one","topic":"two"}`, 400, "duplicate_field"},
		{"PUT", "/api/rooms/exact", tok, `{"Topic":"one"}`, 400, "unknown_field"},
		{"POST", "/api/session", "", `{"nick":"other","NICK":"exact","password":"` + servertest.Password("other") + `"}`, 400, "unknown_field"},
		{"POST", "/api/session", "", `{"nick":"other","nick":"exact","password":"` + servertest.Password("other") + `"}`, 400, "duplicate_field"},
	}
	for _, c := range cases {
		resp := srv.Do(t, c.method, c.path, c.token, c.body)
		if resp.Status != c.status || resp.Error().Code != c.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", c.method, c.path, c.body, resp.Status, resp.Body, c.status, c.code)
		}
	}
	if p := srv.History(t, tok, chat.DefaultRoom, nil); len(p.Messages) != 0 {
		t.Fatalf("refused bodies stored %d messages: %+v", len(p.Messages), p.Messages)
	}
	if resp := srv.Do(t, "GET", "/api/rooms/exact/members", tok, nil); resp.Status != http.StatusNotFound {
		t.Fatalf("a refused PUT created the room: %d", resp.Status)
	}
	// Exact keys still work, in any order, with white space and escapes.
	m := srv.PostMessage(t, tok, chat.DefaultRoom, chat.PostMessage{Text: "fine", ClientID: "c-1"})
	if m.Text != "fine" {
		t.Fatalf("stored %+v", m)
	}
	resp := srv.Do(t, "POST", "/api/rooms/general/messages", tok, (" {\"client_id\" : \"c-2\",\n \"t\\u0065xt\":\"escaped\"} "))
	if resp.Status != http.StatusCreated {
		t.Fatalf("an escaped exact key: %d %s", resp.Status, resp.Body)
	}
}

// TestSmugglingRefused: a request with both Content-Length and
// Transfer-Encoding is answered 400 bad_framing and its connection closed,
// so a request hidden after its chunked body never runs (issue 19, item 7).
// A well-framed pipeline before it on the same connection is served.
func TestSmugglingRefused(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "smuggler")
	auth := "Authorization: Bearer " + tok + "\r\n"
	post := func(text, framing string) string {
		body := `{"text":"` + text + `"}`
		head := "POST /api/rooms/general/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth
		switch framing {
		case "length":
			return head + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
		case "chunked":
			return head + fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		}
		// Both: the length covers the chunked body and what follows it,
		// as a proxy framing by length would forward it.
		chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		return head + fmt.Sprintf(framing, len(chunked)+len(smuggled(auth))) + chunked
	}
	cases := []struct {
		name     string
		before   []int // statuses of well-framed requests ahead of it
		pipeline string
	}{
		{"length then chunked", nil, post("refused", "Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n")},
		{"chunked then length, odd case", nil, post("refused", "transfer-encoding: Chunked\r\nCONTENT-LENGTH: %d\r\n\r\n")},
		{"after a well-framed pipeline", []int{201, 201, 200},
			post("one", "chunked") + post("two", "length") + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
				post("refused", "Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, c.pipeline+smuggled(auth)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			for i, want := range c.before {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("well-framed request %d: %d, want %d", i, resp.StatusCode, want)
				}
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("the ambiguous request: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"bad_framing"`) {
				t.Fatalf("the ambiguous request: %d %s, want 400 bad_framing", resp.StatusCode, b)
			}
			if next, err := http.ReadResponse(br, nil); err == nil {
				t.Fatalf("the connection stayed open: the smuggled request was answered %d", next.StatusCode)
			}
		})
	}
	for _, m := range srv.History(t, tok, chat.DefaultRoom, nil).Messages {
		if m.Text != "one" && m.Text != "two" {
			t.Errorf("stored %q", m.Text)
		}
	}
	if resp := srv.Do(t, "GET", "/api/rooms/smuggled/members", tok, nil); resp.Status != http.StatusNotFound {
		t.Fatalf("the smuggled request ran: room smuggled answers %d", resp.Status)
	}
}

// smuggled is the request hidden after an ambiguous one: it would create a
// room.
func smuggled(auth string) string {
	return "PUT /api/rooms/smuggled HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"
}

// TestChunkedOverTLSHTTP1Closes: over TLS the framing guard cannot read the
// heads, so an HTTP/1 connection ends after any chunked request (RFC 9112's
// rule for a request with both framings that is processed): nothing can
// follow one on its connection.
func TestChunkedOverTLSHTTP1Closes(t *testing.T) {
	addr, tlsCfg := startTLSServer(t)
	c, err := tls.Dial("tcp", addr, tlsCfg) // no ALPN: HTTP/1.1
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for i, wantClose := range []bool{false, true} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close != wantClose {
			t.Fatalf("answer %d: %d, Connection: close %v; want 200, %v", i, resp.StatusCode, resp.Close, wantClose)
		}
	}
	if resp, err := http.ReadResponse(br, nil); err == nil {
		t.Fatalf("a request after the chunked one was answered %d", resp.StatusCode)
	}
}
