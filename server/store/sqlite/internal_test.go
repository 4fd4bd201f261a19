package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
	"github.com/ssechat/chat/server/store"
	"github.com/ssechat/chat/server/store/sqlite"
)

func appendText(t *testing.T, s *sqlite.Store, room, text string) chat.Message {
	t.Helper()
	m, created, err := s.Append(t.Context(), store.NewMessage{Room: room, Nick: "alice", Kind: chat.KindText, Text: text})
	if err != nil || !created {
		t.Fatalf("Append(%s, %q): created %v, %v", room, text, created, err)
	}
	return m
}

func putRoom(t *testing.T, s *sqlite.Store, name string) {
	t.Helper()
	if _, _, err := s.PutRoom(t.Context(), name, nil); err != nil {
		t.Fatal(err)
	}
}

// TestIDsAreRoomSequences: each room counts "1", "2", ... on its own.
func TestIDsAreRoomSequences(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	putRoom(t, s, "a")
	putRoom(t, s, "b")
	want := map[string]int{}
	for i, room := range []string{"a", "a", "b", "a", "b", "b", "b"} {
		want[room]++
		if m := appendText(t, s, room, fmt.Sprint(i)); m.ID != strconv.Itoa(want[room]) {
			t.Fatalf("append %d to %s got id %q, want %q", i, room, m.ID, strconv.Itoa(want[room]))
		}
	}
}

// TestRetentionIsExact: with HistoryMax 10 the store keeps at least 10 and
// Since fails exactly for resume points whose followers are gone.
func TestRetentionIsExact(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{HistoryMax: 10})
	putRoom(t, s, "general")
	for i := range 100 {
		appendText(t, s, "general", fmt.Sprint(i))
	}
	// 10/8 rounds to a trim every append: exactly ids 91..100 are kept.
	msgs, more, err := s.Page(t.Context(), "general", store.PageQuery{Limit: 200})
	if err != nil || more || len(msgs) != 10 || msgs[0].ID != "91" || msgs[9].ID != "100" {
		t.Fatalf("kept %v (more %v, err %v), want ids 91..100", ids(msgs), more, err)
	}
	if _, _, err := s.Since(t.Context(), "general", "89", 10); !errors.Is(err, store.ErrTrimmed) {
		t.Fatalf("Since(89) = %v, want ErrTrimmed: message 90 was trimmed", err)
	}
	got, _, err := s.Since(t.Context(), "general", "90", 0)
	if err != nil || len(got) != 10 || got[0].ID != "91" {
		t.Fatalf("Since(90) = %v, %v; want 91..100 (nothing after 90 is missing)", ids(got), err)
	}
	if st := s.Stats(); st.Trimmed != 90 {
		t.Fatalf("Stats().Trimmed = %d, want 90", st.Trimmed)
	}
}

// TestSinceWithoutLimit: max <= 0 returns everything after the id.
func TestSinceWithoutLimit(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	putRoom(t, s, "general")
	for i := range 30 {
		appendText(t, s, "general", fmt.Sprint(i))
	}
	got, more, err := s.Since(t.Context(), "general", "3", 0)
	if err != nil || more || len(got) != 27 || got[0].ID != "4" {
		t.Fatalf("Since(3, 0) = %v, more %v, %v; want 4..30", ids(got), more, err)
	}
}

// TestForeignIDs: a Redis-style id is not one of ours.
func TestForeignIDs(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	putRoom(t, s, "general")
	appendText(t, s, "general", "x")
	for _, id := range []string{"1-1", "1700000000000-0", "99999999999999999999"} {
		if _, _, err := s.Since(t.Context(), "general", id, 10); !errors.Is(err, chat.ErrBadID) {
			t.Errorf("Since(%q) = %v, want chat.ErrBadID", id, err)
		}
		if _, _, err := s.Page(t.Context(), "general", store.PageQuery{Before: id, Limit: 10}); !errors.Is(err, chat.ErrBadID) {
			t.Errorf("Page(before %q) = %v, want chat.ErrBadID", id, err)
		}
	}
	if _, _, err := s.Page(t.Context(), "general", store.PageQuery{Before: "2", After: "1", Limit: 10}); err == nil {
		t.Error("Page with both before and after: no error")
	}
}

// TestListenerBeforeAnswer: the SQLite store relays a message before Append
// returns, so the hub never lags a 201.
func TestListenerBeforeAnswer(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	var (
		mu   sync.Mutex
		seen []string
	)
	s.Listen(func(e store.Event) {
		mu.Lock()
		seen = append(seen, e.Message.ID)
		mu.Unlock()
	})
	putRoom(t, s, "general")
	for i := range 5 {
		m := appendText(t, s, "general", fmt.Sprint(i))
		mu.Lock()
		last := seen[len(seen)-1]
		mu.Unlock()
		if last != m.ID {
			t.Fatalf("Append returned %s while the listener's last message is %s", m.ID, last)
		}
	}
}

// TestAppendCanceledContext: a request whose context ended before it was
// queued fails with the context's error and stores nothing.
func TestAppendCanceledContext(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	putRoom(t, s, "general")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := s.Append(ctx, store.NewMessage{Room: "general", Nick: "a", Kind: chat.KindText, Text: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: %v, want context.Canceled", err)
	}
	if err := s.CreateAccount(ctx, store.Account{Nick: "a", PasswordHash: "h"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateAccount with a canceled context: %v, want context.Canceled", err)
	}
	msgs, _, _ := s.Page(t.Context(), "general", store.PageQuery{Limit: 10})
	if len(msgs) != 0 {
		t.Fatalf("a refused Append stored %v", ids(msgs))
	}
	if _, err := s.Account(t.Context(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused CreateAccount stored the account: %v", err)
	}
}

// TestCloseFinishesPendingAppends: appends racing Close either fail with
// ErrClosed or are on disk after a reopen; none is lost in between.
func TestCloseFinishesPendingAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	putRoom(t, s, "general")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked = map[string]string{}
		start = make(chan struct{})
	)
	for w := range 16 {
		wg.Go(func() {
			<-start
			for i := range 50 {
				text := fmt.Sprintf("%d/%d", w, i)
				m, _, err := s.Append(context.Background(), store.NewMessage{Room: "general", Nick: "a", Kind: chat.KindText, Text: text})
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				acked[m.ID] = text
				mu.Unlock()
			}
		})
	}
	close(start)
	testenv.Eventually(t, 10*time.Second, "100 acknowledged appends", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 100
	})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()

	s = openStore(t, path, sqlite.Options{})
	msgs, _, err := s.Since(t.Context(), "general", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, m := range msgs {
		stored[m.ID] = m.Text
	}
	for id, text := range acked {
		if stored[id] != text {
			t.Fatalf("acknowledged message %s %q is %q after reopen", id, text, stored[id])
		}
	}
	t.Logf("%d appends acknowledged before Close, %d stored", len(acked), len(stored))
}

// TestOpenErrors: a path that cannot be opened, or a schema from the
// future, fails Open without leaving goroutines (goleak checks in TestMain).
func TestOpenErrors(t *testing.T) {
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "missing", "dir", "chat.db"), sqlite.Options{}); err == nil {
		t.Error("Open in a directory that does not exist: no error")
	}
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	bumpSchema(t, path)
	if s, err := sqlite.Open(path, sqlite.Options{}); err == nil {
		s.Close()
		t.Error("Open of a database with a newer schema: no error")
	}
}

// TestPathWithURIChars: the file name is escaped, not parsed as DSN.
func TestPathWithURIChars(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d e")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "chat.db")
	s := openStore(t, path, sqlite.Options{})
	putRoom(t, s, "general")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
}

const crashEnv = "CHAT_SQLITE_CRASH_CHILD"

// crashChild appends from several goroutines and prints each acknowledged
// message until it is killed (or a bound is reached).
func crashChild(path string) {
	s, err := sqlite.Open(path, sqlite.Options{Lock: true})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if _, _, err := s.PutRoom(context.Background(), "general", nil); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; i < 100_000 && time.Now().Before(deadline); i++ {
				text := fmt.Sprintf("w%d-%d", w, i)
				m, _, err := s.Append(context.Background(), store.NewMessage{Room: "general", Nick: "a", Kind: chat.KindText, Text: text, ClientID: text})
				mu.Lock()
				if err != nil {
					fmt.Fprintln(out, "error", err)
				} else {
					fmt.Fprintln(out, "ack", m.ID, text)
				}
				out.Flush() // the line leaves the process before the next append
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

// TestCrashLosesNothing: a child process appends and reports each
// acknowledged message; after kill -9 every acknowledged message is on disk
// with its id, ids have no holes, and numbering continues.
func TestCrashLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && len(acked) < 500 {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %s", sc.Text())
		}
		acked[f[1]] = f[2]
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no Close, no cleanup
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 500 {
		t.Fatalf("child acknowledged only %d appends before it stopped", len(acked))
	}

	s := openStore(t, path, sqlite.Options{Lock: true}) // the dead child's lock is gone
	msgs, _, err := s.Since(t.Context(), "general", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m.ID != strconv.Itoa(i+1) {
			t.Fatalf("message %d has id %s: ids have a hole", i, m.ID)
		}
		if m.ClientID != m.Text {
			t.Fatalf("message %s: text %q, client_id %q", m.ID, m.Text, m.ClientID)
		}
	}
	stored := map[string]string{}
	for _, m := range msgs {
		stored[m.ID] = m.Text
	}
	for id, text := range acked {
		if stored[id] != text {
			t.Fatalf("acknowledged %s %q is %q after kill -9", id, text, stored[id])
		}
	}
	next := appendText(t, s, "general", "after the crash")
	if next.ID != strconv.Itoa(len(msgs)+1) {
		t.Fatalf("first id after the crash is %s, want %d", next.ID, len(msgs)+1)
	}
	t.Logf("%d acknowledged, %d on disk after kill -9", len(acked), len(msgs))
}

func ids(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// bumpSchema marks the database as written by a newer program.
func bumpSchema(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
}

// TestTailMatchesSQLite: every Page and Since answered from the in-memory
// tail equals the answer SQLite gives, at and across the tail's edges, with
// and without retention.
func TestTailMatchesSQLite(t *testing.T) {
	for _, historyMax := range []int{0, 20} {
		t.Run(fmt.Sprintf("history=%d", historyMax), func(t *testing.T) {
			s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{HistoryMax: historyMax, TailSize: 25})
			putRoom(t, s, "general")
			for i := range 60 {
				appendText(t, s, "general", fmt.Sprint(i))
			}
			ctx := t.Context()
			type answer struct {
				ids  []string
				more bool
				err  error
			}
			both := func(read func() ([]chat.Message, bool, error)) (mem, disk answer) {
				m, more, err := read()
				mem = answer{ids(m), more, err}
				sqlite.SetTail(s, false)
				m, more, err = read()
				disk = answer{ids(m), more, err}
				sqlite.SetTail(s, true)
				return mem, disk
			}
			same := func(what string, a, b answer) {
				t.Helper()
				if !errors.Is(a.err, b.err) && !errors.Is(b.err, a.err) || a.more != b.more || strings.Join(a.ids, ",") != strings.Join(b.ids, ",") {
					t.Fatalf("%s: tail answers %v, SQLite %v", what, a, b)
				}
			}
			before := s.Stats()
			for id := 0; id <= 62; id++ {
				sid := strconv.Itoa(id)
				for _, limit := range []int{1, 25, 26, 200} {
					for _, q := range []store.PageQuery{{Limit: limit}, {Before: sid, Limit: limit}, {After: sid, Limit: limit}} {
						mem, disk := both(func() ([]chat.Message, bool, error) { return s.Page(ctx, "general", q) })
						same(fmt.Sprintf("Page(%+v)", q), mem, disk)
					}
				}
				for _, max := range []int{0, 1, 10} {
					mem, disk := both(func() ([]chat.Message, bool, error) { return s.Since(ctx, "general", sid, max) })
					same(fmt.Sprintf("Since(%s, %d)", sid, max), mem, disk)
				}
			}
			st := s.Stats()
			tail, disk := st.TailReads-before.TailReads, st.DiskReads-before.DiskReads
			// Half the calls skip the tail; of the other half, most hit it.
			if tail < 300 || disk < 945 {
				t.Fatalf("the comparison did not exercise both paths: %d tail reads, %d SQLite reads", tail, disk)
			}
			t.Logf("%d reads from the tail, %d from SQLite", tail, disk)
		})
	}
}

// TestSessionClock: expiry follows the injected clock, and expired rows are
// swept by later logins instead of piling up.
func TestSessionClock(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openStore(t, path, sqlite.Options{Now: clock})
	ctx := t.Context()
	if err := s.CreateAccount(ctx, store.Account{Nick: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: "old", Nick: "alice", ExpiresAt: clock().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "old"); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	now.Add(int64(2 * time.Hour))
	if _, err := s.Session(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session two hours after its one-hour expiry: %v, want ErrNotFound", err)
	}
	if err := s.ExtendSession(ctx, "old", clock().Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("extending an expired session: %v, want ErrNotFound", err)
	}
	for i := range 64 {
		if err := s.CreateSession(ctx, store.Session{TokenHash: fmt.Sprint("t", i), Nick: "alice", ExpiresAt: clock().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = 'old'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the expired session is still stored after 64 more logins")
	}
}

// TestLock: with Options.Lock a second locking Open of the same file fails
// with ErrInUse until the first store is closed; a store without Lock (an
// account tool) opens beside it and its writes are seen by the server's.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	first, err := sqlite.Open(path, sqlite.Options{Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(path, sqlite.Options{Lock: true}); !errors.Is(err, sqlite.ErrInUse) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("second locking Open: %v, want ErrInUse", err)
	}
	putRoom(t, first, "general")
	tool := openStore(t, path, sqlite.Options{})
	var wg sync.WaitGroup
	wg.Go(func() { // the server keeps writing meanwhile
		for i := range 50 {
			appendText(t, first, "general", fmt.Sprint(i))
		}
	})
	for i := range 20 {
		if err := tool.CreateAccount(t.Context(), store.Account{Nick: fmt.Sprint("user", i), PasswordHash: "h"}); err != nil {
			t.Fatalf("account tool beside a running store: %v", err)
		}
	}
	wg.Wait()
	if a, err := first.Account(t.Context(), "USER7"); err != nil || a.Nick != "user7" {
		t.Fatalf("the running store does not see the tool's account: %+v, %v", a, err)
	}
	if err := tool.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openStore(t, path, sqlite.Options{Lock: true})
}

// TestNoSilentGapWhileTrimming: readers resuming while the writer appends
// and trims get either ErrTrimmed or every message after their id, never a
// reply with a hole. Run with the tail and without it.
func TestNoSilentGapWhileTrimming(t *testing.T) {
	for _, tail := range []int{0, -1} {
		t.Run(fmt.Sprintf("tail=%d", tail), func(t *testing.T) {
			s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{HistoryMax: 8, TailSize: tail})
			putRoom(t, s, "general")
			var (
				last     atomic.Int64
				done     = make(chan struct{})
				wg       sync.WaitGroup
				trimmed  atomic.Int64
				complete atomic.Int64
			)
			wg.Go(func() {
				defer close(done)
				for i := range 100 {
					m := appendText(t, s, "general", fmt.Sprint(i))
					n, _ := strconv.ParseInt(m.ID, 10, 64)
					last.Store(n)
				}
			})
			for r := range 3 {
				wg.Go(func() {
					for {
						select {
						case <-done:
							return
						default:
						}
						// Resume from a little behind the newest: sometimes
						// kept, sometimes trimmed meanwhile.
						after := max(0, last.Load()-int64(4+r*3))
						runtime.Gosched() // spinning readers must not starve the writer
						msgs, _, err := s.Since(context.Background(), "general", strconv.FormatInt(after, 10), 0)
						if errors.Is(err, store.ErrTrimmed) {
							trimmed.Add(1)
							continue
						}
						if err != nil {
							t.Errorf("Since(%d): %v", after, err)
							return
						}
						for i, m := range msgs {
							if m.ID != strconv.FormatInt(after+1+int64(i), 10) {
								t.Errorf("Since(%d) returned %v: a hole where retention removed messages", after, ids(msgs))
								return
							}
						}
						complete.Add(1)
					}
				})
			}
			wg.Wait()
			t.Logf("%d complete replies, %d ErrTrimmed", complete.Load(), trimmed.Load())
			if complete.Load() == 0 {
				t.Fatal("no reader ever got a reply: the test proved nothing")
			}
		})
	}
}

// TestSinceFutureID: an id this store never issued (the client saw another
// database) gets ErrTrimmed, so the client reloads instead of skipping
// every message up to that number; the newest id itself is fine.
func TestSinceFutureID(t *testing.T) {
	for _, tail := range []int{0, -1} {
		t.Run(fmt.Sprintf("tail=%d", tail), func(t *testing.T) {
			s := openStore(t, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{TailSize: tail})
			putRoom(t, s, "general")
			putRoom(t, s, "empty")
			for i := range 3 {
				appendText(t, s, "general", fmt.Sprint(i))
			}
			for _, tc := range []struct {
				room, after string
				want        error
			}{
				{"general", "3", nil},
				{"general", "4", store.ErrTrimmed},
				{"general", "500", store.ErrTrimmed},
				{"empty", "0", nil},
				{"empty", "1", store.ErrTrimmed},
			} {
				msgs, _, err := s.Since(t.Context(), tc.room, tc.after, 10)
				if !errors.Is(err, tc.want) || (err == nil && len(msgs) != 0) {
					t.Errorf("Since(%s, %s) = %v, %v; want no messages and %v", tc.room, tc.after, ids(msgs), err, tc.want)
				}
			}
		})
	}
}
