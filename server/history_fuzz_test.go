package server_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/servertest"
)

// FuzzHistoryQuery sends arbitrary query strings to GET .../messages of a
// running server whose room holds a known history, and checks every answer
// against the protocol, computed here independently: 400 bad_query for
// anything malformed (never a 500), otherwise exactly the page asked for.
func FuzzHistoryQuery(f *testing.F) {
	srv := servertest.Start(f)
	tok := srv.Login(f, "alice")
	var ids []string
	for i := range 30 {
		ids = append(ids, srv.Post(f, tok, chat.DefaultRoom, "message "+strconv.Itoa(i)).ID)
	}
	for _, s := range []string{"", "limit=1", "limit=200", "limit=201", "limit=0", "limit=-1", "limit=",
		"limit=5&before=" + ids[10], "after=" + ids[3] + "&limit=2", "before=1&after=2", "before=abc",
		"before=" + ids[0], "after=" + ids[29], "before=1-0", "after=5-3", "before=00", "limit=1e2",
		"before=18446744073709551615", "before=99999999999999999999", "after=9223372036854775808",
		"limit=%31%30", "before=%35&before=7", "limit=+5", "limit=0x10", "limit=9999999999999999999999",
		"Before=5", "before=5%00", "last_event_id=3", "limit=5&limit=abc", "&&==&", "%zz=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// Keep to what a client can put in a request line: printable ASCII,
		// no space or '#'. A ';' makes net/http log a warning per request.
		raw = strings.Map(func(r rune) rune {
			if r <= ' ' || r >= 0x7f || r == '#' || r == ';' {
				return -1
			}
			return r
		}, raw)
		path := "/api/rooms/" + chat.DefaultRoom + "/messages"
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = raw
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatalf("GET ?%s: %v", raw, err)
		}
		r := readResponse(t, resp)

		want, wantMore, valid := expectedPage(ids, raw)
		if !valid {
			if r.Status != http.StatusBadRequest || r.Error().Code != "bad_query" {
				t.Fatalf("GET ?%s = %d %s; want 400 bad_query", raw, r.Status, r.Body)
			}
			return
		}
		if r.Status != http.StatusOK {
			t.Fatalf("GET ?%s = %d %s; want 200", raw, r.Status, r.Body)
		}
		var page chat.MessagePage
		r.Decode(t, &page)
		got := make([]string, len(page.Messages))
		for i, m := range page.Messages {
			got[i] = m.ID
		}
		if !slices.Equal(got, want) || page.HasMore != wantMore {
			t.Fatalf("GET ?%s = %v has_more=%v; want %v has_more=%v", raw, got, page.HasMore, want, wantMore)
		}
	})
}

// expectedPage computes, from the protocol alone, the page a query asks for
// in a room holding ids (oldest first), or valid=false for a query that must
// be refused with 400 bad_query.
func expectedPage(ids []string, raw string) (page []string, hasMore, valid bool) {
	q, _ := url.ParseQuery(raw) // as r.URL.Query(): bad pairs are dropped
	before, after := q.Get("before"), q.Get("after")
	if before != "" && after != "" {
		return nil, false, false
	}
	for _, id := range []string{before, after} {
		if id != "" && !ourID(id) {
			return nil, false, false
		}
	}
	limit := chat.DefaultPageSize
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > chat.MaxPageSize {
			return nil, false, false
		}
		limit = n
	}
	var sel []string
	switch {
	case before != "":
		for _, id := range ids {
			if chat.CompareIDs(id, before) < 0 {
				sel = append(sel, id)
			}
		}
		if len(sel) > limit {
			return sel[len(sel)-limit:], true, true
		}
		return sel, false, true
	case after != "":
		for _, id := range ids {
			if chat.CompareIDs(id, after) > 0 {
				sel = append(sel, id)
			}
		}
		if len(sel) > limit {
			return sel[:limit], true, true
		}
		return sel, false, true
	}
	if len(ids) > limit {
		return ids[len(ids)-limit:], true, true
	}
	return ids, false, true
}

// ourID reports whether id is one the SQLite store could have issued: a
// sequence number without a "-minor" part that fits its int64 column. Any
// other id is "not one of ours" (PROTOCOL.md): 400, not 500.
func ourID(id string) bool {
	if strings.Contains(id, "-") {
		return false
	}
	v, err := chat.ParseID(id)
	return err == nil && v.Major <= 1<<63-1
}

// readResponse reads and closes resp into a servertest.Response.
func readResponse(t testing.TB, resp *http.Response) *servertest.Response {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
