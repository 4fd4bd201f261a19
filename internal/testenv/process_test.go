package testenv

import (
	"strings"
	"testing"
	"time"
)

// TestProcessStopAndOutput: Stop delivers SIGTERM and returns the exit code
// the program chose; Output holds both streams; Kill ends a process that
// ignores SIGTERM and its exit code is then -1.
func TestProcessStopAndOutput(t *testing.T) {
	sh := RequireTool(t, "sh")
	p := StartProcess(t, sh, []string{"-c", `trap 'echo bye >&2; exit 3' TERM; echo "hello $GREETING"; while :; do sleep 0.05; done`},
		Env("GREETING=world"))
	Eventually(t, 10*time.Second, "the greeting", func() bool { return strings.Contains(p.Output(), "hello world") })
	if code := p.Stop(10 * time.Second); code != 3 {
		t.Fatalf("exit code %d after SIGTERM, want 3; output:\n%s", code, p.Output())
	}
	if !strings.Contains(p.Output(), "bye") {
		t.Fatalf("stderr missing from the output: %q", p.Output())
	}

	q := StartProcess(t, sh, []string{"-c", `trap '' TERM; while :; do sleep 0.05; done`}, nil)
	select {
	case <-q.Done():
		t.Fatal("exited at start")
	case <-time.After(100 * time.Millisecond):
	}
	q.Kill()
	if code := q.Wait(time.Second); code != -1 {
		t.Fatalf("exit code %d after SIGKILL, want -1", code)
	}
}
