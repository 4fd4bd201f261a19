package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ssechat/chat/server/store"
)

// PutRoom creates the room or returns the existing one; a non-nil topic
// replaces its topic either way.
func (s *Store) PutRoom(ctx context.Context, name string, topic *string) (store.Room, bool, error) {
	if s.isDown.Load() {
		return store.Room{}, false, store.ErrClosed
	}
	if rm := s.room(name); rm != nil && topic == nil {
		return s.snapshot(rm), false, nil // nothing to write: spare the writer
	}
	var (
		out     store.Room
		created bool
	)
	now := normTime(s.now())
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		if rm := s.rooms[name]; rm != nil { // the writer is the only goroutine changing the map
			if topic == nil {
				out = s.snapshot(rm)
				return nil, nil
			}
			if _, err := tx.ExecContext(ctx, `UPDATE rooms SET topic = ? WHERE id = ?`, *topic, rm.id); err != nil {
				return nil, fmt.Errorf("set topic: %w", err)
			}
			return func() {
				s.mu.Lock()
				rm.topic = *topic
				s.mu.Unlock()
				out = s.snapshot(rm)
			}, nil
		}
		rm := s.newRoom()
		rm.name, rm.created = name, now
		if topic != nil {
			rm.topic = *topic
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO rooms (name, topic, created) VALUES (?, ?, ?)`, name, rm.topic, toNanos(now))
		if err != nil {
			return nil, fmt.Errorf("create room: %w", err)
		}
		if rm.id, err = res.LastInsertId(); err != nil {
			return nil, fmt.Errorf("create room: %w", err)
		}
		if err := continueSeq(ctx, tx, rm); err != nil {
			return nil, err
		}
		return func() {
			s.mu.Lock()
			s.rooms[name] = rm
			s.mu.Unlock()
			out, created = s.snapshot(rm), true
		}, nil
	})
	if err != nil {
		return store.Room{}, false, err
	}
	return out, created, nil
}

// Room returns a room; store.ErrNotFound when it does not exist.
func (s *Store) Room(ctx context.Context, name string) (store.Room, error) {
	if s.isDown.Load() {
		return store.Room{}, store.ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rm := s.rooms[name]
	if rm == nil {
		return store.Room{}, store.ErrNotFound
	}
	return s.snapshotLocked(rm), nil
}

// Rooms lists every room sorted by name.
func (s *Store) Rooms(ctx context.Context) ([]store.Room, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	s.mu.RLock()
	out := make([]store.Room, 0, len(s.rooms))
	for _, rm := range s.rooms {
		out = append(out, s.snapshotLocked(rm))
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b store.Room) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Store) snapshot(rm *room) store.Room {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snapshotLocked(rm)
}

func (s *Store) snapshotLocked(rm *room) store.Room {
	r := store.Room{Name: rm.name, Topic: rm.topic, Created: rm.created, Kind: rm.kind, Owner: rm.owner, PublicRead: rm.publicRead}
	if last := rm.last.Load(); last > 0 {
		r.LastID = strconv.FormatInt(last, 10)
	}
	return r
}
