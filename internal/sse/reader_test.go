package sse

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// got is a Block copied out of the Reader's buffers, for comparing.
type got struct {
	typ, data, id, lastID, comment string
	hasData, hasID, hasRetry       bool
	retry                          int64
}

func readAll(t *testing.T, stream string, size int) []got {
	t.Helper()
	p := NewReader(strings.NewReader(stream), size)
	var out []got
	for {
		b, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read %q: %v", stream, err)
		}
		out = append(out, got{string(b.Type), string(b.Data), string(b.ID), string(b.LastID), string(b.Comment),
			b.HasData, b.HasID, b.HasRetry, b.Retry})
	}
}

// dispatched keeps the blocks a browser would fire events for, as
// (type, data, lastEventId) with the type defaulted to "message".
func dispatched(blocks []got) []string {
	var out []string
	for _, b := range blocks {
		if !b.hasData {
			continue
		}
		typ := b.typ
		if typ == "" {
			typ = "message"
		}
		out = append(out, fmt.Sprintf("%s|%s|%s", typ, b.data, b.lastID))
	}
	return out
}

// TestReaderFollowsTheStandard walks the HTML standard's event stream
// interpretation rule by rule, at buffer sizes that split lines, line ends
// (a CRLF cut between CR and LF) and the byte order mark.
func TestReaderFollowsTheStandard(t *testing.T) {
	cases := []struct {
		name, stream string
		want         []string
	}{
		{"LF", "data: a\n\n", []string{"message|a|"}},
		{"CRLF", "data: a\r\n\r\n", []string{"message|a|"}},
		{"CR", "data: a\r\rdata: b\r\r", []string{"message|a|", "message|b|"}},
		{"mixed ends", "event: x\r\ndata: 1\rdata: 2\n\r\n", []string{"x|1\n2|"}},
		{"leading BOM skipped once", "\ufeffdata: a\n\n\ufeffdata: b\n\n", []string{"message|a|"}},
		{"one space removed", "data:  two\ndata:none\n\n", []string{"message| two\nnone|"}},
		{"field without colon", "data\n\ndata\ndata\n\n", []string{"message||", "message|\n|"}},
		{"empty data not dispatched", "event: x\n\nid: 4\n\n: only a comment\n\n", nil},
		{"id kept across events", "id: 4\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", []string{"message|a|4", "message|b|4", "message|c|"}},
		{"id with NUL ignored", "id: 1\n\nid: 2\x003\ndata: a\n\n", []string{"message|a|1"}},
		{"event type reset per event", "event: x\ndata: a\n\ndata: b\n\n", []string{"x|a|", "message|b|"}},
		{"unknown field and comment ignored", "foo: bar\n:c\ndata: a\n\n", []string{"message|a|"}},
		{"unfinished block discarded", "data: a\n\ndata: b\n", []string{"message|a|"}},
		{"unfinished line discarded", "data: a\n\ndata: b", []string{"message|a|"}},
		{"U+2028 is no line end", "data: a\u2028b\u0085c\n\n", []string{"message|a\u2028b\u0085c|"}},
		{"long line", "data: " + strings.Repeat("x", 100) + "\r\n\r\n", []string{"message|" + strings.Repeat("x", 100) + "|"}},
	}
	for _, c := range cases {
		for _, size := range []int{16, 17, 19, 4096} {
			t.Run(fmt.Sprintf("%s/%d", c.name, size), func(t *testing.T) {
				g := dispatched(readAll(t, c.stream, size))
				if fmt.Sprint(g) != fmt.Sprint(c.want) {
					t.Fatalf("%q dispatched %q, want %q", c.stream, g, c.want)
				}
			})
		}
	}
}

// TestReaderRetryAndComments: retry takes only ASCII digits; a block of
// only a comment or a retry still comes out of Next, undispatched.
func TestReaderRetryAndComments(t *testing.T) {
	blocks := readAll(t, "retry: 2000\nevent: welcome\ndata: {}\n\n: ping\n\nretry: 12a\n\nretry: -1\n\nretry:\n\nretry: 99999999999999999999999\n\n", 4096)
	if len(blocks) != 6 {
		t.Fatalf("%d blocks, want 6: %+v", len(blocks), blocks)
	}
	if b := blocks[0]; !b.hasRetry || b.retry != 2000 || b.typ != "welcome" || b.data != "{}" {
		t.Errorf("first block %+v", b)
	}
	if b := blocks[1]; b.comment != " ping" || b.hasData || b.hasID {
		t.Errorf("ping block %+v", b)
	}
	for i, b := range blocks[2:] {
		if b.hasRetry {
			t.Errorf("retry block %d set a retry: %+v", i+2, b)
		}
	}
}

// TestReaderAllocatesNothingPerLine: a reader that has seen one event of a
// size reads any number more without allocating.
func TestReaderAllocatesNothingPerLine(t *testing.T) {
	event := "id: 1234-5\r\nevent: message\r\ndata: {\"text\":\"hello\"}\r\n\r\n: ping\n\n"
	stream := strings.NewReader("")
	p := NewReader(stream, 4096)
	src := strings.Repeat(event, 20)
	allocs := testing.AllocsPerRun(100, func() {
		stream.Reset(src)
		for {
			if _, err := p.Next(); err != nil {
				break
			}
		}
	})
	if allocs > 0 {
		t.Fatalf("%.1f allocations per 20 events, want none", allocs)
	}
}
