package server

import (
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/sse"
	"github.com/ssechat/chat/server/fanout"
	"github.com/ssechat/chat/server/store"
)

// endForMember ends this node's open streams that a membership change
// takes a room from, each with a last removed {"room", "by"} event:
//
//   - store.RoomDeleted: every stream of the room (by: the deleter);
//   - store.MemberRemoved: the removed account's streams of the room, of
//     any kind of room (by: the owner or admin who removed it);
//   - store.MemberLeft: the account's streams of the room when it is
//     private or direct (by: the account itself, "left on another device"),
//     which it can no longer read. A public room stays readable by every
//     signed-in account, so leaving one ends no stream.
//
// A join ends nothing. It runs on the store's listener goroutine and never
// blocks: fanout.Stream.End only queues.
func (s *Server) endForMember(mc *store.MemberChange) int {
	last := func(o *openStream) *fanout.Frame { return removedFrame(mc.Room, mc.By, mc.State == store.RoomDeleted) }
	switch mc.State {
	case store.RoomDeleted:
		return s.open.end(roomStreamsKey(mc.Room), nil, last)
	case store.MemberRemoved:
		return s.open.end(memberStreamsKey(mc.Room, mc.Nick), nil, last)
	case store.MemberLeft:
		private := func(o *openStream) bool { return o.kind != chat.KindPublic }
		return s.open.end(memberStreamsKey(mc.Room, mc.Nick), private, last)
	}
	return 0
}

// removedFrame encodes the last event of a stream whose room was taken
// from it. It is kept: a full queue must not lose it.
func removedFrame(room, by string, deleted bool) *fanout.Frame {
	b, err := sse.AppendJSON(nil, chat.EventRemoved, "", chat.Removed{Room: room, By: by, Deleted: deleted})
	if err != nil { // a struct of strings and a bool always encodes
		panic(err)
	}
	return &fanout.Frame{Data: b, Keep: true}
}
