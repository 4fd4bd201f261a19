package servertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/ssechat/chat/chat"
)

// Password is the password Login uses for nick.
func Password(nick string) string { return "pw-" + nick + "-secret" }

// Response is a finished HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test if it is not JSON.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode answer %d %q: %v", r.Status, r.Body, err)
	}
}

// Error returns the code of a JSON error body, or "" if the body is not one.
func (r *Response) Error() chat.ErrorDetail {
	var eb chat.ErrorBody
	_ = json.Unmarshal(r.Body, &eb)
	return eb.Error
}

// Do sends a request to the server with a Bearer token (when token is not
// empty) and a JSON body (when body is not nil: a []byte or string is sent
// as it is, anything else is marshalled). It fails the test only when the
// request cannot be made at all.
func (s *Server) Do(t testing.TB, method, path, token string, body any, header ...string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("make request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// LoginPassword logs nick in (registering it when registration is open) and
// returns the answer.
func (s *Server) LoginPassword(t testing.TB, nick, password string) *Response {
	t.Helper()
	return s.Do(t, http.MethodPost, "/api/session", "", chat.Credentials{Nick: nick, Password: password})
}

// Login logs nick in with Password(nick), registering it if needed, and
// returns the session token. It fails the test unless the answer is 200 or
// 201.
func (s *Server) Login(t testing.TB, nick string) string {
	t.Helper()
	r := s.LoginPassword(t, nick, Password(nick))
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("log in %s: %d %s", nick, r.Status, r.Body)
	}
	var info chat.SessionInfo
	r.Decode(t, &info)
	return info.Token
}

// Post posts text to room and returns the stored message; it fails the test
// unless the answer is 201.
func (s *Server) Post(t testing.TB, token, room, text string) chat.Message {
	t.Helper()
	return s.PostMessage(t, token, room, chat.PostMessage{Text: text})
}

// PostMessage posts m to room and returns the stored message; it fails the
// test unless the answer is 201 or 200 (a repeated client_id).
func (s *Server) PostMessage(t testing.TB, token, room string, m chat.PostMessage) chat.Message {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/rooms/"+url.PathEscape(room)+"/messages", token, m)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("post to %s: %d %s", room, r.Status, r.Body)
	}
	var msg chat.Message
	r.Decode(t, &msg)
	return msg
}

// CreateRoom makes sure room exists.
func (s *Server) CreateRoom(t testing.TB, token, room string) {
	t.Helper()
	r := s.Do(t, http.MethodPut, "/api/rooms/"+url.PathEscape(room), token, nil)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("create room %s: %d %s", room, r.Status, r.Body)
	}
}

// History returns one page of room's history.
func (s *Server) History(t testing.TB, token, room string, query url.Values) chat.MessagePage {
	t.Helper()
	path := "/api/rooms/" + url.PathEscape(room) + "/messages"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	r := s.Do(t, http.MethodGet, path, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("history of %s: %d %s", room, r.Status, r.Body)
	}
	var page chat.MessagePage
	r.Decode(t, &page)
	return page
}
