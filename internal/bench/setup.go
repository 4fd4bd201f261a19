package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
)

// api makes the few ordinary requests a run needs before it starts:
// logging in (which registers a new nick on an open server) and creating
// rooms. They are not measured, so the standard client is fine here.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(base string, timeout time.Duration) *api {
	return &api{base: base, hc: &http.Client{Timeout: timeout, Transport: &http.Transport{}}}
}

// close lets the idle keep-alive connections go.
func (a *api) close() { a.hc.CloseIdleConnections() }

func (a *api) do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb chat.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			return fmt.Errorf("%s %s: status %d %s: %s", method, path, resp.StatusCode, eb.Error.Code, eb.Error.Message)
		}
		return fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// login returns a session token for nick, creating the account when the
// server's registration is open and the nick is new.
func (a *api) login(ctx context.Context, nick, password string) (string, error) {
	var si chat.SessionInfo
	if err := a.do(ctx, http.MethodPost, "/api/session", "", chat.Credentials{Nick: nick, Password: password}, &si); err != nil {
		return "", fmt.Errorf("log in %s: %w", nick, err)
	}
	return si.Token, nil
}

// logins logs in every nick, at most 4 at a time: password hashing is slow
// on purpose, and the server's cores are shared with this process.
func (a *api) logins(ctx context.Context, nicks []string, password string) ([]string, error) {
	tokens := make([]string, len(nicks))
	errs := make([]error, len(nicks))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, nick := range nicks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tokens[i], errs[i] = a.login(ctx, nick, password)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// putRoom creates a room, or leaves an existing one as it is.
func (a *api) putRoom(ctx context.Context, token, name string) error {
	if err := a.do(ctx, http.MethodPut, "/api/rooms/"+url.PathEscape(name), token, nil, nil); err != nil {
		return fmt.Errorf("create room %s: %w", name, err)
	}
	return nil
}
