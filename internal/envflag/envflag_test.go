package envflag

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestName(t *testing.T) {
	for flagName, want := range map[string]string{"addr": "CHAT_ADDR", "history-page-max": "CHAT_HISTORY_PAGE_MAX"} {
		if got := Name(flagName); got != want {
			t.Errorf("Name(%q) = %q, want %q", flagName, got, want)
		}
	}
}

// settings is a small command's flags: three with a variable, one without.
type settings struct {
	addr   string
	wait   time.Duration
	on     bool
	logout bool
}

func newFlags(s *settings) (*flag.FlagSet, *Env) {
	var env Env
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.addr, "addr", "127.0.0.1:8080", env.Usage("addr", "address"))
	fs.DurationVar(&s.wait, "wait", time.Second, env.Usage("wait", "how long"))
	fs.BoolVar(&s.on, "on", true, env.Usage("on", "switch"))
	fs.BoolVar(&s.logout, "logout", false, "no variable")
	return fs, &env
}

// TestApplyLayers: a default, then a variable, then the command line.
func TestApplyLayers(t *testing.T) {
	envs := map[string]string{"CHAT_ADDR": "10.0.0.1:1", "CHAT_WAIT": "5s", "CHAT_ON": "", "CHAT_LOGOUT": "true"}
	lookup := func(k string) (string, bool) { v, ok := envs[k]; return v, ok }
	var s settings
	fs, env := newFlags(&s)
	if err := fs.Parse([]string{"--wait", "7s"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Apply(fs, lookup); err != nil {
		t.Fatal(err)
	}
	if s.addr != "10.0.0.1:1" {
		t.Errorf("addr %q: the variable must override the default", s.addr)
	}
	if s.wait != 7*time.Second {
		t.Errorf("wait %v: the command line must override the variable", s.wait)
	}
	if !s.on {
		t.Error("an empty CHAT_ON must leave the default")
	}
	if s.logout {
		t.Error("--logout has no variable, yet CHAT_LOGOUT set it")
	}
	want := []Var{{"addr", "CHAT_ADDR"}, {"wait", "CHAT_WAIT"}, {"on", "CHAT_ON"}}
	if got := env.Vars(); len(got) != len(want) || got[0] != want[0] || got[2] != want[2] {
		t.Errorf("Vars() = %v, want %v", got, want)
	}
	if u := fs.Lookup("wait").Usage; u != "how long (env CHAT_WAIT)" {
		t.Errorf("usage %q does not name the variable", u)
	}
}

// TestApplyNamesABadVariable: a value the flag refuses is an error that
// names the variable; the same value on the command line would be the
// flag's own error, and a flag given on the command line hides a bad
// variable.
func TestApplyNamesABadVariable(t *testing.T) {
	lookup := func(k string) (string, bool) { return "soon", k == "CHAT_WAIT" }
	var s settings
	fs, env := newFlags(&s)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	err := env.Apply(fs, lookup)
	if err == nil || !strings.Contains(err.Error(), `CHAT_WAIT="soon"`) {
		t.Fatalf("CHAT_WAIT=soon: %v, want an error naming it", err)
	}
	fs, env = newFlags(&s)
	if err := fs.Parse([]string{"--wait", "2s"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Apply(fs, lookup); err != nil || s.wait != 2*time.Second {
		t.Fatalf("--wait 2s with CHAT_WAIT=soon: %v, %v", s.wait, err)
	}
}

// TestFillOtherSources: Fill takes values from any source, here a table of
// defaults, and names the source in an error.
func TestFillOtherSources(t *testing.T) {
	var s settings
	fs, _ := newFlags(&s)
	if err := fs.Parse([]string{"--addr", "x:1"}); err != nil {
		t.Fatal(err)
	}
	table := map[string]string{"addr": "y:2", "wait": "3s"}
	from := func(name string) (string, string, bool) { v, ok := table[name]; return v, "the table's " + name, ok }
	if err := Fill(fs, from); err != nil || s.addr != "x:1" || s.wait != 3*time.Second {
		t.Fatalf("Fill: %q %v %v", s.addr, s.wait, err)
	}
	table["on"] = "sometimes"
	if err := Fill(fs, from); err == nil || !strings.Contains(err.Error(), "the table's on") {
		t.Fatalf("a bad table value: %v", err)
	}
}
