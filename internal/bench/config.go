package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/ssechat/chat/internal/cmdline"
	"github.com/ssechat/chat/internal/envflag"
)

// Scenarios chat-bench runs.
const (
	ScenarioFanout  = "fanout"  // one room, N subscribers, M messages
	ScenarioRooms   = "rooms"   // R rooms of N/R subscribers each
	ScenarioPublish = "publish" // durable POST throughput from P posters
	ScenarioStorm   = "storm"   // N subscribers drop, K messages pass, all resume
	ScenarioSlow    = "slow"    // a share of subscribers stall; the others' p99 against a run without them
)

// Scenarios lists every scenario in the order the help shows them.
var Scenarios = []string{ScenarioFanout, ScenarioRooms, ScenarioPublish, ScenarioStorm, ScenarioSlow}

// Config is one run. ParseArgs fills it from the command line with each
// scenario's own defaults for the flags not given.
type Config struct {
	Scenario       string
	URL            string
	Subs           int
	Rooms          int
	Msgs           int
	Rate           float64 // messages per second over all posters; 0 is a burst
	Posters        int
	Size           int // bytes of each message's text
	Behind         int // storm: messages posted while the subscribers are away
	Stalled        float64
	ServerPID      int
	MaxSeconds     float64
	ConnectTimeout time.Duration
	DialConc       int
	BufSize        int
	Settle         time.Duration
	Drain          time.Duration
	Token          string // use this session for everything instead of logging in
	Password       string
	SubAccounts    int
	Reconnect      bool
	SVG            string
	Label          string
	Progress       string // auto, on or off
}

// scenarioDefaults are the flags each scenario sets when the command line
// does not: sized so that each finishes in seconds on a small machine.
var scenarioDefaults = map[string]map[string]string{
	ScenarioFanout:  {"subs": "1000", "msgs": "500", "posters": "8"},
	ScenarioRooms:   {"subs": "1000", "rooms": "10", "msgs": "1000", "posters": "8"},
	ScenarioPublish: {"subs": "0", "msgs": "30000", "posters": "64"},
	ScenarioStorm:   {"subs": "5000", "behind": "100", "posters": "8"},
	ScenarioSlow:    {"subs": "1000", "stalled": "0.05", "msgs": "200", "rate": "50", "posters": "4", "size": "1000"},
}

// Usage is the command's help text.
const Usage = `usage: chat-bench SCENARIO [flags]

Scenarios:
  fanout   N subscribers in one room; M messages as a burst (--rate 0) or paced
  rooms    R rooms × N/R subscribers; messages spread over the rooms
  publish  durable POST throughput from P concurrent posters (subscribers optional)
  storm    N subscribers drop, K messages are posted, all resume with Last-Event-ID;
           reports the time until all caught up
  slow     a share of subscribers stall; the others' p99 is compared with a run
           without them

It prints one key=value line on stdout. Exit status: 0 done, 1 the run could
not be made, 2 bad flags, 3 a message was lost, duplicated or reordered, or the
run hit --max-seconds.

Flags:
`

// ParseArgs reads the scenario and flags. --help and --version are answered
// on stdout with flag.ErrHelp (internal/cmdline); errors are returned
// unprinted.
func ParseArgs(args []string, stdout io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("chat-bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), Usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "server base URL")
	fs.IntVar(&c.Subs, "subs", 1000, "SSE subscribers (N)")
	fs.IntVar(&c.Rooms, "rooms", 1, "rooms the subscribers and messages are spread over (R)")
	fs.IntVar(&c.Msgs, "msgs", 500, "messages to post (M); 0 only connects (memory per subscriber)")
	fs.Float64Var(&c.Rate, "rate", 0, "messages per second over all posters; 0 posts a burst")
	fs.IntVar(&c.Posters, "posters", 8, "concurrent posters (P), one account and keep-alive connection each")
	fs.IntVar(&c.Size, "size", 100, "bytes of each message's text")
	fs.IntVar(&c.Behind, "behind", 100, "storm: messages posted while the subscribers are away (K)")
	fs.Float64Var(&c.Stalled, "stalled", 0.05, "slow: share of subscribers that stop reading")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process id, to read its RSS and CPU from /proc (0: skip)")
	fs.Float64Var(&c.MaxSeconds, "max-seconds", 120, "hard bound on the whole run")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", 30*time.Second, "bound on opening all streams, and on one request")
	fs.IntVar(&c.DialConc, "dial-concurrency", 64, "streams being opened at once")
	fs.IntVar(&c.BufSize, "buf", 2048, "read buffer bytes per stream (two per stream)")
	fs.DurationVar(&c.Settle, "settle", time.Second, "pause after the streams are open, before reading RSS and posting")
	fs.DurationVar(&c.Drain, "drain", 15*time.Second, "how long to wait for deliveries after the last post")
	fs.StringVar(&c.Token, "token", "", "session token to use for every request instead of logging in")
	fs.StringVar(&c.Password, "password", "chat-bench-password", "password of the accounts chat-bench logs in or registers")
	fs.IntVar(&c.SubAccounts, "sub-accounts", 1, "accounts the subscribers are spread over")
	fs.BoolVar(&c.Reconnect, "reconnect", true, "resume a stream the server ended, with Last-Event-ID")
	fs.StringVar(&c.SVG, "svg", "", "write the latency distribution chart to this SVG file")
	fs.StringVar(&c.Label, "label", "", "free text echoed as label= in the summary")
	fs.StringVar(&c.Progress, "progress", "auto", "progress bar on stderr: auto (when a terminal), on, off")

	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.Scenario, args = args[0], args[1:]
	}
	if err := cmdline.Parse(fs, args, stdout); err != nil {
		return Config{}, err
	}
	if c.Scenario == "" && fs.NArg() > 0 {
		c.Scenario = fs.Arg(0)
		if err := cmdline.Parse(fs, fs.Args()[1:], stdout); err != nil {
			return Config{}, err
		}
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	defaults, ok := scenarioDefaults[c.Scenario]
	if !ok {
		return Config{}, fmt.Errorf("unknown scenario %q: want one of %s", c.Scenario, strings.Join(Scenarios, ", "))
	}
	// The scenario's defaults fill the flags the command line left alone,
	// as the CHAT_* variables do for the other commands.
	err := envflag.Fill(fs, func(name string) (string, string, bool) {
		v, ok := defaults[name]
		return v, "the " + c.Scenario + " default " + name, ok
	})
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// Validate reports the first setting that cannot make a run.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/"):
		return fmt.Errorf("--url must be http://host:port, got %q", c.URL)
	case c.Subs < 0 || c.Subs > 200000:
		return errors.New("--subs must be 0 to 200000")
	case c.Msgs < 0 || c.Msgs > 10000000:
		return errors.New("--msgs must be 0 to 10000000")
	case c.Rate < 0:
		return errors.New("--rate must not be negative")
	case c.Posters < 1 || c.Posters > 4096:
		return errors.New("--posters must be 1 to 4096")
	case c.Size < minPayload || c.Size > 4000:
		return fmt.Errorf("--size must be %d to 4000 bytes", minPayload)
	case c.Rooms < 1 || c.Rooms > 10000:
		return errors.New("--rooms must be 1 to 10000")
	case c.Scenario == ScenarioRooms && c.Rooms > c.Subs:
		return errors.New("--rooms must not exceed --subs")
	case c.Scenario == ScenarioStorm && (c.Behind < 1 || c.Behind > 1000000):
		return errors.New("--behind must be 1 to 1000000")
	case c.Scenario == ScenarioStorm && c.Subs < 1:
		return errors.New("storm needs --subs of at least 1")
	case c.Stalled < 0 || c.Stalled >= 1:
		return errors.New("--stalled must be at least 0 and below 1")
	case c.Scenario == ScenarioSlow && (c.Msgs < 1 || c.healthy() < 1):
		return errors.New("slow needs --msgs and some subscribers that do not stall")
	case c.MaxSeconds <= 2:
		return errors.New("--max-seconds must be above 2")
	case c.ConnectTimeout <= 0 || c.Settle < 0 || c.Drain <= 0:
		return errors.New("--connect-timeout and --drain must be positive, --settle not negative")
	case c.DialConc < 1:
		return errors.New("--dial-concurrency must be at least 1")
	case c.BufSize < 256 || c.BufSize > 1<<20:
		return errors.New("--buf must be 256 to 1048576")
	case c.SubAccounts < 1 || c.SubAccounts > 10000:
		return errors.New("--sub-accounts must be 1 to 10000")
	case c.Progress != "auto" && c.Progress != "on" && c.Progress != "off":
		return errors.New("--progress must be auto, on or off")
	}
	return nil
}

// stalledCount is how many subscribers stall in the slow scenario.
func (c Config) stalledCount() int {
	if c.Scenario != ScenarioSlow {
		return 0
	}
	return int(float64(c.Subs)*c.Stalled + 0.5)
}

func (c Config) healthy() int { return c.Subs - c.stalledCount() }
