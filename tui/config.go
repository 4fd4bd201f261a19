package tui

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ssechat/chat/chat"
)

// Config is what chat-tui needs to start. Build it with DefaultConfig,
// then the config file (ApplyConfigFile), then CHAT_* environment
// variables, then flags, and call Validate.
type Config struct {
	Server string // base URL of chat-server, e.g. http://127.0.0.1:8080
	Nick   string // account to log in as; a new nick registers on an open server
	Room   string // room shown first; joined if it is not yet
	Mouse  bool   // mouse wheel scrolls; off by default so text selection works
	Logout bool   // forget (and revoke) the saved session, then exit
	// PrintConfig prints the settings in effect as a config.toml, then exits.
	PrintConfig bool
	LogPath     string // log file; "" means LogDir/NICK.log (LogFile)
	LogDir      string // where the per-nick logs go; defaults to UserCacheDir/chat-tui
	StateDir    string // saved sessions and joined rooms; defaults to UserConfigDir/chat-tui

	// Hyperlinks wraps URLs in OSC 8 hyperlinks. Run sets it from Links
	// and, for auto, from what the terminal is known to support
	// (SupportsHyperlinks).
	Hyperlinks bool

	// ASCII draws the room kinds' marks in plain ASCII ('*' for the
	// lock of a private room). Run sets it when the locale is not UTF-8,
	// where a terminal may not draw the emoji, or draw it one cell wide
	// while the layout counts two.
	ASCII bool

	// The settings below come from config.toml (ApplyConfigFile).

	Theme      string              // auto (default), dark, light or terminal
	TimeFormat string              // Go time layout of the time column; defaults to 15:04
	Bell       string              // ring the terminal bell: off (default), mention or all
	Notify     bool                // a desktop notification (OSC 777) on a mention
	Links      string              // OSC 8 hyperlinks: auto (default), on, off
	Keys       map[string][]string // action → keys, replacing keys.go's defaults
	Colours    map[string]string   // style → ANSI number or #rrggbb, over the theme
}

// LogFile is the log file: LogPath, or one per nick in LogDir, so two
// chat-tui of two nicks never write into one file.
func (c Config) LogFile() string {
	if c.LogPath != "" {
		return c.LogPath
	}
	return filepath.Join(c.LogDir, chat.NickKey(c.Nick)+".log")
}

// DefaultConfig returns the defaults: a server on localhost port 8080, room
// general, no mouse, the auto theme, no bell, state and logs in the user's
// config and cache dirs (left empty when those cannot be found; Validate
// then complains).
func DefaultConfig() Config {
	c := Config{Server: "http://127.0.0.1:8080", Room: chat.DefaultRoom,
		Theme: "auto", TimeFormat: "15:04", Bell: "off", Links: "auto"}
	if d, err := os.UserConfigDir(); err == nil {
		c.StateDir = filepath.Join(d, "chat-tui")
	}
	if d, err := os.UserCacheDir(); err == nil {
		c.LogDir = filepath.Join(d, "chat-tui")
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
	if c.LogPath == "" && c.LogDir == "" {
		return errors.New("no cache directory found: set --log, $HOME or $XDG_CACHE_HOME")
	}
	return c.validateSettings()
}
