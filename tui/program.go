package tui

import (
	"context"
	"fmt"
	"log/slog"

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
	c := client.New(cfg.Server, client.WithLogger(log), client.WithToken(token), client.WithUserAgent("chat-tui"))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, cfg, c, WithState(state), WithRooms(rooms), WithLogger(log), WithOutbox(unsent))
	defer m.Close()

	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}
	if cfg.Mouse {
		opts = append(opts, tea.WithMouseCellMotion())
	}
	if _, err := tea.NewProgram(m, opts...).Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("run program: %w", err)
	}
	return nil
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
