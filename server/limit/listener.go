package limit

import (
	"net"
	"sync"
	"sync/atomic"
)

// Listener caps the number of connections open at once. A connection over
// the cap is accepted and closed at once, rather than left waiting in the
// kernel's backlog (as golang.org/x/net/netutil.LimitListener does): a client
// learns immediately that the server is full and backs off, and the server
// never writes to it, so a slow peer cannot stall the accept loop.
type Listener struct {
	net.Listener
	max      int64
	open     atomic.Int64
	refused  atomic.Uint64
	onRefuse func()
}

// NewListener wraps ln so that at most max connections are open at once.
// onRefuse, when not nil, is called for every connection refused (for a
// metric); it must not block.
func NewListener(ln net.Listener, max int, onRefuse func()) *Listener {
	if max < 1 {
		panic("limit: NewListener needs max >= 1")
	}
	return &Listener{Listener: ln, max: int64(max), onRefuse: onRefuse}
}

// Accept returns the next connection under the cap, closing those over it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.refused.Add(1)
			c.Close()
			if l.onRefuse != nil {
				l.onRefuse()
			}
			continue
		}
		return &countedConn{Conn: c, l: l}, nil
	}
}

// Open returns the number of connections open now.
func (l *Listener) Open() int { return int(l.open.Load()) }

// Refused returns how many connections were closed for being over the cap.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

type countedConn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
