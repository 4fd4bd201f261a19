package sqlite_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
	"github.com/ssechat/chat/server/store/storetest"
)

// BenchmarkSearch fills a store with storetest.SearchBenchMessages()
// messages over 200 rooms (CHAT_BENCH_SEARCH_MESSAGES=1000000 for the
// figures) and measures the queries of storetest.BenchSearch. The fill is
// logged with its rate.
func BenchmarkSearch(b *testing.B) {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "chat.db"), sqlite.Options{MaxBatch: 1024})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	n := storetest.SearchBenchMessages()
	took := storetest.FillSearch(b, s, n)
	b.Logf("filled %d messages over %d rooms in %v (%.0f appends/s)", n, storetest.SearchBenchRooms, took, float64(n)/took.Seconds())
	storetest.BenchSearch(b, s)
}

// BenchmarkAppendSearchIndex measures durable appends of chat-like text
// (ten words) from 256 posters with the search index and without it: what
// indexing costs each append.
func BenchmarkAppendSearchIndex(b *testing.B) {
	text := strings.Repeat("quick brown foxes jump over lazy dogs near the café ", 2)
	for _, index := range []bool{true, false} {
		b.Run(fmt.Sprintf("index=%v", index), func(b *testing.B) {
			s := benchStore(b, sqlite.Options{NoSearchIndex: !index})
			var n atomic.Int64
			b.SetParallelism(128)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: text + fmt.Sprint(n.Add(1))}
					if _, _, err := s.Append(b.Context(), m); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
