// Command chat-tui is the terminal client of the chat.
//
//	chat-tui --server http://127.0.0.1:8080 --nick alice [--room general]
//
// Every flag but --logout and --print-config has a CHAT_* environment
// variable (CHAT_SERVER, CHAT_NICK, CHAT_ROOM, CHAT_MOUSE, CHAT_LOG,
// CHAT_THEME); a flag given on the command line wins, and an empty variable
// counts as unset. Beneath both lies ~/.config/chat-tui/config.toml (or the
// file CHAT_CONFIG names); --print-config prints the settings in effect as
// one.
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
	"syscall"
	"time"

	"github.com/ssechat/chat/internal/cmdline"
	"github.com/ssechat/chat/internal/envflag"
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
	// The config file lies beneath the flags and the environment. A
	// broken one is reported after the flags are read, so that --help and
	// --version still answer.
	fileErr := tui.ApplyConfigFile(&cfg, tui.DefaultConfigPath())
	if err := parse(args, &cfg); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fileErr != nil {
		return fileErr
	}
	if cfg.PrintConfig {
		s, err := tui.PrintConfig(cfg)
		if err != nil {
			return err
		}
		fmt.Print(s)
		return nil
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	logFile, err := openLog(cfg.LogFile())
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

// parse reads the flags into cfg, then the CHAT_* variables of the flags
// the command line left alone (internal/envflag). --logout and
// --print-config have no variable: they are actions, not standing
// settings.
func parse(args []string, cfg *tui.Config) error {
	env := &envflag.Env{}
	fs := flag.NewFlagSet("chat-tui", flag.ContinueOnError)
	fs.StringVar(&cfg.Server, "server", cfg.Server, env.Usage("server", "chat-server base URL"))
	fs.StringVar(&cfg.Nick, "nick", cfg.Nick, env.Usage("nick", "nick to log in as; a new one registers if the server's registration is open"))
	fs.StringVar(&cfg.Room, "room", cfg.Room, env.Usage("room", "room to show first"))
	fs.BoolVar(&cfg.Mouse, "mouse", cfg.Mouse, env.Usage("mouse", "scroll with the mouse wheel; disables terminal text selection"))
	fs.BoolVar(&cfg.Logout, "logout", false, "forget and revoke the saved session, then exit")
	fs.StringVar(&cfg.LogPath, "log", cfg.LogPath, env.Usage("log", "log file; defaults to one per nick in the user cache dir"))
	fs.StringVar(&cfg.Theme, "theme", cfg.Theme, env.Usage("theme", "colours: auto, dark, light or terminal (the terminal's own)"))
	fs.BoolVar(&cfg.PrintConfig, "print-config", false, "print the settings in effect as a config.toml, then exit")
	// --help and --version answer on stdout with flag.ErrHelp.
	if err := cmdline.Parse(fs, args, os.Stdout); err != nil {
		return err
	}
	return env.Apply(fs, os.LookupEnv)
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
