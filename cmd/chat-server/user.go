package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/store"
)

// runUser is "chat-server user add|passwd|del NICK": account management on
// the data directory, with or without the server running. passwd and del
// revoke the account's sessions.
func runUser(args []string, s *settings, stdin *os.File, stdout, stderr io.Writer) int {
	usage := "usage: chat-server user add|passwd|del NICK [flags]"
	if len(args) < 2 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	action, nick := args[0], args[1]
	// Flags may also follow the nick (chat-server user add alice --data d).
	rest, err := parse("chat-server user", args[2:], s, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "chat-server:", err)
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err := chat.ValidateNick(nick); err != nil {
		fmt.Fprintln(stderr, "chat-server:", err)
		return 2
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
		pw, err := readPassword(stdin, stderr)
		if err == nil {
			err = addUser(ctx, st, s.Server.Password, nick, pw)
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
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	return 0
}

func addUser(ctx context.Context, st store.Store, p server.PasswordParams, nick, pw string) error {
	if err := chat.ValidatePassword(pw); err != nil {
		return err
	}
	hash, err := server.HashPassword(p, pw)
	if err != nil {
		return err
	}
	err = st.CreateAccount(ctx, store.Account{Nick: nick, PasswordHash: hash, Created: time.Now().UTC()})
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
