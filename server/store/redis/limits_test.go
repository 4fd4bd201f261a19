package redis_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store/redis"
)

// TestStreamPlacesOfADeadNodeExpire: a node's stream places stay taken
// while it lives (its refresher keeps them past the TTL) and come free
// within the TTL after it dies without cleaning up.
func TestStreamPlacesOfADeadNodeExpire(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	prefix := newPrefix()
	const ttl = time.Second
	a, err := redis.Open(t.Context(), rd.URL(0), redis.Options{Prefix: prefix, PresenceTTL: ttl})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	crash := sync.OnceFunc(a.Crash)
	t.Cleanup(crash)
	b := open(t, rd.URL(0), redis.Options{Prefix: prefix, PresenceTTL: ttl})
	for i := range 2 {
		if _, ok, err := a.AcquireStream(t.Context(), "streams:alice", 2); err != nil || !ok {
			t.Fatalf("place %d on a: %v, %v", i+1, ok, err)
		}
	}
	// Three TTLs: only a's refresher keeps the places.
	time.Sleep(3 * ttl)
	if _, ok, err := b.AcquireStream(t.Context(), "streams:alice", 2); err != nil || ok {
		t.Fatalf("b took a place that a holds (after 3 TTLs): %v, %v", ok, err)
	}
	crash()
	testenv.Eventually(t, 10*ttl, "a dead node's places to expire", func() bool {
		release, ok, err := b.AcquireStream(t.Context(), "streams:alice", 2)
		if err != nil {
			t.Fatalf("AcquireStream on b: %v", err)
		}
		if ok {
			t.Cleanup(release)
		}
		return ok
	})
}
