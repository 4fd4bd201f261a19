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

// TestAccountsOnlyUnderPrefix: Accounts lists the accounts of its own
// prefix only, even when the prefix holds characters SCAN's pattern treats
// specially and another prefix would match it read as a pattern.
func TestAccountsOnlyUnderPrefix(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	odd := open(t, rd.URL(0), redis.Options{Prefix: "g[1]*?:"})
	other := open(t, rd.URL(0), redis.Options{Prefix: "g1xy:"})
	ctx := t.Context()
	if err := odd.CreateAccount(ctx, store.Account{Nick: "mine", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := other.CreateAccount(ctx, store.Account{Nick: "theirs", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	list, err := odd.Accounts(ctx)
	if err != nil || len(list) != 1 || list[0].Nick != "mine" {
		t.Fatalf("Accounts under g[1]*?: = %+v, %v; want only mine", list, err)
	}
}
