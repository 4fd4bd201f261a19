package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
	"github.com/ssechat/chat/server/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var prefixes atomic.Int64

// newPrefix gives each store under test its own keys and channels on the
// shared redis-server.
func newPrefix() string { return fmt.Sprintf("t%d:", prefixes.Add(1)) }

func open(t *testing.T, url string, opts redis.Options) *redis.Store {
	t.Helper()
	s, err := redis.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// watching is the store as a node's hub uses it: a cluster store relays the
// rooms watched on this node, and the conformance suite reads the listener
// without watching (an embedded store relays every room). So this adapter
// watches every room the moment it exists, as a node would once a client
// subscribes to it. The watches end with the store.
type watching struct {
	*redis.Store
	t       *testing.T
	mu      sync.Mutex
	watched map[string]bool
}

func newWatching(t *testing.T, s *redis.Store) *watching {
	w := &watching{Store: s, t: t, watched: map[string]bool{}}
	rooms, err := s.Rooms(t.Context())
	if err != nil {
		t.Fatalf("Rooms: %v", err)
	}
	for _, r := range rooms {
		w.watch(r.Name)
	}
	return w
}

func (w *watching) watch(room string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched[room] {
		return
	}
	if _, err := w.Store.Watch(w.t.Context(), room); err != nil {
		w.t.Fatalf("Watch(%q): %v", room, err)
	}
	w.watched[room] = true
}

func (w *watching) PutRoom(ctx context.Context, name string, topic *string) (store.Room, bool, error) {
	r, created, err := w.Store.PutRoom(ctx, name, topic)
	if err == nil {
		w.watch(name)
	}
	return r, created, err
}

func TestConformance(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		s := open(t, rd.URL(0), redis.Options{Prefix: newPrefix(), HistoryMax: opts.HistoryMax})
		return newWatching(t, s)
	})
}

func TestConformanceReopen(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	storetest.RunReopen(t, func(t *testing.T, opts storetest.Options) func() store.Store {
		prefix := newPrefix()
		return func() store.Store {
			s := open(t, rd.URL(0), redis.Options{Prefix: prefix, HistoryMax: opts.HistoryMax})
			return newWatching(t, s)
		}
	})
}
