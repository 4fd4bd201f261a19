// Package tui is the Bubble Tea terminal front end of the chat: one root
// model that shows rooms, messages and an input, and talks to the server only
// through tea.Cmds built on a small Backend interface (*client.Client).
//
// It must never write to the terminal anything another user wrote without
// chat.TerminalSafe, and never block or do I/O inside Update or View.
package tui
