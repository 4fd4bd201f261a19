package chat

import (
	"slices"
	"time"
)

// Message kinds.
const (
	KindText   = "text"   // an ordinary message
	KindAction = "action" // a /me action
)

// SSE event names.
const (
	EventWelcome  = "welcome"
	EventMessage  = "message"
	EventPresence = "presence"
	EventTyping   = "typing"
	EventReset    = "reset"
	EventRoom     = "room" // an extension of protocol version 1: a room's topic changed
	EventRemoved  = "removed"
)

// Presence states.
const (
	PresenceJoin  = "join"
	PresenceLeave = "leave"
)

// Reset reasons.
const (
	ResetHistoryTrimmed = "history_trimmed" // the resume point is older than what is kept
	ResetTooFarBehind   = "too_far_behind"  // more messages to replay than the server sends
)

// Message is a stored chat message as it travels on the wire.
type Message struct {
	ID       string    `json:"id"`
	Room     string    `json:"room"`
	Nick     string    `json:"nick"`
	Kind     string    `json:"kind"`
	Text     string    `json:"text"`
	ClientID string    `json:"client_id,omitempty"`
	TS       time.Time `json:"ts"`
	// Via says what posted the message when it was not a person at a
	// client: "hook" for an incoming webhook. Front ends mark such
	// messages as a bot's.
	Via string `json:"via,omitempty"`
}

// ViaHook is Message.Via of a message an incoming webhook posted.
const ViaHook = "hook"

// Welcome is the data of the first event on every stream.
type Welcome struct {
	Room   string   `json:"room"`
	Nick   string   `json:"nick"`
	Online []string `json:"online"`
	LastID *string  `json:"last_id"`
	Server string   `json:"server"`
	// Limits are the server's limits a client must respect (page sizes,
	// text length, message rate). A server older than this field sends
	// none: clients then assume DefaultServerLimits.
	Limits *ServerLimits `json:"limits,omitempty"`
}

// ServerLimits are the limits of one server that front ends need to know,
// answered by GET /api/limits and carried in every welcome. Clients ask for
// pages of at most HistoryPageMax messages; the server is the one owner of
// these numbers.
type ServerLimits struct {
	HistoryPageMax     int     `json:"history_page_max"`     // largest limit of GET .../messages
	HistoryPageDefault int     `json:"history_page_default"` // the page size when limit is not given
	ReplayMax          int     `json:"replay_max"`           // most messages a resuming stream is sent before a reset
	TextMax            int     `json:"text_max"`             // characters of a message's text
	TopicMax           int     `json:"topic_max"`            // characters of a room's topic
	MessageRate        float64 `json:"message_rate"`         // messages a second per account (0: no limit)
	MessageBurst       int     `json:"message_burst"`        // burst of MessageRate
	// Registration is RegistrationOpen when logging in with an unknown nick
	// creates its account, RegistrationClosed when only an operator makes
	// accounts; empty when the server does not say (an older server).
	Registration string `json:"registration,omitempty"`
}

// Registration modes of a server, announced as ServerLimits.Registration.
const (
	RegistrationOpen   = "open"
	RegistrationClosed = "closed"
)

// DefaultServerLimits are the limits of a server run with its defaults; a
// client that talks to a server that does not announce its limits assumes
// these.
func DefaultServerLimits() ServerLimits {
	return ServerLimits{
		HistoryPageMax:     MaxPageSize,
		HistoryPageDefault: DefaultPageSize,
		ReplayMax:          1000,
		TextMax:            MaxTextLen,
		TopicMax:           MaxTopicLen,
		MessageRate:        5,
		MessageBurst:       20,
	}
}

// Presence is the data of a presence event: the changes to the room's
// online set since the stream's last presence event (or its welcome), one
// per nick, each a join of a nick the stream had as offline or a leave of
// one it had as online. A server coalesces them, at most one event per room
// every 250 ms, so a client keeps the welcome's online list and applies
// each event's changes in order (ApplyTo).
//
// Nick and State repeat the change when the event carries exactly one, so
// that a client of protocol version 1 still reads the common case. Online
// is the whole list as a server of protocol version 1 sent it; this server
// sends it only between its own nodes, never on a stream.
type Presence struct {
	Room    string           `json:"room"`
	Changes []PresenceChange `json:"changes,omitempty"`
	Nick    string           `json:"nick,omitempty"`
	State   string           `json:"state,omitempty"`
	Online  []string         `json:"online,omitempty"`
}

// PresenceChange is one nick coming online (PresenceJoin) or going offline
// (PresenceLeave) in a room.
type PresenceChange struct {
	Nick  string `json:"nick"`
	State string `json:"state"`
}

// NewPresence returns the presence event of room carrying changes, with
// Nick and State set when there is exactly one.
func NewPresence(room string, changes []PresenceChange) Presence {
	p := Presence{Room: room, Changes: changes}
	if len(changes) == 1 {
		p.Nick, p.State = changes[0].Nick, changes[0].State
	}
	return p
}

// All returns the changes p carries: Changes, or for an event of a server
// of protocol version 1 (no changes) the one change Nick and State name.
func (p *Presence) All() []PresenceChange {
	if len(p.Changes) > 0 || p.Nick == "" {
		return p.Changes
	}
	return []PresenceChange{{Nick: p.Nick, State: p.State}}
}

// ApplyTo returns online (a welcome's list, kept up to date by earlier
// calls) with p's changes applied: a new sorted list of distinct nicks;
// online is not modified. An event of a server of protocol version 1, which
// carries the whole list, returns that list instead.
func (p *Presence) ApplyTo(online []string) []string {
	if len(p.Changes) == 0 && p.Online != nil {
		return sortedSet(p.Online)
	}
	set := make(map[string]bool, len(online)+len(p.Changes))
	for _, n := range online {
		set[n] = true
	}
	for _, c := range p.All() {
		switch c.State {
		case PresenceJoin:
			set[c.Nick] = true
		case PresenceLeave:
			delete(set, c.Nick)
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func sortedSet(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// Typing is the data of a typing event.
type Typing struct {
	Room string `json:"room"`
	Nick string `json:"nick"`
}

// TopicChange is the data of a room event: Nick set the room's topic to
// Topic. It lets every open stream show a new topic at once instead of on
// its next GET /api/rooms; clients that do not know the event ignore it.
// One name everywhere: store.Event.Topic, client.Event.Topic, the server's
// publishTopic, the TUI's topic entry and topicMsg.
type TopicChange struct {
	Room  string `json:"room"`
	Topic string `json:"topic"`
	Nick  string `json:"nick"`
}

// Removed is the data of a removed event: the caller lost the room (By
// removed them, they left it on another device, or the room was deleted,
// By then its deleter). The stream of that room ends after it and the
// room now answers 404; nothing already delivered is taken back.
type Removed struct {
	Room string `json:"room"`
	By   string `json:"by,omitempty"`
	// Deleted says the room itself is gone, so a front end can say "#room
	// was deleted" rather than "By removed you".
	Deleted bool `json:"deleted,omitempty"`
}

// Reset is the data of a reset event: the client must reload history and
// reconnect from the newest id it then holds.
type Reset struct {
	Room   string `json:"room"`
	Reason string `json:"reason"`
}

// Credentials is the body of POST /api/session.
type Credentials struct {
	Nick     string `json:"nick"`
	Password string `json:"password"`
}

// SessionInfo is the answer to a successful login.
type SessionInfo struct {
	Token     string    `json:"token"`
	Nick      string    `json:"nick"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NewToken is the body of POST /api/me/tokens. Rooms, when given, limits
// the token to those rooms.
type NewToken struct {
	Name  string   `json:"name"`
	Rooms []string `json:"rooms,omitempty"`
}

// TokenInfo is a personal access token as the API shows it. Token, the
// secret, is there only in the answer that made it; Rooms is null for a
// token that may use every room.
type TokenInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token,omitempty"`
	Rooms     []string  `json:"rooms"`
	CreatedAt time.Time `json:"created_at"`
}

// TokenList is the answer of GET /api/me/tokens.
type TokenList struct {
	Tokens []TokenInfo `json:"tokens"`
}

// NewHook is the body of POST /api/rooms/{room}/hooks. Name is the nick
// the hook's messages carry.
type NewHook struct {
	Name string `json:"name"`
}

// HookInfo is an incoming webhook as the API shows it. URL, which holds the
// secret, is there only in the answer that made it.
type HookInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Room      string    `json:"room"`
	URL       string    `json:"url,omitempty"`
	Creator   string    `json:"creator"`
	CreatedAt time.Time `json:"created_at"`
}

// HookList is the answer of GET /api/rooms/{room}/hooks.
type HookList struct {
	Hooks []HookInfo `json:"hooks"`
}

// Me is the answer of GET /api/me.
type Me struct {
	Nick string `json:"nick"`
}

// Room kinds (version 2): a public room is open to every signed-in account,
// a private one to its members only, a direct one is a conversation of 2 to
// 8 accounts that nobody else may join. The kind is fixed at creation.
const (
	KindPublic  = "public"
	KindPrivate = "private"
	KindDirect  = "direct"
)

// Roles of a room's members: the owner created it; owner and admins manage
// its members.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// MaxDirectMembers is how many accounts a direct room holds at most; it
// holds at least two.
const MaxDirectMembers = 8

// Room is one entry of GET /api/rooms and the answer of PUT /api/rooms/{room}
// and POST /api/dms. Kind, Member and PublicRead are version 2's; Members is
// set for direct rooms only.
type Room struct {
	Name       string   `json:"name"`
	Topic      string   `json:"topic"`
	Online     int      `json:"online"`
	LastID     *string  `json:"last_id"`
	Kind       string   `json:"kind,omitempty"`
	Member     *bool    `json:"member,omitempty"`
	PublicRead bool     `json:"public_read,omitempty"`
	Members    []string `json:"members,omitempty"`
}

// RoomList is the answer of GET /api/rooms: one page of rooms by name;
// HasMore says whether a page follows (ask again with after= the last name).
type RoomList struct {
	Rooms   []Room `json:"rooms"`
	HasMore bool   `json:"has_more"`
}

// RoomUpdate is the optional body of PUT /api/rooms/{room}.
type RoomUpdate struct {
	Topic      *string `json:"topic,omitempty"`
	Kind       *string `json:"kind,omitempty"`
	PublicRead *bool   `json:"public_read,omitempty"`
}

// Members is the answer of GET /api/rooms/{room}/members: every member with
// its role and whether it is connected, and the online nicks as in version 1.
type Members struct {
	Members []Member `json:"members"`
	Online  []string `json:"online"`
}

// Member is one member of a room.
type Member struct {
	Nick   string `json:"nick"`
	Role   string `json:"role"`
	Online bool   `json:"online"`
}

// MemberUpdate is the optional body of PUT /api/rooms/{room}/members/{nick}.
type MemberUpdate struct {
	Role *string `json:"role,omitempty"`
}

// MyRoom is one entry of GET /api/me/rooms: a room the caller belongs to.
type MyRoom struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Topic    string   `json:"topic"`
	Role     string   `json:"role"`
	LastID   *string  `json:"last_id"`
	LastRead string   `json:"last_read"`
	Unread   int      `json:"unread"`
	Mentions int      `json:"mentions"`
	Notify   string   `json:"notify"`
	Online   int      `json:"online"`
	Members  []string `json:"members,omitempty"`
}

// MyRooms is the answer of GET /api/me/rooms.
type MyRooms struct {
	Rooms []MyRoom `json:"rooms"`
}

// DirectRequest is the body of POST /api/dms: the other accounts of the
// conversation (naming oneself too changes nothing).
type DirectRequest struct {
	Nicks []string `json:"nicks"`
}

// PostMessage is the body of POST /api/rooms/{room}/messages.
type PostMessage struct {
	Text     string `json:"text"`
	Kind     string `json:"kind,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

// MessagePage is the answer of GET /api/rooms/{room}/messages.
type MessagePage struct {
	Messages []Message `json:"messages"`
	HasMore  bool      `json:"has_more"`
	// HasMoreAfter answers a page asked with around: newer messages follow
	// the page (HasMore then says older ones precede it). Absent otherwise.
	HasMoreAfter bool `json:"has_more_after,omitempty"`
}

// SearchResults is the answer of GET /api/search: results newest first.
// Next, when HasMore, is the before= of the next page (an opaque cursor: a
// message id cannot serve, since SQLite numbers messages per room).
// Partial says the server's index could not apply the whole query, so some
// matches may be missing.
type SearchResults struct {
	Results []SearchResult `json:"results"`
	HasMore bool           `json:"has_more"`
	Next    string         `json:"next,omitempty"`
	Partial bool           `json:"partial,omitempty"`
}

// SearchResult is one message found, with where the query matches its
// text: [start, end) in Unicode code points, sorted, not overlapping.
type SearchResult struct {
	Message    Message  `json:"message"`
	Highlights [][2]int `json:"highlights"`
}

// ErrorBody is every non-2xx answer under /api/.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: a stable snake_case code for programs and
// a sentence for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
