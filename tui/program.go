package tui

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/client"
)

// Run runs chat-tui on the terminal until the user quits or ctx ends. The
// saved session (if any) is reused; the joined rooms are remembered.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	state := OpenState(cfg.StateDir)
	token, err := state.Token(cfg.Server, cfg.Nick)
	if err != nil {
		log.Warn("read saved session", "err", err)
	}
	rooms, err := state.Rooms(cfg.Server, cfg.Nick)
	if err != nil {
		log.Warn("read joined rooms", "err", err)
	}
	unsent, err := state.Outbox(cfg.Server, cfg.Nick)
	if err != nil {
		log.Warn("read unsent messages", "err", err)
	}
	history, err := state.History(cfg.Server, cfg.Nick)
	if err != nil {
		log.Warn("read input history", "err", err)
	}
	switch cfg.Links {
	case "on":
		cfg.Hyperlinks = true
	case "off":
		cfg.Hyperlinks = false
	default:
		cfg.Hyperlinks = SupportsHyperlinks(os.Getenv)
	}
	if !UTF8Locale(os.Getenv) {
		cfg.ASCII = true
	}
	c := client.New(cfg.Server, client.WithLogger(log), client.WithToken(token), client.WithUserAgent("chat-tui"))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, cfg, c, WithState(state), WithRooms(rooms), WithLogger(log),
		WithOutbox(unsent), WithHistory(history), WithTerminal(os.Stdout))
	defer m.Close()

	// Bubble Tea v1's renderer wakes up once per frame even when nothing
	// changed (it then writes nothing); 30 frames a second is plenty for a
	// chat and halves what an idle chat-tui costs. The model itself wakes
	// only when something changes (Update's tick runs only when needed).
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFPS(30)}
	if cfg.Mouse {
		opts = append(opts, tea.WithMouseCellMotion())
	}
	if _, err := tea.NewProgram(m, opts...).Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("run program: %w", err)
	}
	return nil
}

// SupportsHyperlinks reports whether the terminal described by the
// environment is known to show OSC 8 hyperlinks (and to ignore them
// otherwise is not enough: some old terminals print the sequence). Inside
// tmux or screen it says no: they pass OSC 8 on only when set up to.
func SupportsHyperlinks(getenv func(string) string) bool {
	if getenv("TMUX") != "" || strings.HasPrefix(getenv("TERM"), "screen") {
		return false
	}
	switch getenv("TERM_PROGRAM") {
	case "iTerm.app", "WezTerm", "vscode", "ghostty", "Hyper", "rio":
		return true
	}
	if getenv("KITTY_WINDOW_ID") != "" || getenv("WT_SESSION") != "" || getenv("KONSOLE_VERSION") != "" {
		return true
	}
	if v, err := strconv.Atoi(getenv("VTE_VERSION")); err == nil && v >= 5000 {
		return true
	}
	switch getenv("TERM") {
	case "xterm-kitty", "foot", "foot-extra", "alacritty", "xterm-ghostty":
		return true
	}
	return false
}

// Logout revokes the saved session on the server (when it answers) and
// forgets it.
func Logout(ctx context.Context, cfg Config, log *slog.Logger) error {
	state := OpenState(cfg.StateDir)
	token, err := state.Token(cfg.Server, cfg.Nick)
	if err != nil {
		return err
	}
	if token != "" {
		c := client.New(cfg.Server, client.WithLogger(log), client.WithToken(token), client.WithUserAgent("chat-tui"))
		if err := c.Logout(ctx); err != nil {
			log.Warn("revoke session", "err", err)
		}
	}
	if err := state.ForgetToken(cfg.Server, cfg.Nick); err != nil {
		return fmt.Errorf("forget session: %w", err)
	}
	return nil
}

// UTF8Locale reports whether the locale (LC_ALL, else LC_CTYPE, else LANG,
// as the C library looks them up) names UTF-8. Unset everywhere counts as
// UTF-8: every terminal chat-tui runs in today speaks it, and the "C"
// locale a minimal container starts with does not say otherwise about the
// terminal.
func UTF8Locale(getenv func(string) string) bool {
	for _, name := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		if v == "C" || v == "POSIX" {
			return true
		}
		v = strings.ToLower(v)
		return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
	}
	return true
}
