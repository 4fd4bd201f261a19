package storetest

import (
	"slices"
	"testing"

	"github.com/ssechat/chat/server/store"
)

func testPresence(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "general")
	mustRoom(t, s, "other")
	step := func(what string, got []string, err error, want ...string) {
		t.Helper()
		wantNoErr(t, what, err)
		if want == nil {
			want = []string{}
		}
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: online %q, want %q", what, got, want)
		}
	}
	online, err := s.Online(ctx, "general")
	step("Online of an empty room", online, err)
	online, err = s.Join(ctx, "general", "bob", "c1")
	step("Join bob", online, err, "bob")
	online, err = s.Join(ctx, "general", "alice", "c2")
	step("Join alice", online, err, "alice", "bob")
	online, err = s.Join(ctx, "general", "alice", "c3")
	step("Join alice's second connection", online, err, "alice", "bob")
	online, err = s.Join(ctx, "other", "carol", "c4")
	step("Join carol elsewhere", online, err, "carol")
	online, err = s.Online(ctx, "general")
	step("Online", online, err, "alice", "bob")
	online, err = s.Leave(ctx, "general", "alice", "c2")
	step("Leave alice's first connection", online, err, "alice", "bob")
	online, err = s.Leave(ctx, "general", "alice", "c3")
	step("Leave alice's last connection", online, err, "bob")
	online, err = s.Leave(ctx, "general", "alice", "c3")
	step("Leave twice", online, err, "bob")
	online, err = s.Leave(ctx, "general", "bob", "c1")
	step("Leave bob", online, err)
	online, err = s.Online(ctx, "other")
	step("Online elsewhere", online, err, "carol")

	// A list once returned is the caller's to keep: later joins and leaves
	// must not change it (the server encodes it into events after the call).
	first, err := s.Join(ctx, "third", "mia", "c5")
	step("Join mia", first, err, "mia")
	second, err := s.Join(ctx, "third", "lea", "c6")
	step("Join lea", second, err, "lea", "mia")
	_, err = s.Leave(ctx, "third", "lea", "c6")
	wantNoErr(t, "Leave lea", err)
	_, err = s.Join(ctx, "third", "abe", "c7")
	wantNoErr(t, "Join abe", err)
	_, err = s.Leave(ctx, "third", "mia", "c5")
	wantNoErr(t, "Leave mia", err)
	step("the list Join mia returned, after more joins and leaves", first, nil, "mia")
	step("the list Join lea returned, after more joins and leaves", second, nil, "lea", "mia")
}

func testWatchAndPing(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "general")
	wantNoErr(t, "Ping", s.Ping(ctx))
	stop1, err := s.Watch(ctx, "general")
	wantNoErr(t, "Watch", err)
	stop2, err := s.Watch(ctx, "general")
	wantNoErr(t, "Watch again (watches nest)", err)
	stop1()
	// The inner watch still holds: events flow.
	rec := listen(s) // nothing appended yet, as Listen requires
	m := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: "text", Text: "still watched"})
	rec.waitMessage(t, "general", m.ID)
	stop2()
}

func testClose(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "general")
	wantNoErr(t, "CreateAccount", s.CreateAccount(ctx, store.Account{Nick: "alice", PasswordHash: "h"}))
	m := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: "text", Text: "hi"})
	wantNoErr(t, "Close", s.Close())

	_, _, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "alice", Kind: "text", Text: "late"})
	wantErr(t, "Append after Close", err, store.ErrClosed)
	_, err = s.Account(ctx, "alice")
	wantErr(t, "Account after Close", err, store.ErrClosed)
	wantErr(t, "CreateAccount after Close", s.CreateAccount(ctx, store.Account{Nick: "bob", PasswordHash: "h"}), store.ErrClosed)
	_, err = s.Session(ctx, "t")
	wantErr(t, "Session after Close", err, store.ErrClosed)
	_, _, err = s.PutRoom(ctx, "x", nil)
	wantErr(t, "PutRoom after Close", err, store.ErrClosed)
	_, err = s.Rooms(ctx)
	wantErr(t, "Rooms after Close", err, store.ErrClosed)
	_, _, err = s.Page(ctx, "general", store.PageQuery{Limit: 10})
	wantErr(t, "Page after Close", err, store.ErrClosed)
	_, _, err = s.Since(ctx, "general", m.ID, 10)
	wantErr(t, "Since after Close", err, store.ErrClosed)
	_, err = s.Join(ctx, "general", "alice", "c")
	wantErr(t, "Join after Close", err, store.ErrClosed)
	wantErr(t, "Publish after Close", s.Publish(ctx, store.Event{Room: "general"}), store.ErrClosed)
	wantErr(t, "Ping after Close", s.Ping(ctx), store.ErrClosed)
	// A second Close is harmless (the opener's cleanup calls it too).
	_ = s.Close()
}
