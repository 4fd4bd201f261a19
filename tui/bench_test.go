package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// benchRoomSize is the history the benchmarks hold in one room.
const benchRoomSize = 20000

func benchModel(b *testing.B) *Model {
	b.Helper()
	words := strings.Fields("the quick brown fox jumps over the lazy dog while 日本語 and emoji 🎉 wrap by cells")
	page := make([]chat.Message, benchRoomSize)
	for i := range page {
		n := 3 + i%40 // 3 to 42 words: one to three lines at 100 columns
		var sb strings.Builder
		for w := 0; w < n; w++ {
			if w > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[(i+w)%len(words)])
		}
		page[i] = chat.Message{ID: fmt.Sprint(i + 1), Room: "general", Nick: fmt.Sprintf("user%d", i%17), Kind: chat.KindText, Text: sb.String(), TS: t0.Add(time.Duration(i-benchRoomSize) * time.Minute)}
	}
	m, _ := newChatModel(b, 100, 40, page, false)
	if len(m.cur().entries) != benchRoomSize {
		b.Fatalf("%d entries, want %d", len(m.cur().entries), benchRoomSize)
	}
	m.View()
	return m
}

// BenchmarkKeypress20k is one key typed into the input (Update + View) with
// 20 000 messages in the room. Keys alternate between a letter and
// Backspace so the input stays one line.
func BenchmarkKeypress20k(b *testing.B) {
	m := benchModel(b)
	keys := []tea.KeyMsg{keyRunes("a"), keyType(tea.KeyBackspace)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Update(keys[i%2])
		_ = m.View()
	}
}

// BenchmarkIncoming20k is one new message arriving on the stream (Update +
// View) with 20 000 messages in the room.
func BenchmarkIncoming20k(b *testing.B) {
	benchIncoming(b, benchModel(b))
}

// BenchmarkIncomingScrolledUp20k is the same with the view scrolled to the
// oldest message: the view must not move, and the "N new" marker counts.
func BenchmarkIncomingScrolledUp20k(b *testing.B) {
	m := benchModel(b)
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlHome})
	benchIncoming(b, m)
}

// benchIncoming measures one new message arriving (Update + View) on m.
func benchIncoming(b *testing.B, m *Model) {
	r := m.cur()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		msg := chat.Message{ID: fmt.Sprint(benchRoomSize + 1 + i), Room: "general", Nick: "bob", Kind: chat.KindText, Text: "a new message arrives and is wrapped once", TS: t0}
		m.Update(eventMsg{gen: r.gen, ev: client.Event{Room: "general", Message: &msg}})
		_ = m.View()
	}
}

// BenchmarkResize20k is a terminal resize (Update + View): only the
// messages in sight are wrapped again; the rest wait until scrolled to.
func BenchmarkResize20k(b *testing.B) {
	m := benchModel(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Update(tea.WindowSizeMsg{Width: 80 + i%2*20, Height: 40})
		_ = m.View()
	}
}

// BenchmarkViewportSetContent20k is the design not taken: handing the whole
// scrollback to bubbles' viewport on every new message. SetContent splits
// the text and measures every line's width each time.
func BenchmarkViewportSetContent20k(b *testing.B) {
	m := benchModel(b)
	r := m.cur()
	rd := m.renderer()
	var all []string
	for i := range r.entries {
		all = append(all, r.entryLines(i, rd)...)
	}
	content := strings.Join(all, "\n")
	vp := viewport.New(m.width, m.paneHeight())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		vp.SetContent(content)
		vp.GotoBottom()
		_ = vp.View()
	}
}
