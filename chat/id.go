package chat

import (
	"errors"
	"strconv"
	"strings"
)

// ID is a parsed message id. The SQLite store issues plain sequence numbers
// ("42", Seq 0); the Redis store issues stream entry ids ("1700000000000-3").
// Both order the same way: by Major, then Minor.
type ID struct {
	Major uint64
	Minor uint64
}

// ErrBadID reports a string that is not a message id.
var ErrBadID = errors.New("not a message id")

// MaxIDLen bounds the length of an id string.
const MaxIDLen = 41

// ParseID parses "N" or "N-M" with N and M decimal uint64 without sign or
// leading zeros (other than "0" itself).
func ParseID(s string) (ID, error) {
	if s == "" || len(s) > MaxIDLen {
		return ID{}, ErrBadID
	}
	major, minor, hasMinor := strings.Cut(s, "-")
	var id ID
	var err error
	if id.Major, err = parseDecimal(major); err != nil {
		return ID{}, ErrBadID
	}
	if hasMinor {
		if id.Minor, err = parseDecimal(minor); err != nil {
			return ID{}, ErrBadID
		}
	}
	return id, nil
}

func parseDecimal(s string) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, ErrBadID
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrBadID
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// Compare returns -1, 0 or +1 as id is before, equal to or after other.
func (id ID) Compare(other ID) int {
	switch {
	case id.Major < other.Major:
		return -1
	case id.Major > other.Major:
		return 1
	case id.Minor < other.Minor:
		return -1
	case id.Minor > other.Minor:
		return 1
	}
	return 0
}

// CompareIDs compares two id strings; an unparsable id sorts before every
// valid one. Use ParseID first where the input is not trusted.
func CompareIDs(a, b string) int {
	ia, errA := ParseID(a)
	ib, errB := ParseID(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return ia.Compare(ib)
}
