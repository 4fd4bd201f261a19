package server

import (
	"net"
	"net/netip"

	"github.com/ssechat/chat/server/limit"
)

// headerSlack is what net/http reads beyond http.Server.MaxHeaderBytes
// before it answers 431 (it allows 4096 bytes for the request line and its
// own bookkeeping). Serve takes it off, so that Config.MaxHeaderBytes is the
// limit a client meets.
const headerSlack = 4096

// minHeaderBytes is the least Config.MaxHeaderBytes: net/http's slack and
// 1 KiB for the headers themselves.
const minHeaderBytes = headerSlack + 1024

// newAddrConnCap returns the per-address connection cap of cfg, or nil when
// the per-address limits are off. Connections from a trusted proxy are not
// counted: they carry many clients, whom only the proxy can tell apart.
func newAddrConnCap(cfg Config) *limit.AddrConnCap {
	if !cfg.Limits.Enabled {
		return nil
	}
	proxies := cfg.TrustedProxies
	return limit.NewAddrConnCap(cfg.Limits.ConnsPerAddr, func(a netip.Addr) bool {
		for _, p := range proxies {
			if p.Contains(a) {
				return true
			}
		}
		return false
	})
}

// capListener wraps ln in the connection caps: the total (MaxConns) first,
// then the one per address (ConnsPerAddr), so that a connection refused for
// its address gives its place in the total back at once.
func (s *Server) capListener(ln net.Listener) net.Listener {
	return s.addrConns.Listener(s.limits.conns.Listener(ln))
}
