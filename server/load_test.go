package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// post sends one message from a goroutine other than the test's: it returns
// errors instead of failing the test.
func post(ctx context.Context, srv *servertest.Server, token, room, text string) (chat.Message, error) {
	body, _ := json.Marshal(chat.PostMessage{Text: text})
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/rooms/"+room+"/messages", bytes.NewReader(body))
	if err != nil {
		return chat.Message{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client.Do(req)
	if err != nil {
		return chat.Message{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return chat.Message{}, err
	}
	if resp.StatusCode != http.StatusCreated {
		return chat.Message{}, fmt.Errorf("post: %d %s", resp.StatusCode, b)
	}
	var m chat.Message
	return m, json.Unmarshal(b, &m)
}

func sortIDs(ids []string) { slices.SortFunc(ids, chat.CompareIDs) }

// postAll posts perPoster messages to general from each of posters
// goroutines at once and returns the ids the server gave, sorted: the truth
// the subscribers are checked against.
func postAll(ctx context.Context, t *testing.T, srv *servertest.Server, token string, posters, perPoster int, text func(p, i int) string) []string {
	t.Helper()
	var mu sync.Mutex
	var posted []string
	var wg sync.WaitGroup
	errs := make(chan error, posters)
	for p := range posters {
		wg.Go(func() {
			for i := range perPoster {
				m, err := post(ctx, srv, token, "general", text(p, i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				posted = append(posted, m.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sortIDs(posted)
	return posted
}

// TestResumeUnderLoad: posters post without pause while 20 subscribers
// disconnect after a random number of messages and resume from the last id
// they saw. Each must see every message exactly once, in id order.
func TestResumeUnderLoad(t *testing.T) {
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.ReplayMax = 100000 }))
	tok := srv.Login(t, "poster")
	const posters, perPoster, subscribers = 10, 40, 20

	// Subscribers connect first, so every message posted is theirs to see.
	type result struct {
		ids     []string
		resumes int
		err     error
	}
	var final atomic.Pointer[string] // the newest id, once posting is over
	results := make(chan result, subscribers)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ready sync.WaitGroup
	for i := 0; i < subscribers; i++ {
		subTok := srv.Login(t, fmt.Sprintf("sub%d", i))
		ready.Add(1)
		go func(seed uint64) {
			rng := rand.New(rand.NewPCG(seed, 7))
			var res result
			defer func() { results <- res }()
			lastID := ""
			first := true
			for {
				st, err := srv.Subscribe(ctx, subTok, "general", lastID)
				if first {
					ready.Done()
					first = false
				}
				if err != nil {
					res.err = err
					return
				}
				budget := 1 + rng.IntN(40)
				for budget > 0 {
					ev, err := st.Next(200 * time.Millisecond)
					if errors.Is(err, servertest.ErrTimeout) {
						if f := final.Load(); f != nil && *f == lastID {
							st.Close()
							return
						}
						if ctx.Err() != nil {
							st.Close()
							res.err = ctx.Err()
							return
						}
						continue
					}
					if err != nil {
						st.Close()
						res.err = fmt.Errorf("stream ended: %w", err)
						return
					}
					if ev.Event != chat.EventMessage {
						continue
					}
					res.ids = append(res.ids, ev.ID)
					lastID = ev.ID
					budget--
				}
				st.Close()
				res.resumes++
				if rng.IntN(3) == 0 {
					time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
				}
			}
		}(uint64(i))
	}
	ready.Wait()

	posted := postAll(ctx, t, srv, tok, posters, perPoster, func(p, i int) string { return fmt.Sprintf("p%d-%d", p, i) })
	last := posted[len(posted)-1]
	final.Store(&last)

	totalResumes := 0
	for i := 0; i < subscribers; i++ {
		res := <-results
		if res.err != nil {
			t.Fatalf("subscriber: %v (after %d messages)", res.err, len(res.ids))
		}
		if !slices.Equal(res.ids, posted) {
			t.Fatalf("a subscriber saw %d messages (%v...), want the %d posted, once each in order",
				len(res.ids), res.ids[:min(5, len(res.ids))], len(posted))
		}
		totalResumes += res.resumes
	}
	if totalResumes < subscribers*3 {
		t.Fatalf("only %d resumes: the test did not exercise resuming", totalResumes)
	}
	t.Logf("%d messages, %d subscribers, %d resumes", len(posted), subscribers, totalResumes)
}

// idReader reads a stream cheaply: only id lines are looked at, data lines
// of any length are skipped without copying.
type idReader struct {
	resp *http.Response
	br   *bufio.Reader
}

func openIDReader(ctx context.Context, client *http.Client, url, token, lastID string) (*idReader, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, fmt.Errorf("stream: %d", resp.StatusCode)
	}
	return &idReader{resp: resp, br: bufio.NewReaderSize(resp.Body, 32<<10)}, nil
}

// next returns the next message id.
func (r *idReader) next() (string, error) {
	midLine := false
	for {
		line, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			midLine = true
			continue
		}
		if err != nil {
			return "", err
		}
		if !midLine && bytes.HasPrefix(line, []byte("id: ")) {
			return string(bytes.TrimSpace(line[4:])), nil
		}
		midLine = false
	}
}

func (r *idReader) close() { r.resp.Body.Close() }

// TestSlowConsumer: one subscriber stops reading; 50 others receive all of
// 1000 messages of 16 KB; the stalled one is closed, and when it resumes it
// gets everything it missed.
func TestSlowConsumer(t *testing.T) {
	testenv.SkipShort(t, "moves 800 MB over loopback")
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.QueueMax = 256
		c.ReplayMax = 2000
	}))
	tok := srv.Login(t, "fast")
	const healthy, messages = 50, 1000
	text := strings.Repeat("\U0001D11E", 4000) // 4000 characters, 16 000 bytes
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := srv.URL + "/api/rooms/general/events"

	// The stalled subscriber: a small receive buffer, so the kernel cannot
	// hide its stall, and a reader that stops after the welcome.
	stalledClient := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) })
			return errors.Join(err, serr)
		}}).DialContext}}
	defer stalledClient.CloseIdleConnections()
	stalled, err := servertest.Open(ctx, stalledClient, url, srv.Login(t, "slow"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if ev, err := stalled.Next(wait); err != nil || ev.Event != chat.EventWelcome {
		t.Fatalf("stalled welcome: %v %v", ev, err)
	}

	var readers []*idReader
	for i := 0; i < healthy; i++ {
		r, err := openIDReader(ctx, srv.Client, url, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		readers = append(readers, r)
	}
	got := make(chan []string, healthy)
	for _, r := range readers {
		go func() {
			var ids []string
			for len(ids) < messages {
				id, err := r.next()
				if err != nil {
					break
				}
				ids = append(ids, id)
			}
			got <- ids
		}()
	}

	// Post from 20 posters (many commits share an fsync); the ids the
	// server gave are the truth.
	const posters = 20
	posted := postAll(ctx, t, srv, tok, posters, messages/posters, func(int, int) string { return text })
	for i := 0; i < healthy; i++ {
		if ids := <-got; !slices.Equal(ids, posted) {
			t.Fatalf("a healthy subscriber got %d of %d messages", len(ids), len(posted))
		}
	}
	testenv.Eventually(t, wait, "the stalled stream to be evicted", func() bool { return srv.Server.Stats().Evicted >= 1 })

	// The stalled client wakes up: what reached it, then the end, then a
	// resume from its last id brings the rest.
	var seen []string
	for {
		ev, err := stalled.Next(wait)
		if err != nil {
			if errors.Is(err, servertest.ErrTimeout) {
				t.Fatal("the stalled stream was not closed")
			}
			break
		}
		if ev.Event == chat.EventMessage {
			seen = append(seen, ev.ID)
		}
	}
	if len(seen) >= messages {
		t.Fatalf("the stalled subscriber got all %d messages before it was closed", len(seen))
	}
	before := len(seen)
	last := "0"
	if len(seen) > 0 {
		last = seen[len(seen)-1]
	}
	resumed, err := openIDReader(ctx, stalledClient, url, srv.Login(t, "slow"), last)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.close()
	for len(seen) < messages {
		id, err := resumed.next()
		if err != nil {
			t.Fatalf("resume after %d: %v", len(seen), err)
		}
		seen = append(seen, id)
	}
	if !slices.Equal(seen, posted) {
		t.Fatal("the stalled subscriber's messages, before and after its resume, are not every message once in order")
	}
	st := srv.Server.Stats()
	t.Logf("the stalled subscriber got %d messages before it was closed; stats %+v", before, st)
}
