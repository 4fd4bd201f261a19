// Command chat is the chat's command line, for people and for scripts: log
// in, send, follow rooms as a log of JSON lines, list rooms. It is a thin
// layer over the client library (package client) and never writes to a
// terminal anything another user wrote without making it terminal-safe.
//
//	chat [--server URL] [--nick NICK] login
//	chat send ROOM TEXT...          (or: chat send --lines ROOM < file)
//	chat tail [--format json|text] [--cursor FILE] ROOM...
//	chat rooms
//
// The credential is CHAT_TOKEN (a personal access token, or any session
// token), else the session chat-tui or chat login saved for --nick on
// --server. --server, --nick and --state have CHAT_* variables (CHAT_SERVER,
// CHAT_NICK, CHAT_STATE); a flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/internal/cmdline"
	"github.com/ssechat/chat/internal/envflag"
	"github.com/ssechat/chat/tui"
)

// settings are the global flags, shared by every command.
type settings struct {
	Server string
	Nick   string
	State  string // chat-tui's state directory, where saved sessions are
}

func defaults() settings {
	s := settings{Server: "http://127.0.0.1:8080"}
	s.State = tui.DefaultConfig().StateDir
	return s
}

const usage = `Usage:
  chat [flags] login                      log in; the session is saved as chat-tui saves it
  chat [flags] send ROOM TEXT...          send one message (--lines: one per line of stdin)
  chat [flags] tail [--format json|text] [--cursor FILE] ROOM...
                                          print each new message of the rooms, resuming
                                          after a restart from the cursor file
  chat [flags] rooms                      list the rooms: name, online count, topic
  chat --version

Each command has its own help: chat tail --help. The credential is CHAT_TOKEN
when set (a personal access token from chat-server token add or
POST /api/me/tokens), else the saved session of --nick on --server.

Flags:
`

// cli is one run of the program: its settings and where it writes.
type cli struct {
	s              settings
	stdin          *os.File
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	c := &cli{s: defaults(), stdin: stdin, stdout: stdout, stderr: stderr, getenv: lookup}
	env := &envflag.Env{}
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.s.Server, "server", c.s.Server, env.Usage("server", "chat-server base URL"))
	fs.StringVar(&c.s.Nick, "nick", c.s.Nick, env.Usage("nick", "whose saved session to use (login: who logs in)"))
	fs.StringVar(&c.s.State, "state", c.s.State, env.Usage("state", "directory of the saved sessions (chat-tui's)"))
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	err := cmdline.Parse(fs, args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = env.Apply(fs, lookup)
	}
	if err != nil {
		fmt.Fprintf(stderr, "chat: %v (see chat --help)\n", err)
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	cmd, cmdArgs := rest[0], rest[1:]
	switch cmd {
	case "login":
		return c.login(ctx, cmdArgs)
	case "send":
		return c.send(ctx, cmdArgs)
	case "tail":
		return c.tail(ctx, cmdArgs)
	case "rooms":
		return c.rooms(ctx, cmdArgs)
	case "help":
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	}
	fmt.Fprintf(stderr, "chat: unknown command %q (see chat --help)\n", cmd)
	return 2
}

// failf reports an error on stderr and returns the exit code 1.
func (c *cli) failf(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "chat: "+format+"\n", args...)
	return 1
}

// subFlags is the flag set of one command, with its synopsis in the help.
func (c *cli) subFlags(name, synopsis, what string) *flag.FlagSet {
	fs := flag.NewFlagSet("chat "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  %s\n\n%s\n", synopsis, what)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseSub parses a command's flags; done is true when the command must
// end with code (help, version, or a mistake).
func (c *cli) parseSub(fs *flag.FlagSet, args []string) (code int, done bool) {
	err := cmdline.Parse(fs, args, c.stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0, true
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "chat: %v (see %s --help)\n", err, fs.Name())
		return 2, true
	}
	return 0, false
}

// errNoCredential says how to get one.
var errNoCredential = errors.New("no credential: set CHAT_TOKEN, or log in with chat login --nick NICK (or chat-tui) and pass --nick")

// client returns a client of the server with the credential: CHAT_TOKEN,
// else the session saved for --nick.
func (c *cli) client() (*client.Client, error) {
	server := strings.TrimRight(c.s.Server, "/")
	if tok, ok := c.getenv("CHAT_TOKEN"); ok && tok != "" {
		return client.New(server, client.WithToken(tok), client.WithUserAgent("chat/"+cmdline.Version())), nil
	}
	if c.s.Nick == "" || c.s.State == "" {
		return nil, errNoCredential
	}
	tok, err := tui.OpenState(c.s.State).Token(server, c.s.Nick)
	if err != nil {
		return nil, err
	}
	if tok == "" {
		return nil, fmt.Errorf("no saved session of %s on %s in %s: log in with chat login, or set CHAT_TOKEN", c.s.Nick, server, filepath.Join(c.s.State, "state.json"))
	}
	return client.New(server, client.WithToken(tok), client.WithUserAgent("chat/"+cmdline.Version())), nil
}
