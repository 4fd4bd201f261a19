package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ssechat/chat/server/web"
)

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// checkSecurityHeaders fails the test unless h carries the page's security
// headers. The e2e tests use the same rules on the real server.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{
		"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
		"frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "*") || strings.Contains(csp, "http") {
		t.Errorf("%s: Content-Security-Policy %q allows more than this origin", what, csp)
	}
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
}

func TestHandlerServesFilesWithHeaders(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/app.js"`},
		{"/ids.js", "text/javascript; charset=utf-8", "const ChatIDs"},
		{"/index.html", "text/html; charset=utf-8", `<div id="chat-view"`},
		{"/app.js", "text/javascript; charset=utf-8", "new EventSource("},
		{"/style.css", "text/css; charset=utf-8", "prefers-color-scheme"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp, body := get(t, srv.URL+tc.path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", tc.path, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", tc.path, got)
		}
		checkSecurityHeaders(t, "GET "+tc.path, resp.Header)
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	resp, _ := get(t, srv.URL+"/app.js", nil)
	etag := resp.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
		t.Fatalf("ETag %q is not a strong content hash", etag)
	}
	resp, body := get(t, srv.URL+"/app.js", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation: status %d with %d bytes, want 304 and none", resp.StatusCode, len(body))
	}
	resp, _ = get(t, srv.URL+"/app.js", map[string]string{"If-None-Match": `"stale"`})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stale ETag: status %d, want 200", resp.StatusCode)
	}
}

func TestHandlerRefusesUnknownPathsAndMethods(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, p := range []string{"/nope", "/static/app.js", "/../go.mod", "/app.js/", "/index.html/x"} {
		resp, _ := get(t, srv.URL+p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
		checkSecurityHeaders(t, "GET "+p, resp.Header)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, srv.URL+"/", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /: status %d, want 405", m, resp.StatusCode)
		}
	}
}

// TestPageHasNoInlineCodeOrForeignOrigins reads the served files: the CSP
// would block inline script and style and foreign loads, so any of them is a
// bug; and the script must never parse strings as markup.
func TestPageHasNoInlineCodeOrForeignOrigins(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	_, html := get(t, srv.URL+"/", nil)
	for _, re := range []string{
		`<script(\s[^>]*)?>\s*[^<\s]`,     // a script with inline content
		`<script(?:\s(?:[^s>]|s[^r])*)?>`, // a script without src
		`<style`, `\sstyle\s*=`, `\son[a-z]+\s*=`, `javascript:`,
		`(?:src|href)\s*=\s*"(?:https?:)?//`,
	} {
		if loc := regexp.MustCompile(`(?i)` + re).FindStringIndex(html); loc != nil {
			t.Errorf("index.html matches %s at %q", re, html[loc[0]:min(len(html), loc[1]+20)])
		}
	}
	_, app := get(t, srv.URL+"/app.js", nil)
	_, ids := get(t, srv.URL+"/ids.js", nil)
	js := app + ids
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser", "createContextualFragment", "http://", "https://"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js contains %q", bad)
		}
	}
	_, css := get(t, srv.URL+"/style.css", nil)
	if strings.Contains(css, "@import") || strings.Contains(css, "url(") {
		t.Errorf("style.css loads other files")
	}
}

// TestStyleIsolatesUserText: style.css gives every element that shows text a
// user wrote (message text and author, the nick and text of an action, the
// topic, the online list, our own nick) unicode-bidi: isolate, so a bidi
// override in one of them cannot reorder what stands beside it. The
// end-to-end test checks the computed style in Chromium as well.
func TestStyleIsolatesUserText(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	_, css := get(t, srv.URL+"/style.css", nil)
	css = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(css, "")
	isolated := map[string]bool{}
	for _, rule := range strings.Split(css, "}") {
		sel, body, ok := strings.Cut(rule, "{")
		if !ok || !regexp.MustCompile(`(?:^|[;\s])unicode-bidi\s*:\s*isolate\s*(?:;|$)`).MatchString(strings.TrimSpace(body)) {
			continue
		}
		for _, s := range strings.Split(sel, ",") {
			isolated[strings.Join(strings.Fields(s), " ")] = true
		}
	}
	for _, want := range []string{".msg .author", ".msg .text", ".msg .text .nick", ".msg .text .body", ".topic", ".presence-list li", ".me .nick"} {
		if !isolated[want] {
			t.Errorf("style.css has no unicode-bidi: isolate for %q (isolated: %v)", want, isolated)
		}
	}
}
