package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/internal/clustertest"
	"github.com/ssechat/chat/internal/cmdline"
	"github.com/ssechat/chat/internal/testenv"
)

// cheapHash keeps the password hash fast in tests.
var cheapHash = []string{"--password-memory", "64", "--password-passes", "1"}

// runCmd runs the command in process with stdin read from a file holding
// input, and returns its exit code, stdout and stderr.
func runCmd(t *testing.T, input string, args ...string) (int, string, string) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(in, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stdout, stderr bytes.Buffer
	code := run(args, f, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestHelpAndVersionOnStdout: --help, for the server and for each user
// command, is written to stdout and exits 0, as is --version; a mistake is
// one line on stderr and exit 2, with nothing on stdout.
func TestHelpAndVersionOnStdout(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string // in stdout
	}{
		{[]string{"--help"}, []string{"Usage:", "-addr", "-registration", "user add|passwd|del|list", "-version"}},
		{[]string{"-h"}, []string{"Usage:", "-addr"}},
		{[]string{"--version"}, []string{"chat-server " + cmdline.Version() + " ("}},
		{[]string{"user", "--help"}, []string{"chat-server user add NICK", "chat-server user list [flags]", "user add --help"}},
		{[]string{"user", "add", "--help"}, []string{"chat-server user add NICK [flags]", "from stdin", "-data", "-redis", "-password-memory"}},
		{[]string{"user", "passwd", "alice", "--help"}, []string{"chat-server user passwd NICK", "revoke"}},
		{[]string{"user", "del", "--help"}, []string{"chat-server user del NICK", "-data"}},
		{[]string{"user", "list", "-h"}, []string{"chat-server user list [flags]", "one a line", "-data"}},
		{[]string{"user", "list", "--version"}, []string{"chat-server user list " + cmdline.Version()}},
	} {
		code, stdout, stderr := runCmd(t, "", c.args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing on stderr", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, w, stdout)
			}
		}
	}
	if strings.Contains(runHelp(t, "user", "list", "--help"), "-heartbeat") {
		t.Error("user list --help shows the server's flags that do not apply")
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "flag provided but not defined: -bogus (see --help)"},
		{[]string{"user"}, "Usage:"},
		{[]string{"user", "frob"}, `unknown user command "frob"`},
		{[]string{"user", "add"}, "chat-server user add needs a NICK"},
		{[]string{"user", "list", "--nope"}, "see chat-server user list --help"},
		{[]string{"user", "list", "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := runCmd(t, "", c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing on stdout, %q on stderr", c.args, code, stdout, stderr, c.want)
		}
	}
}

func runHelp(t *testing.T, args ...string) string {
	t.Helper()
	_, stdout, _ := runCmd(t, "", args...)
	return stdout
}

// TestListenFailureComesFirst: an address that is taken, or one that is not
// an address, ends the real binary with one plain line and a non-zero exit
// before anything is made on disk.
func TestListenFailureComesFirst(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	for _, c := range []struct{ addr, want string }{
		{taken.Addr().String(), "address already in use"},
		{"no-port-here", "missing port in address"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		p := testenv.StartProcess(t, bin, []string{"--addr", c.addr, "--data", data, "--log-level", "info"}, testenv.Env())
		code := p.Wait(30 * time.Second)
		out := p.Output()
		if code == 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "chat-server: ") || !strings.Contains(out, c.want) {
			t.Errorf("--addr %s: exit %d, output %q; want a non-zero exit and one line naming %q", c.addr, code, out, c.want)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("--addr %s: the data directory was made before listening (%v)", c.addr, err)
		}
	}
}

// TestUserList: "chat-server user list" lists the accounts by nick, one a
// line with its creation time, beside a running server on the same SQLite
// file (accounts it registered) and on Redis; on a data directory that does
// not exist it says so and makes none.
func TestUserList(t *testing.T) {
	testenv.SkipShort(t, "builds and runs the chat-server binary")
	bin := testenv.Build(t, "./cmd/chat-server")
	data, addr := filepath.Join(t.TempDir(), "data"), testenv.FreeAddr(t)
	srv := testenv.StartProcess(t, bin, append([]string{"--addr", addr, "--data", data, "--registration", "open"}, cheapHash...), testenv.Env())
	testenv.WaitHTTP(t, "http://"+addr+"/readyz", 30*time.Second)
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	for _, nick := range []string{"Olga", "bob"} {
		resp, err := hc.Post("http://"+addr+"/api/session", "application/json",
			strings.NewReader(`{"nick":"`+nick+`","password":"a good password"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("register %s: %d", nick, resp.StatusCode)
		}
	}
	if code, out, errOut := runCmd(t, "a third password\n", append([]string{"user", "add", "carl", "--data", data}, cheapHash...)...); code != 0 {
		t.Fatalf("user add carl: %d %s %s", code, out, errOut)
	}
	checkList(t, []string{"bob", "carl", "Olga"}, "user", "list", "--data", data)
	srv.Stop(20 * time.Second)

	missing := filepath.Join(t.TempDir(), "typo")
	if code, out, errOut := runCmd(t, "", "user", "list", "--data", missing); code != 1 || out != "" || !strings.Contains(errOut, "no data in "+missing) {
		t.Errorf("user list on a missing directory: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("user list made the directory it was wrongly given (%v)", err)
	}

	rd := clustertest.StartRedis(t, clustertest.RedisOptions{})
	for _, nick := range []string{"zoe", "Anna"} {
		if code, out, errOut := runCmd(t, "the redis password\n", append([]string{"user", "add", nick, "--redis", rd.URL(0)}, cheapHash...)...); code != 0 {
			t.Fatalf("user add %s on Redis: %d %s %s", nick, code, out, errOut)
		}
	}
	checkList(t, []string{"Anna", "zoe"}, "user", "list", "--redis", rd.URL(0))
}

// checkList runs a user list and checks its lines: the nicks in order,
// each with a creation time of the last minute.
func checkList(t *testing.T, nicks []string, args ...string) {
	t.Helper()
	code, out, errOut := runCmd(t, "", args...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// stderr may hold the store's warnings (Redis without appendonly).
	if code != 0 || len(lines) != len(nicks) {
		t.Fatalf("%v: exit %d, stdout %q, stderr %q; want %v", args, code, out, errOut, nicks)
	}
	for i, l := range lines {
		nick, created, ok := strings.Cut(l, "\t")
		ts, err := time.Parse(time.RFC3339, created)
		if !ok || nick != nicks[i] || err != nil || time.Since(ts) > time.Minute || ts.Location() != time.UTC {
			t.Errorf("%v line %d: %q; want %s, a tab and a recent UTC time", args, i, l, nicks[i])
		}
	}
}
