package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/servertest"
)

// FuzzPostMessageBody posts arbitrary bodies to a running server and checks
// each answer against the protocol, worked out here on its own: a body that
// is not one strict JSON object of the message fields is 400 (413 when too
// big, 422 text_invalid_utf8 for bad UTF-8), a message that breaks a rule is
// 422 with that rule's code, anything else is stored exactly as normalized.
// Never a 5xx.
func FuzzPostMessageBody(f *testing.F) {
	srv := servertest.Start(f)
	tok := srv.Login(f, "alice")
	for _, s := range []string{
		`{"text":"hi"}`, `{"text":"hi","kind":"action","client_id":"c-1"}`, `{"text":"hi","client_id":"c-1"}`,
		`{"text":" spaced \n"}`, `{"Text":"case"}`, `{"text":"a","text":"b"}`, `{"text":"x","extra":1}`,
		`{"text":5}`, `null`, `{}`, `[]`, `{"text":"\u0000"}`, `{"text":"\ud800"}`, "{\"text\":\"\xff\"}",
		`{"text":"x"} {}`, `{"text":"x"}   `, `{"text":"\u202e"}`, `{"kind":"html","text":"x"}`,
		`{"text":"x","client_id":"` + strings.Repeat("c", 65) + `"}`, `{"text":"` + strings.Repeat("é", 4001) + `"}`,
		`{"text":"lower","TEXT":"upper"}`, `{"TEXT":"upper"}`, `{"text":"a","t\u0065xt":"b"}`, `{"t\u0065xt":"escaped"}`,
		`{"text":"x","kind":"text","kind":"action"}`, `{"text":"x","Client_ID":"c"}`, `{"text":"x","client_id":"c","client_id":"c"}`,
		`{"text":{"a":1,"a":2}}`, `{"text":"x","":1}`, `{"text":"x"`, `{"text" "x"}`,
	} {
		f.Add([]byte(s))
	}
	path := srv.URL + "/api/rooms/general/messages"
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatalf("POST %q: %v", body, err)
		}
		r := readResponse(t, resp)
		if r.Status >= 500 {
			t.Fatalf("POST %q = %d %s", body, r.Status, r.Body)
		}

		status, code, want := expectedPost(body, srv.Config.MaxBodyBytes)
		switch {
		case status == http.StatusCreated:
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("POST %q = %d %s; want 201 (or 200 for a repeated client_id)", body, r.Status, r.Body)
			}
			var m chat.Message
			r.Decode(t, &m)
			if m.Nick != "alice" || m.ClientID != want.ClientID || m.Room != "general" {
				t.Fatalf("POST %q stored %+v", body, m)
			}
			if r.Status == http.StatusCreated && (m.Text != want.Text || m.Kind != want.Kind) {
				t.Fatalf("POST %q stored text %q kind %q; want %q %q", body, m.Text, m.Kind, want.Text, want.Kind)
			}
		default:
			if r.Status != status || (code != "" && r.Error().Code != code) || r.Error().Code == "" {
				t.Fatalf("POST %q = %d %s; want %d %s", body, r.Status, r.Body, status, code)
			}
		}
	})
}

// expectedPost works out the answer to a message body from PROTOCOL.md and
// docs/api.md. code "" means any code (the 400s name the field in ways this
// oracle does not repeat).
func expectedPost(body []byte, maxBody int64) (status int, code string, want chat.Message) {
	if int64(len(body)) > maxBody {
		return http.StatusRequestEntityTooLarge, "body_too_large", want
	}
	if !utf8.Valid(body) {
		return http.StatusUnprocessableEntity, "text_invalid_utf8", want
	}
	if !exactKeys(body) {
		return http.StatusBadRequest, "", want
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var pm chat.PostMessage
	if err := dec.Decode(&pm); err != nil {
		return http.StatusBadRequest, "", want
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return http.StatusBadRequest, "bad_json", want
	}
	text, err := chat.NormalizeText(pm.Text)
	if err == nil {
		err = chat.ValidateKind(pm.Kind)
	}
	if err == nil {
		err = chat.ValidateClientID(pm.ClientID)
	}
	var ve *chat.ValidationError
	if errors.As(err, &ve) {
		return http.StatusUnprocessableEntity, ve.Code, want
	}
	kind := pm.Kind
	if kind == "" {
		kind = chat.KindText
	}
	return http.StatusCreated, "", chat.Message{Text: text, Kind: kind, ClientID: pm.ClientID}
}

// exactKeys reports whether body, if it is a JSON object, names each of its
// keys once and only as PostMessage's json tags spell them (keys are
// compared after unescaping, as JSON defines them). Anything that is not a
// well-formed object is left to the decoder.
func exactKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return true
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		key, _ := tok.(string)
		if seen[key] || (key != "text" && key != "kind" && key != "client_id") {
			return false
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return true
		}
	}
	return true
}
