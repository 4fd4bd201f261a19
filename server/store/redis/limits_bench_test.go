package redis_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// BenchmarkAppendLimited is BenchmarkAppend's aof_always=true/posters=16
// with the message bucket taken by the append script (AppendLimited, one
// bucket per poster, never empty): the difference between the two is what
// the cluster-wide message limit costs a post, with no round trip added.
func BenchmarkAppendLimited(b *testing.B) {
	rd := clustertest.StartRedis(b, clustertest.RedisOptions{Durable: true})
	s, err := redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: newPrefix(), HistoryMax: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Listen(func(store.Event) {})
	if _, _, err := s.PutRoom(context.Background(), "general", nil); err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("x", 100)
	bucket := store.Bucket{Rate: 1e9, Burst: 1 << 30}
	var n, posters atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		nick := "p" + strconv.FormatInt(posters.Add(1), 10)
		m := store.NewMessage{Room: "general", Nick: nick, Kind: chat.KindText, Text: text}
		for pb.Next() {
			m.ClientID = "c" + strconv.FormatInt(n.Add(1), 10)
			if _, _, err := s.AppendLimited(context.Background(), m, "msg:"+nick, bucket); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}
