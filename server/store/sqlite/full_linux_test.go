//go:build linux

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
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
// then reports the error, a read, and Close.
func fullChild(path string) {
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 2 << 20, Max: 2 << 20}); err != nil {
		fmt.Println("setup", err)
		os.Exit(2)
	}
	s, err := sqlite.Open(path, sqlite.Options{})
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
	msgs, _, err := s.Page(ctx, "general", store.PageQuery{Limit: 10})
	fmt.Println("read", len(msgs), err == nil)
	if _, err := s.Account(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		fmt.Println("account", err)
	}
	fmt.Println("close", s.Close() == nil)
	os.Exit(0)
}

// TestDiskFull: when writes fail (here a file size limit), Append returns
// store.ErrUnavailable, reads keep working, Close is clean, and everything
// acknowledged before is there after a reopen.
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
