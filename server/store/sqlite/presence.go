package sqlite

import (
	"context"
	"slices"

	"github.com/ssechat/chat/server/store"
)

// roomPresence is who is connected to one room. The sorted list of distinct
// nicks is rebuilt only when a nick comes or goes, not on every connection:
// a storm of 5000 streams resuming at once would otherwise sort the whole
// room 10 000 times.
type roomPresence struct {
	conns  map[presenceKey]struct{}
	nicks  map[string]int // connections per nick
	online []string       // distinct nicks, sorted; replaced, never changed in place
}

// Join records one connection of nick in room and returns who is online.
// Presence lives in memory only: it vanishes with the process. The returned
// slice is shared: callers must not modify it.
func (s *Store) Join(ctx context.Context, room, nick, conn string) ([]string, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	s.presMu.Lock()
	defer s.presMu.Unlock()
	p := s.presence[room]
	if p == nil {
		p = &roomPresence{conns: map[presenceKey]struct{}{}, nicks: map[string]int{}, online: []string{}}
		s.presence[room] = p
	}
	k := presenceKey{nick, conn}
	if _, ok := p.conns[k]; !ok {
		p.conns[k] = struct{}{}
		p.nicks[nick]++
		if p.nicks[nick] == 1 {
			i, _ := slices.BinarySearch(p.online, nick)
			p.online = slices.Insert(slices.Clip(p.online), i, nick)
		}
	}
	return slices.Clip(p.online), nil
}

// Leave removes one connection of nick from room and returns who is online.
// Leaving twice is not an error.
func (s *Store) Leave(ctx context.Context, room, nick, conn string) ([]string, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	s.presMu.Lock()
	defer s.presMu.Unlock()
	p := s.presence[room]
	if p == nil {
		return []string{}, nil
	}
	k := presenceKey{nick, conn}
	if _, ok := p.conns[k]; ok {
		delete(p.conns, k)
		p.nicks[nick]--
		if p.nicks[nick] == 0 {
			delete(p.nicks, nick)
			if i, found := slices.BinarySearch(p.online, nick); found {
				p.online = slices.Delete(slices.Clone(p.online), i, i+1)
			}
		}
	}
	if len(p.conns) == 0 {
		delete(s.presence, room)
	}
	return slices.Clip(p.online), nil
}

// Online returns the distinct nicks connected to room, sorted. The returned
// slice is shared: callers must not modify it.
func (s *Store) Online(ctx context.Context, room string) ([]string, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	s.presMu.Lock()
	defer s.presMu.Unlock()
	if p := s.presence[room]; p != nil {
		return slices.Clip(p.online), nil
	}
	return []string{}, nil
}
