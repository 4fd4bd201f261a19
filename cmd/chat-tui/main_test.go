package main

import (
	"strings"
	"testing"

	"github.com/ssechat/chat/tui"
)

func TestEnvironmentAndFlags(t *testing.T) {
	t.Setenv("CHAT_SERVER", "http://10.0.0.1:9000")
	t.Setenv("CHAT_NICK", "alice")
	t.Setenv("CHAT_ROOM", "dev")
	t.Setenv("CHAT_MOUSE", "true")
	cfg := tui.DefaultConfig()
	if err := parse([]string{"--room", "ops"}, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Server != "http://10.0.0.1:9000" || cfg.Nick != "alice" || cfg.Room != "ops" || !cfg.Mouse {
		t.Fatalf("config from the environment and a flag: %+v", cfg)
	}
	t.Setenv("CHAT_MOUSE", "perhaps")
	cfg = tui.DefaultConfig()
	if err := parse(nil, &cfg); err == nil || !strings.Contains(err.Error(), "CHAT_MOUSE") {
		t.Fatalf("CHAT_MOUSE=perhaps: err %v", err)
	}
}

func TestBadSettingsStopBeforeTheScreen(t *testing.T) {
	t.Setenv("CHAT_NICK", "")
	for _, args := range [][]string{
		{"--server", "http://127.0.0.1:1"},
		{"--server", "http://127.0.0.1:1", "--nick", "bad nick"},
		{"--server", "gopher://x", "--nick", "alice"},
		{"--nick", "alice", "--room", "No_Caps"},
	} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) accepted bad settings", args)
		}
	}
}
