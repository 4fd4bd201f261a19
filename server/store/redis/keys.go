package redis

import (
	"strconv"

	"github.com/ssechat/chat/chat"
)

// keys names every Redis key and channel the store uses. A room's keys share
// the hash tag {room}, so the scripts that touch several of them stay within
// one slot should the store ever move to Redis Cluster.
type keys struct{ prefix string }

// rooms is the set of all room names.
func (k keys) rooms() string { return k.prefix + "rooms" }

// room is the hash of a room: name, topic, created, last_id.
func (k keys) room(name string) string { return k.prefix + "room:{" + name + "}" }

// stream is the room's message stream; entry ids are message ids.
func (k keys) stream(name string) string { return k.prefix + "stream:{" + name + "}" }

// clientID remembers the first message sent with a client_id by a nick in a
// room, for IdempotencyTTL.
func (k keys) clientID(room, nick, clientID string) string {
	return k.prefix + "cid:{" + room + "}:" + chat.NickKey(nick) + ":" + clientID
}

// presence is the sorted set of a room's connections ("nick conn"), scored
// by the time (ms) their entry expires.
func (k keys) presence(room string) string { return k.prefix + "presence:{" + room + "}" }

// channel is the room's pub/sub channel.
func (k keys) channel(room string) string { return k.prefix + "ch:{" + room + "}" }

// roomOfChannel is the inverse of channel.
func (k keys) roomOfChannel(ch string) (string, bool) {
	p := k.prefix + "ch:{"
	if len(ch) < len(p)+2 || ch[:len(p)] != p || ch[len(ch)-1] != '}' {
		return "", false
	}
	return ch[len(p) : len(ch)-1], true
}

// members is the hash of a room's members: nick key → "role nick joined".
func (k keys) members(room string) string { return k.prefix + "members:{" + room + "}" }

// memberOf is the set of the rooms a nick belongs to.
func (k keys) memberOf(nick string) string { return k.prefix + "memberof:" + chat.NickKey(nick) }

// direct maps a direct room's set of accounts (store.DirectKey) to its name.
func (k keys) direct(setKey string) string { return k.prefix + "dm:" + setKey }

// account is the hash of an account: nick, hash, created.
func (k keys) account(nick string) string { return k.prefix + "account:" + chat.NickKey(nick) }

// session is the hash of a session: nick, created, expires.
func (k keys) session(tokenHash string) string { return k.prefix + "session:" + tokenHash }

// sessions is the set of a nick's session token hashes.
func (k keys) sessions(nick string) string { return k.prefix + "sessions:" + chat.NickKey(nick) }

// token is the hash of a personal access token: id, nick, name, rooms
// (JSON), created.
func (k keys) token(hash string) string { return k.prefix + "token:" + hash }

// tokens is the hash of a nick's tokens: id → token hash.
func (k keys) tokens(nick string) string { return k.prefix + "tokens:" + chat.NickKey(nick) }

// tokenIDs is the hash of every token id → its owner's nick key, which keeps
// ids unique across nicks.
func (k keys) tokenIDs() string { return k.prefix + "tokenids" }

// hook is the hash of an incoming webhook: secret_hash, room, name,
// creator, created.
func (k keys) hook(id string) string { return k.prefix + "hook:" + id }

// hooks is the sorted set of a room's hook ids, scored by creation (ms).
func (k keys) hooks(room string) string { return k.prefix + "hooks:{" + room + "}" }

// probe is the short-lived key Ping writes to learn whether Redis takes
// writes.
func (k keys) probe() string { return k.prefix + "probe" }

// search starts the names of a room's search keys (search.go): "w:" and a
// word, "@" and a nick key, "dict".
func (k keys) search(room string) string { return k.prefix + "sx:{" + room + "}:" }

// searchOrder is the counter that orders indexed messages across rooms.
func (k keys) searchOrder() string { return k.prefix + "sxorder" }

// searchTemp is a scratch key a search script deletes before it returns.
func (k keys) searchTemp(n uint64) string { return k.prefix + "sxtmp:" + strconv.FormatUint(n, 10) }
