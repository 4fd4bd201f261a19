//go:build linux

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

func init() { childModes[fullEnv] = fullChild }

const fullEnv = "CHAT_SQLITE_FULL_CHILD"

// fullChild appends under a 2 MB file size limit until the disk "fills",
// then reports the error, Ping, more refused appends, a read; then lifts the
// limit ("frees the disk") and reports Ping and an append again, and Close.
// The store logs to path+".log".
func fullChild(path string) {
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 2 << 20, Max: rlimInfinity}); err != nil {
		fmt.Println("setup", err)
		os.Exit(2)
	}
	logFile, err := os.Create(path + ".log")
	if err != nil {
		fmt.Println("setup", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(logFile, nil))
	s, err := sqlite.Open(path, sqlite.Options{Logger: log})
	if err != nil {
		fmt.Println("setup", err)
		os.Exit(2)
	}
	ctx := context.Background()
	if _, _, err := s.PutRoom(ctx, "general", nil); err != nil {
		fmt.Println("setup", err)
		os.Exit(2)
	}
	text := strings.Repeat("z", 3000)
	for i := range 10_000 {
		m, _, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "a", Kind: chat.KindText, Text: text, ClientID: fmt.Sprint("c", i)})
		if err != nil {
			fmt.Println("failed", errors.Is(err, store.ErrUnavailable), strings.ReplaceAll(err.Error(), " ", "_"))
			break
		}
		fmt.Println("ack", m.ID)
	}
	err = s.Ping(ctx)
	fmt.Println("ping_full", err == nil, errors.Is(err, store.ErrUnavailable))
	refused := 0
	for i := range fullRefusals {
		if _, _, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "a", Kind: chat.KindText, Text: text, ClientID: fmt.Sprint("r", i)}); errors.Is(err, store.ErrUnavailable) {
			refused++
		}
	}
	fmt.Println("refused", refused)
	msgs, _, err := s.Page(ctx, "general", store.PageQuery{Limit: 10})
	fmt.Println("read", len(msgs), err == nil)
	// The disk has room again.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: rlimInfinity, Max: rlimInfinity}); err != nil {
		fmt.Println("setup", err)
		os.Exit(2)
	}
	fmt.Println("ping_freed", s.Ping(ctx) == nil)
	_, _, err = s.Append(ctx, store.NewMessage{Room: "general", Nick: "a", Kind: chat.KindText, Text: "after", ClientID: "after"})
	fmt.Println("append_freed", err == nil)
	if _, err := s.Account(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		fmt.Println("account", err)
	}
	fmt.Println("close", s.Close() == nil)
	logFile.Close()
	os.Exit(0)
}

// fullRefusals is how many appends the child makes while the disk is full.
const fullRefusals = 30

// TestDiskFull: when writes fail (here a file size limit), Append returns
// store.ErrUnavailable, Ping fails (ready means writable), reads keep
// working, the refusals are logged one line each at most once a second and
// without a spurious rollback error, Ping and Append recover once the disk
// has room, Close is clean, and everything acknowledged before is there
// after a reopen.
func TestDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fullEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var acked []string
	result := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if f[0] == "ack" {
			acked = append(acked, f[1])
			continue
		}
		result[f[0]] = f[1:]
	}
	t.Logf("%d acknowledged, then %v", len(acked), result)
	if len(acked) < 50 {
		t.Fatalf("only %d appends before the limit; the test needs many: %s", len(acked), out)
	}
	if f := result["failed"]; len(f) == 0 || f[0] != "true" {
		t.Fatalf("the failing append did not report store.ErrUnavailable: %v", f)
	}
	if r := result["read"]; len(r) != 2 || r[0] != "10" || r[1] != "true" {
		t.Fatalf("reads after the failure: %v, want 10 messages", r)
	}
	if c := result["close"]; len(c) != 1 || c[0] != "true" {
		t.Fatalf("Close after the failure: %v", c)
	}
	if a, ok := result["account"]; ok {
		t.Fatalf("Account after the failure: %v", a)
	}
	if p := result["ping_full"]; len(p) != 2 || p[0] != "false" || p[1] != "true" {
		t.Fatalf("Ping while the disk is full: ok=%v, want an error wrapping store.ErrUnavailable", p)
	}
	if r := result["refused"]; len(r) != 1 || r[0] != fmt.Sprint(fullRefusals) {
		t.Fatalf("%v of %d appends refused while the disk is full, want all", r, fullRefusals)
	}
	if p := result["ping_freed"]; len(p) != 1 || p[0] != "true" {
		t.Fatalf("Ping after the disk has room again: %v", p)
	}
	if a := result["append_freed"]; len(a) != 1 || a[0] != "true" {
		t.Fatalf("Append after the disk has room again: %v", a)
	}
	logged, err := os.ReadFile(path + ".log")
	if err != nil {
		t.Fatal(err)
	}
	var errLines, recovered int
	for _, line := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		switch {
		case strings.Contains(line, "rollback"):
			t.Errorf("a refusal logged a rollback error: %s", line)
		case strings.Contains(line, "level=ERROR"):
			errLines++
		case strings.Contains(line, "writable again"):
			recovered++
		}
	}
	// More than 30 refusals (and the probes of two Pings) in a few
	// seconds at most: one line for the first, then one a second.
	if errLines == 0 || errLines > 5 {
		t.Errorf("%d error lines for %d refused writes, want one a second at most:\n%s", errLines, fullRefusals+1, logged)
	}
	if recovered != 1 {
		t.Errorf("%d lines saying the database is writable again, want 1:\n%s", recovered, logged)
	}
	s := openStore(t, path, sqlite.Options{})
	msgs, _, err := s.Since(t.Context(), "general", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < len(acked) {
		t.Fatalf("%d acknowledged, %d stored after reopen", len(acked), len(msgs))
	}
	for i, id := range acked {
		if msgs[i].ID != id {
			t.Fatalf("acknowledged message %d has id %s, stored %s", i, id, msgs[i].ID)
		}
	}
	appendText(t, s, "general", "after the disk has room again")
}

// rlimInfinity is RLIM_INFINITY as the uint64 that syscall.Rlimit holds.
const rlimInfinity = ^uint64(0)
