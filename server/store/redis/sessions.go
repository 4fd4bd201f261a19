package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// CreateSession stores a login until its expiry; Redis deletes it then.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if ss.Created.IsZero() {
		ss.Created = time.Now()
	}
	err = createSessionScript.Run(ctx, s.rdb, []string{s.keys.session(ss.TokenHash), s.keys.sessions(ss.Nick)},
		ss.TokenHash, ss.Nick, chat.NickKey(ss.Nick), ss.Created.UTC().Format(time.RFC3339Nano),
		ss.ExpiresAt.UTC().Format(time.RFC3339Nano), msString(ss.ExpiresAt), s.keys.session("")).Err()
	return s.wrap("create session", err)
}

// Session returns a live session, or ErrNotFound for an unknown or expired
// token hash.
func (s *Store) Session(ctx context.Context, tokenHash string) (store.Session, error) {
	done, err := s.begin()
	if err != nil {
		return store.Session{}, err
	}
	defer done()
	f, err := s.rdb.HGetAll(ctx, s.keys.session(tokenHash)).Result()
	if err != nil {
		return store.Session{}, s.wrap("read session", err)
	}
	s.health.up()
	ss := store.Session{TokenHash: tokenHash, Nick: f["nick"]}
	ss.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
	ss.ExpiresAt, _ = time.Parse(time.RFC3339Nano, f["expires"])
	if len(f) == 0 || !time.Now().Before(ss.ExpiresAt) {
		return store.Session{}, fmt.Errorf("read session: %w", store.ErrNotFound)
	}
	return ss, nil
}

// ExtendSession moves a session's expiry; ErrNotFound for an unknown one.
func (s *Store) ExtendSession(ctx context.Context, tokenHash string, expiresAt time.Time) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	n, err := extendSessionScript.Run(ctx, s.rdb, []string{s.keys.session(tokenHash)},
		expiresAt.UTC().Format(time.RFC3339Nano), msString(expiresAt), s.keys.sessions("")).Int()
	if err != nil {
		return s.wrap("extend session", err)
	}
	s.health.up()
	if n == 0 {
		return fmt.Errorf("extend session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteSession revokes one session; deleting an unknown one is not an
// error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	err = deleteSessionScript.Run(ctx, s.rdb, []string{s.keys.session(tokenHash)},
		s.keys.sessions(""), tokenHash).Err()
	return s.wrap("delete session", err)
}

// DeleteSessions revokes every session of a nick.
func (s *Store) DeleteSessions(ctx context.Context, nick string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	err = deleteSessionsScript.Run(ctx, s.rdb, []string{s.keys.sessions(nick)}, s.keys.session("")).Err()
	return s.wrap("delete sessions", err)
}
