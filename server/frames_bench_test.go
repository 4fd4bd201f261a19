package server

import (
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
)

// BenchmarkMessageFrame is the cost of encoding one message event: paid
// once per event, whatever the number of streams (the fan-out itself is
// fanout.BenchmarkHubDispatch).
func BenchmarkMessageFrame(b *testing.B) {
	m := &chat.Message{
		ID: "123456", Room: "bench", Nick: "alice", Kind: chat.KindText,
		Text: strings.Repeat("hello world ", 9), ClientID: "c-0123456789",
		TS: time.Date(2026, 11, 23, 8, 0, 0, 123456789, time.UTC),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := messageFrame(m); err != nil {
			b.Fatal(err)
		}
	}
}
