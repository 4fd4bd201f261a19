// Package clientaddr tells who sent a request: the connection's peer, or,
// when that peer is a trusted reverse proxy (--trusted-proxy), the client
// its X-Forwarded-For names. Limits key on it and the cookie's Secure flag
// believes a proxy's X-Forwarded-Proto only through it. It must never
// believe a forwarded header from a peer that is not a trusted proxy.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParsePrefixes parses a comma-separated list of CIDR prefixes or single
// addresses ("10.0.0.0/8, 192.0.2.7, ::1") as given to --trusted-proxy.
// An empty string gives no prefixes.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("parse trusted proxy %q: %w", part, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("parse trusted proxy %q: %w", part, err)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Peer returns the address of the connection r came in on, or the zero
// Addr if RemoteAddr does not parse (not so for a TCP listener).
func Peer(r *http.Request) netip.Addr { return parseHostAddr(r.RemoteAddr) }

// FromTrustedProxy reports whether r came in directly from one of proxies,
// so that its X-Forwarded-* headers may be believed.
func FromTrustedProxy(r *http.Request, proxies []netip.Prefix) bool {
	peer := Peer(r)
	return peer.IsValid() && trusted(peer, proxies)
}

func trusted(a netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the address of the client that sent r. It is the
// connection's peer, unless that peer is one of the trusted proxies: then
// X-Forwarded-For is read from the right, skipping trusted proxies, and the
// first address that is not one of them is the client. Everything left of
// it was written by the client and proves nothing. An entry that does not
// parse ends the walk at the last address known good. The zero Addr means
// even the peer could not be parsed (not so for a TCP listener).
func Of(r *http.Request, proxies []netip.Prefix) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !peer.IsValid() || len(proxies) == 0 || !trusted(peer, proxies) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a := parseHostAddr(strings.TrimSpace(entries[j]))
			if !a.IsValid() {
				return client
			}
			client = a
			if !trusted(a, proxies) {
				return client
			}
		}
	}
	return client
}

// parseHostAddr parses "ip", "ip:port", "[ipv6]:port" or "[ipv6]", dropping
// any zone, and unmaps IPv4-mapped IPv6 so one client has one form.
func parseHostAddr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}
