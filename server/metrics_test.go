package server_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/servertest"
)

// scrape reads /metrics and returns every sample line as name{labels} → value.
func scrape(t *testing.T, srv *servertest.Server) map[string]float64 {
	t.Helper()
	resp, err := srv.Client.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %d %s %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsCountWhatHappens(t *testing.T) {
	srv := servertest.Start(t)
	before := scrape(t, srv)
	for _, name := range []string{"chat_streams_open", "chat_events_sent_total", "chat_messages_accepted_total", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	tok := srv.Login(t, "alice")
	first := srv.Post(t, tok, chat.DefaultRoom, "one")
	srv.Post(t, tok, chat.DefaultRoom, "two")
	resp := srv.Do(t, http.MethodPost, "/api/rooms/general/messages", tok, chat.PostMessage{Text: "   "})
	if resp.Status != http.StatusUnprocessableEntity {
		t.Fatalf("blank message: %d, want 422", resp.Status)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := srv.Subscribe(ctx, tok, chat.DefaultRoom, first.ID) // resumes one message behind
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for got := 0; got < 1; {
		ev, err := st.Next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Event == chat.EventMessage {
			got++
		}
	}

	var m map[string]float64
	// The stream counts what it sent after writing it: poll.
	testenv.Eventually(t, 5*time.Second, "the stream and its events to be counted", func() bool {
		m = scrape(t, srv)
		return m["chat_streams_open"] == 1 && m["chat_events_sent_total"]-before["chat_events_sent_total"] >= 2
	})
	checks := []struct {
		name string
		want float64
	}{
		{"chat_messages_accepted_total", 2},
		{`chat_messages_refused_total{reason="invalid"}`, 1},
		{"chat_store_append_seconds_count", 2},
		{"chat_resume_messages_count", 1},
		{"chat_resume_messages_sum", 1},
		{"chat_resume_messages_total", 1},
		{`chat_http_request_duration_seconds_count{route="POST /api/rooms/{room}/messages"}`, 3},
		{`chat_http_request_duration_seconds_count{route="POST /api/session"}`, 1},
		{"chat_streams_opened_total", 1},
	}
	for _, c := range checks {
		if got := m[c.name] - before[c.name]; got != c.want {
			t.Errorf("%s moved by %v, want %v", c.name, got, c.want)
		}
	}
	for k := range m {
		if strings.Contains(k, "/events") {
			t.Errorf("event streams should stay out of the latency histogram: %s", k)
		}
	}
}
