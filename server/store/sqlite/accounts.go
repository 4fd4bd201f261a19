package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// CreateAccount stores a new account; store.ErrExists when the nick is taken
// in any case.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	if a.Created.IsZero() {
		a.Created = s.now()
	}
	key := chat.NickKey(a.Nick)
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE nick_key = ?`, key).Scan(&one)
		switch {
		case err == nil:
			return nil, store.ErrExists
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("create account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (nick_key, nick, password_hash, created, admin) VALUES (?, ?, ?, ?, ?)`,
			key, a.Nick, a.PasswordHash, toNanos(a.Created), a.Admin); err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		// A new account is a member of the default room (Membership).
		if _, err := tx.ExecContext(ctx, `INSERT INTO members (room_id, nick_key, role, joined)
			SELECT id, ?, ?, ? FROM rooms WHERE name = ?`, key, chat.RoleMember, toNanos(a.Created), chat.DefaultRoom); err != nil {
			return nil, fmt.Errorf("join %s: %w", chat.DefaultRoom, err)
		}
		return nil, nil
	})
}

// Account returns the account of nick in any case, spelled as created.
func (s *Store) Account(ctx context.Context, nick string) (store.Account, error) {
	if s.isDown.Load() {
		return store.Account{}, store.ErrClosed
	}
	var (
		a       store.Account
		created int64
	)
	err := s.rs.account.QueryRowContext(ctx, chat.NickKey(nick)).Scan(&a.Nick, &a.PasswordHash, &created, &a.Admin)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, store.ErrNotFound
	}
	if err != nil {
		return store.Account{}, s.fail("read account", err)
	}
	a.Created = fromNanos(created)
	return a, nil
}

// Accounts lists every account, sorted by its nick's key.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT nick, password_hash, created FROM accounts ORDER BY nick_key`)
	if err != nil {
		return nil, s.fail("list accounts", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		var (
			a       store.Account
			created int64
		)
		if err := rows.Scan(&a.Nick, &a.PasswordHash, &created); err != nil {
			return nil, s.fail("list accounts", err)
		}
		a.Created = fromNanos(created)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list accounts", err)
	}
	return out, nil
}

// SetPassword replaces the account's password hash; store.ErrNotFound for an
// unknown nick.
func (s *Store) SetPassword(ctx context.Context, nick, passwordHash string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ? WHERE nick_key = ?`, passwordHash, chat.NickKey(nick))
		return nil, oneRow(res, err, "set password")
	})
}

// DeleteAccount removes the account and, by the foreign keys' cascade, all
// its sessions and memberships; store.ErrNotFound for an unknown nick. The
// direct rooms it was in lose their key first, so a new account of the same
// nick starts new conversations instead of finding the old ones.
func (s *Store) DeleteAccount(ctx context.Context, nick string) error {
	key := chat.NickKey(nick)
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM direct_rooms
			WHERE room_id IN (SELECT room_id FROM members WHERE nick_key = ?)`, key); err != nil {
			return nil, fmt.Errorf("delete account: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE nick_key = ?`, key)
		return nil, oneRow(res, err, "delete account")
	})
}

// oneRow turns an UPDATE or DELETE that touched no row into ErrNotFound.
func oneRow(res sql.Result, err error, verb string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
