// Package ssetest reads an event stream back the two ways the project's
// readers do: by the HTML standard's rules (internal/sse, what a browser's
// EventSource follows) and with the r3labs/sse client (what the Go client
// library uses). The framing tests of internal/sse and of the server both
// check what they write against these two readers.
package ssetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	r3 "github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"github.com/ssechat/chat/internal/sse"
)

// Event is an event as a browser's EventSource fires it.
type Event struct{ Type, Data, LastID string }

// ReadStandard reads stream by the HTML standard's event stream rules with
// a line buffer of size bytes and returns the events a browser would fire.
func ReadStandard(stream []byte, size int) ([]Event, error) {
	r := sse.NewReader(bytes.NewReader(stream), size)
	var out []Event
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read stream: %w", err)
		}
		if b.Dispatched() {
			out = append(out, Event{string(b.Type), string(b.Data), string(b.LastID)})
		}
	}
}

// ReadR3labs feeds stream to an r3labs/sse client and returns the events it
// delivers, minus those with empty data (a comment after an event with an
// id comes out as one; the project's client ignores them too). The
// client's own request, read loop and parser run; the body comes from
// memory, not a network.
func ReadR3labs(stream []byte) ([]*r3.Event, error) {
	c := r3.NewClient("http://sse.invalid/events", r3.ClientMaxBufferSize(1<<20))
	c.Connection = &http.Client{Transport: bodyTransport(stream)}
	c.ReconnectStrategy = &backoff.StopBackOff{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []*r3.Event
	err := c.SubscribeRawWithContext(ctx, func(e *r3.Event) {
		if len(e.Data) > 0 {
			got = append(got, e)
		}
	})
	if err != nil {
		return got, fmt.Errorf("read stream with r3labs/sse: %w", err)
	}
	return got, nil
}

// bodyTransport answers every request with 200 and a fixed SSE body.
type bodyTransport []byte

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(b)),
		Request:    r,
	}, nil
}
