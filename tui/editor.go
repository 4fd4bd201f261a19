package tui

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// The draft goes to $EDITOR (Ctrl+X Ctrl+E, as in bash and zsh) in three
// steps, so that Update does no I/O: a command writes it to a temporary
// file (editorReadyMsg), Bubble Tea hands the terminal to the editor
// (tea.ExecProcess, editorDoneMsg), and a command reads the file back and
// removes it (editedMsg). The text comes back into the input, not sent.
type (
	editorReadyMsg struct {
		path string
		err  error
	}
	editorDoneMsg struct {
		path string
		err  error
	}
	editedMsg struct {
		text string
		err  error
	}
)

// editorCommand is $VISUAL, else $EDITOR, else vi, split into words so
// that "code --wait" works.
func editorCommand() []string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if f := strings.Fields(os.Getenv(v)); len(f) > 0 {
			return f
		}
	}
	return []string{"vi"}
}

func (m *Model) openEditor() tea.Cmd {
	draft := m.input.Value()
	return func() tea.Msg {
		f, err := os.CreateTemp("", "chat-tui-*.txt")
		if err != nil {
			return editorReadyMsg{err: fmt.Errorf("create draft file: %w", err)}
		}
		_, err = f.WriteString(draft)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
			return editorReadyMsg{err: fmt.Errorf("write draft file: %w", err)}
		}
		return editorReadyMsg{path: f.Name()}
	}
}

func (m *Model) onEditorReady(msg editorReadyMsg) tea.Cmd {
	if msg.err != nil {
		m.setNotice("cannot open the editor: " + errText(msg.err))
		return nil
	}
	argv := append(editorCommand(), msg.path)
	c := exec.Command(argv[0], argv[1:]...)
	return tea.ExecProcess(c, func(err error) tea.Msg { return editorDoneMsg{path: msg.path, err: err} })
}

func (m *Model) onEditorDone(msg editorDoneMsg) tea.Cmd {
	return func() tea.Msg {
		defer os.Remove(msg.path)
		if msg.err != nil {
			return editedMsg{err: fmt.Errorf("run editor: %w", msg.err)}
		}
		b, err := os.ReadFile(msg.path)
		if err != nil {
			return editedMsg{err: fmt.Errorf("read draft file: %w", err)}
		}
		return editedMsg{text: strings.TrimRight(string(b), "\n")}
	}
}

func (m *Model) onEdited(msg editedMsg) {
	if msg.err != nil {
		m.setNotice("the editor failed: " + errText(msg.err) + "; the draft is unchanged")
		return
	}
	m.setInput(strings.ReplaceAll(msg.text, "\r\n", "\n"))
}
