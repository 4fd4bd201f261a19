package chat

// Fuzz targets for everything in this package that reads hostile input.
// Seed corpora live in testdata/fuzz/<Target>/; .ci/run runs each target for
// a few seconds. Run one longer with, for example:
//
//	go test -run '^$' -fuzz '^FuzzTerminalSafe$' -fuzztime 5m ./chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// printable reports whether s holds nothing a terminal would act on: valid
// UTF-8 without controls (newline and tab aside) and without bidi controls.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if IsControl(r) || IsBidiControl(r) {
			return false
		}
	}
	return true
}

// isSubsequence reports whether every rune of sub appears in s in order.
func isSubsequence(sub, s []rune) bool {
	i := 0
	for _, r := range s {
		if i < len(sub) && sub[i] == r {
			i++
		}
	}
	return i == len(sub)
}

func FuzzTerminalSafe(f *testing.F) {
	for _, s := range []string{
		"plain", "日本語 🎉", "a\nb\tc", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07",
		"\x1b]8;;http://x\x1b\\y\x1b]8;;\x1b\\", "\x1bP1;2q\x1b\\", "\u009b31m", "\u009d0;t\u009c",
		"\u202eevil\u202c", "\u2066\u2067\u2068\u2069", "\xff\xfe", "\x1b", "\x1b[", "\x1b]",
		"\x1b]0;\x1b[31m", "\x1b[\u009b", "\r\n", "\x00\x7f\u0085", "\u200f\u061c",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, keep bool) {
		out := TerminalSafe(s, keep)
		if !utf8.ValidString(out) {
			t.Fatalf("TerminalSafe(%q) = %q: not valid UTF-8", s, out)
		}
		for _, r := range out {
			switch {
			case r == '\n' || r == '\t':
				if !keep {
					t.Fatalf("TerminalSafe(%q, false) = %q keeps newline or tab", s, out)
				}
			case IsControl(r): // ESC, C0, DEL, C1 (CSI, OSC, ST ... as one rune)
				t.Fatalf("TerminalSafe(%q, %v) = %q keeps control U+%04X", s, keep, out, r)
			case IsBidiControl(r):
				t.Fatalf("TerminalSafe(%q, %v) = %q keeps bidi control U+%04X", s, keep, out, r)
			}
		}
		if again := TerminalSafe(out, keep); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
		// It only ever removes: the output's runes appear in the input
		// (invalid bytes as U+FFFD, newline and tab as spaces when flattened).
		in := []rune(s)
		if !keep {
			for i, r := range in {
				if r == '\n' || r == '\t' {
					in[i] = ' '
				}
			}
		}
		if !isSubsequence([]rune(out), in) {
			t.Fatalf("TerminalSafe(%q, %v) = %q adds something that was not in the input", s, keep, out)
		}
		// Printable text passes unchanged.
		if printable(s) {
			want := s
			if !keep {
				want = strings.NewReplacer("\n", " ", "\t", " ").Replace(s)
			}
			if out != want {
				t.Fatalf("printable %q became %q, want %q", s, out, want)
			}
		}
	})
}

var idPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)(-(0|[1-9][0-9]*))?$`)

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"0", "1", "42", "1700000000000-3", "5-0", "18446744073709551615",
		"18446744073709551616", "01", "1-", "-1", "1-2-3", " 1", "+1", "１", "0-0", "99999999999999999999-1"} {
		f.Add(s, "7")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		id, err := ParseID(a)
		if err != nil {
			if !errors.Is(err, ErrBadID) {
				t.Fatalf("ParseID(%q) error %v is not ErrBadID", a, err)
			}
			// Only overflow may refuse something of the right shape.
			if idPattern.MatchString(a) && len(a) <= MaxIDLen {
				major, minor, hasMinor := strings.Cut(a, "-")
				_, e1 := strconv.ParseUint(major, 10, 64)
				_, e2 := strconv.ParseUint(minor, 10, 64)
				if e1 == nil && (!hasMinor || e2 == nil) {
					t.Fatalf("ParseID(%q) refused a well-formed id: %v", a, err)
				}
			}
		} else {
			if !idPattern.MatchString(a) || len(a) > MaxIDLen {
				t.Fatalf("ParseID(%q) = %v accepted a malformed id", a, id)
			}
			// The canonical form is the input: no two spellings of one id
			// within one store's form.
			want := strconv.FormatUint(id.Major, 10)
			if strings.Contains(a, "-") {
				want += "-" + strconv.FormatUint(id.Minor, 10)
			}
			if want != a {
				t.Fatalf("ParseID(%q) = %v, which prints as %q", a, id, want)
			}
		}
		// CompareIDs is a consistent order on any strings.
		ab, ba := CompareIDs(a, b), CompareIDs(b, a)
		if ab != -ba || CompareIDs(a, a) != 0 {
			t.Fatalf("CompareIDs(%q, %q) = %d but reversed %d", a, b, ab, ba)
		}
		if idB, errB := ParseID(b); err == nil && errB == nil && ab != id.Compare(idB) {
			t.Fatalf("CompareIDs(%q, %q) = %d, ID.Compare says %d", a, b, ab, id.Compare(idB))
		}
	})
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"hi", "  hi\n", "a\nb\tc", "日本語", "\u202eevil", "", " \n\t ",
		"a\x00b", "a\x1b[31m", "a\rb", "a\r\nb\r", "a\u0085b", "\xff", "\u00a0x\u3000", "\ufeffbom", "\u2028"} {
		f.Add(s)
	}
	f.Add(strings.Repeat("é", MaxTextLen+1))
	codes := map[string]bool{"text_empty": true, "text_too_long": true, "text_control_char": true, "text_invalid_utf8": true}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeText(s)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "text" || !codes[ve.Code] || ve.Message == "" {
				t.Fatalf("NormalizeText(%q) error %#v: want a ValidationError on text with a known code", s, err)
			}
			if out != "" {
				t.Fatalf("NormalizeText(%q) returned %q with an error", s, out)
			}
			return
		}
		n := utf8.RuneCountInString(out)
		if !utf8.ValidString(out) || n < 1 || n > MaxTextLen {
			t.Fatalf("NormalizeText(%q) = %q: invalid or %d characters", s, out, n)
		}
		if strings.TrimSpace(out) != out || !strings.Contains(NormalizeNewlines(s), out) || strings.Contains(out, "\r") {
			t.Fatalf("NormalizeText(%q) = %q: not the trimmed input", s, out)
		}
		if r, ok := firstControl(out, true); ok {
			t.Fatalf("NormalizeText(%q) = %q keeps control U+%04X", s, out, r)
		}
		if again, err := NormalizeText(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, out, again, err)
		}
		// Stored text travels as one JSON line (SSE data) and comes back whole.
		b, err := json.Marshal(Message{ID: "1", Room: "r", Nick: "n", Kind: KindText, Text: out})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(b, "\r\n") || bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u2029")) {
			t.Fatalf("JSON of %q is not one line: %q", out, b)
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil || m.Text != out {
			t.Fatalf("JSON round trip of %q gave %q, %v", out, m.Text, err)
		}
	})
}

// FuzzValidateFields checks every name rule against its specification,
// written a second way.
func FuzzValidateFields(f *testing.F) {
	f.Add("alice", "general", "abc-DEF_1", "Plans", "text", "password1")
	f.Add("", "", "", "", "", "")
	f.Add("a\u202eb", "Room", "a b", "a\nb", "html", "short")
	f.Add(strings.Repeat("n", 33), strings.Repeat("r", 65), strings.Repeat("c", 65), strings.Repeat("t", 257), "action", strings.Repeat("p", 257))
	f.Add("é", "_x", "..", "\u2066x", "TEXT", "\xff\xff\xff\xff\xff\xff\xff\xff")
	nickRE := regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	roomRE := regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	clientRE := regexp.MustCompile(`^[A-Za-z0-9_-]{0,64}$`)
	f.Fuzz(func(t *testing.T, nick, room, clientID, topic, kind, password string) {
		check := func(name, input string, err error, wantOK bool, wantCode string) {
			t.Helper()
			if wantOK != (err == nil) {
				t.Fatalf("%s(%q) = %v; want ok=%v", name, input, err, wantOK)
			}
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Code != wantCode || ve.Message == "" {
					t.Fatalf("%s(%q) error %#v; want code %s", name, input, err, wantCode)
				}
			}
		}
		check("ValidateNick", nick, ValidateNick(nick), nickRE.MatchString(nick), "bad_nick")
		check("ValidateRoom", room, ValidateRoom(room), roomRE.MatchString(room), "bad_room")
		check("ValidateClientID", clientID, ValidateClientID(clientID), clientRE.MatchString(clientID), "bad_client_id")
		check("ValidateKind", kind, ValidateKind(kind), kind == "" || kind == "text" || kind == "action", "bad_kind")
		topicOK := utf8.ValidString(topic) && utf8.RuneCountInString(topic) <= MaxTopicLen &&
			!strings.ContainsFunc(topic, func(r rune) bool { return IsControl(r) || IsBidiControl(r) })
		check("ValidateTopic", topic, ValidateTopic(topic), topicOK, "bad_topic")
		pwOK := len(password) >= 8 && len(password) <= 256 && utf8.ValidString(password)
		check("ValidatePassword", password, ValidatePassword(password), pwOK, "bad_password")
		if NickKey(nick) != NickKey(strings.ToUpper(nick)) && nickRE.MatchString(nick) {
			t.Fatalf("NickKey(%q) depends on case", nick)
		}
	})
}

// FuzzDecodePostMessage decodes a request body the way the server does
// (unknown fields refused) and validates it: whatever is accepted must be a
// message the protocol allows, and nothing may panic.
func FuzzDecodePostMessage(f *testing.F) {
	for _, s := range []string{
		`{"text":"hi","kind":"text","client_id":"abc"}`, `{"text":"hi"}`, `{"text":"hi","extra":1}`,
		`{"text":1}`, `{"text":"hi"`, `[]`, `null`, `{"text":"\u0000"}`, `{"text":"\ud800"}`,
		`{"text":"a","text":"b"}`, `{"TEXT":"x"}`, "{\"text\":\"\xff\"}", `{"kind":"action","text":"waves"}`,
		`{"text":"hi"} {"text":"again"}`, `{"client_id":"` + strings.Repeat("x", 65) + `","text":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var pm PostMessage
		if err := dec.Decode(&pm); err != nil {
			return
		}
		text, err := NormalizeText(pm.Text)
		if err != nil {
			return
		}
		if ValidateKind(pm.Kind) != nil || ValidateClientID(pm.ClientID) != nil {
			return
		}
		if !utf8.ValidString(text) || text == "" || strings.ContainsFunc(text, func(r rune) bool {
			return r != '\n' && r != '\t' && IsControl(r)
		}) {
			t.Fatalf("accepted text %q from %q", text, body)
		}
		if !clientIDOK(pm.ClientID) {
			t.Fatalf("accepted client_id %q from %q", pm.ClientID, body)
		}
	})
}

func clientIDOK(s string) bool {
	if len(s) > MaxClientIDLen {
		return false
	}
	for _, c := range []byte(s) {
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// TestFuzzSeedCorpora makes sure the checked-in corpora are there; go test
// runs every file in them as a test case, so a malformed one fails too.
func TestFuzzSeedCorpora(t *testing.T) {
	for _, name := range []string{"FuzzTerminalSafe", "FuzzParseID", "FuzzNormalizeText", "FuzzValidateFields", "FuzzDecodePostMessage"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", name))
		if err != nil || len(entries) == 0 {
			t.Errorf("no seed corpus in testdata/fuzz/%s: %v", name, err)
		}
	}
}
