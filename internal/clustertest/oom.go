package clustertest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// Fill makes the server run out of memory the way docs/deploy.md sets
// Redis up (maxmemory with noeviction): it allows a little more than the
// server uses now, then writes filler keys until even a small write is
// refused with OOM. free deletes the fillers, after which writes succeed
// again. Not for a server started with TLS.
func (r *Redis) Fill(t testing.TB) (free func()) {
	t.Helper()
	opts, err := goredis.ParseURL(r.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxRetries = -1
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		t.Fatalf("fill redis: %v", err)
	}
	var used int64
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			used, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if used == 0 {
		t.Fatalf("fill redis: no used_memory in INFO memory:\n%s", info)
	}
	for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", fmt.Sprint(used + 2<<20)}} {
		if err := c.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatalf("fill redis: %v", err)
		}
	}
	// Redis refuses a write while it uses more than maxmemory, counting
	// the write's own request: fill with big values, then ever smaller
	// ones, until even a small write is refused.
	var keys []string
	size := 16 << 10
	for i := range 10_000 {
		key := fmt.Sprint("filler:", i)
		err := c.Set(ctx, key, strings.Repeat("x", size), 0).Err()
		switch {
		case err == nil:
			keys = append(keys, key)
		case !strings.HasPrefix(err.Error(), "OOM "):
			t.Fatalf("fill redis: %v", err)
		case size <= 16:
			return func() {
				if err := c.Del(ctx, keys...).Err(); err != nil {
					t.Errorf("free redis: %v", err)
				}
			}
		default:
			size /= 4
		}
	}
	t.Fatalf("fill redis: %d filler keys taken without refusing a small write: maxmemory is not in force", len(keys))
	return nil
}
