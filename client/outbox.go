package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ssechat/chat/chat"
)

// DefaultAttemptTimeout bounds one POST of an Outbox: a server that holds
// the request longer is treated like one that is down, and the message is
// posted again with the same client_id.
const DefaultAttemptTimeout = 15 * time.Second

// SendOnce posts m to room once, without any retry, and returns the message
// as the server stored it. m.ClientID must be set by the caller when the
// post may be repeated (the Outbox always sets it). Errors are as for Send.
func (c *Client) SendOnce(ctx context.Context, room string, m chat.PostMessage) (chat.Message, error) {
	var msg chat.Message
	if _, err := c.do(ctx, http.MethodPost, roomPath(room, "/messages"), nil, m, &msg); err != nil {
		return chat.Message{}, fmt.Errorf("send message: %w", err)
	}
	return msg, nil
}

// Poster posts one message once. *Client is one (SendOnce); tests and
// programs that wrap the client may supply their own.
type Poster interface {
	SendOnce(ctx context.Context, room string, m chat.PostMessage) (chat.Message, error)
}

var _ Poster = (*Client)(nil)

// Outgoing is one message in an Outbox: where it goes, what it says (with
// its client_id, which never changes, so posting it again is safe), when it
// was queued, and, for a message the server refused for good, why. It is
// what OutboxOptions.Save is given and what Restore takes back.
type Outgoing struct {
	Room   string           `json:"room"`
	Post   chat.PostMessage `json:"post"`
	Queued time.Time        `json:"queued"`
	Failed string           `json:"failed,omitempty"` // "" while it is still to be sent
}

// OutboxState is what an OutboxUpdate says about a message.
type OutboxState int

const (
	// OutWaiting: the last attempt did not reach the server, or the server
	// asked to wait (429, 5xx), or the session needs a new login (401).
	// The outbox keeps trying; the messages queued behind it wait too.
	OutWaiting OutboxState = iota
	// OutSent: the server holds the message; Message is its copy.
	OutSent
	// OutFailed: the server refused the message for a reason a retry
	// cannot fix (400, 403, 404, 413, 422). It stays in the outbox,
	// skipped, until Retry or Discard.
	OutFailed
)

func (s OutboxState) String() string {
	switch s {
	case OutWaiting:
		return "waiting"
	case OutSent:
		return "sent"
	case OutFailed:
		return "failed"
	}
	return fmt.Sprintf("OutboxState(%d)", int(s))
}

// OutboxUpdate tells what became of a queued message.
type OutboxUpdate struct {
	Room     string
	ClientID string
	State    OutboxState
	Message  chat.Message  // OutSent: the message as stored
	Reason   string        // OutWaiting, OutFailed: in words for people
	Err      error         // OutWaiting, OutFailed: the error itself
	RetryIn  time.Duration // OutWaiting: how long until the next attempt
}

// OutboxOptions configures NewOutbox. The zero value is usable.
type OutboxOptions struct {
	// Save is called with every message still in the outbox (waiting or
	// failed, in the order queued) after the set changed, from the outbox's
	// own goroutine, never from Queue, and never twice at once. Changes
	// that come quickly are saved together. Nil keeps nothing.
	Save func([]Outgoing) error
	// AttemptTimeout bounds one POST. Defaults to DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// MinBackoff and MaxBackoff bound the capped exponential backoff
	// (with jitter) between attempts that did not reach the server.
	// Default to DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Logger logs retries and failures. Defaults to discarding.
	Logger *slog.Logger
}

// Outbox sends messages in the order they were queued, per room, one at a
// time, each with its own client_id, so that neither a lost answer nor a
// retry can reorder or double them. A message that cannot reach the server
// (transport error, 5xx, 429, 401) is tried again, forever, after the wait
// the server asked for or a capped backoff; the room's later messages wait
// behind it. Only a refusal a retry cannot fix marks a message failed; the
// room's later messages then go on.
//
// Its goroutines (one that starts the rooms' senders and saves, one per
// room with something to send) belong to it: Close stops them and waits.
// Queue, Retry, Discard, Wake and Pending never block on I/O and may be
// called from any goroutine, including a Bubble Tea Update.
type Outbox struct {
	poster  Poster
	opts    OutboxOptions
	backoff backoff
	log     *slog.Logger
	updates chan OutboxUpdate
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	kick    chan struct{} // 1-buffered: the loop has work (a room to start, a save)
	done    chan struct{} // closed when the loop has returned

	mu      sync.Mutex
	items   []*outItem      // every message held, in the order queued
	running map[string]bool // rooms whose sender runs
	wake    chan struct{}   // closed by Wake: waiting senders try at once
	dirty   bool            // items changed since the last save
	closed  bool
}

type outItem struct {
	Outgoing
	sending bool // a sender holds it: Discard must wait
}

// NewOutbox returns an outbox that posts through p and starts its loop.
// Call Close when done with it.
func NewOutbox(p Poster, opts OutboxOptions) *Outbox {
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	b := backoff{min: DefaultMinBackoff, max: DefaultMaxBackoff}
	if opts.MinBackoff > 0 {
		b.min = opts.MinBackoff
	}
	if opts.MaxBackoff > 0 {
		b.max = max(opts.MaxBackoff, b.min)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Outbox{
		poster: p, opts: opts, backoff: b, log: log,
		updates: make(chan OutboxUpdate, 256),
		ctx:     ctx, cancel: cancel,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		running: map[string]bool{},
		wake:    make(chan struct{}),
	}
	go o.loop()
	return o
}

// Updates delivers what became of each message, in the order it happened
// for each room. Read it until Close: a sender whose update finds the
// channel full waits (its room's queue with it).
func (o *Outbox) Updates() <-chan OutboxUpdate { return o.updates }

// Queue adds a message for room behind those already queued and returns it
// as held, with its client_id (a fresh one when post has none). It does no
// I/O: the outbox's goroutines send and save.
func (o *Outbox) Queue(room string, post chat.PostMessage) Outgoing {
	if post.ClientID == "" {
		post.ClientID = NewClientID()
	}
	it := &outItem{Outgoing: Outgoing{Room: room, Post: post, Queued: time.Now()}}
	held := it.Outgoing // copied before a sender may mark it
	o.mu.Lock()
	o.items = append(o.items, it)
	o.dirty = true
	o.mu.Unlock()
	o.poke()
	return held
}

// Restore queues messages saved before (OutboxOptions.Save), in their
// order, keeping their client_ids, queue times and failed reasons: a
// message the server already stored is answered with its first copy, not
// stored again. Messages whose client_id is held already are skipped.
func (o *Outbox) Restore(saved []Outgoing) {
	o.mu.Lock()
	for _, s := range saved {
		if s.Post.ClientID == "" || o.find(s.Post.ClientID) >= 0 {
			continue
		}
		o.items = append(o.items, &outItem{Outgoing: s})
	}
	o.mu.Unlock()
	o.poke()
}

// Pending returns every message held (waiting or failed), in the order
// queued.
func (o *Outbox) Pending() []Outgoing {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.snapshot()
}

// Retry queues a failed message again, in its old place: before the room's
// messages queued after it that are still unsent. It reports whether a
// failed message with that client_id was held.
func (o *Outbox) Retry(clientID string) bool {
	o.mu.Lock()
	i := o.find(clientID)
	ok := i >= 0 && o.items[i].Failed != ""
	if ok {
		o.items[i].Failed = ""
		o.dirty = true
	}
	o.mu.Unlock()
	if ok {
		o.poke()
	}
	return ok
}

// Discard drops a message that is not being posted right now and reports
// whether it did.
func (o *Outbox) Discard(clientID string) bool {
	o.mu.Lock()
	i := o.find(clientID)
	ok := i >= 0 && !o.items[i].sending
	if ok {
		o.items = slices.Delete(o.items, i, i+1)
		o.dirty = true
	}
	o.mu.Unlock()
	if ok {
		o.poke()
	}
	return ok
}

// Wake ends every wait between attempts now: the next attempt of each
// waiting room starts at once (a "reconnect now" key, or a stream that
// came back).
func (o *Outbox) Wake() {
	o.mu.Lock()
	close(o.wake)
	o.wake = make(chan struct{})
	o.mu.Unlock()
}

// Close stops the senders (a POST on its way is abandoned; its message
// stays held and is saved), saves a last time and waits for every
// goroutine of the outbox. It is safe to call more than once.
func (o *Outbox) Close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	<-o.done
}

// poke tells the loop there is work, without blocking.
func (o *Outbox) poke() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

func (o *Outbox) find(clientID string) int {
	return slices.IndexFunc(o.items, func(it *outItem) bool { return it.Post.ClientID == clientID })
}

func (o *Outbox) snapshot() []Outgoing {
	out := make([]Outgoing, len(o.items))
	for i, it := range o.items {
		out[i] = it.Outgoing
	}
	return out
}

// loop starts a sender for each room that has a message to send and none
// running, and saves after changes. It owns the senders: it waits for
// them before it returns.
func (o *Outbox) loop() {
	defer close(o.done)
	defer o.wg.Wait()
	defer o.save() // the last state, after the senders stopped
	for {
		o.mu.Lock()
		for _, room := range o.sendable() {
			o.running[room] = true
			o.wg.Add(1)
			go o.send(room)
		}
		o.mu.Unlock()
		o.save()
		select {
		case <-o.kick:
		case <-o.ctx.Done():
			o.wg.Wait()
			return
		}
	}
}

// sendable lists the rooms with an unsent, unfailed message and no sender.
// o.mu is held.
func (o *Outbox) sendable() []string {
	var rooms []string
	for _, it := range o.items {
		if it.Failed == "" && !o.running[it.Room] && !slices.Contains(rooms, it.Room) {
			rooms = append(rooms, it.Room)
		}
	}
	return rooms
}

// save hands the held messages to opts.Save when they changed. Only the
// loop calls it, so saves never overlap and the last one holds the newest
// state.
func (o *Outbox) save() {
	o.mu.Lock()
	if !o.dirty || o.opts.Save == nil {
		o.dirty = false
		o.mu.Unlock()
		return
	}
	o.dirty = false
	items := o.snapshot()
	o.mu.Unlock()
	if err := o.opts.Save(items); err != nil {
		o.log.Error("outbox: save", "err", err)
	}
}

// next returns the room's first message that is neither failed nor held
// by a sender, marking it held; nil ends the room's sender. o.mu is held.
func (o *Outbox) next(room string) *outItem {
	for _, it := range o.items {
		if it.Room == room && it.Failed == "" {
			it.sending = true
			return it
		}
	}
	delete(o.running, room)
	return nil
}

// send is a room's sender: it posts the room's messages one at a time, in
// order, until none is left or the outbox closes.
func (o *Outbox) send(room string) {
	defer o.wg.Done()
	attempt := 0
	for {
		o.mu.Lock()
		if o.closed {
			delete(o.running, room)
			o.mu.Unlock()
			return
		}
		it := o.next(room)
		wake := o.wake
		o.mu.Unlock()
		if it == nil {
			return
		}
		ctx, cancel := context.WithTimeout(o.ctx, o.opts.AttemptTimeout)
		msg, err := o.poster.SendOnce(ctx, room, it.Post)
		cancel()
		if o.ctx.Err() != nil {
			o.release(it)
			return
		}
		switch {
		case err == nil:
			attempt = 0
			o.remove(it)
			o.emit(OutboxUpdate{Room: room, ClientID: it.Post.ClientID, State: OutSent, Message: msg})
		case Permanent(err):
			attempt = 0
			reason := RefusalText(err)
			o.fail(it, reason)
			o.log.Warn("outbox: refused", "room", room, "client_id", it.Post.ClientID, "err", err)
			o.emit(OutboxUpdate{Room: room, ClientID: it.Post.ClientID, State: OutFailed, Reason: reason, Err: err})
		default:
			wait := o.backoff.delay(attempt)
			var apiErr *APIError
			if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
				wait = apiErr.RetryAfter
			}
			attempt++
			o.release(it)
			o.log.Debug("outbox: waiting", "room", room, "client_id", it.Post.ClientID, "attempt", attempt, "wait", wait, "err", err)
			o.emit(OutboxUpdate{Room: room, ClientID: it.Post.ClientID, State: OutWaiting, Reason: WaitingText(err), Err: err, RetryIn: wait})
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-wake:
				attempt = 0
			case <-o.ctx.Done():
			}
			t.Stop()
		}
	}
}

// release hands a message back after an attempt that did not settle it.
func (o *Outbox) release(it *outItem) {
	o.mu.Lock()
	it.sending = false
	o.mu.Unlock()
}

// remove drops a message the server stored.
func (o *Outbox) remove(it *outItem) {
	o.mu.Lock()
	if i := slices.Index(o.items, it); i >= 0 {
		o.items = slices.Delete(o.items, i, i+1)
	}
	o.dirty = true
	o.mu.Unlock()
	o.poke()
}

// fail marks a message refused for good.
func (o *Outbox) fail(it *outItem, reason string) {
	o.mu.Lock()
	it.sending = false
	it.Failed = reason
	o.dirty = true
	o.mu.Unlock()
	o.poke()
}

// emit delivers an update, or gives up when the outbox closes.
func (o *Outbox) emit(u OutboxUpdate) {
	select {
	case o.updates <- u:
	case <-o.ctx.Done():
	}
}

// Permanent reports whether err is a refusal that posting the same message
// again cannot change: 400, 403, 404, 413, 415 or 422. Transport errors,
// 401 (log in again), 408, 429 and 5xx are not.
func Permanent(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.Status {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
		http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// RefusalText says in words for people why the server refused a message
// for good: the server's own sentence where it is about the message (422),
// plain words where the server's sentence is written for programmers.
func RefusalText(err error) string {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return "the server refused it"
	}
	switch apiErr.Status {
	case http.StatusForbidden:
		return "the server does not let you post in this room"
	case http.StatusNotFound:
		return "the room no longer exists on the server"
	case http.StatusRequestEntityTooLarge:
		return "the message is too long for the server"
	case http.StatusUnprocessableEntity:
		if apiErr.Message != "" {
			return "the server refused it: " + apiErr.Message
		}
		return "the server refused it as invalid"
	}
	return "the server could not read it (" + http.StatusText(apiErr.Status) + ")"
}

// WaitingText says in words for people why a message is still waiting.
func WaitingText(err error) string {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.Status == http.StatusUnauthorized:
			return "waiting for you to log in again"
		case apiErr.Status == http.StatusTooManyRequests:
			return "waiting: sending too fast for the server"
		}
	}
	return "waiting for the server"
}
