package tui

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// fileConfig is config.toml: every setting a person may want to keep, in
// snake_case. A key left out keeps the default; flags and CHAT_*
// variables, applied after the file, win over it.
type fileConfig struct {
	Server     *string             `toml:"server"`
	Nick       *string             `toml:"nick"`
	Room       *string             `toml:"room"`
	Mouse      *bool               `toml:"mouse"`
	Log        *string             `toml:"log"`
	Theme      *string             `toml:"theme"`
	TimeFormat *string             `toml:"time_format"`
	Bell       *string             `toml:"bell"`
	Notify     *bool               `toml:"notify"`
	Hyperlinks *string             `toml:"hyperlinks"`
	Keys       map[string][]string `toml:"keys"`
	Colours    map[string]string   `toml:"colours"`
}

// DefaultConfigPath is config.toml in the user's config directory
// (os.UserConfigDir: ~/.config/chat-tui/config.toml on Linux), or the
// file CHAT_CONFIG names. "" when neither can be found.
func DefaultConfigPath() string {
	if p := os.Getenv("CHAT_CONFIG"); p != "" {
		return p
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "chat-tui", "config.toml")
}

// ApplyConfigFile sets what the TOML file at path holds onto c. A missing
// file is no error (every setting has a default); an unknown key is, so a
// typo does not pass silently.
func ApplyConfigFile(c *Config, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var f fileConfig
	md, err := toml.Decode(string(b), &f)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if extra := md.Undecoded(); len(extra) > 0 {
		keys := make([]string, len(extra))
		for i, k := range extra {
			keys[i] = k.String()
		}
		return fmt.Errorf("config %s: unknown setting %s", path, strings.Join(keys, ", "))
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Server, f.Server)
	set(&c.Nick, f.Nick)
	set(&c.Room, f.Room)
	set(&c.LogPath, f.Log)
	set(&c.Theme, f.Theme)
	set(&c.TimeFormat, f.TimeFormat)
	set(&c.Bell, f.Bell)
	set(&c.Links, f.Hyperlinks)
	if f.Mouse != nil {
		c.Mouse = *f.Mouse
	}
	if f.Notify != nil {
		c.Notify = *f.Notify
	}
	for k, v := range f.Keys {
		if c.Keys == nil {
			c.Keys = map[string][]string{}
		}
		c.Keys[k] = v
	}
	for k, v := range f.Colours {
		if c.Colours == nil {
			c.Colours = map[string]string{}
		}
		c.Colours[k] = v
	}
	return nil
}

// PrintConfig renders c as a config.toml (chat-tui --print-config): every
// setting with the value in effect, and every key binding, so the output
// is a starting point to edit.
func PrintConfig(c Config) (string, error) {
	keys := map[string][]string{}
	km := defaultKeyMap()
	for _, name := range keyNames() {
		keys[name] = km.binding(name).Keys()
	}
	for k, v := range c.Keys {
		keys[k] = v
	}
	colours := map[string]string{}
	for k, v := range c.Colours {
		colours[k] = v
	}
	f := fileConfig{
		Server: &c.Server, Nick: &c.Nick, Room: &c.Room, Mouse: &c.Mouse, Log: &c.LogPath,
		Theme: &c.Theme, TimeFormat: &c.TimeFormat, Bell: &c.Bell, Notify: &c.Notify,
		Hyperlinks: &c.Links, Keys: keys, Colours: colours,
	}
	var b bytes.Buffer
	b.WriteString("# chat-tui configuration: " + DefaultConfigPath() + "\n")
	b.WriteString("# Flags and CHAT_* environment variables override what is set here.\n")
	b.WriteString("# theme: auto, dark, light or terminal (the terminal's own 16 colours).\n")
	b.WriteString("# bell: off, mention or all. hyperlinks: auto, on or off.\n")
	b.WriteString("# colours: " + strings.Join(colourNames(), ", ") + " (ANSI numbers or #rrggbb).\n\n")
	if err := toml.NewEncoder(&b).Encode(f); err != nil {
		return "", fmt.Errorf("encode config: %w", err)
	}
	return b.String(), nil
}

func colourNames() []string {
	names := make([]string, 0, len(colourSetters))
	for k := range colourSetters {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// validateSettings checks the settings the config file adds.
func (c Config) validateSettings() error {
	switch c.Theme {
	case "", "auto", "dark", "light", "terminal":
	default:
		return fmt.Errorf("theme %q: want auto, dark, light or terminal", c.Theme)
	}
	switch c.Bell {
	case "", "off", "mention", "all":
	default:
		return fmt.Errorf("bell %q: want off, mention or all", c.Bell)
	}
	switch c.Links {
	case "", "auto", "on", "off":
	default:
		return fmt.Errorf("hyperlinks %q: want auto, on or off", c.Links)
	}
	if c.TimeFormat != "" && strings.ContainsAny(c.TimeFormat, "\n\t\x1b") {
		return fmt.Errorf("time_format %q: one line of text", c.TimeFormat)
	}
	for name, ks := range c.Keys {
		if !slices.Contains(keyNames(), name) {
			return fmt.Errorf("keys.%s: no such action (%s)", name, strings.Join(keyNames(), ", "))
		}
		if len(ks) == 0 {
			return fmt.Errorf("keys.%s: give at least one key", name)
		}
	}
	for name, v := range c.Colours {
		if _, ok := colourSetters[name]; !ok {
			return fmt.Errorf("colours.%s: no such colour (%s)", name, strings.Join(colourNames(), ", "))
		}
		if !validColour(v) {
			return fmt.Errorf("colours.%s = %q: want an ANSI number 0-255 or #rrggbb", name, v)
		}
	}
	return nil
}
