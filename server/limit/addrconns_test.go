package limit

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

// peerConn is a connection that only has a peer address: AddrConnCap looks
// at nothing else. (IPv6 peers other than ::1 cannot be made on loopback.)
type peerConn struct {
	net.Conn
	peer   netip.AddrPort
	closed bool
}

func (c *peerConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.peer) }
func (c *peerConn) Close() error         { c.closed = true; return nil }

// listOfPeers accepts the given connections in turn, then fails.
type listOfPeers struct {
	net.Listener
	conns []*peerConn
}

func (l *listOfPeers) Accept() (net.Conn, error) {
	if len(l.conns) == 0 {
		return nil, errors.New("no more")
	}
	c := l.conns[0]
	l.conns = l.conns[1:]
	return c, nil
}

// TestAddrConnCapCountsIPv6By64: two hosts of one IPv6 /64 share a place
// count, another /64 has its own, IPv4-mapped addresses count as IPv4, and
// an exempt peer is never counted. A closed connection gives its place back.
func TestAddrConnCapCountsIPv6By64(t *testing.T) {
	proxy := netip.MustParseAddr("192.0.2.9")
	c := NewAddrConnCap(1, func(a netip.Addr) bool { return a == proxy })
	conn := func(s string) *peerConn { return &peerConn{peer: netip.AddrPortFrom(netip.MustParseAddr(s), 4000)} }
	a1 := conn("2001:db8:1:2::1")
	a2 := conn("2001:db8:1:2::ffff") // same /64: refused
	b := conn("2001:db8:1:3::1")     // another /64
	v4 := conn("198.51.100.7")
	v4mapped := conn("::ffff:198.51.100.7") // the same IPv4 client: refused
	p1, p2 := conn("192.0.2.9"), conn("192.0.2.9")
	ln := c.Listener(&listOfPeers{conns: []*peerConn{a1, a2, b, v4, v4mapped, p1, p2}})
	var got []net.Conn
	for {
		conn, err := ln.Accept()
		if err != nil {
			break
		}
		got = append(got, conn)
	}
	if len(got) != 5 || !a2.closed || !v4mapped.closed || a1.closed || b.closed || p1.closed || p2.closed {
		t.Fatalf("accepted %d (want 5: one per /64, one per IPv4, both from the proxy); a2 closed %v, mapped closed %v",
			len(got), a2.closed, v4mapped.closed)
	}
	if c.Refused() != 2 || c.Open("2001:db8:1:2::/64") != 1 || c.Open("198.51.100.7") != 1 {
		t.Fatalf("refused %d, open in the /64 %d, open for the IPv4 client %d", c.Refused(), c.Open("2001:db8:1:2::/64"), c.Open("198.51.100.7"))
	}
	got[0].Close()
	got[0].Close() // twice gives back one place only
	if c.Open("2001:db8:1:2::/64") != 0 {
		t.Fatal("a closed connection kept its place")
	}
	again := c.Listener(&listOfPeers{conns: []*peerConn{conn("2001:db8:1:2::2")}})
	if _, err := again.Accept(); err != nil {
		t.Fatalf("a new connection from the /64 after the close: %v", err)
	}
}
