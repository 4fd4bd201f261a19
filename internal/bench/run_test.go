package bench

import (
	"context"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// startServer runs a real chat server with the per-account limits off, as
// chat-bench is meant to be used.
// Every goroutine of the run and the server must be gone once the test's
// cleanups ran (the leak check is registered first, so it runs last).
func startServer(t *testing.T) *servertest.Server {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	return servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.Limits.Enabled = false
	}))
}

// runBench runs one small scenario against srv and fails the test on any
// lost, repeated or reordered message.
func runBench(t *testing.T, srv *servertest.Server, args ...string) *Result {
	t.Helper()
	cfg, err := ParseArgs(append(args, "--url", srv.URL, "--settle", "0s", "--max-seconds", "30", "--progress", "off"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	t.Log(res.Summary)
	if res.Faulty() {
		t.Errorf("run %v lost, repeated or reordered messages, or timed out: %s", args, res.Summary)
	}
	return res
}

func TestFanoutAgainstServer(t *testing.T) {
	srv := startServer(t)
	res := runBench(t, srv, "fanout", "--subs", "20", "--msgs", "40", "--posters", "3", "--server-pid", "0")
	s := res.Summary
	if s.Int("subs_ok") != 20 || s.Int("accepted") != 40 || s.Int("delivered") != 20*40 {
		t.Errorf("want 20 streams, 40 accepted, 800 delivered: %s", s)
	}
	if s.Float("events_per_s") <= 0 || s.Float("lat_p99_ms") <= 0 || s.Float("posts_per_s") <= 0 {
		t.Errorf("rates and latency missing: %s", s)
	}
	if got := res.Series[0].Hist.Count(); got != 800 {
		t.Errorf("%d latency samples, want one per delivery (800)", got)
	}
	var chart strings.Builder
	if err := WriteSVG(&chart, res.Chart, res.Series); err != nil || !strings.Contains(chart.String(), "<polyline") {
		t.Errorf("chart: %v", err)
	}
}

func TestRoomsAndSelfMeasurement(t *testing.T) {
	srv := startServer(t)
	// The test process is the server here, so /proc of our own pid stands
	// in for the server's.
	res := runBench(t, srv, "rooms", "--subs", "12", "--rooms", "3", "--msgs", "30", "--rate", "300",
		"--server-pid", strconv.Itoa(os.Getpid()))
	s := res.Summary
	if s.Int("expected") != 12*10 || s.Int("delivered") != 12*10 {
		t.Errorf("each of 12 subscribers should get its room's 10 of 30 messages: %s", s)
	}
	for _, k := range []string{"rss_per_sub_kb", "server_cpu_ms", "rss_hwm_kb", "post_lag_max_ms"} {
		if _, ok := s.Get(k); !ok {
			t.Errorf("summary lacks %s: %s", k, s)
		}
	}
}

func TestPublishCountsDurablePosts(t *testing.T) {
	srv := startServer(t)
	res := runBench(t, srv, "publish", "--msgs", "200", "--posters", "8")
	s := res.Summary
	if s.Int("accepted") != 200 || s.Float("posts_per_s") <= 0 {
		t.Errorf("want 200 accepted and a rate: %s", s)
	}
	// every accepted message is in the store, readable as history
	run, _ := s.Get("run")
	page := srv.History(t, srv.Login(t, "reader"), "cb-"+run, url.Values{"limit": {"200"}})
	if len(page.Messages) != 200 {
		t.Errorf("history holds %d messages, want the 200 accepted", len(page.Messages))
	}
}

func TestStormResumesEveryone(t *testing.T) {
	srv := startServer(t)
	res := runBench(t, srv, "storm", "--subs", "30", "--behind", "25")
	s := res.Summary
	if s.Int("resume_ok") != 30 || s.Int("lost") != 0 || s.Int("delivered") != 30*26 {
		t.Errorf("30 subscribers should resume and hold all 26 messages: %s", s)
	}
	if _, ok := s.Get("catchup_ms"); !ok {
		t.Errorf("no catch-up time: %s", s)
	}
}

func TestSlowComparesWithABaseline(t *testing.T) {
	srv := startServer(t)
	res := runBench(t, srv, "slow", "--subs", "20", "--stalled", "0.1", "--msgs", "20", "--rate", "200", "--size", "200")
	s := res.Summary
	if s.Int("subs_ok") != 18 || s.Int("stalled_ok") != 2 {
		t.Errorf("want 18 healthy and 2 stalled streams: %s", s)
	}
	if s.Int("expected") != 18*60 || s.Float("p99_ratio") <= 0 || len(res.Series) != 2 {
		t.Errorf("healthy subscribers should get the warm-up's 20 and both phases' 40 messages, with a p99 ratio: %s", s)
	}
}

func TestRunReportsAServerThatRefuses(t *testing.T) {
	srv := startServer(t)
	cfg, err := ParseArgs([]string{"fanout", "--url", srv.URL, "--token", "not-a-token", "--progress", "off"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a bad token should fail the setup with the server's 401, got %v", err)
	}
}
