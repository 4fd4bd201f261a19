package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

// State keeps what chat-tui remembers between runs: the session token,
// the joined rooms, the messages not yet sent (the outbox) and the lines
// typed (input history), per server and nick, in one JSON file readable only by
// its owner (0600, directory 0700). It is safe for concurrent use; writes
// replace the file atomically.
type State struct {
	mu   sync.Mutex
	path string
}

type stateFile struct {
	Sessions map[string]string              `json:"sessions"`
	Rooms    map[string][]string            `json:"rooms"`
	Outbox   map[string][]client.Outgoing   `json:"outbox,omitempty"`
	History  map[string]map[string][]string `json:"history,omitempty"` // key → room → lines, oldest first
}

// OpenState returns the state kept in dir (created on first save).
func OpenState(dir string) *State {
	return &State{path: filepath.Join(dir, "state.json")}
}

// Path is the file the state lives in.
func (s *State) Path() string { return s.path }

func stateKey(server, nick string) string {
	return strings.TrimRight(server, "/") + " " + chat.NickKey(nick)
}

func (s *State) load() (stateFile, error) {
	var f stateFile
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	} else if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		return stateFile{}, fmt.Errorf("read state %s: %w", s.path, err)
	}
	if f.Sessions == nil {
		f.Sessions = map[string]string{}
	}
	if f.Rooms == nil {
		f.Rooms = map[string][]string{}
	}
	if f.Outbox == nil {
		f.Outbox = map[string][]client.Outgoing{}
	}
	if f.History == nil {
		f.History = map[string]map[string][]string{}
	}
	return f, nil
}

func (s *State) save(f stateFile) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".state-*.json")
	if err != nil {
		return fmt.Errorf("create state file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod state file: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("replace state file: %w", err)
	}
	return nil
}

func (s *State) update(fn func(*stateFile)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	if err != nil {
		return err
	}
	fn(&f)
	return s.save(f)
}

// Token returns the saved session token for nick on server, or "".
func (s *State) Token(server, nick string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	return f.Sessions[stateKey(server, nick)], err
}

// SaveToken remembers a session token.
func (s *State) SaveToken(server, nick, token string) error {
	return s.update(func(f *stateFile) { f.Sessions[stateKey(server, nick)] = token })
}

// ForgetToken drops a saved session token.
func (s *State) ForgetToken(server, nick string) error {
	return s.update(func(f *stateFile) { delete(f.Sessions, stateKey(server, nick)) })
}

// Rooms returns the rooms nick had joined on server, in their order.
func (s *State) Rooms(server, nick string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	return f.Rooms[stateKey(server, nick)], err
}

// SaveRooms remembers the joined rooms.
func (s *State) SaveRooms(server, nick string, rooms []string) error {
	rooms = append([]string(nil), rooms...)
	return s.update(func(f *stateFile) { f.Rooms[stateKey(server, nick)] = rooms })
}

// Outbox returns the messages nick had not yet sent to server when
// chat-tui last saved them, in the order typed.
func (s *State) Outbox(server, nick string) ([]client.Outgoing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	return f.Outbox[stateKey(server, nick)], err
}

// SaveOutbox remembers the messages not yet sent (client.OutboxOptions.Save).
func (s *State) SaveOutbox(server, nick string, items []client.Outgoing) error {
	items = append([]client.Outgoing(nil), items...)
	return s.update(func(f *stateFile) {
		if len(items) == 0 {
			delete(f.Outbox, stateKey(server, nick))
			return
		}
		f.Outbox[stateKey(server, nick)] = items
	})
}

// History returns the lines nick typed on server, per room, oldest first.
func (s *State) History(server, nick string) (map[string][]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	return f.History[stateKey(server, nick)], err
}

// SaveHistory remembers the lines typed in one room (at most
// maxHistory, the newest).
func (s *State) SaveHistory(server, nick, room string, lines []string) error {
	if len(lines) > maxHistory {
		lines = lines[len(lines)-maxHistory:]
	}
	lines = append([]string(nil), lines...)
	return s.update(func(f *stateFile) {
		k := stateKey(server, nick)
		if f.History[k] == nil {
			f.History[k] = map[string][]string{}
		}
		f.History[k][room] = lines
	})
}
