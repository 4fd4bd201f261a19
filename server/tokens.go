package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// TokenPrefix starts every personal access token, so that the server (and
// a secret scanner) tells one from a session token at a glance.
const TokenPrefix = "chat_pat_"

// maxTokenRooms bounds the rooms one token may be limited to.
const maxTokenRooms = 100

// maxTokenName bounds a token's name, in characters.
const maxTokenName = 64

// NewAccessToken returns a new personal access token and its public id.
func NewAccessToken() (token, id string) {
	return TokenPrefix + randomToken(), randomToken()[:16]
}

// isAccessToken reports whether a Bearer token is a personal access token
// by its form (prefix and length), before any lookup.
func isAccessToken(token string) bool {
	return strings.HasPrefix(token, TokenPrefix) && len(token) == len(TokenPrefix)+tokenLen
}

// authenticateToken finds the account of a personal access token. Tokens
// are not cached: a revocation anywhere takes effect at the next request.
func (s *Server) authenticateToken(ctx context.Context, token string) (session, error) {
	hash := TokenHash(token)
	t, err := s.st.TokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return session{}, errUnauthorized
	}
	if err != nil {
		return session{}, fmt.Errorf("look up token: %w", err)
	}
	return session{Nick: t.Nick, TokenHash: hash, TokenID: t.ID, Rooms: t.Rooms}, nil
}

// tokenAllows reports whether the caller may see room: a login session
// sees every room, a personal access token limited to rooms only those.
// Every handler that resolves a room asks it and answers room_not_found
// when it says no, so a limited token learns nothing of other rooms.
func tokenAllows(sess session, room string) bool {
	if sess.TokenID == "" || len(sess.Rooms) == 0 {
		return true
	}
	return slices.Contains(sess.Rooms, room)
}

// tokenInfo is a token as the API shows it; the secret only when made.
func tokenInfo(t store.AccessToken, secret string) chat.TokenInfo {
	return chat.TokenInfo{ID: t.ID, Name: t.Name, Token: secret, Rooms: t.Rooms, CreatedAt: t.Created}
}

// loginOnly refuses a request made with a personal access token: tokens
// are managed with a login, so a leaked token cannot make more of itself.
func loginOnly(sess session) error {
	if sess.TokenID != "" {
		return errTokenForbidden
	}
	return nil
}

// handleCreateToken is POST /api/me/tokens: 201 with the token, shown this
// once.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	if err := loginOnly(sess); err != nil {
		return err
	}
	var req chat.NewToken
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len([]rune(name)) > maxTokenName || strings.ContainsFunc(name, isControl) {
		return errBadTokenName
	}
	if len(req.Rooms) > maxTokenRooms {
		return errTooManyTokenRooms
	}
	var rooms []string
	for _, room := range req.Rooms {
		if err := chat.ValidateRoom(room); err != nil {
			return err
		}
		if !slices.Contains(rooms, room) {
			rooms = append(rooms, room)
		}
	}
	if err := s.limits.allowPost(r, sess.Nick); err != nil {
		return err
	}
	secret, id := NewAccessToken()
	t := store.AccessToken{ID: id, Hash: TokenHash(secret), Nick: sess.Nick, Name: name, Rooms: rooms, Created: time.Now().UTC()}
	if err := s.st.CreateToken(r.Context(), t); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	writeJSON(w, http.StatusCreated, tokenInfo(t, secret))
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// handleTokens is GET /api/me/tokens: the caller's tokens, without secrets.
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	if err := loginOnly(sess); err != nil {
		return err
	}
	list, err := s.st.Tokens(r.Context(), sess.Nick)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	out := chat.TokenList{Tokens: make([]chat.TokenInfo, 0, len(list))}
	for _, t := range list {
		out.Tokens = append(out.Tokens, tokenInfo(t, ""))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleDeleteToken is DELETE /api/me/tokens/{id}: 204; the token stops
// working at once and its open streams here end.
func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	if err := loginOnly(sess); err != nil {
		return err
	}
	t, err := s.st.DeleteToken(r.Context(), sess.Nick, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return errTokenNotFound
	}
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	// Its streams here end now; other nodes' sweeps end theirs.
	s.open.end(sessionStreamsKey(t.Hash), nil, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
