package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// TestSlowBody: a body that does not arrive within BodyTimeout is answered
// 408 and stores nothing.
func TestSlowBody(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.BodyTimeout = 200 * time.Millisecond }))
	tok := srv.Login(t, "sloth")
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/rooms/general/messages HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\":", srv.Addr, tok)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow body: %d, want 408", resp.StatusCode)
	}
	if p := srv.History(t, tok, "general", nil); len(p.Messages) != 0 {
		t.Fatal("a message with a body that never came was stored")
	}
}

// TestStreamCap: streams beyond MaxStreams are refused with 503 and
// Retry-After; a closed stream frees its place.
func TestStreamCap(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.Limits.MaxStreams = 2 }))
	tok := srv.Login(t, "cap")
	a := srv.MustSubscribe(t, tok, "general", "")
	srv.MustSubscribe(t, tok, "general", "")
	_, err := srv.Subscribe(context.Background(), tok, "general", "")
	var se *servertest.StatusError
	if !errors.As(err, &se) || se.Status != 503 || se.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %v, want 503 with Retry-After", err)
	}
	a.Close()
	testenv.Eventually(t, wait, "a place to free up", func() bool {
		st, err := srv.Subscribe(context.Background(), tok, "general", "")
		if err != nil {
			return false
		}
		st.Close()
		return true
	})
}

// TestStalledStreamTimesOut: a client that reads nothing is disconnected
// after WriteTimeout even when its queue never fills, and the others go on.
func TestStalledStreamTimesOut(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.WriteTimeout = 300 * time.Millisecond }))
	tok := srv.Login(t, "stall")
	// A raw connection with a small receive buffer that sends the request
	// and then never reads.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /api/rooms/general/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", srv.Addr, tok)
	healthy := srv.MustSubscribe(t, tok, "general", "")
	nextOf(t, healthy, chat.EventWelcome)

	text := strings.Repeat("\U0001D11E", 4000) // 16 000 bytes
	testenv.Eventually(t, 30*time.Second, "the stalled stream to time out", func() bool {
		for range 20 {
			srv.Post(t, tok, "general", text)
			if _, err := healthy.Next(wait); err != nil {
				t.Fatalf("the healthy stream: %v", err)
			}
		}
		return srv.Server.Stats().WriteFailed >= 1
	})
	if s := srv.Server.Stats(); s.Evicted != 0 {
		t.Fatalf("evicted %d: the queue (4096) should not have filled", s.Evicted)
	}
}
