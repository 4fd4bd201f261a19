package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/r3labs/sse/v2"
	cenkalti "gopkg.in/cenkalti/backoff.v1"
)

// burstServer serves one event stream: a welcome and n message frames
// written at once, then nothing until the client leaves.
func burstServer(b *testing.B, n int) *httptest.Server {
	frames := make([]string, n+1)
	for i := 1; i <= n; i++ {
		frames[i] = msgFrame("general", fmt.Sprint(i))
	}
	all := strings.Join(frames, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		write(w, welcomeFrame("general", ""))
		from := 0
		fmt.Sscan(r.Header.Get("Last-Event-ID"), &from)
		if from == 0 {
			write(w, all)
		} else {
			write(w, strings.Join(frames[from+1:], ""))
		}
		hold(r)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkSubscribeDelivery measures the client's cost per delivered
// message over loopback: r3labs' parsing, JSON decoding, the id check and
// the hand-over through the buffer to the caller's channel.
func BenchmarkSubscribeDelivery(b *testing.B) {
	srv := burstServer(b, b.N)
	c := New(srv.URL)
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	start := time.Now()
	events := c.Subscribe(ctx, "general", "")
	got, drops := 0, 0
	for ev := range events {
		if ev.State != nil && ev.State.State == StateReconnecting {
			drops++
		}
		if ev.Message != nil {
			if got++; got == b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(drops), "drops")
	cancel()
	for range events {
	}
}

// BenchmarkR3labsBare is the floor: r3labs' client alone, handing each raw
// event to a callback that only counts it.
func BenchmarkR3labsBare(b *testing.B) {
	srv := burstServer(b, b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := sse.NewClient(srv.URL + "/api/rooms/general/events")
	sc.ReconnectStrategy = &cenkalti.StopBackOff{}
	b.ReportAllocs()
	start := time.Now()
	got := 0
	_ = sc.SubscribeRawWithContext(ctx, func(ev *sse.Event) {
		if string(ev.Event) == "message" {
			if got++; got == b.N {
				cancel()
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
