package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// stream, hub and store goroutine must stop when its server closes.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
