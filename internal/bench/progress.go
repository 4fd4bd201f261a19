package bench

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/progress"
)

// progressLine draws one line on a terminal, "\r"-rewritten ten times a
// second: the phase, a bar and a count. Without a writer it does nothing, so
// the run calls it unconditionally.
type progressLine struct {
	w     io.Writer
	bar   progress.Model
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
	p.bar = progress.New(progress.WithDefaultGradient(), progress.WithWidth(40))
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
	fmt.Fprintf(p.w, "\r\x1b[2K%-10s %s %d/%d", phase, p.bar.ViewAs(pct), n, total)
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
