package limit

import "net/netip"

// AddrKey is the key a per-address limit counts a client under: the IPv4
// address, or the IPv6 /64 network, since one IPv6 host is usually given a
// whole /64 and could otherwise pose as 2^64 clients.
func AddrKey(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
