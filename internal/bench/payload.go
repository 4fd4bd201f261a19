package bench

import (
	"bytes"
	"strconv"
	"time"
)

// A payload is the text of every message chat-bench posts:
//
//	cb:<run>:<seq>:<send-unix-ns>:xxxx…
//
// plain ASCII that survives the server's JSON as it is, so a subscriber
// finds it with a byte search instead of decoding each event. <run> tells
// this run's messages from any other in the same room; <seq> numbers the
// messages of a run from 0.
const payloadPrefix = "cb:"

// minPayload is the shortest --size that holds a full header.
const minPayload = 48

// appendPayload appends the payload of message seq, sent at sent, padded with
// 'x' to size bytes (never cut short: the header always fits).
func appendPayload(dst []byte, run string, seq int, sent time.Time, size int) []byte {
	start := len(dst)
	dst = append(dst, payloadPrefix...)
	dst = append(dst, run...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, sent.UnixNano(), 10)
	dst = append(dst, ':')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// marker returns the bytes that start every payload of a run.
func marker(run string) []byte { return []byte(payloadPrefix + run + ":") }

// parsePayload finds a run's payload inside an event's data and returns its
// sequence number and send time in Unix nanoseconds.
func parsePayload(data, mark []byte) (seq int, sentNS int64, ok bool) {
	i := bytes.Index(data, mark)
	if i < 0 {
		return 0, 0, false
	}
	rest := data[i+len(mark):]
	s, rest, ok := leadingInt(rest)
	if !ok || len(rest) == 0 || rest[0] != ':' {
		return 0, 0, false
	}
	ns, rest, ok := leadingInt(rest[1:])
	if !ok || len(rest) == 0 || rest[0] != ':' || s > 1<<31 {
		return 0, 0, false
	}
	return int(s), ns, true
}

// leadingInt parses the decimal digits at the start of b (at most 19).
func leadingInt(b []byte) (v int64, rest []byte, ok bool) {
	i := 0
	for i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, b[i:], i > 0
}
