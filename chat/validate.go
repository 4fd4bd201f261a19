package chat

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of the protocol.
const (
	MaxNickLen      = 32   // characters of A-Z a-z 0-9 _ - .
	MaxRoomLen      = 64   // characters of a-z 0-9 _ -
	MaxTextLen      = 4000 // characters, after trimming
	MaxTopicLen     = 256  // characters
	MaxClientIDLen  = 64   // characters of A-Z a-z 0-9 _ -
	MinPasswordLen  = 8    // bytes
	MaxPasswordLen  = 256  // bytes
	DefaultRoom     = "general"
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// ValidationError says which field is wrong and why. Code is the protocol's
// snake_case error code; Message is a sentence a person can act on.
type ValidationError struct {
	Field   string
	Code    string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, code, format string, args ...any) error {
	return &ValidationError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidateNick checks a nick: 1 to 32 of A-Z a-z 0-9 _ - .
func ValidateNick(nick string) error {
	if nick == "" || len(nick) > MaxNickLen {
		return invalid("nick", "bad_nick", "A nick is 1 to %d characters.", MaxNickLen)
	}
	for i := 0; i < len(nick); i++ {
		c := nick[i]
		if !(isAlnum(c) || c == '_' || c == '-' || c == '.') {
			return invalid("nick", "bad_nick", "A nick may hold only letters A-Z and a-z, digits, '_', '-' and '.'.")
		}
	}
	return nil
}

// NickKey is the form under which nicks are unique: without regard to case.
func NickKey(nick string) string { return strings.ToLower(nick) }

// ValidateRoom checks a room name against ^[a-z0-9][a-z0-9_-]{0,63}$.
func ValidateRoom(room string) error {
	if room == "" || len(room) > MaxRoomLen {
		return invalid("room", "bad_room", "A room name is 1 to %d characters.", MaxRoomLen)
	}
	for i := 0; i < len(room); i++ {
		c := room[i]
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'))
		if !ok {
			return invalid("room", "bad_room", "A room name starts with a-z or 0-9 and holds only a-z, 0-9, '_' and '-'.")
		}
	}
	return nil
}

// ValidatePassword checks a password's length: 8 to 256 bytes.
func ValidatePassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return invalid("password", "bad_password", "A password is %d to %d bytes long.", MinPasswordLen, MaxPasswordLen)
	}
	if !utf8.ValidString(pw) {
		return invalid("password", "bad_password", "A password must be valid UTF-8.")
	}
	return nil
}

// ValidateClientID checks an optional client_id: empty, or 1 to 64 of
// A-Z a-z 0-9 _ -.
func ValidateClientID(id string) error {
	if len(id) > MaxClientIDLen {
		return invalid("client_id", "bad_client_id", "A client_id is at most %d characters.", MaxClientIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(isAlnum(c) || c == '_' || c == '-') {
			return invalid("client_id", "bad_client_id", "A client_id may hold only A-Z, a-z, 0-9, '_' and '-'.")
		}
	}
	return nil
}

// ValidateKind checks a message kind; empty means text.
func ValidateKind(kind string) error {
	switch kind {
	case "", KindText, KindAction:
		return nil
	}
	return invalid("kind", "bad_kind", "kind is \"text\" or \"action\".")
}

// NormalizeText turns every line ending into a newline ("\r\n" and a lone
// "\r" become "\n", so text pasted from Windows or an old Mac is taken as
// written), trims surrounding white space and checks the rest: valid UTF-8,
// 1 to 4000 characters, no control characters but newline and tab. It
// returns the text to store. It is the one place this rule lives: the server
// applies it to every message, and clients may apply it before sending.
func NormalizeText(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", invalid("text", "text_invalid_utf8", "The text is not valid UTF-8.")
	}
	text = strings.TrimSpace(NormalizeNewlines(text))
	if text == "" {
		return "", invalid("text", "text_empty", "The text is empty.")
	}
	if n := utf8.RuneCountInString(text); n > MaxTextLen {
		return "", invalid("text", "text_too_long", "The text is %d characters; at most %d are allowed.", n, MaxTextLen)
	}
	if r, ok := firstControl(text, true); ok {
		return "", invalid("text", "text_control_char", "The text holds the control character U+%04X; only newline and tab are allowed.", r)
	}
	return text, nil
}

// lineEndings maps the two other line endings to a newline; "\r\n" comes
// first so that it becomes one newline, not two.
var lineEndings = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// NormalizeNewlines returns s with every "\r\n" and every lone "\r" turned
// into "\n".
func NormalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return lineEndings.Replace(s)
}

// ValidateTopic checks a room topic: valid UTF-8, at most 256 characters, no
// control characters (not even newline) and no bidi controls.
func ValidateTopic(topic string) error {
	if !utf8.ValidString(topic) {
		return invalid("topic", "bad_topic", "The topic is not valid UTF-8.")
	}
	if n := utf8.RuneCountInString(topic); n > MaxTopicLen {
		return invalid("topic", "bad_topic", "The topic is %d characters; at most %d are allowed.", n, MaxTopicLen)
	}
	if r, ok := firstControl(topic, false); ok {
		return invalid("topic", "bad_topic", "The topic holds the control character U+%04X.", r)
	}
	for _, r := range topic {
		if IsBidiControl(r) {
			return invalid("topic", "bad_topic", "The topic holds the bidi control U+%04X.", r)
		}
	}
	return nil
}

// firstControl finds the first C0, DEL or C1 control character; newline and
// tab are allowed when allowNewline is set.
func firstControl(s string, allowNewline bool) (rune, bool) {
	for _, r := range s {
		if allowNewline && (r == '\n' || r == '\t') {
			continue
		}
		if IsControl(r) {
			return r, true
		}
	}
	return 0, false
}

// IsControl reports C0 controls, DEL and C1 controls.
func IsControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// IsBidiControl reports the Unicode bidirectional formatting characters:
// embeddings, overrides, isolates and the implicit marks.
func IsBidiControl(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
