package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/ssechat/chat/internal/testenv"
)

// TestHelpAndVersion: the real binary prints --help and --version on
// stdout and exits 0 without touching the terminal; a bad flag is a line
// on stderr and a non-zero exit.
func TestHelpAndVersion(t *testing.T) {
	testenv.SkipShort(t, "builds the chat-tui binary")
	bin := testenv.Build(t, "./cmd/chat-tui")
	for _, c := range []struct {
		args     []string
		ok       bool
		out, err string // wanted in stdout, in stderr
	}{
		{[]string{"--help"}, true, "-server", ""},
		{[]string{"-h"}, true, "-nick", ""},
		{[]string{"--version"}, true, "chat-tui ", ""},
		{[]string{"--bogus"}, false, "", "flag provided but not defined: -bogus"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = testenv.Env("HOME="+t.TempDir(), "CHAT_LOG="+t.TempDir()+"/log")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if (err == nil) != c.ok || !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.err) ||
			(c.ok && stderr.Len() > 0) || (!c.ok && stdout.Len() > 0) {
			t.Errorf("chat-tui %v: %v\nstdout %q\nstderr %q", c.args, err, stdout.String(), stderr.String())
		}
	}
}
