// Package envflag is the one way the commands layer their settings: named
// defaults, then a second source (CHAT_* environment variables, or a
// scenario's own defaults), then the command line, which always wins. It
// only fills flags the command line left alone; it never overrides one.
package envflag

import (
	"flag"
	"fmt"
	"strings"
)

// Prefix starts the name of every variable.
const Prefix = "CHAT_"

// Name returns the variable of a flag: CHAT_HISTORY_PAGE_MAX for
// history-page-max.
func Name(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Fill gives every flag of fs that the command line did not set the value
// lookup returns for it, when it returns one. Call it after fs.Parse. A
// value the flag refuses is an error naming the flag and, in source, where
// the value came from (a variable, a scenario), so the user can find it.
func Fill(fs *flag.FlagSet, lookup func(flagName string) (value, source string, ok bool)) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		v, source, ok := lookup(f.Name)
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("read %s=%q (--%s): %w", source, v, f.Name, e)
		}
	})
	return err
}

// Var ties one flag to its variable.
type Var struct {
	Flag string // the flag's name, without dashes
	Env  string // its variable, CHAT_...
}

// Env is the set of a command's flags that take a variable. A flag takes
// one only when its help text was made with Usage, so a flag such as
// chat-tui's --logout, which makes no sense as a standing setting, has none.
// The zero Env is ready to use.
type Env struct {
	vars []Var
}

// Usage records that flagName takes its variable and returns the flag's
// help text naming it, "usage (env CHAT_NAME)", so --help tells both ways
// to set it.
func (e *Env) Usage(flagName, usage string) string {
	v := Name(flagName)
	e.vars = append(e.vars, Var{Flag: flagName, Env: v})
	return usage + " (env " + v + ")"
}

// Apply gives every flag of fs recorded with Usage and not set on the
// command line the value of its variable, when the variable is set and not
// empty (an empty variable is as good as none: a template that expands to
// nothing does not clear a default). lookup is os.LookupEnv outside tests.
// Call it after fs.Parse.
func (e *Env) Apply(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	vars := make(map[string]string, len(e.vars))
	for _, v := range e.vars {
		vars[v.Flag] = v.Env
	}
	return Fill(fs, func(flagName string) (string, string, bool) {
		name, ok := vars[flagName]
		if !ok {
			return "", "", false
		}
		v, ok := lookup(name)
		return v, name, ok && v != ""
	})
}

// Vars lists the flags that take a variable, in the order they were
// recorded.
func (e *Env) Vars() []Var { return append([]Var(nil), e.vars...) }
