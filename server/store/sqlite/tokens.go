package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

const tokenCols = `hash, id, nick, name, rooms, created`

// CreateToken stores a token. store.ErrNotFound when its nick has no
// account, store.ErrExists when its id or hash is taken. The account's
// deletion removes its tokens by the foreign key's cascade.
func (s *Store) CreateToken(ctx context.Context, t store.AccessToken) error {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	rooms, err := json.Marshal(nilIfEmpty(t.Rooms))
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	key := chat.NickKey(t.Nick)
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE nick_key = ?`, key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("create token: %w", err)
		}
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM tokens WHERE hash = ? OR id = ?`, t.Hash, t.ID).Scan(&one)
		if err == nil {
			return nil, store.ErrExists
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("create token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`, nick_key) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, t.ID, t.Nick, t.Name, string(rooms), toNanos(t.Created), key); err != nil {
			return nil, fmt.Errorf("create token: %w", err)
		}
		return nil, nil
	})
}

func nilIfEmpty(rooms []string) []string {
	if len(rooms) == 0 {
		return nil
	}
	return rooms
}

type scanner interface{ Scan(dest ...any) error }

func scanToken(row scanner) (store.AccessToken, error) {
	var t store.AccessToken
	var rooms string
	var created int64
	if err := row.Scan(&t.Hash, &t.ID, &t.Nick, &t.Name, &rooms, &created); err != nil {
		return store.AccessToken{}, err
	}
	if err := json.Unmarshal([]byte(rooms), &t.Rooms); err != nil {
		return store.AccessToken{}, fmt.Errorf("decode rooms of token %s: %w", t.ID, err)
	}
	t.Rooms = nilIfEmpty(t.Rooms)
	t.Created = fromNanos(created)
	return t, nil
}

// TokenByHash returns the token of a hash, or store.ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.AccessToken, error) {
	if s.isDown.Load() {
		return store.AccessToken{}, store.ErrClosed
	}
	t, err := scanToken(s.rdb.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AccessToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.AccessToken{}, s.fail("read token", err)
	}
	return t, nil
}

// Tokens lists a nick's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, nick string) ([]store.AccessToken, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE nick_key = ? ORDER BY created, id`, chat.NickKey(nick))
	if err != nil {
		return nil, s.fail("list tokens", err)
	}
	defer rows.Close()
	out := []store.AccessToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.fail("list tokens", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list tokens", err)
	}
	return out, nil
}

// DeleteToken revokes a nick's token and returns it; store.ErrNotFound for
// an unknown id or another nick's.
func (s *Store) DeleteToken(ctx context.Context, nick, id string) (store.AccessToken, error) {
	var t store.AccessToken
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `DELETE FROM tokens WHERE id = ? AND nick_key = ? RETURNING `+tokenCols, id, chat.NickKey(nick)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("delete token: %w", err)
		}
		return nil, nil
	})
	return t, err
}
