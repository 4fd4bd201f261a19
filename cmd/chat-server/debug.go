package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

// startDebug serves Go's profiler (net/http/pprof) on its own listener, never
// on the public address: profiles show internals. It is off unless
// --debug-addr is set. stop ends it.
func startDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for debug: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug listener stopped", "err", err)
		}
	}()
	log.Info("pprof listening", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			_ = hs.Close()
		}
		<-done
	}, nil
}

// storeMetrics adds the store's own counters to /metrics where the store
// keeps them: for SQLite, transactions and appends, whose ratio is the
// group-commit size (appends per fsync).
func storeMetrics(srv *server.Server, st store.Store) {
	ss, ok := st.(interface{ Stats() sqlite.Stats })
	if !ok {
		return
	}
	srv.Registry().MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "chat_store_commits_total", Help: "Transactions the SQLite writer committed (one fsync each).",
		}, func() float64 { return float64(ss.Stats().Commits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "chat_store_appends_total", Help: "Messages the SQLite writer appended; divided by commits, the group-commit size.",
		}, func() float64 { return float64(ss.Stats().Appends) }),
	)
}
