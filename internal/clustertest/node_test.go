package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/sse"
	"github.com/ssechat/chat/internal/testenv"
)

// node is one chat-server process.
type node struct {
	*testenv.Process
	name string
	URL  string // http://127.0.0.1:port
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startNode runs chat-server on a free port against redisURL. Rate limits
// are off: the tests post faster than a person.
func startNode(t *testing.T, name, redisURL string, extra ...string) *node {
	t.Helper()
	bin := testenv.Build(t, "./cmd/chat-server")
	dir := t.TempDir()
	// A cheap password hash: a race-built binary takes seconds per login
	// with the default argon2id cost.
	args := append([]string{"--addr", "127.0.0.1:0", "--data", dir, "--rate-limits=false",
		"--heartbeat", "1s", "--shutdown-timeout", "2s", "--password-memory", "64", "--password-passes", "1"}, extra...)
	n := &node{Process: testenv.StartProcess(t, bin, args, testenv.Env("CHAT_REDIS="+redisURL)), name: name}
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() || os.Getenv("CLUSTERTEST_LOGS") != "" {
			t.Logf("log of %s:\n%s", name, tail(n.Output(), 30))
		}
	})
	exited := false
	if !waitUntil(30*time.Second, func() bool {
		select {
		case <-n.Done():
			exited = true
			return true
		default:
		}
		if m := listening.FindStringSubmatch(n.Output()); m != nil {
			n.URL = m[1]
			return true
		}
		return false
	}) {
		t.Fatalf("%s did not say where it listens within 30s", name)
	}
	if exited && n.URL == "" {
		t.Fatalf("%s exited at start:\n%s", name, tail(n.Output(), 20))
	}
	testenv.WaitHTTP(t, n.URL+"/readyz", 10*time.Second)
	return n
}

// waitUntil polls cond every 10 ms until it holds (true) or the timeout
// passes (false). Unlike testenv.Eventually it never calls t.Fatal, so
// goroutines other than the test's may use it.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

var client = &http.Client{Timeout: 10 * time.Second}

// login returns a token for nick (registration is open).
func login(t *testing.T, base, nick string) string {
	t.Helper()
	body, _ := json.Marshal(chat.Credentials{Nick: nick, Password: "pw-" + nick + "-secret"})
	resp, err := client.Post(base+"/api/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("login %s: %v", nick, err)
	}
	defer resp.Body.Close()
	var si chat.SessionInfo
	if resp.StatusCode/100 != 2 || json.NewDecoder(resp.Body).Decode(&si) != nil || si.Token == "" {
		t.Fatalf("login %s: status %d", nick, resp.StatusCode)
	}
	return si.Token
}

// post sends one message; status is the HTTP status (0 when the request
// did not get an answer).
func post(ctx context.Context, base, token, room string, m chat.PostMessage) (chat.Message, int, error) {
	body, _ := json.Marshal(m)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/rooms/"+room+"/messages", bytes.NewReader(body))
	if err != nil {
		return chat.Message{}, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return chat.Message{}, 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return chat.Message{}, resp.StatusCode, fmt.Errorf("post: %d %s", resp.StatusCode, b)
	}
	var msg chat.Message
	if err := json.Unmarshal(b, &msg); err != nil {
		return chat.Message{}, resp.StatusCode, fmt.Errorf("decode posted message: %w", err)
	}
	return msg, resp.StatusCode, nil
}

// history reads every message of room, oldest first, paging forward.
func history(t *testing.T, base, token, room string) []chat.Message {
	t.Helper()
	var out []chat.Message
	after := ""
	for range 1000 {
		q := url.Values{"limit": {"200"}}
		if after != "" {
			q.Set("after", after)
		} else {
			q.Set("after", "0")
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/api/rooms/"+room+"/messages?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		var page chat.MessagePage
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("history: status %d, %v", resp.StatusCode, err)
		}
		out = append(out, page.Messages...)
		if !page.HasMore || len(page.Messages) == 0 {
			return out
		}
		after = page.Messages[len(page.Messages)-1].ID
	}
	t.Fatal("history: too many pages")
	return nil
}

// poster posts n messages as one user, each with its own client_id, and
// retries a message (same client_id) until it is acknowledged, moving to
// the next node when one does not answer. acked holds every acknowledged
// message.
type poster struct {
	token string
	nodes func() []string // the nodes to try, first choice first

	mu    sync.Mutex
	acked []chat.Message
	tries int
}

func (p *poster) run(ctx context.Context, room, prefix string, n int, pace time.Duration) error {
	for i := range n {
		m := chat.PostMessage{Text: fmt.Sprintf("%s %d", prefix, i), ClientID: fmt.Sprintf("%s-%d", prefix, i)}
		for attempt := 0; ; attempt++ {
			nodes := p.nodes()
			base := nodes[attempt%len(nodes)]
			msg, status, err := post(ctx, base, p.token, room, m)
			p.mu.Lock()
			p.tries++
			p.mu.Unlock()
			if err == nil {
				p.mu.Lock()
				p.acked = append(p.acked, msg)
				p.mu.Unlock()
				break
			}
			if status != 0 && status != http.StatusServiceUnavailable && status != http.StatusBadGateway {
				return fmt.Errorf("%s %d: %w", prefix, i, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s %d: gave up: %w", prefix, i, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		if pace > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pace):
			}
		}
	}
	return nil
}

func (p *poster) messages() []chat.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]chat.Message(nil), p.acked...)
}

// subscriber reads a room's event stream from a node, reconnecting with
// Last-Event-ID (to whichever node node() names then) whenever the stream
// ends, as a browser behind a load balancer would.
type subscriber struct {
	name  string
	token string
	room  string
	node  func() string

	mu       sync.Mutex
	ids      []string
	last     string
	welcomes int
	pings    int // ": ping" comments: the stream is alive
	resets   int
	problems []string
}

func (s *subscriber) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *subscriber) stream(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.node()+"/api/rooms/"+s.room+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.token)
	s.mu.Lock()
	if s.last != "" {
		req.Header.Set("Last-Event-ID", s.last)
	}
	s.mu.Unlock()
	resp, err := http.DefaultClient.Do(req) // no timeout: a stream lasts
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stream: status %d", resp.StatusCode)
	}
	r := sse.NewReader(resp.Body, 64<<10)
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if b.HasComment {
			s.mu.Lock()
			s.pings++
			s.mu.Unlock()
		}
		if len(b.Type) > 0 || len(b.Data) > 0 {
			s.handle(string(b.Type), string(b.ID), string(b.Data))
		}
	}
	return errors.New("stream ended")
}

func (s *subscriber) handle(event, id, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch event {
	case chat.EventWelcome:
		s.welcomes++
	case chat.EventReset:
		s.resets++
		s.problems = append(s.problems, "reset: "+data)
	case chat.EventMessage:
		var m chat.Message
		if err := json.Unmarshal([]byte(data), &m); err != nil || m.ID != id {
			s.problems = append(s.problems, fmt.Sprintf("bad message event id %q data %q", id, data))
			return
		}
		if s.last != "" && chat.CompareIDs(id, s.last) <= 0 {
			s.problems = append(s.problems, fmt.Sprintf("message %s after %s: duplicate or out of order", id, s.last))
			return
		}
		s.ids = append(s.ids, id)
		s.last = id
	}
}

func (s *subscriber) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

func (s *subscriber) heartbeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

func (s *subscriber) connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.welcomes
}

// check fails unless the subscriber got exactly want, in order, once each.
func (s *subscriber) check(t *testing.T, want []string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) > 0 {
		t.Errorf("%s: %d problems, first: %s", s.name, len(s.problems), s.problems[0])
	}
	if len(s.ids) != len(want) {
		t.Errorf("%s: got %d messages, want %d", s.name, len(s.ids), len(want))
		return
	}
	for i := range want {
		if s.ids[i] != want[i] {
			t.Errorf("%s: message %d is %s, want %s", s.name, i, s.ids[i], want[i])
			return
		}
	}
}
