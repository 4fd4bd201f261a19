package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// bodyDeadline gives every request body Config.BodyTimeout to arrive,
// counted from the moment its headers are read, whatever the handler does
// with it. Without it net/http waits for a body it has to discard (after a
// 401, a 404, /healthz ...) for as long as the client likes before it sends
// the answer, so a client announcing a body and never sending it held its
// connection, and its place under MaxConns, forever. When the deadline
// passes first, net/http's discard fails and it sends the answer with
// Connection: close; a body read to its end clears the deadline at once,
// because net/http then starts watching the connection and an expired
// deadline there would cancel the request.
//
// Requests without a body get no deadline, so event streams are untouched;
// a stream whose request does announce a body lets go of the deadline when
// it takes the connection over (detach).
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err != nil {
			next.ServeHTTP(w, r) // not a connection of ours (a test's recorder)
			return
		}
		// A shallow copy carries the wrapped body, so that net/http, which
		// keeps the original request, still sees its own body type when it
		// decides after the handler whether the connection can be reused.
		r2 := r.WithContext(r.Context())
		r2.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		next.ServeHTTP(w, r2)
	})
}

// deadlineBody clears the connection's read deadline once the body has been
// read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	cleared bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.cleared {
		b.cleared = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// checkKeys makes the keys of the JSON value in body exact, as dst's json
// tags spell them: encoding/json matches keys without regard to case
// ({"TEXT":"x"} fills text) and keeps the last of duplicate keys, both of
// which let two readers of one body disagree. A key that names a field only
// in another case is an unknown field (400 unknown_field), a key given twice
// in one object is 400 duplicate_field, at every level of nesting. As with
// encoding/json, a syntax error anywhere in the value wins over a bad key;
// type mismatches are left to the decoding that follows. (encoding/json/v2,
// strict about both, needs GOEXPERIMENT=jsonv2 in Go 1.26.)
func checkKeys(body []byte, dst any) error {
	w := keyWalk{dec: json.NewDecoder(bytes.NewReader(body))}
	w.dec.UseNumber() // numbers stay text: nothing is converted for nothing
	if err := w.value(reflect.TypeOf(dst)); err != nil {
		return jsonError(err)
	}
	return w.bad
}

// keyWalk reads one JSON value token by token beside the Go type it will
// be decoded into. bad is the first bad key; the walk goes on to the end of
// the value so that a syntax error after it is reported instead.
type keyWalk struct {
	dec *json.Decoder
	bad error
}

// value reads one value; t, when not nil, is the Go type it is decoded
// into, whose fields the keys must name.
func (w *keyWalk) value(t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return w.object(t)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for w.dec.More() {
			if err := w.value(elem); err != nil {
				return err
			}
		}
		_, err := w.dec.Token() // ']'
		return err
	}
	return nil
}

func (w *keyWalk) object(t reflect.Type) error {
	var fields map[string]reflect.Type // nil: any key goes (a map, an interface, a mismatch)
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	var seen []string // the objects of requests hold a handful of keys
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if slices.Contains(seen, key) && w.bad == nil {
			w.bad = errDuplicateField.with("The field %q appears more than once.", key)
		}
		seen = append(seen, key)
		next := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok && w.bad == nil {
				w.bad = errUnknownField.with("The field %q is not part of this request.", key)
			}
			next = ft
		}
		if err := w.value(next); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

// fieldCache holds jsonFields per struct type (request types are few).
var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields returns the keys encoding/json decodes into t, exactly as
// spelled, with their types; embedded structs' fields are promoted as
// encoding/json promotes them (a field of the outer struct wins).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(m, t, 0)
	fieldCache.Store(t, m)
	return m
}

func addFields(m map[string]reflect.Type, t reflect.Type, depth int) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := m[name]; !ok {
			m[name] = f.Type
		}
	}
	if depth < 8 {
		for _, et := range embedded {
			addFields(m, et, depth+1)
		}
	}
}
