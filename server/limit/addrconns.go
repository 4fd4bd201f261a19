package limit

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// AddrConnCap caps the connections open at once from one client address
// (AddrKey: an IPv4 address or an IPv6 /64), over any number of listeners.
// Without it one client could open connections up to ConnCap's total and
// lock everyone else out. Like ConnCap it closes a connection over the cap
// as soon as it is accepted, without writing to it.
//
// It counts the TCP peer: at accept nothing else is known (X-Forwarded-For
// comes with the headers). A peer that exempt reports true for (a trusted
// reverse proxy, carrying many clients) is not counted. It is safe for
// concurrent use; its memory follows the addresses connected now.
type AddrConnCap struct {
	open    *Counter
	exempt  func(netip.Addr) bool
	refused atomic.Uint64
}

// NewAddrConnCap returns a cap of max open connections per address. exempt,
// when not nil, names the peers not counted; it must be safe for concurrent
// use. It panics when max < 1.
func NewAddrConnCap(max int, exempt func(netip.Addr) bool) *AddrConnCap {
	return &AddrConnCap{open: NewCounter(max), exempt: exempt}
}

// Listener wraps ln so that its connections count against the cap. A nil
// *AddrConnCap returns ln itself.
func (c *AddrConnCap) Listener(ln net.Listener) net.Listener {
	if c == nil {
		return ln
	}
	return &addrCapListener{Listener: ln, c: c}
}

// Open returns the connections open now from the address key.
func (c *AddrConnCap) Open(key string) int { return c.open.Count(key) }

// Refused returns how many connections were closed for being over the cap.
func (c *AddrConnCap) Refused() uint64 { return c.refused.Load() }

type addrCapListener struct {
	net.Listener
	c *AddrConnCap
}

// Accept returns the next connection under its address's cap, closing those
// over it.
func (l *addrCapListener) Accept() (net.Conn, error) {
	c := l.c
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		peer := connPeer(conn)
		if c.exempt != nil && peer.IsValid() && c.exempt(peer) {
			return conn, nil
		}
		release, ok := c.open.Acquire(AddrKey(peer))
		if !ok {
			c.refused.Add(1)
			conn.Close()
			continue
		}
		return &addrConn{Conn: conn, release: release}, nil
	}
}

// connPeer is the address of conn's peer, unmapped, or the zero Addr.
func connPeer(conn net.Conn) netip.Addr {
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().WithZone("").Unmap()
	}
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	if err != nil {
		return netip.Addr{} // counted under one key: "invalid"
	}
	return ap.Addr().WithZone("").Unmap()
}

type addrConn struct {
	net.Conn
	release func() // gives the place back; idempotent
}

func (c *addrConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// CloseWrite passes a half-close down (net/http uses it to end an answer
// before closing, so the client reads the answer rather than a reset).
func (c *addrConn) CloseWrite() error { return closeWrite(c.Conn) }

// closeWrite half-closes conn when it can.
func closeWrite(conn net.Conn) error {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
