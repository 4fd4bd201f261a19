package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// roomOf returns the {room} of the path after checking that it exists: a
// name that could never be a room is as unknown as a missing one.
func (s *Server) roomOf(ctx context.Context, r *http.Request) (store.Room, error) {
	name := r.PathValue("room")
	if chat.ValidateRoom(name) != nil {
		return store.Room{}, errRoomNotFound
	}
	room, err := s.st.Room(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Room{}, errRoomNotFound
	}
	if err != nil {
		return store.Room{}, fmt.Errorf("read room: %w", err)
	}
	return room, nil
}

func lastIDPtr(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

// handleRooms is GET /api/rooms.
func (s *Server) handleRooms(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rooms, err := s.st.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("list rooms: %w", err)
	}
	list := chat.RoomList{Rooms: make([]chat.Room, 0, len(rooms))}
	for _, room := range rooms {
		online, err := s.st.Online(ctx, room.Name)
		if err != nil {
			return fmt.Errorf("read online of %s: %w", room.Name, err)
		}
		list.Rooms = append(list.Rooms, chat.Room{Name: room.Name, Topic: room.Topic, Online: len(online), LastID: lastIDPtr(room.LastID)})
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// handlePutRoom is PUT /api/rooms/{room}: 201 when it creates the room, 200
// when it existed. A topic in the body replaces the room's topic.
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
	if err := s.limits.allowPost(r, sessionFrom(r.Context()).Nick); err != nil {
		return err
	}
	ctx := r.Context()
	var before string // the topic before this PUT ("" for a new room)
	if upd.Topic != nil {
		old, err := s.st.Room(ctx, name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read room: %w", err)
		}
		before = old.Topic
	}
	room, created, err := s.st.PutRoom(ctx, name, upd.Topic)
	if err != nil {
		return fmt.Errorf("put room: %w", err)
	}
	if upd.Topic != nil && *upd.Topic != before {
		s.publishTopic(ctx, room.Name, room.Topic, sessionFrom(ctx).Nick)
	}
	online, err := s.st.Online(ctx, name)
	if err != nil {
		return fmt.Errorf("read online: %w", err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, chat.Room{Name: room.Name, Topic: room.Topic, Online: len(online), LastID: lastIDPtr(room.LastID)})
	return nil
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

// handleMembers is GET /api/rooms/{room}/members.
func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) error {
	room, err := s.roomOf(r.Context(), r)
	if err != nil {
		return err
	}
	online, err := s.st.Online(r.Context(), room.Name)
	if err != nil {
		return fmt.Errorf("read online: %w", err)
	}
	if online == nil {
		online = []string{}
	}
	writeJSON(w, http.StatusOK, chat.Members{Online: online})
	return nil
}
