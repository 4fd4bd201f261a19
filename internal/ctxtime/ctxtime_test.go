package ctxtime

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("a short sleep on a live context did not report its full wait")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("a sleep on an ended context reported a full wait")
	}
	if Sleep(ctx, 0) || !Sleep(context.Background(), 0) {
		t.Fatal("a zero sleep must report whether the context is live")
	}
}
