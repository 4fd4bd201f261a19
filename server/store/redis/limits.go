package redis

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

var _ store.Limiter = (*Store)(nil)

// limit is the key of a shared limit named by the server ("msg:alice").
func (k keys) limit(name string) string { return k.prefix + "limit:" + name }

// step is a bucket's emission interval in µs, as the scripts take it.
func step(b store.Bucket) string {
	if !(b.Rate > 0) {
		return "0"
	}
	return strconv.FormatFloat(1e6/b.Rate, 'f', 3, 64)
}

// Take takes one token from the bucket named key, on Redis's clock.
func (s *Store) Take(ctx context.Context, key string, b store.Bucket) (bool, time.Duration, error) {
	done, err := s.begin()
	if err != nil {
		return false, 0, err
	}
	defer done()
	wait, err := takeScript.Run(ctx, s.rdb, []string{s.keys.limit(key)}, step(b), b.Burst).Int64()
	if err != nil {
		return false, 0, s.wrap("take token", err)
	}
	s.health.up()
	if wait > 0 {
		return false, time.Duration(wait) * time.Microsecond, nil
	}
	return true, 0, nil
}

// Refund gives one token back to the bucket named key.
func (s *Store) Refund(ctx context.Context, key string, b store.Bucket) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	return s.wrap("refund token", refundScript.Run(ctx, s.rdb, []string{s.keys.limit(key)}, step(b)).Err())
}

// AppendLimited is Append with the token taken by the append script itself:
// a post costs no round trip more than it did without the shared limit.
func (s *Store) AppendLimited(ctx context.Context, m store.NewMessage, key string, b store.Bucket) (chat.Message, bool, error) {
	return s.appendMessage(ctx, m, &limitArgs{key: s.keys.limit(key), step: step(b), burst: b.Burst})
}

// limitArgs are the bucket's key and arguments the append script takes last.
type limitArgs struct {
	key, step string
	burst     int
}

// AcquireStream takes one place under key, counted over every node. The
// place is a member of a sorted set that this node refreshes while the
// stream lasts (every third of PresenceTTL, with the presence entries'
// TTL): a node that dies stops refreshing, and its places expire.
func (s *Store) AcquireStream(ctx context.Context, key string, max int) (func(), bool, error) {
	done, err := s.begin()
	if err != nil {
		return nil, false, err
	}
	defer done()
	s.places.start(s)
	set := s.keys.limit(key)
	member := s.pres.node + " " + strconv.FormatUint(s.places.next.Add(1), 10)
	ok, err := acquireStreamScript.Run(ctx, s.rdb, []string{set}, member, s.opts.PresenceTTL.Milliseconds(), max).Int()
	if err != nil {
		// A place the script took but whose answer was lost is not held
		// here, so nobody refreshes it and it expires.
		return nil, false, s.wrap("acquire stream place", err)
	}
	s.health.up()
	if ok == 0 {
		return func() {}, false, nil
	}
	s.places.add(set, member)
	var once sync.Once
	return func() { once.Do(func() { s.releasePlace(set, member) }) }, true, nil
}

// releasePlace forgets a place here and removes it from Redis. When Redis
// cannot be reached it expires there, since this node no longer refreshes
// it.
func (s *Store) releasePlace(set, member string) {
	s.places.remove(set, member)
	done, err := s.begin()
	if err != nil {
		return
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.wrap("release stream place", s.rdb.ZRem(ctx, set, member).Err()); err != nil {
		s.log.Debug("release stream place", "err", err)
	}
}

// places are the stream places this node holds, by set. The zero value is
// ready; its refresher starts with the first place.
type places struct {
	next    atomic.Uint64
	started sync.Once

	mu   sync.Mutex
	held map[string]map[string]bool // set → members
}

// start runs the refresher, owned by the store's context, once. It is
// called inside begin/done, so Close's wait for the background goroutines
// always comes after the Add.
func (p *places) start(s *Store) {
	p.started.Do(func() {
		s.bg.Add(1)
		go func() { defer s.bg.Done(); p.run(s) }()
	})
}

func (p *places) add(set, member string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[string]map[string]bool{}
	}
	if p.held[set] == nil {
		p.held[set] = map[string]bool{}
	}
	p.held[set][member] = true
}

func (p *places) remove(set, member string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held[set], member)
	if len(p.held[set]) == 0 {
		delete(p.held, set)
	}
}

func (p *places) has(set, member string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[set][member]
}

func (p *places) snapshot() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string][]string, len(p.held))
	for set, members := range p.held {
		for m := range members {
			out[set] = append(out[set], m)
		}
	}
	return out
}

// run refreshes the places every third of PresenceTTL until the store
// closes.
func (p *places) run(s *Store) {
	t := time.NewTicker(s.opts.PresenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := p.refresh(s); err != nil {
				s.log.Debug("refresh stream places", "err", err)
			}
		}
	}
}

// refresh pushes every held place's expiry forward, in one pipeline. A
// place released while the refresh ran is removed again afterwards, so a
// refresh never brings a released place back; one that had expired while
// Redis was out of reach is put back, since its stream is still open.
func (p *places) refresh(s *Store) error {
	snap := p.snapshot()
	if len(snap) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.PresenceTTL/3)
	defer cancel()
	ttl := s.opts.PresenceTTL.Milliseconds()
	touch := func() error {
		_, err := s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
			for set, members := range snap {
				args := make([]any, 0, len(members)+1)
				args = append(args, ttl)
				for _, m := range members {
					args = append(args, m)
				}
				touchScript.EvalSha(ctx, pl, []string{set}, args...)
			}
			return nil
		})
		return err
	}
	err := touch()
	if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
		if err = touchScript.Load(ctx, s.rdb).Err(); err == nil {
			err = touch()
		}
	}
	if err != nil {
		return s.wrap("refresh stream places", err)
	}
	s.health.up()
	for set, members := range snap {
		for _, m := range members {
			if !p.has(set, m) {
				if err := s.rdb.ZRem(ctx, set, m).Err(); err != nil {
					return fmt.Errorf("remove released stream place: %w", err)
				}
			}
		}
	}
	return nil
}
