package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// LimiterOpener returns two stores on one new, empty backend, as two nodes
// of a cluster see it; both implement store.Limiter. It registers their
// Close with t.Cleanup.
type LimiterOpener func(t *testing.T) (a, b store.Store)

// RunLimiter runs the store.Limiter suite: every limit holds over both
// stores together, not per store. Buckets refill at one token an hour, so
// no token comes back during a test however slow the machine.
func RunLimiter(t *testing.T, open LimiterOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b store.Limiter, sa store.Store)
	}{
		{"TakeShared", testTakeShared},
		{"Refund", testRefund},
		{"AppendLimited", testAppendLimited},
		{"StreamPlaces", testStreamPlaces},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sa, sb := open(t)
			a, okA := sa.(store.Limiter)
			b, okB := sb.(store.Limiter)
			if !okA || !okB {
				t.Fatalf("%T does not implement store.Limiter", sa)
			}
			tc.fn(t, a, b, sa)
		})
	}
}

// hourly is a bucket of burst tokens that refills at one an hour.
func hourly(burst int) store.Bucket { return store.Bucket{Rate: 1.0 / 3600, Burst: burst} }

// take takes a token on l and fails the test on an error or an unexpected
// answer; a refusal's wait must lie within the bucket's refill time.
func take(t *testing.T, what string, l store.Limiter, key string, b store.Bucket, want bool) {
	t.Helper()
	ok, wait, err := l.Take(t.Context(), key, b)
	if err != nil {
		t.Fatalf("%s: Take(%q): %v", what, key, err)
	}
	if ok != want {
		t.Fatalf("%s: Take(%q) = %v, want %v", what, key, ok, want)
	}
	if !ok && (wait <= 0 || wait > time.Hour) {
		t.Fatalf("%s: Take(%q) refused with retry after %v, want within (0, 1h]", what, key, wait)
	}
}

// testTakeShared: a burst of 4 is 4 over both stores together, and keys
// are apart.
func testTakeShared(t *testing.T, a, b store.Limiter, _ store.Store) {
	for i, l := range []store.Limiter{a, b, b, a} {
		take(t, fmt.Sprintf("token %d of 4", i+1), l, "k1", hourly(4), true)
	}
	take(t, "5th token on a", a, "k1", hourly(4), false)
	take(t, "5th token on b", b, "k1", hourly(4), false)
	take(t, "another key", b, "k2", hourly(4), true)
	// A rate beyond the clock's resolution never refuses.
	for i := range 3 {
		take(t, fmt.Sprintf("fast token %d", i+1), a, "fast", store.Bucket{Rate: 1e12, Burst: 1}, true)
	}
}

// testRefund: a refunded token can be taken again, on the other store, and
// refunds never fill a bucket beyond its burst.
func testRefund(t *testing.T, a, b store.Limiter, _ store.Store) {
	take(t, "token 1", a, "r", hourly(2), true)
	take(t, "token 2", b, "r", hourly(2), true)
	take(t, "token 3", a, "r", hourly(2), false)
	if err := b.Refund(t.Context(), "r", hourly(2)); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	take(t, "token after the refund", a, "r", hourly(2), true)
	take(t, "one more", b, "r", hourly(2), false)
	for range 5 {
		if err := a.Refund(t.Context(), "full", hourly(2)); err != nil {
			t.Fatalf("Refund of a full bucket: %v", err)
		}
	}
	take(t, "full token 1", b, "full", hourly(2), true)
	take(t, "full token 2", b, "full", hourly(2), true)
	take(t, "full token 3", b, "full", hourly(2), false)
}

// testAppendLimited: the bucket of AppendLimited is shared, a refusal is a
// *LimitedError and stores nothing, every call costs a token (an unknown
// room's too), and plain Append takes none.
func testAppendLimited(t *testing.T, a, b store.Limiter, sa store.Store) {
	ctx := t.Context()
	if _, _, err := sa.PutRoom(ctx, "lim", nil); err != nil {
		t.Fatalf("PutRoom: %v", err)
	}
	msg := func(text string) store.NewMessage {
		return store.NewMessage{Room: "lim", Nick: "alice", Kind: chat.KindText, Text: text}
	}
	if _, _, err := a.AppendLimited(ctx, msg("one"), "msg:alice", hourly(3)); err != nil {
		t.Fatalf("AppendLimited 1 on a: %v", err)
	}
	if _, created, err := b.AppendLimited(ctx, msg("two"), "msg:alice", hourly(3)); err != nil || !created {
		t.Fatalf("AppendLimited 2 on b: created %v, %v", created, err)
	}
	unknown := msg("nowhere")
	unknown.Room = "nowhere"
	if _, _, err := b.AppendLimited(ctx, unknown, "msg:alice", hourly(3)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AppendLimited to an unknown room: %v, want ErrNotFound", err)
	}
	_, created, err := a.AppendLimited(ctx, msg("refused"), "msg:alice", hourly(3))
	var le *store.LimitedError
	if !errors.As(err, &le) || !errors.Is(err, store.ErrLimited) || created {
		t.Fatalf("AppendLimited over the burst: created %v, %v; want a *store.LimitedError", created, err)
	}
	if le.RetryAfter <= 0 || le.RetryAfter > time.Hour {
		t.Fatalf("refusal's RetryAfter %v, want within (0, 1h]", le.RetryAfter)
	}
	if _, _, err := sa.Append(ctx, msg("unlimited")); err != nil {
		t.Fatalf("Append beside an empty bucket: %v", err)
	}
	page, _, err := sa.Page(ctx, "lim", store.PageQuery{Limit: 10})
	if err != nil {
		t.Fatalf("Page: %v", err)
	}
	var texts []string
	for _, m := range page {
		texts = append(texts, m.Text)
	}
	if fmt.Sprint(texts) != "[one two unlimited]" {
		t.Fatalf("stored %q, want one, two, unlimited (the refused one not stored)", texts)
	}
}

// testStreamPlaces: max places over both stores; a release frees one for
// either store, once however often it is called.
func testStreamPlaces(t *testing.T, a, b store.Limiter, _ store.Store) {
	ctx := t.Context()
	acquire := func(what string, l store.Limiter, want bool) func() {
		t.Helper()
		release, ok, err := l.AcquireStream(ctx, "streams:alice", 3)
		if err != nil {
			t.Fatalf("%s: AcquireStream: %v", what, err)
		}
		if ok != want {
			t.Fatalf("%s: AcquireStream = %v, want %v", what, ok, want)
		}
		t.Cleanup(release)
		return release
	}
	first := acquire("place 1 on a", a, true)
	acquire("place 2 on b", b, true)
	acquire("place 3 on a", a, true)
	acquire("place 4 on b", b, false)
	acquire("place 4 on a", a, false)
	if _, ok, err := b.AcquireStream(ctx, "streams:bob", 3); err != nil || !ok {
		t.Fatalf("another key: %v, %v", ok, err)
	}
	first()
	first()
	acquire("place 3 again, on b", b, true)
	acquire("one more on a", a, false)
}
