package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
)

// TestServeSim runs the simulator on a free port, checks that the banner
// tells clients the real address and that the server answers, then cancels
// the context and expects a clean shutdown.
func TestServeSim(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	sim, err := newSim(defaultSimConfig(), logger)
	if err != nil {
		t.Fatalf("newSim: %v", err)
	}
	t.Cleanup(sim.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() {
		err := serveSim(ctx, ln, pw, sim, logger)
		pw.Close() // unblocks the banner reader if serveSim failed early
		served <- err
	}()

	banner := readBanner(t, pr)
	for _, want := range []string{
		"--endpoint-url http://" + addr + " --region ",
		"AWS_ENDPOINT_URL_DRS=http://" + addr,
		`o.BaseEndpoint = aws.String("http://` + addr + `")`,
		"curl http://" + addr + "/_sim/state",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner does not contain %q:\n%s", want, banner)
		}
	}

	resp, err := http.Get("http://" + addr + "/_sim/state")
	if err != nil {
		t.Fatalf("GET /_sim/state: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /_sim/state: status %d, want %d", resp.StatusCode, http.StatusOK)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serveSim after cancel = %v, want nil", err)
		}
	case <-time.After(simShutdownTimeout + 5*time.Second):
		t.Fatal("serveSim did not return after its context was cancelled")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("listener still accepts connections after shutdown")
	}
}

// readBanner reads the banner up to its last line and returns it.
func readBanner(t *testing.T, r io.Reader) string {
	t.Helper()
	var b strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if sc.Text() == "Press Ctrl-C to stop." {
			return b.String()
		}
	}
	t.Fatalf("banner ended before its last line (err %v):\n%s", sc.Err(), b.String())
	return ""
}

func TestSimConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*simConfig)
		want   []string // substrings of the error; none means valid
	}{
		{name: "defaults", modify: func(*simConfig) {}},
		{name: "any port", modify: func(c *simConfig) { c.Addr = "127.0.0.1:0" }},
		{name: "all interfaces", modify: func(c *simConfig) { c.Addr = ":4566" }},
		{name: "scenario path", modify: func(c *simConfig) { c.Scenario = "testdata/big.yaml" }},
		{name: "json logs", modify: func(c *simConfig) { c.LogFormat = "json" }},
		{
			name:   "zero time scale",
			modify: func(c *simConfig) { c.TimeScale = 0 },
			want:   []string{"invalid --time-scale 0: must be greater than 0 (simulated seconds per real second, e.g. 60)"},
		},
		{name: "negative time scale", modify: func(c *simConfig) { c.TimeScale = -1 }, want: []string{"invalid --time-scale -1: "}},
		{name: "NaN time scale", modify: func(c *simConfig) { c.TimeScale = math.NaN() }, want: []string{"invalid --time-scale NaN: "}},
		{name: "infinite time scale", modify: func(c *simConfig) { c.TimeScale = math.Inf(1) }, want: []string{"invalid --time-scale +Inf: "}},
		{name: "no port", modify: func(c *simConfig) { c.Addr = "127.0.0.1" }, want: []string{`invalid --addr "127.0.0.1": `, "e.g. 127.0.0.1:4566"}},
		{name: "no scenario", modify: func(c *simConfig) { c.Scenario = "" }, want: []string{`invalid --scenario ""`}},
		{name: "bad log format", modify: func(c *simConfig) { c.LogFormat = "xml" }, want: []string{`invalid --log-format "xml": must be auto, text or json`}},
		{
			name:   "several at once",
			modify: func(c *simConfig) { c.TimeScale = 0; c.LogFormat = "xml" },
			want:   []string{"invalid --time-scale 0", `invalid --log-format "xml"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultSimConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			if code := ripcord.ErrorCode(err); code != ripcord.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", code, ripcord.EINVALID)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

// TestSimCmdRejectsBadFlags runs the command as a user would and checks the
// error and exit status, before anything listens.
func TestSimCmdRejectsBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{args: []string{"sim", "--time-scale", "0"}, want: "invalid --time-scale 0: must be greater than 0 (simulated seconds per real second, e.g. 60)"},
		{args: []string{"sim", "--time-scale", "fast"}, want: `invalid argument "fast" for "--time-scale"`},
		{args: []string{"sim", "--no-such-flag"}, want: "unknown flag: --no-such-flag"},
		{args: []string{"sim", "--servers", "-3"}, want: "invalid --servers -3: must be between 1 and 100000"},
		{args: []string{"sim", "--servers", "10"}, want: `--servers 10: scenario "three-tier" does not generate servers`},
		{args: []string{"sim", "--scenario", "no-such-scenario"}, want: `invalid --scenario "no-such-scenario"`},
		{args: []string{"demo", "--time-scale", "-1"}, want: "invalid --time-scale -1: must be greater than 0"},
		{args: []string{"demo", "--addr", "0.0.0.0:8080"}, want: "listens on loopback only"},
		{args: []string{"run", "-f", "plan.yaml", "--drill", "--id", "../evil"}, want: `"../evil" is not an execution ID`},
		{args: []string{"sim", "extra"}, want: `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := newRootCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(tt.args)
			err := cmd.ExecuteContext(t.Context())
			if err == nil {
				t.Fatalf("ripcord %s succeeded, want an error containing %q", strings.Join(tt.args, " "), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if got := exitCode(err); got != 2 {
				t.Errorf("exitCode = %d, want 2", got)
			}
		})
	}
}

func TestClientURL(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{addr: "127.0.0.1:4566", want: "http://127.0.0.1:4566"},
		{addr: "0.0.0.0:4566", want: "http://127.0.0.1:4566"},
		{addr: "[::]:4566", want: "http://127.0.0.1:4566"},
		{addr: "[::1]:4566", want: "http://[::1]:4566"},
		{addr: "192.0.2.7:80", want: "http://192.0.2.7:80"},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatalf("ResolveTCPAddr(%q): %v", tt.addr, err)
		}
		if got := clientURL(addr); got != tt.want {
			t.Errorf("clientURL(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestNewLoggerFormat(t *testing.T) {
	tests := []struct {
		format   string
		wantJSON bool
	}{
		{format: logFormatAuto, wantJSON: true}, // a buffer is not a terminal
		{format: logFormatJSON, wantJSON: true},
		{format: logFormatText, wantJSON: false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		newLogger(&buf, tt.format).Info("hello", "k", "v")
		if got := json.Valid(bytes.TrimSpace(buf.Bytes())); got != tt.wantJSON {
			t.Errorf("newLogger(%q) wrote %q; JSON = %v, want %v", tt.format, buf.String(), got, tt.wantJSON)
		}
	}
}

// TestNewSimServersOverride checks that --servers sizes the scale scenario.
func TestNewSimServersOverride(t *testing.T) {
	cfg := defaultSimConfig()
	cfg.Scenario = "scale"
	cfg.Servers = 30
	sim, err := newSim(cfg, newLogger(io.Discard, "json"))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	n := 0
	for _, r := range sim.State(drssim.StateFilter{}).Regions {
		n += len(r.Servers)
	}
	if n != 30 {
		t.Fatalf("scale with --servers 30 has %d servers", n)
	}
}
