package tui

import (
	"hash/fnv"

	"github.com/charmbracelet/lipgloss"
	"github.com/ssechat/chat/chat"
)

// styles are the looks of every part of the screen. Colours are adaptive
// ANSI 256 values; with the Ascii profile (tests, NO_COLOR) all vanish and
// the layout stays the same.
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
}

func defaultStyles() styles {
	dim := lipgloss.AdaptiveColor{Light: "245", Dark: "243"}
	return styles{
		header:    lipgloss.NewStyle().Bold(true),
		topic:     lipgloss.NewStyle().Foreground(dim),
		roomBar:   lipgloss.NewStyle(),
		roomOn:    lipgloss.NewStyle().Bold(true).Reverse(true),
		roomOff:   lipgloss.NewStyle().Foreground(dim),
		unread:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("214")),
		time:      lipgloss.NewStyle().Foreground(dim),
		text:      lipgloss.NewStyle(),
		action:    lipgloss.NewStyle().Italic(true),
		system:    lipgloss.NewStyle().Foreground(dim),
		notice:    lipgloss.NewStyle().Foreground(lipgloss.Color("39")),
		errorLine: lipgloss.NewStyle().Foreground(lipgloss.Color("203")),
		pending:   lipgloss.NewStyle().Foreground(dim),
		failed:    lipgloss.NewStyle().Foreground(lipgloss.Color("203")),
		daySep:    lipgloss.NewStyle().Foreground(dim),
		status:    lipgloss.NewStyle().Foreground(dim),
		statusOK:  lipgloss.NewStyle().Foreground(lipgloss.Color("42")),
		statusBad: lipgloss.NewStyle().Foreground(lipgloss.Color("203")),
		newMarker: lipgloss.NewStyle().Bold(true).Reverse(true),
		newLine:   lipgloss.NewStyle().Foreground(lipgloss.Color("203")),
		url:       lipgloss.NewStyle().Underline(true),
		prompt:    lipgloss.NewStyle().Bold(true),
	}
}

// nickPalette are ANSI 256 colours readable on dark and light backgrounds.
var nickPalette = []lipgloss.Color{
	"33", "39", "42", "70", "99", "105", "135", "166", "172", "178", "197", "203", "208", "214", "36", "141",
}

// nickStyle gives a nick a colour that is the same on every screen and every
// run: FNV-1a of the case-folded nick picks it from nickPalette.
func nickStyle(nick string) lipgloss.Style {
	h := fnv.New32a()
	h.Write([]byte(chat.NickKey(nick)))
	return lipgloss.NewStyle().Bold(true).Foreground(nickPalette[h.Sum32()%uint32(len(nickPalette))])
}
