package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// RunMessageLog runs the MessageLog role's part of the suite: appends,
// idempotency, pages, resumes and retention. Its tests watch the rooms they
// append to and some listen, so a store's relay must work too.
func RunMessageLog(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Append", testAppend},
		{"AppendUnknownRoom", testAppendUnknownRoom},
		{"AppendIncomplete", testAppendIncomplete},
		{"AppendConcurrent", testAppendConcurrent},
		{"ClientID", testClientID},
		{"ClientIDConcurrent", testClientIDConcurrent},
		{"Page", testPage},
		{"PageEmptyRoom", testPageEmpty},
		{"PageInvalid", testPageInvalid},
		{"Since", testSince},
		{"SinceFuture", testSinceFuture},
		{"Retention", testRetention},
	})
}

func testAppend(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	ctx := t.Context()
	createAndWatch(t, s, "general", "other")

	before := time.Now()
	m1 := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "Alice", Kind: chat.KindText, Text: "hello\nworld"})
	after := time.Now()
	if _, err := chat.ParseID(m1.ID); err != nil {
		t.Fatalf("Append returned id %q: %v", m1.ID, err)
	}
	if m1.Room != "general" || m1.Nick != "Alice" || m1.Kind != chat.KindText || m1.Text != "hello\nworld" || m1.ClientID != "" {
		t.Fatalf("Append returned %+v, want the fields given", m1)
	}
	if m1.TS.Before(before.Add(-time.Second)) || m1.TS.After(after.Add(time.Second)) {
		t.Fatalf("Append set TS %v, want about now (%v)", m1.TS, before)
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	m2 := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "bob", Kind: chat.KindAction, Text: "waves", TS: ts})
	if !closeTo(m2.TS, ts) || m2.Kind != chat.KindAction {
		t.Fatalf("Append with TS %v returned %+v; want that TS kept", ts, m2)
	}
	o1 := mustAppend(t, s, store.NewMessage{Room: "other", Nick: "bob", Kind: chat.KindText, Text: "elsewhere"})
	m3 := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "Alice", Kind: chat.KindText, Text: "third"})
	checkIncreasing(t, "ids of sequential appends", []chat.Message{m1, m2, m3})

	page, more, err := s.Page(ctx, "general", store.PageQuery{Limit: 10})
	wantNoErr(t, "Page", err)
	if more {
		t.Fatal("Page of 3 messages with limit 10 says has_more")
	}
	checkMessages(t, "Page(general) after three appends", page, []chat.Message{m1, m2, m3})
	page, _, err = s.Page(ctx, "other", store.PageQuery{Limit: 10})
	wantNoErr(t, "Page(other)", err)
	checkMessages(t, "Page(other)", page, []chat.Message{o1})

	rec.waitMessage(t, "general", m3.ID)
	rec.waitMessage(t, "other", o1.ID)
	checkMessages(t, "listener's messages of general", rec.messages("general"), []chat.Message{m1, m2, m3})
	checkMessages(t, "listener's messages of other", rec.messages("other"), []chat.Message{o1})
	rec.checkNoOverlap(t)
}

func testAppendUnknownRoom(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	createAndWatch(t, s, "general")
	_, created, err := s.Append(t.Context(), store.NewMessage{Room: "nowhere", Nick: "alice", Kind: chat.KindText, Text: "hi"})
	wantErr(t, "Append to an unknown room", err, store.ErrNotFound)
	if created {
		t.Fatal("Append to an unknown room says created")
	}
	_, err = s.Room(t.Context(), "nowhere")
	wantErr(t, "Room after a refused Append", err, store.ErrNotFound)
	// A message appended after it is the first thing the listener sees.
	m := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "hi"})
	rec.waitMessage(t, "general", m.ID)
	if ev := rec.all(); len(ev) != 1 {
		t.Fatalf("listener got %d events, want only the one message: %+v", len(ev), ev)
	}
}

// testAppendIncomplete: a message without a kind (the caller applies the
// default) is refused with store.ErrInvalid, not stored with a guessed one.
func testAppendIncomplete(t *testing.T, open Opener) {
	s := open(t, Options{})
	mustRoom(t, s, "general")
	_, created, err := s.Append(t.Context(), store.NewMessage{Room: "general", Nick: "alice", Text: "no kind"})
	wantErr(t, "Append without a kind", err, store.ErrInvalid)
	if created {
		t.Fatal("Append without a kind says created")
	}
	msgs, _, err := s.Since(t.Context(), "general", "", 0)
	wantNoErr(t, "Since", err)
	if len(msgs) != 0 {
		t.Fatalf("a refused Append stored %+v", msgs)
	}
}

// testAppendConcurrent: ids strictly increase per room in the order of
// acceptance under concurrent appenders in two rooms, every message is kept,
// and the listener gets each exactly once in id order.
func testAppendConcurrent(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	rooms := []string{"one", "two"}
	createAndWatch(t, s, rooms...)
	const workers, each = 8, 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		perRoom = map[string][]chat.Message{}
		errs    []error
	)
	for w := range workers {
		wg.Go(func() {
			room := rooms[w%len(rooms)]
			var prev string
			for i := range each {
				m, created, err := s.Append(t.Context(), store.NewMessage{Room: room, Nick: fmt.Sprintf("u%d", w), Kind: chat.KindText, Text: fmt.Sprintf("w%d i%d", w, i)})
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case !created:
					errs = append(errs, fmt.Errorf("created false for a message without client_id"))
				case prev != "" && chat.CompareIDs(prev, m.ID) >= 0:
					errs = append(errs, fmt.Errorf("worker %d: id %q after its earlier %q", w, m.ID, prev))
				default:
					perRoom[room] = append(perRoom[room], m)
				}
				mu.Unlock()
				prev = m.ID
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	for _, room := range rooms {
		msgs := perRoom[room]
		sortByID(msgs)
		if len(msgs) != workers/len(rooms)*each {
			t.Fatalf("room %s: %d messages, want %d", room, len(msgs), workers/len(rooms)*each)
		}
		checkIncreasing(t, "ids in "+room, msgs) // also: no id given twice
		got, more, err := s.Since(t.Context(), room, "", 0)
		wantNoErr(t, "Since", err)
		if more {
			t.Fatal("Since without a limit says more")
		}
		checkMessages(t, "Since(\"\") of "+room, got, msgs)
		rec.waitMessage(t, room, msgs[len(msgs)-1].ID)
		checkMessages(t, "listener's messages of "+room, rec.messages(room), msgs)
	}
	rec.checkNoOverlap(t)
}

func testClientID(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	ctx := t.Context()
	createAndWatch(t, s, "general", "other")

	first := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "once", ClientID: "c-1"})
	if first.ClientID != "c-1" {
		t.Fatalf("Append returned client_id %q, want c-1", first.ClientID)
	}
	between := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "bob", Kind: chat.KindText, Text: "between"})
	again, created, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "once, retried with other text", ClientID: "c-1"})
	wantNoErr(t, "Append repeat", err)
	if created {
		t.Fatal("a repeated client_id says created")
	}
	if d := sameMessage(again, first); d != "" {
		t.Fatalf("a repeated client_id must return the first message: %s", d)
	}
	// Another nick's equal client_id, or the same in another room, is a
	// different message.
	bobs := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "bob", Kind: chat.KindText, Text: "bob's", ClientID: "c-1"})
	elsewhere := mustAppend(t, s, store.NewMessage{Room: "other", Nick: "alice", Kind: chat.KindText, Text: "elsewhere", ClientID: "c-1"})
	if bobs.ID == first.ID {
		t.Fatal("bob's message with alice's client_id got alice's id")
	}
	// A sentinel: once it arrives, a relay of the repeat would have too.
	last := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "sentinel", ClientID: "c-2"})

	page, _, err := s.Page(ctx, "general", store.PageQuery{Limit: 10})
	wantNoErr(t, "Page", err)
	checkMessages(t, "Page(general)", page, []chat.Message{first, between, bobs, last})
	rec.waitMessage(t, "general", last.ID)
	rec.waitMessage(t, "other", elsewhere.ID)
	checkMessages(t, "listener's messages of general (nothing for the repeat)", rec.messages("general"), []chat.Message{first, between, bobs, last})
}

// testClientIDConcurrent: many appends with one client_id at once store one
// message, all return it, and the listener gets it once.
func testClientIDConcurrent(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	createAndWatch(t, s, "general")
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		got     []chat.Message
		created int
		errs    []error
	)
	for i := range n {
		wg.Go(func() {
			m, c, err := s.Append(t.Context(), store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("try %d", i), ClientID: "same"})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if c {
				created++
			}
			got = append(got, m)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	if created != 1 {
		t.Fatalf("%d of %d concurrent appends with one client_id say created, want exactly 1", created, n)
	}
	for _, m := range got[1:] {
		if d := sameMessage(m, got[0]); d != "" {
			t.Fatalf("concurrent appends with one client_id returned different messages: %s", d)
		}
	}
	sentinel := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "sentinel"})
	page, _, err := s.Page(t.Context(), "general", store.PageQuery{Limit: 50})
	wantNoErr(t, "Page", err)
	checkMessages(t, "Page", page, []chat.Message{got[0], sentinel})
	rec.waitMessage(t, "general", sentinel.ID)
	checkMessages(t, "listener's messages", rec.messages("general"), []chat.Message{got[0], sentinel})
}
