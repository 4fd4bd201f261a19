package redis

import (
	"context"
	"fmt"
	"time"

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
