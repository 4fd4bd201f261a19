package bench

import (
	"bufio"
	"bytes"
	"errors"
)

// eventReader parses a Server-Sent Events stream: "event:", "data:" and
// "id:" fields, comments, and dispatch on a blank line; "retry:" and unknown
// fields are ignored, as the SSE specification asks. Lines end in LF or
// CRLF (a lone CR, which the specification also allows, is not sent by the
// chat server). The slices in an event stay valid until the next call.
type eventReader struct {
	r     *bufio.Reader
	long  []byte // a line longer than r's buffer, gathered here
	name  []byte
	data  []byte
	id    []byte
	hasID bool
}

// event is one dispatched event. name is empty for an unnamed event
// ("message" by the specification); hasID says whether an "id:" line came.
type event struct {
	name  []byte
	data  []byte
	id    []byte
	hasID bool
}

// next returns the next event that carries data; events without data are
// dropped, as the specification says.
func (p *eventReader) next() (event, error) {
	p.name, p.data, p.id, p.hasID = p.name[:0], p.data[:0], p.id[:0], false
	hasData := false
	for {
		line, err := p.line()
		if err != nil {
			return event{}, err
		}
		if len(line) == 0 {
			if hasData {
				return event{name: p.name, data: p.data, id: p.id, hasID: p.hasID}, nil
			}
			p.name, p.id, p.hasID = p.name[:0], p.id[:0], false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value, _ = bytes.CutPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "data":
			if hasData {
				p.data = append(p.data, '\n')
			}
			p.data = append(p.data, value...)
			hasData = true
		case "event":
			p.name = append(p.name[:0], value...)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.id, p.hasID = append(p.id[:0], value...), true
			}
		}
	}
}

// line returns one line without its LF or CRLF.
func (p *eventReader) line() ([]byte, error) {
	line, err := p.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		p.long = append(p.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = p.r.ReadSlice('\n')
			p.long = append(p.long, line...)
		}
		line = p.long
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	line, _ = bytes.CutSuffix(line, []byte("\r"))
	return line, nil
}
