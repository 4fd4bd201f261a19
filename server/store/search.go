package store

import (
	"context"
	"fmt"

	"github.com/ssechat/chat/chat"
)

// MaxSearchResults is the most results one Search answers (the protocol's
// limit maximum).
const MaxSearchResults = 100

// SearchQuery is a search, complete as the caller's protocol rules made it:
// Terms parsed by ParseSearch (at least one), Rooms the rooms the caller may
// read with its room filter already applied (none finds nothing), From a
// nick or "" for anyone, Before a cursor from an earlier SearchResult or ""
// for the newest, Limit 1 to MaxSearchResults.
type SearchQuery struct {
	Terms  []Term
	Rooms  []string
	From   string
	Before string
	Limit  int
}

// Check refuses a query outside SearchQuery's contract.
func (q SearchQuery) Check() error {
	switch {
	case len(q.Terms) == 0:
		return fmt.Errorf("search without terms: %w", ErrInvalid)
	case q.Limit < 1 || q.Limit > MaxSearchResults:
		return fmt.Errorf("search limit %d outside 1 to %d: %w", q.Limit, MaxSearchResults, ErrInvalid)
	}
	for _, t := range q.Terms {
		if len(t.Tokens) == 0 {
			return fmt.Errorf("search term without tokens: %w", ErrInvalid)
		}
	}
	return nil
}

// SearchHit is one message found. Cursor places it in the store's order of
// acceptance across every room: passed as SearchQuery.Before it asks for
// the hits after this one. A message id alone cannot serve, since SQLite
// numbers messages per room.
type SearchHit struct {
	Message chat.Message
	Cursor  string
}

// SearchResult is a page of hits, newest first. More says older hits
// follow the last one. Partial says the store could not apply the whole
// query (the Redis index expands a prefix to a bounded number of words, and
// stops checking a phrase's candidates after a bounded number of rounds), so
// some matches may be missing; nothing it returns fails to match.
type SearchResult struct {
	Hits    []SearchHit
	More    bool
	Partial bool
}

// Search finds messages by their words. Every store indexes a message's
// text as AnalyzeText cuts it (case and diacritics folded, each CJK
// character a word of its own), in the same atomic step as the append, and
// drops it from the index when retention drops the message.
//
// Edits and deletions (issue 15) must change the index in the same step as
// the message: each store keeps one function that writes a message's index
// entries and one that removes them (named in its search.go), to be called
// from the edit and delete paths.
type Search interface {
	// Search returns hits in Rooms only, newest first, each matching every
	// term: a term's tokens appear in the text one after the other, its
	// last token as a prefix when Prefix is set; From, when set, keeps
	// only that nick's messages (compared by chat.NickKey). Unknown rooms
	// find nothing; a Before that is not one of this store's cursors wraps
	// chat.ErrBadID; a query outside SearchQuery's contract wraps
	// ErrInvalid.
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
}
