package main

import (
	"io"
	"os"
	"path/filepath"
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

// TestConfigFileLiesBeneathEnvAndFlags: config.toml sets what neither a
// CHAT_* variable nor a flag sets; the variable wins over the file and the
// flag over both. --print-config shows the result.
func TestConfigFileLiesBeneathEnvAndFlags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	file := "server = \"http://file:1\"\nnick = \"filenick\"\nroom = \"fileroom\"\ntheme = \"light\"\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHAT_CONFIG", path)
	t.Setenv("CHAT_SERVER", "")
	t.Setenv("CHAT_ROOM", "")
	t.Setenv("CHAT_NICK", "envnick")
	out := captureStdout(t, func() error { return run([]string{"--room", "flagroom", "--print-config"}) })
	for _, want := range []string{`server = "http://file:1"`, `nick = "envnick"`, `room = "flagroom"`, `theme = "light"`, "[keys]"} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config lacks %s:\n%s", want, out)
		}
	}
	if err := os.WriteFile(path, []byte("theme = \"neon\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"--server", "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "theme") {
		t.Fatalf("a bad theme in the file: err %v", err)
	}
}

func captureStdout(t *testing.T, fn func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	ferr := fn()
	os.Stdout = old
	w.Close()
	out := <-done
	if ferr != nil {
		t.Fatalf("run: %v", ferr)
	}
	return out
}
