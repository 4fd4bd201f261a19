// Package ctxtime holds small time helpers that honour a context, shared by
// the client library and the load generator. It must stay free of anything
// but the standard library.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx ends, whichever comes first, and reports
// whether the whole of d passed. A d of zero or less returns at once,
// reporting whether ctx is still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
