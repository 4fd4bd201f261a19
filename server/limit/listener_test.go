package limit

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/internal/testenv"
)

// echoServer accepts from ln and echoes each connection until it closes.
func echoServer(t *testing.T, ln net.Listener) {
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	})
}

// roundTrip writes a byte and reports whether it comes back.
func roundTrip(t *testing.T, c net.Conn) error {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{'x'}); err != nil {
		return err
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err
}

func TestListenerCapsOpenConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raw2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	refusals := 0
	ln := NewConnCap(2, func() { mu.Lock(); refusals++; mu.Unlock() })
	echoServer(t, ln.Listener(raw))
	echoServer(t, ln.Listener(raw2)) // one cap over two listeners
	addr, addr2 := raw.Addr().String(), raw2.Addr().String()

	var conns []net.Conn
	for _, a := range []string{addr, addr2} {
		c, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := roundTrip(t, c); err != nil {
			t.Fatalf("connection under the cap: %v", err)
		}
		conns = append(conns, c)
	}
	if ln.Open() != 2 {
		t.Fatalf("Open = %d, want 2", ln.Open())
	}

	third, err := net.Dial("tcp", addr2)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if err := roundTrip(t, third); err == nil {
		t.Fatal("a third connection was served with a cap of 2")
	} else if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		t.Fatalf("the refused connection was left hanging: %v", err)
	}
	mu.Lock()
	got := refusals
	mu.Unlock()
	if got != 1 || ln.Refused() != 1 {
		t.Fatalf("refusals reported %d, counted %d; want 1", got, ln.Refused())
	}

	// Closing one makes room (the server side closes when the echo ends).
	conns[0].Close()
	testenv.Eventually(t, 5*time.Second, "the count to drop to 1 after a client left", func() bool {
		return ln.Open() == 1
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(t, c); err != nil {
		t.Fatalf("a connection after one closed: %v", err)
	}
}
