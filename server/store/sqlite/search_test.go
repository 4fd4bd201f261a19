package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

// TestSearchBackfill: messages written by a version without the search
// index (schema 1) are found once the store has opened the file.
func TestSearchBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		sqlite.MigrationSQL(0),
		`PRAGMA user_version = 1`,
		`INSERT INTO rooms (id, name, created) VALUES (1, 'general', 0)`,
		`INSERT INTO messages (room_id, seq, nick, nick_key, kind, text, ts) VALUES
			(1, 1, 'alice', 'alice', 'text', 'written before the index', 1),
			(1, 2, 'bob', 'bob', 'text', 'Café crème', 2)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openStore(t, path, sqlite.Options{})
	terms, err := store.ParseSearch("creme")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(t.Context(), store.SearchQuery{Terms: terms, Rooms: []string{"general"}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 || res.Hits[0].Message.ID != "2" || res.Hits[0].Message.Text != "Café crème" {
		t.Fatalf("search creme after the migration: %+v", res.Hits)
	}
}
