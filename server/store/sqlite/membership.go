package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// CreateRoom creates a room with its kind, topic and owner, or returns the
// existing one unchanged.
func (s *Store) CreateRoom(ctx context.Context, nr store.NewRoom) (store.Room, bool, error) {
	if s.isDown.Load() {
		return store.Room{}, false, store.ErrClosed
	}
	if rm := s.room(nr.Name); rm != nil {
		return s.snapshot(rm), false, nil
	}
	return s.writeRoom(ctx, func(ctx context.Context, tx *sql.Tx) (*room, bool, error) {
		if rm := s.rooms[nr.Name]; rm != nil { // the writer is the only goroutine changing the map
			return rm, false, nil
		}
		rm, err := s.insertRoom(ctx, tx, nr)
		if err != nil {
			return nil, false, err
		}
		if nr.Owner != "" {
			if err := s.insertMember(ctx, tx, rm.id, nr.Owner, chat.RoleOwner); err != nil {
				return nil, false, err
			}
		}
		return rm, true, nil
	})
}

// writeRoom runs findOrInsert in the writer goroutine: it returns the room
// it found (created false, nothing written) or the room it inserted, which
// joins the map only once the transaction commits. CreateRoom and
// DirectRoom share it, so that a new room becomes visible one way whichever
// made it.
func (s *Store) writeRoom(ctx context.Context, findOrInsert func(ctx context.Context, tx *sql.Tx) (rm *room, created bool, err error)) (store.Room, bool, error) {
	var (
		out     store.Room
		created bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		rm, isNew, err := findOrInsert(ctx, tx)
		if err != nil {
			return nil, err
		}
		if !isNew {
			out = s.snapshot(rm)
			return nil, nil
		}
		return func() {
			s.addRoom(rm)
			out, created = s.snapshot(rm), true
		}, nil
	})
	if err != nil {
		return store.Room{}, false, err
	}
	return out, created, nil
}

// insertRoom inserts a room row and returns its in-memory state, not yet in
// the map: the caller adds it once the transaction commits.
func (s *Store) insertRoom(ctx context.Context, tx *sql.Tx, nr store.NewRoom) (*room, error) {
	rm := s.newRoom()
	rm.name, rm.topic, rm.kind, rm.created = nr.Name, nr.Topic, nr.Kind, normTime(s.now())
	if nr.Owner != "" {
		acct, err := s.accountIn(ctx, tx, nr.Owner)
		if err != nil {
			return nil, err
		}
		rm.owner = acct
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO rooms (name, topic, kind, owner, created) VALUES (?, ?, ?, ?, ?)`,
		rm.name, rm.topic, rm.kind, rm.owner, toNanos(rm.created))
	if err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	if rm.id, err = res.LastInsertId(); err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	if err := continueSeq(ctx, tx, rm); err != nil {
		return nil, err
	}
	return rm, nil
}

// continueSeq makes a room created under the name of a deleted one go on
// numbering after the deleted room's newest seq, with every seq up to it
// counted as trimmed. A client still holding an id of the deleted room
// then resumes with a reset (ErrTrimmed), or from the deleted room's
// newest id with every message of the new one, never with a silent skip
// of the new room's first messages, which would otherwise reuse its ids.
func continueSeq(ctx context.Context, tx *sql.Tx, rm *room) error {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT last_seq FROM deleted_rooms WHERE name = ?`, rm.name).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read deleted room: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rooms SET trimmed = ? WHERE id = ?`, last, rm.id); err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	rm.last.Store(last)
	rm.trimmed.Store(last)
	rm.next = last + 1
	rm.tail.Reset(seqID(last))
	rm.tail.Trim(seqID(last))
	return nil
}

// accountIn returns the nick of an account as it was created;
// store.ErrNotFound when there is none.
func (s *Store) accountIn(ctx context.Context, tx *sql.Tx, nick string) (string, error) {
	var spelled string
	err := tx.QueryRowContext(ctx, `SELECT nick FROM accounts WHERE nick_key = ?`, chat.NickKey(nick)).Scan(&spelled)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("account %q: %w", nick, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read account: %w", err)
	}
	return spelled, nil
}

func (s *Store) insertMember(ctx context.Context, tx *sql.Tx, roomID int64, nick, role string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO members (room_id, nick_key, role, joined) VALUES (?, ?, ?, ?)`,
		roomID, chat.NickKey(nick), role, toNanos(s.now()))
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}

func (s *Store) addRoom(rm *room) {
	s.mu.Lock()
	s.rooms[rm.name] = rm
	s.mu.Unlock()
}

// DirectRoom returns the direct room of the set of nicks, creating it under
// name when the set has none. The direct_rooms table's primary key on the
// set is the one place that decides; the writer goroutine serialises the
// check and the insert besides.
func (s *Store) DirectRoom(ctx context.Context, name string, nicks []string) (store.Room, bool, error) {
	if s.isDown.Load() {
		return store.Room{}, false, store.ErrClosed
	}
	key := store.DirectKey(nicks)
	if n := strings.Count(key, ",") + 1; n < 2 || n > chat.MaxDirectMembers {
		return store.Room{}, false, fmt.Errorf("direct room of %d accounts: %w", n, store.ErrInvalid)
	}
	return s.writeRoom(ctx, func(ctx context.Context, tx *sql.Tx) (*room, bool, error) {
		var existing string
		err := tx.QueryRowContext(ctx, `SELECT r.name FROM direct_rooms d JOIN rooms r ON r.id = d.room_id WHERE d.set_key = ?`, key).Scan(&existing)
		switch {
		case err == nil:
			rm := s.rooms[existing]
			if rm == nil {
				return nil, false, fmt.Errorf("direct room %s is not loaded", existing)
			}
			return rm, false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return nil, false, fmt.Errorf("read direct room: %w", err)
		}
		if s.rooms[name] != nil {
			return nil, false, fmt.Errorf("direct room %s: %w", name, store.ErrExists)
		}
		rm, err := s.insertRoom(ctx, tx, store.NewRoom{Name: name, Kind: chat.KindDirect})
		if err != nil {
			return nil, false, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO direct_rooms (set_key, room_id) VALUES (?, ?)`, key, rm.id); err != nil {
			return nil, false, fmt.Errorf("create direct room: %w", err)
		}
		for _, nick := range uniqueNicks(nicks) {
			if _, err := s.accountIn(ctx, tx, nick); err != nil {
				return nil, false, err
			}
			if err := s.insertMember(ctx, tx, rm.id, nick, chat.RoleMember); err != nil {
				return nil, false, err
			}
		}
		return rm, true, nil
	})
}

// uniqueNicks drops nicks that name the same account as an earlier one.
func uniqueNicks(nicks []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range nicks {
		if k := chat.NickKey(n); !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}

// SetPublicRead sets whether the room may be read without signing in.
func (s *Store) SetPublicRead(ctx context.Context, name string, on bool) (store.Room, error) {
	var out store.Room
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		rm := s.rooms[name]
		if rm == nil {
			return nil, store.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rooms SET public_read = ? WHERE id = ?`, on, rm.id); err != nil {
			return nil, fmt.Errorf("set public_read: %w", err)
		}
		return func() {
			s.mu.Lock()
			rm.publicRead = on
			s.mu.Unlock()
			out = s.snapshot(rm)
		}, nil
	})
	return out, err
}

// Access returns the room and nick's role in it. A missing room asks SQLite
// about room id 0, which no room has, so it costs the same query as a room
// the nick is not in.
func (s *Store) Access(ctx context.Context, name, nick string) (store.Room, string, error) {
	if s.isDown.Load() {
		return store.Room{}, "", store.ErrClosed
	}
	var (
		r     store.Room
		id    int64
		found bool
	)
	s.mu.RLock()
	if rm := s.rooms[name]; rm != nil {
		r, id, found = s.snapshotLocked(rm), rm.id, true
	}
	s.mu.RUnlock()
	var role string
	err := s.rs.role.QueryRowContext(ctx, id, chat.NickKey(nick)).Scan(&role)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return store.Room{}, "", s.fail("read membership", err)
	}
	if !found {
		return store.Room{}, "", store.ErrNotFound
	}
	return r, role, nil
}

// PutMember adds nick to the room or changes its role.
func (s *Store) PutMember(ctx context.Context, name, nick, role string) (bool, error) {
	var created bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		rm := s.rooms[name]
		if rm == nil {
			return nil, fmt.Errorf("room %q: %w", name, store.ErrNotFound)
		}
		if _, err := s.accountIn(ctx, tx, nick); err != nil {
			return nil, err
		}
		var old string
		err := tx.QueryRowContext(ctx, `SELECT role FROM members WHERE room_id = ? AND nick_key = ?`, rm.id, chat.NickKey(nick)).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if role == "" {
				role = chat.RoleMember
			}
			created = true
			return nil, s.insertMember(ctx, tx, rm.id, nick, role)
		case err != nil:
			return nil, fmt.Errorf("read member: %w", err)
		case role == "" || role == old:
			return nil, nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE members SET role = ? WHERE room_id = ? AND nick_key = ?`, role, rm.id, chat.NickKey(nick))
		if err != nil {
			return nil, fmt.Errorf("set role: %w", err)
		}
		return nil, nil
	})
	return created, err
}

// RemoveMember removes nick from the room.
func (s *Store) RemoveMember(ctx context.Context, name, nick string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		rm := s.rooms[name]
		if rm == nil {
			return nil, fmt.Errorf("room %q: %w", name, store.ErrNotFound)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM members WHERE room_id = ? AND nick_key = ?`, rm.id, chat.NickKey(nick))
		return nil, oneRow(res, err, "remove member")
	})
}

// Members lists the room's members sorted by nick key.
func (s *Store) Members(ctx context.Context, name string) ([]store.Member, error) {
	rm := s.room(name)
	if rm == nil {
		return nil, fmt.Errorf("room %q: %w", name, store.ErrNotFound)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT a.nick, m.role, m.joined FROM members m
		JOIN accounts a ON a.nick_key = m.nick_key WHERE m.room_id = ? ORDER BY m.nick_key`, rm.id)
	if err != nil {
		return nil, s.fail("list members", err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		var (
			m      store.Member
			joined int64
		)
		if err := rows.Scan(&m.Nick, &m.Role, &joined); err != nil {
			return nil, s.fail("list members", err)
		}
		m.Joined = fromNanos(joined)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list members", err)
	}
	return out, nil
}

// RoomsOf lists the rooms nick belongs to, sorted by name.
func (s *Store) RoomsOf(ctx context.Context, nick string) ([]store.MemberRoom, error) {
	if s.isDown.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT r.name, m.role FROM members m
		JOIN rooms r ON r.id = m.room_id WHERE m.nick_key = ?`, chat.NickKey(nick))
	if err != nil {
		return nil, s.fail("list rooms of account", err)
	}
	defer rows.Close()
	var out []store.MemberRoom
	for rows.Next() {
		var name, role string
		if err := rows.Scan(&name, &role); err != nil {
			return nil, s.fail("list rooms of account", err)
		}
		if rm := s.room(name); rm != nil { // not deleted since
			out = append(out, store.MemberRoom{Room: s.snapshot(rm), Role: role})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list rooms of account", err)
	}
	slices.SortFunc(out, func(a, b store.MemberRoom) int { return strings.Compare(a.Room.Name, b.Room.Name) })
	return out, nil
}

// DeleteRoom removes the room, its messages, members and direct key. The
// writer connection runs with secure_delete, so the messages' text is
// overwritten in the file.
func (s *Store) DeleteRoom(ctx context.Context, name string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) (func(), error) {
		rm := s.rooms[name]
		if rm == nil {
			return nil, fmt.Errorf("room %q: %w", name, store.ErrNotFound)
		}
		// The name's newest seq outlives the room (continueSeq).
		if _, err := tx.ExecContext(ctx, `INSERT INTO deleted_rooms (name, last_seq) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)`,
			name, max(rm.last.Load(), rm.trimmed.Load())); err != nil {
			return nil, fmt.Errorf("delete room: %w", err)
		}
		if err := unindexRoom(ctx, tx, rm.id); err != nil {
			return nil, err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE room_id = ?`,
			`DELETE FROM members WHERE room_id = ?`,
			`DELETE FROM direct_rooms WHERE room_id = ?`,
			`DELETE FROM rooms WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, rm.id); err != nil {
				return nil, fmt.Errorf("delete room: %w", err)
			}
		}
		return func() {
			s.mu.Lock()
			delete(s.rooms, name)
			s.mu.Unlock()
		}, nil
	})
}
