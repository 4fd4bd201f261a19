package limit

import (
	"net"
	"sync"
	"sync/atomic"
)

// ConnCap caps the number of connections open at once over any number of
// listeners. A connection over the cap is accepted and closed at once,
// rather than left waiting in the kernel's backlog (as
// golang.org/x/net/netutil.LimitListener does): a client learns immediately
// that the server is full and backs off, and the server never writes to it,
// so a slow peer cannot stall the accept loop. It is safe for concurrent use.
type ConnCap struct {
	max      int64
	open     atomic.Int64
	refused  atomic.Uint64
	onRefuse func()
}

// NewConnCap returns a cap of max open connections. onRefuse, when not nil,
// is called for every connection refused (for a metric); it must not block.
func NewConnCap(max int, onRefuse func()) *ConnCap {
	if max < 1 {
		panic("limit: NewConnCap needs max >= 1")
	}
	return &ConnCap{max: int64(max), onRefuse: onRefuse}
}

// Listener wraps ln so that its connections count against the cap.
func (c *ConnCap) Listener(ln net.Listener) net.Listener {
	return &capListener{Listener: ln, c: c}
}

// Open returns the number of connections open now.
func (c *ConnCap) Open() int { return int(c.open.Load()) }

// Refused returns how many connections were closed for being over the cap.
func (c *ConnCap) Refused() uint64 { return c.refused.Load() }

type capListener struct {
	net.Listener
	c *ConnCap
}

// Accept returns the next connection under the cap, closing those over it.
func (l *capListener) Accept() (net.Conn, error) {
	c := l.c
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c.open.Add(1) > c.max {
			c.open.Add(-1)
			c.refused.Add(1)
			conn.Close()
			if c.onRefuse != nil {
				c.onRefuse()
			}
			continue
		}
		return &countedConn{Conn: conn, c: c}, nil
	}
}

type countedConn struct {
	net.Conn
	c    *ConnCap
	once sync.Once
}

// CloseWrite passes a half-close down (net/http uses it to end an answer
// before closing, so the client reads the answer rather than a reset).
func (c *countedConn) CloseWrite() error { return closeWrite(c.Conn) }

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.c.open.Add(-1) })
	return err
}
