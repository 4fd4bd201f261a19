package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ssechat/chat/chat"
)

// SearchQuery is a search (GET /api/search). Q is required: words (all must
// match), "quoted phrases" and prefix* words, 1 to 256 characters. Room and
// From narrow it to a room or an author; Before is the Next of an earlier
// answer, for its next page; Limit 0 leaves the server's default (20).
type SearchQuery struct {
	Q      string
	Room   string
	From   string
	Before string
	Limit  int
}

// Search finds messages of the rooms the caller may read, newest first,
// each with where it matches (code point offsets into its text, for the
// caller to mark; the server sends no markup). A query the server refuses
// is an *APIError with code bad_query; a room the caller cannot read,
// room_not_found.
func (c *Client) Search(ctx context.Context, q SearchQuery) (chat.SearchResults, error) {
	v := url.Values{"q": {q.Q}}
	for k, val := range map[string]string{"room": q.Room, "from": q.From, "before": q.Before} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	var res chat.SearchResults
	if _, err := c.do(ctx, http.MethodGet, "/api/search", v, nil, &res); err != nil {
		return chat.SearchResults{}, err
	}
	return res, nil
}

// Around returns the page of room's history centred on the message id (a
// search result, say): up to (n-1)/2 older messages, the message, and the
// rest newer, oldest first. HasMore says older messages precede the page,
// HasMoreAfter that newer ones follow it. n 0 leaves the server's default.
func (c *Client) Around(ctx context.Context, room, id string, n int) (chat.MessagePage, error) {
	v := url.Values{"around": {id}}
	if n != 0 {
		v.Set("limit", fmt.Sprint(n))
	}
	var p chat.MessagePage
	if _, err := c.do(ctx, http.MethodGet, roomPath(room, "/messages"), v, nil, &p); err != nil {
		return chat.MessagePage{}, err
	}
	return p, nil
}
