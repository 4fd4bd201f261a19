package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// BenchmarkResume is one stream resuming K messages behind over real HTTP:
// authentication, the store's Since read, encoding and writing the replay,
// read back by a client in the same process (so the figure is an upper
// bound of the server's share). The store's own Since benchmarks live with
// the store.
func BenchmarkResume(b *testing.B) {
	for _, k := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("behind=%d", k), func(b *testing.B) {
			srv := servertest.Start(b, servertest.WithConfig(func(c *server.Config) { c.Limits.Enabled = false }))
			tok := srv.Login(b, "bencher")
			from := srv.Post(b, tok, chat.DefaultRoom, "resume point")
			for i := range k {
				srv.Post(b, tok, chat.DefaultRoom, fmt.Sprintf("message %d", i))
			}
			b.ReportAllocs()
			for b.Loop() {
				st, err := srv.Subscribe(context.Background(), tok, chat.DefaultRoom, from.ID)
				if err != nil {
					b.Fatal(err)
				}
				for got := 0; got < k; {
					ev, err := st.Next(10 * time.Second)
					if err != nil {
						b.Fatalf("after %d of %d messages: %v", got, k, err)
					}
					if ev.Event == chat.EventMessage {
						got++
					}
				}
				st.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k), "ns/msg")
		})
	}
}
