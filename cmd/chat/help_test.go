package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/ssechat/chat/internal/cmdline"
)

// runIn runs the command in process with no environment but env.
func runIn(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(args, os.Stdin, &stdout, &stderr, lookup)
	return code, stdout.String(), stderr.String()
}

// TestHelpAndMistakes: --help and --version answer on stdout with exit 0,
// for the program and each command; a mistake is a line on stderr, exit 2.
func TestHelpAndMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"chat [flags] tail", "-server", "CHAT_SERVER", "CHAT_TOKEN"}},
		{[]string{"--version"}, []string{cmdline.Version()}},
		{[]string{"tail", "--help"}, []string{"chat tail [--format json|text]", "cursor", "-format", "--all"}},
		{[]string{"send", "--help"}, []string{"chat send ROOM TEXT...", "-lines"}},
		{[]string{"login", "--help"}, []string{"chat --nick NICK login"}},
		{[]string{"rooms", "-h"}, []string{"chat rooms"}},
	} {
		code, out, errOut := runIn(t, nil, c.args...)
		if code != 0 || errOut != "" {
			t.Errorf("chat %v: exit %d, stderr %q", c.args, code, errOut)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("chat %v: stdout lacks %q:\n%s", c.args, w, out)
			}
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"tail"}, "at least one ROOM"},
		{[]string{"tail", "--format", "xml", "ops"}, "want json or text"},
		{[]string{"tail", "--all"}, "not offer yet"},
		{[]string{"send", "general"}, "send takes ROOM and TEXT"},
		{[]string{"--bogus"}, "see chat --help"},
	} {
		code, out, errOut := runIn(t, map[string]string{"CHAT_TOKEN": "x"}, c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("chat %v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errOut, c.want)
		}
	}
	// No credential: say how to get one.
	if code, _, errOut := runIn(t, map[string]string{"CHAT_STATE": t.TempDir()}, "rooms"); code != 1 || !strings.Contains(errOut, "CHAT_TOKEN") {
		t.Errorf("chat rooms without a credential: %d %q", code, errOut)
	}
}
