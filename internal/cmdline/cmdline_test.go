package cmdline

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func newSet(usage string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	name := fs.String("name", "x", "a name")
	fs.Usage = func() {
		fs.Output().Write([]byte(usage))
		fs.PrintDefaults()
	}
	return fs, name
}

// TestParse: --help and --version answer on the given writer and say the
// command is done; a bad flag is returned without a word printed; ordinary
// flags parse as before.
func TestParse(t *testing.T) {
	for _, help := range []string{"--help", "-h", "-help"} {
		var out bytes.Buffer
		fs, _ := newSet("usage: demo\n")
		if err := Parse(fs, []string{help}, &out); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%s: %v, want flag.ErrHelp", help, err)
		}
		if s := out.String(); !strings.HasPrefix(s, "usage: demo\n") || !strings.Contains(s, "-name") || !strings.Contains(s, "-version") {
			t.Fatalf("%s wrote %q, want the usage with every flag", help, s)
		}
	}

	var out bytes.Buffer
	fs, _ := newSet("usage\n")
	if err := Parse(fs, []string{"--version"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--version: %v, want flag.ErrHelp", err)
	}
	if want := "demo " + Version() + " ("; !strings.HasPrefix(out.String(), want) {
		t.Fatalf("--version wrote %q, want it to start %q", out.String(), want)
	}

	out.Reset()
	fs, _ = newSet("usage\n")
	if err := Parse(fs, []string{"--nope"}, &out); err == nil || !strings.Contains(err.Error(), "nope") || out.Len() != 0 {
		t.Fatalf("a bad flag: %v, wrote %q; want the error and nothing written", err, out.String())
	}

	fs, name := newSet("usage\n")
	if err := Parse(fs, []string{"--name", "y", "rest"}, &out); err != nil || *name != "y" || fs.Arg(0) != "rest" {
		t.Fatalf("plain flags: %v, name %q, args %v", err, *name, fs.Args())
	}
	// A second Parse on the same set (arguments after a positional one)
	// keeps the one --version flag.
	if err := Parse(fs, []string{"--version"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--version on a second Parse: %v", err)
	}
}

// TestVersionFromLinker: a version set at link time wins over the build
// information.
func TestVersionFromLinker(t *testing.T) {
	if v := Version(); v == "" {
		t.Fatal("Version is empty")
	}
	old := version
	t.Cleanup(func() { version = old })
	version = "v9.8.7"
	if v := Version(); v != "v9.8.7" {
		t.Fatalf("Version = %q, want the linker's v9.8.7", v)
	}
}
