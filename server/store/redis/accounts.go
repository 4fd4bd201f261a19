package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// CreateAccount stores a new account; ErrExists when the nick is taken in
// any case.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if a.Created.IsZero() {
		a.Created = time.Now()
	}
	n, err := createAccountScript.Run(ctx, s.rdb, []string{s.keys.account(a.Nick)},
		a.Nick, a.PasswordHash, a.Created.UTC().Format(time.RFC3339Nano)).Int()
	if err != nil {
		return s.wrap("create account", err)
	}
	s.health.up()
	if n == 0 {
		return fmt.Errorf("create account %q: %w", a.Nick, store.ErrExists)
	}
	return nil
}

// Account returns the account of a nick in any case, or ErrNotFound.
func (s *Store) Account(ctx context.Context, nick string) (store.Account, error) {
	done, err := s.begin()
	if err != nil {
		return store.Account{}, err
	}
	defer done()
	f, err := s.rdb.HGetAll(ctx, s.keys.account(nick)).Result()
	if err != nil {
		return store.Account{}, s.wrap("read account", err)
	}
	s.health.up()
	if len(f) == 0 {
		return store.Account{}, fmt.Errorf("read account %q: %w", nick, store.ErrNotFound)
	}
	a := store.Account{Nick: f["nick"], PasswordHash: f["hash"]}
	a.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
	return a, nil
}

// SetPassword replaces an account's password hash; ErrNotFound for an
// unknown nick.
func (s *Store) SetPassword(ctx context.Context, nick, passwordHash string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	n, err := setPasswordScript.Run(ctx, s.rdb, []string{s.keys.account(nick)}, passwordHash).Int()
	if err != nil {
		return s.wrap("set password", err)
	}
	s.health.up()
	if n == 0 {
		return fmt.Errorf("set password of %q: %w", nick, store.ErrNotFound)
	}
	return nil
}

// DeleteAccount removes the account and all its sessions; ErrNotFound for
// an unknown nick.
func (s *Store) DeleteAccount(ctx context.Context, nick string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	n, err := deleteAccountScript.Run(ctx, s.rdb, []string{s.keys.account(nick), s.keys.sessions(nick)},
		s.keys.session("")).Int()
	if err != nil {
		return s.wrap("delete account", err)
	}
	s.health.up()
	if n == 0 {
		return fmt.Errorf("delete account %q: %w", nick, store.ErrNotFound)
	}
	return nil
}

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
