// Command chat-bench is the chat server's load tool: it registers accounts,
// opens many SSE subscribers, posts messages as a burst or at a rate, and
// prints one key=value line of what was delivered and what it cost. Run
// "chat-bench -h" for the scenarios; docs/benchmarks.md shows results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/ssechat/chat/internal/bench"
)

func main() { os.Exit(run()) }

func run() int {
	cfg, err := bench.ParseArgs(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat-bench:", err)
		return 2
	}
	limit := time.Duration(cfg.MaxSeconds * float64(time.Second))
	// The run stops itself a little before the bound so that it can still
	// report; the watchdog ends the process if anything hangs past it.
	watchdog := time.AfterFunc(limit, func() {
		fmt.Printf("scenario=%s timeout=hard\n", cfg.Scenario)
		os.Exit(3)
	})
	defer watchdog.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), limit-min(limit/5, 5*time.Second))
	defer cancel()

	var progress io.Writer // nil: no progress line
	if cfg.Progress == "on" || (cfg.Progress == "auto" && term.IsTerminal(int(os.Stderr.Fd()))) {
		progress = os.Stderr
	}
	res, err := bench.Run(ctx, cfg, progress)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat-bench:", err)
		return 1
	}
	fmt.Println(res.Summary.String())
	if cfg.SVG != "" {
		f, err := os.Create(cfg.SVG)
		if err == nil {
			err = bench.WriteSVG(f, res.Chart, res.Series)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "chat-bench: write chart:", err)
			return 1
		}
	}
	if res.Faulty() {
		return 3
	}
	return 0
}
