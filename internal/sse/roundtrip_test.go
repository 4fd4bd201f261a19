package sse_test

import (
	"strings"
	"testing"

	"github.com/ssechat/chat/internal/sse"
	"github.com/ssechat/chat/internal/sse/ssetest"
)

// r3labsEvents is what the r3labs/sse client (the Go client library's
// parser) delivers for stream: type, data and id of each event with data.
func r3labsEvents(t *testing.T, stream []byte) []string {
	t.Helper()
	events, err := ssetest.ReadR3labs(stream)
	if err != nil {
		t.Fatalf("r3labs/sse could not read %q: %v", stream, err)
	}
	var got []string
	for _, e := range events {
		got = append(got, string(e.Event)+"|"+string(e.Data)+"|"+string(e.ID))
	}
	return got
}

// standardEvents is what Reader (a browser's rules) fires for stream.
func standardEvents(t *testing.T, stream []byte, size int) []string {
	t.Helper()
	events, err := ssetest.ReadStandard(stream, size)
	if err != nil {
		t.Fatalf("read %q: %v", stream, err)
	}
	var got []string
	for _, e := range events {
		if len(e.Data) > 0 {
			got = append(got, e.Type+"|"+e.Data+"|"+e.LastID)
		}
	}
	return got
}

// FuzzRoundTrip: an event the server frames reads back the same by the
// standard's rules and by the r3labs client, whatever the data holds. Data
// with line breaks comes back with each break as LF (the standard joins
// data lines with LF); data without is byte for byte.
func FuzzRoundTrip(f *testing.F) {
	f.Add("message", "42", "hello")
	f.Add("typing", "", "two\nlines")
	f.Add("message", "1-2", "cr\rlf\r\ncrlf\u2028ls\u2029ps\u0085nel")
	f.Add("message", "7", "data: x\n\nevent: evil\nid: 999\n\n")
	f.Add("reset", "", ": comment\nretry: 1")
	f.Add("message", "8", "\ufeffbom \x01\x7f\u00ad\ufffe\U0001F600 \xff\xfe")
	f.Fuzz(func(t *testing.T, event, id, data string) {
		if strings.ContainsAny(event+id, "\r\n\x00") || event == "" || data == "" {
			t.Skip("the server's event names and ids are single lines; empty data is not sent")
		}
		if strings.TrimLeft(event, " ") != event || strings.TrimLeft(id, " ") != id {
			t.Skip("the server's event names and ids do not start with a space")
		}
		frame := sse.AppendEvent(nil, event, id, []byte(data))
		stream := append(append([]byte("retry: 1000\n"), frame...), sse.Ping...)
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
		std := standardEvents(t, stream, 64)
		if len(std) != 1 || std[0] != event+"|"+want+"|"+id {
			t.Fatalf("frame %q read by the standard's rules as %q, want %q", frame, std, event+"|"+want+"|"+id)
		}
		if strings.ContainsAny(data, "\r\n") {
			return // r3labs reads CR as data, not a line end (a known difference)
		}
		if r3 := r3labsEvents(t, stream); len(r3) != 1 || r3[0] != std[0] {
			t.Fatalf("frame %q read by r3labs as %q, by the standard's rules as %q", frame, r3, std)
		}
	})
}

// BenchmarkReader is the parser's cost per event of a stream as the server
// writes it: a message, and a ping now and then.
func BenchmarkReader(b *testing.B) {
	event := "id: 1733300000000-12\nevent: message\ndata: {\"id\":\"1733300000000-12\",\"room\":\"general\",\"nick\":\"alice\",\"kind\":\"text\",\"text\":\"hello world hello world\",\"ts\":\"2026-11-23T08:00:00.123456789Z\"}\n\n"
	src := strings.Repeat(event, 99) + string(sse.Ping)
	in := strings.NewReader(src)
	r := sse.NewReader(in, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		in.Reset(src)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
