package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Join records one connection of nick in room and returns who is online.
//
// Redis holds one entry per nick and node, not per connection: a nick with
// thousands of streams on a node costs one entry, and Join reads back only
// nicks × nodes members. The node counts its own connections and refreshes
// its entries; they expire PresenceTTL after it stops (a node that dies).
func (s *Store) Join(ctx context.Context, room, nick, conn string) ([]string, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	first := s.pres.add(room, nick, conn)
	if !first {
		return s.online(ctx, room, "join room")
	}
	res, err := joinScript.Run(ctx, s.rdb, []string{s.keys.presence(room)}, s.pres.member(nick), s.opts.PresenceTTL.Milliseconds()).StringSlice()
	if err != nil {
		// The caller treats a failed Join as no join and never leaves.
		s.pres.remove(room, nick, conn)
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
	if last := s.pres.remove(room, nick, conn); !last {
		return s.online(ctx, room, "leave room")
	}
	res, err := leaveScript.Run(ctx, s.rdb, []string{s.keys.presence(room)}, s.pres.member(nick)).StringSlice()
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
	return s.online(ctx, room, "read who is online")
}

func (s *Store) online(ctx context.Context, room, op string) ([]string, error) {
	res, err := onlineScript.Run(ctx, s.rdb, []string{s.keys.presence(room)}).StringSlice()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	s.health.up()
	return nicks(res), nil
}

// nicks turns "nick node" members into distinct nicks, sorted.
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

// presence remembers this node's connections, so it can keep its entries
// alive, and removes them when the store closes.
type presence struct {
	s     *Store
	node  string // this store's id in members: "nick node"
	mu    sync.Mutex
	conns map[string]map[string]map[string]bool // room → nick → connections
}

func newPresence(s *Store) *presence {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &presence{s: s, node: hex.EncodeToString(b[:]), conns: map[string]map[string]map[string]bool{}}
}

func (p *presence) member(nick string) string { return nick + " " + p.node }

// add records a connection and reports whether it is the nick's first in
// the room on this node.
func (p *presence) add(room, nick, conn string) (first bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	byNick := p.conns[room]
	if byNick == nil {
		byNick = map[string]map[string]bool{}
		p.conns[room] = byNick
	}
	cs := byNick[nick]
	if cs == nil {
		cs = map[string]bool{}
		byNick[nick] = cs
	}
	cs[conn] = true
	return len(cs) == 1
}

// remove forgets a connection and reports whether the nick has none left in
// the room on this node (false too when the connection was unknown and
// others remain).
func (p *presence) remove(room, nick, conn string) (last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.conns[room][nick]
	delete(cs, conn)
	if len(cs) > 0 {
		return false
	}
	delete(p.conns[room], nick)
	if len(p.conns[room]) == 0 {
		delete(p.conns, room)
	}
	return true
}

func (p *presence) has(room, nick string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns[room][nick]) > 0
}

// snapshot returns this node's nicks per room.
func (p *presence) snapshot() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string][]string, len(p.conns))
	for room, byNick := range p.conns {
		for nick := range byNick {
			out[room] = append(out[room], nick)
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
				for _, nick := range members {
					args = append(args, p.member(nick))
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
		for _, nick := range members {
			if !p.has(room, nick) {
				_ = p.s.rdb.ZRem(ctx, p.s.keys.presence(room), p.member(nick)).Err()
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
			for i, nick := range members {
				args[i] = p.member(nick)
			}
			pl.ZRem(ctx, p.s.keys.presence(room), args...)
		}
		return nil
	})
	if err != nil {
		p.s.log.Warn("remove presence at close", "err", fmt.Errorf("remove presence: %w", err))
	}
}

// OnlineMany returns who is online in each room, in one pipelined round
// trip (the script's source goes with each call, so no call can fail on a
// script cache Redis emptied).
func (s *Store) OnlineMany(ctx context.Context, rooms []string) ([][]string, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	cmds := make([]*goredis.Cmd, len(rooms))
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, room := range rooms {
			cmds[i] = onlineScript.Eval(ctx, p, []string{s.keys.presence(room)})
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("read who is online", err)
	}
	out := make([][]string, len(rooms))
	for i, c := range cmds {
		res, err := c.StringSlice()
		if err != nil {
			return nil, s.wrap("read who is online", err)
		}
		out[i] = nicks(res)
	}
	return out, nil
}
