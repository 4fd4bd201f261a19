// Package cmdline holds what every command of the module does alike on its
// command line: --help on stdout, --version, and the one version string
// the binaries print and the server announces. It must never exit the
// process or print an error itself: the command reports errors its own way.
package cmdline

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release a build was made for, set with
//
//	go build -ldflags "-X github.com/ssechat/chat/internal/cmdline.version=v1.2.3"
//
// When it is empty the module's build information supplies the version.
var version string

// Version is the version of this build: the -ldflags value when set; else
// the main module's version as the go command stamps it (a tag, or a
// pseudo-version naming the commit, "+dirty" with local changes); else
// "dev", with the commit when the build recorded one. go run and go test
// builds record no version, hence "dev".
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v, dirty := "dev", false
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && s.Value != "":
			v += "-" + s.Value[:min(12, len(s.Value))]
		case s.Key == "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		v += "+dirty"
	}
	return v
}

// Parse parses args into fs, adding a --version flag unless fs has one. It
// answers --help (or -h) with fs's usage on stdout and --version with
// "NAME VERSION (GO VERSION)" on stdout, returning flag.ErrHelp for both:
// the request was answered and the command should exit 0. Any other error
// is returned unprinted, for the command to report in one line on stderr;
// fs's Usage must write to fs.Output(). Parse may be called again on the
// same FlagSet (for arguments that follow a positional one).
func Parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if fs.Lookup("version") == nil {
		fs.Bool("version", false, "print the version and exit")
	}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stdout)
	switch {
	case err == flag.ErrHelp:
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		return err
	case fs.Lookup("version").Value.String() == "true":
		fmt.Fprintf(stdout, "%s %s (%s)\n", fs.Name(), Version(), runtime.Version())
		return flag.ErrHelp
	}
	return nil
}
