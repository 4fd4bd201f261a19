package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

func testPage(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "general")
	mustRoom(t, s, "other")
	all := appendN(t, s, "general", 25)
	appendN(t, s, "other", 3) // must not show up in general

	page := func(q store.PageQuery) ([]chat.Message, bool) {
		t.Helper()
		msgs, more, err := s.Page(ctx, "general", q)
		if err != nil {
			t.Fatalf("Page(%+v): %v", q, err)
		}
		return msgs, more
	}
	cases := []struct {
		name     string
		q        store.PageQuery
		want     []chat.Message
		wantMore bool
	}{
		{"newest", store.PageQuery{Limit: 10}, all[15:], true},
		{"newest, limit = all", store.PageQuery{Limit: 25}, all, false},
		{"newest, limit over all", store.PageQuery{Limit: 100}, all, false},
		{"newest, limit 1", store.PageQuery{Limit: 1}, all[24:], true},
		{"before, middle", store.PageQuery{Before: all[15].ID, Limit: 10}, all[5:15], true},
		{"before, reaches the start exactly", store.PageQuery{Before: all[10].ID, Limit: 10}, all[0:10], false},
		{"before, short", store.PageQuery{Before: all[5].ID, Limit: 10}, all[0:5], false},
		{"before the first", store.PageQuery{Before: all[0].ID, Limit: 10}, nil, false},
		{"after, middle", store.PageQuery{After: all[4].ID, Limit: 10}, all[5:15], true},
		{"after, reaches the end exactly", store.PageQuery{After: all[14].ID, Limit: 10}, all[15:], false},
		{"after, short", store.PageQuery{After: all[19].ID, Limit: 10}, all[20:], false},
		{"after the last", store.PageQuery{After: all[24].ID, Limit: 10}, nil, false},
		// Around: (limit-1)/2 older, the message, the rest newer; a side
		// that lacks messages gives its share to the other; more says
		// older messages lie beyond.
		{"around, middle, odd limit", store.PageQuery{Around: all[12].ID, Limit: 5}, all[10:15], true},
		{"around, middle, even limit", store.PageQuery{Around: all[12].ID, Limit: 4}, all[11:15], true},
		{"around, limit 1", store.PageQuery{Around: all[12].ID, Limit: 1}, all[12:13], true},
		{"around the first", store.PageQuery{Around: all[0].ID, Limit: 5}, all[0:5], false},
		{"around the second, older side short", store.PageQuery{Around: all[1].ID, Limit: 5}, all[0:5], false},
		{"around the last", store.PageQuery{Around: all[24].ID, Limit: 5}, all[20:], true},
		{"around, reaches the start exactly", store.PageQuery{Around: all[2].ID, Limit: 5}, all[0:5], false},
		{"around, limit over all", store.PageQuery{Around: all[12].ID, Limit: 100}, all, false},
	}
	for _, tc := range cases {
		got, more := page(tc.q)
		checkMessages(t, "Page "+tc.name, got, tc.want)
		if more != tc.wantMore {
			t.Fatalf("Page %s: has_more %v, want %v", tc.name, more, tc.wantMore)
		}
	}

	// Walking back from the newest page visits every message once.
	var walked []chat.Message
	q := store.PageQuery{Limit: 7}
	for range 10 {
		msgs, more := page(q)
		walked = append(msgs, walked...)
		if !more {
			break
		}
		q.Before = msgs[0].ID
	}
	checkMessages(t, "walking back with before", walked, all)

	_, _, err := s.Page(ctx, "nowhere", store.PageQuery{Limit: 10})
	wantErr(t, "Page of an unknown room", err, store.ErrNotFound)
	for _, bad := range []string{"x", "-1", "01"} {
		_, _, err := s.Page(ctx, "general", store.PageQuery{Before: bad, Limit: 10})
		wantErr(t, "Page before "+bad, err, chat.ErrBadID)
		_, _, err = s.Page(ctx, "general", store.PageQuery{After: bad, Limit: 10})
		wantErr(t, "Page after "+bad, err, chat.ErrBadID)
		_, _, err = s.Page(ctx, "general", store.PageQuery{Around: bad, Limit: 10})
		wantErr(t, "Page around "+bad, err, chat.ErrBadID)
	}
}

func testPageEmpty(t *testing.T, open Opener) {
	s := open(t, Options{})
	mustRoom(t, s, "general")
	msgs, more, err := s.Page(t.Context(), "general", store.PageQuery{Limit: 10})
	wantNoErr(t, "Page of an empty room", err)
	if len(msgs) != 0 || more {
		t.Fatalf("Page of an empty room = %v, %v; want nothing, false", msgs, more)
	}
	msgs, more, err = s.Since(t.Context(), "general", "", 10)
	wantNoErr(t, "Since of an empty room", err)
	if len(msgs) != 0 || more {
		t.Fatalf("Since of an empty room = %v, %v; want nothing, false", msgs, more)
	}
}

func testSince(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "general")
	mustRoom(t, s, "other")
	all := appendN(t, s, "general", 25)
	appendN(t, s, "other", 3)

	cases := []struct {
		name     string
		after    string
		max      int
		want     []chat.Message
		wantMore bool
	}{
		{`"" is the start`, "", 100, all, false},
		{`"0" is the start`, "0", 100, all, false},
		{"from the start, limited", "", 10, all[:10], true},
		{"middle, limited", all[9].ID, 5, all[10:15], true},
		{"middle, reaches the end exactly", all[19].ID, 5, all[20:], false},
		{"middle, short", all[19].ID, 10, all[20:], false},
		{"the last", all[24].ID, 10, nil, false},
	}
	for _, tc := range cases {
		got, more, err := s.Since(ctx, "general", tc.after, tc.max)
		wantNoErr(t, "Since "+tc.name, err)
		checkMessages(t, "Since "+tc.name, got, tc.want)
		if more != tc.wantMore {
			t.Fatalf("Since %s: more %v, want %v", tc.name, more, tc.wantMore)
		}
	}
	_, _, err := s.Since(ctx, "nowhere", "", 10)
	wantErr(t, "Since of an unknown room", err, store.ErrNotFound)
	_, _, err = s.Since(ctx, "general", "garbage", 10)
	wantErr(t, "Since a bad id", err, chat.ErrBadID)
}

// testRetention: with HistoryMax the store keeps at least that many newest
// messages, and Since reports ErrTrimmed for a resume point whose followers
// were dropped, never a silent gap.
func testRetention(t *testing.T, open Opener) {
	const keep = 5
	s := open(t, Options{HistoryMax: keep})
	ctx := t.Context()
	mustRoom(t, s, "general")
	mustRoom(t, s, "quiet")
	quiet := appendN(t, s, "quiet", 3)
	// Enough that any store trims (Redis trims whole stream nodes of 100).
	all := appendParallel(t, s, "general", 300, 6)
	n := len(all)

	_, _, err := s.Since(ctx, "general", all[0].ID, 10)
	wantErr(t, "Since the first of 300 with HistoryMax 5", err, store.ErrTrimmed)
	_, _, err = s.Since(ctx, "general", "", 10)
	wantErr(t, "Since the start of a trimmed room", err, store.ErrTrimmed)

	got, more, err := s.Since(ctx, "general", all[n-keep-1].ID, 10)
	wantNoErr(t, "Since the message just before the kept ones", err)
	checkMessages(t, "Since the message just before the kept ones", got, all[n-keep:])
	if more {
		t.Fatal("Since: more after the newest")
	}
	page, _, err := s.Page(ctx, "general", store.PageQuery{Limit: keep})
	wantNoErr(t, "Page", err)
	checkMessages(t, "newest page after trimming", page, all[n-keep:])
	// Pages never span a gap: walking back ends where history ends.
	page, _, err = s.Page(ctx, "general", store.PageQuery{Limit: 200})
	wantNoErr(t, "Page", err)
	if len(page) < keep || len(page) >= n {
		t.Fatalf("after trimming to %d, the room holds %d of %d messages", keep, len(page), n)
	}
	checkMessages(t, "the kept messages", page, all[n-len(page):])

	// A room under its limit keeps everything.
	got, _, err = s.Since(ctx, "quiet", "", 10)
	wantNoErr(t, "Since in an untrimmed room", err)
	checkMessages(t, "the untrimmed room", got, quiet)
}

// testPageInvalid: a query outside PageQuery's contract (the caller's bug:
// the server validates first) is refused with store.ErrInvalid, never
// served with a guessed default.
func testPageInvalid(t *testing.T, open Opener) {
	s := open(t, Options{})
	mustRoom(t, s, "general")
	all := appendN(t, s, "general", 3)
	for _, q := range []store.PageQuery{
		{Limit: 0},
		{Limit: -1},
		{Limit: chat.MaxPageSize + 1},
		{Before: all[2].ID, After: all[0].ID, Limit: 10},
		{Around: all[2].ID, After: all[0].ID, Limit: 10},
	} {
		_, _, err := s.Page(t.Context(), "general", q)
		wantErr(t, fmt.Sprintf("Page(%+v)", q), err, store.ErrInvalid)
	}
}

// testSinceFuture: a resume point past the room's newest message is an id
// from other data (a restored backup, a replaced Redis, a made-up id), so
// Since answers store.ErrTrimmed and the client reloads, in a room with
// messages and in an empty one; the room then goes on as before.
func testSinceFuture(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	createAndWatch(t, s, "general", "empty") // so a store that answers from memory does
	all := appendN(t, s, "general", 5)
	last := all[len(all)-1].ID
	for _, after := range []string{laterID(t, last, 1), laterID(t, last, 1000), laterID(t, last, 3_600_000)} {
		_, _, err := s.Since(ctx, "general", after, 10)
		wantErr(t, "Since "+after+", past the newest "+last, err, store.ErrTrimmed)
		_, _, err = s.Since(ctx, "empty", after, 10)
		wantErr(t, "Since "+after+" in an empty room", err, store.ErrTrimmed)
	}
	// The newest itself is no gap, and the room goes on.
	got, more, err := s.Since(ctx, "general", last, 10)
	wantNoErr(t, "Since the newest", err)
	if len(got) != 0 || more {
		t.Fatalf("Since the newest = %v, %v; want nothing", ids(got), more)
	}
	next := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "next"})
	got, _, err = s.Since(ctx, "general", last, 10)
	wantNoErr(t, "Since the newest after one more", err)
	checkMessages(t, "Since the newest after one more", got, []chat.Message{next})
}

// laterID returns an id of the same store's kind as id, d steps after it:
// d sequence numbers for SQLite's "N", d milliseconds for Redis's "ms-seq".
func laterID(t *testing.T, id string, d uint64) string {
	t.Helper()
	v, err := chat.ParseID(id)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	if strings.Contains(id, "-") {
		return fmt.Sprintf("%d-%d", v.Major+d, v.Minor)
	}
	return fmt.Sprint(v.Major + d)
}
