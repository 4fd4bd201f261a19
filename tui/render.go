package tui

import (
	"fmt"
	"hash/crc32"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// renderer turns entries into screen lines for one pane width.
type renderer struct {
	width   int
	loc     *time.Location
	styles  *styles
	longest int    // the widest nick of the room, in cells
	links   bool   // wrap URLs in OSC 8 hyperlinks
	clock   string // Go layout of the time column; "" is 15:04
}

func (rd *renderer) timeFormat() string {
	if rd.clock == "" {
		return "15:04"
	}
	return rd.clock
}

// clockWidth is the time column's width: that of a two-digit date and time
// in the layout, at most a third of the screen.
func (rd *renderer) clockWidth() int {
	sample := time.Date(2026, 12, 30, 23, 59, 59, 0, time.UTC).Format(rd.timeFormat())
	return max(1, min(ansi.StringWidth(sample), rd.width/3))
}

// centre puts s in the middle of w cells.
func centre(s string, w int) string {
	pad := max(0, w-ansi.StringWidth(s))
	return strings.Repeat(" ", pad/2) + s + strings.Repeat(" ", pad-pad/2)
}

// nickWidth is the nick column: as wide as the room's widest nick, at
// most a fifth of the screen (up to 20 cells), and at least 10 cells (less
// on a narrow screen), so that the common short nicks never make the
// column jump. A nick wider than that is cut in its middle (cutMiddle), so
// that two long nicks that differ at the end still look different.
func (rd *renderer) nickWidth() int {
	limit := max(4, min(20, rd.width/5))
	return min(max(rd.longest, 10), limit)
}

// cutMiddle shortens s to w cells by dropping its middle:
// "release-manager" at 13 cells is "releas…anager".
func cutMiddle(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	if w < 3 {
		return ansi.Truncate(s, w, "")
	}
	rs := []rune(s)
	right := (w - 1) / 2
	left := w - 1 - right
	head := ansi.Truncate(s, left, "")
	// Take runes from the end until right cells are filled.
	tail, tw := "", 0
	for i := len(rs) - 1; i >= 0; i-- {
		rw := ansi.StringWidth(string(rs[i]))
		if tw+rw > right {
			break
		}
		tail = string(rs[i]) + tail
		tw += rw
	}
	return head + strings.Repeat(" ", max(0, left-ansi.StringWidth(head))) + "…" + tail
}

// layout wraps the entry for rd's width, behind a day separator when
// dayBreak; entry.lines caches what it returns.
func (e *entry) layout(rd *renderer, dayBreak bool) []string {
	var out []string
	if dayBreak {
		out = append(out, daySeparator(rd, e.ts))
	}
	if e.kind == entryNew {
		return append(out, centred(rd, " new ", rd.styles.newLine))
	}
	nw := rd.nickWidth()
	cw := rd.clockWidth()
	prefixW := cw + 1 + nw + 3
	textW := max(1, rd.width-prefixW)

	clock := e.ts.In(rd.loc).Format(rd.timeFormat())
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
			tagStyle = rd.styles.nick(e.nick)
		}
		switch e.state {
		case statePending:
			clock = centre("...", cw)
			textStyle = rd.styles.pending
		case stateFailed:
			clock = centre("!", cw)
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
	case entryFold:
		tag, textStyle = "<->", rd.styles.system
	case entryError:
		tag, tagStyle, textStyle = "!!", rd.styles.errorLine, rd.styles.errorLine
	}
	tag = cutMiddle(tag, nw)
	tag = strings.Repeat(" ", nw-ansi.StringWidth(tag)) + tag

	wrapped, urls := wrapText(body, textW)
	switch {
	case e.kind == entryMessage && e.state == stateFailed:
		wrapped = append(wrapped, strings.Split(ansi.Wrap("not sent: "+e.reason+" (Ctrl+R retries)", textW, ""), "\n")...)
	case e.kind == entryMessage && e.state == statePending && e.reason != "":
		wrapped = append(wrapped, strings.Split(ansi.Wrap(e.reason, textW, ""), "\n")...)
	}
	indent := strings.Repeat(" ", prefixW-3)
	bar := rd.styles.system.Render(" │ ")
	for i, l := range wrapped {
		if u, ok := urls[i]; ok {
			// A URL too long for the text column gets lines of its own
			// from the left edge, not broken by the gutter, so the
			// terminal can open it.
			out = append(out, rd.link(u)...)
			continue
		}
		l = strings.TrimRight(l, " ")
		if i == 0 {
			clock = ansi.Truncate(clock, cw, "")
			clock += strings.Repeat(" ", cw-ansi.StringWidth(clock))
			out = append(out, rd.styles.time.Render(clock)+" "+tagStyle.Render(tag)+bar+textStyle.Render(l))
		} else {
			out = append(out, indent+bar+textStyle.Render(l))
		}
	}
	return out
}

func daySeparator(rd *renderer, t time.Time) string {
	return centred(rd, " "+t.In(rd.loc).Format("Mon 2 Jan 2006")+" ", rd.styles.daySep)
}

// centred is label in the middle of a rule across the pane.
func centred(rd *renderer, label string, style lipgloss.Style) string {
	w := ansi.StringWidth(label)
	if w >= rd.width {
		return style.Render(ansi.Truncate(label, rd.width, ""))
	}
	left := (rd.width - w) / 2
	right := rd.width - w - left
	return style.Render(strings.Repeat("─", left) + label + strings.Repeat("─", right))
}

// urlPattern finds http and https URLs in text already made terminal-safe.
var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// wrapText wraps body at width cells. A URL wider than width is not
// broken: it gets a line of its own, and urls maps that line's index to
// the URL, which the caller draws from the left edge. URLs that fit are
// wrapped like any word.
func wrapText(body string, width int) (lines []string, urls map[int]string) {
	wrap := func(s string) []string { return strings.Split(ansi.Wrap(s, width, ""), "\n") }
	for _, para := range strings.Split(body, "\n") {
		start, split := 0, false
		for _, loc := range urlPattern.FindAllStringIndex(para, -1) {
			u := para[loc[0]:loc[1]]
			if ansi.StringWidth(u) <= width || !linkable(u) {
				continue
			}
			before := para[start:loc[0]]
			if split {
				before = strings.TrimLeft(before, " ")
			}
			if before = strings.TrimRight(before, " "); before != "" {
				lines = append(lines, wrap(before)...)
			}
			if urls == nil {
				urls = map[int]string{}
			}
			urls[len(lines)] = u
			lines = append(lines, u)
			start, split = loc[1], true
		}
		if !split {
			lines = append(lines, wrap(para)...)
		} else if rest := strings.TrimLeft(para[start:], " "); rest != "" {
			lines = append(lines, wrap(rest)...)
		}
	}
	return lines, urls
}

// linkable reports whether u may go to the terminal as a link: an http or
// https URL of printable ASCII only. The text is another user's, so
// anything that could end the escape sequence early is refused.
func linkable(u string) bool {
	for i := 0; i < len(u); i++ {
		if u[i] <= 0x20 || u[i] >= 0x7f {
			return false
		}
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// link draws a URL from the left edge, over as many full-width lines as
// it needs (no gutter, no indent: it reads and copies as one piece), as an
// OSC 8 hyperlink to the whole URL when the terminal supports them; the
// pieces share one link id, so the terminal treats them as one link.
// linkable URLs are ASCII, so a piece is width bytes.
func (rd *renderer) link(u string) []string {
	var out []string
	id := fmt.Sprintf("id=chat-%08x", crc32.ChecksumIEEE([]byte(u)))
	for rest := u; rest != ""; {
		n := min(len(rest), max(1, rd.width))
		piece := rd.styles.url.Render(rest[:n])
		if rd.links && linkable(u) {
			piece = ansi.SetHyperlink(u, id) + piece + ansi.ResetHyperlink()
		}
		out = append(out, piece)
		rest = rest[n:]
	}
	return out
}
