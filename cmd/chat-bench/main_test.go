package main

import (
	"bytes"
	"errors"
	"os/exec"
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
		cmd := exec.Command(bin, c.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(stdout.String(), c.out) || !strings.Contains(stderr.String(), c.err) ||
			(code == 0 && stderr.Len() > 0) || (code != 0 && stdout.Len() > 0) {
			t.Errorf("chat-bench %v: exit %d\nstdout %q\nstderr %q", c.args, code, stdout.String(), stderr.String())
		}
	}
}
