package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssechat/chat/internal/testenv"
)

// startNginx runs nginx with deploy/nginx/chat.conf in front of the given
// nodes and returns its base URL. Only the upstream servers and the listen
// line of the shipped file are replaced.
func startNginx(t *testing.T, nodes ...*node) string {
	t.Helper()
	bin := testenv.RequireTool(t, "nginx", "/usr/sbin/nginx")
	conf, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "deploy", "nginx", "chat.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var servers []string
	for _, n := range nodes {
		servers = append(servers, "server "+strings.TrimPrefix(n.URL, "http://")+" max_fails=1 fail_timeout=5s;")
	}
	upstream := regexp.MustCompile(`(?m)^\s*server 127\.0\.0\.1:\d+ [^\n]*;\n`)
	if len(upstream.FindAll(conf, -1)) == 0 {
		t.Fatal("deploy/nginx/chat.conf has no upstream server lines of the form the test replaces")
	}
	first := true
	site := upstream.ReplaceAllFunc(conf, func([]byte) []byte {
		if !first {
			return nil
		}
		first = false
		return []byte("    " + strings.Join(servers, "\n    ") + "\n")
	})
	addr := testenv.FreeAddr(t)
	listen := regexp.MustCompile(`(?m)^\s*listen 80;`)
	if !listen.Match(site) {
		t.Fatal("deploy/nginx/chat.conf has no 'listen 80;' line for the test to replace")
	}
	site = listen.ReplaceAll(site, []byte("    listen "+addr+";"))

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "chat.conf"), site, 0o600); err != nil {
		t.Fatal(err)
	}
	// A single nginx process as the test's user, everything in dir.
	main := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/chat.conf;
}
`, dir)
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", mainPath).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects the config: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", mainPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", tail(string(b), 20))
		}
	})
	base := "http://" + addr
	testenv.WaitHTTP(t, base+"/healthz", 10*time.Second)
	return base
}

// TestNginxInFrontOfTwoNodes: the shipped nginx config in front of two nodes
// on one Redis. Streams through nginx deliver every message as it is posted
// (a buffering proxy would hold them back and the test would time out), and
// when one node is killed the streams it carried reconnect through nginx to
// the other node and resume with Last-Event-ID: nothing lost, nothing twice.
func TestNginxInFrontOfTwoNodes(t *testing.T) {
	c := newCluster(t, false, 2)
	n1, n2 := c.nodes[0], c.nodes[1]
	lb := startNginx(t, n1, n2)
	through := func() string { return lb }
	for i := range 4 { // round robin puts them on both nodes
		c.subscribe(fmt.Sprintf("s%d", i), through)
	}
	p := c.poster("p", func() []string { return []string{lb} })

	// One message at a time: each must come through before the next is
	// posted, so nothing can sit in a proxy buffer.
	for i := range 5 {
		c.post(1, 0, p)
		want := i + 1
		for _, s := range c.subs {
			testenv.Eventually(t, 5*time.Second, fmt.Sprintf("%s to get message %d through nginx", s.name, want), func() bool { return s.count() >= want })
		}
	}

	killed := make(chan bool, 1)
	go func() {
		ok := waitUntil(20*time.Second, func() bool { return len(p.messages()) >= 60 })
		n1.Kill()
		killed <- ok
	}()
	c.post(150, 2*time.Millisecond, p)
	if !<-killed {
		t.Fatal("node 1 was killed only after the posting: the test needs the kill mid-run")
	}
	c.checkAll(n2.URL, p)
	reconnected := 0
	for _, s := range c.subs {
		if s.connected() > 1 {
			reconnected++
		}
	}
	if reconnected == 0 {
		t.Fatal("no stream went through node 1: the test did not exercise the failover")
	}
	t.Logf("%d of %d streams moved to node 2 through nginx", reconnected, len(c.subs))
}
