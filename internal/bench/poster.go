package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssechat/chat/internal/ctxtime"
)

// poster sends POSTs on one keep-alive HTTP/1.1 connection, one at a time,
// writing each request by hand: the standard client's two goroutines and
// channel hand-offs per request would cost the load tool CPU that the
// server, on the same machine, needs.
type poster struct {
	ep    endpoint
	token string
	conn  net.Conn
	br    *bufio.Reader
	req   []byte
}

func (p *poster) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// post sends one JSON body and returns the status and the response body. A
// request on a reused connection that fails is sent once more on a new one:
// every message carries a client_id, so a repeat cannot store it twice.
func (p *poster) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	status, resp, err := p.try(ctx, path, body)
	if err != nil && ctx.Err() == nil {
		p.close()
		status, resp, err = p.try(ctx, path, body)
	}
	if err != nil {
		p.close()
	}
	return status, resp, err
}

func (p *poster) try(ctx context.Context, path string, body []byte) (int, []byte, error) {
	if p.conn == nil {
		c, err := p.ep.dial(ctx, 0)
		if err != nil {
			return 0, nil, err
		}
		p.conn, p.br = c, bufio.NewReaderSize(c, 4096)
	}
	p.req = append(p.req[:0], "POST "...)
	p.req = append(p.req, path...)
	p.req = append(p.req, " HTTP/1.1\r\nHost: "...)
	p.req = append(p.req, p.ep.host...)
	p.req = append(p.req, "\r\nUser-Agent: chat-bench\r\nContent-Type: application/json\r\n"...)
	if p.token != "" {
		p.req = append(p.req, "Authorization: Bearer "...)
		p.req = append(p.req, p.token...)
		p.req = append(p.req, "\r\n"...)
	}
	p.req = append(p.req, "Content-Length: "...)
	p.req = strconv.AppendInt(p.req, int64(len(body)), 10)
	p.req = append(p.req, "\r\n\r\n"...)
	p.req = append(p.req, body...)
	deadline := time.Now().Add(p.ep.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = p.conn.SetDeadline(deadline)
	if _, err := p.conn.Write(p.req); err != nil {
		return 0, nil, fmt.Errorf("post %s: %w", path, err)
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("post %s: read response: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, nil, fmt.Errorf("post %s: read body: %w", path, err)
	}
	if resp.Close {
		p.close()
	}
	return resp.StatusCode, b, nil
}

// postPlan says what to post: msgs messages, a burst (rate 0) or paced at
// rate per second, from one poster per token, spread over rooms in turn.
type postPlan struct {
	run    string
	msgs   int
	rate   float64
	size   int
	tokens []string
	rooms  []*room
	first  int // sequence number of the first message
}

// postStats is what posting measured.
type postStats struct {
	accepted   int64 // 201, or 200 for a repeated client_id
	errs       int64 // no answer
	refused    map[int]int64
	firstErr   string
	rtt        Histogram
	firstSend  time.Time
	lastAnswer time.Time
	maxLag     time.Duration // paced: how far posting fell behind its schedule
}

// posted counts answers so far, for the progress line.
type posted struct{ n atomic.Int64 }

// postAll runs the plan and returns when every message was answered, failed,
// or ctx ended. Accepted messages are added to their room's expected set.
func postAll(ctx context.Context, ep endpoint, plan postPlan, prog *posted) *postStats {
	stats := &postStats{refused: map[int]int64{}}
	var next atomic.Int64
	var mu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for _, tok := range plan.tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &poster{ep: ep, token: tok}
			defer p.close()
			var body []byte
			var firstSend, lastAnswer time.Time
			var lag time.Duration
			var accepted, errs int64
			refused := map[int]int64{}
			firstErr := ""
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= plan.msgs {
					break
				}
				seq := plan.first + i
				r := plan.rooms[i%len(plan.rooms)]
				if plan.rate > 0 {
					at := start.Add(time.Duration(float64(i) / plan.rate * float64(time.Second)))
					if d := time.Until(at); d > 0 {
						if !ctxtime.Sleep(ctx, d) {
							break
						}
					} else {
						lag = max(lag, -d)
					}
				}
				sent := time.Now()
				if firstSend.IsZero() {
					firstSend = sent
				}
				body = append(body[:0], `{"text":"`...)
				body = appendPayload(body, plan.run, seq, sent, plan.size)
				body = append(body, `","client_id":"cb-`...)
				body = append(body, plan.run...)
				body = append(body, '-')
				body = strconv.AppendInt(body, int64(seq), 10)
				body = append(body, `"}`...)
				status, resp, err := p.post(ctx, r.messagesPath, body)
				now := time.Now()
				prog.n.Add(1)
				switch {
				case err != nil:
					if ctx.Err() != nil && errors.Is(err, context.Canceled) {
						break
					}
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
				case status == http.StatusCreated || status == http.StatusOK:
					accepted++
					lastAnswer = now
					stats.rtt.Record(now.Sub(sent))
					r.accept(seq)
				default:
					refused[status]++
					if firstErr == "" {
						firstErr = fmt.Sprintf("status %d: %.200s", status, resp)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			stats.accepted += accepted
			stats.errs += errs
			for k, v := range refused {
				stats.refused[k] += v
			}
			if stats.firstErr == "" {
				stats.firstErr = firstErr
			}
			if !firstSend.IsZero() && (stats.firstSend.IsZero() || firstSend.Before(stats.firstSend)) {
				stats.firstSend = firstSend
			}
			if lastAnswer.After(stats.lastAnswer) {
				stats.lastAnswer = lastAnswer
			}
			stats.maxLag = max(stats.maxLag, lag)
		}()
	}
	wg.Wait()
	return stats
}

// room is one chat room of a run: its subscribers expect every message the
// server accepted into it.
type room struct {
	name         string
	messagesPath string

	mu       sync.Mutex
	expected bitset
	accepted atomic.Int64
}

func newRoom(name string, msgs int) *room {
	return &room{
		name:         name,
		messagesPath: "/api/rooms/" + url.PathEscape(name) + "/messages",
		expected:     newBitset(msgs),
	}
}

func (r *room) accept(seq int) {
	r.mu.Lock()
	if !r.expected.has(seq) {
		r.expected.set(seq)
		r.accepted.Add(1)
	}
	r.mu.Unlock()
}
