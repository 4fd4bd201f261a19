package client

import (
	"errors"
	"time"

	"github.com/ssechat/chat/chat"
)

// State is the condition of a subscription's connection.
type State int

// The states a subscription reports, in the order they usually come:
// Connecting, Connected, then Reconnecting and again Connecting and Connected
// after each loss. Unauthorized and Closed are final: the channel closes
// after them.
const (
	StateConnecting   State = iota // a connection attempt is under way
	StateConnected                 // the server accepted the stream (200)
	StateReconnecting              // the stream was lost; StateChange.NextTry says when the next attempt starts
	StateUnauthorized              // 401 or 403: log in again, then subscribe again
	StateClosed                    // the server refused the stream for good (404: no such room, 400 ...)
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateUnauthorized:
		return "unauthorized"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// StateChange reports a subscription's new state. NextTry is set for
// StateReconnecting; Err is why the stream was lost or refused (nil on
// Connecting and Connected).
type StateChange struct {
	State   State
	NextTry time.Time
	Err     error
}

// Event is one item of a subscription: exactly one of its pointers is set.
// Room is always the subscribed room.
type Event struct {
	Room     string
	State    *StateChange
	Welcome  *chat.Welcome
	Message  *chat.Message
	Presence *chat.Presence
	Typing   *chat.Typing
	Reset    *chat.Reset
	// Removed: the caller lost the room (removed, left elsewhere, or the
	// room was deleted). The server ends the stream after it; the
	// subscription then finds the room gone and ends with StateClosed.
	Removed *chat.Removed
	// Topic: someone changed the room's topic (the server's "room"
	// event, an extension of protocol version 1).
	Topic *chat.TopicChange
}

// Reasons a stream was dropped, reported in StateChange.Err with
// StateReconnecting.
var (
	// ErrStreamEnded: the server ended the stream cleanly (a restart, a
	// proxy's time limit, or the server dropping a subscriber that fell
	// behind).
	ErrStreamEnded = errors.New("server ended the event stream")
	// ErrReadIdle: no byte, not even a heartbeat, arrived within the read-idle
	// timeout, so the connection is taken for half-open.
	ErrReadIdle = errors.New("event stream silent past the read-idle timeout")
	// ErrBufferFull: the caller read too slowly and the event buffer filled;
	// the subscription dropped its stream and resumes after the last
	// message it kept, once the caller has caught up.
	ErrBufferFull = errors.New("event buffer full: resuming when the reader catches up")
)
