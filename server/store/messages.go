package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ssechat/chat/chat"
)

// NewMessage is a message to append, complete and validated by the caller:
// Kind is one of chat's kinds (the caller applies its default), Text and
// ClientID passed chat's checks. The store assigns ID, and TS if it is zero.
type NewMessage struct {
	Room     string
	Nick     string
	Kind     string
	Text     string
	ClientID string // optional idempotency key, scoped to (Room, Nick)
	TS       time.Time
	Via      string // chat.Message.Via; "" for a person's message
}

// PageQuery selects a page of history, complete as the caller's protocol
// rules made it: Before and After are message ids, at most one set (neither
// selects the newest page), and Limit is 1 to chat.MaxPageSize (the caller
// applies the default and its own maximum). A store refuses anything else
// with ErrInvalid rather than guess.
//
// Around, instead of Before and After, selects the page centred on a
// message: that message (or, when it is gone, where it was), up to
// (Limit-1)/2 older ones and the rest newer, the older side taking what the
// newer side lacks and the reverse.
type PageQuery struct {
	Before string
	After  string
	Around string
	Limit  int
}

// Centre cuts the page around a message from what a store read: older, the
// message and those before it newest first (up to Limit+1 of them), and
// newer, those after it oldest first (up to Limit). It returns the page
// oldest first and whether older messages lie beyond it.
func (q PageQuery) Centre(older, newer []chat.Message) ([]chat.Message, bool) {
	nOld := min(len(older), q.Limit-min(len(newer), q.Limit/2))
	nNew := min(len(newer), q.Limit-nOld)
	page := make([]chat.Message, 0, nOld+nNew)
	for i := nOld - 1; i >= 0; i-- {
		page = append(page, older[i])
	}
	return append(page, newer[:nNew]...), len(older) > nOld
}

// Check refuses a message the caller did not complete: no room, nick or
// kind. Stores call it rather than fill anything in.
func (m NewMessage) Check() error {
	if m.Room == "" || m.Nick == "" || m.Kind == "" {
		return fmt.Errorf("message without room, nick or kind (%q, %q, %q): %w", m.Room, m.Nick, m.Kind, ErrInvalid)
	}
	return nil
}

// Check refuses a query outside PageQuery's contract. Stores call it rather
// than apply a default or a clamp of their own.
func (q PageQuery) Check() error {
	bounds := 0
	for _, id := range []string{q.Before, q.After, q.Around} {
		if id != "" {
			bounds++
		}
	}
	switch {
	case bounds > 1:
		return fmt.Errorf("page query with more than one of before, after and around: %w", ErrInvalid)
	case q.Limit < 1 || q.Limit > chat.MaxPageSize:
		return fmt.Errorf("page limit %d outside 1 to %d: %w", q.Limit, chat.MaxPageSize, ErrInvalid)
	}
	return nil
}

// MessageLog is each room's history: an append-only log of messages with
// ids that strictly increase per room, trimmed from the oldest end by
// retention.
type MessageLog interface {
	// Append stores a message durably and returns it with its id. Ids
	// strictly increase per room in the order of acceptance. When
	// m.ClientID is set and (room, nick, client_id) was stored before, it
	// returns that first message with created false and relays nothing.
	// ErrNotFound: the room does not exist.
	Append(ctx context.Context, m NewMessage) (msg chat.Message, created bool, err error)
	// Page returns a page of history, oldest first, and whether more
	// messages lie beyond it in the direction asked (older ones for the
	// newest page, for Before and for Around, newer ones for After; the
	// caller of Around learns of newer ones with an After from the page's
	// last message). An unknown room is
	// ErrNotFound; an id that is not one of this store's wraps chat.ErrBadID;
	// a query outside PageQuery's contract wraps ErrInvalid.
	Page(ctx context.Context, room string, q PageQuery) (msgs []chat.Message, hasMore bool, err error)
	// Since returns up to max messages with ids after the given one, oldest
	// first, and whether more follow; after "" or "0" reads from the start,
	// and max 0 or less reads to the end (the caller's replay limit is its
	// own rule). ErrTrimmed: messages after that id were dropped by
	// retention, or the id lies beyond the room's newest message (the
	// client saw other data: restored from an older backup, replaced, or
	// an id it made up), so a replay would have a gap and the client must
	// reload.
	Since(ctx context.Context, room, after string, max int) (msgs []chat.Message, more bool, err error)
}
