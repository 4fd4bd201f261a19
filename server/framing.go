package server

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// A request with both Content-Length and Transfer-Encoding is the tool of
// request smuggling: a proxy in front that frames the body by its length
// forwards, as part of it, a second request that net/http, which frames it
// as chunked, then runs on its own. Go 1.26's net/http drops the
// Content-Length before any handler sees the request (and keeps the
// connection), so the request cannot be recognised in a handler: the
// framingGuard below reads the request heads as the bytes go by, beside
// net/http, and the handler chain (refuseBadFraming) answers such a request
// 400 bad_framing and closes the connection, so whatever follows it in the
// same bytes never runs.
//
// The guard is on plain-HTTP connections only (the usual set-up behind a
// proxy): under TLS the bytes it would see are encrypted, and net/http needs
// the *tls.Conn itself to offer HTTP/2. Over TLS an HTTP/1 connection is
// instead closed after every chunked request, as RFC 9112 requires of a
// server that processes a request with both framings, so nothing can follow
// one on its connection either.

// framingGuard is a server connection that follows HTTP/1.1 message
// framing on what net/http reads from it: the heads (request line, header
// fields) and, to find the next head, the bodies (by Content-Length or
// chunked). It follows the same rules as net/http; where it cannot be sure
// to, it stops following and the connection ends after the request in
// hand, which costs a well-behaved client at most a new connection. It
// reads nothing of its own and holds no buffer: a few dozen bytes of state.
//
// Heads are counted, and so are the requests the handler chain is given
// (every head reaches it: Serve turns net/http's own OPTIONS * handler
// off), so the request at the ambiguous head is the one refused, even when
// the well-framed requests pipelined before it were read in the same bytes.
type framingGuard struct {
	net.Conn
	served    atomic.Uint32 // requests given to the handler chain
	smuggleAt atomic.Uint32 // the number of the ambiguous head; 0: none
	lost      atomic.Bool   // the framer stopped following
	f         framer        // touched only by Read, which net/http never calls concurrently
}

func (g *framingGuard) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n > 0 && g.f.state < stDone {
		g.f.scan(p[:n])
		switch g.f.state {
		case stLost:
			g.lost.Store(true)
		case stSmuggle:
			g.smuggleAt.Store(g.f.heads)
		}
	}
	return n, err
}

// CloseWrite passes a half-close down (see limit.AddrConnCap).
func (g *framingGuard) CloseWrite() error {
	if cw, ok := g.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// guardListener wraps every accepted connection in a framingGuard.
type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingGuard{Conn: c}, nil
}

type guardKey struct{}

// guardContext is http.Server.ConnContext: it makes a connection's guard
// known to the handler chain.
func guardContext(ctx context.Context, c net.Conn) context.Context {
	if g, ok := c.(*framingGuard); ok {
		return context.WithValue(ctx, guardKey{}, g)
	}
	return ctx
}

// refuseBadFraming answers 400 bad_framing, and closes the connection, for
// a request whose head had both Content-Length and Transfer-Encoding. On a
// connection the guard has stopped following, and on a connection without a
// guard (TLS), an HTTP/1 request is answered with Connection: close where
// it might hide another request.
func (s *Server) refuseBadFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			next.ServeHTTP(w, r)
			return
		}
		g, _ := r.Context().Value(guardKey{}).(*framingGuard)
		if g == nil {
			if len(r.TransferEncoding) > 0 {
				w.Header().Set("Connection", "close")
			}
			next.ServeHTTP(w, r)
			return
		}
		n := g.served.Add(1)
		if at := g.smuggleAt.Load(); at != 0 && at <= n {
			s.log.Debug("refused a request with both Content-Length and Transfer-Encoding", "method", r.Method, "path", r.URL.Path)
			// Connection: close makes net/http close after the answer
			// without reading the body, or anything after it.
			w.Header().Set("Connection", "close")
			s.writeError(w, r, errBadFraming)
			return
		}
		if g.lost.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// States of a framer. The ones from stDone on are final.
const (
	stRequestLine  = iota // the request line
	stFieldName           // a header line, up to its colon; an empty one ends the head
	stFieldValue          // its value, up to the end of the line
	stFold                // a continuation line (obs-fold) of another field
	stBody                // left bytes of a Content-Length body
	stChunkSize           // a chunk-size line
	stChunkExt            // a chunk extension, up to the end of the line
	stChunkSizeEnd        // the LF after a chunk line's CR
	stChunkData           // left bytes of a chunk
	stChunkCR             // the CRLF after a chunk's data
	stChunkLF             //
	stTrailerCR           // the empty trailer section's CRLF
	stTrailerLF           //
	stDone                // final states from here
	stLost                // something not followed; stop
	stSmuggle             // both Content-Length and Transfer-Encoding
)

// Header fields a framer looks at.
const (
	fieldOther = iota
	fieldCL
	fieldTE
)

const (
	nameCL = "content-length"
	nameTE = "transfer-encoding"
)

// framer is the state of framingGuard's scan. It follows net/http (Go
// 1.26): a head line ends in LF with an optional CR before it (a CR
// anywhere else in a head net/http refuses); the request line ends in the
// version; field names match without regard to case; values lose spaces and
// tabs around them; a chunk line ends in CRLF exactly, its size in hex (at
// most 16 digits) followed by spaces or tabs, or by an extension after a
// ';'; chunk data is followed by CRLF. Where net/http refuses the request
// (and closes the connection) or the framer is not sure to follow it (a
// continuation line of a framing field, a trailer field, a version other
// than 1.0 and 1.1), it stops (stLost).
type framer struct {
	state uint8
	heads uint32 // heads ended so far, this one included once it has
	left  uint64 // bytes of body or chunk data still to come

	tail    uint64 // the last eight bytes of the request line
	cl      uint64 // the value of Content-Length
	lineLen int32  // bytes of the current head line so far
	cr      bool   // a CR was the last byte of a head line
	http10  bool
	field   uint8 // the framing field of the current header line
	prev    uint8 // that of the line before (for continuation lines)
	nameCL  int8  // bytes of the name matching "content-length" so far; -1: no match
	nameTE  int8  // the same for "transfer-encoding"
	nvalue  uint8
	value   [24]byte // the value of a Content-Length or Transfer-Encoding field
	long    bool     // ... which was longer than that

	hasCL, hasTE, teChunked, clBad bool
	hex                            int8 // digits of the chunk size so far
	ows                            bool // white space after the chunk size
}

func (f *framer) lost() { f.state = stLost }

// scan follows p, the next bytes of the connection.
func (f *framer) scan(p []byte) {
	for i := 0; i < len(p) && f.state < stDone; i++ {
		if f.state == stBody || f.state == stChunkData { // skipped whole
			n := min(uint64(len(p)-i), f.left)
			f.left -= n
			i += int(n) - 1
			if f.left == 0 {
				if f.state == stBody {
					f.startHead()
				} else {
					f.state = stChunkCR
				}
			}
			continue
		}
		if f.state <= stFold {
			f.headByte(p[i])
		} else {
			f.chunkByte(p[i])
		}
	}
}

func (f *framer) startHead() { *f = framer{state: stRequestLine, heads: f.heads} }

// headByte takes a byte of the request line or a header line.
func (f *framer) headByte(b byte) {
	if f.cr {
		f.cr = false
		if b != '\n' {
			f.lost() // a CR inside a head line
			return
		}
		f.endLine()
		return
	}
	switch b {
	case '\r':
		f.cr = true
		return
	case '\n':
		f.endLine()
		return
	}
	switch f.state {
	case stRequestLine:
		f.tail = f.tail<<8 | uint64(b)
	case stFieldName:
		if f.lineLen == 0 && (b == ' ' || b == '\t') {
			if f.prev != fieldOther {
				f.lost() // a continuation of Content-Length or Transfer-Encoding
				return
			}
			f.state = stFold
			return
		}
		if b == ':' {
			f.field = fieldOther
			if int(f.nameCL) == len(nameCL) {
				f.field = fieldCL
			} else if int(f.nameTE) == len(nameTE) {
				f.field = fieldTE
			}
			f.state, f.nvalue, f.long = stFieldValue, 0, false
			return
		}
		f.nameCL = matchByte(f.nameCL, nameCL, b|0x20)
		f.nameTE = matchByte(f.nameTE, nameTE, b|0x20)
	case stFieldValue:
		if f.field == fieldOther || (f.nvalue == 0 && (b == ' ' || b == '\t')) {
			break
		}
		if int(f.nvalue) == len(f.value) {
			f.long = true
			break
		}
		f.value[f.nvalue] = b
		f.nvalue++
	}
	f.lineLen++
}

// endLine ends a head line at its LF.
func (f *framer) endLine() {
	switch f.state {
	case stRequestLine:
		// The version is the request line's last eight bytes.
		switch f.tail {
		case version11:
		case version10:
			f.http10 = true
		default:
			f.lost()
			return
		}
		f.state = stFieldName
	case stFieldName:
		if f.lineLen > 0 {
			f.lost() // a line without a colon: net/http refuses it
			return
		}
		f.endHead()
		return
	case stFieldValue:
		f.endField()
		f.state = stFieldName
	case stFold:
		f.state = stFieldName
	}
	f.lineLen, f.nameCL, f.nameTE = 0, 0, 0
}

// version11 and version10 are "HTTP/1.1" and "HTTP/1.0" as eight bytes.
const (
	versionPrefix = uint64('H')<<56 | uint64('T')<<48 | uint64('T')<<40 | uint64('P')<<32 |
		uint64('/')<<24 | uint64('1')<<16 | uint64('.')<<8
	version11 = versionPrefix | '1'
	version10 = versionPrefix | '0'
)

// matchByte advances a match of name by c, lower-cased.
func matchByte(at int8, name string, c byte) int8 {
	if at < 0 || int(at) >= len(name) || name[at] != c {
		return -1
	}
	return at + 1
}

// endField takes the value of a header line.
func (f *framer) endField() {
	v := f.value[:f.nvalue]
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	switch f.field {
	case fieldCL:
		n, ok := parseDecimal(v)
		if f.long || !ok || (f.hasCL && n != f.cl) {
			f.clBad = true
		}
		f.hasCL, f.cl = true, n
	case fieldTE:
		// net/http takes a single Transfer-Encoding field, "chunked".
		f.teChunked = !f.hasTE && !f.long && asciiEqualFold(v, "chunked")
		f.hasTE = true
	}
	f.prev = f.field
}

// endHead decides, at the empty line, how the body is framed.
func (f *framer) endHead() {
	f.heads++
	switch {
	case f.hasCL && f.hasTE:
		f.state = stSmuggle
	case f.hasTE && !f.http10:
		if !f.teChunked {
			f.lost() // net/http answers 501 and closes
			return
		}
		f.state, f.left, f.hex, f.ows = stChunkSize, 0, 0, false
	case f.hasCL && f.clBad:
		f.lost() // net/http answers 400 and closes
	case f.hasCL && f.cl > 0:
		f.state, f.left = stBody, f.cl
	default:
		// No body. (net/http ignores Transfer-Encoding in HTTP/1.0.)
		f.startHead()
	}
}

// chunkByte takes a byte of chunked framing.
func (f *framer) chunkByte(b byte) {
	switch f.state {
	case stChunkSize:
		switch {
		case isHex(b) && !f.ows:
			if f.hex++; f.hex > 16 {
				f.lost()
				return
			}
			f.left = f.left<<4 | uint64(unhex(b))
		case (b == ' ' || b == '\t') && f.hex > 0:
			f.ows = true
		case b == ';' && f.hex > 0 && !f.ows:
			f.state = stChunkExt
		case b == '\r' && f.hex > 0:
			f.state = stChunkSizeEnd
		default:
			f.lost()
		}
	case stChunkExt:
		switch b {
		case '\r':
			f.state = stChunkSizeEnd
		case '\n':
			f.lost() // a bare LF ends no chunk line
		}
	case stChunkSizeEnd:
		switch {
		case b != '\n':
			f.lost()
		case f.left == 0:
			f.state = stTrailerCR
		default:
			f.state = stChunkData
		}
	case stChunkCR, stTrailerCR:
		if b != '\r' {
			f.lost() // trailer fields: nobody sends them; not followed
			return
		}
		f.state++
	case stChunkLF:
		if b != '\n' {
			f.lost()
			return
		}
		f.state, f.hex, f.ows = stChunkSize, 0, false
	case stTrailerLF:
		if b != '\n' {
			f.lost()
			return
		}
		f.startHead()
	}
}

func parseDecimal(v []byte) (uint64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

func asciiEqualFold(v []byte, s string) bool {
	if len(v) != len(s) {
		return false
	}
	for i := range v {
		if v[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

func unhex(b byte) byte {
	switch {
	case b <= '9':
		return b - '0'
	case b >= 'a':
		return b - 'a' + 10
	}
	return b - 'A' + 10
}
