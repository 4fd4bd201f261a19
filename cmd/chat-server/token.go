package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/cmdline"
	"github.com/ssechat/chat/internal/envflag"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/store"
)

// tokenUsage is the help of "chat-server token".
const tokenUsage = `Usage:
  chat-server token add NICK NAME [--rooms a,b] [flags]
  chat-server token list NICK [flags]
  chat-server token del NICK ID [flags]

Manage personal access tokens in the server's store (--data or --redis),
with or without the server running, as a user does with /api/me/tokens.
add prints the new token once (it is stored only as a hash); --rooms limits
it to those rooms. list prints one token a line: id, name, rooms ("*" for
every room) and when it was made, separated by tabs. del revokes a token:
a running server ends its open streams within a second.
`

// runToken is "chat-server token add|list|del".
func runToken(args []string, s *settings, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	action := args[0]
	switch action {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, tokenUsage)
		return 0
	case "add", "list", "del":
	default:
		fmt.Fprintf(stderr, "chat-server: unknown token command %q\n%s", action, tokenUsage)
		return 2
	}
	want := map[string]int{"add": 2, "list": 1, "del": 2}[action]
	name := "chat-server token " + action
	flags, _ := newFlags(name, s, io.Discard)
	var rooms string
	if action == "add" {
		flags.StringVar(&rooms, "rooms", "", "limit the token to these rooms, separated by commas")
	}
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), tokenUsage+"\nFlags (the server's other flags are accepted and ignored here):\n")
		shown := flag.NewFlagSet(name, flag.ContinueOnError)
		shown.SetOutput(flags.Output())
		env, view := &envflag.Env{}, *s
		storeFlags(shown, env, &view)
		if action == "add" {
			shown.String("rooms", "", "limit the token to these rooms, separated by commas")
		}
		shown.PrintDefaults()
	}
	// Positional arguments come first; flags may follow them.
	var pos []string
	rest := args[1:]
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && len(pos) < want {
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	err := cmdline.Parse(flags, rest, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chat-server: %v (see %s --help)\n", err, name)
		return 2
	}
	pos = append(pos, flags.Args()...)
	if len(pos) != want {
		fmt.Fprintf(stderr, "chat-server: %s takes %d arguments (see %s --help)\n", name, want, name)
		return 2
	}
	nick := pos[0]
	if err := chat.ValidateNick(nick); err != nil {
		fmt.Fprintln(stderr, "chat-server:", err)
		return 2
	}
	if s.Redis == "" {
		if _, err := os.Stat(filepath.Join(s.Data, "chat.db")); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "chat-server: no data in %s (no chat.db there); check --data\n", s.Data)
			return 1
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(*s, log, false)
	if err != nil {
		fmt.Fprintln(stderr, "chat-server:", err)
		return 1
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch action {
	case "add":
		var limit []string
		for _, r := range strings.Split(rooms, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			if err := chat.ValidateRoom(r); err != nil {
				fmt.Fprintln(stderr, "chat-server:", err)
				return 2
			}
			limit = append(limit, r)
		}
		secret, id := server.NewAccessToken()
		t := store.AccessToken{ID: id, Hash: server.TokenHash(secret), Nick: nick, Name: pos[1], Rooms: limit, Created: time.Now().UTC()}
		if err := st.CreateToken(ctx, t); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				err = fmt.Errorf("no account %s", nick)
			}
			fmt.Fprintln(stderr, "chat-server: create token:", err)
			return 1
		}
		fmt.Fprintln(stdout, secret)
	case "list":
		list, err := st.Tokens(ctx, nick)
		if err != nil {
			fmt.Fprintln(stderr, "chat-server: list tokens:", err)
			return 1
		}
		for _, t := range list {
			rooms := "*"
			if len(t.Rooms) > 0 {
				rooms = strings.Join(t.Rooms, ",")
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", t.ID, chat.TerminalSafe(t.Name, false), rooms, t.Created.UTC().Format(time.RFC3339))
		}
	case "del":
		if _, err := st.DeleteToken(ctx, nick, pos[1]); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				err = fmt.Errorf("%s has no token %s", nick, pos[1])
			}
			fmt.Fprintln(stderr, "chat-server: revoke token:", err)
			return 1
		}
		fmt.Fprintf(stdout, "token %s of %s revoked\n", pos[1], nick)
	}
	return 0
}
