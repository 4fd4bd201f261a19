package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// CookieName is the session cookie's name.
const CookieName = "chat_session"

// tokenBytes is the entropy of a session token: 256 bits.
const tokenBytes = 32

// tokenLen is the length of a token on the wire (unpadded base64url).
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// randomToken returns a new session token.
func randomToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is the form in which a token is stored: hex SHA-256. A stolen
// database holds no usable token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// session is the authenticated caller of a request.
type session struct {
	Nick      string
	TokenHash string
	ViaCookie bool
	// TokenID is set when the caller used a personal access token, and
	// Rooms then limits it (nil: every room); see tokenAllows.
	TokenID string
	Rooms   []string
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) session {
	s, _ := ctx.Value(sessionKey{}).(session)
	return s
}

// authed wraps h so it runs only for a valid session, which it finds in the
// request's context.
func (s *Server) authed(h handlerFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		sess, err := s.authenticate(w, r)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

// maybeAuthed is authed for an endpoint that also answers without a
// session (history of a public_read room): a request with neither the
// Authorization header nor the cookie runs h without a session in its
// context; one with either must authenticate as for authed.
func (s *Server) maybeAuthed(h handlerFunc) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Authorization") == "" {
			if _, err := r.Cookie(CookieName); err != nil {
				return h(w, r)
			}
		}
		sess, err := s.authenticate(w, r)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

// callerOf is the caller of a request: signed in when it has a session.
func callerOf(ctx context.Context) caller {
	if sess, ok := ctx.Value(sessionKey{}).(session); ok {
		return signedIn(sess.Nick)
	}
	return anonymous
}

// authenticate finds the session of r: the Bearer token first, else the
// cookie (never the query string). A cookie-authenticated unsafe request
// must come from this server's own origin. Sessions slide: one used when
// more than a thirtieth of its lifetime has passed is extended. A session
// read from the store is trusted for Config.SessionCache (see
// sessionCache), never past its own expiry.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (session, error) {
	var token string
	viaCookie := false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return session{}, errUnauthorized
		}
		token = strings.TrimSpace(tok)
		if isAccessToken(token) {
			return s.authenticateToken(r.Context(), token)
		}
	} else if c, err := r.Cookie(CookieName); err == nil {
		token = c.Value
		viaCookie = true
	} else {
		return session{}, errUnauthorized
	}
	if viaCookie && !safeMethod(r.Method) && !sameOrigin(r, s.secure(r)) {
		return session{}, errCrossOrigin
	}
	if len(token) != tokenLen {
		return session{}, errUnauthorized
	}
	hash := TokenHash(token)
	now := s.now()
	nick, expiresAt, cached := "", time.Time{}, false
	if e, ok := s.sessions.get(hash, now); ok {
		nick, expiresAt, cached = e.nick, e.expiresAt, true
	} else {
		epoch := s.sessions.epoch()
		sess, err := s.st.Session(r.Context(), hash)
		if errors.Is(err, store.ErrNotFound) {
			return session{}, errUnauthorized
		}
		if err != nil {
			return session{}, fmt.Errorf("look up session: %w", err)
		}
		nick, expiresAt = sess.Nick, sess.ExpiresAt
		s.sessions.put(hash, nick, expiresAt, now, epoch)
	}
	if !expiresAt.After(now) {
		s.sessions.drop(hash)
		return session{}, errUnauthorized
	}
	// The same throttle with or without the cache: the cache learns the
	// new expiry, so its next hits do not extend again.
	ttl := s.cfg.SessionTTL
	if expiresAt.Before(now.Add(ttl - ttl/30)) {
		exp := now.Add(ttl)
		switch err := s.st.ExtendSession(r.Context(), hash, exp); {
		case errors.Is(err, store.ErrNotFound) && cached:
			// Revoked elsewhere since it was cached: it ends now.
			s.sessions.drop(hash)
			return session{}, errUnauthorized
		case err != nil:
			s.log.Warn("extend session", "nick", nick, "err", err)
		default:
			s.sessions.extended(hash, exp)
			if viaCookie {
				s.setCookie(w, r, token, exp)
			}
		}
	}
	return session{Nick: nick, TokenHash: hash, ViaCookie: viaCookie}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether the request's Origin is this server's own:
// the scheme it was reached by and its Host.
func sameOrigin(r *http.Request, secure bool) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, token string, exp time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(time.Until(exp) / time.Second),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// secure reports whether the client reached us over HTTPS: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || s.limits.forwardedTLS(r)
}

// handleLogin is POST /api/session: log in, or register an unknown nick when
// registration is open. An unknown nick costs the same time as a wrong
// password and gets the same answer.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var c chat.Credentials
	if err := s.decodeJSON(w, r, &c); err != nil {
		return err
	}
	if err := chat.ValidateNick(c.Nick); err != nil {
		return err
	}
	if err := chat.ValidatePassword(c.Password); err != nil {
		return err
	}
	attempt, err := s.limits.allowLogin(r, c.Nick)
	if err != nil {
		return err
	}
	defer attempt.end()
	ctx := r.Context()
	status := http.StatusOK
	acct, err := s.st.Account(ctx, c.Nick)
	switch {
	case errors.Is(err, store.ErrNotFound) && s.cfg.Registration == RegistrationOpen:
		if err := s.limits.allowRegistration(r); err != nil {
			return err
		}
		hash, err := s.hash(ctx, c.Password)
		if err != nil {
			return err
		}
		acct = store.Account{Nick: c.Nick, PasswordHash: hash, Created: time.Now().UTC()}
		switch err := s.st.CreateAccount(ctx, acct); {
		case err == nil:
			status = http.StatusCreated
		case errors.Is(err, store.ErrExists):
			// Registered a moment ago by someone else: check against it.
			if acct, err = s.st.Account(ctx, c.Nick); err != nil {
				return fmt.Errorf("read account: %w", err)
			}
			if err := s.checkPassword(ctx, attempt, acct, c); err != nil {
				return err
			}
		default:
			return fmt.Errorf("create account: %w", err)
		}
	case errors.Is(err, store.ErrNotFound):
		_, _ = s.verify(ctx, s.dummyHash, c.Password)
		attempt.fail()
		return s.badCredentials()
	case err != nil:
		return fmt.Errorf("read account: %w", err)
	default:
		if err := s.checkPassword(ctx, attempt, acct, c); err != nil {
			return err
		}
	}

	token := randomToken()
	now := time.Now().UTC()
	sess := store.Session{TokenHash: TokenHash(token), Nick: acct.Nick, Created: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	s.setCookie(w, r, token, sess.ExpiresAt)
	writeJSON(w, status, chat.SessionInfo{Token: token, Nick: acct.Nick, ExpiresAt: sess.ExpiresAt})
	return nil
}

func (s *Server) checkPassword(ctx context.Context, attempt *loginAttempt, acct store.Account, c chat.Credentials) error {
	ok, err := s.verify(ctx, acct.PasswordHash, c.Password)
	if err != nil {
		s.log.Error("verify password", "nick", acct.Nick, "err", err)
		return s.badCredentials()
	}
	if !ok {
		attempt.fail()
		return s.badCredentials()
	}
	return nil
}

// badCredentials is the refusal of a login whose nick and password do not
// match an account. It is the same whether or not the nick exists; with
// closed registration it also says that an unknown nick is not registered.
func (s *Server) badCredentials() *errHTTP {
	if s.cfg.Registration == RegistrationClosed {
		return errBadCredsClosed
	}
	return errBadCreds
}

// hash and verify run the password hash with bounded concurrency: each run
// takes Config.Password.MemoryKiB of memory.
func (s *Server) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquireHash(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashSem }()
	return hashPassword(s.cfg.Password, password)
}

func (s *Server) verify(ctx context.Context, hash, password string) (bool, error) {
	if err := s.acquireHash(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashSem }()
	return verifyPassword(hash, password)
}

func (s *Server) acquireHash(ctx context.Context) error {
	select {
	case s.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handleLogout is DELETE /api/session: the token stops working at once and
// the session's open streams here end. A personal access token is not a
// session: it is revoked with DELETE /api/me/tokens/{id}.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	if err := loginOnly(sess); err != nil {
		return err
	}
	err := s.st.DeleteSession(r.Context(), sess.TokenHash)
	// Forgotten whatever the store said: a logout never leaves the token
	// working from the cache.
	s.sessions.drop(sess.TokenHash)
	// Its streams here end now, not at the next revocation sweep.
	s.open.end(sessionStreamsKey(sess.TokenHash), nil, nil)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleMe is GET /api/me.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, chat.Me{Nick: sessionFrom(r.Context()).Nick})
	return nil
}
