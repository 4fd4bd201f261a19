package bench

import (
	"io"

	"github.com/ssechat/chat/internal/sse"
)

// eventReader reads the events of a Server-Sent Events stream with the
// project's one SSE parser (internal/sse, the HTML standard's rules): it
// returns only the events a browser would fire, those with data. The slices
// in an event stay valid until the next call; nothing is allocated per
// line.
type eventReader struct {
	r *sse.Reader
}

func newEventReader(r io.Reader, size int) *eventReader {
	return &eventReader{r: sse.NewReader(r, size)}
}

// event is one dispatched event. name is empty for an unnamed event
// ("message" by the specification); id and hasID are the event's own id
// field, if it had one.
type event struct {
	name  []byte
	data  []byte
	id    []byte
	hasID bool
}

// next returns the next event that carries data; blocks without data
// (comments, a lone id) are skipped, as the specification says.
func (p *eventReader) next() (event, error) {
	for {
		b, err := p.r.Next()
		if err != nil {
			return event{}, err
		}
		if b.Dispatched() {
			return event{name: b.Type, data: b.Data, id: b.ID, hasID: b.HasID}, nil
		}
	}
}
