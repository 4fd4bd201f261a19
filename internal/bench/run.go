package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssechat/chat/internal/ctxtime"
)

// Result is what a run produced: the summary line and the latency series
// the chart draws.
type Result struct {
	Summary *Summary
	Series  []Series
	Chart   Chart
}

// Faulty reports whether the run lost, repeated or reordered a message, or
// hit its time bound: what makes chat-bench exit non-zero.
func (r *Result) Faulty() bool {
	s := r.Summary
	t, _ := s.Get("timeout")
	return s.Int("lost") > 0 || s.Int("dup") > 0 || s.Int("out_of_order") > 0 || t == "true"
}

// runner holds one run's state; its methods are the phases scenarios share.
type runner struct {
	cfg        Config
	ep         endpoint
	api        *api
	run        string
	mark       []byte
	prog       *progressLine
	out        *Summary
	rooms      []*room
	subs       []*subscriber
	postTokens []string
	idle       procSample     // the server before this run touched it
	wg         sync.WaitGroup // every subscriber goroutine and launcher
}

// Run performs the configured scenario. It returns within the context's
// deadline plus a few seconds; the caller bounds that by --max-seconds.
// Progress goes to progressOut when it is not nil.
func Run(ctx context.Context, cfg Config, progressOut io.Writer) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ep, err := newEndpoint(cfg.URL, cfg.BufSize, cfg.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, ep: ep, api: newAPI(cfg.URL, cfg.ConnectTimeout), run: randomRun(), out: &Summary{}}
	r.mark = marker(r.run)
	defer r.api.close()
	r.prog = newProgress(progressOut)
	defer r.prog.Close()

	r.out.Add("scenario", cfg.Scenario)
	if cfg.Label != "" {
		r.out.Add("label", cfg.Label)
	}
	r.out.Add("run", r.run)
	r.out.Add("subs", cfg.Subs)
	// Read before logging in: password hashing leaves freed heap that the
	// streams would reuse, hiding their cost (see addMemory).
	r.idle = sampleProc(cfg.ServerPID)
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	res := &Result{Summary: r.out, Chart: Chart{Value: "publish → receive latency", Items: "deliveries"}}
	switch cfg.Scenario {
	case ScenarioStorm:
		err = r.storm(ctx, res)
	case ScenarioSlow:
		err = r.slow(ctx, res)
	default:
		err = r.fanout(ctx, res)
	}
	r.out.Add("timeout", ctx.Err() != nil)
	return res, err
}

// randomRun names a run: six characters that keep its messages, accounts
// and rooms apart from every other run's on the same server.
func randomRun() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// seqs is how many messages a run posts in all, which sizes every bitset.
func (r *runner) seqs() int {
	switch r.cfg.Scenario {
	case ScenarioStorm:
		return r.cfg.Behind + 1
	case ScenarioSlow:
		return slowWarmup(r.cfg.Msgs) + 2*r.cfg.Msgs
	}
	return r.cfg.Msgs
}

// setup logs in (registering) the posters' and subscribers' accounts and
// creates the run's rooms.
func (r *runner) setup(ctx context.Context) error {
	c := r.cfg
	r.prog.Phase("accounts", 0, nil)
	subTokens := []string{c.Token}
	r.postTokens = make([]string, c.Posters)
	for i := range r.postTokens {
		r.postTokens[i] = c.Token
	}
	if c.Token == "" {
		nicks := make([]string, 0, c.Posters+c.SubAccounts)
		for i := range c.Posters {
			nicks = append(nicks, fmt.Sprintf("cb-%s-p%d", r.run, i))
		}
		nsub := 0
		if c.Subs > 0 {
			nsub = min(c.SubAccounts, c.Subs)
		}
		for i := range nsub {
			nicks = append(nicks, fmt.Sprintf("cb-%s-s%d", r.run, i))
		}
		tokens, err := r.api.logins(ctx, nicks, c.Password)
		if err != nil {
			return fmt.Errorf("set up accounts: %w", err)
		}
		r.postTokens, subTokens = tokens[:c.Posters], tokens[c.Posters:]
	}
	nrooms := 1
	if c.Scenario == ScenarioRooms {
		nrooms = c.Rooms
	}
	for i := range nrooms {
		name := "cb-" + r.run
		if nrooms > 1 {
			name += "-" + strconv.Itoa(i)
		}
		if err := r.api.putRoom(ctx, r.postTokens[0], name); err != nil {
			return fmt.Errorf("set up rooms: %w", err)
		}
		r.rooms = append(r.rooms, newRoom(name, r.seqs()))
	}
	healthy := c.healthy()
	r.subs = make([]*subscriber, c.Subs)
	for i := range r.subs {
		r.subs[i] = &subscriber{
			room:    r.rooms[i%len(r.rooms)],
			token:   subTokens[i%len(subTokens)],
			stalled: i >= healthy,
			got:     newBitset(r.seqs()),
		}
	}
	return nil
}

// connect opens the streams of list, DialConc handshakes at a time, and
// returns once each has started or failed, or ConnectTimeout passed. The
// streams live until ctx ends; resume sends each one's newest id.
func (r *runner) connect(ctx context.Context, list []*subscriber, resume bool, key string) {
	if len(list) == 0 {
		return
	}
	c := r.cfg
	cctx, cancel := context.WithTimeout(ctx, c.ConnectTimeout)
	defer cancel()
	sem := make(chan struct{}, c.DialConc)
	ready := make(chan error, len(list))
	var readyN atomic.Int64
	r.prog.Phase(key, int64(len(list)), readyN.Load)
	start := time.Now()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for i, s := range list {
			select {
			case sem <- struct{}{}:
			case <-cctx.Done():
				for range list[i:] {
					ready <- errors.New("not started: connect timeout")
				}
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.stream(ctx, s, resume, func(err error) {
					<-sem
					readyN.Add(1)
					ready <- err
				})
			}()
		}
	}()
	ok, failed, firstErr := 0, 0, ""
	for range list {
		var err error
		select {
		case err = <-ready:
		case <-cctx.Done():
			err = errors.New("connect timeout")
		}
		if err != nil {
			failed++
			if firstErr == "" {
				firstErr = err.Error()
			}
			if cctx.Err() != nil {
				failed += len(list) - ok - failed
				break
			}
			continue
		}
		ok++
	}
	r.out.Add(key+"_ok", ok)
	r.out.Add(key+"_err", failed)
	r.out.Add(key+"_ms", time.Since(start))
	if firstErr != "" {
		r.out.Add(key+"_first_err", firstErr)
	}
}

// stream runs one subscriber until ctx ends: its first stream, then, when
// the server ends a stream that had started and --reconnect is on, resumed
// ones with a backoff from 50 ms to 1 s.
func (r *runner) stream(ctx context.Context, s *subscriber, resume bool, ready func(error)) {
	started := false
	_ = s.connect(ctx, r.ep, r.mark, resume, func(err error) {
		if err == nil {
			started = true
			s.up.Store(true)
		}
		ready(err)
	})
	if !started || s.stalled || !r.cfg.Reconnect {
		return
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		if !ctxtime.Sleep(ctx, backoff) {
			return
		}
		s.reconnects++
		if err := s.connect(ctx, r.ep, r.mark, true, nil); err == nil {
			return
		}
		backoff = min(2*backoff, time.Second)
	}
}

// stopStreams ends every stream (cancel is their context's) and waits, at
// most 5 s, for their goroutines.
func (r *runner) stopStreams(cancel context.CancelFunc) {
	cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		r.out.Add("stuck_goroutines", true)
	}
}

// live returns the subscribers of list whose stream started.
func live(list []*subscriber) []*subscriber {
	var out []*subscriber
	for _, s := range list {
		if s.up.Load() {
			out = append(out, s)
		}
	}
	return out
}

// waitDelivered returns once every subscriber in list has every message its
// room accepted, or drain passed, or ctx ended; it reports which.
func (r *runner) waitDelivered(ctx context.Context, list []*subscriber, drain time.Duration) bool {
	var want int64
	for _, s := range list {
		want += s.room.accepted.Load()
	}
	r.prog.Phase("deliver", want, func() int64 { return sumDistinct(list) })
	deadline := time.Now().Add(drain)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		complete := true
		for _, s := range list {
			if s.distinct.Load() < s.room.accepted.Load() {
				complete = false
				break
			}
		}
		if complete {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
}

func sumDistinct(list []*subscriber) int64 {
	var n int64
	for _, s := range list {
		n += s.distinct.Load()
	}
	return n
}

func lastRecv(list []*subscriber) time.Time {
	var t int64
	for _, s := range list {
		t = max(t, s.lastRecv.Load())
	}
	return time.Unix(0, t)
}

// post runs one posting phase and adds its figures to the summary.
func (r *runner) post(ctx context.Context, first, msgs int) *postStats {
	var n posted
	r.prog.Phase("post", int64(msgs), n.n.Load)
	stats := postAll(ctx, r.ep, postPlan{
		run: r.run, msgs: msgs, rate: r.cfg.Rate, size: r.cfg.Size,
		tokens: r.postTokens, rooms: r.rooms, first: first,
	}, &n)
	return stats
}

// addPosts writes a posting phase's figures.
func (r *runner) addPosts(stats *postStats, msgs int) {
	r.out.Add("posted", msgs)
	r.out.Add("accepted", stats.accepted)
	r.out.Add("post_err", stats.errs)
	codes := make([]int, 0, len(stats.refused))
	for code := range stats.refused {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	for _, code := range codes {
		r.out.Add("refused_"+strconv.Itoa(code), stats.refused[code])
	}
	if d := stats.lastAnswer.Sub(stats.firstSend); stats.accepted > 0 && d > 0 {
		r.out.Add("posts_per_s", float64(stats.accepted)/d.Seconds())
	}
	r.out.Add("post_p50_ms", stats.rtt.Quantile(0.5))
	r.out.Add("post_p99_ms", stats.rtt.Quantile(0.99))
	r.out.Add("post_max_ms", stats.rtt.Max())
	if r.cfg.Rate > 0 {
		r.out.Add("post_lag_max_ms", stats.maxLag)
	}
	if stats.firstErr != "" {
		r.out.Add("post_first_err", stats.firstErr)
	}
}

// tally adds up what the subscribers of list saw, after their streams ended.
func (r *runner) tally(list []*subscriber) {
	var expected, delivered, lost, dup, ooo, foreign, resets, reconnects, ended int64
	for _, s := range list {
		expected += s.room.accepted.Load()
		delivered += s.distinct.Load() + s.dup
		lost += int64(s.got.missing(s.room.expected))
		dup += s.dup
		ooo += s.outOfOrder
		foreign += s.foreign
		resets += s.resets
		reconnects += s.reconnects
		ended += s.ended
	}
	r.out.Add("expected", expected)
	r.out.Add("delivered", delivered)
	r.out.Add("lost", lost)
	r.out.Add("dup", dup)
	r.out.Add("out_of_order", ooo)
	r.out.Add("foreign", foreign)
	r.out.Add("resets", resets)
	r.out.Add("streams_ended", ended)
	r.out.Add("reconnects", reconnects)
}

// addLatency writes a histogram's quantiles under a prefix.
func (r *runner) addLatency(prefix string, h *Histogram) {
	r.out.Add(prefix+"_p50_ms", h.Quantile(0.5))
	r.out.Add(prefix+"_p99_ms", h.Quantile(0.99))
	r.out.Add(prefix+"_p999_ms", h.Quantile(0.999))
	r.out.Add(prefix+"_max_ms", h.Max())
}

// meter measures the server's and this process's CPU over a phase.
type meter struct {
	pid        int
	srv0, self time.Duration
	ok         bool
}

func startMeter(pid int) meter {
	p := sampleProc(pid)
	return meter{pid: pid, srv0: p.cpu, self: selfCPU(), ok: p.ok}
}

// add writes the CPU used since start, and per delivery when there were
// any.
func (m meter) add(out *Summary, deliveries int64) {
	out.Add("bench_cpu_ms", selfCPU()-m.self)
	if !m.ok {
		return
	}
	p := sampleProc(m.pid)
	if !p.ok {
		return
	}
	cpu := p.cpu - m.srv0
	out.Add("server_cpu_ms", cpu)
	if deliveries > 0 {
		out.Add("server_cpu_us_per_event", float64(cpu)/float64(time.Microsecond)/float64(deliveries))
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// addMemory writes RSS before the run and after the streams opened, and the
// difference per stream. Logging in hashes passwords (argon2id: MiBs each)
// between the two readings; that memory, freed, is reused by the streams, so
// on a server that has just started the figure is an upper bound, and with
// --token (no logins) it is the streams' own cost. Go keeps freed heap: on a
// warm server the figure reads low.
func (r *runner) addMemory(streams int) {
	idle := r.idle
	if !idle.ok || streams == 0 {
		return
	}
	now := sampleProc(r.cfg.ServerPID)
	if !now.ok {
		return
	}
	r.out.Add("rss_idle_kb", idle.rssKB)
	r.out.Add("rss_subs_kb", now.rssKB)
	if streams > 0 {
		r.out.Add("rss_per_sub_kb", float64(now.rssKB-idle.rssKB)/float64(streams))
	}
	r.out.Add("server_threads", now.thread)
}

func (r *runner) addEnd() {
	if p := sampleProc(r.cfg.ServerPID); p.ok {
		r.out.Add("rss_end_kb", p.rssKB)
		r.out.Add("rss_hwm_kb", p.hwmKB)
	}
}

// fanout runs fanout, rooms and publish: connect, post, wait for every
// delivery.
func (r *runner) fanout(ctx context.Context, res *Result) error {
	c := r.cfg
	sctx, cancel := context.WithCancel(ctx)
	defer r.stopStreams(cancel)
	r.connect(sctx, r.subs, false, "subs")
	ctxtime.Sleep(ctx, c.Settle)
	list := live(r.subs)
	r.addMemory(len(list))

	var h Histogram
	for _, s := range list {
		s.hist.Store(&h)
	}
	res.Series = []Series{{Name: c.Scenario, Hist: &h}}
	res.Chart.Title = fmt.Sprintf("chat-bench %s: %d subscribers, %d messages", c.Scenario, len(list), c.Msgs)
	if len(r.rooms) > 1 {
		res.Chart.Title = fmt.Sprintf("chat-bench %s: %d rooms, %d subscribers, %d messages", c.Scenario, len(r.rooms), len(list), c.Msgs)
	}
	if c.Rate > 0 {
		res.Chart.Title += fmt.Sprintf(" at %g/s", c.Rate)
	}
	if c.Msgs == 0 || ctx.Err() != nil {
		r.addEnd()
		return nil
	}
	m := startMeter(c.ServerPID)
	stats := r.post(ctx, 0, c.Msgs)
	complete := r.waitDelivered(ctx, list, c.Drain)
	delivered := sumDistinct(list)
	m.add(r.out, delivered)
	r.addPosts(stats, c.Msgs)
	r.out.Add("complete", complete)
	if len(list) > 0 {
		window := lastRecv(list).Sub(stats.firstSend)
		r.out.Add("window_ms", window)
		if window > 0 {
			r.out.Add("events_per_s", float64(delivered)/window.Seconds())
		}
		r.addLatency("lat", &h)
	}
	r.stopStreams(cancel)
	r.tally(list)
	r.addEnd()
	return nil
}

// storm: every subscriber sees one message, all drop, K more are posted,
// all resume with Last-Event-ID at once; catch-up is the time from the
// start of the resume until the last subscriber has all K.
func (r *runner) storm(ctx context.Context, res *Result) error {
	c := r.cfg
	sctx, cancel := context.WithCancel(ctx)
	r.connect(sctx, r.subs, false, "subs")
	ctxtime.Sleep(ctx, c.Settle)
	list := live(r.subs)
	r.addMemory(len(list))
	first := r.post(ctx, 0, 1)
	if first.accepted != 1 {
		r.stopStreams(cancel)
		return fmt.Errorf("storm: first message not accepted: %s", first.firstErr)
	}
	if !r.waitDelivered(ctx, list, c.Drain) {
		r.out.Add("first_complete", false)
	}
	r.stopStreams(cancel)
	r.prog.Phase("away", 0, nil)

	stats := r.post(ctx, 1, c.Behind)
	r.addPosts(stats, c.Behind)
	m := startMeter(c.ServerPID)
	before := sumDistinct(list)
	t0 := time.Now()
	sctx, cancel = context.WithCancel(ctx)
	defer r.stopStreams(cancel)
	r.connect(sctx, list, true, "resume")
	complete := r.waitDelivered(ctx, list, c.Drain)
	r.out.Add("complete", complete)
	m.add(r.out, sumDistinct(list)-before)
	r.stopStreams(cancel)

	var h Histogram
	for _, s := range list {
		if s.distinct.Load() >= s.room.accepted.Load() {
			h.Record(time.Unix(0, s.lastRecv.Load()).Sub(t0))
		}
	}
	if complete {
		r.out.Add("catchup_ms", lastRecv(list).Sub(t0))
	}
	r.addLatency("catchup", &h)
	res.Series = []Series{{Name: "time until a subscriber caught up", Hist: &h}}
	res.Chart.Value, res.Chart.Items = "catch-up time from the resume", "subscribers"
	res.Chart.Title = fmt.Sprintf("chat-bench storm: %d subscribers resume %d messages behind", len(list), c.Behind)
	r.tally(list)
	r.addEnd()
	return nil
}

// slowWarmup is how many unmeasured messages precede the slow scenario's
// first phase: a stream's first batches pay for growing its goroutine's
// stack and filling pools, which would make the first phase look slower
// than the second for no reason of the stalled subscribers (measured here:
// without any stalled subscriber the second phase's p99 came out at a third
// to a half of the first's).
func slowWarmup(msgs int) int { return min(msgs, 50) }

// slow: the healthy subscribers receive a few unmeasured messages, then M
// paced ones alone; then the stalled ones join (read their welcome, then
// nothing) and M more pass. The healthy ones' p99 in the second phase is
// compared with the first. --stalled 0 runs the same with nobody stalled:
// the comparison's noise floor.
func (r *runner) slow(ctx context.Context, res *Result) error {
	c := r.cfg
	h := c.healthy()
	healthy, stalled := r.subs[:h], r.subs[h:]
	sctx, cancel := context.WithCancel(ctx)
	defer r.stopStreams(cancel)
	r.connect(sctx, healthy, false, "subs")
	ctxtime.Sleep(ctx, c.Settle)
	list := live(healthy)
	r.addMemory(len(list))

	warm := slowWarmup(c.Msgs)
	r.post(ctx, 0, warm)
	r.waitDelivered(ctx, list, c.Drain)
	var base, withStalled Histogram
	for _, s := range list {
		s.hist.Store(&base)
	}
	stats := r.post(ctx, warm, c.Msgs)
	completeBase := r.waitDelivered(ctx, list, c.Drain)
	r.out.Add("base_accepted", stats.accepted)
	r.out.Add("base_complete", completeBase)

	r.connect(sctx, stalled, false, "stalled")
	ctxtime.Sleep(ctx, c.Settle)
	for _, s := range list {
		s.hist.Store(&withStalled)
	}
	m := startMeter(c.ServerPID)
	before := sumDistinct(list)
	stats = r.post(ctx, warm+c.Msgs, c.Msgs)
	complete := r.waitDelivered(ctx, list, c.Drain)
	m.add(r.out, sumDistinct(list)-before)
	r.addPosts(stats, c.Msgs)
	r.out.Add("complete", complete)
	r.out.Add("base_p99_ms", base.Quantile(0.99))
	r.out.Add("slow_p99_ms", withStalled.Quantile(0.99))
	if b := base.Quantile(0.99); b > 0 {
		r.out.Add("p99_ratio", float64(withStalled.Quantile(0.99))/float64(b))
	}
	r.addLatency("lat", &withStalled)
	r.stopStreams(cancel)
	r.tally(list)
	r.addEnd()
	res.Series = []Series{
		{Name: fmt.Sprintf("%d healthy subscribers alone", len(list)), Hist: &base},
		{Name: fmt.Sprintf("the same with %d stalled beside them", len(stalled)), Hist: &withStalled},
	}
	res.Chart.Title = fmt.Sprintf("chat-bench slow: %d subscribers, %d stalled, %.0f messages/s", len(r.subs), len(stalled), c.Rate)
	return nil
}
