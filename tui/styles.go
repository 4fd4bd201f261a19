package tui

import (
	"hash/fnv"
	"regexp"
	"strconv"

	"github.com/charmbracelet/lipgloss"
	"github.com/ssechat/chat/chat"
)

// styles are the looks of every part of the screen, made by a theme
// (themeStyles) and the colours of config.toml. With the Ascii profile
// (tests, NO_COLOR) all colours vanish and the layout stays the same.
type styles struct {
	header    lipgloss.Style
	topic     lipgloss.Style
	roomBar   lipgloss.Style
	roomOn    lipgloss.Style
	roomOff   lipgloss.Style
	unread    lipgloss.Style
	time      lipgloss.Style
	text      lipgloss.Style
	action    lipgloss.Style
	system    lipgloss.Style
	notice    lipgloss.Style
	errorLine lipgloss.Style
	pending   lipgloss.Style
	failed    lipgloss.Style
	daySep    lipgloss.Style
	status    lipgloss.Style
	statusOK  lipgloss.Style
	statusBad lipgloss.Style
	newMarker lipgloss.Style
	newLine   lipgloss.Style
	url       lipgloss.Style
	prompt    lipgloss.Style
	nicks     []lipgloss.TerminalColor // the nick colours
}

// palette is a theme's colours.
type palette struct {
	dim, unread, notice, bad, good, newLine lipgloss.TerminalColor
	nicks                                   []lipgloss.TerminalColor
}

// nickPalette are ANSI 256 colours readable on dark and light backgrounds.
var nickPalette = colours("33", "39", "42", "70", "99", "105", "135", "166", "172", "178", "197", "203", "208", "214", "36", "141")

func colours(cs ...string) []lipgloss.TerminalColor {
	out := make([]lipgloss.TerminalColor, len(cs))
	for i, c := range cs {
		out[i] = lipgloss.Color(c)
	}
	return out
}

// palettes are the themes: auto picks light or dark 256-colour values by
// the terminal's background; dark and light fix them; terminal uses only
// the 16 colours the terminal's own theme defines, so chat-tui looks like
// the rest of the terminal.
var palettes = map[string]palette{
	"auto": {
		dim: lipgloss.AdaptiveColor{Light: "245", Dark: "243"}, unread: lipgloss.Color("214"),
		notice: lipgloss.Color("39"), bad: lipgloss.Color("203"), good: lipgloss.Color("42"),
		newLine: lipgloss.Color("203"), nicks: nickPalette,
	},
	"dark": {
		dim: lipgloss.Color("243"), unread: lipgloss.Color("214"), notice: lipgloss.Color("39"),
		bad: lipgloss.Color("203"), good: lipgloss.Color("42"), newLine: lipgloss.Color("203"),
		nicks: colours("39", "42", "75", "105", "141", "173", "178", "203", "208", "214", "36", "81"),
	},
	"light": {
		dim: lipgloss.Color("244"), unread: lipgloss.Color("130"), notice: lipgloss.Color("25"),
		bad: lipgloss.Color("160"), good: lipgloss.Color("28"), newLine: lipgloss.Color("160"),
		nicks: colours("25", "28", "54", "88", "94", "124", "130", "18", "22", "90", "30", "57"),
	},
	"terminal": {
		dim: lipgloss.Color("8"), unread: lipgloss.Color("3"), notice: lipgloss.Color("4"),
		bad: lipgloss.Color("1"), good: lipgloss.Color("2"), newLine: lipgloss.Color("1"),
		nicks: colours("1", "2", "3", "4", "5", "6", "9", "10", "11", "12", "13", "14"),
	},
}

func defaultStyles() styles { return themeStyles("auto") }

// themeStyles returns the styles of a theme; an unknown name is auto
// (Config.Validate refuses one before).
func themeStyles(theme string) styles {
	p, ok := palettes[theme]
	if !ok {
		p = palettes["auto"]
	}
	return styles{
		header:    lipgloss.NewStyle().Bold(true),
		topic:     lipgloss.NewStyle().Foreground(p.dim),
		roomBar:   lipgloss.NewStyle(),
		roomOn:    lipgloss.NewStyle().Bold(true).Reverse(true),
		roomOff:   lipgloss.NewStyle().Foreground(p.dim),
		unread:    lipgloss.NewStyle().Bold(true).Foreground(p.unread),
		time:      lipgloss.NewStyle().Foreground(p.dim),
		text:      lipgloss.NewStyle(),
		action:    lipgloss.NewStyle().Italic(true),
		system:    lipgloss.NewStyle().Foreground(p.dim),
		notice:    lipgloss.NewStyle().Foreground(p.notice),
		errorLine: lipgloss.NewStyle().Foreground(p.bad),
		pending:   lipgloss.NewStyle().Foreground(p.dim),
		failed:    lipgloss.NewStyle().Foreground(p.bad),
		daySep:    lipgloss.NewStyle().Foreground(p.dim),
		status:    lipgloss.NewStyle().Foreground(p.dim),
		statusOK:  lipgloss.NewStyle().Foreground(p.good),
		statusBad: lipgloss.NewStyle().Foreground(p.bad),
		newMarker: lipgloss.NewStyle().Bold(true).Reverse(true),
		newLine:   lipgloss.NewStyle().Foreground(p.newLine),
		url:       lipgloss.NewStyle().Underline(true),
		prompt:    lipgloss.NewStyle().Bold(true),
		nicks:     p.nicks,
	}
}

// colourSetters are the colours config.toml's [colours] may set, by name.
var colourSetters = map[string]func(*styles, lipgloss.Color){
	"dim": func(s *styles, c lipgloss.Color) {
		for _, st := range []*lipgloss.Style{&s.topic, &s.roomOff, &s.time, &s.system, &s.pending, &s.daySep, &s.status} {
			*st = st.Foreground(c)
		}
	},
	"time":   func(s *styles, c lipgloss.Color) { s.time = s.time.Foreground(c) },
	"text":   func(s *styles, c lipgloss.Color) { s.text = s.text.Foreground(c) },
	"notice": func(s *styles, c lipgloss.Color) { s.notice = s.notice.Foreground(c) },
	"error": func(s *styles, c lipgloss.Color) {
		s.errorLine, s.failed = s.errorLine.Foreground(c), s.failed.Foreground(c)
	},
	"unread":  func(s *styles, c lipgloss.Color) { s.unread = s.unread.Foreground(c) },
	"ok":      func(s *styles, c lipgloss.Color) { s.statusOK = s.statusOK.Foreground(c) },
	"new":     func(s *styles, c lipgloss.Color) { s.newLine = s.newLine.Foreground(c) },
	"url":     func(s *styles, c lipgloss.Color) { s.url = s.url.Foreground(c) },
	"action":  func(s *styles, c lipgloss.Color) { s.action = s.action.Foreground(c) },
	"pending": func(s *styles, c lipgloss.Color) { s.pending = s.pending.Foreground(c) },
}

var hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// validColour reports whether v is an ANSI colour number or #rrggbb.
func validColour(v string) bool {
	if n, err := strconv.Atoi(v); err == nil {
		return n >= 0 && n <= 255
	}
	return hexColour.MatchString(v)
}

// withColours sets the colours of config.toml over the theme's.
func (s styles) withColours(cs map[string]string) styles {
	for name, v := range cs {
		if set, ok := colourSetters[name]; ok && validColour(v) {
			set(&s, lipgloss.Color(v))
		}
	}
	return s
}

// nick gives a nick a colour that is the same on every screen and every
// run: FNV-1a of the case-folded nick picks it from the theme's colours.
func (s *styles) nick(nick string) lipgloss.Style {
	h := fnv.New32a()
	h.Write([]byte(chat.NickKey(nick)))
	st := lipgloss.NewStyle().Bold(true)
	if len(s.nicks) == 0 {
		return st
	}
	return st.Foreground(s.nicks[h.Sum32()%uint32(len(s.nicks))])
}
