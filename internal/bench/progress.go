package bench

import (
	"fmt"
	"io"
	"sync"
	"time"

	"strings"
)

// progressLine draws one line on a terminal, "\r"-rewritten ten times a
// second: the phase, a bar and a count. Without a writer it does nothing, so
// the run calls it unconditionally.
//
// The bar is drawn by hand: bubbles' progress model pulls in lipgloss, whose
// start-up asks the terminal for its background colour on stdout, and
// stdout here carries the summary line for scripts.
type progressLine struct {
	w     io.Writer
	mu    sync.Mutex
	phase string
	total int64
	count func() int64
	stop  chan struct{}
	done  chan struct{}
}

// newProgress starts the drawing goroutine when w is not nil; Close stops it.
func newProgress(w io.Writer) *progressLine {
	p := &progressLine{w: w}
	if w == nil {
		return p
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
	return p
}

// Phase names what the run does now and how to count its progress.
func (p *progressLine) Phase(name string, total int64, count func() int64) {
	p.mu.Lock()
	p.phase, p.total, p.count = name, total, count
	p.mu.Unlock()
}

func (p *progressLine) loop() {
	defer close(p.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			fmt.Fprint(p.w, "\r\x1b[2K")
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progressLine) draw() {
	p.mu.Lock()
	phase, total, count := p.phase, p.total, p.count
	p.mu.Unlock()
	if phase == "" {
		return
	}
	var n int64
	if count != nil {
		n = count()
	}
	pct := 0.0
	if total > 0 {
		pct = min(float64(n)/float64(total), 1)
	}
	fmt.Fprintf(p.w, "\r\x1b[2K%-10s %s %3.0f%% %d/%d", phase, bar(pct, 40), pct*100, n, total)
}

// bar renders a share (0 to 1) as width cells of full and light shade.
func bar(share float64, width int) string {
	full := int(share*float64(width) + 0.5)
	full = max(0, min(full, width))
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}

// Close stops drawing and clears the line.
func (p *progressLine) Close() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.stop = nil
}
