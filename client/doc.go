// Package client is the Go library for talking to chat-server: log in, list
// and create rooms, page through history, send messages that are stored
// exactly once however often the network makes it retry, and follow a room's
// live events over Server-Sent Events with resume by Last-Event-ID.
//
// It is the only thing chat-tui and chat-bench need to reach the server. It
// must never lose, reorder or duplicate a message the server accepted, never
// let a slow caller stall the socket it reads from, and never leave a
// goroutine running after the caller's context ends.
//
// A Client is safe for concurrent use. Subscribe returns a channel of Events:
// connection-state changes (StateChange) and the room's events (Welcome,
// Message, Presence, Typing, Reset), in the order they happened. It
// reconnects on its own after errors, clean ends of stream and silent
// connections, and stops only when its context ends or the server refuses
// it for good (401, 403, 404).
package client
