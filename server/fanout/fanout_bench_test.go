package fanout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/sse"
)

func benchMessage() *chat.Message {
	return &chat.Message{
		ID: "123456", Room: "bench", Nick: "alice", Kind: chat.KindText,
		Text: strings.Repeat("hello world ", 9), ClientID: "c-0123456789",
		TS: time.Date(2026, 11, 23, 8, 0, 0, 123456789, time.UTC),
	}
}

// encode is what the server's dispatch does once per message event
// (server.messageFrame): parse the id, encode the frame.
func encode(m *chat.Message) (*Frame, error) {
	id, err := chat.ParseID(m.ID)
	if err != nil {
		return nil, err
	}
	b, err := sse.AppendJSON(make([]byte, 0, len(m.Text)+len(m.Room)+len(m.Nick)+len(m.ClientID)+160), chat.EventMessage, m.ID, m)
	if err != nil {
		return nil, err
	}
	return &Frame{Data: b, ID: id, Ordered: true, Keep: true}, nil
}

// BenchmarkHubDispatch is one message event handed to every stream of a
// topic, as the server's dispatch does it: a check that the topic has
// streams, one encode, then one queue append per stream. The queues are
// emptied every 256 events outside the timer, as the streams' writers
// would.
func BenchmarkHubDispatch(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			e := New(Options{QueueMax: 1024})
			streams := make([]*Stream, n)
			for i := range streams {
				streams[i] = e.NewStream()
				streams[i].Subscribe("bench")
			}
			m := benchMessage()
			bufs := make([][]queued, n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if e.Subscribed("bench") {
					f, err := encode(m)
					if err != nil {
						b.Fatal(err)
					}
					e.Publish("bench", f)
				}
				if i++; i%256 == 0 {
					b.StopTimer()
					for j, s := range streams {
						bufs[j], _, _ = s.take(bufs[j])
						clear(bufs[j])
						<-s.wake
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			for _, s := range streams {
				s.Close()
			}
		})
	}
}
