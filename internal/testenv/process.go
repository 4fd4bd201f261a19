package testenv

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a program a test started (usually a binary from Build). Its
// stdout and stderr are kept together in memory so that a failure message
// can show them, and a t.Cleanup kills and reaps it, so no test leaves a
// process or the goroutine waiting on it behind, even when it fails halfway.
type Process struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	out bytes.Buffer
}

// StartProcess starts bin with args. env is the whole environment (see Env);
// nil means the test's own. The test fails at once if the program cannot be
// started.
func StartProcess(t testing.TB, bin string, args []string, env []string) *Process {
	t.Helper()
	p := &Process{t: t, name: filepath.Base(bin), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = (*processOutput)(p), (*processOutput)(p)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	// Wait returns only once the output is copied, so Output is complete
	// after Done.
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	return p
}

// processOutput is the writer both streams of a Process go to.
type processOutput Process

func (w *processOutput) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

// Output returns what the process wrote to stdout and stderr so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Done is closed once the process has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process (a no-op error once it has exited).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill ends the process with SIGKILL, as a crash would, and waits until it
// is reaped. Killing an exited process does nothing.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Wait waits up to timeout for the process to exit and returns its exit
// code (-1 when a signal ended it). If it is still running then, the test
// fails at once with the output; the cleanup kills it.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %v; output:\n%s", p.name, timeout, p.Output())
	}
	return p.cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM and waits up to timeout for the exit, returning the
// exit code. A process that overstays is killed and the test is marked
// failed (not stopped, so Stop also suits a cleanup); it then returns -1.
func (p *Process) Stop(timeout time.Duration) int {
	p.t.Helper()
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.Kill()
		p.t.Errorf("%s did not exit within %v of SIGTERM; output:\n%s", p.name, timeout, p.Output())
		return -1
	}
}

// Run runs bin with args to its end (env nil: this process's environment)
// and returns its exit code, stdout and stderr. A binary that cannot start
// fails the test; a non-zero exit is a result, not a failure, so that the
// commands' help and flag tests can check the code they want.
func Run(t testing.TB, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errOut.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}
