package storetest

import (
	"slices"
	"testing"
)

// RunPresence runs the Presence role's part of the suite.
func RunPresence(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Presence", testPresence},
	})
}

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
