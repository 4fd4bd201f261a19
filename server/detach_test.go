package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// openRaw opens a stream on a bare TCP connection, with the receive buffer
// given (0: the kernel's default), and returns the connection and the
// parsed response.
func openRaw(t *testing.T, srv *servertest.Server, token string, rcvBuf int) (net.Conn, *http.Response) {
	t.Helper()
	d := net.Dialer{}
	if rcvBuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf) })
		}
	}
	c, err := d.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /api/rooms/general/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n", srv.Addr, token)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

// TestStreamsLeaveNetHTTP: over HTTP/1.1 a stream is written on the bare
// connection (detached from net/http, which would keep about 10 KB of
// buffers and a goroutine per idle stream): no chunked framing, the body
// runs to the end of the connection, and the client's leaving still ends
// the stream at once.
func TestStreamsLeaveNetHTTP(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "raw")
	c, resp := openRaw(t, srv, tok, 0)
	if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) != 0 || !resp.Close || resp.ContentLength != -1 {
		t.Fatalf("status %d, transfer-encoding %v, close %v, length %d; want 200 without framing, closed at the end",
			resp.StatusCode, resp.TransferEncoding, resp.Close, resp.ContentLength)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	srv.Post(t, tok, chat.DefaultRoom, "over the bare connection")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, "over the bare connection") {
			break
		}
	}
	testenv.Eventually(t, wait, "one open stream", func() bool { return srv.Server.Stats().StreamsOpen == 1 })
	c.Close()
	testenv.Eventually(t, wait, "the stream to end when its client left", func() bool { return srv.Server.Stats().StreamsOpen == 0 })
}

// TestShutdownCutsAStalledStream: a client that stopped reading cannot hold
// Shutdown up for the write timeout (an hour here).
func TestShutdownCutsAStalledStream(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.WriteTimeout = time.Hour
		c.Limits.Enabled = false
	}))
	tok := srv.Login(t, "stall")
	_, resp := openRaw(t, srv, tok, 4096)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// 8 MB of messages, far more than the socket buffers hold: the stream's
	// writer blocks.
	text := strings.Repeat("x", 4000)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				srv.Post(t, tok, chat.DefaultRoom, text)
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Server.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a stalled stream: %v", err)
	}
}
