package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/testenv"
)

// cheapHash keeps the server's password hash fast in tests.
var cheapHash = []string{"--password-memory", "64", "--password-passes", "1"}

// chatServer is a chat-server binary running on a data directory, which
// can be stopped and started again on the same address and data.
type chatServer struct {
	t          *testing.T
	bin        string
	addr, data string
	proc       *testenv.Process
}

func startServer(t *testing.T) *chatServer {
	t.Helper()
	s := &chatServer{t: t, bin: testenv.Build(t, "./cmd/chat-server"), addr: testenv.FreeAddr(t), data: filepath.Join(t.TempDir(), "data")}
	s.start()
	return s
}

func (s *chatServer) url() string { return "http://" + s.addr }

func (s *chatServer) start() {
	s.t.Helper()
	s.proc = testenv.StartProcess(s.t, s.bin, append([]string{"--addr", s.addr, "--data", s.data, "--registration", "open"}, cheapHash...), testenv.Env())
	testenv.WaitHTTP(s.t, s.url()+"/readyz", 30*time.Second)
}

func (s *chatServer) restart() {
	s.t.Helper()
	if code := s.proc.Stop(20 * time.Second); code != 0 {
		s.t.Fatalf("chat-server exited %d: %s", code, s.proc.Output())
	}
	s.start()
}

// api makes one request and decodes a JSON answer into out (when not nil).
func (s *chatServer) api(method, path, token, body string, out any) int {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url()+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			s.t.Fatalf("%s %s: %d, decode: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// login registers nick and returns a session token.
func (s *chatServer) login(nick string) string {
	s.t.Helper()
	var info chat.SessionInfo
	if code := s.api(http.MethodPost, "/api/session", "", `{"nick":"`+nick+`","password":"a good password"}`, &info); code >= 300 {
		s.t.Fatalf("log in %s: %d", nick, code)
	}
	return info.Token
}

// accessToken makes a personal access token with the session.
func (s *chatServer) accessToken(session string) string {
	s.t.Helper()
	var info chat.TokenInfo
	if code := s.api(http.MethodPost, "/api/me/tokens", session, `{"name":"test bot"}`, &info); code != http.StatusCreated {
		s.t.Fatalf("make token: %d", code)
	}
	return info.Token
}

func (s *chatServer) post(token, room, text string) {
	s.t.Helper()
	b, _ := json.Marshal(chat.PostMessage{Text: text})
	if code := s.api(http.MethodPost, "/api/rooms/"+room+"/messages", token, string(b), nil); code != http.StatusCreated {
		s.t.Fatalf("post %q: %d", text, code)
	}
}

func (s *chatServer) history(token, room string) []chat.Message {
	s.t.Helper()
	var page chat.MessagePage
	s.api(http.MethodGet, "/api/rooms/"+room+"/messages", token, "", &page)
	return page.Messages
}

// online waits until nick is online in room: its stream is open.
func (s *chatServer) online(token, room, nick string) {
	s.t.Helper()
	testenv.Eventually(s.t, 30*time.Second, nick+" online in "+room, func() bool {
		var m chat.Members
		s.api(http.MethodGet, "/api/rooms/"+room+"/members", token, "", &m)
		for _, n := range m.Online {
			if n == nick {
				return true
			}
		}
		return false
	})
}

// printedTexts returns the texts of the JSON lines a tail printed.
func printedTexts(t *testing.T, out string) []string {
	t.Helper()
	var texts []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m chat.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("tail printed a line that is not a message: %q: %v", line, err)
		}
		texts = append(texts, m.Text)
	}
	return texts
}

// TestTailAcrossRestarts: chat tail prints each message once, in order,
// across a restart of the server (the client library resumes) and a restart
// of chat tail itself (the cursor file), and starts after the newest
// message when it has no cursor.
func TestTailAcrossRestarts(t *testing.T) {
	testenv.SkipShort(t, "builds and runs chat-server and chat")
	srv := startServer(t)
	chatBin := testenv.Build(t, "./cmd/chat")
	alice := srv.login("alice")
	token := srv.accessToken(alice)
	cursor := filepath.Join(t.TempDir(), "cursor.json")
	env := testenv.Env("CHAT_TOKEN="+token, "CHAT_SERVER="+srv.url(), "CHAT_STATE="+t.TempDir())

	srv.post(alice, "general", "before the tail")
	tail := testenv.StartProcess(t, chatBin, []string{"tail", "--cursor", cursor, "general"}, env)
	srv.online(alice, "general", "alice")
	srv.post(alice, "general", "one")
	srv.post(alice, "general", "two")
	waitTexts(t, tail, 2)

	srv.restart()
	srv.post(alice, "general", "three") // posted while tail may still be reconnecting
	waitTexts(t, tail, 3)
	if code := tail.Stop(20 * time.Second); code != 0 {
		t.Fatalf("chat tail exited %d: %s", code, tail.Output())
	}
	first := printedTexts(t, tail.Output())

	srv.post(alice, "general", "four") // while no tail runs
	tail2 := testenv.StartProcess(t, chatBin, []string{"tail", "--cursor", cursor, "general"}, env)
	waitTexts(t, tail2, 1)
	srv.post(alice, "general", "five")
	waitTexts(t, tail2, 2)
	tail2.Stop(20 * time.Second)
	all := append(first, printedTexts(t, tail2.Output())...)
	want := []string{"one", "two", "three", "four", "five"}
	if strings.Join(all, "|") != strings.Join(want, "|") {
		t.Fatalf("printed %q, want each of %q once, in order", all, want)
	}
}

func waitTexts(t *testing.T, p *testenv.Process, n int) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "chat tail printing its messages", func() bool {
		return len(printedTexts(t, p.Output())) >= n
	})
}

// TestTailTextIsTerminalSafe: --format text prints one line a message with
// control sequences taken out, and a hook's message marked with ⚙.
func TestTailTextIsTerminalSafe(t *testing.T) {
	testenv.SkipShort(t, "builds and runs chat-server and chat")
	srv := startServer(t)
	chatBin := testenv.Build(t, "./cmd/chat")
	alice := srv.login("alice")
	env := testenv.Env("CHAT_TOKEN="+alice, "CHAT_SERVER="+srv.url(), "CHAT_STATE="+t.TempDir())
	var hook chat.HookInfo
	if code := srv.api(http.MethodPost, "/api/rooms/general/hooks", alice, `{"name":"ci"}`, &hook); code != http.StatusCreated {
		t.Fatalf("make hook: %d", code)
	}
	tail := testenv.StartProcess(t, chatBin, []string{"tail", "--format", "text", "--cursor", filepath.Join(t.TempDir(), "c"), "general"}, env)
	srv.online(alice, "general", "alice")
	// The server refuses control characters in a text; bidi overrides,
	// newlines and tabs get through, and must not reach the terminal as
	// they are.
	srv.post(alice, "general", "\u202eevil\tred\nsecond line")
	resp, err := http.Post(hook.URL, "text/plain", strings.NewReader("deployed"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	testenv.Eventually(t, 30*time.Second, "two text lines", func() bool { return strings.Contains(tail.Output(), "deployed") })
	tail.Stop(20 * time.Second)
	out := tail.Output()
	if strings.ContainsAny(out, "\u202e\t") {
		t.Fatalf("text output holds control characters: %q", out)
	}
	if !strings.Contains(out, "#general <alice> ") || !strings.Contains(out, "evil red second line") || !strings.Contains(out, "<⚙ci> deployed") {
		t.Fatalf("text output %q: want one line per message, the hook's marked ⚙", out)
	}
}

// TestSendLoginRooms: chat login saves a session that send and rooms use;
// send --lines posts one message a line.
func TestSendLoginRooms(t *testing.T) {
	testenv.SkipShort(t, "builds and runs chat-server and chat")
	srv := startServer(t)
	chatBin := testenv.Build(t, "./cmd/chat")
	state := t.TempDir()
	env := testenv.Env("CHAT_SERVER="+srv.url(), "CHAT_STATE="+state, "CHAT_NICK=bob", "CHAT_TOKEN=")
	runChat := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(chatBin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("chat %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	runChat("a good password\n", "login")
	runChat("", "send", "general", "hello", "world")
	runChat("first\n\nsecond\n", "send", "--lines", "general")
	if out := runChat("", "rooms"); !strings.HasPrefix(out, "general\t") {
		t.Fatalf("chat rooms: %q", out)
	}
	var texts []string
	for _, m := range srv.history(srv.login("bob"), "general") {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "hello world|first|second" {
		t.Fatalf("history %q, want hello world, first, second", texts)
	}
	cmd := exec.Command(chatBin, "tail", "--all")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not offer yet") {
		t.Fatalf("chat tail --all: %v %s, want a refusal that says why", err, out)
	}
}
