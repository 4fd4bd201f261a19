package bench

import (
	"time"

	"github.com/prometheus/procfs"
)

// procSample is what /proc says about the server at one moment.
type procSample struct {
	ok     bool
	rssKB  int64
	hwmKB  int64
	cpu    time.Duration // user + system
	thread int
}

// sampleProc reads the server's memory and CPU time; ok is false when pid
// is 0 or the process cannot be read (on another machine, or gone).
func sampleProc(pid int) procSample {
	if pid <= 0 {
		return procSample{}
	}
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procSample{}
	}
	stat, err := p.Stat()
	if err != nil {
		return procSample{}
	}
	status, err := p.NewStatus()
	if err != nil {
		return procSample{}
	}
	return procSample{
		ok:     true,
		rssKB:  int64(status.VmRSS / 1024),
		hwmKB:  int64(status.VmHWM / 1024),
		cpu:    time.Duration(stat.CPUTime() * float64(time.Second)),
		thread: stat.NumThreads,
	}
}
