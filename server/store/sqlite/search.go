package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// The search index is the FTS5 table message_words (schema.go, migration 2):
// one row per message, its rowid the message's rowid, its words column the
// message's words as store.AnalyzeText folds them, joined by spaces, and
// its room and nick columns one token each. Folding
// in Go first gives both stores one notion of a word: each CJK character
// is a word of its own (FTS5's unicode61 would take a whole CJK run as one
// word), so a CJK query is a phrase of characters. unicode61 with
// remove_diacritics 2 then only splits on the spaces Go put there.
//
// Rows are written by indexMessage in the append's transaction, and removed
// with their messages by unindexTrimmed in retention's and unindexRoom in
// a room deletion's; edits and deletions
// (issue 15) must call unindexMessage and indexMessage in their own
// transaction, keeping those three the only writers of the index.

// indexWords is a text's words column in message_words.
func indexWords(text string) string {
	return strings.Join(store.Tokens(text), " ")
}

// roomToken and nickToken are the room and nick columns of message_words:
// one token each, whatever the characters of a nick.
func roomToken(roomID int64) string { return "r" + strconv.FormatInt(roomID, 10) }

func nickToken(nickKey string) string { return "n" + hex.EncodeToString([]byte(nickKey)) }

// indexMessage indexes the message the insert res just stored, under
// words (indexWords of its text).
func (s *Store) indexMessage(ctx context.Context, res sql.Result, roomID int64, nickKey, words string) error {
	if s.opts.NoSearchIndex {
		return nil
	}
	rowid, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("index message: %w", err)
	}
	if _, err := s.ws.index.ExecContext(ctx, rowid, words, roomToken(roomID), nickToken(nickKey)); err != nil {
		return fmt.Errorf("index message: %w", err)
	}
	return nil
}

// unindexMessage removes one message's row, by its rowid (for the edit and
// delete of issue 15: an edit removes, then indexes the new text).
func unindexMessage(ctx context.Context, tx *sql.Tx, rowid int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM message_words WHERE rowid = ?`, rowid); err != nil {
		return fmt.Errorf("unindex message: %w", err)
	}
	return nil
}

var _ = unindexMessage // the seam for issue 15's edits and deletions

// unindexRoom removes the rows of a room's messages, for DeleteRoom in its
// transaction (a later room may get the same id).
func unindexRoom(ctx context.Context, tx *sql.Tx, roomID int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM message_words WHERE rowid IN
		(SELECT rowid FROM messages WHERE room_id = ?)`, roomID); err != nil {
		return fmt.Errorf("unindex room: %w", err)
	}
	return nil
}

// unindexTrimmed removes the rows of the messages retention is about to
// delete (room_id, seq <= cut), in the same transaction.
func (s *Store) unindexTrimmed(ctx context.Context, roomID, cut int64) error {
	if _, err := s.ws.unindexTrimmed.ExecContext(ctx, roomID, cut); err != nil {
		return fmt.Errorf("unindex trimmed messages: %w", err)
	}
	return nil
}

// backfillSearch indexes every message stored before the index existed
// (migration 2), in the migration's transaction.
func backfillSearch(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT rowid, room_id, nick_key, text FROM messages`)
	if err != nil {
		return fmt.Errorf("read messages to index: %w", err)
	}
	defer rows.Close()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO message_words (rowid, words, room, nick) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("index messages: %w", err)
	}
	defer ins.Close()
	for rows.Next() {
		var (
			rowid, roomID int64
			nickKey, text string
		)
		if err := rows.Scan(&rowid, &roomID, &nickKey, &text); err != nil {
			return fmt.Errorf("read messages to index: %w", err)
		}
		if _, err := ins.ExecContext(ctx, rowid, indexWords(text), roomToken(roomID), nickToken(nickKey)); err != nil {
			return fmt.Errorf("index message: %w", err)
		}
	}
	return rows.Err()
}

// roomsInMatch is how many rooms a query may name in its FTS5 expression;
// a query over more rooms (every room a member can read) filters rooms in
// SQL alone, where most rooms pass anyway.
const roomsInMatch = 16

// matchExpr is the FTS5 query: each term a quoted phrase of its tokens (a
// token holds only letters, digits and marks, never a quote) in the words
// column, the last followed by * when it is a prefix; then the rooms (when
// few) and the author as tokens of their columns; all joined by AND. The
// SQL around it checks rooms and author exactly all the same.
func matchExpr(terms []store.Term, roomIDs []int64, nickKey string) string {
	var b strings.Builder
	b.WriteString("{words}: (")
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(`"` + strings.Join(t.Tokens, " ") + `"`)
		if t.Prefix {
			b.WriteString("*")
		}
	}
	b.WriteString(")")
	if len(roomIDs) <= roomsInMatch {
		b.WriteString(" AND {room}: (")
		for i, id := range roomIDs {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString(`"` + roomToken(id) + `"`)
		}
		b.WriteString(")")
	}
	if nickKey != "" {
		b.WriteString(` AND {nick}: "` + nickToken(nickKey) + `"`)
	}
	return b.String()
}

// Search answers from message_words, newest first by rowid (the order of
// acceptance across rooms), which is also the cursor.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) (store.SearchResult, error) {
	if s.isDown.Load() {
		return store.SearchResult{}, store.ErrClosed
	}
	if err := q.Check(); err != nil {
		return store.SearchResult{}, fmt.Errorf("search: %w", err)
	}
	before := int64(1<<63 - 1)
	if q.Before != "" {
		n, err := strconv.ParseInt(q.Before, 10, 64)
		if err != nil || n < 1 {
			return store.SearchResult{}, fmt.Errorf("search before %q: %w", q.Before, chat.ErrBadID)
		}
		before = n
	}
	rooms := make(map[int64]*room, len(q.Rooms))
	var (
		ids []int64
		in  strings.Builder
	)
	for _, name := range q.Rooms {
		if rm := s.room(name); rm != nil && rooms[rm.id] == nil {
			rooms[rm.id] = rm
			ids = append(ids, rm.id)
			if in.Len() > 0 {
				in.WriteString(",")
			}
			in.WriteString(strconv.FormatInt(rm.id, 10))
		}
	}
	if len(rooms) == 0 {
		return store.SearchResult{}, nil
	}
	nickKey := ""
	if q.From != "" {
		nickKey = chat.NickKey(q.From)
	}
	args := []any{matchExpr(q.Terms, ids, nickKey), before}
	query := `SELECT f.rowid, m.room_id, m.seq, m.nick, m.kind, m.text, m.client_id, m.ts
		FROM message_words f JOIN messages m ON m.rowid = f.rowid
		WHERE message_words MATCH ? AND f.rowid < ? AND m.room_id IN (` + in.String() + `)`
	if q.From != "" {
		query += ` AND m.nick_key = ?`
		args = append(args, nickKey)
	}
	query += ` ORDER BY f.rowid DESC LIMIT ?`
	args = append(args, q.Limit+1)
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return store.SearchResult{}, s.fail("search", err)
	}
	defer rows.Close()
	var res store.SearchResult
	for rows.Next() {
		var (
			rowid, roomID, seq, ts int64
			clientID               sql.NullString
			m                      chat.Message
		)
		if err := rows.Scan(&rowid, &roomID, &seq, &m.Nick, &m.Kind, &m.Text, &clientID, &ts); err != nil {
			return store.SearchResult{}, s.fail("search", err)
		}
		rm := rooms[roomID]
		if seq > rm.last.Load() {
			continue // committed but not relayed yet: no read shows it before then
		}
		if len(res.Hits) == q.Limit {
			res.More = true
			break
		}
		m.ID = strconv.FormatInt(seq, 10)
		m.Room = rm.name
		m.ClientID = clientID.String
		m.TS = fromNanos(ts)
		res.Hits = append(res.Hits, store.SearchHit{Message: m, Cursor: strconv.FormatInt(rowid, 10)})
	}
	if err := rows.Err(); err != nil {
		return store.SearchResult{}, s.fail("search", err)
	}
	return res, nil
}
