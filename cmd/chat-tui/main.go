// Command chat-tui is the terminal client of the chat.
//
//	chat-tui --server http://127.0.0.1:8080 --nick alice [--room general]
//
// Every flag has a CHAT_* environment variable (CHAT_SERVER, CHAT_NICK,
// CHAT_ROOM, CHAT_MOUSE, CHAT_LOG); a flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ssechat/chat/tui"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chat-tui:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg := tui.DefaultConfig()
	if err := fromEnv(&cfg); err != nil {
		return err
	}
	fs := flag.NewFlagSet("chat-tui", flag.ContinueOnError)
	fs.StringVar(&cfg.Server, "server", cfg.Server, "chat-server base URL (CHAT_SERVER)")
	fs.StringVar(&cfg.Nick, "nick", cfg.Nick, "nick to log in as; a new one registers (CHAT_NICK)")
	fs.StringVar(&cfg.Room, "room", cfg.Room, "room to show first (CHAT_ROOM)")
	fs.BoolVar(&cfg.Mouse, "mouse", cfg.Mouse, "scroll with the mouse wheel; disables terminal text selection (CHAT_MOUSE)")
	fs.BoolVar(&cfg.Logout, "logout", false, "forget and revoke the saved session, then exit")
	fs.StringVar(&cfg.LogPath, "log", cfg.LogPath, "log file (CHAT_LOG)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	logFile, err := openLog(cfg.LogPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Info("start", "server", cfg.Server, "nick", cfg.Nick, "room", cfg.Room)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if cfg.Logout {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := tui.Logout(ctx, cfg, log); err != nil {
			return err
		}
		fmt.Println("chat-tui: the saved session of", cfg.Nick, "is forgotten")
		return nil
	}
	err = tui.Run(ctx, cfg, log)
	log.Info("exit", "err", err)
	return err
}

// fromEnv applies the CHAT_* variables that are set.
func fromEnv(cfg *tui.Config) error {
	if v := os.Getenv("CHAT_SERVER"); v != "" {
		cfg.Server = v
	}
	if v := os.Getenv("CHAT_NICK"); v != "" {
		cfg.Nick = v
	}
	if v := os.Getenv("CHAT_ROOM"); v != "" {
		cfg.Room = v
	}
	if v := os.Getenv("CHAT_LOG"); v != "" {
		cfg.LogPath = v
	}
	if v := os.Getenv("CHAT_MOUSE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("CHAT_MOUSE=%q: want true or false", v)
		}
		cfg.Mouse = b
	}
	return nil
}

// openLog opens the log file for appending, readable by its owner only.
func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}
