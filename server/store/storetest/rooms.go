package storetest

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// RunRooms runs the Rooms role's part of the suite.
func RunRooms(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Rooms", testRooms},
		{"PutConcurrent", testPutRoomConcurrent},
	})
}

func testRooms(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := t.Context()
	rooms, err := s.Rooms(ctx)
	wantNoErr(t, "Rooms of an empty store", err)
	if len(rooms) != 0 {
		t.Fatalf("a new store has rooms %+v; creating rooms is the server's business", rooms)
	}
	_, err = s.Room(ctx, "general")
	wantErr(t, "Room(unknown)", err, store.ErrNotFound)

	topic := "Go talk"
	r, created, err := s.PutRoom(ctx, "golang", &topic)
	wantNoErr(t, "PutRoom(golang)", err)
	if !created || r.Name != "golang" || r.Topic != topic || r.LastID != "" || r.Created.IsZero() {
		t.Fatalf("PutRoom(golang) = %+v, created %v; want a new room with topic %q, no LastID, Created set", r, created, topic)
	}
	r, created, err = s.PutRoom(ctx, "golang", nil)
	wantNoErr(t, "PutRoom(golang) again", err)
	if created || r.Topic != topic {
		t.Fatalf("PutRoom(golang, nil) again = %+v, created %v; want the existing room, topic kept", r, created)
	}
	newTopic := ""
	r, created, err = s.PutRoom(ctx, "golang", &newTopic)
	wantNoErr(t, "PutRoom(golang, empty topic)", err)
	if created || r.Topic != "" {
		t.Fatalf("PutRoom(golang, \"\") = %+v, created %v; want the existing room with the topic cleared", r, created)
	}
	newTopic = "Gophers"
	if _, _, err := s.PutRoom(ctx, "golang", &newTopic); err != nil {
		t.Fatal(err)
	}
	got, err := s.Room(ctx, "golang")
	wantNoErr(t, "Room(golang)", err)
	if got.Topic != "Gophers" || got.Name != "golang" {
		t.Fatalf("Room(golang) = %+v, want topic Gophers", got)
	}

	for _, name := range []string{"zeta", "alpha", "m-1", "general"} {
		mustRoom(t, s, name)
	}
	rooms, err = s.Rooms(ctx)
	wantNoErr(t, "Rooms", err)
	var names []string
	for _, r := range rooms {
		names = append(names, r.Name)
	}
	want := []string{"alpha", "general", "golang", "m-1", "zeta"}
	if len(names) != len(want) {
		t.Fatalf("Rooms = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("Rooms = %v, want %v (sorted by name)", names, want)
		}
	}

	// LastID follows appends, per room.
	m1 := mustAppend(t, s, store.NewMessage{Room: "alpha", Nick: "alice", Kind: chat.KindText, Text: "one"})
	m2 := mustAppend(t, s, store.NewMessage{Room: "alpha", Nick: "alice", Kind: chat.KindText, Text: "two"})
	got, err = s.Room(ctx, "alpha")
	wantNoErr(t, "Room(alpha)", err)
	if got.LastID != m2.ID {
		t.Fatalf("Room(alpha).LastID = %q after appending %q and %q", got.LastID, m1.ID, m2.ID)
	}
	rooms, err = s.Rooms(ctx)
	wantNoErr(t, "Rooms", err)
	for _, r := range rooms {
		want := ""
		if r.Name == "alpha" {
			want = m2.ID
		}
		if r.LastID != want {
			t.Fatalf("Rooms: %s has LastID %q, want %q", r.Name, r.LastID, want)
		}
	}
}

// testPutRoomConcurrent: many PutRoom calls for one new room create it once.
func testPutRoomConcurrent(t *testing.T, open Opener) {
	s := open(t, Options{})
	const n = 12
	var (
		wg      sync.WaitGroup
		created atomic.Int32
		errs    = make(chan error, n)
	)
	for range n {
		wg.Go(func() {
			_, c, err := s.PutRoom(t.Context(), "busy", nil)
			if err != nil {
				errs <- err
			}
			if c {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent PutRoom: %v", err)
	}
	if created.Load() != 1 {
		t.Fatalf("%d of %d concurrent PutRoom calls for one new room say created, want 1", created.Load(), n)
	}
	rooms, err := s.Rooms(t.Context())
	wantNoErr(t, "Rooms", err)
	if len(rooms) != 1 || rooms[0].Name != "busy" {
		t.Fatalf("Rooms after concurrent creation = %+v, want just busy", rooms)
	}
}
