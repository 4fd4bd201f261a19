package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssechat/chat/server/servertest"
)

// TestSearchHTTP checks GET /api/search's wire shape: highlights as arrays
// of two code point offsets and no markup in the text, has_more and next,
// the 422 of a bad q, the 400 of a bad limit or cursor, the 404 of a room
// filter naming no readable room, the 401 without a session, and around's
// has_more_after.
func TestSearchHTTP(t *testing.T) {
	srv := servertest.Start(t)
	tok := srv.Login(t, "ann")
	srv.Post(t, tok, "general", "the <b>first</b> Zürich note")
	m := srv.Post(t, tok, "general", "a second zurich note")
	srv.Post(t, tok, "general", "unrelated")

	search := func(q url.Values) *servertest.Response {
		t.Helper()
		return srv.Do(t, http.MethodGet, "/api/search?"+q.Encode(), tok, nil)
	}
	r := search(url.Values{"q": {"ZURICH"}, "limit": {"1"}})
	if r.Status != http.StatusOK {
		t.Fatalf("search: %d %s", r.Status, r.Body)
	}
	var raw map[string]json.RawMessage
	r.Decode(t, &raw)
	if string(raw["has_more"]) != "true" || raw["next"] == nil || raw["partial"] != nil {
		t.Fatalf("search answer %s: want has_more true, a next, no partial", r.Body)
	}
	var page struct {
		Results []struct {
			Message struct {
				ID   string `json:"id"`
				Text string `json:"text"`
			} `json:"message"`
			Highlights json.RawMessage `json:"highlights"`
		} `json:"results"`
		Next string `json:"next"`
	}
	r.Decode(t, &page)
	if len(page.Results) != 1 || page.Results[0].Message.ID != m.ID || string(page.Results[0].Highlights) != "[[9,15]]" {
		t.Fatalf("first page %s: want message %s with highlights [[9,15]]", r.Body, m.ID)
	}
	r = search(url.Values{"q": {"zürich"}, "before": {page.Next}})
	r.Decode(t, &page)
	if len(page.Results) != 1 || page.Results[0].Message.Text != "the <b>first</b> Zürich note" || string(page.Results[0].Highlights) != "[[17,23]]" {
		t.Fatalf("second page %s", r.Body)
	}
	if strings.Contains(string(r.Body), "<mark") {
		t.Fatalf("the answer holds markup: %s", r.Body)
	}

	for _, tc := range []struct {
		q      url.Values
		status int
		code   string
	}{
		{url.Values{}, 422, "bad_query"},
		{url.Values{"q": {""}}, 422, "bad_query"},
		{url.Values{"q": {strings.Repeat("ü", 257)}}, 422, "bad_query"},
		{url.Values{"q": {"-- !"}}, 422, "bad_query"},
		{url.Values{"q": {"note"}, "limit": {"0"}}, 400, "bad_query"},
		{url.Values{"q": {"note"}, "limit": {"x"}}, 400, "bad_query"},
		{url.Values{"q": {"note"}, "before": {"abc"}}, 400, "bad_query"},
		{url.Values{"q": {"note"}, "room": {"nowhere"}}, 404, "room_not_found"},
	} {
		r := search(tc.q)
		if r.Status != tc.status || r.Error().Code != tc.code {
			t.Errorf("search %v: %d %s, want %d %s", tc.q, r.Status, r.Body, tc.status, tc.code)
		}
	}
	if r := search(url.Values{"q": {strings.Repeat("ü", 256)}}); r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != `{"results":[],"has_more":false}` {
		t.Errorf("search of 256 characters: %d %s", r.Status, r.Body)
	}
	// A private room: found by its member only; to anyone else a room
	// filter naming it is a missing room.
	if r := srv.Do(t, http.MethodPut, "/api/rooms/secret", tok, map[string]string{"kind": "private"}); r.Status != http.StatusCreated {
		t.Fatalf("create a private room: %d %s", r.Status, r.Body)
	}
	srv.Post(t, tok, "secret", "the hidden zurich plan")
	bob := srv.Login(t, "bob")
	for _, who := range []struct {
		tok  string
		want int
	}{{tok, 3}, {bob, 2}} {
		r := srv.Do(t, http.MethodGet, "/api/search?q=zurich", who.tok, nil)
		var res struct {
			Results []json.RawMessage `json:"results"`
		}
		r.Decode(t, &res)
		if len(res.Results) != who.want {
			t.Errorf("search zurich: %d results, want %d: %s", len(res.Results), who.want, r.Body)
		}
	}
	if r := srv.Do(t, http.MethodGet, "/api/search?q=zurich&room=secret", bob, nil); r.Status != 404 || r.Error().Code != "room_not_found" {
		t.Errorf("search in a private room by a non-member: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodGet, "/api/search?q=zurich&room=secret", tok, nil); r.Status != 200 {
		t.Errorf("search in a private room by its member: %d %s", r.Status, r.Body)
	}

	if r := srv.Do(t, http.MethodGet, "/api/search?q=note", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("search without a session: %d %s", r.Status, r.Body)
	}

	h := srv.History(t, tok, "general", url.Values{"around": {m.ID}, "limit": {"1"}})
	if len(h.Messages) != 1 || h.Messages[0].ID != m.ID || !h.HasMore || !h.HasMoreAfter {
		t.Errorf("around %s limit 1: %+v", m.ID, h)
	}
	if r := srv.Do(t, http.MethodGet, "/api/rooms/general/messages?around="+m.ID+"&before="+m.ID, tok, nil); r.Status != 400 || r.Error().Code != "bad_query" {
		t.Errorf("around with before: %d %s", r.Status, r.Body)
	}
}
