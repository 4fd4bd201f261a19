package server_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// window is the server's presence window (presence.go's presenceWindow):
// a room's streams get at most one presence event per window.
const window = 250 * time.Millisecond

// onlineView is one stream's view of a room's online set: its welcome's
// list with every presence event applied in order. apply fails on a change
// that contradicts the view (a join of a nick it has online, a leave of
// one it has not): a stream must never see join, join or leave, leave.
type onlineView struct {
	online      map[string]bool
	events      int // presence events applied
	bytes       int // their data's bytes
	first, last time.Time
}

func newOnlineView(t *testing.T, st *servertest.Stream) *onlineView {
	t.Helper()
	var w chat.Welcome
	decode(t, nextOf(t, st, chat.EventWelcome), &w)
	v := &onlineView{online: map[string]bool{}}
	for _, n := range w.Online {
		v.online[n] = true
	}
	return v
}

func (v *onlineView) apply(ev servertest.Event) error {
	var p chat.Presence
	if err := ev.Decode(&p); err != nil {
		return fmt.Errorf("decode presence %q: %w", ev.Data, err)
	}
	if p.Online != nil {
		return fmt.Errorf("presence %s carries the online list", ev.Data)
	}
	now := time.Now()
	if v.events == 0 {
		v.first = now
	}
	v.last = now
	v.events++
	v.bytes += len(ev.Data)
	for _, c := range p.All() {
		switch {
		case c.State == chat.PresenceJoin && !v.online[c.Nick]:
			v.online[c.Nick] = true
		case c.State == chat.PresenceLeave && v.online[c.Nick]:
			delete(v.online, c.Nick)
		default:
			return fmt.Errorf("%s of %s, which the stream already has so (event %d: %s)", c.State, c.Nick, v.events, ev.Data)
		}
	}
	return nil
}

func (v *onlineView) list() []string { return slices.Sorted(maps.Keys(v.online)) }

// settle reads st's presence events into v until v equals the store's
// online set and the store's set is want, failing the test on any
// contradiction or when that does not happen within wait. Events of other
// types are skipped.
func (v *onlineView) settle(t *testing.T, st *servertest.Stream, srv *servertest.Server, want []string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ev, err := st.Next(100 * time.Millisecond)
		switch {
		case errors.Is(err, servertest.ErrTimeout):
			stored, err := srv.Store.Online(context.Background(), "general")
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(v.list(), stored) && slices.Equal(stored, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("stream has %v online, the store %v; want %v", v.list(), stored, want)
			}
		case err != nil:
			t.Fatal(err)
		case ev.Event == chat.EventPresence:
			if err := v.apply(ev); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestPresence: a join and a leave each reach the room's other streams as
// one change, without the online list; a second stream of a nick (a second
// tab) announces nothing.
func TestPresence(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := srv.Login(t, "alice"), srv.Login(t, "bob")
	sa := srv.MustSubscribe(t, alice, "general", "")
	va := newOnlineView(t, sa)
	if got := va.list(); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("alice's welcome lists %v", got)
	}
	sb := srv.MustSubscribe(t, bob, "general", "")
	vb := newOnlineView(t, sb)

	ev := nextOf(t, sa, chat.EventPresence)
	if err := va.apply(ev); err != nil {
		t.Fatal(err)
	}
	var p chat.Presence
	decode(t, ev, &p)
	if p.Nick != "bob" || p.State != chat.PresenceJoin || len(p.Changes) != 1 || strings.Contains(ev.Data, `"online"`) {
		t.Fatalf("join %s", ev.Data)
	}
	vb.settle(t, sb, srv, []string{"alice", "bob"})

	sb2 := srv.MustSubscribe(t, bob, "general", "")
	nextOf(t, sb2, chat.EventWelcome)
	sb2.Close()
	sb.Close()
	ev = nextOf(t, sa, chat.EventPresence)
	decode(t, ev, &p)
	if p.Nick != "bob" || p.State != chat.PresenceLeave || len(p.Changes) != 1 {
		t.Fatalf("leave %s", ev.Data)
	}
	var members chat.Members
	srv.Do(t, "GET", "/api/rooms/general/members", alice, nil).Decode(t, &members)
	if strings.Join(members.Online, ",") != "alice" {
		t.Fatalf("members %v", members.Online)
	}
}

// TestPresenceChurn: four accounts open and close 1 200 streams in a loop
// (issue 19, item 8) while an observer watches the room. The observer gets
// at most one presence event per window, each nick's changes alternate,
// and its online set ends equal to the store's.
func TestPresenceChurn(t *testing.T) {
	srv := servertest.Start(t)
	testPresenceChurn(t, []*servertest.Server{srv})
}

// TestClusterPresenceChurn is TestPresenceChurn on two nodes of one Redis:
// the accounts' streams alternate between the nodes.
func TestClusterPresenceChurn(t *testing.T) {
	a, b := twoNodes(t, func(l *server.Limits) { l.Enabled = false })
	testPresenceChurn(t, []*servertest.Server{a, b})
}

func testPresenceChurn(t *testing.T, nodes []*servertest.Server) {
	const accounts, opens = 4, 1200
	srv := nodes[0]
	obs := srv.MustSubscribe(t, srv.Login(t, "observer"), "general", "")
	view := newOnlineView(t, obs)
	start := time.Now()

	toks := make([]string, accounts)
	for i := range toks {
		toks[i] = srv.Login(t, fmt.Sprintf("churn%d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, accounts)
	for i, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range opens / accounts {
				node := nodes[(i+j)%len(nodes)]
				st, err := node.Subscribe(ctx, tok, "general", "")
				if err != nil {
					errs <- fmt.Errorf("churn%d open %d: %w", i, j, err)
					return
				}
				// The welcome is written after the stream joined presence.
				_, err = st.Next(wait)
				st.Close()
				if err != nil {
					errs <- fmt.Errorf("churn%d open %d: welcome: %w", i, j, err)
					return
				}
			}
		}()
	}
	churned := make(chan struct{})
	go func() { wg.Wait(); close(churned) }()

	// Read the observer while the accounts churn, so its queue never
	// fills; then until it agrees with the store.
	for done := false; !done; {
		select {
		case <-churned:
			done = true
		default:
		}
		ev, err := obs.Next(50 * time.Millisecond)
		switch {
		case errors.Is(err, servertest.ErrTimeout):
		case err != nil:
			t.Fatal(err)
		case ev.Event == chat.EventPresence:
			if err := view.apply(ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	view.settle(t, obs, srv, []string{"observer"})

	run := view.last.Sub(start)
	if most := int(run/window) + 2; view.events > most {
		t.Fatalf("%d presence events in %v; want at most one per %v (%d)", view.events, run, window, most)
	}
	t.Logf("%d opens: %d presence events (%d bytes) in %v", opens, view.events, view.bytes, run)
}

// TestPresenceWelcomeAgreesWithEvents: streams opened and closed at every
// point of the window each get a welcome that the presence events after it
// continue without contradiction (no join of a nick the welcome listed, not
// even the stream's own), and all end with the store's online set.
func TestPresenceWelcomeAgreesWithEvents(t *testing.T) {
	srv := servertest.Start(t)
	testWelcomeAgreesWithEvents(t, []*servertest.Server{srv})
}

func TestClusterPresenceWelcomeAgreesWithEvents(t *testing.T) {
	a, b := twoNodes(t, func(l *server.Limits) { l.Enabled = false })
	testWelcomeAgreesWithEvents(t, []*servertest.Server{a, b})
}

func testWelcomeAgreesWithEvents(t *testing.T, nodes []*servertest.Server) {
	const n = 30
	type watched struct {
		st   *servertest.Stream
		view *onlineView
		node *servertest.Server
	}
	var open []watched
	var want []string
	for i := range n {
		nick := fmt.Sprintf("nick%02d", i)
		node := nodes[i%len(nodes)]
		st := node.MustSubscribe(t, node.Login(t, nick), "general", "")
		open = append(open, watched{st, newOnlineView(t, st), node})
		if i >= n/2 || i%2 == 0 {
			want = append(want, nick)
		}
	}
	// Close every odd one of the first half, one after the other, while
	// the second half's joins may still be pending.
	var kept []watched
	for i, w := range open {
		if i < n/2 && i%2 == 1 {
			w.st.Close()
			continue
		}
		kept = append(kept, w)
	}
	for _, w := range kept {
		w.view.settle(t, w.st, w.node, want)
	}
}

// TestPresenceBytesGrowLinearly: N nicks joining cost each stream of the
// room O(N) bytes of presence events, not O(N²) as when each event carried
// the whole online list: 200 nicks cost about twice what 100 do.
func TestPresenceBytesGrowLinearly(t *testing.T) {
	joinBytes := func(n int) int {
		srv := servertest.Start(t)
		obs := srv.MustSubscribe(t, srv.Login(t, "observer"), "general", "")
		view := newOnlineView(t, obs)
		want := []string{"observer"}
		for i := range n {
			nick := fmt.Sprintf("member%03d", i)
			st := srv.MustSubscribe(t, srv.Login(t, nick), "general", "")
			nextOf(t, st, chat.EventWelcome)
			want = append(want, nick)
		}
		slices.Sort(want)
		view.settle(t, obs, srv, want)
		t.Logf("%d nicks joining: %d presence events, %d bytes", n, view.events, view.bytes)
		return view.bytes
	}
	b100, b200 := joinBytes(100), joinBytes(200)
	if ratio := float64(b200) / float64(b100); ratio > 2.8 {
		t.Fatalf("100 joins cost %d bytes, 200 cost %d (×%.2f); want about ×2", b100, b200, ratio)
	}
}

// TestStreamOpenRate: opening streams draws on the account's stream
// bucket; over it the answer is 429 too_many_streams with Retry-After,
// and another account is not affected.
func TestStreamOpenRate(t *testing.T) {
	srv := withLimits(t, func(l *server.Limits) { l.StreamRate, l.StreamBurst = 0.01, 3 })
	testStreamOpenRate(t, []*servertest.Server{srv})
}

// TestClusterStreamOpenRate: the stream bucket holds over both nodes.
func TestClusterStreamOpenRate(t *testing.T) {
	a, b := twoNodes(t, func(l *server.Limits) { l.StreamRate, l.StreamBurst = 0.01, 3 })
	testStreamOpenRate(t, []*servertest.Server{a, b})
}

func testStreamOpenRate(t *testing.T, nodes []*servertest.Server) {
	tok := nodes[0].Login(t, "churner")
	for i := range 3 {
		st, err := nodes[i%len(nodes)].Subscribe(context.Background(), tok, "general", "")
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		st.Close()
	}
	for i, node := range nodes {
		_, err := node.Subscribe(context.Background(), tok, "general", "")
		var se *servertest.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusTooManyRequests || !strings.Contains(string(se.Body), `"too_many_streams"`) {
			t.Fatalf("node %d: fourth stream: %v; want 429 too_many_streams", i+1, err)
		}
		if secs, err := strconv.Atoi(se.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Fatalf("node %d: Retry-After %q", i+1, se.Header.Get("Retry-After"))
		}
	}
	other := nodes[len(nodes)-1].MustSubscribe(t, nodes[0].Login(t, "calm"), "general", "")
	nextOf(t, other, chat.EventWelcome)
}

// TestPresenceStateEndsWithTheRoomsStreams: a room's presence state and
// its timer live only while a stream of the room is open on the node, so
// rooms nobody watches any more hold nothing (no timer, no goroutine).
func TestPresenceStateEndsWithTheRoomsStreams(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "roamer")
	var streams []*servertest.Stream
	for _, room := range []string{"general", "alpha", "beta"} {
		if room != "general" {
			srv.CreateRoom(t, tok, room)
		}
		st := srv.MustSubscribe(t, tok, room, "")
		nextOf(t, st, chat.EventWelcome)
		streams = append(streams, st)
	}
	if n := server.PresenceRooms(srv.Server); n != 3 {
		t.Fatalf("presence state for %d rooms, want 3", n)
	}
	for _, st := range streams {
		st.Close()
	}
	deadline := time.Now().Add(wait)
	for server.PresenceRooms(srv.Server) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("presence state for %d rooms after every stream closed", server.PresenceRooms(srv.Server))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
