package server

import (
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/internal/sse"
	"github.com/ssechat/chat/server/fanout"
	"github.com/ssechat/chat/server/store"
)

// appendMessageFrame appends the SSE encoding of a message event and returns
// its parsed id. Live messages (messageFrame) and replays from the store
// (writeReplay) are encoded by this one function, so a stream cannot tell
// them apart.
func appendMessageFrame(dst []byte, m *chat.Message) ([]byte, chat.ID, error) {
	id, err := chat.ParseID(m.ID)
	if err != nil {
		return dst, chat.ID{}, err
	}
	dst, err = sse.AppendJSON(dst, chat.EventMessage, m.ID, m)
	return dst, id, err
}

// messageFrame encodes a message event. The id is parsed here, once, so
// streams compare ids as numbers.
func messageFrame(m *chat.Message) (*fanout.Frame, error) {
	b, id, err := appendMessageFrame(make([]byte, 0, len(m.Text)+len(m.Room)+len(m.Nick)+len(m.ClientID)+160), m)
	if err != nil {
		return nil, err
	}
	return &fanout.Frame{Data: b, ID: id, Ordered: true, Keep: true}, nil
}

func ephemeralFrame(event string, v any) (*fanout.Frame, error) {
	b, err := sse.AppendJSON(nil, event, "", v)
	if err != nil {
		return nil, err
	}
	return &fanout.Frame{Data: b}, nil
}

// resetFrame encodes a reset the store relayed. Like a message it is never
// dropped: a stream that lost it would go on with a silent gap. It carries
// no id, so the client's last event id stays on the last message.
func resetFrame(r *chat.Reset) (*fanout.Frame, error) {
	f, err := ephemeralFrame(chat.EventReset, r)
	if err != nil {
		return nil, err
	}
	f.Keep = true
	return f, nil
}

// eventFrame encodes one store event as the frame every stream of its room
// shares.
func eventFrame(e *store.Event) (*fanout.Frame, error) {
	switch {
	case e.Message != nil:
		return messageFrame(e.Message)
	case e.Typing != nil:
		return ephemeralFrame(chat.EventTyping, e.Typing)
	case e.Topic != nil:
		return ephemeralFrame(chat.EventRoom, e.Topic)
	case e.Reset != nil:
		return resetFrame(e.Reset)
	}
	return nil, nil
}

// dispatch is the store's listener, which the store calls from one
// goroutine at a time, per room in id order: it encodes the event once, if
// any stream of the room is open here, and publishes it to the room's
// topic. It never blocks on a stream.
//
// A presence event is only a hint that the room's online set changed: the
// room's streams get the coalesced changes from presence instead. A
// membership change ends the streams it takes the room from (endForMember).
func (s *Server) dispatch(e store.Event) {
	if e.Presence != nil {
		s.presence.hint(e.Room)
		return
	}
	if e.Member != nil {
		s.endForMember(e.Member)
		return
	}
	if !s.engine.Subscribed(e.Room) {
		return
	}
	f, err := eventFrame(&e)
	if err != nil {
		s.log.Error("encode event", "room", e.Room, "err", err)
		return
	}
	if f == nil {
		return
	}
	n := s.engine.Publish(e.Room, f)
	if e.Reset != nil {
		s.stats.streamsReset(e.Reset.Reason, n)
	}
}
