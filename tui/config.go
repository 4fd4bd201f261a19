package tui

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ssechat/chat/chat"
)

// Config is what chat-tui needs to start. Build it with DefaultConfig, then
// flags, then CHAT_* environment variables, and call Validate.
type Config struct {
	Server string // base URL of chat-server, e.g. http://127.0.0.1:8080
	Nick   string // account to log in as; a new nick registers on an open server
	Room   string // room shown first; joined if it is not yet
	Mouse  bool   // mouse wheel scrolls; off by default so text selection works
	// Hyperlinks wraps URLs in OSC 8 hyperlinks. Run sets it when the
	// terminal is known to support them (SupportsHyperlinks).
	Hyperlinks bool
	Logout     bool   // forget (and revoke) the saved session, then exit
	LogPath    string // log file; defaults to UserCacheDir/chat-tui/chat-tui.log
	StateDir   string // saved sessions and joined rooms; defaults to UserConfigDir/chat-tui
}

// DefaultConfig returns the defaults: a server on localhost port 8080, room
// general, no mouse, state and log in the user's config and cache dirs
// (left empty when those cannot be found; Validate then complains).
func DefaultConfig() Config {
	c := Config{Server: "http://127.0.0.1:8080", Room: chat.DefaultRoom}
	if d, err := os.UserConfigDir(); err == nil {
		c.StateDir = filepath.Join(d, "chat-tui")
	}
	if d, err := os.UserCacheDir(); err == nil {
		c.LogPath = filepath.Join(d, "chat-tui", "chat-tui.log")
	}
	return c
}

// Validate checks the configuration and says which setting is wrong.
func (c Config) Validate() error {
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q: want an http:// or https:// URL", c.Server)
	}
	if c.Nick == "" {
		return errors.New("--nick (or CHAT_NICK) is required")
	}
	if err := chat.ValidateNick(c.Nick); err != nil {
		return fmt.Errorf("--nick: %w", err)
	}
	if err := chat.ValidateRoom(c.Room); err != nil {
		return fmt.Errorf("--room: %w", err)
	}
	if c.StateDir == "" {
		return errors.New("no config directory found: set $HOME or $XDG_CONFIG_HOME")
	}
	if c.LogPath == "" {
		return errors.New("no cache directory found: set --log, $HOME or $XDG_CACHE_HOME")
	}
	return nil
}
