package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
)

// slashCommand is one /command. Its entry in commands is all there is to
// it: the parser checks its arguments against args, /help and the F1 screen
// list it from usage and help, and Enter runs it.
type slashCommand struct {
	name string // typed after the slash, in lower case
	// args describes the arguments, as the help shows them: each word
	// (ROOM, NICK ...) takes one word of the line and TEXT takes the rest;
	// one in [brackets] may be left out; a ROOM may be written #room. ""
	// means the command takes no argument.
	args string
	help string // what it does, for /help and F1
	// run does it, with one argument per word of args ("" for one left
	// out), after the input was cleared.
	run func(m *Model, args []string) tea.Cmd
}

// commands is every /command, in the order /help lists them. It is filled
// in init because /help's own handler lists it: a variable initialiser
// that refers to itself does not compile.
var commands []*slashCommand

func init() {
	commands = []*slashCommand{
		{name: "join", args: "ROOM", help: "join ROOM, creating it if missing",
			run: func(m *Model, a []string) tea.Cmd { return m.join(a[0]) }},
		{name: "create", args: "ROOM [--private]", help: "create ROOM; --private: members only",
			run: func(m *Model, a []string) tea.Cmd { return m.create(a[0], a[1]) }},
		{name: "msg", args: "NICK [TEXT]", help: "talk with NICK alone (and send TEXT)",
			run: func(m *Model, a []string) tea.Cmd { return m.directMessage(a[0], a[1]) }},
		{name: "invite", args: "NICK", help: "add NICK to this room",
			run: func(m *Model, a []string) tea.Cmd { return m.member(a[0], true) }},
		{name: "kick", args: "NICK", help: "remove NICK from this room",
			run: func(m *Model, a []string) tea.Cmd { return m.member(a[0], false) }},
		{name: "leave", args: "[ROOM]", help: "leave this room (or ROOM)",
			run: func(m *Model, a []string) tea.Cmd { return m.leave(a[0]) }},
		{name: "part", args: "[ROOM]", help: "the same as /leave",
			run: func(m *Model, a []string) tea.Cmd { return m.leave(a[0]) }},
		{name: "me", args: "TEXT", help: "send an action",
			run: func(m *Model, a []string) tea.Cmd { return m.send(a[0], chat.KindAction) }},
		{name: "topic", args: "[TEXT]", help: "show or set the topic",
			run: func(m *Model, a []string) tea.Cmd { return m.topic(a[0]) }},
		{name: "who", help: "list who is online here",
			run: func(m *Model, _ []string) tea.Cmd { return m.membersCmd(m.cur().name) }},
		{name: "help", help: "this list (F1 for the keys)",
			run: func(m *Model, _ []string) tea.Cmd { m.listCommands(); return nil }},
		{name: "quit", help: "leave chat-tui",
			run: func(m *Model, _ []string) tea.Cmd { m.quitting = true; return tea.Quit }},
	}
}

// usage is the command as the help shows it: "/join ROOM".
func (c *slashCommand) usage() string {
	if c.args == "" {
		return "/" + c.name
	}
	return "/" + c.name + " " + c.args
}

// commandHelp is the list /help and the F1 screen show: every command, then
// how to send a line that starts with a slash.
func commandHelp() []struct{ usage, what string } {
	out := make([]struct{ usage, what string }, 0, len(commands)+1)
	for _, c := range commands {
		out = append(out, struct{ usage, what string }{c.usage(), c.help})
	}
	return append(out, struct{ usage, what string }{"//TEXT", "send TEXT starting with one /"})
}

func findCommand(name string) *slashCommand {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// command is one parsed line of input.
type command struct {
	def  *slashCommand // nil for a plain message
	args []string      // one per argument of def; for a plain message, its text
}

// name is the command's name, "" for a plain message.
func (c command) name() string {
	if c.def == nil {
		return ""
	}
	return c.def.name
}

// arg returns argument i, "" when there is none.
func (c command) arg(i int) string {
	if i < len(c.args) {
		return c.args[i]
	}
	return ""
}

// parseInput splits an input line into a command. A line starting with "//"
// is a message starting with "/". An unknown command is an error, so a typo
// is never sent to the room.
func parseInput(s string) (command, error) {
	if !strings.HasPrefix(s, "/") {
		return command{args: []string{s}}, nil
	}
	if strings.HasPrefix(s, "//") {
		return command{args: []string{s[1:]}}, nil
	}
	name, rest, _ := strings.Cut(s[1:], " ")
	if i := strings.IndexAny(name, "\n\t"); i >= 0 {
		rest = name[i+1:] + " " + rest
		name = name[:i]
	}
	name = strings.ToLower(name)
	def := findCommand(name)
	if def == nil {
		return command{}, fmt.Errorf("unknown command /%s: /help lists the commands; nothing was sent", name)
	}
	args, err := def.parseArgs(strings.TrimSpace(rest))
	if err != nil {
		return command{}, err
	}
	return command{def: def, args: args}, nil
}

// parseArgs splits the rest of the line (trimmed) by c.args.
func (c *slashCommand) parseArgs(rest string) ([]string, error) {
	want := strings.Fields(c.args)
	if len(want) == 0 {
		if rest != "" {
			return nil, fmt.Errorf("usage: /%s takes no argument", c.name)
		}
		return nil, nil
	}
	usage := fmt.Errorf("usage: %s", c.usage())
	args := make([]string, len(want))
	for i, w := range want {
		optional := strings.HasPrefix(w, "[")
		w = strings.Trim(w, "[]")
		if w == "TEXT" {
			args[i], rest = rest, ""
		} else {
			word, after := rest, ""
			if j := strings.IndexAny(rest, " \n\t"); j >= 0 {
				word, after = rest[:j], strings.TrimLeft(rest[j:], " \n\t")
			}
			args[i], rest = word, after
		}
		if args[i] == "" && !optional {
			return nil, usage
		}
		if w == "ROOM" {
			args[i] = strings.TrimPrefix(args[i], "#")
		}
	}
	if rest != "" {
		return nil, usage
	}
	return args, nil
}
