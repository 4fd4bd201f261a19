package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/ctxtime"
)

// NewClientID returns a fresh random client_id (26 characters of A-Z and
// 2-7, 130 bits from crypto/rand), valid under chat.ValidateClientID.
func NewClientID() string { return rand.Text() }

// Send posts m to room and returns the message as the server stored it.
//
// When m.ClientID is empty Send fills it with NewClientID. It retries
// transport errors, 5xx and 429 answers (waiting as long as Retry-After
// says, otherwise a capped exponential backoff with jitter) with the same
// client_id, so the server stores the message once however many answers
// were lost: a repeat is answered 200 with the first copy, which Send treats
// like 201. It gives up after WithSendAttempts tries, when ctx ends, or when
// the wait would outlast ctx's deadline, and then returns the last error.
// Other answers (401, 404, 422, ...) return at once as *APIError.
func (c *Client) Send(ctx context.Context, room string, m chat.PostMessage) (chat.Message, error) {
	if m.ClientID == "" {
		m.ClientID = NewClientID()
	}
	path := roomPath(room, "/messages")
	for attempt := 0; ; attempt++ {
		var msg chat.Message
		_, err := c.do(ctx, http.MethodPost, path, nil, m, &msg)
		if err == nil {
			return msg, nil
		}
		if ctx.Err() != nil {
			return chat.Message{}, fmt.Errorf("send message: %w", errors.Join(ctx.Err(), err))
		}
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		if (isAPI && !apiErr.temporary()) || attempt+1 >= c.sendTries {
			return chat.Message{}, fmt.Errorf("send message: %w", err)
		}
		wait := c.backoff.delay(attempt)
		if isAPI && apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return chat.Message{}, fmt.Errorf("send message: %w", err)
		}
		c.log.Debug("send: retrying", "room", room, "client_id", m.ClientID, "attempt", attempt+1, "wait", wait, "err", err)
		if !ctxtime.Sleep(ctx, wait) {
			return chat.Message{}, fmt.Errorf("send message: %w", errors.Join(ctx.Err(), err))
		}
	}
}
