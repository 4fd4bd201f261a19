package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/limit"
	"github.com/ssechat/chat/server/store"
)

// errHTTP is an error with the status and the JSON error body it is answered
// with. Handlers return it (or any error: see writeError). Every code the
// server answers is one of the catalogue's values below; a site that needs
// its own sentence or a Retry-After derives it with with or after, so the
// code and its status are written once and docs/api.md can be checked
// against this list (TestAPIDocNamesEveryErrorCode).
type errHTTP struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration // sent as Retry-After when positive
}

func (e *errHTTP) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// with returns a copy of e whose message is format filled in with args; the
// status and the code stay the catalogue's.
func (e *errHTTP) with(format string, args ...any) *errHTTP {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// after returns a copy of e that tells the client to wait d (Retry-After,
// in whole seconds rounded up, at least 1) before it tries again.
func (e *errHTTP) after(d time.Duration) *errHTTP {
	c := *e
	c.RetryAfter = time.Duration(limit.RetryAfterSeconds(d)) * time.Second
	return &c
}

// The catalogue: every error code the server answers, with its status and
// its usual message. docs/api.md lists the same codes in its table of errors.
var (
	// Requests in general.
	errNotFound         = &errHTTP{Status: http.StatusNotFound, Code: "not_found", Message: "No such endpoint."}
	errMethodNotAllowed = &errHTTP{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "This endpoint does not answer that method."}
	errInternal         = &errHTTP{Status: http.StatusInternalServerError, Code: "internal", Message: "Something went wrong on the server; it has been logged."}
	errShuttingDown     = &errHTTP{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "The server is shutting down; try again shortly.", RetryAfter: 5 * time.Second}
	errStoreDown        = &errHTTP{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "The server cannot reach its storage; try again shortly.", RetryAfter: 5 * time.Second}

	// Request bodies.
	errUnsupportedCT = &errHTTP{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Send the body as JSON with Content-Type: application/json."}
	errBodyTooLarge  = &errHTTP{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "The body is too large."}
	errBodyTimeout   = &errHTTP{Status: http.StatusRequestTimeout, Code: "body_timeout", Message: "The body took too long to arrive."}
	errBadJSON       = &errHTTP{Status: http.StatusBadRequest, Code: "bad_json", Message: "The body could not be read as JSON."}
	errBodyNotUTF8   = errBadJSON.with("The body is not valid UTF-8.")
	errUnknownField  = &errHTTP{Status: http.StatusBadRequest, Code: "unknown_field", Message: "The body holds a field that is not part of this request."}
	// errDuplicateField answers a key given twice in one object (checkKeys).
	errDuplicateField = &errHTTP{Status: http.StatusBadRequest, Code: "duplicate_field", Message: "The body names a field more than once."}
	// errBadFraming answers a request with both Content-Length and
	// Transfer-Encoding (framing.go).
	errBadFraming = &errHTTP{Status: http.StatusBadRequest, Code: "bad_framing", Message: "The request has both Content-Length and Transfer-Encoding; send one of them."}
	// errTextNotUTF8 answers a message whose body is not UTF-8 as text
	// validation would (chat's text_invalid_utf8): the text is a message's
	// only free-form field.
	errTextNotUTF8 = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "text_invalid_utf8", Message: "The text is not valid UTF-8."}

	// Sessions.
	errUnauthorized = &errHTTP{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Log in first: send Authorization: Bearer <token> or the chat_session cookie."}
	errBadCreds     = &errHTTP{Status: http.StatusUnauthorized, Code: "bad_credentials", Message: "The nick or the password is wrong."}
	// errBadCredsClosed is bad_credentials on a server with closed
	// registration, where an unknown nick is refused too. It names both
	// causes, so it says nothing about whether the nick exists, and tells
	// a newcomer that logging in will not make an account.
	errBadCredsClosed = errBadCreds.with("Unknown nick or wrong password. This server does not create accounts at login; ask its operator for one.")
	errCrossOrigin    = &errHTTP{Status: http.StatusForbidden, Code: "cross_origin", Message: "A request authenticated by cookie must come from this server's own page (Origin header)."}

	// Rooms, history and streams.
	errTokenNotFound     = &errHTTP{Status: http.StatusNotFound, Code: "token_not_found", Message: "You have no token of that id."}
	errTokenForbidden    = &errHTTP{Status: http.StatusForbidden, Code: "token_forbidden", Message: "A personal access token may not do this; use a login."}
	errBadTokenName      = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "bad_token_name", Message: "A token's name is 1 to 64 characters, without control characters."}
	errTooManyTokenRooms = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "too_many_token_rooms", Message: "A token may be limited to at most 100 rooms."}
	errHookNotFound      = &errHTTP{Status: http.StatusNotFound, Code: "hook_not_found", Message: "No hook of that id, or not with that secret."}
	errBadHookName       = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "bad_hook_name", Message: "A hook's name is the nick of its messages: 1 to 32 of A-Z a-z 0-9 _ - ."}
	errHookMediaType     = &errHTTP{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Send a hook's body as application/json, application/x-www-form-urlencoded (payload=) or text/plain."}
	errRoomNotFound      = &errHTTP{Status: http.StatusNotFound, Code: "room_not_found", Message: "No room of that name; create it with PUT /api/rooms/{room}."}
	errBadQuery          = &errHTTP{Status: http.StatusBadRequest, Code: "bad_query", Message: "The query is not one this endpoint answers."}
	// errBadSearch refuses a search query (q empty, over 256 characters,
	// or with no word in it) as the protocol asks: 422, unlike a bad
	// history query.
	errBadSearch      = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "bad_query", Message: "Search for 1 to 256 characters holding at least one word."}
	errBadLastEventID = &errHTTP{Status: http.StatusBadRequest, Code: "bad_last_event_id", Message: "The resume point is not a message id of this server."}

	// Membership (access.go, membership.go).
	errRoomKindFixed = &errHTTP{Status: http.StatusConflict, Code: "room_kind_fixed", Message: "A room's kind is fixed when it is created."}
	errRoomNameTaken = &errHTTP{Status: http.StatusConflict, Code: "room_name_taken", Message: "That room name is taken; choose another."}
	errNotAllowed    = &errHTTP{Status: http.StatusForbidden, Code: "not_allowed", Message: "You may not do that in this room."}
	errUserNotFound  = &errHTTP{Status: http.StatusNotFound, Code: "user_not_found", Message: "No account of that nick."}
	errTooManyRooms  = &errHTTP{Status: http.StatusForbidden, Code: "too_many_rooms", Message: "You own as many rooms as an account may; delete one first."}
	errBadRoomKind   = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "bad_room_kind", Message: "A room's kind is public or private."}
	errBadRole       = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "bad_role", Message: "A role given to a member is admin or member."}
	errBadNicks      = &errHTTP{Status: http.StatusUnprocessableEntity, Code: "bad_nicks", Message: "A direct conversation names 1 to 7 other accounts."}

	// Limits (limits.go adds the wait with after).
	errRateLimited          = &errHTTP{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "You are sending too fast; wait a moment."}
	errTooManyLogins        = &errHTTP{Status: http.StatusTooManyRequests, Code: "too_many_logins", Message: "Too many failed logins; try again later."}
	errTooManyRegistrations = &errHTTP{Status: http.StatusTooManyRequests, Code: "too_many_registrations", Message: "Too many new accounts from this address; try again later."}
	errTooManyStreams       = &errHTTP{Status: http.StatusTooManyRequests, Code: "too_many_streams", Message: "Too many event streams are open; close one first."}
	// errServerFull is too_many_streams for the process as a whole: a 503,
	// since no client of this one can help it.
	errServerFull = &errHTTP{Status: http.StatusServiceUnavailable, Code: "too_many_streams", Message: "The server has as many open streams as it serves; try again later."}
)

// errBadField answers a body field of the wrong JSON type with the code
// bad_<field>, so a client can tell which field to fix without parsing the
// message.
func errBadField(field, kind string) *errHTTP {
	return &errHTTP{Status: http.StatusBadRequest, Code: "bad_" + field, Message: fmt.Sprintf("The field %q must be a JSON %s.", field, kind)}
}

// errValidation answers a failed rule of package chat (bad_nick,
// text_empty ...): the code is chat's, the status always 422.
func errValidation(ve *chat.ValidationError) *errHTTP {
	return &errHTTP{Status: http.StatusUnprocessableEntity, Code: ve.Code, Message: ve.Message}
}

// handlerFunc is an HTTP handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc: a returned error is rendered by writeError.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError is the one place errors become responses. Anything that is not
// an *errHTTP (or a validation error, or a known store error) is logged and
// answered as a bare 500: internals never reach the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *errHTTP
	var ve *chat.ValidationError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ve):
		he = errValidation(ve)
	case errors.Is(err, store.ErrUnavailable):
		// Debug: during an outage every request fails alike; the store
		// logs the outage itself, once when it starts and once when it ends.
		s.log.Debug("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		he = errStoreDown
	case errors.Is(err, store.ErrClosed):
		he = errShuttingDown
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		return
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		he = errInternal
	}
	if he.RetryAfter > 0 {
		secs := int((he.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, he.Status, chat.ErrorBody{Error: chat.ErrorDetail{Code: he.Code, Message: he.Message}})
}

// writeJSON writes v as the JSON answer with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Our own types always marshal; fail loudly in tests if not.
		panic(fmt.Sprintf("marshal answer: %v", err))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b = append(b, '\n')
	_, _ = w.Write(b)
}

// hasBody reports whether the request carries a body at all.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// decodeJSON reads the request body into dst: it must be JSON (415), within
// MaxBodyBytes (413), one value whose keys are exactly dst's, each once
// (400, see checkKeys). The body has BodyTimeout to arrive (bodyDeadline).
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return errUnsupportedCT
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		// Closing the unfinished body makes net/http close the connection
		// after the answer instead of waiting to discard the rest of a
		// body that may never come; the expired deadline stays.
		_ = r.Body.Close()
		return jsonError(err)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD; refuse it.
	if !utf8.Valid(body) {
		return errBodyNotUTF8
	}
	if err := checkKeys(body, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	// Exactly one value: anything after it but white space is an error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return errBadJSON.with("The body holds more than one JSON value.")
	}
	return nil
}

// jsonError turns a decoding error into the 400 (or 413) naming the fault.
func jsonError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return errBodyTooLarge.with("The body is over %d bytes.", maxErr.Limit)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return errBadJSON.with("The body must be a JSON object.")
		}
		return errBadField(field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return errBadJSON.with("The body is not valid JSON.")
	case errors.Is(err, io.EOF):
		return errBadJSON.with("The body is empty; send a JSON object.")
	}
	// encoding/json reports unknown fields only as text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errUnknownField.with("The field %s is not part of this request.", name)
	}
	var netErr interface{ Timeout() bool }
	if errors.As(err, &netErr) && netErr.Timeout() {
		return errBodyTimeout
	}
	return errBadJSON
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "ptr":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "uint32", "float64":
		return "number"
	}
	return "value of the right type"
}
