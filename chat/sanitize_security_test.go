package chat

import "testing"

// TestTerminalSafeEscapeAbortsString: an ESC inside an OSC or DCS string
// that is not ST ends the string and begins a new sequence, so the new
// sequence is removed whole rather than leaving its tail ("[31m") as text.
func TestTerminalSafeEscapeAbortsString(t *testing.T) {
	for in, want := range map[string]string{
		"a\x1b]0;title\x1b[31mb":    "ab",
		"a\x1bPq\x1b]0;x\x07b":      "ab",
		"a\u009d0;t\x1b[2Jb":        "ab",
		"a\x1b]8;;u\x1b\\link\x1b]": "alink",
	} {
		if got := TerminalSafe(in, true); got != want {
			t.Errorf("TerminalSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
