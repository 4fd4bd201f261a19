package clientaddr

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8, 192.0.2.7 ,::1,, 2001:db8::/32,::ffff:198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "::1/128", "2001:db8::/32", "198.51.100.1/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/8/8", "1.2.3"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted it", bad)
		}
	}
	if p, err := ParsePrefixes(""); err != nil || len(p) != 0 {
		t.Errorf(`ParsePrefixes("") = %v, %v; want none`, p, err)
	}
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParsePrefixes("10.0.0.0/8, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		proxies []netip.Prefix
		want    string
	}{
		{"no proxy configured: the header is ignored", "203.0.113.5:4000", []string{"1.1.1.1"}, nil, "203.0.113.5"},
		{"peer is not a trusted proxy: the header is ignored", "203.0.113.5:4000", []string{"1.1.1.1"}, proxies, "203.0.113.5"},
		{"trusted proxy, one hop", "10.0.0.2:5000", []string{"198.51.100.9"}, proxies, "198.51.100.9"},
		{"client-forged entries left of the real one are ignored", "10.0.0.2:5000", []string{"6.6.6.6, 198.51.100.9"}, proxies, "198.51.100.9"},
		{"chain of trusted proxies", "10.0.0.2:5000", []string{"7.7.7.7, 198.51.100.9, 10.1.1.1", "10.2.2.2"}, proxies, "198.51.100.9"},
		{"trusted proxy without a header", "10.0.0.2:5000", nil, proxies, "10.0.0.2"},
		{"every hop trusted", "10.0.0.2:5000", []string{"10.9.9.9, 10.8.8.8"}, proxies, "10.9.9.9"},
		{"garbage right of the client ends the walk at the proxy", "10.0.0.2:5000", []string{"198.51.100.9, not-an-ip"}, proxies, "10.0.0.2"},
		{"entry with a port", "10.0.0.2:5000", []string{"198.51.100.9:1234"}, proxies, "198.51.100.9"},
		{"IPv6 proxy and client", "[fd00::1]:443", []string{"[2001:db8::5]:999"}, proxies, "2001:db8::5"},
		{"IPv4-mapped peer is unmapped", "[::ffff:203.0.113.5]:4000", nil, proxies, "203.0.113.5"},
		{"zone is dropped", "[fe80::1%eth0]:4000", nil, nil, "fe80::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := Of(r, tc.proxies); got.String() != tc.want {
				t.Fatalf("Of = %s, want %s", got, tc.want)
			}
			peer := Peer(r)
			if got, want := FromTrustedProxy(r, tc.proxies), len(tc.proxies) > 0 && trusted(peer, tc.proxies); got != want {
				t.Fatalf("FromTrustedProxy = %v, want %v", got, want)
			}
		})
	}
}
