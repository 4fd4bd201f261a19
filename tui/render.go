package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// renderer turns entries into screen lines for one pane width.
type renderer struct {
	width int
	loc   *time.Location
	st    *styles
}

// nickWidth is the nick column: 10 cells, less on narrow screens.
func (rd *renderer) nickWidth() int { return min(10, max(4, rd.width/5)) }

// layout wraps the entry for rd's width, behind a day separator when
// dayBreak; entry.lines caches what it returns.
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
