package tui

import (
	"fmt"
	"strings"
)

// command is one parsed line of input.
type command struct {
	name string // "" for a plain message; otherwise "join", "me", ...
	arg  string // the rest of the line, trimmed (the text for plain messages)
}

// commandHelp lists the commands for /help, in order.
var commandHelp = []struct{ usage, what string }{
	{"/join ROOM", "join ROOM, creating it if missing"},
	{"/part [ROOM]", "leave this room (or ROOM)"},
	{"/me TEXT", "send an action"},
	{"/topic [TEXT]", "show or set the topic"},
	{"/who", "list who is online here"},
	{"/help", "this list (F1 for the keys)"},
	{"/quit", "leave chat-tui"},
	{"//TEXT", "send TEXT starting with one /"},
}

var knownCommands = map[string]bool{
	"join": true, "part": true, "me": true, "topic": true, "who": true, "help": true, "quit": true,
}

// parseInput splits an input line into a command. A line starting with "//"
// is a message starting with "/". An unknown command is an error, so a typo
// is never sent to the room.
func parseInput(s string) (command, error) {
	if !strings.HasPrefix(s, "/") {
		return command{arg: s}, nil
	}
	if strings.HasPrefix(s, "//") {
		return command{arg: s[1:]}, nil
	}
	name, arg, _ := strings.Cut(s[1:], " ")
	if i := strings.IndexAny(name, "\n\t"); i >= 0 {
		arg = name[i+1:] + " " + arg
		name = name[:i]
	}
	name = strings.ToLower(name)
	if !knownCommands[name] {
		return command{}, fmt.Errorf("unknown command /%s: /help lists the commands; nothing was sent", name)
	}
	arg = strings.TrimSpace(arg)
	switch name {
	case "join":
		if arg == "" || strings.ContainsAny(arg, " \n\t") {
			return command{}, fmt.Errorf("usage: /join ROOM")
		}
		arg = strings.TrimPrefix(arg, "#")
	case "part":
		if strings.ContainsAny(arg, " \n\t") {
			return command{}, fmt.Errorf("usage: /part [ROOM]")
		}
		arg = strings.TrimPrefix(arg, "#")
	case "me":
		if arg == "" {
			return command{}, fmt.Errorf("usage: /me TEXT")
		}
	case "who", "help", "quit":
		if arg != "" {
			return command{}, fmt.Errorf("usage: /%s takes no argument", name)
		}
	}
	return command{name: name, arg: arg}, nil
}
