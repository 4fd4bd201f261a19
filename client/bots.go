package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ssechat/chat/chat"
)

// CreateToken makes a personal access token for the logged-in account,
// limited to rooms when any are given. The answer's Token is the secret,
// shown this once. The client must hold a login session: a server refuses
// token management with a token (403 token_forbidden).
func (c *Client) CreateToken(ctx context.Context, name string, rooms ...string) (chat.TokenInfo, error) {
	var info chat.TokenInfo
	if _, err := c.do(ctx, http.MethodPost, "/api/me/tokens", nil, chat.NewToken{Name: name, Rooms: rooms}, &info); err != nil {
		return chat.TokenInfo{}, fmt.Errorf("create token: %w", err)
	}
	return info, nil
}

// Tokens lists the account's personal access tokens, without secrets.
func (c *Client) Tokens(ctx context.Context) ([]chat.TokenInfo, error) {
	var l chat.TokenList
	if _, err := c.do(ctx, http.MethodGet, "/api/me/tokens", nil, nil, &l); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return l.Tokens, nil
}

// DeleteToken revokes a personal access token by its id; its open streams
// end within a second.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	if _, err := c.do(ctx, http.MethodDelete, "/api/me/tokens/"+url.PathEscape(id), nil, nil, nil); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// CreateHook makes an incoming webhook in room whose messages carry name.
// The answer's URL holds the secret, shown this once.
func (c *Client) CreateHook(ctx context.Context, room, name string) (chat.HookInfo, error) {
	var info chat.HookInfo
	if _, err := c.do(ctx, http.MethodPost, roomPath(room, "/hooks"), nil, chat.NewHook{Name: name}, &info); err != nil {
		return chat.HookInfo{}, fmt.Errorf("create hook: %w", err)
	}
	return info, nil
}

// Hooks lists room's incoming webhooks, without their URLs.
func (c *Client) Hooks(ctx context.Context, room string) ([]chat.HookInfo, error) {
	var l chat.HookList
	if _, err := c.do(ctx, http.MethodGet, roomPath(room, "/hooks"), nil, nil, &l); err != nil {
		return nil, fmt.Errorf("list hooks: %w", err)
	}
	return l.Hooks, nil
}

// DeleteHook removes one of room's incoming webhooks; its URL stops
// working at once.
func (c *Client) DeleteHook(ctx context.Context, room, id string) error {
	if _, err := c.do(ctx, http.MethodDelete, roomPath(room, "/hooks/"+url.PathEscape(id)), nil, nil, nil); err != nil {
		return fmt.Errorf("delete hook: %w", err)
	}
	return nil
}
