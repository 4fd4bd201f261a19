// Package chat holds what every side of the chat system shares: the wire
// types of the HTTP and SSE protocol, the rules for nicks, room names and
// message text, message ids, and the sanitizer for text bound for a terminal.
//
// It imports nothing else of this module and does no I/O.
package chat
