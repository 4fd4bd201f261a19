package tui

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textarea"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
)

type phase int

const (
	phaseCheck    phase = iota // asking the server whether the saved token is good
	phasePassword              // waiting for the user to type the password
	phaseLogin                 // the login request is on its way
	phaseChat                  // logged in
)

// Layout constants.
const (
	maxInputLines = 5                // the input grows up to this many rows
	maxHistory    = 500              // lines typed remembered per room (Up/Down)
	quitWindow    = 2 * time.Second  // Ctrl+C twice within this quits with a draft
	typingShown   = 5 * time.Second  // how long "X is typing" stays
	typingEvery   = 3 * time.Second  // at most one typing notice per this
	noticeShown   = 10 * time.Second // how long a status bar notice stays
	retryEvery    = 4 * time.Second  // wait before asking an unreachable server again
	rejoinGrace   = time.Minute      // a nick online before a reconnect that joins within this is not news
	foldAfter     = 10 * time.Minute // joins and leaves of those silent longer are folded into a count
	roomsEvery    = 30 * time.Second // ask the account's rooms again after this
)

// Model is the root Bubble Tea model of chat-tui. Use it through a
// *Model: Update changes it in place and returns it.
type Model struct {
	cfg    Config
	be     Backend
	state  *State // nil: remember nothing (tests)
	log    *slog.Logger
	ctx    context.Context
	subs   *subscriptions
	out    *client.Outbox // our messages on their way; the model owns it
	now    func() time.Time
	loc    *time.Location
	keys   keyMap
	styles styles
	help   help.Model

	// registration is the server's registration mode (registration.go):
	// chat.RegistrationOpen, chat.RegistrationClosed or "" (not known).
	registration string

	phase    phase
	password textinput.Model
	loginErr string
	nick     string // our nick as the server spells it

	input     textarea.Model
	inputH    int  // rows of the input area, draftHead's included
	draftHead bool // the draft is taller than the input: its first line shows above it
	rooms     []*room
	active    int
	width     int
	height    int
	showHelp  bool
	notice    string // a short line in the status bar
	noticeAt  time.Time

	ctrlCAt     time.Time
	lastTyping  time.Time
	lastInput   string
	quitting    bool
	reading     bool // the one command reading events is outstanding
	readingOut  bool // the one command reading the outbox's updates is outstanding
	restored    []client.Outgoing
	history     map[string][]string // room → lines typed in earlier runs
	comp        completion          // Tab's state between two Tabs
	ctrlX       bool                // Ctrl+X was the last key: Ctrl+E opens $EDITOR
	helpOff     int                 // lines the help screen is scrolled down
	ticking     bool                // a tick is on its way
	term        io.Writer           // where the bell and notifications go; nil: nowhere
	serverRooms []string            // every room the server listed, for #completion
	lastGen     int                 // the newest subscription generation handed out, for any room
	// roomsEvery is how often the account's rooms are asked again, so a
	// room one was added to appears (the room streams do not tell).
	roomsEvery time.Duration
	polling    bool // the next ask of the account's rooms is armed
	synced     bool // the account's rooms were listed once: a new one is news
}

// Option changes a Model made by New.
type Option func(*Model)

// WithClock sets the time source (tests pin it). Defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(m *Model) { m.now = now } }

// WithLocation sets the zone times are shown in. Defaults to time.Local.
func WithLocation(loc *time.Location) Option { return func(m *Model) { m.loc = loc } }

// WithLogger sets the logger (a file; never the screen). Defaults to discard.
func WithLogger(l *slog.Logger) Option { return func(m *Model) { m.log = l } }

// WithState sets where the session token and joined rooms are remembered.
func WithState(s *State) Option { return func(m *Model) { m.state = s } }

// WithRooms sets the rooms joined at start (the remembered ones); cfg.Room
// is added when missing.
func WithRooms(rooms []string) Option {
	return func(m *Model) {
		for _, name := range rooms {
			if chat.ValidateRoom(name) == nil && m.roomIndex(name) < 0 {
				m.rooms = append(m.rooms, newRoom(name))
			}
		}
	}
}

// WithOutbox sets the messages left unsent by the last run (State.Outbox):
// they are shown as on their way and sent again, with their client_ids, so
// the server stores each once.
func WithOutbox(saved []client.Outgoing) Option {
	return func(m *Model) { m.restored = saved }
}

// New makes the model. ctx bounds its requests and subscriptions; cancel
// it (or call Close) when the program ends.
func New(ctx context.Context, cfg Config, be Backend, opts ...Option) *Model {
	m := &Model{
		cfg:    cfg,
		be:     be,
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		ctx:    ctx,
		now:    time.Now,
		loc:    time.Local,
		keys:   defaultKeyMap(),
		styles: themeStyles(cfg.Theme).withColours(cfg.Colours),
		help:   help.New(),
		nick:   cfg.Nick,
		width:  80, height: 24,
		roomsEvery: roomsEvery,
	}
	for _, o := range opts {
		o(m)
	}
	m.keys.rebind(cfg.Keys)
	if m.roomIndex(cfg.Room) < 0 {
		m.rooms = append(m.rooms, newRoom(cfg.Room))
	}
	m.active = m.roomIndex(cfg.Room)
	m.subs = newSubscriptions(ctx, be)
	m.out = client.NewOutbox(be, client.OutboxOptions{Save: m.saveOutboxFunc(), Logger: m.log})
	m.restoreOutbox()
	for _, r := range m.rooms {
		m.seedHistory(r)
	}

	m.password = textinput.New()
	m.password.EchoMode = textinput.EchoPassword
	m.password.EchoCharacter = '*'
	m.password.Prompt = "Password: "
	m.password.CharLimit = chat.MaxPasswordLen
	m.password.Cursor.SetMode(cursor.CursorStatic)

	m.input = textarea.New()
	m.input.KeyMap = inputKeyMap()
	m.input.ShowLineNumbers = false
	m.input.CharLimit = chat.MaxTextLen
	m.input.Placeholder = "Message, or /help"
	m.input.SetPromptFunc(2, func(line int) string {
		if line == 0 {
			return "> "
		}
		return "  "
	})
	m.input.FocusedStyle.CursorLine = m.input.FocusedStyle.Text
	m.input.Cursor.SetMode(cursor.CursorStatic)
	m.inputH = 1
	m.input.SetHeight(1)

	if be.Token() == "" {
		m.phase = phasePassword
		m.password.Focus()
	} else {
		m.phase = phaseCheck
	}
	m.resize(m.width, m.height)
	return m
}

// Close stops every subscription and the outbox (which saves what is
// still unsent) and waits for their goroutines.
func (m *Model) Close() {
	m.subs.Close()
	m.out.Close()
}

// restoreOutbox shows the messages the last run left unsent in their rooms
// (joining a room that is no longer in the list) and hands them to the
// outbox.
func (m *Model) restoreOutbox() {
	saved := m.restored
	m.restored = nil
	for _, it := range saved {
		if chat.ValidateRoom(it.Room) != nil || it.Post.ClientID == "" {
			continue
		}
		r := m.room(it.Room)
		if r == nil {
			r = newRoom(it.Room)
			m.rooms = append(m.rooms, r)
		}
		e := pendingEntry(m.nick, it.Post, it.Queued)
		if it.Failed != "" {
			e.markFailed(safeLine(it.Failed))
		}
		r.add(e)
	}
	m.out.Restore(saved)
}

// Init starts the session check (a saved token) or shows the password prompt.
func (m *Model) Init() tea.Cmd {
	if m.phase == phaseCheck {
		return tea.Batch(m.meCmd(), m.registrationCmd())
	}
	return m.registrationCmd()
}

func (m *Model) roomIndex(name string) int {
	return slices.IndexFunc(m.rooms, func(r *room) bool { return r.name == name })
}

func (m *Model) room(name string) *room {
	if i := m.roomIndex(name); i >= 0 {
		return m.rooms[i]
	}
	return nil
}

func (m *Model) cur() *room { return m.rooms[m.active] }

func (m *Model) renderer() *renderer {
	return &renderer{width: m.width, loc: m.loc, styles: &m.styles, longest: m.cur().longest, links: m.cfg.Hyperlinks, clock: m.cfg.TimeFormat}
}

// paneHeight is the number of message rows: all but the header, the room
// bar, the input and the status bar.
func (m *Model) paneHeight() int { return max(1, m.height-3-m.inputH) }

func (m *Model) resize(w, h int) {
	m.width, m.height = max(w, 10), max(h, 5)
	m.input.SetWidth(m.width)
	m.password.Width = max(1, m.width-len(m.password.Prompt)-1)
	m.help.Width = m.width
	m.fitInput()
}

// fitInput grows the input with its text, up to maxInputLines rows. A
// draft longer than that scrolls inside the input; then its first line
// stays in sight on a row of its own above it (draftHead), so what the
// message starts with is never out of view while typing.
func (m *Model) fitInput() {
	w := max(1, m.input.Width())
	rows := 0
	for _, line := range splitLines(m.input.Value()) {
		rows += max(1, (stringWidth(line)+w)/w)
	}
	m.draftHead = rows > maxInputLines
	rows = min(max(rows, 1), maxInputLines)
	taRows := rows
	if m.draftHead {
		taRows = rows - 1
	}
	if rows != m.inputH || taRows != m.input.Height() {
		m.inputH = rows
		m.input.SetHeight(taRows)
	}
}

// startChat enters the chat: joins (and resubscribes) every room.
func (m *Model) startChat() tea.Cmd {
	m.phase = phaseChat
	m.password.Blur()
	m.password.SetValue("")
	// A new session may be what the outbox was waiting for.
	m.out.Wake()
	cmds := []tea.Cmd{m.input.Focus(), m.nextEvent(), m.nextOutbox(), m.roomsCmd(), m.myRoomsCmd(), m.pollRooms(), m.saveRoomsCmd()}
	for _, r := range m.rooms {
		if r.loaded {
			cmds = append(cmds, m.subscribe(r))
			continue
		}
		cmds = append(cmds, m.joinCmd(r.name, r.member))
	}
	return tea.Batch(cmds...)
}

// subscribe returns the command that starts the room's event stream from
// the newest message held, as a new generation: events of the stream it
// replaces are ignored from now on.
func (m *Model) subscribe(r *room) tea.Cmd {
	m.lastGen++
	r.gen = m.lastGen
	r.hasCon = false
	return m.subs.startCmd(r.name, r.gen, r.newest)
}

// sessionExpired goes back to the password prompt and stops the streams.
func (m *Model) sessionExpired(why string) {
	m.subs.stopAll(m.lastGen)
	m.phase = phasePassword
	m.loginErr = why
	m.input.Blur()
	m.password.Focus()
}

// conn returns the current room's stream state, and false before the
// first one arrived.
func (m *Model) conn() (client.StateChange, bool) {
	r := m.cur()
	return r.conn, r.hasCon
}

// nextEvent arms the one command that reads the merged event channel, unless
// it is armed already: two readers could swap the order of a room's events.
func (m *Model) nextEvent() tea.Cmd {
	if m.reading {
		return nil
	}
	m.reading = true
	return m.subs.next()
}

func splitLines(s string) []string { return strings.Split(s, "\n") }

func stringWidth(s string) int { return ansi.StringWidth(s) }
