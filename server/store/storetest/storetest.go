// Package storetest is the conformance suite every store.Store must pass:
// the SQLite store and the Redis store run the same tests, so the server can
// rely on one behaviour.
//
// The suite is cut like store.Store: one RunX per role (RunAccounts,
// RunSessions, RunRooms, RunMembership, RunMessageLog, RunPresence, RunRelay,
// RunLifecycle), each in the file of its role, each runnable alone; Run runs
// them all. A new role brings its own file and one line in roles. Every test
// passes complete, valid input, as the server does: a store is not asked to
// guess a default.
//
// Message ids are compared with chat.ParseID and chat.CompareIDs only, never
// as numbers or strings: SQLite ids look like "42", Redis ids like
// "1700000000000-0".
//
// Where store.Store's comments leave a choice open, the suite settles it:
//   - a new store holds no rooms (the server creates "general");
//   - SetPassword, DeleteAccount and ExtendSession of something unknown (or
//     an expired session) return store.ErrNotFound; DeleteSession and
//     DeleteSessions of something unknown return nil;
//   - Page and Since of an unknown room return store.ErrNotFound, and an id
//     that is not an id (or not one of this store's) wraps chat.ErrBadID;
//   - Since with after "" or "0" reads from the start of the room, and a
//     trimmed room then returns store.ErrTrimmed; so does an id past the
//     room's newest (SinceFuture);
//   - a message without a kind, or a page query without a limit in 1 to
//     chat.MaxPageSize or with both bounds, wraps store.ErrInvalid;
//   - Append returns exactly what Page and Since return later (times to the
//     nanosecond the store keeps), and a given TS is kept to the millisecond;
//   - messages and published events reach the listener only for rooms being
//     watched (tests Watch first), one call at a time;
//   - a second Close must not panic; its result is not checked.
package storetest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
)

// Options configures the store a test asks for.
type Options struct {
	// HistoryMax is how many messages per room the store must keep at
	// least; 0 keeps all.
	HistoryMax int
}

// Opener returns a new, empty store configured by opts. It registers the
// store's Close with t.Cleanup; Close may also be called by the test, so a
// second Close must be harmless.
type Opener func(t *testing.T, opts Options) store.Store

// Reopener prepares one backend's data for a test and returns open, which
// opens a store on that data: empty on the first call, the same data again
// on each later call (the test closes the previous store first). open
// registers each store's Close with t.Cleanup.
type Reopener func(t *testing.T, opts Options) (open func() store.Store)

// waitFor bounds how long a test waits for the listener to receive events.
const waitFor = 10 * time.Second

// role is one role's part of the suite.
type role struct {
	name string
	run  func(t *testing.T, open Opener)
}

// roles lists every role's suite; a new role adds its line here.
var roles = []role{
	{"Accounts", RunAccounts},
	{"Sessions", RunSessions},
	{"Rooms", RunRooms},
	{"Membership", RunMembership},
	{"MessageLog", RunMessageLog},
	{"Search", RunSearch},
	{"Presence", RunPresence},
	{"Relay", RunRelay},
	{"AccessTokens", RunAccessTokens},
	{"Hooks", RunHooks},
	{"Lifecycle", RunLifecycle},
}

// Run runs the whole conformance suite against stores made by open, one
// subtest per role (go test -run 'TestConformance/MessageLog' runs one).
func Run(t *testing.T, open Opener) {
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) { r.run(t, open) })
	}
}

// test is one test of a role's suite.
type test struct {
	name string
	fn   func(t *testing.T, open Opener)
}

func run(t *testing.T, open Opener, tests []test) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// RunReopen runs the tests that close a store and open it again on the same
// data: nothing committed is lost and ids continue.
func RunReopen(t *testing.T, backend Reopener) {
	t.Run("ReopenKeepsEverything", func(t *testing.T) { testReopen(t, backend) })
	t.Run("ReopenKeepsTrimMark", func(t *testing.T) { testReopenTrimmed(t, backend) })
	t.Run("CloseFinishesPending", func(t *testing.T) { testCloseFinishesPending(t, backend) })
}

// recorder is a listener that keeps every event and notices overlapping
// calls, which the Store contract forbids.
type recorder struct {
	mu      sync.Mutex
	events  []store.Event
	inCall  atomic.Int32
	overlap atomic.Bool
}

func listen(s store.Store) *recorder {
	r := &recorder{}
	s.Listen(r.fn)
	return r
}

func (r *recorder) fn(e store.Event) {
	if r.inCall.Add(1) > 1 {
		r.overlap.Store(true)
	}
	runtime.Gosched() // widen the window in which an overlapping call is seen
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.inCall.Add(-1)
}

// messages returns the messages relayed for room, in the order received.
func (r *recorder) messages(room string) []chat.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []chat.Message
	for _, e := range r.events {
		if e.Message != nil && e.Room == room {
			out = append(out, *e.Message)
		}
	}
	return out
}

func (r *recorder) all() []store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitMessage waits until the message with id has been relayed for room.
func (r *recorder) waitMessage(t *testing.T, room, id string) {
	t.Helper()
	testenv.Eventually(t, waitFor, "message "+id+" of room "+room+" at the listener", func() bool {
		for _, m := range r.messages(room) {
			if m.ID == id {
				return true
			}
		}
		return false
	})
}

func (r *recorder) checkNoOverlap(t *testing.T) {
	t.Helper()
	if r.overlap.Load() {
		t.Error("the listener was called from two goroutines at once")
	}
}

// watch makes the rooms' events reach the listener for the rest of the test
// (a cluster store relays only watched rooms).
func watch(t *testing.T, s store.Store, rooms ...string) {
	t.Helper()
	for _, room := range rooms {
		stop, err := s.Watch(t.Context(), room)
		if err != nil {
			t.Fatalf("Watch(%q): %v", room, err)
		}
		t.Cleanup(stop)
	}
}

// createAndWatch creates each room, then watches them all until the test
// ends: the start of every test that reads events from the store.
func createAndWatch(t *testing.T, s store.Store, rooms ...string) {
	t.Helper()
	for _, room := range rooms {
		mustRoom(t, s, room)
	}
	watch(t, s, rooms...)
}

func mustRoom(t *testing.T, s store.Store, name string) {
	t.Helper()
	if _, _, err := s.PutRoom(t.Context(), name, nil); err != nil {
		t.Fatalf("PutRoom(%q): %v", name, err)
	}
}

func mustAppend(t *testing.T, s store.Store, m store.NewMessage) chat.Message {
	t.Helper()
	msg, created, err := s.Append(t.Context(), m)
	if err != nil {
		t.Fatalf("Append(%+v): %v", m, err)
	}
	if !created {
		t.Fatalf("Append(%+v): created = false for a new message", m)
	}
	return msg
}

// appendN appends n messages from alice to room one by one and returns them.
func appendN(t *testing.T, s store.Store, room string, n int) []chat.Message {
	t.Helper()
	out := make([]chat.Message, n)
	for i := range out {
		out[i] = mustAppend(t, s, store.NewMessage{Room: room, Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("m%d", i)})
	}
	return out
}

// appendParallel appends n messages to room from workers goroutines and
// returns them sorted by id.
func appendParallel(t *testing.T, s store.Store, room string, n, workers int) []chat.Message {
	t.Helper()
	var (
		mu   sync.Mutex
		out  []chat.Message
		errs []error
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				m, _, err := s.Append(t.Context(), store.NewMessage{Room: room, Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("p%d", i)})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					out = append(out, m)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("parallel appends: %v", err)
	}
	sortByID(out)
	return out
}

func sortByID(msgs []chat.Message) {
	slices.SortFunc(msgs, func(a, b chat.Message) int { return chat.CompareIDs(a.ID, b.ID) })
}

// sameMessage reports how a and b differ, or "" when they are the same
// stored message.
func sameMessage(a, b chat.Message) string {
	if a.ID != b.ID || a.Room != b.Room || a.Nick != b.Nick || a.Kind != b.Kind || a.Text != b.Text || a.ClientID != b.ClientID || a.Via != b.Via || !a.TS.Equal(b.TS) {
		return fmt.Sprintf("got %+v, want %+v", a, b)
	}
	return ""
}

// checkMessages fails unless got and want are the same messages in the same
// order.
func checkMessages(t *testing.T, what string, got, want []chat.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages %v, want %d %v", what, len(got), ids(got), len(want), ids(want))
	}
	for i := range got {
		if d := sameMessage(got[i], want[i]); d != "" {
			t.Fatalf("%s: message %d: %s", what, i, d)
		}
	}
}

func ids(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// checkIncreasing fails unless the ids are valid and strictly increasing.
func checkIncreasing(t *testing.T, what string, msgs []chat.Message) {
	t.Helper()
	for i, m := range msgs {
		if _, err := chat.ParseID(m.ID); err != nil {
			t.Fatalf("%s: message %d has id %q: %v", what, i, m.ID, err)
		}
		if i > 0 && chat.CompareIDs(msgs[i-1].ID, m.ID) >= 0 {
			t.Fatalf("%s: id %q follows %q: ids must strictly increase", what, m.ID, msgs[i-1].ID)
		}
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func wantNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// closeTo reports whether two times agree to the millisecond, the precision
// every store keeps.
func closeTo(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}
