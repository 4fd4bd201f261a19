package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
)

// keyMap holds the chat's own bindings; everything else goes to the input.
// The bindings follow design/NOTES.md ("The TUI's keys, settled").
type keyMap struct {
	Send      key.Binding
	Newline   key.Binding
	Help      key.Binding
	Reconnect key.Binding
	Complete  key.Binding
	Editor    key.Binding // the second key after Ctrl+X
	Quit      key.Binding
	Retry     key.Binding
	PageUp    key.Binding
	PageDown  key.Binding
	Top       key.Binding
	Bottom    key.Binding
	LineUp    key.Binding
	LineDown  key.Binding
	NextRoom  key.Binding
	PrevRoom  key.Binding
	GotoRoom  key.Binding
	CloseHelp key.Binding
}

func defaultKeyMap() keyMap {
	return keyMap{
		Send:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Newline:   key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"), key.WithHelp("alt+enter/ctrl+j", "newline")),
		Help:      key.NewBinding(key.WithKeys("f1"), key.WithHelp("F1", "help")),
		Reconnect: key.NewBinding(key.WithKeys("f5"), key.WithHelp("F5", "reconnect now")),
		Complete:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete nick, /cmd, #room")),
		Editor:    key.NewBinding(key.WithKeys("ctrl+e"), key.WithHelp("ctrl+x ctrl+e", "edit in $EDITOR")),
		Quit:      key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Retry:     key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "retry failed")),
		PageUp:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:       key.NewBinding(key.WithKeys("ctrl+home"), key.WithHelp("ctrl+home", "oldest")),
		Bottom:    key.NewBinding(key.WithKeys("ctrl+end"), key.WithHelp("ctrl+end", "newest")),
		LineUp:    key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "recall older (top line)")),
		LineDown:  key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "recall newer (last line)")),
		NextRoom:  key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "next room")),
		PrevRoom:  key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "previous room")),
		GotoRoom:  key.NewBinding(key.WithKeys("alt+1", "alt+2", "alt+3", "alt+4", "alt+5", "alt+6", "alt+7", "alt+8", "alt+9"), key.WithHelp("alt+1..9", "room 1..9")),
		CloseHelp: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help")),
	}
}

// ShortHelp is the status bar's hint.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Send, k.NextRoom, k.Quit}
}

// FullHelp is the F1 screen, in columns.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Send, k.Newline, k.Editor, k.Complete, k.LineUp, k.LineDown, k.Retry, k.Quit},
		{k.PageUp, k.PageDown, k.Top, k.Bottom, k.NextRoom, k.PrevRoom, k.GotoRoom},
		{k.Reconnect, k.Help, k.CloseHelp},
	}
}

// inputKeyMap is the textarea's map without the keys the chat takes:
// Enter sends (newline is Alt+Enter or Ctrl+J), Ctrl+N/Ctrl+P switch rooms,
// Ctrl+Home/Ctrl+End scroll the messages.
func inputKeyMap() textarea.KeyMap {
	km := textarea.DefaultKeyMap
	km.InsertNewline = key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"))
	km.LineNext = key.NewBinding(key.WithKeys("down"))
	km.LinePrevious = key.NewBinding(key.WithKeys("up"))
	km.InputBegin = key.NewBinding(key.WithKeys("alt+<"))
	km.InputEnd = key.NewBinding(key.WithKeys("alt+>"))
	km.Paste = key.NewBinding(key.WithDisabled())
	return km
}

// keyBindings names the bindings config.toml's [keys] may change, by the
// name it uses for each.
func (k *keyMap) keyBindings() map[string]*key.Binding {
	return map[string]*key.Binding{
		"send": &k.Send, "newline": &k.Newline, "help": &k.Help, "reconnect": &k.Reconnect,
		"complete": &k.Complete, "quit": &k.Quit, "retry": &k.Retry,
		"page_up": &k.PageUp, "page_down": &k.PageDown, "oldest": &k.Top, "newest": &k.Bottom,
		"next_room": &k.NextRoom, "prev_room": &k.PrevRoom, "close_help": &k.CloseHelp,
	}
}

// keyNames lists the names of keyBindings, sorted.
func keyNames() []string {
	var k keyMap
	names := make([]string, 0, 16)
	for n := range k.keyBindings() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// binding returns the binding config.toml calls name.
func (k *keyMap) binding(name string) *key.Binding { return k.keyBindings()[name] }

// rebind gives the named actions the keys config.toml set for them; the
// help shows the new keys.
func (k *keyMap) rebind(keys map[string][]string) {
	for name, ks := range keys {
		b := k.binding(name)
		if b == nil || len(ks) == 0 {
			continue
		}
		b.SetKeys(ks...)
		b.SetHelp(strings.Join(ks, "/"), b.Help().Desc)
	}
}
