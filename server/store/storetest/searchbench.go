package storetest

import (
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// The search benchmark's corpus: SearchBenchRooms rooms holding
// SearchBenchMessages() messages between them, each 4 to 20 words drawn
// from a vocabulary of 20 000 made-up words with Zipf frequencies (a few
// words in most messages, most words rare, as in chat).
const (
	SearchBenchRooms = 200
	searchBenchVocab = 20000
)

// SearchBenchMessages is the corpus size: CHAT_BENCH_SEARCH_MESSAGES, or
// 20 000 so that a -benchtime 1x run is quick. The figures in
// docs/benchmarks.md use 1 000 000.
func SearchBenchMessages() int {
	if n, err := strconv.Atoi(os.Getenv("CHAT_BENCH_SEARCH_MESSAGES")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// benchWord is the vocabulary's word of rank i: pronounceable, distinct,
// some with a diacritic so folding is exercised.
func benchWord(i int) string {
	const cons, vows = "bcdfgklmnprstvz", "aeiouéö"
	var b strings.Builder
	for n := i + 15; n > 0; n /= len(cons) * len(vows) {
		b.WriteByte(cons[n%len(cons)])
		v := []rune(vows)[(n/len(cons))%len([]rune(vows))]
		b.WriteRune(v)
	}
	return b.String()
}

// FillSearch appends n messages over SearchBenchRooms rooms ("r0" ...)
// through the store's Append from 256 goroutines, so the SQLite writer
// commits them in large groups and Redis gets many scripts in flight. It
// returns how long that took.
func FillSearch(tb testing.TB, s store.Store, n int) time.Duration {
	tb.Helper()
	for r := range SearchBenchRooms {
		if _, _, err := s.PutRoom(tb.Context(), "r"+strconv.Itoa(r), nil); err != nil {
			tb.Fatal(err)
		}
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 256)
	for w := range 256 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			zipf := rand.NewZipf(rng, 1.1, 2, searchBenchVocab-1)
			var b strings.Builder
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				b.Reset()
				for k := range 4 + rng.IntN(17) {
					if k > 0 {
						b.WriteByte(' ')
					}
					b.WriteString(benchWord(int(zipf.Uint64())))
				}
				m := store.NewMessage{Room: "r" + strconv.Itoa(int(i)%SearchBenchRooms), Nick: "n" + strconv.Itoa(int(i)%50), Kind: chat.KindText, Text: b.String()}
				if _, _, err := s.Append(tb.Context(), m); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatalf("fill: %v", err)
	}
	return time.Since(start)
}

// BenchSearch measures searches on a store FillSearch filled: a word of
// middling frequency, two of them, and a prefix, each over every room and
// in one room, reporting p50_ms and p99_ms over b.N queries.
func BenchSearch(b *testing.B, s store.Store) {
	rooms := make([]string, SearchBenchRooms)
	for i := range rooms {
		rooms[i] = "r" + strconv.Itoa(i)
	}
	w1, w2 := benchWord(20), benchWord(50)
	prefix := []rune(benchWord(40))
	for _, q := range []struct{ name, q string }{
		{"one-word", w1},
		{"two-words", w1 + " " + w2},
		{"prefix", string(prefix[:3]) + "*"},
	} {
		for _, filter := range []bool{false, true} {
			name := q.name + "/all-rooms"
			in := rooms
			if filter {
				name, in = q.name+"/room", rooms[7:8]
			}
			b.Run(name, func(b *testing.B) {
				terms, err := store.ParseSearch(q.q)
				if err != nil {
					b.Fatal(err)
				}
				sq := store.SearchQuery{Terms: terms, Rooms: in, Limit: 20}
				took := make([]time.Duration, 0, b.N)
				hits := 0
				for b.Loop() {
					start := time.Now()
					res, err := s.Search(b.Context(), sq)
					if err != nil {
						b.Fatal(err)
					}
					took = append(took, time.Since(start))
					hits = len(res.Hits)
				}
				slices.Sort(took)
				b.ReportMetric(ms(took[len(took)/2]), "p50_ms")
				b.ReportMetric(ms(took[min(len(took)-1, len(took)*99/100)]), "p99_ms")
				b.ReportMetric(float64(hits), "hits")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
