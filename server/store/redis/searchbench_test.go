package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
	"github.com/ssechat/chat/server/store/storetest"
)

// BenchmarkSearch fills a Redis (no persistence) with
// storetest.SearchBenchMessages() messages over 200 rooms
// (CHAT_BENCH_SEARCH_MESSAGES=1000000 for the figures) and measures the
// queries of storetest.BenchSearch. The fill is logged with its rate and
// Redis's memory after it.
func BenchmarkSearch(b *testing.B) {
	rd := clustertest.StartRedis(b, clustertest.RedisOptions{})
	s, err := redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: newPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	n := storetest.SearchBenchMessages()
	took := storetest.FillSearch(b, s, n)
	b.Logf("filled %d messages over %d rooms in %v (%.0f appends/s); %s", n, storetest.SearchBenchRooms, took, float64(n)/took.Seconds(), usedMemory(b, rd))
	storetest.BenchSearch(b, s)
}

// usedMemory is Redis's INFO used_memory_human line.
func usedMemory(b *testing.B, rd *clustertest.Redis) string {
	opts, err := goredis.ParseURL(rd.URL(0))
	if err != nil {
		b.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "used_memory_human:") {
			return strings.TrimSpace(line)
		}
	}
	return "used_memory_human unknown"
}

// BenchmarkAppendSearchIndex measures appends of chat-like text (ten
// words) from 256 posters with the search index and without it, Redis
// fsyncing its AOF before every reply: what indexing costs each append.
func BenchmarkAppendSearchIndex(b *testing.B) {
	text := strings.Repeat("quick brown foxes jump over lazy dogs near the café ", 2)
	rd := clustertest.StartRedis(b, clustertest.RedisOptions{Durable: true})
	for _, index := range []bool{true, false} {
		b.Run(fmt.Sprintf("index=%v", index), func(b *testing.B) {
			s, err := redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: newPrefix(), HistoryMax: 10_000, NoSearchIndex: !index})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, _, err := s.PutRoom(context.Background(), "general", nil); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(128)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: text + fmt.Sprint(n.Add(1))}
					if _, _, err := s.Append(context.Background(), m); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
