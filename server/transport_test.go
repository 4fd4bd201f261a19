package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// startServer runs a server.Server over a fresh SQLite store on 127.0.0.1
// and returns its address; cleanup shuts it down.
func startServer(t *testing.T, cfg server.Config) (*server.Server, string) {
	t.Helper()
	st, err := servertest.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	return srv, ln.Addr().String()
}

// startTLSServer starts a server with the default test config serving TLS
// on a fresh certificate, and returns its address and a client config that
// trusts that certificate.
func startTLSServer(t *testing.T) (string, *tls.Config) {
	t.Helper()
	files := testenv.NewTLSFiles(t, t.TempDir())
	tlsCfg, err := files.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg := servertest.Config()
	cfg.TLSCertFile, cfg.TLSKeyFile = files.Cert, files.Key
	_, addr := startServer(t, cfg)
	return addr, tlsCfg
}

func TestTLSServesHTTP2AndSecureCookie(t *testing.T) {
	addr, tlsCfg := startTLSServer(t)
	base := "https://" + addr
	tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	// Plain HTTP on the TLS port gets nowhere near the API.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered 200 on the TLS port")
		}
	}

	body := `{"nick":"alice","password":"` + servertest.Password("alice") + `"}`
	req, _ := http.NewRequest(http.MethodPost, base+"/api/session", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("login over TLS: %d %s", resp.StatusCode, b)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("served %s; want HTTP/2", resp.Proto)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == server.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v; want Secure, HttpOnly, SameSite=Strict", cookie)
	}
	var info chat.SessionInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}

	// A stream over HTTP/2 delivers a message posted by cookie from the
	// server's own https origin; the http origin is another origin.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := servertest.Open(ctx, client, base+"/api/rooms/general/events", info.Token, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ev, err := st.Next(10 * time.Second); err != nil || ev.Event != chat.EventWelcome {
		t.Fatalf("welcome over HTTP/2: %+v %v", ev, err)
	}
	post := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/rooms/general/messages", strings.NewReader(`{"text":"over h2"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		req.AddCookie(&http.Cookie{Name: server.CookieName, Value: cookie.Value})
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := post("http://" + addr); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cookie POST from the http origin: %d; want 403", r.StatusCode)
	}
	if r := post(base); r.StatusCode != http.StatusCreated {
		t.Fatalf("cookie POST from the server's own origin: %d; want 201", r.StatusCode)
	}
	for {
		ev, err := st.Next(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for the message over HTTP/2: %v", err)
		}
		if ev.Event == chat.EventMessage {
			break
		}
	}
}

func TestTLSConfigNeedsBothFiles(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.TLSCertFile = "cert.pem"
	if err := cfg.Validate(); err == nil {
		t.Fatal("a certificate without a key was accepted")
	}
	cfg = servertest.Config()
	cfg.TLSCertFile, cfg.TLSKeyFile = filepath.Join(t.TempDir(), "missing.pem"), "missing.key"
	st, err := servertest.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := server.New(cfg, st, nil); err == nil {
		t.Fatal("New accepted certificate files that do not exist")
	}
}

func TestForwardedProtoOnlyFromTrustedProxy(t *testing.T) {
	secureCookie := func(srv *servertest.Server) bool {
		r := srv.Do(t, http.MethodPost, "/api/session", "", chat.Credentials{Nick: "alice", Password: servertest.Password("alice")},
			"X-Forwarded-Proto", "https")
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == server.CookieName {
				return c.Secure
			}
		}
		t.Fatal("no session cookie")
		return false
	}
	plain := servertest.Start(t)
	if secureCookie(plain) {
		t.Fatal("X-Forwarded-Proto from an untrusted peer made the cookie Secure")
	}
	proxied := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}))
	if !secureCookie(proxied) {
		t.Fatal("X-Forwarded-Proto: https from the trusted proxy did not make the cookie Secure")
	}
}

func TestMaxConns(t *testing.T) {
	cfg := servertest.Config()
	cfg.Limits.MaxConns = 2
	_, addr := startServer(t, cfg)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// health asks /healthz on c and reports whether it answered 200.
	health := func(c net.Conn) bool {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	c1, c2 := dial(), dial()
	if !health(c1) || !health(c2) {
		t.Fatal("connections under the cap were not served")
	}
	if health(dial()) {
		t.Fatal("a third connection was served with MaxConns 2")
	}
	c1.Close()
	testenv.Eventually(t, 10*time.Second, "a place after a connection closed", func() bool {
		return health(dial())
	})
}

// TestTimeoutsSpareLiveStreams: ReadHeaderTimeout and IdleTimeout far
// shorter than the stream's silence do not cut it, while an idle keep-alive
// connection is closed.
func TestTimeoutsSpareLiveStreams(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.ReadHeaderTimeout = 100 * time.Millisecond
		c.IdleTimeout = 100 * time.Millisecond
		c.BodyTimeout = 100 * time.Millisecond
		c.Heartbeat = time.Hour // nothing is written while the stream waits
	}))
	tok := srv.Login(t, "alice")
	st := srv.MustSubscribe(t, tok, chat.DefaultRoom, "")
	if ev, err := st.Next(10 * time.Second); err != nil || ev.Event != chat.EventWelcome {
		t.Fatalf("welcome: %+v %v", ev, err)
	}

	// An idle keep-alive connection is closed after IdleTimeout.
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the idle connection got bytes instead of being closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the idle connection was not closed within 10 s (IdleTimeout 100 ms)")
	}

	// Let the stream stay silent for many times every timeout (this wait is
	// the point of the test, not a synchronisation).
	time.Sleep(500 * time.Millisecond)
	srv.Post(t, tok, chat.DefaultRoom, "still there?")
	for {
		ev, err := st.Next(10 * time.Second)
		if err != nil {
			t.Fatalf("the silent stream was cut: %v", err)
		}
		if ev.Event == chat.EventMessage {
			return
		}
	}
}

// TestBinaryServesTLS: the chat-server binary with --tls-cert and --tls-key
// (given as CHAT_* variables) answers HTTPS with HTTP/2 and a Secure cookie,
// and keeps its default limits on (a wrong password counts).
func TestBinaryServesTLS(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	dir := t.TempDir()
	files := testenv.NewTLSFiles(t, dir)
	tlsCfg, err := files.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	srv := testenv.StartProcess(t, bin, []string{"--addr", addr, "--data", filepath.Join(dir, "data"), "--log-level", "warn",
		"--password-memory", "64", "--password-passes", "1"},
		testenv.Env("CHAT_TLS_CERT="+files.Cert, "CHAT_TLS_KEY="+files.Key, "CHAT_REGISTRATION=open",
			"CHAT_RATE_LIMITS=true", "CHAT_LOGIN_FAILURES=1"))
	t.Cleanup(func() { srv.Stop(20 * time.Second) })
	tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "https://" + addr
	testenv.Eventually(t, 30*time.Second, "the binary to answer over HTTPS", func() bool {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	login := func(password string) *http.Response {
		resp, err := client.Post(base+"/api/session", "application/json",
			strings.NewReader(`{"nick":"alice","password":"`+password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := login("right password")
	if resp.StatusCode != http.StatusCreated || resp.ProtoMajor != 2 {
		t.Fatalf("login: %d over %s; want 201 over HTTP/2\n%s", resp.StatusCode, resp.Proto, srv.Output())
	}
	if len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Fatalf("cookies %v; want one Secure session cookie", resp.Cookies())
	}
	if r := login("wrong password"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	if r := login("right password"); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after 1 failure with CHAT_LOGIN_FAILURES=1: %d, Retry-After %q; want 429 with Retry-After",
			r.StatusCode, r.Header.Get("Retry-After"))
	}
}
