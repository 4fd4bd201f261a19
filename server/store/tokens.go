package store

import (
	"context"
	"time"
)

// AccessToken is a personal access token: a login its owner makes for a program
// (a bot, a script) that does not slide or expire, and that may be limited
// to some rooms. Only the hash of its secret is stored, as for sessions.
type AccessToken struct {
	ID      string // the public handle by which it is listed and revoked
	Hash    string // the hash of its secret (server.TokenHash)
	Nick    string // its owner
	Name    string // what the owner called it
	Rooms   []string
	Created time.Time
}

// AccessTokens keeps personal access tokens by the hash of their secret. A token
// lives until it is deleted or its account is: a deleted account's tokens
// are gone for every method, and an account made again under the same nick
// does not bring them back.
//
// Rooms is kept as given, in order; nil and empty are the same (every
// room) and both come back nil.
type AccessTokens interface {
	// CreateToken stores a token. ErrNotFound when its nick has no
	// account, ErrExists when its id or hash is taken.
	CreateToken(ctx context.Context, t AccessToken) error
	// TokenByHash returns the token of a hash, or ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (AccessToken, error)
	// Tokens lists a nick's tokens (in any case), oldest first; none is
	// an empty list, not an error.
	Tokens(ctx context.Context, nick string) ([]AccessToken, error)
	// DeleteToken revokes the token id of nick (in any case) and returns
	// it, so the caller can end what it opened. ErrNotFound for an unknown
	// id or another nick's token.
	DeleteToken(ctx context.Context, nick, id string) (AccessToken, error)
}
