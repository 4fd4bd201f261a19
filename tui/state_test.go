package tui

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStateKeepsTokenAndRoomsPrivately(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chat-tui")
	s := OpenState(dir)
	if tok, err := s.Token("http://h:1", "alice"); err != nil || tok != "" {
		t.Fatalf("fresh state: token %q err %v", tok, err)
	}
	if err := s.SaveToken("http://h:1/", "Alice", "tok-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRooms("http://h:1", "alice", []string{"general", "dev"}); err != nil {
		t.Fatal(err)
	}
	// Another process reads the same file: the key ignores the case of the
	// nick and a trailing slash of the server.
	s2 := OpenState(dir)
	if tok, _ := s2.Token("http://h:1", "ALICE"); tok != "tok-1" {
		t.Fatalf("token = %q, want tok-1", tok)
	}
	if tok, _ := s2.Token("http://other:1", "alice"); tok != "" {
		t.Fatal("a token was shared across servers")
	}
	if rooms, _ := s2.Rooms("http://h:1", "alice"); len(rooms) != 2 || rooms[1] != "dev" {
		t.Fatalf("rooms = %v", rooms)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", di.Mode().Perm())
	}
	if err := s2.ForgetToken("http://h:1", "alice"); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.Token("http://h:1", "alice"); tok != "" {
		t.Fatal("ForgetToken kept the token")
	}
	if rooms, _ := s.Rooms("http://h:1", "alice"); len(rooms) != 2 {
		t.Fatal("ForgetToken dropped the rooms")
	}
	if err := os.WriteFile(s.Path(), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token("http://h:1", "alice"); err == nil {
		t.Error("a corrupt state file read without error")
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Server: "http://127.0.0.1:8080", Nick: "alice", Room: "general", StateDir: "/x", LogPath: "/x/log"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"no nick":    func(c *Config) { c.Nick = "" },
		"bad nick":   func(c *Config) { c.Nick = "al ice" },
		"bad room":   func(c *Config) { c.Room = "General" },
		"bad server": func(c *Config) { c.Server = "ftp://x" },
		"no host":    func(c *Config) { c.Server = "http://" },
		"no state":   func(c *Config) { c.StateDir = "" },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}
