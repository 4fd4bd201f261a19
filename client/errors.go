package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ssechat/chat/chat"
)

// Sentinel errors for the classes of answers a program reacts to. An
// *APIError matches them with errors.Is by its status code.
var (
	ErrUnauthorized = errors.New("unauthorized")       // 401: log in (again)
	ErrForbidden    = errors.New("forbidden")          // 403
	ErrNotFound     = errors.New("not found")          // 404: no such room
	ErrRateLimited  = errors.New("rate limited")       // 429: see APIError.RetryAfter
	ErrInvalid      = errors.New("invalid request")    // 400, 413, 415, 422: see APIError.Code and Field
	ErrUnavailable  = errors.New("server unavailable") // 502, 503, 504
)

// APIError is a non-2xx answer of the server: its status, the protocol's
// snake_case error code, the sentence for people, and for 429 and 503 the
// delay the server asked for.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server answered %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %v)", e.RetryAfter)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and the other sentinels work by
// status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrInvalid:
		switch e.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			return true
		}
	case ErrUnavailable:
		switch e.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

// Field names the request field a validation error is about ("text",
// "nick", "room", "client_id", "kind", "topic", "password"), derived from
// the protocol's error code; "" when the code names no field.
func (e *APIError) Field() string {
	code := e.Code
	for _, f := range []string{"client_id", "text", "nick", "room", "kind", "topic", "password"} {
		if code == "bad_"+f || strings.HasPrefix(code, f+"_") {
			return f
		}
	}
	return ""
}

// temporary reports whether repeating the same request may succeed: the
// server was overloaded, unavailable or failed inside.
func (e *APIError) temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// decodeError turns a non-2xx answer into an *APIError. A body that is not
// the protocol's error JSON (a proxy's HTML page, say) leaves Code empty.
func decodeError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var body chat.ErrorBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// Anything else, or a time in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
