package limit

import (
	"net/http"
	"net/netip"
	"testing"
	"time"
)

func TestAddrKey(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	}
	for _, tc := range tests {
		if got := AddrKey(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("AddrKey(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
	if AddrKey(netip.Addr{}) != "invalid" {
		t.Error("the zero address must still give a key")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 1}, {-time.Second, 1}, {time.Nanosecond, 1}, {200 * time.Millisecond, 1},
		{time.Second, 1}, {time.Second + 1, 2}, {90 * time.Second, 90}, {1<<63 - 1, 1<<31 - 1},
	}
	for _, tc := range tests {
		if got := RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	h := http.Header{}
	SetRetryAfter(h, 1500*time.Millisecond)
	if h.Get("Retry-After") != "2" {
		t.Errorf("Retry-After = %q, want 2", h.Get("Retry-After"))
	}
}
