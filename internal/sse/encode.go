// Package sse is the one place the project writes and reads Server-Sent
// Events: the server's framing (event, id, retry, comment and data lines)
// and a reader that follows the HTML standard's event stream
// interpretation, shared by the server's tests and the load generator. It
// knows nothing of chat events; it must never allocate per line read.
package sse

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Ping is the heartbeat comment block: every reader ignores it, and it
// keeps proxies from timing an idle stream out.
var Ping = []byte(": ping\n\n")

// AppendEvent appends one event: an id line when id is not empty, the event
// line, the data and the blank line that dispatches it. data is meant to be
// one line (JSON as encoding/json writes it always is); should it hold line
// breaks it is split into several data lines at each CR, LF or CRLF, so no
// data can add a field or an event. id and event are the server's own
// (message ids and event names) and must not hold CR or LF.
func AppendEvent(dst []byte, event, id string, data []byte) []byte {
	if id != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "event: "...)
	dst = append(dst, event...)
	dst = append(dst, '\n')
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}

// AppendJSON appends v, encoded by encoding/json, as one event. JSON escapes
// every CR and LF inside strings (and U+2028, U+2029), so the data is
// always a single line.
func AppendJSON(dst []byte, event, id string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return AppendEvent(dst, event, id, data), nil
}

// AppendRetry appends a retry field: the reconnection delay, in
// milliseconds, a client waits before it reconnects. It dispatches nothing
// by itself; the server sends it in the same block as the first event.
func AppendRetry(dst []byte, ms int64) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, ms, 10)
	return append(dst, '\n')
}

// AppendComment appends a comment block, which every reader ignores. Line
// breaks in text are replaced by spaces, so a comment stays one line.
func AppendComment(dst []byte, text string) []byte {
	dst = append(dst, ": "...)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, "\n\n"...)
}
