package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
)

func TestNewClientIDIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewClientID()
		if id == "" || chat.ValidateClientID(id) != nil {
			t.Fatalf("NewClientID() = %q: not a valid client_id", id)
		}
		if seen[id] {
			t.Fatalf("NewClientID() repeated %q", id)
		}
		seen[id] = true
	}
}

// postLog is a small message endpoint that answers from a script and records
// every body it got.
type postLog struct {
	mu     sync.Mutex
	bodies []chat.PostMessage
	times  []time.Time
}

func (p *postLog) handler(script func(n int, w http.ResponseWriter) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var m chat.PostMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.bodies = append(p.bodies, m)
		p.times = append(p.times, time.Now())
		n := len(p.bodies)
		p.mu.Unlock()
		if script(n, w) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(chat.Message{ID: "7", Room: "general", Nick: "alice", Kind: "text", Text: m.Text, ClientID: m.ClientID})
	}
}

func apiError(w http.ResponseWriter, status int, retryAfter, code string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":{"code":"` + code + `","message":"x"}}`))
}

// TestSendRetriesTemporaryFailuresWithSameClientID: 503, 500 and a dropped
// connection are retried, each time with the client_id of the first try.
func TestSendRetriesTemporaryFailuresWithSameClientID(t *testing.T) {
	var p postLog
	srv := httptest.NewServer(p.handler(func(n int, w http.ResponseWriter) bool {
		switch n {
		case 1:
			apiError(w, http.StatusServiceUnavailable, "0", "unavailable")
		case 2:
			apiError(w, http.StatusInternalServerError, "", "internal")
		case 3:
			// Lose the answer: close the connection without one.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			return false
		}
		return true
	}))
	defer srv.Close()
	c := New(srv.URL, WithBackoff(time.Millisecond, 5*time.Millisecond))
	defer c.CloseIdleConnections()

	msg, err := c.Send(context.Background(), "general", chat.PostMessage{Text: "hello"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(p.bodies) != 4 {
		t.Fatalf("server got %d tries, want 4", len(p.bodies))
	}
	id := p.bodies[0].ClientID
	if chat.ValidateClientID(id) != nil || id == "" {
		t.Fatalf("first try's client_id %q is not valid", id)
	}
	for i, b := range p.bodies {
		if b.ClientID != id || b.Text != "hello" {
			t.Fatalf("try %d sent %+v, want client_id %q", i+1, b, id)
		}
	}
	if msg.ID != "7" || msg.ClientID != id {
		t.Fatalf("Send returned %+v", msg)
	}
}

// TestSendHonoursRetryAfter: a 429 is retried no sooner than the server
// asked, and not at all when ctx's deadline comes first.
func TestSendHonoursRetryAfter(t *testing.T) {
	var p postLog
	srv := httptest.NewServer(p.handler(func(n int, w http.ResponseWriter) bool {
		if n == 1 || n == 3 {
			apiError(w, http.StatusTooManyRequests, "1", "rate_limited")
			return true
		}
		return false
	}))
	defer srv.Close()
	c := New(srv.URL, WithBackoff(time.Millisecond, time.Millisecond))
	defer c.CloseIdleConnections()

	if _, err := c.Send(context.Background(), "general", chat.PostMessage{Text: "a", ClientID: "mine"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if gap := p.times[1].Sub(p.times[0]); gap < time.Second {
		t.Fatalf("retried after %v, before the Retry-After of 1s", gap)
	}
	if p.bodies[1].ClientID != "mine" {
		t.Fatalf("retry changed the caller's client_id to %q", p.bodies[1].ClientID)
	}

	// Third request is a 429 again; a deadline shorter than Retry-After
	// returns the rate-limit error at once instead of waiting in vain.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, "general", chat.PostMessage{Text: "b"})
	var apiErr *APIError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &apiErr) || apiErr.RetryAfter != time.Second {
		t.Fatalf("Send with short deadline: %v, want rate limited with its delay", err)
	}
	if len(p.bodies) != 3 {
		t.Fatalf("server got %d tries, want 3 (no retry past the deadline)", len(p.bodies))
	}
}

// TestSendDoesNotRetryFinalErrors: 422 and 401 come back at once, typed.
func TestSendDoesNotRetryFinalErrors(t *testing.T) {
	var p postLog
	srv := httptest.NewServer(p.handler(func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			apiError(w, http.StatusUnprocessableEntity, "", "text_empty")
		} else {
			apiError(w, http.StatusUnauthorized, "", "unauthorized")
		}
		return true
	}))
	defer srv.Close()
	c := New(srv.URL, WithBackoff(time.Millisecond, time.Millisecond))
	defer c.CloseIdleConnections()

	_, err := c.Send(context.Background(), "general", chat.PostMessage{Text: " "})
	var apiErr *APIError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &apiErr) || apiErr.Code != "text_empty" || apiErr.Field() != "text" {
		t.Fatalf("Send: %v, want invalid text_empty on field text", err)
	}
	_, err = c.Send(context.Background(), "general", chat.PostMessage{Text: "x"})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Send: %v, want unauthorized", err)
	}
	if len(p.bodies) != 2 {
		t.Fatalf("server got %d requests, want 2 (no retries)", len(p.bodies))
	}
}

// TestSendGivesUpAfterAttempts: WithSendAttempts bounds the tries.
func TestSendGivesUpAfterAttempts(t *testing.T) {
	var p postLog
	srv := httptest.NewServer(p.handler(func(n int, w http.ResponseWriter) bool {
		apiError(w, http.StatusServiceUnavailable, "", "unavailable")
		return true
	}))
	defer srv.Close()
	c := New(srv.URL, WithBackoff(time.Millisecond, time.Millisecond), WithSendAttempts(3))
	defer c.CloseIdleConnections()
	_, err := c.Send(context.Background(), "general", chat.PostMessage{Text: "x"})
	if !errors.Is(err, ErrUnavailable) || len(p.bodies) != 3 {
		t.Fatalf("Send: %v after %d tries, want unavailable after 3", err, len(p.bodies))
	}
}
