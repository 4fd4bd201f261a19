package chat

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	good := map[string]ID{
		"0":                    {0, 0},
		"1":                    {1, 0},
		"42":                   {42, 0},
		"1700000000000-3":      {1700000000000, 3},
		"5-0":                  {5, 0},
		"18446744073709551615": {18446744073709551615, 0},
	}
	for s, want := range good {
		got, err := ParseID(s)
		if err != nil || got != want {
			t.Errorf("ParseID(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := []string{"", "-", "-1", "1-", "01", "1-01", "a", "1.5", " 1", "1 ", "+1", "1-2-3",
		"18446744073709551616", strings.Repeat("9", 50), "１"}
	for _, s := range bad {
		if _, err := ParseID(s); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) error = %v; want ErrBadID", s, err)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	ordered := []string{"1", "2", "10", "1700000000000-0", "1700000000000-1", "1700000000001-0"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := CompareIDs(ordered[i], ordered[j]); got != want {
				t.Errorf("CompareIDs(%q, %q) = %d; want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if CompareIDs("x", "1") != -1 || CompareIDs("1", "x") != 1 {
		t.Error("an invalid id must sort before every valid one")
	}
}

func code(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Code
	}
	if err != nil {
		return "?" + err.Error()
	}
	return ""
}

func TestValidateNick(t *testing.T) {
	for nick, want := range map[string]string{
		"alice": "", "A.b-c_9": "", strings.Repeat("a", 32): "",
		"": "bad_nick", strings.Repeat("a", 33): "bad_nick", "al ice": "bad_nick",
		"élodie": "bad_nick", "a\x00": "bad_nick", "a/b": "bad_nick", "a\u202eb": "bad_nick",
	} {
		if got := code(ValidateNick(nick)); got != want {
			t.Errorf("ValidateNick(%q) = %q; want %q", nick, got, want)
		}
	}
	if NickKey("Alice") != NickKey("aLICE") {
		t.Error("NickKey must ignore case")
	}
}

func TestValidateRoom(t *testing.T) {
	for room, want := range map[string]string{
		"general": "", "0day": "", "a_b-c": "", strings.Repeat("r", 64): "",
		"": "bad_room", "_x": "bad_room", "-x": "bad_room", "General": "bad_room",
		strings.Repeat("r", 65): "bad_room", "a b": "bad_room", "..": "bad_room", "a/b": "bad_room",
	} {
		if got := code(ValidateRoom(room)); got != want {
			t.Errorf("ValidateRoom(%q) = %q; want %q", room, got, want)
		}
	}
}

func TestNormalizeText(t *testing.T) {
	cases := []struct{ in, out, code string }{
		{"hi", "hi", ""},
		{"  hi\n", "hi", ""},
		{"line1\nline2\tx", "line1\nline2\tx", ""},
		{"日本語 🎉", "日本語 🎉", ""},
		{"\u202eevil", "\u202eevil", ""}, // text may hold bidi marks; terminals strip them
		{"", "", "text_empty"},
		{" \n\t ", "", "text_empty"},
		{"a\x00b", "", "text_control_char"},
		{"a\x1b[31mb", "", "text_control_char"},
		{"a\rb", "a\nb", ""},                  // an old Mac's line ending
		{"one\r\ntwo\r\n", "one\ntwo", ""},    // Windows text
		{"a\r\n\r\nb", "a\n\nb", ""},          // a blank line stays one blank line
		{"a\r\rb\n\rc", "a\n\nb\n\nc", ""},    // every lone \r is a line of its own
		{"\r\n\r", "", "text_empty"},          // only line endings
		{"a\r\x00b", "", "text_control_char"}, // other controls are still refused
		// "\r\n" counts as the one character it becomes: 5998 characters sent, 3999 stored.
		{strings.Repeat("é\r\n", MaxTextLen/2-1) + "é", strings.Repeat("é\n", MaxTextLen/2-1) + "é", ""},
		{"a\u0085b", "", "text_control_char"},
		{"a\x7fb", "", "text_control_char"},
		{"\xff\xfe", "", "text_invalid_utf8"},
		{strings.Repeat("é", MaxTextLen), strings.Repeat("é", MaxTextLen), ""},
		{strings.Repeat("é", MaxTextLen+1), "", "text_too_long"},
	}
	for _, c := range cases {
		out, err := NormalizeText(c.in)
		if code(err) != c.code || out != c.out {
			t.Errorf("NormalizeText(%q) = %q, %q; want %q, %q", c.in, out, code(err), c.out, c.code)
		}
	}
}

func TestValidateOthers(t *testing.T) {
	checks := []struct {
		name string
		err  error
		code string
	}{
		{"client id ok", ValidateClientID("abc-DEF_123"), ""},
		{"client id empty ok", ValidateClientID(""), ""},
		{"client id long", ValidateClientID(strings.Repeat("a", 65)), "bad_client_id"},
		{"client id chars", ValidateClientID("a b"), "bad_client_id"},
		{"kind text", ValidateKind("text"), ""},
		{"kind action", ValidateKind("action"), ""},
		{"kind empty", ValidateKind(""), ""},
		{"kind other", ValidateKind("html"), "bad_kind"},
		{"topic ok", ValidateTopic("Plans for Q3 — 日本"), ""},
		{"topic empty", ValidateTopic(""), ""},
		{"topic newline", ValidateTopic("a\nb"), "bad_topic"},
		{"topic bidi", ValidateTopic("a\u2066b"), "bad_topic"},
		{"topic long", ValidateTopic(strings.Repeat("t", 257)), "bad_topic"},
		{"password short", ValidatePassword("1234567"), "bad_password"},
		{"password ok", ValidatePassword("12345678"), ""},
		{"password long", ValidatePassword(strings.Repeat("p", 257)), "bad_password"},
	}
	for _, c := range checks {
		if got := code(c.err); got != c.code {
			t.Errorf("%s: code %q; want %q", c.name, got, c.code)
		}
	}
}

func TestTerminalSafe(t *testing.T) {
	cases := []struct{ in, keep, flat string }{
		{"plain text", "plain text", "plain text"},
		{"日本語 🎉 café", "日本語 🎉 café", "日本語 🎉 café"},
		{"a\nb\tc", "a\nb\tc", "a b c"},
		{"red \x1b[31mRED\x1b[0m", "red RED", "red RED"},
		{"clear\x1b[2J\x1b[H!", "clear!", "clear!"},
		{"title\x1b]0;pwned\x07x", "titlex", "titlex"},
		{"link \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "link click", "link click"},
		{"clip\x1b]52;c;ZXZpbA==\x07", "clip", "clip"},
		{"dcs\x1bPq#0;2;0;0;0\x1b\\end", "dcsend", "dcsend"},
		{"c1\u009b31mX", "c1X", "c1X"},
		{"osc1\u009d0;t\u009cY", "osc1Y", "osc1Y"},
		{"bell\x07 bs\x08 cr\r nul\x00", "bell bs cr nul", "bell bs cr nul"},
		{"bidi \u202eevil\u202c \u2067x\u2069", "bidi evil x", "bidi evil x"},
		{"bad\xffutf", "bad\uFFFDutf", "bad\uFFFDutf"},
		{"trailing esc\x1b", "trailing esc", "trailing esc"},
		{"esc then text\x1b(B ok", "esc then text ok", "esc then text ok"},
	}
	for _, c := range cases {
		if got := TerminalSafe(c.in, true); got != c.keep {
			t.Errorf("TerminalSafe(%q, true) = %q; want %q", c.in, got, c.keep)
		}
		if got := TerminalSafe(c.in, false); got != c.flat {
			t.Errorf("TerminalSafe(%q, false) = %q; want %q", c.in, got, c.flat)
		}
	}
}

func TestMessageJSON(t *testing.T) {
	b, err := json.Marshal(Message{ID: "1", Room: "general", Nick: "a", Kind: KindText, Text: "<b>\n"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(b), "\n\r") {
		t.Fatalf("message JSON must be one line: %s", b)
	}
	for _, key := range []string{`"id"`, `"room"`, `"nick"`, `"kind"`, `"text"`, `"ts"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("missing %s in %s", key, b)
		}
	}
}

// TestPresenceWire: a coalesced presence event names nick and state only
// when it carries one change, and never the online list; All reads an
// event of either protocol version as a list of changes.
func TestPresenceWire(t *testing.T) {
	one := NewPresence("general", []PresenceChange{{Nick: "bob", State: PresenceJoin}})
	two := NewPresence("general", []PresenceChange{{Nick: "bob", State: PresenceLeave}, {Nick: "carol", State: PresenceJoin}})
	for _, tc := range []struct {
		p    Presence
		want string
	}{
		{one, `{"room":"general","changes":[{"nick":"bob","state":"join"}],"nick":"bob","state":"join"}`},
		{two, `{"room":"general","changes":[{"nick":"bob","state":"leave"},{"nick":"carol","state":"join"}]}`},
	} {
		b, err := json.Marshal(tc.p)
		if err != nil || string(b) != tc.want {
			t.Errorf("marshal %+v = %s, %v; want %s", tc.p, b, err, tc.want)
		}
	}
	var v1 Presence
	if err := json.Unmarshal([]byte(`{"room":"general","nick":"dave","state":"leave","online":["alice"]}`), &v1); err != nil {
		t.Fatal(err)
	}
	if got := v1.All(); len(got) != 1 || got[0] != (PresenceChange{Nick: "dave", State: PresenceLeave}) {
		t.Errorf("All of a version 1 event = %+v", got)
	}
	if got := two.All(); len(got) != 2 {
		t.Errorf("All = %+v", got)
	}
}

func TestPresenceApplyTo(t *testing.T) {
	welcome := []string{"alice", "bob"}
	p := NewPresence("general", []PresenceChange{{Nick: "bob", State: PresenceLeave}, {Nick: "carol", State: PresenceJoin}})
	got := p.ApplyTo(welcome)
	if strings.Join(got, ",") != "alice,carol" || strings.Join(welcome, ",") != "alice,bob" {
		t.Fatalf("ApplyTo = %v (welcome now %v); want alice,carol and the welcome untouched", got, welcome)
	}
	v1 := Presence{Room: "general", Nick: "dave", State: PresenceJoin, Online: []string{"dave", "alice", "dave"}}
	if got := v1.ApplyTo(welcome); strings.Join(got, ",") != "alice,dave" {
		t.Fatalf("ApplyTo of a version 1 event = %v; want its own list", got)
	}
}
