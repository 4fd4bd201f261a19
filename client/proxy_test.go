package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ssechat/chat/chat"
)

// faultProxy is an HTTP proxy on 127.0.0.1 in front of a real server that
// breaks the network the ways a client must survive:
//   - loseFirstAnswer: the first answer to each POST of a message (by
//     client_id) is read from the server and then thrown away, the client's
//     connection closed without a byte: the message is stored, the client
//     does not know.
//   - endStreams: every open event stream ends cleanly (a proper end of the
//     chunked body: the client sees EOF, not an error).
//   - setSilent(true): every open stream and every new request stays
//     connected and gets nothing more; what the server sends meanwhile is
//     lost, as with a half-open connection.
type faultProxy struct {
	srv      *httptest.Server
	target   string
	upstream *http.Client

	loseFirstAnswer bool

	mu         sync.Mutex
	seen       map[string]bool // client_ids whose answer was lost once
	posts      int
	streamReqs int
	kick       chan struct{} // closed by endStreams
	silent     bool
	unsilence  chan struct{} // closed when silence ends
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	p := &faultProxy{
		target:    target,
		upstream:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}},
		seen:      map[string]bool{},
		kick:      make(chan struct{}),
		unsilence: make(chan struct{}),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.setSilent(false)
		p.endStreams()
		p.srv.Close()
		p.upstream.CloseIdleConnections()
	})
	return p
}

func (p *faultProxy) counts() (posts, streams int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.posts, p.streamReqs
}

func (p *faultProxy) endStreams() {
	p.mu.Lock()
	close(p.kick)
	p.kick = make(chan struct{})
	p.mu.Unlock()
}

func (p *faultProxy) setSilent(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.silent {
		return
	}
	p.silent = on
	if !on {
		close(p.unsilence)
		p.unsilence = make(chan struct{})
	}
}

// quiet reports whether the proxy is silent, and the channel that closes
// when it no longer is.
func (p *faultProxy) quiet() (bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.silent, p.unsilence
}

func (p *faultProxy) serve(w http.ResponseWriter, r *http.Request) {
	if silent, wake := p.quiet(); silent {
		// Accept, read the request, answer nothing.
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	isPost := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages")
	isStream := strings.HasSuffix(r.URL.Path, "/events")
	p.mu.Lock()
	if isPost {
		p.posts++
	}
	if isStream {
		p.streamReqs++
	}
	kick := p.kick
	p.mu.Unlock()

	resp, err := p.upstream.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	if isPost && p.loseFirstAnswer {
		var m chat.PostMessage
		_ = json.Unmarshal(body, &m)
		p.mu.Lock()
		first := !p.seen[m.ClientID]
		p.seen[m.ClientID] = true
		p.mu.Unlock()
		if first {
			// The server has stored the message; its answer never arrives.
			_, _ = io.Copy(io.Discard, resp.Body)
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
	}

	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	if !isStream {
		_, _ = io.Copy(w, resp.Body)
		return
	}
	w.(http.Flusher).Flush()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if silent, _ := p.quiet(); !silent {
					if _, werr := w.Write(buf[:n]); werr != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-copied:
	case <-kick:
		cancel()
		<-copied
	case <-r.Context().Done():
		cancel()
		<-copied
	}
}
