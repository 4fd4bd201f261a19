package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestSettingsPrecedence: defaults, then CHAT_* variables, then flags.
func TestSettingsPrecedence(t *testing.T) {
	t.Setenv("CHAT_ADDR", "127.0.0.1:9999")
	t.Setenv("CHAT_HEARTBEAT", "5s")
	t.Setenv("CHAT_RATE_LIMITS", "false")
	s := defaults()
	rest, err := parse("chat-server", []string{"--heartbeat", "7s", "--replay-max", "10"}, &s, &bytes.Buffer{})
	if err != nil || len(rest) != 0 {
		t.Fatalf("parse: %v %v", rest, err)
	}
	if s.Addr != "127.0.0.1:9999" {
		t.Errorf("addr %q: the variable must override the default", s.Addr)
	}
	if s.Server.Heartbeat != 7*time.Second {
		t.Errorf("heartbeat %v: the flag must override the variable", s.Server.Heartbeat)
	}
	if s.Server.ReplayMax != 10 || s.Server.Limits.Enabled || s.Data != "./chat-data" {
		t.Errorf("settings %+v", s)
	}
	t.Setenv("CHAT_REPLAY_MAX", "many")
	s = defaults()
	if _, err := parse("chat-server", nil, &s, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "CHAT_REPLAY_MAX") {
		t.Fatalf("a bad variable must be named in the error, got %v", err)
	}
}

// TestHelpNamesEveryVariable: --help lists every flag with its variable and
// exits 0.
func TestHelpNamesEveryVariable(t *testing.T) {
	var out bytes.Buffer
	s := defaults()
	fs, env := newFlags("chat-server", &s, &out)
	fs.Usage()
	help := out.String()
	for _, name := range []string{"addr", "data", "registration", "heartbeat", "history-page-max", "replay-max", "session-ttl", "session-cache", "log-level"} {
		if !strings.Contains(help, "-"+name+" ") {
			t.Errorf("--help misses --%s", name)
		}
	}
	vars := env.Vars()
	if len(vars) < 30 {
		t.Errorf("only %d flags take a variable", len(vars))
	}
	for _, e := range vars {
		if !strings.Contains(help, "(env "+e.Env+")") {
			t.Errorf("--help misses %s", e.Env)
		}
	}
	if !strings.Contains(help, `(default "127.0.0.1:8080")`) {
		t.Error("--help does not show the address default")
	}
	if code := run([]string{"--help"}, nil, &out, &out); code != 0 {
		t.Errorf("--help exits %d", code)
	}
	if code := run([]string{"--registration", "sometimes"}, nil, &out, &out); code != 2 {
		t.Errorf("a bad registration mode exits %d, want 2", code)
	}
}

// TestSessionCacheSetting: the session cache defaults to a second, the
// variable and the flag set it, 0 turns it off, and a negative lifetime is
// refused.
func TestSessionCacheSetting(t *testing.T) {
	s := defaults()
	if s.Server.SessionCache != time.Second {
		t.Errorf("default session cache %v, want 1s", s.Server.SessionCache)
	}
	t.Setenv("CHAT_SESSION_CACHE", "0")
	s = defaults()
	if _, err := parse("chat-server", nil, &s, &bytes.Buffer{}); err != nil || s.Server.SessionCache != 0 {
		t.Fatalf("CHAT_SESSION_CACHE=0: %v, %v", s.Server.SessionCache, err)
	}
	s = defaults()
	if _, err := parse("chat-server", []string{"--session-cache", "250ms"}, &s, &bytes.Buffer{}); err != nil || s.Server.SessionCache != 250*time.Millisecond {
		t.Fatalf("--session-cache 250ms: %v, %v", s.Server.SessionCache, err)
	}
	var out bytes.Buffer
	if code := run([]string{"--session-cache", "-1s"}, nil, &out, &out); code != 2 || !strings.Contains(out.String(), "session cache") {
		t.Errorf("a negative session cache exits %d (want 2): %s", code, out.String())
	}
}
