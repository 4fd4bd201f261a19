package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// cursor remembers, per server and room, the id of the last message tail
// printed, in one JSON file replaced atomically after each message, so a
// tail started again goes on after it: each message printed once.
type cursor struct {
	path string
	ids  map[string]string
}

func loadCursor(path string) (*cursor, error) {
	c := &cursor{path: path, ids: map[string]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &c.ids)
	}
	if err != nil {
		return nil, fmt.Errorf("read cursor %s: %w", path, err)
	}
	return c, nil
}

func cursorKey(server, room string) string { return server + " " + room }

func (c *cursor) save(key, id string) error {
	c.ids[key] = id
	b, err := json.Marshal(c.ids)
	if err != nil {
		return fmt.Errorf("encode cursor: %w", err)
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cursor dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".cursor-*")
	if err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write cursor: %w", err)
	}
	return nil
}

// tail is "chat tail ROOM...": every new message of the rooms, one a line,
// as JSON (the message as the API gives it) or as text. With no cursor yet
// for a room it starts after the room's newest message when it starts, so
// a message posted after the command began is never missed.
func (c *cli) tail(ctx context.Context, args []string) int {
	fset := c.subFlags("tail", "chat tail [--format json|text] [--cursor FILE] ROOM...",
		"Print each new message of the rooms, one a line: JSON (the message as the API\n"+
			"gives it: id, room, nick, kind, text, ts, and via for a bot's) or text. The id\n"+
			"of the last message printed per room is kept in the cursor file, so tail\n"+
			"started again goes on where it stopped and prints each message once; the\n"+
			"client library resumes the same way across a server restart. Ends on\n"+
			"SIGINT or SIGTERM, or when the credential is refused.\n\n"+
			"chat tail --all (every room of the account) waits for the account's own\n"+
			"stream on the server and is not available yet.")
	format := fset.String("format", "json", "json or text (hostile text made terminal-safe)")
	cursorPath := fset.String("cursor", "", "the cursor file (default: tail-cursor.json in --state)")
	all := fset.Bool("all", false, "every room of the account (not available yet)")
	if code, done := c.parseSub(fset, args); done {
		return code
	}
	if *all {
		fmt.Fprintln(c.stderr, "chat: tail --all needs the account's stream, which this server does not offer yet; name the rooms")
		return 2
	}
	if *format != "json" && *format != "text" {
		fmt.Fprintf(c.stderr, "chat: --format %q: want json or text\n", *format)
		return 2
	}
	rooms := slices.Compact(slices.Sorted(slices.Values(fset.Args())))
	if len(rooms) == 0 {
		fmt.Fprintln(c.stderr, "chat: tail needs at least one ROOM (see chat tail --help)")
		return 2
	}
	for _, r := range rooms {
		if err := chat.ValidateRoom(r); err != nil {
			fmt.Fprintln(c.stderr, "chat:", err)
			return 2
		}
	}
	if *cursorPath == "" {
		if c.s.State == "" {
			fmt.Fprintln(c.stderr, "chat: no state directory for the cursor: pass --cursor")
			return 2
		}
		*cursorPath = filepath.Join(c.s.State, "tail-cursor.json")
	}
	cur, err := loadCursor(*cursorPath)
	if err != nil {
		return c.failf("%v", err)
	}
	cl, err := c.client()
	if err != nil {
		return c.failf("%v", err)
	}
	defer cl.CloseIdleConnections()
	server := strings.TrimRight(c.s.Server, "/")

	// Where each room starts: its cursor, else its newest message now.
	from := map[string]string{}
	var fresh []string
	for _, r := range rooms {
		if id := cur.ids[cursorKey(server, r)]; id != "" {
			from[r] = id
		} else {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) > 0 {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		list, err := cl.Rooms(lctx)
		cancel()
		if err != nil {
			return c.failf("list rooms: %v", err)
		}
		for _, r := range fresh {
			i := slices.IndexFunc(list, func(x chat.Room) bool { return x.Name == r })
			if i < 0 {
				return c.failf("no room %s", r)
			}
			from[r] = "0" // an empty room: from its first message
			if list[i].LastID != nil {
				from[r] = *list[i].LastID
			}
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan client.Event)
	var wg sync.WaitGroup
	for _, r := range rooms {
		ch := cl.Subscribe(ctx, r, from[r])
		wg.Go(func() {
			for ev := range ch {
				select {
				case events <- ev:
				case <-ctx.Done():
				}
			}
		})
	}
	go func() { wg.Wait(); close(events) }()
	defer func() {
		cancel()
		for range events { // let every subscription end
		}
	}()

	for ev := range events {
		switch {
		case ev.Message != nil:
			m := ev.Message
			if err := c.printMessage(*format, m); err != nil {
				return c.failf("write: %v", err)
			}
			if err := cur.save(cursorKey(server, m.Room), m.ID); err != nil {
				return c.failf("%v", err)
			}
		case ev.Reset != nil:
			fmt.Fprintf(c.stderr, "chat: %s: the server could not replay everything since the last message (%s); some messages were missed\n", ev.Room, ev.Reset.Reason)
		case ev.State != nil:
			switch ev.State.State {
			case client.StateUnauthorized:
				return c.failf("%s: the credential was refused (revoked or expired): %v", ev.Room, ev.State.Err)
			case client.StateClosed:
				return c.failf("%s: the server refused the stream: %v", ev.Room, ev.State.Err)
			}
		}
	}
	return 0
}

// printMessage writes one message line. Text lines keep to one line each:
// the text is made terminal-safe with its newlines turned into spaces, and
// a bot's message (via a hook) has a ⚙ before its nick.
func (c *cli) printMessage(format string, m *chat.Message) error {
	if format == "json" {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(append(b, '\n'))
		return err
	}
	nick := chat.TerminalSafe(m.Nick, false)
	if m.Via != "" {
		nick = "⚙" + nick
	}
	text := chat.TerminalSafe(m.Text, false)
	if m.Kind == chat.KindAction {
		_, err := fmt.Fprintf(c.stdout, "%s #%s * %s %s\n", m.TS.UTC().Format(time.RFC3339), m.Room, nick, text)
		return err
	}
	_, err := fmt.Fprintf(c.stdout, "%s #%s <%s> %s\n", m.TS.UTC().Format(time.RFC3339), m.Room, nick, text)
	return err
}
