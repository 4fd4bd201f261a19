package web_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
		{"/", "text/html; charset=utf-8", `<script type="module" src="/app.js">`},
		{"/ids.js", "text/javascript; charset=utf-8", "export function compare("},
		{"/index.html", "text/html; charset=utf-8", `<div id="chat-view"`},
		{"/app.js", "text/javascript; charset=utf-8", `from "./connection.js"`},
		{"/connection.js", "text/javascript; charset=utf-8", "new EventSource("},
		{"/style.css", "text/css; charset=utf-8", "prefers-color-scheme"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
		{"/send", "text/html; charset=utf-8", `<script type="module" src="/send.js">`},
		{"/view/general", "text/html; charset=utf-8", `<script type="module" src="/view.js">`},
		{"/view/dm-anything_at-all", "text/html; charset=utf-8", `<script type="module" src="/view.js">`},
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
	for _, p := range []string{"/nope", "/static/app.js", "/../go.mod", "/app.js/", "/index.html/x", "/send/", "/view/", "/view", "/view/a/b"} {
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
	for _, page := range pages {
		_, html := get(t, srv.URL+page, nil)
		for _, re := range []string{
			`<script(\s[^>]*)?>\s*[^<\s]`,     // a script with inline content
			`<script(?:\s(?:[^s>]|s[^r])*)?>`, // a script without src
			`<style`, `\sstyle\s*=`, `\son[a-z]+\s*=`, `javascript:`,
			`(?:src|href)\s*=\s*"(?:https?:)?//`,
		} {
			if loc := regexp.MustCompile(`(?i)` + re).FindStringIndex(html); loc != nil {
				t.Errorf("%s matches %s at %q", page, re, html[loc[0]:min(len(html), loc[1]+20)])
			}
		}
	}
	for name, js := range pageModules(t, srv.URL) {
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser", "createContextualFragment", "http://", "https://"} {
			if strings.Contains(js, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
	_, css := get(t, srv.URL+"/style.css", nil)
	if strings.Contains(css, "@import") || strings.Contains(css, "url(") {
		t.Errorf("style.css loads other files")
	}
}

// pages are the addresses of the HTML pages Handler serves: the app, and
// the seed's send form and wall display.
var pages = []string{"/", "/send", "/view/general"}

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

var (
	moduleScriptRE  = regexp.MustCompile(`<script type="module" src="([^"]+)"></script>`)
	modulePreloadRE = regexp.MustCompile(`<link rel="modulepreload" href="([^"]+)">`)
	// importRE finds the static imports of a module; the page has no
	// dynamic ones.
	importRE = regexp.MustCompile(`(?ms)^(?:import|export)\s[^;]*?\sfrom\s+"([^"]*)";`)
)

// pageModules returns the modules of every page Handler serves (see
// modulesOf), each module's text by its path.
func pageModules(t *testing.T, base string) map[string]string {
	t.Helper()
	all := map[string]string{}
	for _, page := range pages {
		maps.Copy(all, modulesOf(t, base, page))
	}
	return all
}

// modulesOf loads one page's scripts the way a browser does: the module
// scripts of the page's HTML, then every module they import. It fails the
// test unless each is served as JavaScript (a browser refuses a module of
// another type) and is imported by a same-directory path. It returns each
// module's text by its path.
func modulesOf(t *testing.T, base, page string) map[string]string {
	t.Helper()
	_, html := get(t, base+page, nil)
	var queue []string
	for _, m := range moduleScriptRE.FindAllStringSubmatch(html, -1) {
		queue = append(queue, m[1])
	}
	if len(queue) == 0 {
		t.Fatalf("%s loads no module script", page)
	}
	modules := map[string]string{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if _, ok := modules[p]; ok {
			continue
		}
		resp, body := get(t, base+p, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", p, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, which a browser refuses for a module", p, ct)
		}
		modules[p] = body
		for _, m := range importRE.FindAllStringSubmatch(body, -1) {
			spec := m[1]
			name, ok := strings.CutPrefix(spec, "./")
			if !ok || strings.Contains(name, "/") || !strings.HasSuffix(name, ".js") {
				t.Errorf("%s imports %q; the page's modules import only ./NAME.js", p, spec)
				continue
			}
			queue = append(queue, "/"+name)
		}
	}
	return modules
}

// importsOf returns the paths a module imports, as served ("/x.js").
func importsOf(js string) []string {
	var out []string
	for _, m := range importRE.FindAllStringSubmatch(js, -1) {
		out = append(out, "/"+strings.TrimPrefix(m[1], "./"))
	}
	return out
}

// TestPageModules checks the pages' ES modules as a whole: every script
// file in static/ is reached from a page (nothing dead is shipped), every
// module a page imports is preloaded by that page's HTML (so a browser
// fetches them all at once instead of one import level after another, each
// a round trip to revalidate), and the imports have no cycle (each module
// builds on the ones below it; a lower one reaches a higher one only
// through hooks app.js wires).
func TestPageModules(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	all := pageModules(t, srv.URL)

	files, err := filepath.Glob("static/*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if p := "/" + filepath.Base(f); all[p] == "" {
			t.Errorf("%s is embedded but no page's module imports it", p)
		}
	}

	for _, page := range pages {
		modules := modulesOf(t, srv.URL, page)
		_, html := get(t, srv.URL+page, nil)
		preloaded := map[string]bool{}
		for _, m := range modulePreloadRE.FindAllStringSubmatch(html, -1) {
			preloaded[m[1]] = true
			if modules[m[1]] == "" {
				t.Errorf("%s preloads %s, which none of its modules imports", page, m[1])
			}
		}
		entries := map[string]bool{}
		for _, m := range moduleScriptRE.FindAllStringSubmatch(html, -1) {
			entries[m[1]] = true
		}
		for p := range modules {
			if !entries[p] && !preloaded[p] {
				t.Errorf("%s does not preload %s", page, p)
			}
		}

		// Depth-first search for a cycle: state 1 is on the current path.
		state := map[string]int{}
		var visit func(p string, path []string)
		visit = func(p string, path []string) {
			switch state[p] {
			case 1:
				t.Errorf("import cycle: %s", strings.Join(append(path, p), " -> "))
				return
			case 2:
				return
			}
			state[p] = 1
			for _, q := range importsOf(modules[p]) {
				visit(q, append(path, p))
			}
			state[p] = 2
		}
		for p := range entries {
			visit(p, nil)
		}
	}
}

// TestModulesRevalidate: each module answers a matching If-None-Match with
// 304, so a reload costs a round trip per module and no bytes.
func TestModulesRevalidate(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for p := range pageModules(t, srv.URL) {
		resp, _ := get(t, srv.URL+p, nil)
		etag := resp.Header.Get("ETag")
		resp, body := get(t, srv.URL+p, map[string]string{"If-None-Match": etag})
		if etag == "" || resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET %s with If-None-Match %s: status %d, %d bytes; want 304 and none", p, etag, resp.StatusCode, len(body))
		}
	}
}
