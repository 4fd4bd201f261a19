package main

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestSecurityFlags: every limit, size, timeout, proxy and TLS setting of
// issue 6 is reachable by flag and by CHAT_* variable, and a bad
// --trusted-proxy stops the command with the variable named.
func TestSecurityFlags(t *testing.T) {
	t.Setenv("CHAT_TRUSTED_PROXY", "10.0.0.0/8, 192.0.2.7")
	t.Setenv("CHAT_LOGIN_FAILURES", "3")
	t.Setenv("CHAT_TYPING_RATE", "0.5")
	t.Setenv("CHAT_TLS_CERT", "/etc/chat/cert.pem")
	t.Setenv("CHAT_CONNS_PER_ADDR", "50")
	t.Setenv("CHAT_STREAM_BURST", "6")
	s := defaults()
	_, err := parse("chat-server", []string{
		"--message-rate", "2.5", "--message-burst", "7", "--login-window", "1h", "--typing-burst", "4",
		"--registrations", "4", "--registration-window", "2h",
		"--streams-per-account", "3", "--streams-per-addr", "9", "--max-streams", "100", "--max-conns", "200",
		"--stream-rate", "0.5",
		"--max-body", "4096", "--max-header-bytes", "8192",
		"--read-header-timeout", "3s", "--body-timeout", "4s", "--idle-timeout", "5s",
		"--tls-key", "/etc/chat/key.pem",
	}, &s, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c, l := s.Server, s.Server.Limits
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("trusted proxies %v, want %v", c.TrustedProxies, want)
	}
	if l.MessageRate != 2.5 || l.MessageBurst != 7 || l.LoginFailures != 3 || l.LoginWindow != time.Hour ||
		l.Registrations != 4 || l.RegistrationWindow != 2*time.Hour || l.StreamsPerAccount != 3 ||
		l.StreamsPerAddr != 9 || l.MaxStreams != 100 || l.MaxConns != 200 || !l.Enabled ||
		l.TypingRate != 0.5 || l.TypingBurst != 4 || l.ConnsPerAddr != 50 ||
		l.StreamRate != 0.5 || l.StreamBurst != 6 {
		t.Errorf("limits %+v", l)
	}
	if c.MaxBodyBytes != 4096 || c.MaxHeaderBytes != 8192 || c.ReadHeaderTimeout != 3*time.Second ||
		c.BodyTimeout != 4*time.Second || c.IdleTimeout != 5*time.Second {
		t.Errorf("sizes and timeouts %+v", c)
	}
	if c.TLSCertFile != "/etc/chat/cert.pem" || c.TLSKeyFile != "/etc/chat/key.pem" {
		t.Errorf("TLS files %q %q", c.TLSCertFile, c.TLSKeyFile)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}

	var out bytes.Buffer
	t.Setenv("CHAT_TRUSTED_PROXY", "not-an-address")
	if code := run(nil, nil, &out, &out); code != 2 || !bytes.Contains(out.Bytes(), []byte("CHAT_TRUSTED_PROXY")) {
		t.Errorf("bad CHAT_TRUSTED_PROXY: exit %d, output %q", code, out.String())
	}
	t.Setenv("CHAT_TRUSTED_PROXY", "")
	out.Reset()
	if code := run([]string{"--tls-cert", "only-a-cert.pem", "--tls-key", ""}, nil, &out, &out); code != 2 {
		t.Errorf("a certificate without a key: exit %d, output %q", code, out.String())
	}
}
