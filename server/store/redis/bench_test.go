package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// BenchmarkAppend measures acknowledged appends (script: idempotency check,
// XADD, PUBLISH) from concurrent posters, with Redis fsyncing its AOF before
// every reply (appendfsync always, the durable setting) and with no
// persistence at all, to show what the fsync costs.
func BenchmarkAppend(b *testing.B) {
	text := strings.Repeat("x", 100)
	for _, durable := range []bool{true, false} {
		rd := clustertest.StartRedis(b, clustertest.RedisOptions{Durable: durable})
		for _, posters := range []int{1, 16, 256} {
			name := fmt.Sprintf("aof_always=%v/posters=%d", durable, posters)
			b.Run(name, func(b *testing.B) {
				s, err := redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: newPrefix(), HistoryMax: 10_000})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				s.Listen(func(store.Event) {})
				if _, _, err := s.PutRoom(context.Background(), "general", nil); err != nil {
					b.Fatal(err)
				}
				var n atomic.Int64
				b.SetParallelism((posters + 1) / 2)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					m := store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: text}
					for pb.Next() {
						m.ClientID = "c" + strconv.FormatInt(n.Add(1), 10)
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
}

// BenchmarkSince measures resume reads of 100 and 1000 messages from a
// stream of 20 000: from Redis (a node that does not watch the room) and
// from the in-memory tail of a node that does.
func BenchmarkSince(b *testing.B) {
	rd := clustertest.StartRedis(b, clustertest.RedisOptions{})
	ctx := context.Background()
	prefix := newPrefix()
	s, err := redis.Open(ctx, rd.URL(0), redis.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	watching, err := redis.Open(ctx, rd.URL(0), redis.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	defer watching.Close()
	var relayed atomic.Int64
	watching.Listen(func(store.Event) { relayed.Add(1) })
	if _, _, err := s.PutRoom(ctx, "general", nil); err != nil {
		b.Fatal(err)
	}
	stop, err := watching.Watch(ctx, "general")
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	const total = 20_000
	ids := make([]string, total)
	text := strings.Repeat("x", 100)
	for i := range ids {
		m, _, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: text})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = m.ID
	}
	for deadline := time.Now().Add(30 * time.Second); relayed.Load() < total; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("the watching node relayed %d of %d messages in 30 s", relayed.Load(), total)
		}
	}
	for _, node := range []struct {
		name string
		s    *redis.Store
	}{{"redis", s}, {"tail", watching}} {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/n=%d", node.name, n), func(b *testing.B) {
				after := ids[total-n-1]
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						msgs, more, err := node.s.Since(ctx, "general", after, 1000)
						if err != nil || more || len(msgs) != n {
							b.Errorf("Since: %d messages, more %v, %v", len(msgs), more, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
