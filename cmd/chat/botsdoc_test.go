package main

import (
	"net/http"
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

// docBots returns the shell blocks of docs/bots.md marked for this test,
// by their mark.
func docBots(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "docs", "bots.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- bots-doc-test: (\\w+) -->\n```sh\n(.*?)```")
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestBotsDoc runs the two bots of docs/bots.md as written, against the
// real server, and checks that each answers !ping.
func TestBotsDoc(t *testing.T) {
	testenv.SkipShort(t, "builds and runs chat-server and chat, and the doc's shell bots")
	sh := testenv.RequireTool(t, "sh")
	testenv.RequireTool(t, "curl")
	bots := docBots(t)
	if len(bots) != 2 {
		t.Fatalf("docs/bots.md has %d marked bots, want the chat one and the curl one", len(bots))
	}
	srv := startServer(t)
	chatBin := testenv.Build(t, "./cmd/chat")
	alice := srv.login("alice")
	if code := srv.api(http.MethodPut, "/api/rooms/ops", alice, "", nil); code >= 300 {
		t.Fatalf("make room ops: %d", code)
	}
	for _, name := range []string{"chat", "curl"} {
		t.Run(name, func(t *testing.T) {
			bot := srv.login("bot" + name)
			token := srv.accessToken(bot)
			cmd := exec.Command(sh, "-c", bots[name])
			cmd.Env = testenv.Env("CHAT_TOKEN="+token, "CHAT_SERVER="+srv.url(),
				"CHAT_STATE="+t.TempDir(), "PATH="+filepath.Dir(chatBin)+":"+os.Getenv("PATH"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			defer func() {
				// The pipeline's processes share the group the shell leads.
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-done
				}
			}()
			srv.online(alice, "ops", "bot"+name)
			srv.post(alice, "ops", "!ping")
			testenv.Eventually(t, 30*time.Second, "the "+name+" bot's pong", func() bool {
				for _, m := range srv.history(alice, "ops") {
					if m.Nick == "bot"+name && m.Text == "pong" {
						return true
					}
				}
				return false
			})
		})
	}
}
