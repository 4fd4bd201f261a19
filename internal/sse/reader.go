package sse

import (
	"bufio"
	"bytes"
	"io"
)

// Block is what one block of a stream (its lines up to a blank line) left
// behind, as the HTML standard's event stream interpretation reads it. The
// byte slices stay valid until the next call to Reader.Next.
type Block struct {
	// Type is the event type; empty means "message".
	Type []byte
	// Data is the data lines joined by LF; HasData says whether the block
	// had a data field at all. A browser dispatches an event only then.
	Data    []byte
	HasData bool
	// ID is this block's own id field and HasID whether it had one; an id
	// holding NUL is ignored, as the standard says.
	ID    []byte
	HasID bool
	// LastID is the stream's last event ID after this block: the id the
	// standard gives the event (and sends back on reconnecting). It is kept
	// from block to block until an id field changes it.
	LastID []byte
	// Retry is the reconnection time in milliseconds that a retry field of
	// only ASCII digits set in this block; HasRetry says whether one did.
	Retry    int64
	HasRetry bool
	// Comment is the text after the colon of the block's last comment line
	// (leading space included); HasComment says whether it had one.
	Comment    []byte
	HasComment bool
}

// Dispatched reports whether a browser's EventSource would fire an event
// for this block: only when it had data.
func (b *Block) Dispatched() bool { return b.HasData }

// Reader reads a Server-Sent Events stream by the HTML standard's rules:
// lines end in CR, LF or CRLF; a leading byte order mark is skipped; a line
// starting with a colon is a comment; a field without a colon has an empty
// value; one space after the colon is removed; unknown fields are ignored.
// It allocates only when a line is longer than its buffer (once, reused)
// or a field outgrows the space the previous blocks left.
type Reader struct {
	r       *bufio.Reader
	long    []byte // a line longer than r's buffer, gathered here
	started bool   // the byte order mark check is done
	skipLF  bool   // the last line ended in CR at the end of the buffer
	block   Block
	typ     []byte
	data    []byte
	id      []byte
	lastID  []byte
	comment []byte
}

// NewReader returns a Reader over r with a read buffer of size bytes (a
// line longer than that still reads, through a second buffer).
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, size)}
}

// Next reads the next block that held any line: an event, a comment, or a
// lone field. At the end of the stream it returns io.EOF (a block without
// its blank line is discarded, as the standard says) or the read error.
func (p *Reader) Next() (Block, error) {
	b := Block{}
	p.typ, p.data, p.id, p.comment = p.typ[:0], p.data[:0], p.id[:0], p.comment[:0]
	seen := false
	for {
		line, err := p.line()
		if err != nil {
			return Block{}, err
		}
		if len(line) == 0 {
			if !seen {
				continue
			}
			b.Type, b.ID, b.LastID, b.Comment = p.typ, p.id, p.lastID, p.comment
			if b.HasData {
				b.Data = p.data
			}
			return b, nil
		}
		seen = true
		if line[0] == ':' {
			p.comment = append(p.comment[:0], line[1:]...)
			b.HasComment = true
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) { // no allocation: the compiler compares in place
		case "event":
			p.typ = append(p.typ[:0], value...)
		case "data":
			if b.HasData {
				p.data = append(p.data, '\n')
			}
			p.data = append(p.data, value...)
			b.HasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.id = append(p.id[:0], value...)
				p.lastID = append(p.lastID[:0], value...)
				b.HasID = true
			}
		case "retry":
			if ms, ok := digits(value); ok {
				b.Retry, b.HasRetry = ms, true
			}
		}
	}
}

// digits parses a non-empty run of ASCII digits; anything else, or a value
// too big for int64, is not a retry time.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' || n > (1<<63-1-9)/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

var bom = []byte("\xef\xbb\xbf")

// line returns the next line without its end (CR, LF or CRLF). The slice is
// valid until the next call.
func (p *Reader) line() ([]byte, error) {
	if !p.started {
		p.started = true
		if head, err := p.r.Peek(len(bom)); err == nil && bytes.Equal(head, bom) {
			_, _ = p.r.Discard(len(bom))
		}
	}
	p.long = p.long[:0]
	for {
		if _, err := p.r.Peek(1); err != nil {
			// The standard discards a last line without its end.
			return nil, err
		}
		buf, _ := p.r.Peek(p.r.Buffered())
		if p.skipLF {
			p.skipLF = false
			if buf[0] == '\n' {
				_, _ = p.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexByte(buf, '\n')
		end := buf
		if i >= 0 {
			end = buf[:i]
		}
		if j := bytes.IndexByte(end, '\r'); j >= 0 {
			i = j
		}
		if i < 0 {
			p.long = append(p.long, buf...)
			_, _ = p.r.Discard(len(buf))
			continue
		}
		line := buf[:i]
		n := i + 1
		if buf[i] == '\r' {
			if i+1 < len(buf) {
				if buf[i+1] == '\n' {
					n++
				}
			} else {
				p.skipLF = true // the LF, if any, is not read yet
			}
		}
		if len(p.long) > 0 {
			p.long = append(p.long, line...)
			line = p.long
		}
		// Discard only moves bufio's read position: line stays valid
		// until the next read fills the buffer again.
		_, _ = p.r.Discard(n)
		return line, nil
	}
}
