package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/server/servertest"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/redis"
)

// TestSearchAgainstServer searches a real server on each store: words, a
// room filter, an author, highlights in code points of non-ASCII text,
// paging with Next, refusals; then jumps to a hit with Around.
func TestSearchAgainstServer(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSearchAgainstServer(t, startServer(t)) })
	t.Run("redis", func(t *testing.T) {
		rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
		testSearchAgainstServer(t, startServer(t, servertest.WithStore(func(string) (store.Store, error) {
			return redis.Open(context.Background(), rd.URL(0), redis.Options{})
		})))
	})
}

func testSearchAgainstServer(t *testing.T, srv *servertest.Server) {
	ctx := context.Background()
	alice := newTestClient(t, srv, srv.URL, "alice")
	bob := newTestClient(t, srv, srv.URL, "bob")
	if _, err := alice.CreateRoom(ctx, "dev", nil); err != nil {
		t.Fatal(err)
	}
	send := func(c *Client, room, text string) chat.Message {
		t.Helper()
		m, err := c.Send(ctx, room, chat.PostMessage{Text: text, Kind: chat.KindText})
		if err != nil {
			t.Fatalf("Send %q: %v", text, err)
		}
		return m
	}
	var filler []chat.Message
	for i := range 9 {
		filler = append(filler, send(alice, "general", fmt.Sprintf("filler %d", i)))
	}
	creme := send(alice, "general", "Crème brûlée à Zürich")
	for i := range 9 {
		filler = append(filler, send(bob, "general", fmt.Sprintf("filler %d", i+9)))
	}
	tokyo := send(bob, "dev", "明日は東京で会いましょう")

	res, err := alice.Search(ctx, SearchQuery{Q: "zurich CRÈME"})
	if err != nil || len(res.Results) != 1 || res.Results[0].Message.ID != creme.ID || res.HasMore {
		t.Fatalf("Search zurich CRÈME: %+v, %v", res, err)
	}
	if got, want := res.Results[0].Highlights, [][2]int{{0, 5}, {15, 21}}; !slices.Equal(got, want) {
		t.Errorf("highlights %v, want %v", got, want)
	}
	res, err = alice.Search(ctx, SearchQuery{Q: "東京"})
	if err != nil || len(res.Results) != 1 || res.Results[0].Message.ID != tokyo.ID || !slices.Equal(res.Results[0].Highlights, [][2]int{{3, 5}}) {
		t.Fatalf("Search 東京: %+v, %v", res, err)
	}
	if res, err := alice.Search(ctx, SearchQuery{Q: "東京", Room: "general"}); err != nil || len(res.Results) != 0 {
		t.Fatalf("Search 東京 in general: %+v, %v", res, err)
	}

	// Paging: 18 fillers, 5 a page, newest first, by Next.
	var got []string
	q := SearchQuery{Q: "fill*", Limit: 5}
	for range 10 {
		res, err := alice.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Results {
			got = append(got, r.Message.Text)
		}
		if !res.HasMore {
			break
		}
		q.Before = res.Next
	}
	var want []string
	for i := range filler {
		want = append(want, filler[len(filler)-1-i].Text)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paging fill*: %v, want %v", got, want)
	}
	if res, err := alice.Search(ctx, SearchQuery{Q: "filler", From: "bob", Limit: 100}); err != nil || len(res.Results) != 9 {
		t.Fatalf("Search filler from bob: %d results, %v", len(res.Results), err)
	}

	for _, tc := range []struct {
		q      SearchQuery
		status int
		code   string
	}{
		{SearchQuery{Q: ""}, 422, "bad_query"},
		{SearchQuery{Q: strings.Repeat("é", 257)}, 422, "bad_query"},
		{SearchQuery{Q: "?!"}, 422, "bad_query"},
		{SearchQuery{Q: "filler", Limit: 101}, 400, "bad_query"},
		{SearchQuery{Q: "filler", Before: "nope"}, 400, "bad_query"},
		{SearchQuery{Q: "filler", Room: "nowhere"}, 404, "room_not_found"},
	} {
		_, err := alice.Search(ctx, tc.q)
		var e *APIError
		if !errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code {
			t.Errorf("Search(%+v): %v, want %d %s", tc.q, err, tc.status, tc.code)
		}
	}
	if res, err := alice.Search(ctx, SearchQuery{Q: strings.Repeat("é", 256)}); err != nil || len(res.Results) != 0 {
		t.Errorf("Search of 256 characters: %+v, %v", res, err)
	}

	// Jump to the hit: two older, the hit, two newer.
	page, err := alice.Around(ctx, "general", creme.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Messages {
		ids = append(ids, m.ID)
	}
	wantIDs := []string{filler[7].ID, filler[8].ID, creme.ID, filler[9].ID, filler[10].ID}
	if !slices.Equal(ids, wantIDs) || !page.HasMore || !page.HasMoreAfter {
		t.Fatalf("Around: %v more %v after %v, want %v true true", ids, page.HasMore, page.HasMoreAfter, wantIDs)
	}
	page, err = alice.Around(ctx, "general", filler[17].ID, 5)
	if err != nil || len(page.Messages) != 5 || page.Messages[4].ID != filler[17].ID || page.HasMoreAfter {
		t.Fatalf("Around the newest: %+v, %v", page, err)
	}
}
