package bench

import "github.com/ssechat/chat/chat"

// parseID reads a message id from the bytes of an "id:" line without
// allocating: it accepts exactly what chat.ParseID accepts (the tests hold
// the two together), so every delivery can be ordered cheaply.
func parseID(b []byte) (chat.ID, bool) {
	if len(b) == 0 || len(b) > chat.MaxIDLen {
		return chat.ID{}, false
	}
	var id chat.ID
	var part uint64
	var digits int
	minor := false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && part == 0 {
				return chat.ID{}, false // leading zero
			}
			d := uint64(c - '0')
			if part > (1<<64-1-d)/10 {
				return chat.ID{}, false // overflows uint64
			}
			part = part*10 + d
			digits++
		case c == '-' && !minor && digits > 0 && i < len(b)-1:
			id.Major, part, digits, minor = part, 0, 0, true
		default:
			return chat.ID{}, false
		}
	}
	if digits == 0 {
		return chat.ID{}, false
	}
	if minor {
		id.Minor = part
	} else {
		id.Major = part
	}
	return id, true
}
