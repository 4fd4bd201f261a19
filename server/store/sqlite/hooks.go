package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ssechat/chat/server/store"
)

const hookCols = `id, secret_hash, room, name, creator, created`

// CreateHook stores a hook; store.ErrNotFound when its room does not exist,
// store.ErrExists when its id is taken.
func (s *Store) CreateHook(ctx context.Context, h store.Hook) error {
	if h.Created.IsZero() {
		h.Created = s.now()
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM rooms WHERE name = ?`, h.Room).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("create hook: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO hooks (`+hookCols+`) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			h.ID, h.SecretHash, h.Room, h.Name, h.Creator, toNanos(h.Created))
		if err != nil {
			return nil, fmt.Errorf("create hook: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("create hook: %w", err)
		} else if n == 0 {
			return nil, store.ErrExists
		}
		return nil, nil
	})
}

func scanHook(row scanner) (store.Hook, error) {
	var h store.Hook
	var created int64
	if err := row.Scan(&h.ID, &h.SecretHash, &h.Room, &h.Name, &h.Creator, &created); err != nil {
		return store.Hook{}, err
	}
	h.Created = fromNanos(created)
	return h, nil
}

// Hook returns the hook of an id, or store.ErrNotFound.
func (s *Store) Hook(ctx context.Context, id string) (store.Hook, error) {
	if s.isDown.Load() {
		return store.Hook{}, store.ErrClosed
	}
	h, err := scanHook(s.rdb.QueryRowContext(ctx, `SELECT `+hookCols+` FROM hooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Hook{}, store.ErrNotFound
	}
	if err != nil {
		return store.Hook{}, s.fail("read hook", err)
	}
	return h, nil
}

// RoomHooks lists a room's hooks, oldest first.
func (s *Store) RoomHooks(ctx context.Context, room string) ([]store.Hook, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+hookCols+` FROM hooks WHERE room = ? ORDER BY created, id`, room)
	if err != nil {
		return nil, s.fail("list hooks", err)
	}
	defer rows.Close()
	out := []store.Hook{}
	for rows.Next() {
		h, err := scanHook(rows)
		if err != nil {
			return nil, s.fail("list hooks", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list hooks", err)
	}
	return out, nil
}

// DeleteHook removes a room's hook; store.ErrNotFound for an unknown id or
// one of another room.
func (s *Store) DeleteHook(ctx context.Context, room, id string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM hooks WHERE id = ? AND room = ?`, id, room)
		return nil, oneRow(res, err, "delete hook")
	})
}
