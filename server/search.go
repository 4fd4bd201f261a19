package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// Search limits of the protocol (version 2, "Search").
const (
	searchQueryMax     = 256 // characters of q
	searchLimitDefault = 20
)

// readableRooms is the one answer to "which rooms may this caller read",
// used by search: every public room, joined or not, and the private and
// direct rooms the caller belongs to, as GET /api/rooms lists them and as
// roomAccess judges one room. A token limited to rooms (bots) must narrow
// it here too.
func (s *Server) readableRooms(ctx context.Context, sess session) ([]string, error) {
	rooms, err := s.st.Rooms(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	mine, err := s.st.RoomsOf(ctx, sess.Nick)
	if err != nil {
		return nil, fmt.Errorf("list rooms of %s: %w", sess.Nick, err)
	}
	member := make(map[string]bool, len(mine))
	for _, m := range mine {
		member[m.Room.Name] = true
	}
	var names []string
	for _, r := range rooms {
		if r.Kind == chat.KindPublic || member[r.Name] {
			names = append(names, r.Name)
		}
	}
	return names, nil
}

// searchQuery reads GET /api/search's query into a complete store query
// over rooms, the rooms the caller may read. A room filter naming a room
// outside them answers exactly as a room that does not exist.
func searchQuery(v map[string][]string, rooms []string) (store.SearchQuery, error) {
	get := func(k string) string {
		if len(v[k]) > 0 {
			return v[k][0]
		}
		return ""
	}
	q := get("q")
	if q == "" || utf8.RuneCountInString(q) > searchQueryMax || !utf8.ValidString(q) {
		return store.SearchQuery{}, errBadSearch
	}
	terms, err := store.ParseSearch(q)
	if err != nil {
		return store.SearchQuery{}, errBadSearch
	}
	sq := store.SearchQuery{Terms: terms, Rooms: rooms, From: get("from"), Before: get("before"), Limit: searchLimitDefault}
	if room := get("room"); room != "" {
		found := false
		for _, r := range rooms {
			if r == room {
				found = true
			}
		}
		if !found {
			return store.SearchQuery{}, errRoomNotFound
		}
		sq.Rooms = []string{room}
	}
	if _, ok := v["limit"]; ok {
		n, err := strconv.Atoi(get("limit"))
		if err != nil || n < 1 || n > store.MaxSearchResults {
			return store.SearchQuery{}, errBadQuery.with("limit is a number from 1 to %d.", store.MaxSearchResults)
		}
		sq.Limit = n
	}
	return sq, nil
}

// handleSearch is GET /api/search?q=&room=&from=&before=&limit=: messages
// of the rooms the caller may read, newest first, with where they match.
// The highlights come from the query's terms and the text (store.Highlights),
// never from the index, so the server sends offsets and no markup.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	rooms, err := s.readableRooms(r.Context(), sess)
	if err != nil {
		return err
	}
	sq, err := searchQuery(r.URL.Query(), rooms)
	if err != nil {
		return err
	}
	res, err := s.st.Search(r.Context(), sq)
	if errors.Is(err, chat.ErrBadID) {
		return errBadQuery.with("before is not a cursor of this server.")
	}
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	out := chat.SearchResults{Results: make([]chat.SearchResult, len(res.Hits)), HasMore: res.More, Partial: res.Partial}
	for i, h := range res.Hits {
		hl, _ := store.Highlights(h.Message.Text, sq.Terms)
		if hl == nil {
			hl = [][2]int{}
		}
		out.Results[i] = chat.SearchResult{Message: h.Message, Highlights: hl}
	}
	if res.More && len(res.Hits) > 0 {
		out.Next = res.Hits[len(res.Hits)-1].Cursor
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
