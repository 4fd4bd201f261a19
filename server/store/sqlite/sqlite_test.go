package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
	"github.com/ssechat/chat/server/store/storetest"
)

// childModes are the ways this test binary runs as a child process of a
// test: when the environment variable is set, the function runs instead of
// the tests, with the variable's value (a database path).
var childModes = map[string]func(path string){crashEnv: crashChild}

func TestMain(m *testing.M) {
	for env, child := range childModes {
		if path := os.Getenv(env); path != "" {
			child(path)
			return
		}
	}
	goleak.VerifyTestMain(m)
}

func openStore(t *testing.T, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tailSizes run the suite with the in-memory tail answering most reads
// (default), none of them (-1: every read goes to SQLite), and some of them
// (7: pages and resumes straddle the tail's edge).
var tailSizes = []int{0, -1, 7}

func TestConformance(t *testing.T) {
	for _, tail := range tailSizes {
		t.Run(fmt.Sprintf("tail=%d", tail), func(t *testing.T) {
			t.Parallel() // each store has its own file; this mostly overlaps fsync waits
			storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
				return openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{HistoryMax: opts.HistoryMax, TailSize: tail})
			})
		})
	}
}

func TestConformanceReopen(t *testing.T) {
	for _, tail := range tailSizes {
		t.Run(fmt.Sprintf("tail=%d", tail), func(t *testing.T) {
			t.Parallel()
			storetest.RunReopen(t, func(t *testing.T, opts storetest.Options) func() store.Store {
				path := filepath.Join(t.TempDir(), "chat.db")
				return func() store.Store {
					return openStore(t, path, sqlite.Options{HistoryMax: opts.HistoryMax, TailSize: tail})
				}
			})
		})
	}
}

// TestGroupCommit: many concurrent appends share transactions.
func TestGroupCommit(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	if _, _, err := s.PutRoom(t.Context(), "general", nil); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	const workers, each = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, _, err := s.Append(t.Context(), store.NewMessage{Room: "general", Nick: "alice", Kind: chat.KindText, Text: fmt.Sprintf("%d/%d", w, i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after := s.Stats()
	appends, commits := after.Appends-before.Appends, after.Commits-before.Commits
	if appends != workers*each {
		t.Fatalf("Stats counts %d appends, want %d", appends, workers*each)
	}
	// With 32 posters waiting on each fsync, groups form; one commit per
	// append would mean the writer does not group at all.
	if commits >= appends/2 {
		t.Fatalf("%d appends took %d commits: the writer does not group", appends, commits)
	}
	if after.CommitTime <= before.CommitTime {
		t.Fatalf("Stats().CommitTime did not grow: %v then %v", before.CommitTime, after.CommitTime)
	}
	t.Logf("%d appends in %d commits (%.1f per commit, %v per commit)", appends, commits,
		float64(appends)/float64(commits), (after.CommitTime-before.CommitTime)/time.Duration(commits))
}
