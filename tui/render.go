package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/ssechat/chat/chat"
)

type entryKind int

const (
	entryMessage entryKind = iota // a chat message: from the server, or ours being sent
	entryJoin                     // someone joined
	entryLeave                    // someone left
	entryNotice                   // a local line: command output, history reloaded ...
	entryError                    // a local error line
	entryTopic                    // someone else changed the topic (a room event)
)

type sendState int

const (
	stateSent    sendState = iota // the server holds it (it has an id)
	statePending                  // ours, on its way
	stateFailed                   // ours, not accepted; Ctrl+R retries
)

// entry is one item of a room's scrollback. Its text fields are already
// sanitized; its lines are cached for one width and redone only when the
// width (or its day-break flag, or its state) changes.
type entry struct {
	kind     entryKind
	id       string // server id; "" for our unsent messages and local lines
	clientID string
	nick     string // sanitized
	text     string // sanitized, tabs expanded, newlines kept
	action   bool
	ts       time.Time
	state    sendState
	reason   string           // why sending failed (sanitized)
	post     chat.PostMessage // what to send again on retry

	cacheWidth int
	cacheDay   bool
	lines      []string
	day        int            // calendar day of ts in dayLoc, cached: walking
	dayLoc     *time.Location // 20 000 entries must not convert 40 000 times
}

// safeText makes text from another user safe for the terminal: no escape
// sequence, control or bidi character survives; tabs become spaces.
func safeText(s string) string {
	s = chat.TerminalSafe(s, true)
	if strings.Contains(s, "\t") {
		s = strings.ReplaceAll(s, "\t", "    ")
	}
	return s
}

// safeLine is safeText for one-line fields: nicks, topics, room names, errors.
func safeLine(s string) string { return chat.TerminalSafe(s, false) }

func messageEntry(m chat.Message) *entry {
	return &entry{
		kind:     entryMessage,
		id:       m.ID,
		clientID: m.ClientID,
		nick:     safeLine(m.Nick),
		text:     safeText(m.Text),
		action:   m.Kind == chat.KindAction,
		ts:       m.TS,
	}
}

func localEntry(kind entryKind, text string, ts time.Time) *entry {
	return &entry{kind: kind, text: safeText(text), ts: ts}
}

// invalidate drops the cached lines after the entry changed.
func (e *entry) invalidate() { e.lines = nil }

// renderer turns entries into screen lines for one pane width.
type renderer struct {
	width int
	loc   *time.Location
	st    *styles
}

func (rd *renderer) dayOf(e *entry) int {
	if e.dayLoc != rd.loc {
		y, m, d := e.ts.In(rd.loc).Date()
		e.day, e.dayLoc = y*10000+int(m)*100+d, rd.loc
	}
	return e.day
}

// nickWidth is the nick column: 10 cells, less on narrow screens.
func (rd *renderer) nickWidth() int { return min(10, max(4, rd.width/5)) }

func (e *entry) render(rd *renderer, dayBreak bool) []string {
	if e.lines != nil && e.cacheWidth == rd.width && e.cacheDay == dayBreak {
		return e.lines
	}
	e.lines = e.layout(rd, dayBreak)
	e.cacheWidth, e.cacheDay = rd.width, dayBreak
	return e.lines
}

func (e *entry) layout(rd *renderer, dayBreak bool) []string {
	st := rd.st
	var out []string
	if dayBreak {
		out = append(out, daySeparator(rd, e.ts))
	}
	nw := rd.nickWidth()
	prefixW := 6 + nw + 3
	textW := max(1, rd.width-prefixW)

	clock := e.ts.In(rd.loc).Format("15:04")
	var tag string
	tagStyle := st.system
	textStyle := st.text
	body := e.text
	switch e.kind {
	case entryMessage:
		if e.action {
			tag = "*"
			tagStyle = st.action
			textStyle = st.action
			body = e.nick + " " + e.text
		} else {
			tag = e.nick
			tagStyle = nickStyle(e.nick)
		}
		switch e.state {
		case statePending:
			clock = " ... "
			textStyle = st.pending
		case stateFailed:
			clock = "  !  "
			textStyle = st.failed
		}
	case entryJoin:
		tag, textStyle = "-->", st.system
	case entryLeave:
		tag, textStyle = "<--", st.system
	case entryNotice:
		tag, textStyle = "--", st.notice
	case entryTopic:
		tag, textStyle = "--", st.system
	case entryError:
		tag, tagStyle, textStyle = "!!", st.errorLine, st.errorLine
	}
	if ansi.StringWidth(tag) > nw {
		tag = ansi.Truncate(tag, nw, "…")
	}
	tag = strings.Repeat(" ", nw-ansi.StringWidth(tag)) + tag

	wrapped := strings.Split(ansi.Wrap(body, textW, ""), "\n")
	if e.kind == entryMessage && e.state == stateFailed {
		wrapped = append(wrapped, strings.Split(ansi.Wrap("not sent: "+e.reason+" (Ctrl+R retries)", textW, ""), "\n")...)
	}
	indent := strings.Repeat(" ", prefixW-3)
	bar := st.system.Render(" │ ")
	for i, l := range wrapped {
		l = strings.TrimRight(l, " ")
		if i == 0 {
			out = append(out, st.time.Render(clock)+" "+tagStyle.Render(tag)+bar+textStyle.Render(l))
		} else {
			out = append(out, indent+bar+textStyle.Render(l))
		}
	}
	return out
}

func daySeparator(rd *renderer, t time.Time) string {
	label := " " + t.In(rd.loc).Format("Mon 2 Jan 2006") + " "
	w := ansi.StringWidth(label)
	if w >= rd.width {
		return rd.st.daySep.Render(ansi.Truncate(label, rd.width, ""))
	}
	left := (rd.width - w) / 2
	right := rd.width - w - left
	return rd.st.daySep.Render(strings.Repeat("─", left) + label + strings.Repeat("─", right))
}
