package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

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
	admin := "0"
	if a.Admin {
		admin = "1"
	}
	n, err := createAccountScript.Run(ctx, s.rdb,
		[]string{s.keys.account(a.Nick), s.keys.room(chat.DefaultRoom), s.keys.members(chat.DefaultRoom), s.keys.memberOf(a.Nick)},
		a.Nick, a.PasswordHash, a.Created.UTC().Format(time.RFC3339Nano), admin, chat.NickKey(a.Nick), chat.DefaultRoom).Int()
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
	a := store.Account{Nick: f["nick"], PasswordHash: f["hash"], Admin: f["admin"] == "1"}
	a.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
	return a, nil
}

// Accounts lists every account, sorted by its nick's key. Accounts have no
// index of their own, so it walks the account keys with SCAN (which does
// not block the server as KEYS would) and reads them in one pipeline.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	var names []string
	iter := s.rdb.Scan(ctx, 0, globEscape(s.keys.account(""))+"*", 1000).Iterator()
	for iter.Next(ctx) {
		names = append(names, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, s.wrap("list accounts", err)
	}
	slices.Sort(names)
	names = slices.Compact(names) // SCAN may return a key twice
	cmds := make([]*goredis.MapStringStringCmd, len(names))
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.HGetAll(ctx, n)
		}
		return nil
	}); err != nil {
		return nil, s.wrap("list accounts", err)
	}
	s.health.up()
	out := make([]store.Account, 0, len(names))
	for _, c := range cmds {
		f := c.Val()
		if len(f) == 0 {
			continue // deleted between the SCAN and the read
		}
		a := store.Account{Nick: f["nick"], PasswordHash: f["hash"], Admin: f["admin"] == "1"}
		a.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
		out = append(out, a)
	}
	return out, nil
}

// globEscape quotes the characters SCAN's MATCH pattern treats specially,
// so a key prefix is matched as written.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
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
	n, err := deleteAccountScript.Run(ctx, s.rdb, []string{s.keys.account(nick), s.keys.sessions(nick), s.keys.memberOf(nick)},
		s.keys.session(""), s.keys.prefix, chat.NickKey(nick)).Int()
	if err != nil {
		return s.wrap("delete account", err)
	}
	s.health.up()
	if n == 0 {
		return fmt.Errorf("delete account %q: %w", nick, store.ErrNotFound)
	}
	return nil
}
