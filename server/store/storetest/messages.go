package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
)

func testAppend(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	ctx := t.Context()
	mustRoom(t, s, "general")
	mustRoom(t, s, "other")
	watch(t, s, "general", "other")

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
	mustRoom(t, s, "general")
	watch(t, s, "general")
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

// testAppendConcurrent: ids strictly increase per room in the order of
// acceptance under concurrent appenders in two rooms, every message is kept,
// and the listener gets each exactly once in id order.
func testAppendConcurrent(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	rooms := []string{"one", "two"}
	for _, r := range rooms {
		mustRoom(t, s, r)
	}
	watch(t, s, rooms...)
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
	mustRoom(t, s, "general")
	mustRoom(t, s, "other")
	watch(t, s, "general", "other")

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
	mustRoom(t, s, "general")
	watch(t, s, "general")
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

func testPublish(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	ctx := t.Context()
	mustRoom(t, s, "general")
	stop, err := s.Watch(ctx, "general")
	wantNoErr(t, "Watch", err)
	defer stop()
	wantNoErr(t, "Publish(typing)", s.Publish(ctx, store.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: "alice"}}))
	wantNoErr(t, "Publish(presence)", s.Publish(ctx, store.Event{Room: "general", Presence: &chat.Presence{Room: "general", Nick: "bob", State: chat.PresenceJoin, Online: []string{"alice", "bob"}}}))
	wantNoErr(t, "Publish(room)", s.Publish(ctx, store.Event{Room: "general", RoomInfo: &chat.RoomInfo{Room: "general", Topic: "new topic", Nick: "carol"}}))
	testenv.Eventually(t, waitFor, "the published events at the listener", func() bool { return len(rec.all()) >= 3 })
	ev := rec.all()
	if len(ev) != 3 {
		t.Fatalf("listener got %d events, want 3: %+v", len(ev), ev)
	}
	var typing, presence, room bool
	for _, e := range ev {
		switch {
		case e.Typing != nil && e.Room == "general" && e.Typing.Nick == "alice" && e.Presence == nil && e.Message == nil && e.RoomInfo == nil:
			typing = true
		case e.Presence != nil && e.Room == "general" && e.Presence.Nick == "bob" && e.Presence.State == chat.PresenceJoin &&
			len(e.Presence.Online) == 2 && e.Typing == nil && e.Message == nil:
			presence = true
		case e.RoomInfo != nil && e.Room == "general" && *e.RoomInfo == (chat.RoomInfo{Room: "general", Topic: "new topic", Nick: "carol"}) &&
			e.Typing == nil && e.Presence == nil && e.Message == nil:
			room = true
		}
	}
	if !typing || !presence || !room {
		t.Fatalf("listener got %+v; want the typing, presence and room events as published", ev)
	}
	rec.checkNoOverlap(t)
}

// testListenerSerial: appends and publishes from many goroutines reach the
// listener one call at a time, messages in id order, nothing lost.
func testListenerSerial(t *testing.T, open Opener) {
	s := open(t, Options{})
	rec := listen(s)
	mustRoom(t, s, "general")
	watch(t, s, "general")
	const workers, each = 4, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent []chat.Message
		errs []error
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m, _, err := s.Append(t.Context(), store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("%d/%d", w, i)})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					sent = append(sent, m)
				}
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for range each {
				if err := s.Publish(t.Context(), store.Event{Room: "general", Typing: &chat.Typing{Room: "general", Nick: fmt.Sprint("u", w)}}); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	sortByID(sent)
	rec.waitMessage(t, "general", sent[len(sent)-1].ID)
	checkMessages(t, "listener's messages", rec.messages("general"), sent)
	testenv.Eventually(t, waitFor, "every typing event at the listener", func() bool {
		n := 0
		for _, e := range rec.all() {
			if e.Typing != nil {
				n++
			}
		}
		return n == workers*each
	})
	rec.checkNoOverlap(t)
}
