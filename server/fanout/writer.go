package fanout

import (
	"sync"
	"time"
)

// refreshEvery is how many bytes a writer may write under one write
// deadline before it sets the next, so a long batch to a slow but live
// client is not cut while a stalled one still is.
const refreshEvery = 64 << 10

// Sink is where a stream's bytes go: a connection, or an HTTP response.
type Sink interface {
	Write(p []byte) (int, error)
	SetWriteDeadline(t time.Time) error
}

// Flusher is a Sink that buffers by itself (an HTTP response): the writer
// writes straight into it and calls Flush once per batch. A Sink without
// Flush (a bare connection) is written through a pooled buffer instead.
type Flusher interface {
	Flush() error
}

// Writer writes a stream's bytes in batches: Begin sets a fresh write
// deadline, Write adds bytes (renewing the deadline every 64 KiB), Flush
// sends the batch. Over a bare connection it holds a pooled buffer only
// from its first Write to Flush, so an idle stream holds none. A Writer is
// used by one goroutine at a time.
type Writer struct {
	dst     Sink
	flusher Flusher // dst's Flush, when it buffers by itself
	buf     *[]byte
	timeout time.Duration
	since   int // bytes written under the current deadline
}

// NewWriter returns a writer to dst under the engine's write timeout.
func (e *Engine) NewWriter(dst Sink) *Writer {
	w := &Writer{dst: dst, timeout: e.opt.WriteTimeout}
	w.flusher, _ = dst.(Flusher)
	return w
}

// Begin starts a batch: a fresh write deadline (none with no timeout).
func (w *Writer) Begin() {
	var t time.Time
	if w.timeout > 0 {
		t = time.Now().Add(w.timeout)
	}
	w.Deadline(t)
	w.since = 0
}

// Deadline sets the write deadline to t (now: writes fail at once).
func (w *Writer) Deadline(t time.Time) {
	_ = w.dst.SetWriteDeadline(t)
}

// Write adds b to the batch.
func (w *Writer) Write(b []byte) error {
	if w.since > refreshEvery {
		w.Begin()
	}
	w.since += len(b)
	if w.flusher != nil {
		_, err := w.dst.Write(b)
		return err
	}
	if w.buf == nil {
		w.buf = writeBufs.Get().(*[]byte)
	}
	if len(*w.buf) > 0 && len(*w.buf)+len(b) > writeBufSize {
		if err := w.send(); err != nil {
			return err
		}
	}
	if len(b) >= writeBufSize {
		_, err := w.dst.Write(b)
		return err
	}
	*w.buf = append(*w.buf, b...)
	return nil
}

// send writes out what is buffered.
func (w *Writer) send() error {
	_, err := w.dst.Write(*w.buf)
	*w.buf = (*w.buf)[:0]
	return err
}

// Flush sends the batch and, over a bare connection, gives the buffer back
// to the pool.
func (w *Writer) Flush() error {
	if w.flusher != nil {
		return w.flusher.Flush()
	}
	if w.buf == nil {
		return nil
	}
	err := w.send()
	writeBufs.Put(w.buf)
	w.buf = nil
	return err
}

// Release gives the buffer back if a batch was left unflushed (a stream
// that ends on a failed write); the Writer may not be used after.
func (w *Writer) Release() {
	if w.buf != nil {
		*w.buf = (*w.buf)[:0]
		writeBufs.Put(w.buf)
		w.buf = nil
	}
}

// writeBufSize is the size of a pooled write buffer; a bigger batch goes
// out in several writes.
const writeBufSize = 32 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBufSize); return &b }}
