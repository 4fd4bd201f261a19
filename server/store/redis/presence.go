package redis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Join records one connection of nick in room and returns who is online.
// The entry expires PresenceTTL after this node last refreshed it, so the
// connections of a node that dies leave by themselves.
func (s *Store) Join(ctx context.Context, room, nick, conn string) ([]string, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	member := nick + " " + conn
	s.pres.add(room, member)
	res, err := joinScript.Run(ctx, s.rdb, []string{s.keys.presence(room)}, member, s.opts.PresenceTTL.Milliseconds()).StringSlice()
	if err != nil {
		// The caller treats a failed Join as no join and never leaves.
		s.pres.remove(room, member)
		return nil, s.wrap("join room", err)
	}
	s.health.up()
	return nicks(res), nil
}

// Leave removes one connection of nick from room and returns who is online.
func (s *Store) Leave(ctx context.Context, room, nick, conn string) ([]string, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	member := nick + " " + conn
	s.pres.remove(room, member)
	res, err := leaveScript.Run(ctx, s.rdb, []string{s.keys.presence(room)}, member).StringSlice()
	if err != nil {
		return nil, s.wrap("leave room", err)
	}
	s.health.up()
	return nicks(res), nil
}

// Online returns the distinct nicks online in room, sorted.
func (s *Store) Online(ctx context.Context, room string) ([]string, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := onlineScript.Run(ctx, s.rdb, []string{s.keys.presence(room)}).StringSlice()
	if err != nil {
		return nil, s.wrap("read who is online", err)
	}
	s.health.up()
	return nicks(res), nil
}

// nicks turns "nick conn" members into distinct nicks, sorted.
func nicks(members []string) []string {
	out := make([]string, 0, len(members))
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		n, _, _ := strings.Cut(m, " ")
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// presence remembers this node's connections so it can keep their entries
// alive, and removes them when the store closes.
type presence struct {
	s       *Store
	mu      sync.Mutex
	members map[string]map[string]int // room → member → joins
}

func newPresence(s *Store) *presence {
	return &presence{s: s, members: map[string]map[string]int{}}
}

func (p *presence) add(room, member string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[room]
	if m == nil {
		m = map[string]int{}
		p.members[room] = m
	}
	m[member]++
}

func (p *presence) remove(room, member string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.members[room]
	if m[member] > 1 {
		m[member]--
		return
	}
	delete(m, member)
	if len(m) == 0 {
		delete(p.members, room)
	}
}

func (p *presence) has(room, member string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.members[room][member] > 0
}

func (p *presence) snapshot() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string][]string, len(p.members))
	for room, m := range p.members {
		for member := range m {
			out[room] = append(out[room], member)
		}
	}
	return out
}

// run refreshes this node's entries every third of PresenceTTL until ctx
// ends.
func (p *presence) run(ctx context.Context) {
	t := time.NewTicker(p.s.opts.PresenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = p.refresh(ctx)
		}
	}
}

// refresh pushes every local entry's expiry forward. An entry that left
// while the refresh ran is removed again afterwards, so a refresh never
// brings a departed connection back.
func (p *presence) refresh(ctx context.Context) error {
	snap := p.snapshot()
	if len(snap) == 0 {
		return nil
	}
	ttl := p.s.opts.PresenceTTL.Milliseconds()
	touch := func() error {
		_, err := p.s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
			for room, members := range snap {
				args := make([]any, 0, len(members)+1)
				args = append(args, ttl)
				for _, m := range members {
					args = append(args, m)
				}
				touchScript.EvalSha(ctx, pl, []string{p.s.keys.presence(room)}, args...)
			}
			return nil
		})
		return err
	}
	err := touch()
	if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
		// A pipeline cannot fall back to EVAL by itself: load the script
		// (new, or forgotten by a restarted Redis) and go again.
		if err = touchScript.Load(ctx, p.s.rdb).Err(); err == nil {
			err = touch()
		}
	}
	if err != nil {
		return p.s.wrap("refresh presence", err)
	}
	p.s.health.up()
	for room, members := range snap {
		for _, m := range members {
			if !p.has(room, m) {
				_ = p.s.rdb.ZRem(ctx, p.s.keys.presence(room), m).Err()
			}
		}
	}
	return nil
}

// leaveAll removes this node's entries when the store closes, so a node
// that stops cleanly does not leave ghosts for PresenceTTL.
func (p *presence) leaveAll() {
	snap := p.snapshot()
	if len(snap) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := p.s.rdb.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for room, members := range snap {
			args := make([]any, len(members))
			for i, m := range members {
				args[i] = m
			}
			pl.ZRem(ctx, p.s.keys.presence(room), args...)
		}
		return nil
	})
	if err != nil {
		p.s.log.Warn("remove presence at close", "err", fmt.Errorf("remove presence: %w", err))
	}
}
