package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/tui"
)

// login is "chat login": the password from the terminal (without echo) or
// one line of stdin; the session is saved where chat-tui keeps its own.
func (c *cli) login(ctx context.Context, args []string) int {
	fs := c.subFlags("login", "chat --nick NICK login", "Log in as NICK (a new nick registers when the server's registration is open)\nand save the session where chat-tui saves its own. The password is read\nfrom the terminal, or as one line from stdin.")
	if code, done := c.parseSub(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "chat: unexpected argument %q (see chat login --help)\n", fs.Arg(0))
		return 2
	}
	if err := chat.ValidateNick(c.s.Nick); err != nil {
		fmt.Fprintln(c.stderr, "chat: login needs --nick (or CHAT_NICK):", err)
		return 2
	}
	pw, err := readPassword(c.stdin, c.stderr)
	if err != nil {
		return c.failf("%v", err)
	}
	server := strings.TrimRight(c.s.Server, "/")
	cl := client.New(server)
	defer cl.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := cl.Login(ctx, c.s.Nick, pw)
	if err != nil {
		return c.failf("log in: %v", err)
	}
	if err := tui.OpenState(c.s.State).SaveToken(server, info.Nick, info.Token); err != nil {
		return c.failf("save session: %v", err)
	}
	fmt.Fprintf(c.stderr, "chat: logged in as %s on %s\n", info.Nick, server)
	return 0
}

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
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

// send is "chat send ROOM TEXT..." and "chat send --lines ROOM": each
// message gets its own client_id, and the client library retries it with
// that id, so a lost answer never posts it twice.
func (c *cli) send(ctx context.Context, args []string) int {
	fs := c.subFlags("send", "chat send ROOM TEXT...\n  chat send --lines ROOM < FILE",
		"Send TEXT (the arguments joined by spaces) to ROOM; with --lines, send each\nnon-empty line of stdin as its own message, in order. Lost answers are\nretried without posting twice.")
	lines := fs.Bool("lines", false, "read the messages from stdin, one a line")
	if code, done := c.parseSub(fs, args); done {
		return code
	}
	if fs.NArg() < 1 || (!*lines && fs.NArg() < 2) || (*lines && fs.NArg() > 1) {
		fmt.Fprintln(c.stderr, "chat: send takes ROOM and TEXT, or --lines and ROOM (see chat send --help)")
		return 2
	}
	room := fs.Arg(0)
	cl, err := c.client()
	if err != nil {
		return c.failf("%v", err)
	}
	defer cl.CloseIdleConnections()
	post := func(text string) error {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		_, err := cl.Send(ctx, room, chat.PostMessage{Text: text})
		return err
	}
	if !*lines {
		if err := post(strings.Join(fs.Args()[1:], " ")); err != nil {
			return c.failf("send: %v", err)
		}
		return 0
	}
	sc := bufio.NewScanner(c.stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if err := post(sc.Text()); err != nil {
			return c.failf("send: %v", err)
		}
	}
	if err := sc.Err(); err != nil {
		return c.failf("read stdin: %v", err)
	}
	return 0
}

// rooms is "chat rooms": one room a line, its name, how many are online
// and its topic (terminal-safe), separated by tabs.
func (c *cli) rooms(ctx context.Context, args []string) int {
	fs := c.subFlags("rooms", "chat rooms", "List the rooms, one a line: name, online count and topic, separated by tabs.")
	if code, done := c.parseSub(fs, args); done {
		return code
	}
	cl, err := c.client()
	if err != nil {
		return c.failf("%v", err)
	}
	defer cl.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rooms, err := cl.Rooms(ctx)
	if err != nil {
		return c.failf("list rooms: %v", err)
	}
	for _, r := range rooms {
		fmt.Fprintf(c.stdout, "%s\t%d\t%s\n", r.Name, r.Online, chat.TerminalSafe(r.Topic, false))
	}
	return 0
}
