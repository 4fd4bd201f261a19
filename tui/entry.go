package tui

import (
	"fmt"
	"strings"
	"time"

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
	entryFold                     // joins and leaves of people who did not speak lately, counted
	entryNew                      // the "── new ──" line above the first unread message
)

type sendState int

const (
	stateSent    sendState = iota // the server holds it (it has an id)
	statePending                  // ours, on its way
	stateFailed                   // ours, not accepted; Ctrl+R retries
)

// entry is one item of a room's scrollback. Its text fields are already
// sanitized. It owns the cache of its screen lines: lines lays it out once
// per width (and day-break flag), and the only changes an entry takes after
// it was made, markPending and markFailed, drop the cache themselves, so no
// caller has to remember to.
type entry struct {
	kind     entryKind
	id       string // server id; "" for our unsent messages and local lines
	clientID string
	nick     string // sanitized
	text     string // sanitized, tabs expanded, newlines kept
	action   bool
	ts       time.Time
	state    sendState
	reason   string           // why it is still waiting, or why sending failed (sanitized)
	post     chat.PostMessage // what to send again on retry

	joins, leaves int // entryFold: how many it counts

	cache lineCache
	day   dayCache
}

// lineCache holds an entry's lines for one pane width, nick column width,
// link setting and day-break flag.
type lineCache struct {
	width    int
	nickW    int
	links    bool
	dayBreak bool
	lines    []string // nil: nothing cached
}

// dayCache holds the calendar day of an entry's ts in one zone: walking
// 20 000 entries to place day separators must not convert 40 000 times.
type dayCache struct {
	loc *time.Location // nil: nothing cached
	day int            // year*10000 + month*100 + day
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

// pendingEntry is our message post, shown as on its way until the server
// answers. text is post.Text, already normalized.
func pendingEntry(nick string, post chat.PostMessage, ts time.Time) *entry {
	return &entry{
		kind: entryMessage, clientID: post.ClientID, nick: safeLine(nick),
		text: safeText(post.Text), action: post.Kind == chat.KindAction, ts: ts,
		state: statePending, post: post,
	}
}

func localEntry(kind entryKind, text string, ts time.Time) *entry {
	return &entry{kind: kind, text: safeText(text), ts: ts}
}

// markPending shows our failed message as on its way again (a retry).
func (e *entry) markPending() {
	e.state, e.reason = statePending, ""
	e.cache = lineCache{}
}

// markWaiting shows our message as on its way, and why it has not arrived
// yet ("waiting for the server"): the outbox keeps trying.
func (e *entry) markWaiting(reason string) {
	if e.state == statePending && e.reason == reason {
		return
	}
	e.state, e.reason = statePending, reason
	e.cache = lineCache{}
}

// count adds a join or a leave to a fold line ("3 joined, 2 left").
func (e *entry) count(join bool) {
	if join {
		e.joins++
	} else {
		e.leaves++
	}
	var parts []string
	if e.joins > 0 {
		parts = append(parts, fmt.Sprintf("%d joined", e.joins))
	}
	if e.leaves > 0 {
		parts = append(parts, fmt.Sprintf("%d left", e.leaves))
	}
	e.text = strings.Join(parts, ", ")
	e.cache = lineCache{}
}

// markFailed shows our message as not sent, and why.
func (e *entry) markFailed(reason string) {
	e.state, e.reason = stateFailed, reason
	e.cache = lineCache{}
}

// lines returns the entry's screen lines at rd's width, behind a day
// separator when dayBreak, laid out again only when the width or dayBreak
// differs from the cached ones.
func (e *entry) lines(rd *renderer, dayBreak bool) []string {
	c := &e.cache
	nw := rd.nickWidth()
	if c.lines != nil && c.width == rd.width && c.nickW == nw && c.links == rd.links && c.dayBreak == dayBreak {
		return c.lines
	}
	*c = lineCache{width: rd.width, nickW: nw, links: rd.links, dayBreak: dayBreak, lines: e.layout(rd, dayBreak)}
	return c.lines
}

// dayIn returns the calendar day of ts in loc, cached for one zone.
func (e *entry) dayIn(loc *time.Location) int {
	if e.day.loc != loc {
		y, m, d := e.ts.In(loc).Date()
		e.day = dayCache{loc: loc, day: y*10000 + int(m)*100 + d}
	}
	return e.day.day
}
