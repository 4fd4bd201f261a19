package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssechat/chat/internal/testenv"
)

// TestPageMarksBotMessages: a message an incoming webhook posted shows a
// "bot" tag beside its author; a person's message shows none.
func TestPageMarksBotMessages(t *testing.T) {
	testenv.SkipShort(t, "starts chromium and the server binary")
	browserStarted := startBrowser(t)
	srv := startChatServer(t)
	browser := browserStarted()
	alice := newSession(t, browser, "alice", 1280, 800)
	alice.login(srv.URL, "alice")

	c := login(t, srv.URL, "bob")
	hook, err := c.CreateHook(context.Background(), "general", "alice")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(hook.URL, "application/json", strings.NewReader(`{"text":"deploy done","username":"someone"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	send(t, c, "general", "a person wrote this")
	alice.waitText("deploy done")
	alice.waitText("a person wrote this")
	tags := eval[[]string](alice, `[...document.querySelectorAll("#messages > li.msg")].map(li =>
		li.querySelector(".text").textContent + "|" + li.querySelector(".author").textContent + "|" + (li.querySelector(".meta .bot")?.textContent ?? ""))`)
	want := map[string]bool{"deploy done|alice|bot": false, "a person wrote this|bob|": false}
	for _, tag := range tags {
		if _, ok := want[tag]; ok {
			want[tag] = true
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("the page shows %q, want an entry %q (text|author|tag)", tags, k)
		}
	}
}
