package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// TestRedisOutOfMemory: with Redis at maxmemory (noeviction, as
// docs/deploy.md sets it up) history still answers 200, a POST answers 503
// with Retry-After, /readyz answers 503 and a stream opened before keeps
// going; once Redis has room again the POST succeeds and the open stream
// gets the message.
func TestRedisOutOfMemory(t *testing.T) {
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	srv := servertest.Start(t, servertest.WithStore(func(string) (store.Store, error) {
		return redis.Open(context.Background(), rd.URL(0), redis.Options{Prefix: "oom:"})
	}))
	tok := srv.Login(t, "olga")
	for i := range 3 {
		srv.Post(t, tok, "general", fmt.Sprint("before ", i))
	}
	st := srv.MustSubscribe(t, tok, "general", "")
	nextOf(t, st, chat.EventWelcome)

	free := rd.Fill(t)

	if r := srv.Do(t, "GET", "/api/rooms/general/messages?limit=10", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("history while Redis is out of memory: %d %s, want 200", r.Status, r.Body)
	}
	r := srv.Do(t, "POST", "/api/rooms/general/messages", tok, map[string]string{"text": "refused"})
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("POST while Redis is out of memory: %d, Retry-After %q, %s; want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if r := srv.Do(t, "GET", "/readyz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while Redis is out of memory: %d, want 503", r.Status)
	}

	free()
	if r := srv.Do(t, "GET", "/readyz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("/readyz once Redis has room again: %d, want 200", r.Status)
	}
	m := srv.Post(t, tok, "general", "after")
	if got := messageIDs(t, st, 1); got[0] != m.ID {
		t.Fatalf("the stream opened before the outage got %v, want %s", got, m.ID)
	}
}
