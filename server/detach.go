package server

import (
	"bytes"
	"net"
	"net/http"
	"time"

	"github.com/ssechat/chat/server/fanout"
)

// responseSink is a stream written through net/http's own buffer (HTTP/2,
// where the connection cannot be taken over): a fanout.Sink that flushes.
type responseSink struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (r responseSink) Write(p []byte) (int, error)        { return r.w.Write(p) }
func (r responseSink) SetWriteDeadline(t time.Time) error { return r.rc.SetWriteDeadline(t) }
func (r responseSink) Flush() error                       { return r.rc.Flush() }

// detach takes the connection over from net/http where it can (HTTP/1.x)
// and returns a writer on it, with the response header already in its
// first batch: "200 OK", w's header fields, and Connection: close, the body
// running to the end of the connection (no chunked framing). A stream left
// in its handler keeps, for as long as it lives, net/http's read and write
// buffers (about 10 KB), its background reader goroutine and the handler's
// stack; a detached one costs two small goroutines and no buffer while
// idle: about a third of the memory per idle stream (docs/benchmarks.md).
// Where the connection cannot be taken over it writes the status and
// returns a writer on w and a nil conn. Either way the batch is begun.
func (s *Server) detach(w http.ResponseWriter) (*fanout.Writer, net.Conn) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		w.WriteHeader(http.StatusOK)
		wr := s.engine.NewWriter(responseSink{w: w, rc: rc})
		wr.Begin()
		return wr, nil
	}
	// The request had no body and a stream's client sends nothing more, so
	// the reader net/http hands over holds nothing; its writer is not used.
	_ = conn.SetDeadline(time.Time{})
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = w.Header().Write(&head)
	head.WriteString("Connection: close\r\n\r\n")
	wr := s.engine.NewWriter(conn)
	wr.Begin()
	_ = wr.Write(head.Bytes()) // buffered: a bare connection's first write is never sent here
	return wr, conn
}

// watchPeer returns when the client closes its connection, or sends
// anything (which a stream's client never does; the stream then ends).
func watchPeer(conn net.Conn) {
	var b [1]byte
	_, _ = conn.Read(b[:])
}
