package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// newHookID returns a new hook id: 16 lower-case hex digits, so that it is
// its own key in the per-account limiter (which folds case).
func newHookID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hookRateKey is the key of a hook's message bucket. A space never occurs
// in a nick, so a hook never shares an account's bucket.
func hookRateKey(id string) string { return "hook " + id }

// hookURL is where a hook takes messages: this server as the request that
// made it reached it.
func (s *Server) hookURL(r *http.Request, id, secret string) string {
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/hooks/" + id + "/" + secret
}

func hookInfo(h store.Hook, url string) chat.HookInfo {
	return chat.HookInfo{ID: h.ID, Name: h.Name, Room: h.Room, URL: url, Creator: h.Creator, CreatedAt: h.Created}
}

// isManager reports whether an effective role (see manager) manages a
// room.
func isManager(role string) bool { return role == chat.RoleOwner || role == chat.RoleAdmin }

// hookRoom resolves the {room} of a hook endpoint by the one access rule
// and returns the caller's effective role there (see manager). A room the
// caller cannot read is a 404 like any other.
func (s *Server) hookRoom(r *http.Request) (store.Room, string, error) {
	ctx := r.Context()
	nick := sessionFrom(ctx).Nick
	room, role, err := s.roomAccess(ctx, signedIn(nick), r.PathValue("room"))
	if err != nil {
		return store.Room{}, "", err
	}
	role, err = s.manager(ctx, room, nick, role)
	if err != nil {
		return store.Room{}, "", fmt.Errorf("read role: %w", err)
	}
	return room, role, nil
}

// handleCreateHook is POST /api/rooms/{room}/hooks: 201 with the hook's
// URL, whose secret is shown this once. Whoever may post in a public room
// may make one there; a private or direct room's owner or admin.
func (s *Server) handleCreateHook(w http.ResponseWriter, r *http.Request) error {
	sess := sessionFrom(r.Context())
	room, role, err := s.hookRoom(r)
	if err != nil {
		return err
	}
	if room.Kind != chat.KindPublic && !isManager(role) {
		return errNotAllowed
	}
	var req chat.NewHook
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if chat.ValidateNick(req.Name) != nil {
		return errBadHookName
	}
	if err := s.limits.allowPost(r, sess.Nick); err != nil {
		return err
	}
	secret := randomToken()
	h := store.Hook{ID: newHookID(), SecretHash: TokenHash(secret), Room: room.Name, Name: req.Name, Creator: sess.Nick, Created: time.Now().UTC()}
	switch err := s.st.CreateHook(r.Context(), h); {
	case errors.Is(err, store.ErrNotFound):
		return errRoomNotFound
	case err != nil:
		return fmt.Errorf("create hook: %w", err)
	}
	writeJSON(w, http.StatusCreated, hookInfo(h, s.hookURL(r, h.ID, secret)))
	return nil
}

// handleHooks is GET /api/rooms/{room}/hooks: the room's hooks, without
// their URLs.
func (s *Server) handleHooks(w http.ResponseWriter, r *http.Request) error {
	room, _, err := s.hookRoom(r)
	if err != nil {
		return err
	}
	hooks, err := s.st.RoomHooks(r.Context(), room.Name)
	if err != nil {
		return fmt.Errorf("list hooks: %w", err)
	}
	out := chat.HookList{Hooks: make([]chat.HookInfo, 0, len(hooks))}
	for _, h := range hooks {
		out.Hooks = append(out.Hooks, hookInfo(h, ""))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleDeleteHook is DELETE /api/rooms/{room}/hooks/{id}: 204; its URL
// stops working at once. The hook's maker may remove it, and so may the
// room's owner and admins.
func (s *Server) handleDeleteHook(w http.ResponseWriter, r *http.Request) error {
	room, role, err := s.hookRoom(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	h, err := s.st.Hook(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && h.Room != room.Name):
		return errHookNotFound
	case err != nil:
		return fmt.Errorf("read hook: %w", err)
	case !isManager(role) && chat.NickKey(h.Creator) != chat.NickKey(sessionFrom(r.Context()).Nick):
		return errNotAllowed
	}
	switch err := s.st.DeleteHook(r.Context(), room.Name, id); {
	case errors.Is(err, store.ErrNotFound):
		return errHookNotFound
	case err != nil:
		return fmt.Errorf("delete hook: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dummySecretHash is compared against when a hook id is unknown, so that
// an unknown id and a wrong secret cost the same.
var dummySecretHash = TokenHash("no hook has this secret")

// hookOf returns the hook of id if secret is its secret. Whether the id is
// unknown or the secret wrong, the secret is hashed and compared in
// constant time, and the answer is the same 404.
func (s *Server) hookOf(ctx context.Context, id, secret string) (store.Hook, error) {
	h, err := s.st.Hook(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Hook{}, fmt.Errorf("read hook: %w", err)
	}
	want := h.SecretHash
	if err != nil {
		want = dummySecretHash
	}
	got := TokenHash(secret)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || err != nil {
		return store.Hook{}, errHookNotFound
	}
	return h, nil
}

// hookBody is the part of Slack's incoming webhook body the server uses.
// Every other Slack field (blocks, attachments, icon_emoji, channel ...)
// is ignored, not refused, so that tools written for Slack work unchanged.
// Username is read and ignored too: a hook's messages always carry the
// hook's name, so a hook cannot pass itself off as someone else.
type hookBody struct {
	Text     string `json:"text"`
	Username string `json:"username"`
	ClientID string `json:"client_id"`
}

// readHookBody reads a hook's message from JSON (Slack's body),
// form-encoded payload= (JSON, as Slack also takes) or text/plain, within
// the API's body limit.
func (s *Server) readHookBody(w http.ResponseWriter, r *http.Request) (hookBody, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return hookBody{}, errHookMediaType
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		_ = r.Body.Close()
		return hookBody{}, jsonError(err)
	}
	var b hookBody
	switch mt {
	case "text/plain":
		if !utf8.Valid(raw) {
			return hookBody{}, errTextNotUTF8
		}
		b.Text = string(raw)
		return b, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(raw))
		if err != nil || !form.Has("payload") {
			return hookBody{}, errBadJSON.with("A form-encoded hook body holds the message as JSON in its payload field.")
		}
		raw = []byte(form.Get("payload"))
	case "application/json":
	default:
		return hookBody{}, errHookMediaType
	}
	if !utf8.Valid(raw) {
		return hookBody{}, errTextNotUTF8
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return hookBody{}, jsonError(err)
	}
	return b, nil
}

// hookClientID makes the idempotency key of a hook's message from the key
// its sender gave (client_id, else X-Request-Id): hashed with the hook's
// id, so any string the sender uses fits the client_id rules, and two hooks
// of one name never share keys.
func hookClientID(hookID, key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(hookID + "\x00" + key))
	return "hook-" + hex.EncodeToString(sum[:20])
}

// handleHookPost is POST /hooks/{id}/{secret}: outside /api/, with no
// session or cookie. It posts the body's text to the hook's room under the
// hook's name, marked "via": "hook", and answers 200 "ok" (Slack's answer)
// whether the message is new or a repeat of the same key.
func (s *Server) handleHookPost(w http.ResponseWriter, r *http.Request) error {
	if s.shuttingDown() {
		return errShuttingDown
	}
	h, err := s.hookOf(r.Context(), r.PathValue("id"), r.PathValue("secret"))
	if err != nil {
		return err
	}
	body, err := s.readHookBody(w, r)
	if err != nil {
		return err
	}
	text, err := chat.NormalizeText(body.Text)
	if err != nil {
		return err
	}
	key := body.ClientID
	if key == "" {
		key = r.Header.Get("X-Request-Id")
	}
	rateKey := hookRateKey(h.ID)
	if err := s.limits.allowMessage(r, rateKey); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	m := store.NewMessage{Room: h.Room, Nick: h.Name, Kind: chat.KindText, Text: text,
		ClientID: hookClientID(h.ID, key), TS: time.Now().UTC(), Via: chat.ViaHook}
	var created bool
	if s.limits.shared != nil {
		_, created, err = s.limits.shared.AppendLimited(ctx, m, messageKey(rateKey), s.limits.messageBucket())
	} else {
		_, created, err = s.st.Append(ctx, m)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errHookNotFound // the room is gone, and the hook with it
	case errors.Is(err, store.ErrLimited):
		return refusedMessage(err)
	case err != nil:
		return fmt.Errorf("append hook message: %w", err)
	}
	if created {
		s.stats.messageAccepted()
	} else {
		s.stats.messageDuplicate()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
	return nil
}
