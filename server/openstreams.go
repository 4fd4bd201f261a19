package server

import (
	"strings"
	"sync"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/server/fanout"
)

// openStream is one open event stream as the server knows it: whose, of
// which room, and through which session, so that a removal, a room's
// deletion, a logout or an account's revocation finds the streams it ends.
type openStream struct {
	stream  *fanout.Stream
	room    string
	kind    string // the room's kind (fixed at creation)
	nick    string // chat.NickKey of the account; "" for an anonymous reader
	session string // token hash of the session; "" for an anonymous reader
}

// openStreams is this node's registry of open event streams by key: the
// room, the room and account, the account, and the session. The fan-out
// engine knows topics and frames only; whom to end and why is decided
// here, in the server.
//
// Its methods are safe for concurrent use; end never blocks on a stream
// (fanout.Stream.End only queues).
type openStreams struct {
	mu       sync.Mutex
	byKey    map[string]map[*openStream]struct{}
	sessions int // keys of sessions in byKey
}

func newOpenStreams() *openStreams {
	return &openStreams{byKey: map[string]map[*openStream]struct{}{}}
}

// The keys of the registry. A NUL cannot be part of a room name, a nick
// or a token hash, so keys of different kinds never meet.
func roomStreamsKey(room string) string { return "r\x00" + room }
func memberStreamsKey(room, nick string) string {
	return "m\x00" + room + "\x00" + chat.NickKey(nick)
}
func accountStreamsKey(nick string) string { return "a\x00" + chat.NickKey(nick) }
func sessionStreamsKey(hash string) string { return "s\x00" + hash }

func (o *openStream) keys() []string {
	keys := []string{roomStreamsKey(o.room)}
	if o.nick != "" {
		keys = append(keys, memberStreamsKey(o.room, o.nick), accountStreamsKey(o.nick))
	}
	if o.session != "" {
		keys = append(keys, sessionStreamsKey(o.session))
	}
	return keys
}

// add registers o under each of its keys and returns the function that
// takes it out again (safe to call more than once).
func (r *openStreams) add(o *openStream) (remove func()) {
	keys := o.keys()
	r.mu.Lock()
	for _, k := range keys {
		set := r.byKey[k]
		if set == nil {
			set = map[*openStream]struct{}{}
			r.byKey[k] = set
			if strings.HasPrefix(k, "s\x00") {
				r.sessions++
			}
		}
		set[o] = struct{}{}
	}
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, k := range keys {
				if set := r.byKey[k]; set != nil {
					delete(set, o)
					if len(set) == 0 {
						delete(r.byKey, k)
						if strings.HasPrefix(k, "s\x00") {
							r.sessions--
						}
					}
				}
			}
		})
	}
}

// end ends every stream registered under key for which which reports true
// (nil: all of them), each with the last frame lastFrame makes for it (nil
// for none), and returns how many it ended. Each stream writes what it had
// queued before the last frame, so nothing already on its way is lost.
func (r *openStreams) end(key string, which func(*openStream) bool, lastFrame func(*openStream) *fanout.Frame) int {
	r.mu.Lock()
	var ending []*openStream
	for o := range r.byKey[key] {
		if which == nil || which(o) {
			ending = append(ending, o)
		}
	}
	r.mu.Unlock()
	for _, o := range ending {
		var f *fanout.Frame
		if lastFrame != nil {
			f = lastFrame(o)
		}
		o.stream.End(f)
	}
	return len(ending)
}

// sessionHashes returns the token hashes of the sessions with an open
// stream here.
func (r *openStreams) sessionHashes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	hashes := make([]string, 0, r.sessions)
	for k := range r.byKey {
		if hash, ok := strings.CutPrefix(k, "s\x00"); ok {
			hashes = append(hashes, hash)
		}
	}
	return hashes
}

// sessionCount returns how many sessions have an open stream here.
func (r *openStreams) sessionCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions
}

// count returns how many streams are registered under key, for tests.
func (r *openStreams) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byKey[key])
}
