package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssechat/chat/chat"
)

func TestParseIDAgreesWithChat(t *testing.T) {
	inputs := []string{
		"0", "1", "42", "18446744073709551615", "18446744073709551616",
		"1700000000000-0", "1700000000000-3", "1-18446744073709551615",
		"", "-", "1-", "-1", "01", "1-01", "1-2-3", "a", "1a", " 1", "1 ",
		"99999999999999999999", strings.Repeat("1", 42), "0-0", "00",
	}
	for _, in := range inputs {
		want, wantErr := chat.ParseID(in)
		got, ok := parseID([]byte(in))
		if ok != (wantErr == nil) || got != want {
			t.Errorf("parseID(%q) = %+v, %v; chat.ParseID = %+v, %v", in, got, ok, want, wantErr)
		}
	}
}

func TestHistogramBucketsHoldTheirValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := r.Uint64() >> r.IntN(64)
		if v >= 1<<40 {
			continue
		}
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d holding %d..%d", v, bucketOf(v), lo, hi)
		}
		if v >= histSub && float64(hi-lo) > float64(lo)/histSub {
			t.Fatalf("bucket %d..%d is wider than 1/%d of its values", lo, hi, histSub)
		}
	}
	if got := bucketOf(math.MaxUint64); got != histBuckets-1 {
		t.Errorf("huge value in bucket %d, want the last, %d", got, histBuckets-1)
	}
}

func TestHistogramQuantilesMatchSortedSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Histogram
	samples := make([]time.Duration, 50000)
	for i := range samples {
		// log-normal around 2 ms with a long tail, like delivery latency
		samples[i] = time.Duration(math.Exp(r.NormFloat64()*1.2) * float64(2*time.Millisecond))
		h.Record(samples[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := samples[int(math.Ceil(q*float64(len(samples))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.01 {
			t.Errorf("q%.3f = %v, exact %v (off by %.2f%%)", q, got, exact, rel*100)
		}
	}
	if h.Max() != samples[len(samples)-1] {
		t.Errorf("max %v, want %v", h.Max(), samples[len(samples)-1])
	}
	if h.Count() != uint64(len(samples)) {
		t.Errorf("count %d, want %d", h.Count(), len(samples))
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Error("an empty histogram should answer 0")
	}
	var neg Histogram
	neg.Record(-time.Second)
	if neg.Quantile(0.5) != 0 {
		t.Errorf("a negative duration should count as 0, got %v", neg.Quantile(0.5))
	}
}

func TestPayloadRoundTripInsideJSON(t *testing.T) {
	sent := time.Unix(1700000000, 123456789)
	p := appendPayload(nil, "abc123", 4711, sent, 100)
	if len(p) != 100 {
		t.Fatalf("payload is %d bytes, want 100", len(p))
	}
	data := []byte(`{"id":"5","room":"r","nick":"n","kind":"text","text":"` + string(p) + `","ts":"x"}`)
	seq, ns, ok := parsePayload(data, marker("abc123"))
	if !ok || seq != 4711 || ns != sent.UnixNano() {
		t.Fatalf("parsePayload = %d, %d, %v", seq, ns, ok)
	}
	if _, _, ok := parsePayload(data, marker("other1")); ok {
		t.Error("another run's marker matched")
	}
	for _, bad := range []string{`cb:abc123:`, `cb:abc123:12`, `cb:abc123:12:`, `cb:abc123::5:`, `cb:abc123:1:2x`} {
		if _, _, ok := parsePayload([]byte(bad), marker("abc123")); ok {
			t.Errorf("parsePayload(%q) accepted a truncated payload", bad)
		}
	}
	short := appendPayload(nil, "abc123", 1<<30, sent, 10)
	if _, _, ok := parsePayload(short, marker("abc123")); !ok {
		t.Error("a size below the header should still carry the whole header")
	}
}

func TestEventReaderParsesTheWire(t *testing.T) {
	long := strings.Repeat("y", 5000)
	stream := "retry: 2000\n" +
		": ping\n" +
		"event: welcome\ndata: {\"room\":\"a\"}\n\n" +
		"id: 7\r\nevent: message\r\ndata: one\r\ndata: two\r\n\r\n" +
		"event: presence\nid: 8\n\n" + // no data: dropped
		"event: typing\ndata: " + long + "\n\n" +
		"data:nospace\n\n" +
		"id: 9\nevent: message\ndata: tail" // no blank line: never dispatched
	er := newEventReader(strings.NewReader(stream), 256)
	want := []struct {
		name, data, id string
		hasID          bool
	}{
		{"welcome", `{"room":"a"}`, "", false},
		{"message", "one\ntwo", "7", true},
		{"typing", long, "", false},
		{"", "nospace", "", false},
	}
	for i, w := range want {
		ev, err := er.next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if string(ev.name) != w.name || string(ev.data) != w.data || string(ev.id) != w.id || ev.hasID != w.hasID {
			t.Errorf("event %d = {%q %.20q %q %v}, want {%q %.20q %q %v}", i, ev.name, ev.data, ev.id, ev.hasID, w.name, w.data, w.id, w.hasID)
		}
	}
	if _, err := er.next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last event: %v, want EOF", err)
	}
}

func TestSubscriberCountsOrderLossAndDuplicates(t *testing.T) {
	rm := newRoom("r", 10)
	for _, seq := range []int{0, 1, 2, 3, 4} {
		rm.accept(seq)
	}
	var h Histogram
	s := &subscriber{room: rm, got: newBitset(10)}
	s.hist.Store(&h)
	mark := marker("run001")
	msg := func(id string, seq int) event {
		data := appendPayload([]byte(`{"text":"`), "run001", seq, time.Now().Add(-time.Millisecond), 60)
		return event{name: []byte("message"), id: []byte(id), hasID: true, data: append(data, `"}`...)}
	}
	s.handle(event{name: []byte("welcome"), data: []byte(`{"room":"r","last_id":"3"}`)}, mark)
	if s.resumeID() != "3" {
		t.Errorf("resume id after welcome = %q, want 3", s.resumeID())
	}
	s.handle(msg("10", 0), mark)
	s.handle(msg("12", 2), mark)
	s.handle(msg("11", 1), mark) // older id, new message: out of order
	s.handle(msg("12", 2), mark) // repeat
	s.handle(msg("13", 4), mark)
	s.handle(event{name: []byte("message"), id: []byte("14"), hasID: true, data: []byte(`{"text":"hello"}`)}, mark)
	s.handle(event{name: []byte("reset"), data: []byte(`{}`)}, mark)
	if s.distinct.Load() != 4 || s.dup != 1 || s.outOfOrder != 1 || s.foreign != 1 || s.resets != 1 {
		t.Errorf("distinct %d dup %d ooo %d foreign %d resets %d; want 4 1 1 1 1", s.distinct.Load(), s.dup, s.outOfOrder, s.foreign, s.resets)
	}
	if got := s.got.missing(rm.expected); got != 1 {
		t.Errorf("missing %d, want 1 (seq 3)", got)
	}
	if s.resumeID() != "14" {
		t.Errorf("resume id = %q, want the newest id seen, 14", s.resumeID())
	}
	if h.Count() != 4 || h.Quantile(0.5) < time.Millisecond {
		t.Errorf("latency samples %d, p50 %v; want 4 samples of at least 1ms", h.Count(), h.Quantile(0.5))
	}
}

func TestParseArgs(t *testing.T) {
	c, err := ParseArgs([]string{"storm", "--url", "http://127.0.0.1:9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subs != 5000 || c.Behind != 100 || c.Posters != 8 || c.URL != "http://127.0.0.1:9" {
		t.Errorf("storm defaults: %+v", c)
	}
	c, err = ParseArgs([]string{"--subs", "7", "fanout", "--msgs", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scenario != ScenarioFanout || c.Subs != 7 || c.Msgs != 3 {
		t.Errorf("flags around the scenario: %+v", c)
	}
	c, err = ParseArgs([]string{"slow", "--subs", "100"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.stalledCount() != 5 || c.healthy() != 95 || c.Rate != 50 {
		t.Errorf("slow: %d stalled, %d healthy, rate %v", c.stalledCount(), c.healthy(), c.Rate)
	}
	for _, args := range [][]string{
		{},
		{"nosuch"},
		{"fanout", "extra"},
		{"fanout", "--url", "https://x"},
		{"fanout", "--url", "http://h:1/base"},
		{"fanout", "--size", "10"},
		{"rooms", "--subs", "5", "--rooms", "6"},
		{"slow", "--subs", "1", "--stalled", "0.9"},
		{"fanout", "--max-seconds", "1"},
		{"fanout", "--progress", "maybe"},
		{"fanout", "--subs", "-1"},
		{"fanout", "--nosuchflag"},
	} {
		if _, err := ParseArgs(args, io.Discard); err == nil {
			t.Errorf("ParseArgs(%q) accepted it", args)
		}
	}
	var help bytes.Buffer
	if _, err := ParseArgs([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), "storm") {
		t.Errorf("-h: %v, %q", err, help.String())
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	var s Summary
	s.Add("scenario", "fanout")
	s.Add("lat_p99_ms", 1500*time.Microsecond)
	s.Add("events_per_s", 12345.678)
	s.Add("post_first_err", `status 429: {"error": "x=y"}`)
	s.Add("empty", "")
	s.Add("lost", 0)
	s.Add("lost", 3) // replaces in place
	line := s.String()
	if !strings.HasPrefix(line, "scenario=fanout lat_p99_ms=1.500 events_per_s=12345.68 post_first_err=") {
		t.Errorf("line = %s", line)
	}
	back, err := ParseSummary(line)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != line || back.Int("lost") != 3 || back.Float("lat_p99_ms") != 1.5 {
		t.Errorf("round trip: %s", back.String())
	}
	if v, _ := back.Get("post_first_err"); v != `status 429: {"error": "x=y"}` {
		t.Errorf("quoted value = %q", v)
	}
	for _, bad := range []string{"novalue", `k="unterminated`, `k="a"b`, "=v"} {
		if _, err := ParseSummary(bad); err == nil {
			t.Errorf("ParseSummary(%q) accepted it", bad)
		}
	}
}

func TestWriteSVGIsWellFormed(t *testing.T) {
	var a, b Histogram
	for i := range 1000 {
		a.Record(time.Duration(i) * time.Microsecond)
		b.Record(time.Duration(i) * 3 * time.Microsecond)
	}
	var empty Histogram
	var out bytes.Buffer
	err := WriteSVG(&out, Chart{Title: "fan-out <1000> & more", Value: "latency", Items: "deliveries"}, []Series{{"alone", &a}, {"with <stalled>", &b}, {"none", &empty}})
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&out)
	polylines, texts := 0, []string{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if v.Name.Local == "polyline" {
				polylines++
			}
		case xml.CharData:
			texts = append(texts, string(v))
		}
	}
	if polylines != 2 {
		t.Errorf("%d polylines, want one per non-empty series (2)", polylines)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"fan-out <1000> & more", "with <stalled>", "99.9%", "max 2.997"} {
		if !strings.Contains(all, want) {
			t.Errorf("chart text lacks %q", want)
		}
	}
}

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ v, top, step float64 }{
		{0, 1, 0.2}, {7.3, 8, 2}, {14.8, 15, 5}, {0.42, 0.5, 0.1}, {100, 100, 20}, {1234, 1500, 500},
	} {
		top, step := niceScale(tc.v)
		if math.Abs(top-tc.top) > 1e-9 || math.Abs(step-tc.step) > 1e-9 {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.v, top, step, tc.top, tc.step)
		}
	}
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		share float64
		want  string
	}{{0, "░░░░"}, {0.5, "██░░"}, {1, "████"}, {1.7, "████"}, {-1, "░░░░"}} {
		if got := bar(tc.share, 4); got != tc.want {
			t.Errorf("bar(%v) = %q, want %q", tc.share, got, tc.want)
		}
	}
}
