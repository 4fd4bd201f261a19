package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// netHTTPEnds parses stream as net/http's server does (http.ReadRequest, the
// same parser, then the body to its end) and returns the offset where each
// request that net/http took whole ends. It stops at the first error, where
// the server would close the connection.
func netHTTPEnds(stream []byte) []int {
	br := bufio.NewReader(bytes.NewReader(stream))
	var ends []int
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return ends
		}
		if req.ProtoMajor == 1 && req.ProtoMinor >= 1 && req.Host == "" && len(req.Header["Host"]) == 0 {
			return ends // the server answers 400 and closes
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return ends
		}
		ends = append(ends, len(stream)-br.Buffered())
	}
}

// checkFramer feeds stream to a framer in pieces of size step and checks it
// against net/http: at the end of every request net/http took whole, the
// framer has counted exactly as many heads and waits for the next one,
// unless it has stopped following (stLost) or found an ambiguous head.
func checkFramer(t *testing.T, stream []byte, step int) {
	t.Helper()
	ends := netHTTPEnds(stream)
	var f framer
	at := 0
	for i, end := range ends {
		for at < end && f.state < stDone {
			n := min(step, end-at)
			f.scan(stream[at : at+n])
			at += n
		}
		if f.state >= stDone {
			return
		}
		if f.state != stRequestLine || f.lineLen != 0 || f.heads != uint32(i+1) {
			t.Fatalf("%q in steps of %d: after net/http's request %d (offset %d) the framer is in state %d with %d heads",
				stream, step, i+1, end, f.state, f.heads)
		}
	}
}

// FuzzFramerFollowsNetHTTP: the framing guard finds every request where
// net/http finds it, whatever the bytes and however they are split, or
// stops following (and the connection ends after the request in hand).
func FuzzFramerFollowsNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\nHost: x\ntransfer-encoding: CHUNKED\n\n3;ext=1\r\nabc\r\nA  \r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:  2 \r\nContent-Length: 2\r\nX-A: b\r\n  folded\r\n\r\nabGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n 0\r\n\r\n0123456789",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length\t: 1\r\n\r\nxGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nxGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		checkFramer(t, stream, len(stream)+1)
		checkFramer(t, stream, int(step%7)+1)
	})
}

// TestFramerFindsAmbiguousHeads: every spelling of a head with both
// Content-Length and Transfer-Encoding that net/http takes is caught, at
// the right head.
func TestFramerFindsAmbiguousHeads(t *testing.T) {
	good := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
	for _, head := range []string{
		"Content-Length: 5\r\nTransfer-Encoding: chunked",
		"Transfer-Encoding: chunked\r\nContent-Length: 5",
		"transfer-encoding:chunked\r\ncontent-length:5",
		"TRANSFER-ENCODING: \tChUnKeD \r\nCONTENT-LENGTH:\t5",
		"Transfer-Encoding: chunked\nContent-Length: 5",
		"Content-Length: 5\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
		"X-Before: 1\r\nContent-Length: 0\r\nX-Between: 2\r\nTransfer-Encoding: chunked\r\nX-After: 3",
	} {
		stream := good + good + "POST / HTTP/1.1\r\nHost: x\r\n" + head + "\r\n\r\n0\r\n\r\n" + good
		for _, step := range []int{1, 3, len(stream)} {
			var f framer
			for i := 0; i < len(stream); i += step {
				f.scan([]byte(stream[i:min(i+step, len(stream))]))
			}
			if f.state != stSmuggle || f.heads != 3 {
				t.Errorf("%q in steps of %d: state %d at head %d, want the ambiguous head 3", head, step, f.state, f.heads)
			}
		}
		// net/http takes it (as chunked), which is why the guard is needed.
		if ends := netHTTPEnds([]byte(stream)); len(ends) != 4 {
			t.Errorf("%q: net/http took %d requests, want 4 (this test's premise)", head, len(ends))
		}
	}
	if !strings.Contains(errBadFraming.Error(), "bad_framing") {
		t.Fatal(errBadFraming)
	}
}
