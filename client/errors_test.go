package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestAPIErrorIsAndField(t *testing.T) {
	sentinels := []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited, ErrInvalid, ErrUnavailable}
	for _, tc := range []struct {
		status int
		want   error // the only sentinel it matches; nil for none
	}{
		{401, ErrUnauthorized}, {403, ErrForbidden}, {404, ErrNotFound}, {429, ErrRateLimited},
		{400, ErrInvalid}, {413, ErrInvalid}, {415, ErrInvalid}, {422, ErrInvalid},
		{502, ErrUnavailable}, {503, ErrUnavailable}, {504, ErrUnavailable},
		{500, nil}, {409, nil},
	} {
		var err error = &APIError{Status: tc.status}
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tc.want) {
				t.Errorf("status %d: errors.Is(%v) = %v", tc.status, s, got)
			}
		}
	}
	for code, field := range map[string]string{
		"text_empty": "text", "text_too_long": "text", "bad_nick": "nick", "bad_room": "room",
		"bad_client_id": "client_id", "bad_kind": "kind", "bad_topic": "topic", "bad_password": "password",
		"room_not_found": "room", "rate_limited": "", "bad_credentials": "", "": "",
	} {
		if got := (&APIError{Status: 422, Code: code}).Field(); got != field {
			t.Errorf("Field of %q = %q, want %q", code, got, field)
		}
	}
}

// TestErrorAnswersDecode checks the way from an HTTP answer to a typed error:
// the protocol's JSON body, Retry-After, and a body that is not ours.
func TestErrorAnswersDecode(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("User-Agent") != "ua-test" {
			http.Error(w, "missing headers", http.StatusBadRequest)
			return
		}
		w.Header().Set("Retry-After", "2")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":"rate_limited","message":"Slow down."}}`))
	})
	mux.HandleFunc("GET /api/rooms", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(srv.URL, WithToken("tok"), WithUserAgent("ua-test"))
	defer c.CloseIdleConnections()

	_, err := c.Me(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("Me: %v, want an *APIError", err)
	}
	want := APIError{Status: 429, Code: "rate_limited", Message: "Slow down.", RetryAfter: 2 * time.Second}
	if *apiErr != want {
		t.Fatalf("Me: %+v, want %+v", *apiErr, want)
	}
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("errors.Is(%v, ErrRateLimited) is false", err)
	}

	_, err = c.Rooms(context.Background())
	if !errors.As(err, &apiErr) || apiErr.Status != 502 || apiErr.Code != "" || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Rooms: %v, want 502 without a code", err)
	}
}
