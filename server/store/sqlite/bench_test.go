package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

func benchStore(b *testing.B, opts sqlite.Options) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "chat.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, _, err := s.PutRoom(context.Background(), "general", nil); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAppend measures durable appends from many concurrent posters
// (goroutines = posters), as a busy server's POST handlers make them.
// appends/commit is the writer's average group size.
func BenchmarkAppend(b *testing.B) {
	text := strings.Repeat("x", 100)
	for _, posters := range []int{1, 16, 256} {
		for _, withClientID := range []bool{false, true} {
			name := fmt.Sprintf("posters=%d/client_id=%v", posters, withClientID)
			b.Run(name, func(b *testing.B) {
				s := benchStore(b, sqlite.Options{HistoryMax: 10_000})
				s.Listen(func(store.Event) {})
				var n atomic.Int64
				before := s.Stats()
				b.SetParallelism((posters + 1) / 2) // RunParallel starts parallelism × GOMAXPROCS goroutines
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					m := store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: text}
					for pb.Next() {
						if withClientID {
							m.ClientID = "c" + strconv.FormatInt(n.Add(1), 10)
						}
						if _, _, err := s.Append(context.Background(), m); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				st := s.Stats()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
				if c := st.Commits - before.Commits; c > 0 {
					b.ReportMetric(float64(st.Appends-before.Appends)/float64(c), "appends/commit")
				}
			})
		}
	}
}

// fill appends n messages of 100 bytes from 64 goroutines.
func fill(b *testing.B, s *sqlite.Store, n int) {
	b.Helper()
	text := strings.Repeat("y", 100)
	var next atomic.Int64
	done := make(chan error, 64)
	for range 64 {
		go func() {
			for next.Add(1) <= int64(n) {
				if _, _, err := s.Append(context.Background(), store.NewMessage{Room: "general", Nick: "bob", Kind: chat.KindText, Text: text}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 64 {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// readers are the two ways reads are answered: from the in-memory tail
// (the default), and from SQLite (TailSize -1, as after a restart).
var readers = []struct {
	name string
	tail int
}{{"tail", 0}, {"sqlite", -1}}

// BenchmarkSince measures a resume: the n messages after an id, from a room
// of 20 000.
func BenchmarkSince(b *testing.B) {
	const total = 20_000
	for _, rd := range readers {
		b.Run(rd.name, func(b *testing.B) {
			s := benchStore(b, sqlite.Options{TailSize: rd.tail})
			fill(b, s, total)
			for _, n := range []int{100, 1000} {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					after := strconv.Itoa(total - n)
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							msgs, more, err := s.Since(context.Background(), "general", after, 1000)
							if err != nil || more || len(msgs) != n {
								b.Errorf("Since: %d messages, more %v, %v", len(msgs), more, err)
								return
							}
						}
					})
					b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
				})
			}
		})
	}
}

// BenchmarkPage measures history pages of 50: the newest, and ones deep in
// a room of 20 000 (beyond the tail, so both readers go to SQLite there).
func BenchmarkPage(b *testing.B) {
	const total = 20_000
	for _, rd := range readers {
		b.Run(rd.name, func(b *testing.B) {
			s := benchStore(b, sqlite.Options{TailSize: rd.tail})
			fill(b, s, total)
			for _, tc := range []struct {
				name string
				q    store.PageQuery
			}{
				{"newest", store.PageQuery{Limit: 50}},
				{"before", store.PageQuery{Before: "10000", Limit: 50}},
				{"after", store.PageQuery{After: "10000", Limit: 50}},
			} {
				b.Run(tc.name, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							msgs, _, err := s.Page(context.Background(), "general", tc.q)
							if err != nil || len(msgs) != 50 {
								b.Errorf("Page: %d messages, %v", len(msgs), err)
								return
							}
						}
					})
				})
			}
		})
	}
}
