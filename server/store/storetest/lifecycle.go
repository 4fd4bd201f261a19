package storetest

import (
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// RunLifecycle runs the Lifecycle part of the suite: an open store is
// ready, and after Close every role answers ErrClosed.
func RunLifecycle(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Ping", testPing},
		{"Close", testClose},
	})
}

func testPing(t *testing.T, open Opener) {
	s := open(t, Options{})
	wantNoErr(t, "Ping of a new store", s.Ping(t.Context()))
	mustRoom(t, s, "general")
	appendN(t, s, "general", 3)
	wantNoErr(t, "Ping after appends", s.Ping(t.Context()))
}

func testClose(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	mustRoom(t, s, "general")
	wantNoErr(t, "CreateAccount", s.CreateAccount(ctx, store.Account{Nick: "alice", PasswordHash: "h"}))
	m := mustAppend(t, s, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "hi"})
	wantNoErr(t, "Close", s.Close())

	_, _, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: "late"})
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
