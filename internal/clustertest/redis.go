// Package clustertest runs the parts of a chat cluster for tests: real
// redis-server processes on free loopback ports and real chat-server
// binaries in front of them. Its own tests are the end-to-end cluster tests;
// it must never be imported by non-test code.
package clustertest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssechat/chat/internal/testenv"
)

// RedisOptions says how to run a test's redis-server.
type RedisOptions struct {
	// Durable turns on the append-only file with appendfsync always, the
	// setting under which a 201 survives kill -9 of Redis. Off, the server
	// keeps nothing on disk, which is faster.
	Durable bool
	// Password, when set, is required of every client (requirepass).
	Password string
	// TLS makes the server speak only TLS, with a certificate from a CA
	// made for the test (Redis.TLS has its files).
	TLS bool
}

// Redis is a redis-server process owned by one test. It is killed when the
// test ends.
type Redis struct {
	t    testing.TB
	bin  string
	opts RedisOptions
	// Dir is the server's working directory (its AOF lives here).
	Dir string
	// Addr is host:port; it stays the same across Stop/Kill and Start.
	Addr string
	// TLS holds the CA and certificate files when RedisOptions.TLS is set.
	TLS  testenv.TLSFiles
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts a redis-server on a free 127.0.0.1 port, or skips the
// test (fails under CI=true) when redis-server is not installed.
func StartRedis(t testing.TB, opts RedisOptions) *Redis {
	t.Helper()
	bin := testenv.RequireTool(t, "redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server")
	r := &Redis{t: t, bin: bin, opts: opts, Dir: t.TempDir()}
	if opts.TLS {
		r.TLS = testenv.NewTLSFiles(t, r.Dir)
	}
	t.Cleanup(func() {
		if r.cmd != nil {
			r.Kill()
		}
	})
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		r.Addr = testenv.FreeAddr(t)
		if err = r.start(); err == nil {
			return r
		}
	}
	t.Fatalf("start redis-server: %v", err)
	return nil
}

// URL returns the URL of database db: redis://, or rediss:// when the
// server speaks TLS (without the CA: the caller adds ca_file if it wants),
// with the password if one is set.
func (r *Redis) URL(db int) string {
	scheme := "redis"
	if r.opts.TLS {
		scheme = "rediss"
	}
	if r.opts.Password != "" {
		return fmt.Sprintf("%s://:%s@%s/%d", scheme, r.opts.Password, r.Addr, db)
	}
	return fmt.Sprintf("%s://%s/%d", scheme, r.Addr, db)
}

// Start starts the server again on the same address and directory, after
// Stop or Kill.
func (r *Redis) Start() {
	r.t.Helper()
	var err error
	for attempt := 0; attempt < 50; attempt++ { // the port may linger briefly
		if err = r.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("restart redis-server on %s: %v", r.Addr, err)
}

func (r *Redis) start() error {
	_, port, _ := net.SplitHostPort(r.Addr)
	portFlag := "--port"
	if r.opts.TLS {
		portFlag = "--tls-port"
	}
	args := []string{
		portFlag, port, "--bind", "127.0.0.1", "--dir", r.Dir,
		"--save", "", "--protected-mode", "no", "--daemonize", "no",
		"--logfile", filepath.Join(r.Dir, "redis.log"),
	}
	if r.opts.Password != "" {
		args = append(args, "--requirepass", r.opts.Password)
	}
	if r.opts.TLS {
		args = append(args, "--port", "0", "--tls-cert-file", r.TLS.Cert, "--tls-key-file", r.TLS.Key,
			"--tls-ca-cert-file", r.TLS.CA, "--tls-auth-clients", "no")
	}
	if r.opts.Durable {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(r.bin, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", r.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(r.Dir, "redis.log"))
			return fmt.Errorf("redis-server exited at start: %s", lastLines(string(log), 5))
		default:
		}
		if r.ping() == nil {
			r.cmd, r.done = cmd, done
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("redis-server on %s did not answer PING within 10s", r.Addr)
}

// Pause freezes the server with SIGSTOP: its connections stay open but
// nothing answers, as with a hung host or a half-open connection.
func (r *Redis) Pause() { _ = r.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (r *Redis) Resume() { _ = r.cmd.Process.Signal(syscall.SIGCONT) }

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (r *Redis) Kill() { r.signal(syscall.SIGKILL) }

// Stop ends the server with SIGTERM (it flushes the AOF) and waits for it.
func (r *Redis) Stop() { r.signal(syscall.SIGTERM) }

func (r *Redis) signal(sig syscall.Signal) {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot handle SIGTERM
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd, r.done = nil, nil
}

// ping sends a PING in the inline protocol (after AUTH when there is a
// password; over TLS when the server speaks it) and wants +PONG (not
// -LOADING).
func (r *Redis) ping() error {
	password := r.opts.Password
	var c net.Conn
	var err error
	if r.opts.TLS {
		cfg, cerr := r.TLS.ClientConfig()
		if cerr != nil {
			return cerr
		}
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", r.Addr, cfg)
	} else {
		c, err = net.DialTimeout("tcp", r.Addr, time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	rd := bufio.NewReader(c)
	if password != "" {
		if _, err := c.Write([]byte("AUTH " + password + "\r\n")); err != nil {
			return err
		}
		if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("redis refused AUTH: %q %v", strings.TrimSpace(line), err)
		}
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := rd.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis answered %q", strings.TrimSpace(line))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
