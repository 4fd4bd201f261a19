package redis_test

import (
	"fmt"
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

func TestConformance(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		return open(t, rd.URL(0), redis.Options{Prefix: newPrefix(), HistoryMax: opts.HistoryMax})
	})
}

func TestConformanceReopen(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	storetest.RunReopen(t, func(t *testing.T, opts storetest.Options) func() store.Store {
		prefix := newPrefix()
		return func() store.Store {
			return open(t, rd.URL(0), redis.Options{Prefix: prefix, HistoryMax: opts.HistoryMax})
		}
	})
}

func TestLimiter(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	storetest.RunLimiter(t, func(t *testing.T) (store.Store, store.Store) {
		prefix := newPrefix()
		return open(t, rd.URL(0), redis.Options{Prefix: prefix}), open(t, rd.URL(0), redis.Options{Prefix: prefix})
	})
}
