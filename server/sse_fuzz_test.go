package server

// The SSE encoding read back by a real SSE client (r3labs/sse, what the Go
// client uses) and by the line rules every browser follows: whatever a user
// wrote comes back unchanged and can never add a field or an event.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/r3labs/sse/v2"

	"github.com/ssechat/chat/chat"
	chatsse "github.com/ssechat/chat/internal/sse"
	"github.com/ssechat/chat/internal/sse/ssetest"
)

// readWithR3labs returns the events an r3labs/sse client delivers for
// stream, minus those with empty data.
func readWithR3labs(t *testing.T, stream []byte) []*sse.Event {
	t.Helper()
	got, err := ssetest.ReadR3labs(stream)
	if err != nil {
		t.Fatalf("r3labs/sse could not read the stream %q: %v", stream, err)
	}
	return got
}

// readWithStandard reads stream by the HTML standard's event stream rules
// (internal/sse) and returns the events a browser would fire.
func readWithStandard(t *testing.T, stream []byte) []ssetest.Event {
	t.Helper()
	got, err := ssetest.ReadStandard(stream, 4096)
	if err != nil {
		t.Fatalf("read %q: %v", stream, err)
	}
	return got
}

// checkBrowserLines checks a frame against the event-stream line rules of the
// HTML standard: CR, LF and CRLF all end a line, a blank line ends an event.
// The frame must be exactly the wanted field lines and one blank line.
func checkBrowserLines(t *testing.T, frame []byte, fields ...string) {
	t.Helper()
	if bytes.IndexByte(frame, '\r') >= 0 {
		t.Fatalf("frame holds a carriage return, which ends a line: %q", frame)
	}
	lines := strings.Split(strings.TrimSuffix(string(frame), "\n\n"), "\n")
	if !strings.HasSuffix(string(frame), "\n\n") || len(lines) != len(fields) {
		t.Fatalf("frame %q: want exactly the lines %q and a blank line", frame, fields)
	}
	for i, f := range fields {
		if !strings.HasPrefix(lines[i], f+": ") {
			t.Fatalf("frame %q: line %d is %q, want field %q", frame, i, lines[i], f)
		}
	}
}

func FuzzSSEFrame(f *testing.F) {
	f.Add(uint64(42), uint64(0), false, "alice", "hi", "c-1", "bob")
	f.Add(uint64(1700000000000), uint64(3), true, "a", "two\nlines", "", "b")
	f.Add(uint64(1), uint64(0), false, "n", "data: x\n\nevent: evil\nid: 999\n\n", "x", "event: welcome")
	f.Add(uint64(7), uint64(0), false, "n", "cr\rlf\r\ncrlf\u2028ls\u2029ps\u0085nel", "", "n")
	f.Add(uint64(8), uint64(0), false, "n\n", "\xff\xfe invalid", "id\n", "\r\r")
	f.Add(uint64(9), uint64(0), false, "n", "\ufeffbom first", "", "n")
	f.Add(uint64(11), uint64(2), true, "\u00ad\u200b", "\x01\x7f\u00ad\ufffe\U0001F600\u202e bidi", "c\u2028", "\u0085")
	f.Add(uint64(10), uint64(1), true, "n", ": comment\nretry: 1", "", ":x")
	f.Add(uint64(18446744073709551615), uint64(18446744073709551615), true, "n", "<script>\"\\'&", "", "n")
	f.Fuzz(func(t *testing.T, major, minor uint64, redis bool, nick, text, clientID, typist string) {
		id := strconv.FormatUint(major, 10)
		if redis {
			id += "-" + strconv.FormatUint(minor, 10)
		}
		ts := time.Date(2026, 11, 23, 8, 0, 0, int(minor%1e9), time.UTC)
		m1 := chat.Message{ID: id, Room: "general", Nick: nick, Kind: chat.KindText, Text: text, ClientID: clientID, TS: ts}
		m2 := m1
		m2.ID, m2.Kind, m2.Text = strconv.FormatUint(major^1, 10), chat.KindAction, text+text
		if redis {
			m2.ID = strconv.FormatUint(major, 10) + "-" + strconv.FormatUint(minor/10, 10)
		}

		f1, err := messageFrame(&m1)
		if err != nil {
			t.Fatalf("encode %+v: %v", m1, err)
		}
		f2, err := messageFrame(&m2)
		if err != nil {
			t.Fatalf("encode %+v: %v", m2, err)
		}
		typing := chat.Typing{Room: "general", Nick: typist}
		ft, err := ephemeralFrame(chat.EventTyping, typing)
		if err != nil {
			t.Fatal(err)
		}
		checkBrowserLines(t, f1.Data, "id", "event", "data")
		checkBrowserLines(t, f2.Data, "id", "event", "data")
		checkBrowserLines(t, ft.Data, "event", "data")

		var stream []byte
		stream = append(stream, "retry: 2000\n"...)
		stream = append(stream, f1.Data...)
		stream = append(stream, chatsse.Ping...)
		stream = append(stream, ft.Data...)
		stream = append(stream, f2.Data...)
		stream = append(stream, chatsse.Ping...)

		got := readWithR3labs(t, stream)
		if len(got) != 3 {
			t.Fatalf("stream %q gave %d events, want 3", stream, len(got))
		}
		// The browser's rules (internal/sse follows the HTML standard)
		// read the same events, data and ids as r3labs.
		browser := readWithStandard(t, stream)
		if len(browser) != len(got) {
			t.Fatalf("stream %q: %d events by the standard's rules, %d by r3labs", stream, len(browser), len(got))
		}
		for i, e := range got {
			if b := browser[i]; b.Type != string(e.Event) || b.Data != string(e.Data) || b.LastID != string(e.ID) {
				t.Fatalf("event %d read by the standard's rules as %+v, by r3labs as %q %q %q", i, b, e.Event, e.Data, e.ID)
			}
		}
		wantEvents := []string{chat.EventMessage, chat.EventTyping, chat.EventMessage}
		wantIDs := []string{m1.ID, m1.ID, m2.ID} // an event without id: keeps the last one
		for i, e := range got {
			if string(e.Event) != wantEvents[i] || string(e.ID) != wantIDs[i] {
				t.Fatalf("event %d is %q id %q, want %q id %q", i, e.Event, e.ID, wantEvents[i], wantIDs[i])
			}
		}
		var back1, back2 chat.Message
		var backT chat.Typing
		for i, dst := range []any{&back1, &backT, &back2} {
			dec := json.NewDecoder(bytes.NewReader(got[i].Data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(dst); err != nil {
				t.Fatalf("event %d data %q is not the JSON sent: %v", i, got[i].Data, err)
			}
		}
		// Valid UTF-8 survives byte for byte; invalid bytes arrive as U+FFFD,
		// exactly as encoding/json documents.
		want1, want2, wantT := m1, m2, typing
		for _, p := range []*string{&want1.Nick, &want1.Text, &want1.ClientID, &want2.Nick, &want2.Text, &want2.ClientID, &wantT.Nick} {
			*p = coerceUTF8(*p)
		}
		if !back1.TS.Equal(ts) || !back2.TS.Equal(ts) {
			t.Fatalf("timestamps came back as %v and %v, want %v", back1.TS, back2.TS, ts)
		}
		back1.TS, back2.TS, want1.TS, want2.TS = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if back1 != want1 || back2 != want2 || backT != wantT {
			t.Fatalf("read back\n %+v\n %+v\n %+v\nwant\n %+v\n %+v\n %+v", back1, backT, back2, want1, wantT, want2)
		}
		if utf8.ValidString(text) && back1.Text != text {
			t.Fatalf("valid text %q came back as %q", text, back1.Text)
		}
	})
}

// coerceUTF8 replaces each invalid byte with U+FFFD, as encoding/json does.
func coerceUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte, n == 1
		i += n
	}
	return b.String()
}
