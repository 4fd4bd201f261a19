package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// RunSearch tests the Search role: what is found, where, in which order,
// with which cursor, and what is never found.
func RunSearch(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Words", testSearchWords},
		{"Paging", testSearchPaging},
		{"Refusals", testSearchRefusals},
		{"Retention", testSearchRetention},
		{"DeletedRoom", testSearchDeletedRoom},
	})
}

// searchFixture is the one set of messages every search test reads: three
// rooms, of which the caller may read general and dev (other stands for a
// room the caller cannot read), in several scripts.
type searchFixture struct {
	s    store.Store
	msgs map[string]chat.Message // by a short name
}

var searchTexts = []struct{ name, room, nick, text string }{
	{"cafe-accent", "general", "alice", "Café au lait is ready"},
	{"cafe-plain", "general", "bob", "the cafe opens at nine"},
	{"deploy", "dev", "alice", "Deploy the release tonight"},
	{"notes", "dev", "Bob", "release notes are in the wiki"},
	{"hidden", "other", "carol", "release notes of a room nobody reads"},
	{"chinese", "general", "carol", "我们明天在东京见面"},
	{"japanese", "dev", "carol", "東京タワーへ行きましょう"},
	{"wiki", "general", "alice", "the wiki release page"},
	{"apart", "general", "bob", "notes about the release"},
	{"creme", "dev", "alice", "Crème brûlée à Zürich, please"},
}

func newSearchFixture(t *testing.T, open Opener) searchFixture {
	f := searchFixture{s: open(t, Options{}), msgs: map[string]chat.Message{}}
	for _, room := range []string{"general", "dev", "other"} {
		mustRoom(t, f.s, room)
	}
	for _, m := range searchTexts {
		f.msgs[m.name] = mustAppend(t, f.s, store.NewMessage{Room: m.room, Nick: m.nick, Kind: chat.KindText, Text: m.text})
	}
	return f
}

// readable is the rooms the caller of the fixture may read.
var readable = []string{"general", "dev"}

func (f searchFixture) search(t *testing.T, q store.SearchQuery) store.SearchResult {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 20
	}
	if q.Rooms == nil {
		q.Rooms = readable
	}
	res, err := f.s.Search(t.Context(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func terms(t *testing.T, q string) []store.Term {
	t.Helper()
	terms, err := store.ParseSearch(q)
	if err != nil {
		t.Fatalf("ParseSearch(%q): %v", q, err)
	}
	return terms
}

// names maps hits back to the fixture's names, newest first as found.
func (f searchFixture) names(hits []store.SearchHit) []string {
	var out []string
	for _, h := range hits {
		name := "?" + h.Message.Room + "/" + h.Message.ID
		for n, m := range f.msgs {
			if m.Room == h.Message.Room && m.ID == h.Message.ID {
				name = n
			}
		}
		out = append(out, name)
	}
	return out
}

func testSearchWords(t *testing.T, open Opener) {
	f := newSearchFixture(t, open)
	cases := []struct {
		q     string
		rooms []string
		from  string
		want  []string // newest first
	}{
		{q: "release", want: []string{"apart", "wiki", "notes", "deploy"}},
		{q: "RELEASE notes", want: []string{"apart", "notes"}},
		{q: `"release notes"`, want: []string{"notes"}},
		{q: `"notes release"`, want: nil},
		{q: "rel*", want: []string{"apart", "wiki", "notes", "deploy"}},
		{q: "wi*", want: []string{"wiki", "notes"}},
		{q: `"the rel*"`, want: []string{"apart", "deploy"}},
		{q: "release", rooms: []string{"dev"}, want: []string{"notes", "deploy"}},
		{q: "release", from: "BOB", want: []string{"apart", "notes"}},
		{q: "release", rooms: []string{"dev"}, from: "bob", want: []string{"notes"}},
		{q: "release", rooms: []string{}, want: nil},
		{q: "release", rooms: []string{"nowhere"}, want: nil},
		{q: "cafe", want: []string{"cafe-plain", "cafe-accent"}},
		{q: "café", want: []string{"cafe-plain", "cafe-accent"}},
		{q: "CAFÉ", want: []string{"cafe-plain", "cafe-accent"}},
		{q: "creme zurich", want: []string{"creme"}},
		{q: "brul*", want: []string{"creme"}},
		{q: "东京", want: []string{"chinese"}},
		{q: "東京", want: []string{"japanese"}},
		{q: "タワー", want: []string{"japanese"}},
		{q: "明天", want: []string{"chinese"}},
		{q: "京", want: []string{"japanese", "chinese"}},
		{q: "nobody", want: nil},
		{q: "release nowhere", want: nil},
	}
	for _, tc := range cases {
		res := f.search(t, store.SearchQuery{Terms: terms(t, tc.q), Rooms: tc.rooms, From: tc.from})
		if got := f.names(res.Hits); !slices.Equal(got, tc.want) {
			t.Errorf("search %q rooms %v from %q: %v, want %v", tc.q, tc.rooms, tc.from, got, tc.want)
		}
		if res.More || res.Partial {
			t.Errorf("search %q: more %v, partial %v, want neither", tc.q, res.More, res.Partial)
		}
		for _, h := range res.Hits {
			if d := sameMessage(h.Message, f.msgs[f.names([]store.SearchHit{h})[0]]); d != "" {
				t.Errorf("search %q: hit differs from the appended message: %s", tc.q, d)
			}
		}
	}

	// The offsets are code points of the text, found from the returned
	// message: "Crème brûlée à Zürich" has its words at 0, 6 and 15.
	res := f.search(t, store.SearchQuery{Terms: terms(t, "creme zurich brul*")})
	if len(res.Hits) != 1 {
		t.Fatalf("search creme zurich brul*: %v", f.names(res.Hits))
	}
	got, all := store.Highlights(res.Hits[0].Message.Text, terms(t, "creme zurich brul*"))
	if want := [][2]int{{0, 5}, {6, 12}, {15, 21}}; !all || !slices.Equal(got, want) {
		t.Errorf("highlights %v (all %v), want %v", got, all, want)
	}
}

func testSearchPaging(t *testing.T, open Opener) {
	s := open(t, Options{})
	mustRoom(t, s, "a")
	mustRoom(t, s, "b")
	var want []chat.Message
	for i := range 23 {
		room := []string{"a", "b"}[i%2]
		m := mustAppend(t, s, store.NewMessage{Room: room, Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("needle number %d", i)})
		want = append(want, m)
		mustAppend(t, s, store.NewMessage{Room: room, Nick: "alice", Kind: chat.KindText, Text: "hay"})
	}
	slices.Reverse(want)
	for _, query := range []string{"needle", "need*", `"needle number"`, "needle numb*"} {
		walkSearch(t, s, query, want)
	}
}

// walkSearch pages through query's hits 5 at a time with Before and
// checks they are want.
func walkSearch(t *testing.T, s store.Store, query string, want []chat.Message) {
	t.Helper()
	q := store.SearchQuery{Terms: terms(t, query), Rooms: []string{"a", "b"}, Limit: 5}
	var got []chat.Message
	for range 10 {
		res, err := s.Search(t.Context(), q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		for _, h := range res.Hits {
			got = append(got, h.Message)
		}
		if !res.More {
			break
		}
		if len(res.Hits) != q.Limit {
			t.Fatalf("a page with more after it holds %d hits, want %d", len(res.Hits), q.Limit)
		}
		q.Before = res.Hits[len(res.Hits)-1].Cursor
	}
	checkMessages(t, "walking back with before through "+query, got, want)
}

func testSearchRefusals(t *testing.T, open Opener) {
	s := open(t, Options{})
	mustRoom(t, s, "general")
	mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "hello"})
	ctx := t.Context()
	good := store.SearchQuery{Terms: terms(t, "hello"), Rooms: []string{"general"}, Limit: 10}
	for _, before := range []string{"x", "-1", "0", "1-2"} {
		q := good
		q.Before = before
		if _, err := s.Search(ctx, q); !errors.Is(err, chat.ErrBadID) {
			t.Errorf("Search before %q: %v, want chat.ErrBadID", before, err)
		}
	}
	for _, q := range []store.SearchQuery{
		{Rooms: []string{"general"}, Limit: 10},
		{Terms: good.Terms, Rooms: []string{"general"}, Limit: 0},
		{Terms: good.Terms, Rooms: []string{"general"}, Limit: store.MaxSearchResults + 1},
	} {
		if _, err := s.Search(ctx, q); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Search(%+v): %v, want store.ErrInvalid", q, err)
		}
	}
	for _, q := range []string{"", "   ", "!!", `""`, "*", strings.Repeat("a ", store.MaxSearchTerms+1)} {
		if _, err := store.ParseSearch(q); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("ParseSearch(%q): %v, want store.ErrBadQuery", q, err)
		}
	}
}

// testSearchRetention: a message retention dropped is never found again.
func testSearchRetention(t *testing.T, open Opener) {
	s := open(t, Options{HistoryMax: 10})
	mustRoom(t, s, "general")
	var kept []chat.Message
	for i := range 400 {
		word := "early"
		if i >= 390 {
			word = "late"
		}
		m := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("%s %d", word, i)})
		if i >= 390 {
			kept = append(kept, m)
		}
	}
	q := store.SearchQuery{Terms: terms(t, "early"), Rooms: []string{"general"}, Limit: 100}
	res, err := s.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	// Stores trim in steps, so some "early" messages may still be kept;
	// every hit must be one of those the room still holds.
	held, _, err := s.Page(t.Context(), "general", store.PageQuery{Limit: chat.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(held) == chat.MaxPageSize {
		t.Fatalf("the room holds %d messages or more after retention to 10", len(held))
	}
	for _, h := range res.Hits {
		if !slices.ContainsFunc(held, func(m chat.Message) bool { return m.ID == h.Message.ID }) {
			t.Errorf("search early found %s (%q), which retention dropped", h.Message.ID, h.Message.Text)
		}
	}
	q.Terms = terms(t, "late")
	res, err = s.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	var got []chat.Message
	for _, h := range res.Hits {
		got = append(got, h.Message)
	}
	slices.Reverse(got)
	checkMessages(t, "search late", got, kept)
}

// testSearchDeletedRoom: a deleted room's messages are never found, not
// even in a room made again under its name.
func testSearchDeletedRoom(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	// The deleted room and its message are the newest, so a store that
	// numbers rooms or rows from its highest may give their numbers to the
	// room made again and its message.
	mustRoom(t, s, "kept")
	kept := mustAppend(t, s, store.NewMessage{Room: "kept", Nick: "alice", Kind: chat.KindText, Text: "open plans"})
	mustRoom(t, s, "gone")
	mustAppend(t, s, store.NewMessage{Room: "gone", Nick: "alice", Kind: chat.KindText, Text: "secret plans"})
	if err := s.DeleteRoom(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	mustRoom(t, s, "gone")
	mustAppend(t, s, store.NewMessage{Room: "gone", Nick: "alice", Kind: chat.KindText, Text: "hello again"})
	for _, q := range []string{"plans", "secret", "sec*"} {
		res, err := s.Search(ctx, store.SearchQuery{Terms: terms(t, q), Rooms: []string{"gone", "kept"}, From: "alice", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []chat.Message
		for _, h := range res.Hits {
			got = append(got, h.Message)
		}
		var want []chat.Message
		if q == "plans" {
			want = []chat.Message{kept}
		}
		checkMessages(t, "search "+q+" after deleting a room", got, want)
	}
}
