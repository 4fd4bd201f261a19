package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// TestCommandTableIsTheOnlyList adds a command by adding one entry to the
// table, as version 2's commands will be added, and checks that the parser,
// Enter, /help and the F1 screen all know it from that entry alone. It
// changes the package's table, so it must not run in parallel with others.
func TestCommandTableIsTheOnlyList(t *testing.T) {
	var got []string
	echo := &slashCommand{name: "echo", args: "NICK TEXT", help: "say TEXT to NICK",
		run: func(m *Model, a []string) tea.Cmd { got = a; return nil }}
	commands = append(commands, echo)
	t.Cleanup(func() { commands = slices.DeleteFunc(commands, func(c *slashCommand) bool { return c == echo }) })

	m, _ := newChatModel(t, 100, 40, nil, false)
	typeText(m, "/ECHO bob  hello   there ")
	m.Update(keyType(tea.KeyEnter))
	if len(got) != 2 || got[0] != "bob" || got[1] != "hello   there" {
		t.Fatalf("the handler got %q, want [bob, hello   there]", got)
	}
	if m.input.Value() != "" {
		t.Errorf("the input kept %q after the command ran", m.input.Value())
	}
	typeText(m, "/echo bob")
	m.Update(keyType(tea.KeyEnter))
	if v := m.View(); !strings.Contains(v, "usage: /echo NICK TEXT") {
		t.Errorf("a missing TEXT is not answered with the usage:\n%s", v)
	}
	m.resetInput()

	typeText(m, "/help")
	m.Update(keyType(tea.KeyEnter))
	m.Update(keyType(tea.KeyF1))
	help := strings.Join(m.helpLines(), "\n")
	m.Update(keyType(tea.KeyF1))
	listed := m.View()
	for _, c := range commands {
		line := fmt.Sprintf("%-14s %s", c.usage(), c.help)
		if !strings.Contains(listed, line) {
			t.Errorf("/help does not list %q:\n%s", line, listed)
		}
		if !strings.Contains(help, fmt.Sprintf("  %-17s %s", c.usage(), c.help)) {
			t.Errorf("the F1 screen does not list %s:\n%s", c.usage(), help)
		}
	}
}

// TestParseArgsShapes checks the argument shapes version 2's commands need
// (a nick then text, an optional flag word) on table entries made here.
func TestParseArgsShapes(t *testing.T) {
	for _, tc := range []struct {
		args, rest string
		want       []string
		wantErr    string
	}{
		{args: "NICK TEXT", rest: "bob hi there", want: []string{"bob", "hi there"}},
		{args: "NICK TEXT", rest: "bob", wantErr: "usage: /x NICK TEXT"},
		{args: "NAME [--private]", rest: "dev --private", want: []string{"dev", "--private"}},
		{args: "NAME [--private]", rest: "dev", want: []string{"dev", ""}},
		{args: "NAME [--private]", rest: "dev a b", wantErr: "usage: /x NAME [--private]"},
		{args: "NICK [ROOM]", rest: "bob #dev", want: []string{"bob", "dev"}},
		{args: "ID", rest: "", wantErr: "usage: /x ID"},
		{args: "", rest: "y", wantErr: "usage: /x takes no argument"},
	} {
		c := &slashCommand{name: "x", args: tc.args}
		got, err := c.parseArgs(tc.rest)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q on %q: error %v, want %q", tc.args, tc.rest, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q on %q = %q, %v; want %q", tc.args, tc.rest, got, err, tc.want)
		}
	}
}
