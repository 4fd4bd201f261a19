package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations bring the schema from version i to i+1 (PRAGMA user_version).
// Append new steps; never edit a released one.
var migrations = []string{
	// 1: accounts, sessions, rooms, messages.
	`
CREATE TABLE accounts (
	nick_key      TEXT PRIMARY KEY,
	nick          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	nick_key   TEXT NOT NULL REFERENCES accounts(nick_key) ON DELETE CASCADE,
	nick       TEXT NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_nick ON sessions(nick_key);
CREATE INDEX sessions_expires ON sessions(expires);

CREATE TABLE rooms (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	topic   TEXT NOT NULL DEFAULT '',
	created INTEGER NOT NULL,
	trimmed INTEGER NOT NULL DEFAULT 0 -- highest seq ever removed by retention
);

-- A rowid table: rows hold up to 4000 characters of text, too big for a
-- WITHOUT ROWID b-tree to stay shallow.
CREATE TABLE messages (
	room_id   INTEGER NOT NULL REFERENCES rooms(id),
	seq       INTEGER NOT NULL,
	nick      TEXT NOT NULL,
	nick_key  TEXT NOT NULL,
	kind      TEXT NOT NULL,
	text      TEXT NOT NULL,
	client_id TEXT,
	ts        INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_seq ON messages(room_id, seq);
CREATE UNIQUE INDEX messages_client ON messages(room_id, nick_key, client_id)
	WHERE client_id IS NOT NULL;
`,
	// 2: membership. Rooms gain a kind (every existing room is public), an
	// owner (none for existing rooms) and public_read; accounts gain the
	// admin flag; every account that posted in a room becomes its member.
	`
ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public';
ALTER TABLE rooms ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN public_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;

CREATE TABLE members (
	room_id  INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
	nick_key TEXT NOT NULL REFERENCES accounts(nick_key) ON DELETE CASCADE,
	role     TEXT NOT NULL,
	joined   INTEGER NOT NULL,
	PRIMARY KEY (room_id, nick_key)
) WITHOUT ROWID;
CREATE INDEX members_nick ON members(nick_key);

-- One direct room per set of accounts: the unique key is what makes two
-- concurrent creations for one set create one room.
CREATE TABLE direct_rooms (
	set_key TEXT PRIMARY KEY,
	room_id INTEGER NOT NULL UNIQUE REFERENCES rooms(id) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO members (room_id, nick_key, role, joined)
	SELECT room_id, nick_key, 'member', MIN(ts) FROM messages
	WHERE nick_key IN (SELECT nick_key FROM accounts)
	GROUP BY room_id, nick_key;
`,
	// 3: the newest seq of each deleted room's name, so that a room made
	// again under that name goes on numbering after it (continueSeq).
	`
CREATE TABLE deleted_rooms (
	name     TEXT PRIMARY KEY,
	last_seq INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// 4: the search index (search.go): one FTS5 row per message, keyed by
	// the message's rowid, holding its words as store.AnalyzeText folds
	// them, its room and its author as one token each (so that a room or
	// author filter is an intersection inside FTS5, not a scan). Contentless:
	// the text stays in messages alone, and contentless_delete lets a row
	// go by rowid when its message goes. backfillSearch indexes the
	// messages written before it.
	`
CREATE VIRTUAL TABLE message_words USING fts5(
	words, room, nick, content='', contentless_delete=1,
	tokenize='unicode61 remove_diacritics 2'
);
`,
	// 5: personal access tokens and incoming webhooks.
	`
CREATE TABLE tokens (
	hash     TEXT PRIMARY KEY,
	id       TEXT NOT NULL UNIQUE,
	nick_key TEXT NOT NULL REFERENCES accounts(nick_key) ON DELETE CASCADE,
	nick     TEXT NOT NULL,
	name     TEXT NOT NULL,
	rooms    TEXT NOT NULL, -- JSON array; "null" for every room
	created  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_nick ON tokens(nick_key, created);

CREATE TABLE hooks (
	id          TEXT PRIMARY KEY,
	secret_hash TEXT NOT NULL,
	room        TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	creator     TEXT NOT NULL,
	created     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX hooks_room ON hooks(room, created);

ALTER TABLE messages ADD COLUMN via TEXT NOT NULL DEFAULT '';
`,
}

// migrationSteps are Go steps that run after a migration's SQL, in its
// transaction, keyed by the version it brings the schema to.
var migrationSteps = map[int]func(ctx context.Context, tx *sql.Tx) error{
	4: backfillSearch,
}

// migrate runs the migrations the database has not seen, each in its own
// transaction together with the new user_version.
func migrate(ctx context.Context, conn *sql.Conn) error {
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("open database: schema version %d is newer than this program (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate schema to %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate schema to %d: %w", v+1, err)
		}
		if step := migrationSteps[v+1]; step != nil {
			if err := step(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("migrate schema to %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate schema to %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate schema to %d: %w", v+1, err)
		}
	}
	return nil
}

const msgCols = `seq, nick, kind, text, client_id, ts, via`

// writeStmts are prepared on the writer's connection.
type writeStmts struct {
	begin, commit, rollback *sql.Stmt
	insert                  *sql.Stmt
	byClient                *sql.Stmt
	trim                    *sql.Stmt
	setTrimmed              *sql.Stmt
	index, unindexTrimmed   *sql.Stmt // search.go
}

func (w *writeStmts) prepare(ctx context.Context, conn *sql.Conn) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},
		{&w.insert, `INSERT INTO messages (room_id, seq, nick, nick_key, kind, text, client_id, ts, via)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`},
		{&w.byClient, `SELECT ` + msgCols + ` FROM messages
			WHERE room_id = ? AND nick_key = ? AND client_id = ?`},
		{&w.trim, `DELETE FROM messages WHERE room_id = ? AND seq <= ?`},
		{&w.index, `INSERT INTO message_words (rowid, words, room, nick) VALUES (?, ?, ?, ?)`},
		{&w.unindexTrimmed, `DELETE FROM message_words WHERE rowid IN
			(SELECT rowid FROM messages WHERE room_id = ? AND seq <= ?)`},
		{&w.setTrimmed, `UPDATE rooms SET trimmed = ? WHERE id = ?`},
	} {
		stmt, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.dst = stmt
	}
	return nil
}

func (w *writeStmts) close() {
	for _, stmt := range []*sql.Stmt{w.begin, w.commit, w.rollback, w.insert, w.byClient, w.trim, w.setTrimmed, w.index, w.unindexTrimmed} {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// readStmts are prepared on the read pool.
type readStmts struct {
	before, after    *sql.Stmt
	account, session *sql.Stmt
	role             *sql.Stmt
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		// Both take the room's last published seq as a bound (before: as
		// last+1), so a read never shows a message before it is relayed.
		{&r.before, `SELECT ` + msgCols + ` FROM messages WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`},
		{&r.after, `SELECT ` + msgCols + ` FROM messages WHERE room_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`},
		{&r.account, `SELECT nick, password_hash, created, admin FROM accounts WHERE nick_key = ?`},
		{&r.role, `SELECT role FROM members WHERE room_id = ? AND nick_key = ?`},
		{&r.session, `SELECT nick, created, expires FROM sessions WHERE token_hash = ? AND expires > ?`},
	} {
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.dst = stmt
	}
	return nil
}

func (r *readStmts) close() {
	for _, stmt := range []*sql.Stmt{r.before, r.after, r.account, r.session, r.role} {
		if stmt != nil {
			stmt.Close()
		}
	}
}
