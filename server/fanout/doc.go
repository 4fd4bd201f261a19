// Package fanout is the server's fan-out engine: it hands each event,
// encoded once, to every stream subscribed to the event's topic, through a
// bounded queue per stream, and writes each stream's queue out in batches.
//
// Topics are opaque strings and frames opaque bytes: the engine must never
// know what a room, an account, a store or an HTTP handler is. A stream may
// be subscribed to many topics at once and gain or lose topics while open.
package fanout
