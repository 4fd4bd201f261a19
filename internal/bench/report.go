package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Summary is a run's result as ordered key=value pairs: one line for
// scripts, keys always in the same order for a scenario.
type Summary struct {
	keys []string
	vals map[string]string
}

// Add appends a key, or replaces its value when it is already there.
func (s *Summary) Add(key string, v any) {
	if s.vals == nil {
		s.vals = map[string]string{}
	}
	var str string
	switch x := v.(type) {
	case time.Duration:
		str = msString(x)
	case float64:
		str = strconv.FormatFloat(x, 'f', 2, 64)
	default:
		str = fmt.Sprint(v)
	}
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = str
}

// Get returns a key's value as printed, and whether it is there.
func (s *Summary) Get(key string) (string, bool) {
	v, ok := s.vals[key]
	return v, ok
}

// Int returns a key's value as an integer, 0 when absent or not a number.
func (s *Summary) Int(key string) int64 {
	n, _ := strconv.ParseInt(s.vals[key], 10, 64)
	return n
}

// Float returns a key's value as a number, 0 when absent or not a number.
func (s *Summary) Float(key string) float64 {
	f, _ := strconv.ParseFloat(s.vals[key], 64)
	return f
}

// String renders the line; a value with a space, quote or '=' is quoted.
func (s *Summary) String() string {
	var b strings.Builder
	for i, k := range s.keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := s.vals[k]
		if v == "" || strings.ContainsAny(v, " \t\"=\n") {
			v = strconv.Quote(v)
		}
		b.WriteString(k + "=" + v)
	}
	return b.String()
}

// ParseSummary reads a line String wrote back into a Summary.
func ParseSummary(line string) (*Summary, error) {
	s := &Summary{}
	rest := strings.TrimSpace(line)
	for rest != "" {
		k, v, ok := strings.Cut(rest, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\"") {
			return nil, fmt.Errorf("parse summary: bad pair at %.20q", rest)
		}
		rest = v
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("parse summary: value of %s: %w", k, err)
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		if rest != "" && rest[0] != ' ' {
			return nil, fmt.Errorf("parse summary: no space after %s", k)
		}
		rest = strings.TrimLeft(rest, " ")
		s.Add(k, val)
	}
	return s, nil
}

// msString prints a duration in milliseconds with microsecond precision.
func msString(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}
