package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations in log-linear buckets: 64 buckets per power of
// two, so every value is kept within 1.6 % of its true size, from 1 ns to
// about 18 minutes, in a fixed 18 KB. Record is lock-free so that thousands
// of subscriber goroutines can share one histogram; a single atomic add per
// sample keeps the load tool's own cost per delivery low.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Int64
}

const (
	histSubBits  = 6
	histSub      = 1 << histSubBits // buckets per power of two
	histMaxShift = 34               // values up to 2^(34+7) ns ≈ 36 minutes
	histBuckets  = histSub + (histMaxShift+1)*histSub
)

// bucketOf returns the bucket index of a value in nanoseconds.
func bucketOf(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	if shift > histMaxShift {
		return histBuckets - 1
	}
	return histSub + shift*histSub + int(v>>uint(shift)) - histSub
}

// bucketRange returns the smallest and largest value a bucket holds.
func bucketRange(i int) (lo, hi uint64) {
	if i < histSub {
		return uint64(i), uint64(i)
	}
	shift := uint((i - histSub) / histSub)
	lo = uint64((i-histSub)%histSub+histSub) << shift
	return lo, lo + (1 << shift) - 1
}

// Record adds one duration; negative ones (a clock step) count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
	h.n.Add(1)
	h.sum.Add(uint64(d))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max returns the largest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean returns the average duration, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the duration below or at which a share q (0 to 1) of the
// samples lie: the middle of the bucket holding the sample of rank
// ceil(q·n), never above the exact maximum. It is 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketRange(i)
			return min(time.Duration(lo+(hi-lo)/2), h.Max())
		}
	}
	return h.Max()
}
