package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
)

// Defaults of a Client. Each has an Option that changes it.
const (
	DefaultMinBackoff      = 250 * time.Millisecond
	DefaultMaxBackoff      = 15 * time.Second
	DefaultReadIdleTimeout = 45 * time.Second // three missed heartbeats
	DefaultEventBuffer     = 1024
	DefaultSendAttempts    = 8
	DefaultRequestTimeout  = 30 * time.Second
	DefaultUserAgent       = "ssechat-client/1"
)

// maxAnswer bounds how much of an answer body the client reads.
const maxAnswer = 8 << 20

// Client talks to one chat-server. Create it with New; it is safe for
// concurrent use by many goroutines.
type Client struct {
	base        string // scheme://host[:port][/prefix], no trailing slash
	hc          *http.Client
	stream      *http.Client // hc without its overall Timeout: streams last
	log         *slog.Logger
	backoff     backoff
	userAgent   string
	idleTimeout time.Duration
	eventBuffer int
	sendTries   int

	mu     sync.RWMutex
	token  string
	limits *chat.ServerLimits // the server's, once learned (learnLimits)
}

// Option configures a Client in New.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for every request. Defaults to a
// client with its own connection pool. Its Timeout, if any, applies to plain
// requests only; event streams are read without it (the read-idle timeout
// guards them instead).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithLogger sets where the client logs reconnects and dropped events.
// Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// WithBackoff sets the bounds of the exponential backoff (with jitter) used
// between Send retries and between Subscribe reconnects. Defaults to 250ms
// and 15s. Values <= 0 keep the default; max below min is raised to min.
func WithBackoff(min, max time.Duration) Option {
	return func(c *Client) {
		if min > 0 {
			c.backoff.min = min
		}
		if max > 0 {
			c.backoff.max = max
		}
		if c.backoff.max < c.backoff.min {
			c.backoff.max = c.backoff.min
		}
	}
}

// WithUserAgent sets the User-Agent header of every request.
// Defaults to DefaultUserAgent.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithToken sets the session token, for a program that logged in before.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithReadIdleTimeout sets how long a stream may stay silent (no bytes, not
// even a heartbeat) before Subscribe drops it as half-open and reconnects.
// Defaults to 45s, three missed 15s heartbeats. Values <= 0 keep the default.
func WithReadIdleTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.idleTimeout = d
		}
	}
}

// WithEventBuffer sets how many events a subscription holds for a caller
// that reads slowly. When messages would overflow it, the subscription drops
// its stream and resumes from the last message it kept, so nothing is lost
// and the socket is never left unread. Defaults to 1024; minimum 8.
func WithEventBuffer(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.eventBuffer = max(n, 8)
		}
	}
}

// WithSendAttempts sets how many times Send tries a message (first try
// included) before it returns the last error. Defaults to 8; minimum 1.
func WithSendAttempts(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.sendTries = n
		}
	}
}

// New returns a Client for the server at baseURL (for example
// "http://127.0.0.1:8080"). It does no I/O.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:        strings.TrimRight(baseURL, "/"),
		log:         slog.New(slog.DiscardHandler),
		backoff:     backoff{min: DefaultMinBackoff, max: DefaultMaxBackoff},
		userAgent:   DefaultUserAgent,
		idleTimeout: DefaultReadIdleTimeout,
		eventBuffer: DefaultEventBuffer,
		sendTries:   DefaultSendAttempts,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	s := *c.hc
	s.Timeout = 0
	c.stream = &s
	return c
}

// Token returns the current session token, "" when logged out.
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

func (c *Client) setToken(t string) {
	c.mu.Lock()
	c.token = t
	c.mu.Unlock()
}

// CloseIdleConnections closes the pooled keep-alive connections of the
// client's HTTP transport. Open subscriptions are not affected; they end with
// their context.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// roomPath returns the API path of a room, with suffix appended.
func roomPath(room, suffix string) string {
	return "/api/rooms/" + url.PathEscape(room) + suffix
}

// do sends one request and decodes a 2xx answer into out (when not nil).
// A non-2xx answer returns an *APIError (wrapped); a transport failure
// returns the transport's error (wrapped). It returns the status code.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultRequestTimeout)
		defer cancel()
	}
	op := strings.ToLower(method) + " " + path
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encode %s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, fmt.Errorf("build %s: %w", op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.setHeaders(req.Header)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("%s: %w", op, decodeError(resp))
	}
	if out == nil {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("read %s answer: %w", op, err)
	}
	return resp.StatusCode, nil
}

func (c *Client) setHeaders(h http.Header) {
	if c.userAgent != "" {
		h.Set("User-Agent", c.userAgent)
	}
	if t := c.Token(); t != "" {
		h.Set("Authorization", "Bearer "+t)
	}
}

// Login opens a session for nick (creating the account when the server's
// registration is open and the nick is new) and keeps its token for every
// later call.
func (c *Client) Login(ctx context.Context, nick, password string) (chat.SessionInfo, error) {
	var s chat.SessionInfo
	if _, err := c.do(ctx, http.MethodPost, "/api/session", nil, chat.Credentials{Nick: nick, Password: password}, &s); err != nil {
		return chat.SessionInfo{}, fmt.Errorf("log in: %w", err)
	}
	c.setToken(s.Token)
	return s, nil
}

// Logout revokes the session on the server and forgets the token, which is
// forgotten even when the server cannot be reached.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/session", nil, nil, nil)
	c.setToken("")
	if err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	return nil
}

// Me returns the nick the current session belongs to.
func (c *Client) Me(ctx context.Context) (string, error) {
	var me chat.Me
	if _, err := c.do(ctx, http.MethodGet, "/api/me", nil, nil, &me); err != nil {
		return "", err
	}
	return me.Nick, nil
}

// Limits returns the server's announced limits: the ones the client last
// learned, from the welcome of any of its subscriptions or an earlier call,
// or else the answer of GET /api/limits (no session needed). A server too
// old to announce them answers 404: Limits then returns
// chat.DefaultServerLimits and no error. Every (re)connected stream's
// welcome refreshes what the client knows, so a server restarted with other
// limits is heard of as soon as a subscription resumes.
func (c *Client) Limits(ctx context.Context) (chat.ServerLimits, error) {
	c.mu.RLock()
	known := c.limits
	c.mu.RUnlock()
	if known != nil {
		return *known, nil
	}
	l := chat.DefaultServerLimits()
	if _, err := c.do(ctx, http.MethodGet, "/api/limits", nil, nil, &l); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return chat.ServerLimits{}, err
		}
		l = chat.DefaultServerLimits()
	}
	c.learnLimits(l)
	return l, nil
}

// learnLimits records the server's limits for Limits and for paging.
func (c *Client) learnLimits(l chat.ServerLimits) {
	c.mu.Lock()
	c.limits = &l
	c.mu.Unlock()
}

// Rooms lists the rooms the session may see (the public ones, and the
// private and direct ones it belongs to), following the server's pages.
func (c *Client) Rooms(ctx context.Context) ([]chat.Room, error) {
	var rooms []chat.Room
	q := url.Values{}
	for {
		var l chat.RoomList
		if _, err := c.do(ctx, http.MethodGet, "/api/rooms", q, nil, &l); err != nil {
			return nil, err
		}
		rooms = append(rooms, l.Rooms...)
		if !l.HasMore || len(l.Rooms) == 0 {
			return rooms, nil
		}
		q.Set("after", l.Rooms[len(l.Rooms)-1].Name)
	}
}

// CreateRoom creates room, or sets its topic when it exists and topic is
// not nil. created reports whether the room is new. To change the topic of
// a room, SetTopic says so more plainly.
func (c *Client) CreateRoom(ctx context.Context, room string, topic *string) (created bool, err error) {
	var in any
	if topic != nil {
		in = chat.RoomUpdate{Topic: topic}
	}
	status, err := c.do(ctx, http.MethodPut, roomPath(room, ""), nil, in, nil)
	if err != nil {
		return false, err
	}
	return status == http.StatusCreated, nil
}

// SetTopic replaces the topic of room ("" clears it). The room's open
// streams hear of a change as a room event. Like every PUT of a room it
// creates the room when it does not exist yet.
func (c *Client) SetTopic(ctx context.Context, room, topic string) error {
	if _, err := c.do(ctx, http.MethodPut, roomPath(room, ""), nil, chat.RoomUpdate{Topic: &topic}, nil); err != nil {
		return fmt.Errorf("set topic of %s: %w", room, err)
	}
	return nil
}

// Members returns the nicks online in room.
func (c *Client) Members(ctx context.Context, room string) ([]string, error) {
	var m chat.Members
	if _, err := c.do(ctx, http.MethodGet, roomPath(room, "/members"), nil, nil, &m); err != nil {
		return nil, err
	}
	return m.Online, nil
}

// HistoryQuery selects a page of a room's history. Before pages back from
// (and excluding) that id; After pages forward from it; neither gives the
// newest page. Limit 0 lets the server choose (its history_page_default);
// a Limit over the server's history_page_max is refused (bad_query), so a
// caller that picks one takes it from Limits.
type HistoryQuery struct {
	Before, After string
	Limit         int
}

// History returns one page of room's messages, oldest first.
func (c *Client) History(ctx context.Context, room string, q HistoryQuery) (chat.MessagePage, error) {
	v := url.Values{}
	if q.Before != "" {
		v.Set("before", q.Before)
	}
	if q.After != "" {
		v.Set("after", q.After)
	}
	if q.Limit != 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	var p chat.MessagePage
	if _, err := c.do(ctx, http.MethodGet, roomPath(room, "/messages"), v, nil, &p); err != nil {
		return chat.MessagePage{}, err
	}
	return p, nil
}

// HistoryAfter returns up to n messages of room that follow the id after
// ("0" for the very first), oldest first, and whether more follow them: a
// gap to fill after a reset, say. It reads pages of the server's largest
// size (history_page_max, from Limits) until it has n or none are left, so
// it works against a server of any page size.
func (c *Client) HistoryAfter(ctx context.Context, room, after string, n int) (msgs []chat.Message, more bool, err error) {
	if after == "" {
		return nil, false, errors.New("history after: give an id (\"0\" for the first message)")
	}
	l, err := c.Limits(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("history after: %w", err)
	}
	pageMax := l.HistoryPageMax
	if pageMax < 1 {
		pageMax = chat.DefaultServerLimits().HistoryPageMax
	}
	for len(msgs) < n {
		p, err := c.History(ctx, room, HistoryQuery{After: after, Limit: min(n-len(msgs), pageMax)})
		if err != nil {
			return msgs, false, fmt.Errorf("history after %s: %w", after, err)
		}
		msgs = append(msgs, p.Messages...)
		if !p.HasMore || len(p.Messages) == 0 {
			return msgs, false, nil
		}
		after = p.Messages[len(p.Messages)-1].ID
	}
	return msgs, true, nil
}

// Typing tells the room's other members that this user is typing.
func (c *Client) Typing(ctx context.Context, room string) error {
	_, err := c.do(ctx, http.MethodPost, roomPath(room, "/typing"), nil, nil, nil)
	return err
}
