package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/testenv"
)

// TestRedactRedisURL: the password and the query never survive; scheme,
// user name, host and database do.
func TestRedactRedisURL(t *testing.T) {
	for raw, want := range map[string]string{
		"redis://127.0.0.1:6379/0":                                 "redis://127.0.0.1:6379/0",
		"redis://:hunter2@127.0.0.1:6379/0":                        "redis://127.0.0.1:6379/0",
		"rediss://app:hunter2@db.example:6380/2?ca_file=/ca.pem":   "rediss://app@db.example:6380/2",
		"redis://app:hunter2@db.example:6379?dial_timeout=3s&db=1": "redis://app@db.example:6379",
		"unix://app:hunter2@/run/redis.sock?db=1":                  "unix://app@/run/redis.sock",
		"redis://:hunter2@[::1:6379":                               "(unparsable URL)",
	} {
		if got := redactRedisURL(raw); got != want || strings.Contains(got, "hunter2") {
			t.Errorf("redactRedisURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestListeningLogNamesStore: the binary's "chat-server listening" line
// names the store it serves from: the data directory for SQLite, the Redis
// URL for --redis, and the Redis password appears nowhere in its output.
func TestListeningLogNamesStore(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	const password = "listen-test-secret"
	rd := clustertest.StartRedis(t, clustertest.RedisOptions{Password: password})
	dataDir := filepath.Join(t.TempDir(), "data")

	t.Run("sqlite", func(t *testing.T) {
		line, _ := listeningLine(t, bin, "--data", dataDir)
		if line["data"] != dataDir || line["redis"] != nil {
			t.Errorf("listening line %v: want data=%s and no redis", line, dataDir)
		}
	})
	t.Run("redis", func(t *testing.T) {
		line, out := listeningLine(t, bin, "--data", dataDir, "--redis", rd.URL(0))
		if want := "redis://" + rd.Addr + "/0"; line["redis"] != want || line["data"] != nil {
			t.Errorf("listening line %v: want redis=%s and no data", line, want)
		}
		if strings.Contains(out, password) {
			t.Errorf("the Redis password is in the output:\n%s", out)
		}
	})
}

// listeningLine runs the binary with args until it logs "chat-server
// listening", stops it with SIGTERM and returns that JSON log line and the
// whole output.
func listeningLine(t *testing.T, bin string, args ...string) (map[string]any, string) {
	t.Helper()
	p := testenv.StartProcess(t, bin, append([]string{"--addr", testenv.FreeAddr(t), "--log-level", "info"}, args...), testenv.Env())
	var line map[string]any
	testenv.Eventually(t, 30*time.Second, "the listening log line", func() bool {
		select {
		case <-p.Done():
			t.Fatalf("chat-server exited early:\n%s", p.Output())
		default:
		}
		for l := range strings.Lines(p.Output()) {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "chat-server listening" {
				line = m
				return true
			}
		}
		return false
	})
	p.Stop(20 * time.Second)
	return line, p.Output()
}
