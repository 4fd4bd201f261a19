package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
)

// testReopen: everything committed survives a Close and a new open, and ids
// continue after the old ones.
func testReopen(t *testing.T, backend Reopener) {
	open := backend(t, Options{})
	ctx := t.Context()
	s := open()
	topic := "kept"
	if _, _, err := s.PutRoom(ctx, "general", &topic); err != nil {
		t.Fatal(err)
	}
	mustRoom(t, s, "other")
	wantNoErr(t, "CreateAccount", s.CreateAccount(ctx, store.Account{Nick: "Alice", PasswordHash: "h"}))
	exp := time.Now().Add(time.Hour)
	wantNoErr(t, "CreateSession", s.CreateSession(ctx, store.Session{TokenHash: "tok", Nick: "Alice", ExpiresAt: exp}))
	var sent []chat.Message
	for i := range 20 {
		sent = append(sent, mustAppend(t, s, store.NewMessage{Room: "general", Nick: "Alice", Kind: chat.KindText, Text: fmt.Sprintf("m%d", i), ClientID: fmt.Sprintf("c%d", i)}))
	}
	sent = append(sent, appendParallel(t, s, "general", 30, 5)...)
	wantNoErr(t, "Close", s.Close())

	s = open()
	rec := listen(s)
	watch(t, s, "general", "other")
	a, err := s.Account(ctx, "alice")
	if err != nil || a.Nick != "Alice" {
		t.Fatalf("Account after reopen: %+v, %v", a, err)
	}
	if sess, err := s.Session(ctx, "tok"); err != nil || sess.Nick != "Alice" || !closeTo(sess.ExpiresAt, exp) {
		t.Fatalf("Session after reopen: %+v, %v", sess, err)
	}
	r, err := s.Room(ctx, "general")
	wantNoErr(t, "Room after reopen", err)
	if r.Topic != topic || r.LastID != sent[len(sent)-1].ID {
		t.Fatalf("Room after reopen = %+v, want topic %q and LastID %q", r, topic, sent[len(sent)-1].ID)
	}
	if rooms, err := s.Rooms(ctx); err != nil || len(rooms) != 2 {
		t.Fatalf("Rooms after reopen: %+v, %v", rooms, err)
	}
	got, _, err := s.Since(ctx, "general", "", 0)
	wantNoErr(t, "Since after reopen", err)
	checkMessages(t, "messages after reopen", got, sent)

	// client_id still deduplicates, and new ids follow the old ones.
	again, created, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "Alice", Kind: chat.KindText, Text: "retry", ClientID: "c3"})
	wantNoErr(t, "Append repeat after reopen", err)
	if created || sameMessage(again, sent[3]) != "" {
		t.Fatalf("repeat after reopen = %+v (created %v), want %+v", again, created, sent[3])
	}
	next := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "Alice", Kind: chat.KindText, Text: "after"})
	if chat.CompareIDs(next.ID, sent[len(sent)-1].ID) <= 0 {
		t.Fatalf("id %q after reopen does not follow the last id before it, %q", next.ID, sent[len(sent)-1].ID)
	}
	first := mustAppend(t, s, store.NewMessage{Room: "other", Nick: "Alice", Kind: chat.KindText, Text: "first in other"})
	rec.waitMessage(t, "general", next.ID)
	rec.waitMessage(t, "other", first.ID)
	checkMessages(t, "listener after reopen", rec.messages("general"), []chat.Message{next})
}

// testReopenTrimmed: the retention mark survives a reopen, so a resume point
// dropped before it still gets ErrTrimmed.
func testReopenTrimmed(t *testing.T, backend Reopener) {
	const keep = 5
	open := backend(t, Options{HistoryMax: keep})
	ctx := t.Context()
	s := open()
	mustRoom(t, s, "general")
	all := appendParallel(t, s, "general", 300, 6)
	n := len(all)
	_, _, err := s.Since(ctx, "general", all[0].ID, 10)
	wantErr(t, "Since a trimmed id", err, store.ErrTrimmed)
	wantNoErr(t, "Close", s.Close())

	s = open()
	_, _, err = s.Since(ctx, "general", all[0].ID, 10)
	wantErr(t, "Since a trimmed id after reopen", err, store.ErrTrimmed)
	got, _, err := s.Since(ctx, "general", all[n-keep-1].ID, 10)
	wantNoErr(t, "Since a kept id after reopen", err)
	checkMessages(t, "kept messages after reopen", got, all[n-keep:])
	next := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "after"})
	if chat.CompareIDs(next.ID, all[n-1].ID) <= 0 {
		t.Fatalf("id %q after reopen does not follow %q", next.ID, all[n-1].ID)
	}
}

// testCloseFinishesPending: appends racing Close either fail with ErrClosed
// or are kept: every acknowledged one is there after a reopen.
func testCloseFinishesPending(t *testing.T, backend Reopener) {
	open := backend(t, Options{})
	s := open()
	mustRoom(t, s, "general")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []chat.Message
		errs  []error
	)
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				m, _, err := s.Append(context.Background(), store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("%d/%d", w, i)})
				mu.Lock()
				switch {
				case errors.Is(err, store.ErrClosed):
					mu.Unlock()
					return
				case err != nil:
					errs = append(errs, err)
				default:
					acked = append(acked, m)
				}
				mu.Unlock()
			}
		})
	}
	testenv.Eventually(t, waitFor, "50 acknowledged appends", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 50
	})
	wantNoErr(t, "Close while appends run", s.Close())
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("appends racing Close failed with other errors than ErrClosed: %v", errs[0])
	}
	s = open()
	got, _, err := s.Since(t.Context(), "general", "", 0)
	wantNoErr(t, "Since after reopen", err)
	sortByID(acked)
	stored := map[string]chat.Message{}
	for _, m := range got {
		stored[m.ID] = m
	}
	for _, m := range acked {
		if d := sameMessage(stored[m.ID], m); d != "" {
			t.Fatalf("acknowledged message lost across Close: %s", d)
		}
	}
	t.Logf("%d acknowledged before Close, %d stored", len(acked), len(got))
}
