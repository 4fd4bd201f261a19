package main

import (
	"strings"
	"testing"

	"github.com/ssechat/chat/internal/testenv"
)

// TestHelpAndVersion: the real binary prints --help and --version on
// stdout and exits 0; a bad flag is a line on stderr and exit 2.
func TestHelpAndVersion(t *testing.T) {
	testenv.SkipShort(t, "builds the chat-bench binary")
	bin := testenv.Build(t, "./cmd/chat-bench")
	for _, c := range []struct {
		args     []string
		code     int
		out, err string // wanted in stdout, in stderr
	}{
		{[]string{"--help"}, 0, "Scenarios:", ""},
		{[]string{"fanout", "-h"}, 0, "-subs", ""},
		{[]string{"--version"}, 0, "chat-bench ", ""},
		{[]string{"--bogus"}, 2, "", "flag provided but not defined: -bogus"},
	} {
		code, stdout, stderr := testenv.Run(t, bin, nil, c.args...)
		if code != c.code || !strings.Contains(stdout, c.out) || !strings.Contains(stderr, c.err) ||
			(code == 0 && stderr != "") || (code != 0 && stdout != "") {
			t.Errorf("chat-bench %v: exit %d\nstdout %q\nstderr %q", c.args, code, stdout, stderr)
		}
	}
}
