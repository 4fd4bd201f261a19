package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// Room list paging: GET /api/rooms answers at most roomPageMax rooms, by
// default roomPageDefault.
const (
	roomPageDefault = 100
	roomPageMax     = 1000
)

func lastIDPtr(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

// roomJSON is a room as the API answers it.
func roomJSON(room store.Room, online int, member bool) chat.Room {
	return chat.Room{Name: room.Name, Topic: room.Topic, Online: online, LastID: lastIDPtr(room.LastID),
		Kind: room.Kind, Member: &member, PublicRead: room.PublicRead}
}

// handleRooms is GET /api/rooms?limit=&after=: one page, by name, of the
// public rooms and the private and direct rooms the caller belongs to.
// Nothing about any other room is listed or counted.
func (s *Server) handleRooms(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	limit := roomPageDefault
	if l := q.Get("limit"); l != "" || q.Has("limit") {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > roomPageMax {
			return errBadQuery.with("limit is a number from 1 to %d.", roomPageMax)
		}
		limit = n
	}
	after := q.Get("after")
	nick := sessionFrom(ctx).Nick
	rooms, err := s.st.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("list rooms: %w", err)
	}
	mine, err := s.st.RoomsOf(ctx, nick)
	if err != nil {
		return fmt.Errorf("list rooms of %s: %w", nick, err)
	}
	member := make(map[string]bool, len(mine))
	for _, m := range mine {
		member[m.Room.Name] = true
	}
	var page []store.Room
	hasMore := false
	for _, room := range rooms { // sorted by name
		if room.Name <= after || (room.Kind != chat.KindPublic && !member[room.Name]) || !tokenAllows(sessionFrom(ctx), room.Name) {
			continue
		}
		if len(page) == limit {
			hasMore = true
			break
		}
		page = append(page, room)
	}
	online, err := s.onlineCounts(ctx, page)
	if err != nil {
		return err
	}
	list := chat.RoomList{Rooms: make([]chat.Room, 0, len(page)), HasMore: hasMore}
	for i, room := range page {
		list.Rooms = append(list.Rooms, roomJSON(room, online[i], member[room.Name]))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// onlineCounts returns how many are online in each room: in one call when
// the store lists many rooms at once (store.OnlineLister, Redis), else room
// by room.
func (s *Server) onlineCounts(ctx context.Context, rooms []store.Room) ([]int, error) {
	counts := make([]int, len(rooms))
	if ol, ok := s.st.(store.OnlineLister); ok {
		names := make([]string, len(rooms))
		for i, r := range rooms {
			names[i] = r.Name
		}
		online, err := ol.OnlineMany(ctx, names)
		if err != nil {
			return nil, fmt.Errorf("read online: %w", err)
		}
		for i, o := range online {
			counts[i] = len(o)
		}
		return counts, nil
	}
	for i, r := range rooms {
		online, err := s.st.Online(ctx, r.Name)
		if err != nil {
			return nil, fmt.Errorf("read online of %s: %w", r.Name, err)
		}
		counts[i] = len(online)
	}
	return counts, nil
}

// handlePutRoom is PUT /api/rooms/{room}: 201 when it creates the room (the
// caller its owner; kind public unless the body says private), 200 when it
// existed. A topic in the body replaces the room's topic (in a public room
// any member, and the caller becomes one; in a private room its owner or
// admins); public_read is its owner's. A kind other than the room's is 409
// room_kind_fixed; a name taken by a room the caller cannot see is 409
// room_name_taken and tells nothing else.
func (s *Server) handlePutRoom(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("room")
	if err := chat.ValidateRoom(name); err != nil {
		return err
	}
	var upd chat.RoomUpdate
	if hasBody(r) {
		if err := s.decodeJSON(w, r, &upd); err != nil {
			return err
		}
	}
	if upd.Topic != nil {
		if err := chat.ValidateTopic(*upd.Topic); err != nil {
			return err
		}
	}
	if upd.Kind != nil && *upd.Kind != chat.KindPublic && *upd.Kind != chat.KindPrivate {
		return errBadRoomKind
	}
	nick := sessionFrom(r.Context()).Nick
	if !tokenAllows(sessionFrom(r.Context()), name) {
		// Not even created: the token may not know of the room.
		return errRoomNotFound
	}
	if err := s.limits.allowPost(r, nick); err != nil {
		return err
	}
	ctx := r.Context()
	room, role, err := s.roomAccess(ctx, signedIn(nick), name)
	created := false
	switch {
	case errors.Is(err, errRoomNotFound):
		room, created, err = s.createRoom(ctx, nick, name, upd)
		if err != nil {
			return err
		}
		if !created { // made by someone else a moment ago: update it as theirs
			if room, role, err = s.roomAccess(ctx, signedIn(nick), name); err != nil {
				return s.nameTaken(err)
			}
		} else {
			role = chat.RoleOwner
		}
	case err != nil:
		return err
	}
	if !created {
		if room, role, err = s.updateRoom(ctx, room, nick, role, upd); err != nil {
			return err
		}
	}
	online, err := s.st.Online(ctx, name)
	if err != nil {
		return fmt.Errorf("read online: %w", err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, roomJSON(room, len(online), role != ""))
	return nil
}

// nameTaken turns "cannot see it" into 409 room_name_taken, for a PUT of a
// name that exists but is hidden from the caller.
func (s *Server) nameTaken(err error) error {
	if errors.Is(err, errRoomNotFound) {
		return errRoomNameTaken
	}
	return err
}

// createRoom makes a new room owned by nick, within the account's cap of
// rooms owned. created is false when the name exists (hidden from the
// caller or made meanwhile).
func (s *Server) createRoom(ctx context.Context, nick, name string, upd chat.RoomUpdate) (store.Room, bool, error) {
	if limit := s.cfg.RoomsPerAccount; limit > 0 {
		mine, err := s.st.RoomsOf(ctx, nick)
		if err != nil {
			return store.Room{}, false, fmt.Errorf("list rooms of %s: %w", nick, err)
		}
		owned := 0
		for _, m := range mine {
			if m.Role == chat.RoleOwner {
				owned++
			}
		}
		if owned >= limit {
			return store.Room{}, false, errTooManyRooms.with("You own %d rooms, as many as an account may; delete one first.", owned)
		}
	}
	nr := store.NewRoom{Name: name, Kind: chat.KindPublic, Owner: nick}
	if upd.Kind != nil {
		nr.Kind = *upd.Kind
	}
	if upd.Topic != nil {
		nr.Topic = *upd.Topic
	}
	if upd.PublicRead != nil && *upd.PublicRead && nr.Kind != chat.KindPublic {
		return store.Room{}, false, errNotAllowed.with("Only a public room can be read without signing in.")
	}
	room, created, err := s.st.CreateRoom(ctx, nr)
	if err != nil {
		return store.Room{}, false, fmt.Errorf("create room: %w", err)
	}
	if !created {
		return room, false, nil
	}
	if upd.PublicRead != nil && *upd.PublicRead {
		if room, err = s.st.SetPublicRead(ctx, name, true); err != nil {
			return store.Room{}, false, fmt.Errorf("set public_read: %w", err)
		}
	}
	s.publishMember(ctx, name, nick, store.MemberJoined, nick)
	return room, true, nil
}

// updateRoom applies a PUT to an existing room the caller can see.
func (s *Server) updateRoom(ctx context.Context, room store.Room, nick, role string, upd chat.RoomUpdate) (store.Room, string, error) {
	if upd.Kind != nil && *upd.Kind != room.Kind {
		return store.Room{}, "", errRoomKindFixed.with("Room %s is %s; a kind is fixed when the room is created.", room.Name, room.Kind)
	}
	if upd.Topic == nil && upd.PublicRead == nil {
		return room, role, nil
	}
	eff, err := s.manager(ctx, room, nick, role)
	if err != nil {
		return store.Room{}, "", err
	}
	if upd.PublicRead != nil && *upd.PublicRead != room.PublicRead {
		switch {
		case eff != chat.RoleOwner:
			return store.Room{}, "", errNotAllowed.with("Only the room's owner decides whether it can be read without signing in.")
		case room.Kind != chat.KindPublic:
			return store.Room{}, "", errNotAllowed.with("Only a public room can be read without signing in.")
		}
		if room, err = s.st.SetPublicRead(ctx, room.Name, *upd.PublicRead); err != nil {
			return store.Room{}, "", fmt.Errorf("set public_read: %w", err)
		}
	}
	if upd.Topic == nil || *upd.Topic == room.Topic {
		return room, role, nil
	}
	switch room.Kind {
	case chat.KindPrivate:
		if !manages(eff) {
			return store.Room{}, "", errNotAllowed.with("Only the owner and admins set the topic of a private room.")
		}
	case chat.KindPublic:
		if role == "" { // setting the topic of a public room joins it, as posting does
			if err := s.joinRoom(ctx, room.Name, nick); err != nil {
				return store.Room{}, "", err
			}
			role = chat.RoleMember
		}
	}
	updated, _, err := s.st.PutRoom(ctx, room.Name, upd.Topic)
	if err != nil {
		return store.Room{}, "", fmt.Errorf("put room: %w", err)
	}
	s.publishTopic(ctx, updated.Name, updated.Topic, nick)
	return updated, role, nil
}

// publishTopic tells the room's open streams its new topic with a room
// event, so they need not poll GET /api/rooms. The topic is stored already;
// a lost event only delays the news until the next room list, so a failure
// is logged, not answered.
func (s *Server) publishTopic(ctx context.Context, room, topic, nick string) {
	err := s.st.Publish(ctx, store.Event{Room: room, Topic: &chat.TopicChange{Room: room, Topic: topic, Nick: nick}})
	if err != nil {
		s.log.Warn("publish topic change", "room", room, "err", err)
	}
}

// handleMembers is GET /api/rooms/{room}/members: every member with its
// role and whether it has a stream open, and the online nicks.
func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	room, _, err := s.roomAccess(ctx, signedIn(sessionFrom(ctx).Nick), r.PathValue("room"))
	if err != nil {
		return err
	}
	online, err := s.st.Online(ctx, room.Name)
	if err != nil {
		return fmt.Errorf("read online: %w", err)
	}
	if online == nil {
		online = []string{}
	}
	members, err := s.st.Members(ctx, room.Name)
	if errors.Is(err, store.ErrNotFound) {
		return errRoomNotFound // deleted a moment ago
	}
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	isOnline := make(map[string]bool, len(online))
	for _, n := range online {
		isOnline[chat.NickKey(n)] = true
	}
	out := chat.Members{Members: make([]chat.Member, 0, len(members)), Online: online}
	for _, m := range members {
		out.Members = append(out.Members, chat.Member{Nick: m.Nick, Role: m.Role, Online: isOnline[chat.NickKey(m.Nick)]})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
