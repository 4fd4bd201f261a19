// Package limit holds the chat server's defences against too much of a good
// thing: keyed token buckets (messages per account, failed logins per nick
// and per address), keyed concurrency counts (streams per account and per
// address), a cap on open connections, and the key a client address is
// counted under (which address sent a request is package clientaddr's).
//
// Every structure here has bounded memory whatever keys a client invents, and
// none starts a goroutine: idle state is dropped lazily while it is used. A
// nil *Keyed or *Counter limits nothing, which is how the server switches the
// per-account and per-address limits off.
package limit
