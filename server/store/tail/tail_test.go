package tail

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ssechat/chat/chat"
)

// model is the backend a tail stands in for: every message of a room,
// with the retention floor.
type model struct {
	msgs  []chat.Message
	ids   []chat.ID
	floor chat.ID
}

func (m *model) kept() (msgs []chat.Message, ids []chat.ID) {
	for i, id := range m.ids {
		if id.Compare(m.floor) > 0 {
			msgs, ids = append(msgs, m.msgs[i]), append(ids, id)
		}
	}
	return msgs, ids
}

func (m *model) since(after chat.ID, max int) ([]chat.Message, bool, bool) {
	if after.Compare(m.floor) < 0 {
		return nil, false, true
	}
	msgs, ids := m.kept()
	var out []chat.Message
	for i, id := range ids {
		if id.Compare(after) > 0 {
			out = append(out, msgs[i])
		}
	}
	if max > 0 && len(out) > max {
		return out[:max], true, false
	}
	return out, false, false
}

func (m *model) page(dir Direction, id chat.ID, limit int) ([]chat.Message, bool) {
	msgs, ids := m.kept()
	switch dir {
	case After:
		var out []chat.Message
		for i, x := range ids {
			if x.Compare(id) > 0 {
				out = append(out, msgs[i])
			}
		}
		if len(out) > limit {
			return out[:limit], true
		}
		return out, false
	case Before:
		n := 0
		for n < len(ids) && ids[n].Compare(id) < 0 {
			n++
		}
		msgs = msgs[:n]
	}
	if len(msgs) > limit {
		return msgs[len(msgs)-limit:], true
	}
	return msgs, false
}

// ids of both stores' kinds: SQLite's consecutive sequence numbers and
// Redis's ms-seq stream ids with gaps.
var idKinds = map[string]func(i int) chat.ID{
	"seq":    func(i int) chat.ID { return chat.ID{Major: uint64(i)} },
	"stream": func(i int) chat.ID { return chat.ID{Major: 1_700_000_000_000 + uint64(i/3)*7, Minor: uint64(i % 3)} },
}

// TestAgainstModel: whatever a tail answers equals what the backend would
// answer, through pushes past its size, trims and resets; and the newest
// questions are answered from memory.
func TestAgainstModel(t *testing.T) {
	for kind, idOf := range idKinds {
		for _, size := range []int{1, 5, 16} {
			t.Run(fmt.Sprintf("%s/size=%d", kind, size), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(size), 7))
				var m model
				tl := New(size)
				// The room starts empty: nothing at or before id 0 exists.
				m.floor = idOf(0)
				tl.Reset(idOf(0))
				tl.Trim(idOf(0))
				answered := 0
				next := 1
				for step := range 2000 {
					switch r := rng.IntN(20); {
					case r < 12:
						id := idOf(next)
						msg := chat.Message{ID: fmt.Sprint(id), Text: fmt.Sprint("m", next)}
						next++
						m.msgs, m.ids = append(m.msgs, msg), append(m.ids, id)
						tl.Push(id, msg)
					case r == 12 && next > 4:
						if f := idOf(next - 1 - rng.IntN(4) - size/2); f.Compare(m.floor) > 0 {
							m.floor = f // retention only ever moves forward
						}
						tl.Trim(m.floor)
					case r == 13 && step%7 == 0:
						last, _ := tl.Last()
						tl.Reset(last) // as after a restart: nothing held, everything after last will be
					}
					at := idOf(rng.IntN(next + 2))
					limit := 1 + rng.IntN(size+3)
					got, more, trimmed, ok := tl.Since(at, limit)
					if ok {
						answered++
						want, wantMore, wantTrimmed := m.since(at, limit)
						if trimmed != wantTrimmed || (!trimmed && (!slices.Equal(got, want) || more != wantMore)) {
							t.Fatalf("step %d: Since(%v, %d) = %v %v trimmed %v; the backend has %v %v trimmed %v",
								step, at, limit, texts(got), more, trimmed, texts(want), wantMore, wantTrimmed)
						}
					}
					for _, dir := range []Direction{Newest, Before, After} {
						got, more, ok := tl.Page(dir, at, limit)
						if !ok {
							continue
						}
						answered++
						want, wantMore := m.page(dir, at, limit)
						if !slices.Equal(got, want) || more != wantMore {
							t.Fatalf("step %d: Page(%d, %v, %d) = %v %v; the backend has %v %v",
								step, dir, at, limit, texts(got), more, texts(want), wantMore)
						}
					}
				}
				if answered < 1000 {
					t.Fatalf("only %d answers from memory in 2000 steps; the test checks little", answered)
				}
			})
		}
	}
}

func texts(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

// TestAnswersFromMemory: the questions a tail exists for are answered.
func TestAnswersFromMemory(t *testing.T) {
	tl := New(100)
	tl.Reset(chat.ID{})
	for i := 1; i <= 250; i++ {
		tl.Push(chat.ID{Major: uint64(i)}, chat.Message{ID: fmt.Sprint(i)})
	}
	if msgs, more, _, ok := tl.Since(chat.ID{Major: 200}, 100); !ok || more || len(msgs) != 50 || msgs[0].ID != "201" {
		t.Fatalf("Since(200) = %d messages, more %v, ok %v; want 201..250 from memory", len(msgs), more, ok)
	}
	if _, _, _, ok := tl.Since(chat.ID{Major: 100}, 100); ok {
		t.Fatal("Since(100) answered, but 101..150 are no longer held")
	}
	if _, _, _, ok := tl.Since(chat.ID{Major: 251}, 100); ok {
		t.Fatal("Since past the newest answered; only the backend knows whether that id exists")
	}
	if msgs, more, ok := tl.Page(Newest, chat.ID{}, 50); !ok || !more || len(msgs) != 50 || msgs[49].ID != "250" {
		t.Fatalf("newest page = %d messages, more %v, ok %v", len(msgs), more, ok)
	}
}

// TestInvalid: a new or dropped tail answers nothing and ignores pushes
// until Reset.
func TestInvalid(t *testing.T) {
	tl := New(10)
	tl.Push(chat.ID{Major: 1}, chat.Message{ID: "1"})
	if _, ok := tl.Last(); ok || tl.Valid() {
		t.Fatal("a new tail is valid")
	}
	tl.Reset(chat.ID{})
	tl.Push(chat.ID{Major: 1}, chat.Message{ID: "1"})
	if _, _, _, ok := tl.Since(chat.ID{}, 0); !ok {
		t.Fatal("Since(0) of a tail holding the room from its start is not answered")
	}
	tl.Drop()
	tl.Push(chat.ID{Major: 2}, chat.Message{ID: "2"})
	if _, _, _, ok := tl.Since(chat.ID{Major: 1}, 0); ok || tl.Valid() {
		t.Fatal("a dropped tail answered")
	}
	if _, _, ok := tl.Page(Newest, chat.ID{}, 10); ok {
		t.Fatal("a dropped tail answered a page")
	}
}
