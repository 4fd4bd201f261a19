package tui

import (
	"slices"
	"strings"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// room is what the model knows about one joined room.
type room struct {
	name  string // validated by chat.ValidateRoom before a room is made
	topic string // sanitized
	kind  string // chat.KindPublic, KindPrivate, KindDirect; "" until known
	// others are a direct room's other members (sanitized): the room is
	// shown as "@carol", not by its server-chosen name "dm-...".
	others []string
	// member: the server listed the room among the account's (MyRooms),
	// or we just made it; joining it asks nothing more than its history.
	member  bool
	online  []string
	entries []*entry
	ids     map[string]bool // ids of the messages in entries, to drop repeats
	oldest  string          // oldest message id held ("" when none)
	newest  string          // newest message id held ("" when none)

	offset   int  // lines scrolled up from the bottom; 0 follows new messages
	newCount int  // messages that arrived while scrolled up
	unread   int  // messages that arrived while another room was shown
	hasMore  bool // the server holds older messages than oldest
	loading  bool // a page of older messages is on its way
	loaded   bool // the first page has arrived

	gen    int // generation of the current subscription
	conn   client.StateChange
	hasCon bool
	typing map[string]time.Time // nick → until when "is typing" shows

	history inputHistory // lines typed here, for Up and Down
	longest int          // the widest nick of the messages held, in cells
	// spoke holds when each nick (NickKey) last wrote a message we hold:
	// joins and leaves get a line of their own only for those who spoke
	// within foldAfter.
	spoke map[string]time.Time

	// known holds the nicks (NickKey) we last knew to be online, kept
	// across reconnects, so that the joins every stream makes again after
	// a server restart are not shown as news. away holds the nicks that
	// were known before a welcome that did not list them yet, with the
	// time until which their join counts as a rejoin.
	known map[string]bool
	away  map[string]time.Time
}

func newRoom(name string) *room {
	return &room{name: name, ids: map[string]bool{}, typing: map[string]time.Time{},
		known: map[string]bool{}, away: map[string]time.Time{}, spoke: map[string]time.Time{}}
}

// welcomed refreshes the known online set from a welcome's list. Nicks we
// knew that it lacks have probably not reconnected yet: their join within
// rejoinGrace is not shown.
func (r *room) welcomed(online []string, now time.Time) {
	next := make(map[string]bool, len(online))
	for _, n := range online {
		next[chat.NickKey(n)] = true
	}
	for k := range r.known {
		if !next[k] {
			r.away[k] = now.Add(rejoinGrace)
		}
	}
	for k, until := range r.away {
		if next[k] || !now.Before(until) {
			delete(r.away, k)
		}
	}
	r.known = next
}

// joined records a join and reports whether it is news: the nick was not
// known to be online, nor online just before a reconnect.
func (r *room) joined(nick string, now time.Time) bool {
	k := chat.NickKey(nick)
	until, wasAway := r.away[k]
	delete(r.away, k)
	news := !r.known[k] && !(wasAway && now.Before(until))
	r.known[k] = true
	return news
}

// left records a leave and reports whether it is news: the nick is not in
// the event's online list (no other connection of it remains) and we knew
// it to be online.
func (r *room) left(nick string, online []string) bool {
	k := chat.NickKey(nick)
	for _, n := range online {
		if chat.NickKey(n) == k {
			return false
		}
	}
	_, wasAway := r.away[k]
	news := r.known[k] || wasAway
	delete(r.known, k)
	delete(r.away, k)
	return news
}

// addMessage puts a message from the server in its place by id. A pending
// or failed entry with the same client_id from us is replaced. It returns
// the new entry, or nil when the message was already there.
func (r *room) addMessage(m chat.Message, self string) *entry {
	if m.ID == "" || r.ids[m.ID] {
		return nil
	}
	if m.ClientID != "" && chat.NickKey(m.Nick) == chat.NickKey(self) {
		for i := len(r.entries) - 1; i >= 0; i-- {
			e := r.entries[i]
			if e.kind == entryMessage && e.id == "" && e.clientID == m.ClientID {
				r.entries = append(r.entries[:i], r.entries[i+1:]...)
				break
			}
		}
	}
	e := messageEntry(m)
	// Walk back over our own unsent messages (they stay last) and over
	// newer messages; stop at an older message or a local line, which marks
	// where live events had got to.
	i := len(r.entries)
	for i > 0 {
		p := r.entries[i-1]
		if p.kind == entryMessage && p.id == "" {
			i--
			continue
		}
		if p.kind == entryMessage && chat.CompareIDs(p.id, m.ID) > 0 {
			i--
			continue
		}
		break
	}
	r.entries = append(r.entries, nil)
	copy(r.entries[i+1:], r.entries[i:])
	r.entries[i] = e
	r.measure(e)
	r.ids[m.ID] = true
	if r.newest == "" || chat.CompareIDs(m.ID, r.newest) > 0 {
		r.newest = m.ID
	}
	if r.oldest == "" || chat.CompareIDs(m.ID, r.oldest) < 0 {
		r.oldest = m.ID
	}
	return e
}

// prependPage puts a page of older messages (oldest first) before
// everything held. The view does not move: offset counts from the bottom.
func (r *room) prependPage(msgs []chat.Message) int {
	add := make([]*entry, 0, len(msgs))
	for _, m := range msgs {
		if m.ID == "" || r.ids[m.ID] {
			continue
		}
		r.ids[m.ID] = true
		add = append(add, messageEntry(m))
		r.measure(add[len(add)-1])
		if r.oldest == "" || chat.CompareIDs(m.ID, r.oldest) < 0 {
			r.oldest = m.ID
		}
		if r.newest == "" || chat.CompareIDs(m.ID, r.newest) > 0 {
			r.newest = m.ID
		}
	}
	r.entries = append(add, r.entries...)
	return len(add)
}

// clearMessages drops every message from the server (after a reset), and
// keeps our unsent ones and local lines.
func (r *room) clearMessages() {
	kept := r.entries[:0]
	for _, e := range r.entries {
		if e.kind != entryMessage || e.id == "" {
			kept = append(kept, e)
		}
	}
	clear(r.entries[len(kept):])
	r.entries = kept
	r.ids = map[string]bool{}
	r.oldest, r.newest = "", ""
	r.offset, r.newCount = 0, 0
}

// add appends a local entry (pending message, notice, presence line).
func (r *room) add(e *entry) {
	r.entries = append(r.entries, e)
	r.measure(e)
}

// measure widens the nick column for a message's nick and notes when its
// author spoke.
func (r *room) measure(e *entry) {
	if e.kind != entryMessage {
		return
	}
	if !e.action {
		r.longest = max(r.longest, stringWidth(e.nick))
	}
	if k := chat.NickKey(e.nick); e.ts.After(r.spoke[k]) {
		r.spoke[k] = e.ts
	}
}

// presence shows a join or leave that is news: a line of its own for
// someone who spoke within foldAfter of now, else a count on the fold line
// ("3 joined, 2 left") that ends the room's lines, or a new one. It
// reports whether it added an entry.
func (r *room) presence(nick string, join bool, now time.Time) bool {
	if t, ok := r.spoke[chat.NickKey(nick)]; ok && now.Sub(t) <= foldAfter {
		kind, verb := entryJoin, " joined"
		if !join {
			kind, verb = entryLeave, " left"
		}
		r.add(localEntry(kind, safeLine(nick)+verb, now))
		return true
	}
	if n := len(r.entries); n > 0 && r.entries[n-1].kind == entryFold {
		r.entries[n-1].count(join)
		return false
	}
	e := localEntry(entryFold, "", now)
	e.count(join)
	r.add(e)
	return true
}

// markNew puts the "── new ──" line above e, the first message that
// arrived while the room was not shown, and removes the one before.
func (r *room) markNew(e *entry) {
	if i := slices.IndexFunc(r.entries, func(x *entry) bool { return x.kind == entryNew }); i >= 0 {
		r.entries = slices.Delete(r.entries, i, i+1)
	}
	if i := slices.Index(r.entries, e); i >= 0 {
		r.entries = slices.Insert(r.entries, i, &entry{kind: entryNew, ts: e.ts})
	}
}

// findPending returns our unsent message with the given client_id.
func (r *room) findPending(clientID string) *entry {
	for i := len(r.entries) - 1; i >= 0; i-- {
		e := r.entries[i]
		if e.kind == entryMessage && e.id == "" && e.clientID == clientID {
			return e
		}
	}
	return nil
}

// firstFailed returns the oldest message that failed to send: Ctrl+R
// retries them in the order they were typed.
func (r *room) firstFailed() *entry {
	for _, e := range r.entries {
		if e.kind == entryMessage && e.state == stateFailed {
			return e
		}
	}
	return nil
}

// entryLines returns entry i's lines at width, rendering them when the
// cache does not fit (first use, new width, day break changed).
func (r *room) entryLines(i int, rd *renderer) []string {
	e := r.entries[i]
	// The first entry held starts a day only when nothing older exists;
	// otherwise the next older page decides, and the view does not jump.
	dayBreak := (i == 0 && !r.hasMore) || (i > 0 && r.entries[i-1].dayIn(rd.loc) != e.dayIn(rd.loc))
	return e.lines(rd, dayBreak)
}

// window returns the pane's lines: height lines ending offset lines above
// the bottom, and whether its first line is the first line of all. It
// renders only the entries it walks over.
func (r *room) window(rd *renderer, height int) (lines []string, atTop bool) {
	if height <= 0 {
		return nil, false
	}
	var chunks [][]string
	skip, need := r.offset, height
	cut := false // the topmost entry taken was cut at its top
	i := len(r.entries) - 1
	for i >= 0 && need > 0 {
		ls := r.entryLines(i, rd)
		i--
		if skip >= len(ls) {
			skip -= len(ls)
			continue
		}
		ls = ls[:len(ls)-skip]
		skip = 0
		if len(ls) > need {
			ls = ls[len(ls)-need:]
			cut = true
		}
		need -= len(ls)
		chunks = append(chunks, ls)
	}
	atTop = i < 0 && !cut
	lines = make([]string, 0, height)
	for c := len(chunks) - 1; c >= 0; c-- {
		lines = append(lines, chunks[c]...)
	}
	return lines, atTop
}

// clamp keeps offset within the content and reports whether the window
// shows the first line of all.
func (r *room) clamp(rd *renderer, height int) (atTop bool) {
	if r.offset < 0 {
		r.offset = 0
	}
	total := 0
	atTop = true
	for i := len(r.entries) - 1; i >= 0; i-- {
		total += len(r.entryLines(i, rd))
		if total > r.offset+height {
			atTop = false
			break
		}
	}
	if atTop && r.offset > total-height {
		r.offset = max(0, total-height)
	}
	if r.offset == 0 {
		r.newCount = 0
	}
	return atTop
}

// lockMark is the mark of a private room: the emoji (two cells wide, as
// the layout counts it) or, with Config.ASCII, a star.
func lockMark(ascii bool) string {
	if ascii {
		return "*"
	}
	return "🔒"
}

// label is the room as the room bar shows it: "team", "🔒team" for a
// private room, "@carol" (its other members) for a direct one.
func (r *room) label(ascii bool) string {
	switch r.kind {
	case chat.KindPrivate:
		return lockMark(ascii) + r.name
	case chat.KindDirect:
		if len(r.others) > 0 {
			return "@" + strings.Join(r.others, ",")
		}
	}
	return r.name
}

// title is the room as the header and the lines about it show it:
// "#team", "🔒 #team", "@carol".
func (r *room) title(ascii bool) string {
	switch r.kind {
	case chat.KindPrivate:
		return lockMark(ascii) + " #" + r.name
	case chat.KindDirect:
		if len(r.others) > 0 {
			return "@" + strings.Join(r.others, ",")
		}
	}
	return "#" + r.name
}

// setKind takes what the server says of the room's kind and, for a direct
// room, its members: the others are kept, without self.
func (r *room) setKind(kind string, members []string, self string) {
	if kind != "" {
		r.kind = kind
	}
	if kind != chat.KindDirect || len(members) == 0 {
		return
	}
	r.others = r.others[:0]
	for _, n := range members {
		if chat.NickKey(n) != chat.NickKey(self) {
			r.others = append(r.others, safeLine(n))
		}
	}
	slices.Sort(r.others)
}
