package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/store/sqlite"
)

// TestDebugListenerServesPprof: --debug-addr serves the profiler on its own
// listener, and stopping it frees the address.
func TestDebugListenerServesPprof(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := startDebug(addr, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "goroutine profile") {
		t.Fatalf("pprof: %d %.100s", resp.StatusCode, b)
	}
	stop()
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("the debug listener still answers after stop")
	}
}

// TestStoreMetricsCountCommits: with the SQLite store, /metrics carries its
// commits and appends (their ratio is the group-commit size).
func TestStoreMetricsCountCommits(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := server.DefaultConfig()
	cfg.Password = server.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
	srv, err := server.New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	storeMetrics(srv, st)
	families, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		found[f.GetName()] = true
	}
	for _, name := range []string{"chat_store_commits_total", "chat_store_appends_total", "chat_events_sent_total"} {
		if !found[name] {
			t.Errorf("the registry lacks %s", name)
		}
	}
}
