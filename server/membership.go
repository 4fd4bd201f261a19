package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/store"
)

// joinRoom makes nick a member of a public room (posting or setting the
// topic joins, as PUT members of oneself does), telling every node.
func (s *Server) joinRoom(ctx context.Context, room, nick string) error {
	created, err := s.st.PutMember(ctx, room, nick, "")
	if errors.Is(err, store.ErrNotFound) {
		return errRoomNotFound // deleted a moment ago
	}
	if err != nil {
		return fmt.Errorf("join room: %w", err)
	}
	if created {
		s.publishMember(ctx, room, nick, store.MemberJoined, nick)
	}
	return nil
}

// publishMember tells every node that nick gained or lost room, or that
// the room is gone (store.RoomDeleted, nick ""). It is the hook by which
// a removal reaches the account's open streams (the hub acts on
// store.Event.Member); the change is stored already, so a failure is
// logged, not answered.
func (s *Server) publishMember(ctx context.Context, room, nick, state, by string) {
	err := s.st.Publish(ctx, store.Event{Room: room, Member: &store.MemberChange{Room: room, Nick: nick, State: state, By: by}})
	if err != nil {
		s.log.Warn("publish membership change", "room", room, "nick", nick, "state", state, "err", err)
	}
}

// account returns the account of a nick from a path or body; an invalid or
// unknown nick is 404 user_not_found.
func (s *Server) account(ctx context.Context, nick string) (store.Account, error) {
	if chat.ValidateNick(nick) != nil {
		return store.Account{}, errUserNotFound
	}
	acct, err := s.st.Account(ctx, nick)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, errUserNotFound.with("No account of the nick %s.", nick)
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("read account: %w", err)
	}
	return acct, nil
}

// handlePutMember is PUT /api/rooms/{room}/members/{nick}: oneself joins a
// public room; an owner or admin adds anyone to a public or private room; a
// body {"role"} (the room's owner only) makes a member admin or member.
// Nobody joins a direct room.
func (s *Server) handlePutMember(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	me := sessionFrom(ctx).Nick
	room, role, err := s.roomAccess(ctx, signedIn(me), r.PathValue("room"))
	if err != nil {
		return err
	}
	var upd chat.MemberUpdate
	if hasBody(r) {
		if err := s.decodeJSON(w, r, &upd); err != nil {
			return err
		}
	}
	if upd.Role != nil && *upd.Role != chat.RoleAdmin && *upd.Role != chat.RoleMember {
		return errBadRole
	}
	target, err := s.account(ctx, r.PathValue("nick"))
	if err != nil {
		return err
	}
	if err := s.limits.allowPost(r, me); err != nil {
		return err
	}
	self := chat.NickKey(target.Nick) == chat.NickKey(me)
	eff, err := s.manager(ctx, room, me, role)
	if err != nil {
		return err
	}
	switch {
	case room.Kind == chat.KindDirect:
		if !self || upd.Role != nil {
			return errNotAllowed.with("Nobody can join a direct conversation; start another with POST /api/dms.")
		}
	case upd.Role != nil:
		if eff != chat.RoleOwner {
			return errNotAllowed.with("Only the room's owner gives roles.")
		}
		if _, trole, _ := s.st.Access(ctx, room.Name, target.Nick); trole == chat.RoleOwner {
			return errNotAllowed.with("The owner's role does not change.")
		}
	case self && room.Kind == chat.KindPublic:
	case !manages(eff):
		return errNotAllowed.with("Only the room's owner and admins add members.")
	}
	newRole := ""
	if upd.Role != nil {
		newRole = *upd.Role
	}
	created, err := s.st.PutMember(ctx, room.Name, target.Nick, newRole)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errRoomNotFound // the room (or the account) went a moment ago
	case err != nil:
		return fmt.Errorf("put member: %w", err)
	}
	if created {
		s.publishMember(ctx, room.Name, target.Nick, store.MemberJoined, me)
	}
	_, trole, err := s.st.Access(ctx, room.Name, target.Nick)
	if err != nil {
		return s.nameTaken(err)
	}
	online, err := s.st.Online(ctx, room.Name)
	if err != nil {
		return fmt.Errorf("read online: %w", err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	isOnline := false
	for _, n := range online {
		isOnline = isOnline || chat.NickKey(n) == chat.NickKey(target.Nick)
	}
	writeJSON(w, status, chat.Member{Nick: target.Nick, Role: trole, Online: isOnline})
	return nil
}

// handleDeleteMember is DELETE /api/rooms/{room}/members/{nick}: oneself
// leaves (the owner cannot: it deletes the room instead); an owner or admin
// removes another member of a public or private room (an admin removes no
// admin, nobody removes the owner). Anyone else: 403 not_allowed.
func (s *Server) handleDeleteMember(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	me := sessionFrom(ctx).Nick
	room, role, err := s.roomAccess(ctx, signedIn(me), r.PathValue("room"))
	if err != nil {
		return err
	}
	target, err := s.account(ctx, r.PathValue("nick"))
	if err != nil {
		return err
	}
	if chat.NickKey(target.Nick) == chat.NickKey(me) {
		if role == chat.RoleOwner {
			return errNotAllowed.with("The owner cannot leave; delete the room instead.")
		}
		switch err := s.st.RemoveMember(ctx, room.Name, me); {
		case err == nil:
			s.publishMember(ctx, room.Name, me, store.MemberLeft, me)
		case !errors.Is(err, store.ErrNotFound): // not a member: nothing to leave
			return fmt.Errorf("leave room: %w", err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	eff, err := s.manager(ctx, room, me, role)
	if err != nil {
		return err
	}
	if room.Kind == chat.KindDirect || !manages(eff) {
		return errNotAllowed.with("Only the room's owner and admins remove members.")
	}
	_, trole, err := s.st.Access(ctx, room.Name, target.Nick)
	if err != nil {
		return s.nameTaken(err)
	}
	switch {
	case trole == "":
		return errUserNotFound.with("%s is not a member of %s.", target.Nick, room.Name)
	case trole == chat.RoleOwner, trole == chat.RoleAdmin && eff != chat.RoleOwner:
		return errNotAllowed.with("Only the owner removes an admin, and nobody removes the owner.")
	}
	if err := s.st.RemoveMember(ctx, room.Name, target.Nick); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove member: %w", err)
	}
	s.publishMember(ctx, room.Name, target.Nick, store.MemberRemoved, me)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleDeleteRoom is DELETE /api/rooms/{room}: its owner (or a server
// admin, for a public room) deletes it with every message, for good.
// "general" and direct rooms are not deleted. The room's open streams
// learn it from the store.RoomDeleted event published here.
func (s *Server) handleDeleteRoom(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	me := sessionFrom(ctx).Nick
	room, role, err := s.roomAccess(ctx, signedIn(me), r.PathValue("room"))
	if err != nil {
		return err
	}
	admin := false
	if role != chat.RoleOwner && room.Kind == chat.KindPublic {
		if admin, err = s.serverAdmin(ctx, me); err != nil {
			return err
		}
	}
	switch {
	case room.Name == chat.DefaultRoom:
		return errNotAllowed.with("Room %s always exists.", chat.DefaultRoom)
	case room.Kind == chat.KindDirect:
		return errNotAllowed.with("A direct conversation is not deleted; leave it instead.")
	case role != chat.RoleOwner && !admin: // a room admin does not delete the room
		return errNotAllowed.with("Only the room's owner deletes it.")
	}
	if err := s.st.DeleteRoom(ctx, room.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete room: %w", err)
	}
	s.publishMember(ctx, room.Name, "", store.RoomDeleted, me)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleMyRooms is GET /api/me/rooms: the rooms the caller belongs to.
// Read markers, unread counts, mentions and notification levels come with
// their own issue; until then last_read is "", unread and mentions 0, and
// notify the protocol's default (all for direct rooms, mentions for the
// rest).
func (s *Server) handleMyRooms(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	mine, err := s.st.RoomsOf(ctx, sessionFrom(ctx).Nick)
	if err != nil {
		return fmt.Errorf("list my rooms: %w", err)
	}
	mine = slices.DeleteFunc(mine, func(m store.MemberRoom) bool { return !tokenAllows(sessionFrom(ctx), m.Room.Name) })
	rooms := make([]store.Room, len(mine))
	for i, m := range mine {
		rooms[i] = m.Room
	}
	online, err := s.onlineCounts(ctx, rooms)
	if err != nil {
		return err
	}
	out := chat.MyRooms{Rooms: make([]chat.MyRoom, 0, len(mine))}
	for i, m := range mine {
		mr := chat.MyRoom{Name: m.Room.Name, Kind: m.Room.Kind, Topic: m.Room.Topic, Role: m.Role,
			LastID: lastIDPtr(m.Room.LastID), Notify: "mentions", Online: online[i]}
		if m.Room.Kind == chat.KindDirect {
			mr.Notify = "all"
			if mr.Members, err = s.memberNicks(ctx, m.Room.Name); err != nil {
				return err
			}
		}
		out.Rooms = append(out.Rooms, mr)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) memberNicks(ctx context.Context, room string) ([]string, error) {
	ms, err := s.st.Members(ctx, room)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("list members: %w", err)
	}
	nicks := make([]string, 0, len(ms))
	for _, m := range ms {
		nicks = append(nicks, m.Nick)
	}
	return nicks, nil
}

// handleDirect is POST /api/dms {"nicks"}: the direct room of the caller
// and those accounts, 201 when this call made it, 200 when it existed. The
// same set of accounts always gets the same room, in whatever order and
// case the nicks come and however many ask at once (the store decides, by
// the set). Its name is random, so it cannot be guessed from the nicks.
func (s *Server) handleDirect(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	me := sessionFrom(ctx).Nick
	if sess := sessionFrom(ctx); sess.TokenID != "" && len(sess.Rooms) > 0 {
		// A direct room's name is random: it could never be among a
		// token's rooms.
		return errTokenForbidden
	}
	var req chat.DirectRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Nicks) > 4*chat.MaxDirectMembers {
		return errBadNicks
	}
	set := []string{me}
	seen := map[string]bool{chat.NickKey(me): true}
	for _, n := range req.Nicks {
		acct, err := s.account(ctx, n)
		if err != nil {
			return err
		}
		if k := chat.NickKey(acct.Nick); !seen[k] {
			seen[k] = true
			set = append(set, acct.Nick)
		}
	}
	if len(set) < 2 || len(set) > chat.MaxDirectMembers {
		return errBadNicks
	}
	if err := s.limits.allowPost(r, me); err != nil {
		return err
	}
	var (
		room    store.Room
		created bool
		err     error
	)
	for range 3 { // a random name taken by another room: draw again
		room, created, err = s.st.DirectRoom(ctx, directName(), set)
		if !errors.Is(err, store.ErrExists) {
			break
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errUserNotFound // an account deleted a moment ago
	case err != nil:
		return fmt.Errorf("direct room: %w", err)
	}
	if created {
		for _, n := range set {
			s.publishMember(ctx, room.Name, n, store.MemberJoined, me)
		}
	}
	members, err := s.memberNicks(ctx, room.Name)
	if err != nil {
		return err
	}
	online, err := s.st.Online(ctx, room.Name)
	if err != nil {
		return fmt.Errorf("read online: %w", err)
	}
	out := roomJSON(room, len(online), true)
	out.Members = members
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
	return nil
}

// directName is a new direct room's name: "dm-" and 20 random base32
// characters (100 bits), a valid room name nobody can guess.
func directName() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return "dm-" + string(b)
}
