package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/cmdline"
	"github.com/ssechat/chat/internal/envflag"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/store"
)

// userAction is one of the "chat-server user" commands.
type userAction struct {
	name string
	nick bool // takes a NICK
	what string
}

var userActions = []userAction{
	{name: "add", nick: true, what: "Create the account NICK. The password is read from the terminal (twice,\nwithout echo), or as one line from stdin when it is not a terminal."},
	{name: "passwd", nick: true, what: "Change the password of NICK (read as add reads it) and revoke all its\nsessions."},
	{name: "del", nick: true, what: "Delete the account NICK and revoke all its sessions."},
	{name: "list", what: "List the accounts, one a line: the nick as created, a tab, and the time\nit was created (UTC, RFC 3339), sorted by nick."},
}

func (a userAction) synopsis() string {
	if a.nick {
		return "chat-server user " + a.name + " NICK [flags]"
	}
	return "chat-server user " + a.name + " [flags]"
}

// userUsage is the help of "chat-server user".
func userUsage() string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, a := range userActions {
		fmt.Fprintf(&b, "  %s\n", a.synopsis())
	}
	b.WriteString("\nManage accounts in the server's store (--data or --redis), with or without\n" +
		"the server running. Each command has its own help: chat-server user add --help.\n")
	return b.String()
}

// userFlags is the flag set of one user command. It takes every flag of
// the server, so that a script may pass a user command the same flags as
// the server, but its help shows only those that matter here: where the
// data is and the password hash's cost. The flags start from what the main
// flags and the CHAT_* variables made of s.
func userFlags(a userAction, s *settings) *flag.FlagSet {
	fs, _ := newFlags("chat-server user "+a.name, s, io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  %s\n\n%s\n\nFlags (the server's other flags are accepted and ignored here):\n", a.synopsis(), a.what)
		shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
		shown.SetOutput(fs.Output())
		env, view := &envflag.Env{}, *s
		storeFlags(shown, env, &view)
		passwordFlags(shown, env, &view.Server.Password)
		if a.name == "add" {
			shown.Bool("admin", false, adminUsage)
		}
		shown.Bool("version", false, "print the version and exit")
		shown.PrintDefaults()
	}
	return fs
}

// runUser is "chat-server user add|passwd|del NICK" and "chat-server user
// list": account management on the store, with or without the server
// running. passwd and del revoke the account's sessions.
func runUser(args []string, s *settings, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, userUsage())
		return 0
	}
	i := slices.IndexFunc(userActions, func(a userAction) bool { return a.name == args[0] })
	if i < 0 {
		fmt.Fprintf(stderr, "chat-server: unknown user command %q\n%s", args[0], userUsage())
		return 2
	}
	a, rest := userActions[i], args[1:]
	// The nick comes first; flags may follow it (chat-server user add
	// alice --data d) or come before it.
	var nick string
	if a.nick && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		nick, rest = rest[0], rest[1:]
	}
	flags := userFlags(a, s)
	admin := false
	if a.name == "add" {
		flags.BoolVar(&admin, "admin", false, adminUsage)
	}
	err := cmdline.Parse(flags, rest, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	name := flags.Name()
	if err != nil {
		fmt.Fprintf(stderr, "chat-server: %v (see %s --help)\n", err, name)
		return 2
	}
	extra := flags.Args()
	if a.nick && nick == "" && len(extra) > 0 {
		nick, extra = extra[0], extra[1:]
	}
	switch {
	case a.nick && nick == "":
		fmt.Fprintf(stderr, "chat-server: %s needs a NICK (see %s --help)\n", name, name)
		return 2
	case len(extra) > 0:
		fmt.Fprintf(stderr, "chat-server: unexpected argument %q (see %s --help)\n", extra[0], name)
		return 2
	}
	if a.nick {
		if err := chat.ValidateNick(nick); err != nil {
			fmt.Fprintln(stderr, "chat-server:", err)
			return 2
		}
	}
	// Only add may make the data directory: the others on a mistyped --data
	// would otherwise leave an empty database behind and answer for it.
	if s.Redis == "" && a.name != "add" {
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

	switch a.name {
	case "add":
		pw, err := readPassword(stdin, stderr)
		if err == nil {
			err = addUser(ctx, st, s.Server.Password, nick, pw, admin)
		}
		if err != nil {
			fmt.Fprintln(stderr, "chat-server:", err)
			return 1
		}
		fmt.Fprintf(stdout, "account %s created\n", nick)
	case "passwd":
		if _, err := st.Account(ctx, nick); err != nil {
			fmt.Fprintf(stderr, "chat-server: account %s: %v\n", nick, err)
			return 1
		}
		pw, err := readPassword(stdin, stderr)
		if err == nil {
			err = setPassword(ctx, st, s.Server.Password, nick, pw)
		}
		if err != nil {
			fmt.Fprintln(stderr, "chat-server:", err)
			return 1
		}
		fmt.Fprintf(stdout, "password of %s changed; its sessions are revoked\n", nick)
	case "del":
		if err := st.DeleteSessions(ctx, nick); err != nil && !errors.Is(err, store.ErrNotFound) {
			fmt.Fprintln(stderr, "chat-server: revoke sessions:", err)
			return 1
		}
		if err := st.DeleteAccount(ctx, nick); err != nil {
			fmt.Fprintf(stderr, "chat-server: delete account %s: %v\n", nick, err)
			return 1
		}
		fmt.Fprintf(stdout, "account %s deleted; its sessions are revoked\n", nick)
	case "list":
		accounts, err := st.Accounts(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "chat-server: list accounts:", err)
			return 1
		}
		for _, acct := range accounts {
			fmt.Fprintf(stdout, "%s\t%s\n", acct.Nick, acct.Created.UTC().Format(time.RFC3339))
		}
	}
	return 0
}

// adminUsage is the help of user add --admin, the command's own flag.
const adminUsage = "make a server admin: it manages the public rooms without an owner (such as general) and acts as an admin of the other public rooms"

func addUser(ctx context.Context, st store.Store, p server.PasswordParams, nick, pw string, admin bool) error {
	if err := chat.ValidatePassword(pw); err != nil {
		return err
	}
	hash, err := server.HashPassword(p, pw)
	if err != nil {
		return err
	}
	err = st.CreateAccount(ctx, store.Account{Nick: nick, PasswordHash: hash, Created: time.Now().UTC(), Admin: admin})
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("the nick %s is taken", nick)
	}
	return err
}

func setPassword(ctx context.Context, st store.Store, p server.PasswordParams, nick, pw string) error {
	if err := chat.ValidatePassword(pw); err != nil {
		return err
	}
	hash, err := server.HashPassword(p, pw)
	if err != nil {
		return err
	}
	if err := st.SetPassword(ctx, nick, hash); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := st.DeleteSessions(ctx, nick); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

// readPassword reads the password from the terminal (twice, without echo),
// or one line from stdin when it is not a terminal.
func readPassword(stdin *os.File, prompt io.Writer) (string, error) {
	fd := int(stdin.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(prompt, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(prompt, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords differ")
	}
	return string(a), nil
}
