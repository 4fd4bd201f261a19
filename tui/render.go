package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// renderer turns entries into screen lines for one pane width.
type renderer struct {
	width  int
	loc    *time.Location
	styles *styles
}

// nickWidth is the nick column: 10 cells, less on narrow screens.
func (rd *renderer) nickWidth() int { return min(10, max(4, rd.width/5)) }

// layout wraps the entry for rd's width, behind a day separator when
// dayBreak; entry.lines caches what it returns.
func (e *entry) layout(rd *renderer, dayBreak bool) []string {
	var out []string
	if dayBreak {
		out = append(out, daySeparator(rd, e.ts))
	}
	nw := rd.nickWidth()
	prefixW := 6 + nw + 3
	textW := max(1, rd.width-prefixW)

	clock := e.ts.In(rd.loc).Format("15:04")
	var tag string
	tagStyle := rd.styles.system
	textStyle := rd.styles.text
	body := e.text
	switch e.kind {
	case entryMessage:
		if e.action {
			tag = "*"
			tagStyle = rd.styles.action
			textStyle = rd.styles.action
			body = e.nick + " " + e.text
		} else {
			tag = e.nick
			tagStyle = nickStyle(e.nick)
		}
		switch e.state {
		case statePending:
			clock = " ... "
			textStyle = rd.styles.pending
		case stateFailed:
			clock = "  !  "
			textStyle = rd.styles.failed
		}
	case entryJoin:
		tag, textStyle = "-->", rd.styles.system
	case entryLeave:
		tag, textStyle = "<--", rd.styles.system
	case entryNotice:
		tag, textStyle = "--", rd.styles.notice
	case entryTopic:
		tag, textStyle = "--", rd.styles.system
	case entryError:
		tag, tagStyle, textStyle = "!!", rd.styles.errorLine, rd.styles.errorLine
	}
	if ansi.StringWidth(tag) > nw {
		tag = ansi.Truncate(tag, nw, "…")
	}
	tag = strings.Repeat(" ", nw-ansi.StringWidth(tag)) + tag

	wrapped := strings.Split(ansi.Wrap(body, textW, ""), "\n")
	switch {
	case e.kind == entryMessage && e.state == stateFailed:
		wrapped = append(wrapped, strings.Split(ansi.Wrap("not sent: "+e.reason+" (Ctrl+R retries)", textW, ""), "\n")...)
	case e.kind == entryMessage && e.state == statePending && e.reason != "":
		wrapped = append(wrapped, strings.Split(ansi.Wrap(e.reason, textW, ""), "\n")...)
	}
	indent := strings.Repeat(" ", prefixW-3)
	bar := rd.styles.system.Render(" │ ")
	for i, l := range wrapped {
		l = strings.TrimRight(l, " ")
		if i == 0 {
			out = append(out, rd.styles.time.Render(clock)+" "+tagStyle.Render(tag)+bar+textStyle.Render(l))
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
		return rd.styles.daySep.Render(ansi.Truncate(label, rd.width, ""))
	}
	left := (rd.width - w) / 2
	right := rd.width - w - left
	return rd.styles.daySep.Render(strings.Repeat("─", left) + label + strings.Repeat("─", right))
}
