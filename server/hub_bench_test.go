package server

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

func benchMessage() *chat.Message {
	return &chat.Message{
		ID: "123456", Room: "bench", Nick: "alice", Kind: chat.KindText,
		Text: strings.Repeat("hello world ", 9), ClientID: "c-0123456789",
		TS: time.Date(2026, 11, 23, 8, 0, 0, 123456789, time.UTC),
	}
}

// BenchmarkMessageFrame is the cost of encoding one message event: paid
// once per event, whatever the number of subscribers.
func BenchmarkMessageFrame(b *testing.B) {
	m := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := messageFrame(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHubDispatch is one message event handed to every subscriber of a
// room: one encode, then one queue append per subscriber. The queues are
// emptied every 256 events outside the timer, as the streams' writers would.
func BenchmarkHubDispatch(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := newHub(&stats{}, slog.New(slog.DiscardHandler))
			subs := make([]*subscriber, n)
			for i := range subs {
				subs[i] = h.subscribe("bench", 1024)
			}
			ev := store.Event{Room: "bench", Message: benchMessage()}
			bufs := make([][]*frame, n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.dispatch(ev)
				if i++; i%256 == 0 {
					b.StopTimer()
					for j, s := range subs {
						bufs[j], _ = s.take(bufs[j])
						clear(bufs[j])
						<-s.wake
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			for _, s := range subs {
				h.unsubscribe(s)
			}
		})
	}
}
