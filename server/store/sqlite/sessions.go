package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// sessionSweepEvery is how many CreateSession calls pass between deletions
// of expired sessions.
const sessionSweepEvery = 64

// CreateSession stores a session. store.ErrNotFound when its nick has no
// account, store.ErrExists when the token hash is taken.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if sess.Created.IsZero() {
		sess.Created = s.now()
	}
	key := chat.NickKey(sess.Nick)
	sweep := s.sessionCleanup.Add(1)%sessionSweepEvery == 1
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		if sweep {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= ?`, toNanos(s.now())); err != nil {
				return nil, fmt.Errorf("delete expired sessions: %w", err)
			}
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE nick_key = ?`, key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("create session: %w", err)
		}
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE token_hash = ?`, sess.TokenHash).Scan(&one)
		if err == nil {
			return nil, store.ErrExists
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, nick_key, nick, created, expires) VALUES (?, ?, ?, ?, ?)`,
			sess.TokenHash, key, sess.Nick, toNanos(sess.Created), toNanos(sess.ExpiresAt)); err != nil {
			return nil, fmt.Errorf("create session: %w", err)
		}
		return nil, nil
	})
}

// Session returns the session of a token hash; store.ErrNotFound when it is
// unknown or expired.
func (s *Store) Session(ctx context.Context, tokenHash string) (store.Session, error) {
	if s.isDown.Load() {
		return store.Session{}, store.ErrClosed
	}
	sess := store.Session{TokenHash: tokenHash}
	var created, expires int64
	err := s.rs.session.QueryRowContext(ctx, tokenHash, toNanos(s.now())).Scan(&sess.Nick, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, s.fail("read session", err)
	}
	sess.Created, sess.ExpiresAt = fromNanos(created), fromNanos(expires)
	return sess, nil
}

// ExtendSession sets a live session's expiry; store.ErrNotFound when it is
// unknown or already expired.
func (s *Store) ExtendSession(ctx context.Context, tokenHash string, expiresAt time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET expires = ? WHERE token_hash = ? AND expires > ?`,
			toNanos(expiresAt), tokenHash, toNanos(s.now()))
		return nil, oneRow(res, err, "extend session")
	})
}

// DeleteSession revokes one session; an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
			return nil, fmt.Errorf("delete session: %w", err)
		}
		return nil, nil
	})
}

// DeleteSessions revokes every session of nick (in any case).
func (s *Store) DeleteSessions(ctx context.Context, nick string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE nick_key = ?`, chat.NickKey(nick)); err != nil {
			return nil, fmt.Errorf("delete sessions: %w", err)
		}
		return nil, nil
	})
}
