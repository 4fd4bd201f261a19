package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssechat/chat/chat"
	"github.com/ssechat/chat/client"
	"github.com/ssechat/chat/server"
	"github.com/ssechat/chat/server/servertest"
)

// exampleURL is a real chat server on 127.0.0.1 for the examples, which
// cannot take a *testing.T to start one with servertest.Start.
var exampleURL string

// TestMain runs the examples' server around all tests and then checks that
// no test left a goroutine running.
func TestMain(m *testing.M) {
	stop, err := startExampleServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start example server:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func startExampleServer() (stop func(), err error) {
	dir, err := os.MkdirTemp("", "client-example-")
	if err != nil {
		return nil, err
	}
	st, err := servertest.OpenSQLite(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	srv, err := server.New(servertest.Config(), st, slog.New(slog.DiscardHandler))
	if err != nil {
		st.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	exampleURL = "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
		st.Close()
		os.RemoveAll(dir)
	}, nil
}

// A program logs in, follows a room and sends to it. Events come in order:
// state changes, the welcome, then the room's messages. Text from other
// people goes through chat.TerminalSafe before it reaches a terminal.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := client.New(exampleURL)
	defer c.CloseIdleConnections()
	if _, err := c.Login(ctx, "alice", "alice's password"); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.CreateRoom(ctx, "example", nil); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range c.Subscribe(ctx, "example", "") {
		switch {
		case ev.State != nil:
			fmt.Println("state:", ev.State.State)
		case ev.Welcome != nil:
			// The stream is live: whatever is posted from now on arrives.
			if _, err := c.Send(ctx, "example", chat.PostMessage{Text: "hello, world"}); err != nil {
				fmt.Println(err)
				return
			}
		case ev.Message != nil:
			fmt.Printf("%s: %s\n", ev.Message.Nick, chat.TerminalSafe(ev.Message.Text, false))
			cancel() // the channel closes and the loop ends
		}
	}
	// Output:
	// state: connecting
	// state: connected
	// alice: hello, world
}

// Send may be repeated with the same client_id (a user pressing "retry"
// after a timeout, say): the server stores the message once and answers the
// repeat with the first copy.
func ExampleClient_Send() {
	ctx := context.Background()
	c := client.New(exampleURL)
	defer c.CloseIdleConnections()
	if _, err := c.Login(ctx, "bob", "bob's password"); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.CreateRoom(ctx, "send-example", nil); err != nil {
		fmt.Println(err)
		return
	}
	m := chat.PostMessage{Text: "only once", ClientID: client.NewClientID()}
	first, err := c.Send(ctx, "send-example", m)
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := c.Send(ctx, "send-example", m)
	if err != nil {
		fmt.Println(err)
		return
	}
	page, err := c.History(ctx, "send-example", client.HistoryQuery{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same message:", first.ID == again.ID)
	fmt.Println("stored:", len(page.Messages))
	// Output:
	// same message: true
	// stored: 1
}

// Subscribe from a message id replays what came after it, then goes on
// live: a program that shows history subscribes from the newest id it holds.
func ExampleClient_Subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := client.New(exampleURL)
	defer c.CloseIdleConnections()
	if _, err := c.Login(ctx, "carol", "carol's password"); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.CreateRoom(ctx, "resume-example", nil); err != nil {
		fmt.Println(err)
		return
	}
	var ids []string
	for _, text := range []string{"one", "two", "three"} {
		m, err := c.Send(ctx, "resume-example", chat.PostMessage{Text: text})
		if err != nil {
			fmt.Println(err)
			return
		}
		ids = append(ids, m.ID)
	}
	for ev := range c.Subscribe(ctx, "resume-example", ids[0]) {
		if ev.Message != nil {
			fmt.Println(ev.Message.Text)
			if ev.Message.ID == ids[2] {
				cancel()
			}
		}
	}
	// Output:
	// two
	// three
}

// Errors from the server are *client.APIError values; errors.Is sorts them
// into the sentinels and Field names the field a validation error is about.
func ExampleAPIError() {
	ctx := context.Background()
	c := client.New(exampleURL)
	defer c.CloseIdleConnections()
	if _, err := c.Login(ctx, "dave", "dave's password"); err != nil {
		fmt.Println(err)
		return
	}
	_, err := c.Send(ctx, "general", chat.PostMessage{Text: "   "})
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(errors.Is(err, client.ErrInvalid), apiErr.Status, apiErr.Code, apiErr.Field())
	}
	_, err = c.Members(ctx, "no-such-room")
	fmt.Println(errors.Is(err, client.ErrNotFound))
	// Output:
	// true 422 text_empty text
	// true
}
