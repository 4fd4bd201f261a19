package tui

import (
	"slices"
	"strings"

	"github.com/ssechat/chat/chat"
)

// completion is the state of Tab completion between two Tabs: the text
// before the word being completed, the candidates found for it and the one
// shown. A Tab finds new candidates unless the input still holds exactly
// what the last Tab put there; then it shows the next one.
type completion struct {
	base       string   // the input before the completed word
	candidates []string // what the word may become, each with its trailing text
	idx        int
	shown      string // the input as the last Tab left it
}

// complete (Tab) completes the word before the cursor when the cursor is at
// the end of the input: a /command at the start of the line, a #room, or a
// nick, ranked by who spoke last in the room, then who is online. A nick
// at the start of the line becomes "alice: ", elsewhere "alice ". Tab
// again cycles through the candidates.
func (m *Model) complete() {
	v := m.input.Value()
	c := &m.comp
	if c.shown != "" && v == c.shown && len(c.candidates) > 1 {
		c.idx = (c.idx + 1) % len(c.candidates)
		m.setInput(c.base + c.candidates[c.idx])
		c.shown = m.input.Value()
		return
	}
	*c = completion{}
	if !m.cursorAtEnd() {
		return
	}
	i := strings.LastIndexAny(v, " \n") + 1
	base, word := v[:i], v[i:]
	if word == "" {
		return
	}
	var cands []string
	switch {
	case base == "" && strings.HasPrefix(word, "/") && !strings.HasPrefix(word, "//"):
		for _, cmd := range commands {
			if strings.HasPrefix(cmd.name, strings.ToLower(word[1:])) {
				cands = append(cands, "/"+cmd.name+" ")
			}
		}
	case strings.HasPrefix(word, "#"):
		for _, name := range m.roomNames() {
			if strings.HasPrefix(name, strings.ToLower(word[1:])) {
				cands = append(cands, "#"+name+" ")
			}
		}
	default:
		suffix := " "
		if base == "" {
			suffix = ": "
		}
		prefix := chat.NickKey(word)
		for _, n := range m.nickRanking() {
			if strings.HasPrefix(chat.NickKey(n), prefix) {
				cands = append(cands, n+suffix)
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	*c = completion{base: base, candidates: cands}
	m.setInput(base + cands[0])
	c.shown = m.input.Value()
}

// cursorAtEnd reports whether the input's cursor is after its last
// character: completion works on the word just typed.
func (m *Model) cursorAtEnd() bool {
	lines := splitLines(m.input.Value())
	if m.input.Line() != len(lines)-1 {
		return false
	}
	li := m.input.LineInfo()
	return li.StartColumn+li.ColumnOffset >= len([]rune(lines[len(lines)-1]))
}

// setInput replaces the input's text, with the cursor at its end.
func (m *Model) setInput(s string) {
	m.input.SetValue(s)
	m.input.CursorEnd()
	m.lastInput = s
	m.fitInput()
}

// nickRanking lists the nicks of the current room for completion: those
// who spoke, the latest first, then the others online, in order; never
// our own nick. The spellings are the sanitized ones shown.
func (m *Model) nickRanking() []string {
	r := m.cur()
	self := chat.NickKey(m.nick)
	seen := map[string]bool{self: true}
	var out []string
	addNick := func(n string) {
		k := chat.NickKey(n)
		if n == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, n)
	}
	for i := len(r.entries) - 1; i >= 0; i-- {
		if e := r.entries[i]; e.kind == entryMessage {
			addNick(e.nick)
		}
	}
	online := make([]string, 0, len(r.online))
	for _, n := range r.online {
		online = append(online, safeLine(n))
	}
	slices.SortFunc(online, func(a, b string) int { return strings.Compare(chat.NickKey(a), chat.NickKey(b)) })
	for _, n := range online {
		addNick(n)
	}
	return out
}

// roomNames lists the rooms for #completion: those joined, then the
// others the server listed.
func (m *Model) roomNames() []string {
	var out []string
	for _, r := range m.rooms {
		out = append(out, r.name)
	}
	for _, n := range m.serverRooms {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
