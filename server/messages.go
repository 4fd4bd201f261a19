package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// validPost applies package chat's rules to a posted message and fills in
// the protocol's defaults (kind "text"; the text normalised), so that the
// store is given complete, valid input and applies no rule of its own.
func validPost(pm chat.PostMessage) (chat.PostMessage, error) {
	text, err := chat.NormalizeText(pm.Text)
	if err != nil {
		return chat.PostMessage{}, err
	}
	if err := chat.ValidateKind(pm.Kind); err != nil {
		return chat.PostMessage{}, err
	}
	if err := chat.ValidateClientID(pm.ClientID); err != nil {
		return chat.PostMessage{}, err
	}
	pm.Text = text
	if pm.Kind == "" {
		pm.Kind = chat.KindText
	}
	return pm, nil
}

// handlePost is POST /api/rooms/{room}/messages. The message is durable
// before the 201; the hub hears of it from the store (Listen), never from
// here, so every node relays messages in the same order. A repeated
// client_id answers 200 with the first message.
func (s *Server) handlePost(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	room, role, err := s.roomAccess(r.Context(), signedIn(sess.Nick), r.PathValue("room"))
	if err != nil {
		if errors.Is(err, errRoomNotFound) {
			s.stats.messageRefused("room_not_found")
		}
		return err
	}
	name := room.Name
	var pm chat.PostMessage
	if err := s.decodeJSON(w, r, &pm); err != nil {
		s.stats.messageRefused("bad_request")
		if errors.Is(err, errBodyNotUTF8) {
			// The text is the only free-form field: name the fault as
			// text validation does.
			return errTextNotUTF8
		}
		return err
	}
	pm, err = validPost(pm)
	if err != nil {
		s.stats.messageRefused("invalid")
		return err
	}
	if err := s.limits.allowMessage(r, sess.Nick); err != nil {
		s.stats.messageRefused("rate_limited")
		return err
	}
	// The append goes on even if the client hangs up meanwhile: it may
	// retry with the same client_id and must find its message.
	ctx := context.WithoutCancel(r.Context())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	msg, created, err := s.limits.appendMessage(ctx, s.st, store.NewMessage{
		Room: name, Nick: sess.Nick, Kind: pm.Kind, Text: pm.Text, ClientID: pm.ClientID, TS: start.UTC(),
	})
	s.stats.appended(time.Since(start))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.stats.messageRefused("room_not_found")
		return errRoomNotFound
	case errors.Is(err, store.ErrLimited):
		s.stats.messageRefused("rate_limited")
		return refusedMessage(err)
	case err != nil:
		s.stats.messageRefused("store")
		return fmt.Errorf("append message: %w", err)
	}
	if role == "" && room.Kind == chat.KindPublic {
		// Posting to a public room joins it. The message is stored
		// already: a failed join is logged, and the next post tries again.
		if err := s.joinRoom(ctx, name, sess.Nick); err != nil {
			s.log.Warn("join on post", "room", name, "nick", sess.Nick, "err", err)
		}
	}
	status := http.StatusCreated
	if created {
		s.stats.messageAccepted()
	} else {
		s.stats.messageDuplicate()
		status = http.StatusOK
	}
	writeJSON(w, status, msg)
	return nil
}

// pageQuery reads the query of GET .../messages into the complete query a
// store is given. The handler is the one owner of the paging rules: at most
// one of before and after, each a message id; limit 1 to --history-page-max,
// by default chat.DefaultPageSize (or the max, when that is lower). A store
// is handed a query that already obeys them and applies none of its own.
func (s *Server) pageQuery(q url.Values) (store.PageQuery, error) {
	pq := store.PageQuery{Before: q.Get("before"), After: q.Get("after"), Around: q.Get("around"), Limit: s.announced.HistoryPageDefault}
	given := 0
	for _, id := range []string{pq.Before, pq.After, pq.Around} {
		if id != "" {
			given++
		}
	}
	if given > 1 {
		return store.PageQuery{}, errBadQuery.with("Give one of before, after and around.")
	}
	for _, id := range []string{pq.Before, pq.After, pq.Around} {
		if id == "" {
			continue
		}
		if _, err := chat.ParseID(id); err != nil {
			return store.PageQuery{}, errBadQuery.with("%q is not a message id.", id)
		}
	}
	if l := q.Get("limit"); l != "" || q.Has("limit") {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > s.cfg.HistoryPageMax {
			return store.PageQuery{}, errBadQuery.with("limit is a number from 1 to %d.", s.cfg.HistoryPageMax)
		}
		pq.Limit = n
	}
	return pq, nil
}

// handleHistory is GET /api/rooms/{room}/messages?before=&after=&around=&limit=.
// Without a session it answers for a public_read room only; any other room
// is then 401, as every room was in version 1, so that the answer tells a
// reader without a session nothing about which rooms exist.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.pageQuery(r.URL.Query())
	if err != nil {
		return err
	}
	c := callerOf(r.Context())
	room, _, err := s.roomAccess(r.Context(), c, r.PathValue("room"))
	if errors.Is(err, errRoomNotFound) && !c.signedIn {
		return errUnauthorized
	}
	if err != nil {
		return err
	}
	msgs, more, err := s.st.Page(r.Context(), room.Name, pq)
	if errors.Is(err, store.ErrNotFound) {
		return errRoomNotFound
	}
	if errors.Is(err, chat.ErrBadID) {
		// Well formed, but not of this store's kind (a stream id given to
		// SQLite, or past its range): not one of ours.
		return errBadQuery.with("That is not a message id of this server.")
	}
	if err != nil {
		return fmt.Errorf("read page: %w", err)
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	page := chat.MessagePage{Messages: msgs, HasMore: more}
	if pq.Around != "" && len(msgs) > 0 {
		// The store's more says older ones precede the page; one message
		// after its last says whether newer ones follow.
		next, _, err := s.st.Page(r.Context(), room.Name, store.PageQuery{After: msgs[len(msgs)-1].ID, Limit: 1})
		if err != nil {
			return fmt.Errorf("read page: %w", err)
		}
		page.HasMoreAfter = len(next) > 0
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// handleTyping is POST /api/rooms/{room}/typing: an ephemeral event for the
// room's other streams. A body, if any, is ignored. Over the account's
// typing rate the answer is still 204 but nothing is relayed: a notice is
// best effort and repeated while the user types, so a 429 would only make
// clients noisy, and it never costs a message token.
func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	room, _, err := s.roomAccess(r.Context(), signedIn(sess.Nick), r.PathValue("room"))
	if err != nil {
		return err
	}
	if !s.limits.allowTyping(sess.Nick) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.st.Publish(r.Context(), store.Event{Room: room.Name, Typing: &chat.Typing{Room: room.Name, Nick: sess.Nick}}); err != nil {
		return fmt.Errorf("publish typing: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
