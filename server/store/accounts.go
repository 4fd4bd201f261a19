package store

import (
	"context"
	"time"
)

// Account is a user account. Nicks are unique without regard to case
// (chat.NickKey); lookups ignore case and return the spelling it was created
// with.
type Account struct {
	Nick         string
	PasswordHash string
	Created      time.Time
	// Admin accounts (chat-server user add --admin) manage rooms without
	// an owner, such as "general".
	Admin bool
}

// Accounts keeps user accounts. The caller validates nicks (chat) and hashes
// passwords; the store compares nicks without regard to case and keeps the
// spelling given at creation.
type Accounts interface {
	// CreateAccount returns ErrExists when the nick is taken in any case;
	// of concurrent creations of one nick in several cases exactly one
	// wins.
	CreateAccount(ctx context.Context, a Account) error
	// Account returns ErrNotFound for an unknown nick.
	Account(ctx context.Context, nick string) (Account, error)
	// SetPassword returns ErrNotFound for an unknown nick.
	SetPassword(ctx context.Context, nick, passwordHash string) error
	// DeleteAccount removes the account and all its sessions; ErrNotFound
	// for an unknown nick.
	DeleteAccount(ctx context.Context, nick string) error
	// Accounts lists every account, sorted by chat.NickKey. It reads them
	// all, so it serves operators (chat-server user list), not requests.
	Accounts(ctx context.Context) ([]Account, error)
}
