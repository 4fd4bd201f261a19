// Package web serves the browser front end of the chat: one page of plain
// HTML, CSS and JavaScript ES modules (static/app.js and what it imports)
// embedded in the binary, with no build step and nothing loaded from another
// origin. It must never put user text into the page as markup: the modules
// insert it with textContent, and the strict Content-Security-Policy set here
// refuses inline script and style anyway.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is the policy sent with every answer of Handler. It
// allows only this origin's own files: no inline script or style, no eval,
// no framing, no foreign connections.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; manifest-src 'self'; font-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// contentTypes is fixed here rather than read from the system's mime tables,
// so the page is served the same on every machine (nosniff makes a wrong
// type fatal for scripts and styles, and a browser refuses a module script
// of any type but JavaScript).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
	".png":  "image/png",
}

// asset is one embedded file, read once at start-up.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler returns the handler for the page and its files, meant to be mounted
// at "/". "/" and "/index.html" serve the page, "/send" and "/view/{room}"
// the seed's two simple pages; other paths serve the embedded file of that
// name or 404. Every answer carries the security
// headers. Files are revalidated on each load (no-cache with a strong ETag
// taken from their content), so a new binary's page is never mixed with an
// old cached script. The handler is safe for concurrent use.
func Handler() http.Handler {
	assets := map[string]asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = http.DetectContentType(b)
		}
		sum := sha256.Sum256(b)
		assets[strings.TrimPrefix(p, "static")] = asset{
			body:        b,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	if err != nil {
		// The files are compiled in; failing to read them is a build defect.
		panic("web: read embedded files: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		setSecurityHeaders(h)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := pagePath(r.URL.Path)
		a, ok := assets[p]
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(a.body))
	})
}

// pagePath maps an address to the embedded file that answers it: the app
// at "/", the seed's two simple pages at "/send" and "/view/{room}" (one
// file for every room: view.js reads the room from the address and asks
// the API, which answers a room the visitor cannot read as missing), and
// any other path to the file of that name.
func pagePath(p string) string {
	switch {
	case p == "/":
		return "/index.html"
	case p == "/send":
		return "/send.html"
	case strings.HasPrefix(p, "/view/") && len(p) > len("/view/") && !strings.Contains(p[len("/view/"):], "/"):
		return "/view.html"
	}
	return p
}

// setSecurityHeaders sets the headers every answer of the page carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}
