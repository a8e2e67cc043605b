package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
)

// rowFields are the fields of a JSON row, exactly.
var rowFields = []string{"api_calls_per_server", "case", "failures", "lower_bound_s", "makespan_s", "ratio", "servers", "strategy"}

func threeTierRows(t *testing.T) []Row {
	t.Helper()
	rows, err := Run(t.Context(), Config{Cases: []Case{{Name: ThreeTier}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(Strategies) {
		t.Fatalf("got %d rows, want one per strategy (%d)", len(rows), len(Strategies))
	}
	for i, r := range rows {
		if r.Case != ThreeTier || r.Strategy != Strategies[i] || r.Servers != 6 {
			t.Fatalf("row %d is %s/%s with %d servers, want %s/%s with 6", i, r.Case, r.Strategy, r.Servers, ThreeTier, Strategies[i])
		}
	}
	return rows
}

// TestThreeTier runs the three-tier case with every strategy: ripcord
// launches all six servers in order, within the goal, with one job
// per wave; both strategies of the original incident fail.
func TestThreeTier(t *testing.T) {
	rows := threeTierRows(t)
	rc, naive, fixed := rows[0], rows[1], rows[2]

	if rc.Failures != 0 || rc.Detail.Outcome != string(ripcord.ExecSucceeded) {
		t.Errorf("ripcord: %d failures, outcome %s (%s), want 0 and succeeded", rc.Failures, rc.Detail.Outcome, Notes(rc))
	}
	if rc.Ratio < 1 || rc.Ratio > 1.05 {
		t.Errorf("ripcord: ratio %.4f (makespan %.1fs, lower bound %.1fs), want within [1, 1.05]", rc.Ratio, rc.MakespanS, rc.LowerBoundS)
	}
	if rc.Detail.LaunchJobs != 3 {
		t.Errorf("ripcord: %d LAUNCH jobs, want one per wave (3)", rc.Detail.LaunchJobs)
	}
	// The lingering TERMINATE job holds every server for four minutes.
	if rc.LowerBoundS < 240 {
		t.Errorf("ripcord: lower bound %.1fs does not include the four-minute wait for the TERMINATE job", rc.LowerBoundS)
	}
	if rc.Detail.Calls["StartRecovery"] != 3 {
		t.Errorf("ripcord: %d StartRecovery calls, want 3 (none refused)", rc.Detail.Calls["StartRecovery"])
	}

	// All at once into the TERMINATE job: every call refused.
	if naive.Failures != 6 || naive.Detail.NotLaunched != 6 || naive.Detail.Refusals["ConflictException"] != 6 {
		t.Errorf("naive: %d failures (%s), want all 6 servers refused with ConflictException", naive.Failures, Notes(naive))
	}
	// Fixed delays: the database wave is refused (its retries end before
	// the four minutes), and what launches later runs out of order.
	if fixed.Failures == 0 || fixed.Detail.NotLaunched == 0 || fixed.Detail.OrderViolations == 0 {
		t.Errorf("fixed-delay: %d failures (%s), want servers refused and servers launched out of order", fixed.Failures, Notes(fixed))
	}

	// The same seed gives the same numbers.
	again := threeTierRows(t)
	for i := range rows {
		a, b := rows[i], again[i]
		a.Detail, b.Detail = Detail{}, Detail{}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("two runs differ:\n%s\n%s", ja, jb)
		}
	}
}

// TestLowerBoundThreeTier checks the documented equivalence: in three-tier,
// where one job holds every server of the first wave, the bound is the
// blocking job's end minus the start plus, per wave, the longest
// (Finished - job Created) of its servers.
func TestLowerBoundThreeTier(t *testing.T) {
	w, err := newWorld(t.Context(), Case{Name: ThreeTier}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if _, err := runRipcord(t.Context(), w, Config{}); err != nil {
		t.Fatal(err)
	}
	row := w.measure()

	view := w.sim.State(drssim.StateFilter{})
	wave := map[string]int{}
	for k, wv := range w.waves {
		for _, s := range wv.servers {
			wave[s.id] = k
		}
	}
	var blockerEnd time.Time
	longest := make([]time.Duration, len(w.waves))
	for _, j := range view.Regions[0].Jobs {
		if j.Foreign {
			if j.Type != "TERMINATE" || j.Ended.IsZero() {
				t.Fatalf("scenario job %s: %s ended %v, want the TERMINATE job, ended", j.JobID, j.Type, j.Ended)
			}
			blockerEnd = j.Ended
			continue
		}
		for _, s := range j.Servers {
			if d := s.Finished.Sub(j.Created); d > longest[wave[s.SourceServerID]] {
				longest[wave[s.SourceServerID]] = d
			}
		}
	}
	want := blockerEnd.Sub(start)
	for _, d := range longest {
		want += d
	}
	if got := time.Duration(row.LowerBoundS * float64(time.Second)); (got - want).Abs() > time.Millisecond {
		t.Errorf("lower bound %s, want %s (TERMINATE job ends after %s, waves %v)", got, want, blockerEnd.Sub(start), longest)
	}
	if row.Detail.QuotaBound {
		t.Error("the quota bound decided a wave of six servers")
	}
	if len(row.Detail.StartDelays) != 3 {
		t.Fatalf("start delays %v, want one per wave", row.Detail.StartDelays)
	}
	var sum time.Duration
	for _, d := range row.Detail.StartDelays {
		if d < 0 {
			t.Errorf("a wave started %s before it could", -d)
		}
		sum += d
	}
	// What ripcord adds to the bound is exactly how late it started waves
	// (each wave's slowest server is also its first job's: one job per wave).
	if over := time.Duration((row.MakespanS - row.LowerBoundS) * float64(time.Second)); (over - sum).Abs() > time.Millisecond {
		t.Errorf("makespan exceeds the bound by %s, but waves started late by %s in all", over, sum)
	}
}

// TestJSONRows checks that a JSON row has exactly the documented fields.
func TestJSONRows(t *testing.T) {
	rows := []Row{{Case: ThreeTier, Strategy: Ripcord, Servers: 6, MakespanS: 1, LowerBoundS: 1, Ratio: 1,
		Detail: Detail{NotLaunched: 3, Calls: map[string]int64{"DescribeJobs": 2}}}}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rows); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not a JSON list: %v\n%s", err, buf.String())
	}
	if len(got) != 1 {
		t.Fatalf("%d rows, want 1", len(got))
	}
	var keys []string
	for k := range got[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, rowFields) {
		t.Errorf("row fields %v, want exactly %v", keys, rowFields)
	}
	buf.Reset()
	if err := WriteJSON(&buf, nil); err != nil || strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("no rows: %q, %v; want []", buf.String(), err)
	}
}

func TestParseCase(t *testing.T) {
	tests := []struct {
		in      string
		want    Case
		wantErr string
	}{
		{in: "three-tier", want: Case{Name: ThreeTier}},
		{in: "scale-300", want: Case{Name: "scale-300", Servers: 300}},
		{in: " scale-3000", want: Case{Name: "scale-3000", Servers: 3000}},
		{in: "scale-012", want: Case{Name: "scale-12", Servers: 12}},
		{in: "scale-11", wantErr: "from 12 to 20000"},
		{in: "scale-20001", wantErr: "from 12 to 20000"},
		{in: "scale-x", wantErr: "whole number"},
		{in: "history-20000", want: Case{Name: "history-20000", History: 20000}},
		{in: "history-007", want: Case{Name: "history-7", History: 7}},
		{in: "history-0", wantErr: "from 1 to 100000"},
		{in: "history-100001", wantErr: "from 1 to 100000"},
		{in: "history-", wantErr: "completed jobs must be a whole number"},
		{in: "scale-10000-one-target", want: Case{Name: "scale-10000-one-target", Servers: 10000, OneTarget: true}},
		{in: "scale-0300-one-target", want: Case{Name: "scale-300-one-target", Servers: 300, OneTarget: true}},
		{in: "scale-11-one-target", wantErr: "from 12 to 20000"},
		{in: "scale-300-two-targets", wantErr: "whole number"},
		{in: "scale-one-target", wantErr: "whole number"},
		{in: "history", wantErr: `unknown case "history"`},
		{in: "300", wantErr: `unknown case "300"`},
		{in: "", wantErr: `unknown case ""`},
	}
	for _, tt := range tests {
		got, err := ParseCase(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ripcord.ErrorCode(err) != ripcord.EINVALID || ripcord.ErrorHint(err) == "" {
				t.Errorf("ParseCase(%q) = %v, %v; want an EINVALID error with a hint containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCase(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, names := range [][]string{{"scale-300", "scale-0300"}, {"history-5", "history-05"}, {"scale-20-one-target", "scale-020-one-target"}} {
		if _, err := ParseCases(names); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("%v: %v, want an error naming a case twice", names, err)
		}
	}
	if cs, err := ParseCases([]string{"scale-300", "scale-300-one-target"}); err != nil || len(cs) != 2 {
		t.Errorf("scale-300 and scale-300-one-target are two cases: %v, %v", cs, err)
	}
	for _, name := range DefaultCaseNames {
		if c, err := ParseCase(name); err != nil || c.Name != name {
			t.Errorf("default case %q: %+v, %v", name, c, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tt := []Case{{Name: ThreeTier}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{Cases: tt}, ""},
		{"no cases", Config{}, "no cases"},
		{"unknown strategy", Config{Cases: tt, Strategies: []string{"sleepy"}}, `unknown strategy "sleepy"`},
		{"strategy twice", Config{Cases: tt, Strategies: []string{Naive, Naive}}, "twice"},
		{"negative poll", Config{Cases: tt, Poll: -time.Second}, "negative"},
		{"min above max", Config{Cases: tt, Poll: time.Second, MinPoll: 2 * time.Second}, "longer than"},
		{"negative parallel", Config{Cases: tt, Parallel: -1}, "negative"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ripcord.ErrorHint(err) == "" {
			t.Errorf("%s: %v; want an error with a hint containing %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestScaleSmall runs the smallest scale case with ripcord: every step
// spans the four targets, nothing fails, and the bound holds.
func TestScaleSmall(t *testing.T) {
	c, err := ParseCase("scale-60")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Run(t.Context(), Config{Cases: []Case{c}, Strategies: []string{Ripcord, Naive}})
	if err != nil {
		t.Fatal(err)
	}
	rc, naive := rows[0], rows[1]
	if rc.Servers != 60 || rc.Failures != 0 || rc.Ratio < 1 {
		t.Errorf("ripcord: %d servers, %d failures, ratio %.4f (%s); want 60, 0, at least 1", rc.Servers, rc.Failures, rc.Ratio, Notes(rc))
	}
	// One job per wave and target: 3 waves x 4 targets.
	if rc.Detail.LaunchJobs != 12 {
		t.Errorf("ripcord: %d LAUNCH jobs, want 12 (one per wave and target)", rc.Detail.LaunchJobs)
	}
	// 15 servers per target stay under the quota of 20 active jobs, so
	// every server launches; but every wave went at once, so the 40
	// servers of app and web started before the wave before them was up.
	if naive.Detail.NotLaunched != 0 || naive.Detail.OrderViolations != 40 || naive.Failures != 40 {
		t.Errorf("naive: %d failures (%s), want 40 launched before the previous wave was up", naive.Failures, Notes(naive))
	}
}

// TestLatency checks the modelled latency of a request: 60 ms plus 1 ms per
// 8 KiB of the answer, moved on the run's clock after the answer, with the
// body passed on whole.
func TestLatency(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want time.Duration
	}{{0, 60 * time.Millisecond}, {8192, 61 * time.Millisecond}, {4096, 60*time.Millisecond + 500*time.Microsecond},
		{1 << 20, 60*time.Millisecond + 128*time.Millisecond}} {
		if got := latency(tt.n); got != tt.want {
			t.Errorf("latency(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
	body := strings.Repeat("x", 3*8192)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	clock := drssim.NewManualClock(start)
	hc := &http.Client{Transport: latencyTransport{next: srv.Client().Transport, clock: clock}}
	for i := 1; i <= 2; i++ {
		resp, err := hc.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != body {
			t.Fatalf("body of %d bytes, %v; want the server's %d", len(got), err, len(body))
		}
		if el, want := clock.Now().Sub(start), time.Duration(i)*63*time.Millisecond; el != want {
			t.Errorf("after %d requests of 24 KiB the clock moved %s, want %s", i, el, want)
		}
	}
}

// TestWorldRateLimit checks that a run's clients keep the adapter's default
// rate limit on the run's clock: past the burst of 5, requests to one
// target are 200 ms apart in simulated time, and each takes its latency.
func TestWorldRateLimit(t *testing.T) {
	w, err := newWorld(t.Context(), Case{Name: ThreeTier}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	const n = 15
	for range n {
		if _, err := w.clients["prod"].JobsCreatedSince(t.Context(), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.sim.OperationCounts()["DescribeJobs"]; got != n {
		t.Fatalf("the simulator answered %d DescribeJobs, want %d", got, n)
	}
	// The 15th request waits for its token until (15-5)/5 = 2s, and its
	// answer comes at least 60 ms later.
	if el, least := w.elapsed(), 2*time.Second+requestLatency; el < least {
		t.Errorf("%d requests took %s of simulated time, want at least %s (5 per second past a burst of 5, 60 ms each)", n, el, least)
	}
	if el, most := w.elapsed(), 2*time.Second+n*latency(64<<10); el > most {
		t.Errorf("%d requests took %s of simulated time, want at most %s", n, el, most)
	}
}

// TestSpecExpected checks that every plan server carries the engine's
// expected launch time of the server as the simulator describes it, and
// that Windows servers are expected to take longer.
func TestSpecExpected(t *testing.T) {
	for _, name := range []string{ThreeTier, "scale-60"} {
		c, err := ParseCase(name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := newWorld(t.Context(), c, 1)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]ripcord.SourceServer{}
		for _, rv := range w.sim.State(drssim.StateFilter{}).Regions {
			for _, s := range rv.Servers {
				src := ripcord.SourceServer{OS: s.SourceProperties.Os.FullString}
				for _, d := range s.SourceProperties.Disks {
					src.DiskBytes += d.Bytes
				}
				byID[s.SourceServerID] = src
			}
		}
		w.close()
		windows, linux := 0, 0
		var slowestLinux, fastestWindows time.Duration
		for _, st := range w.spec().Steps {
			for _, s := range st.Servers {
				src := byID[s.ID]
				if want := engine.ExpectedLaunch(src); s.Expected != want || want <= 0 {
					t.Errorf("%s: server %s expected %s, want engine.ExpectedLaunch = %s", name, s.ID, s.Expected, want)
				}
				if src.Windows() {
					windows++
					if fastestWindows == 0 || s.Expected < fastestWindows {
						fastestWindows = s.Expected
					}
				} else {
					linux++
					slowestLinux = max(slowestLinux, s.Expected)
				}
			}
		}
		if windows == 0 || linux == 0 || fastestWindows <= slowestLinux {
			t.Errorf("%s: %d Windows servers (fastest expected %s), %d others (slowest %s); want both, Windows slower",
				name, windows, fastestWindows, linux, slowestLinux)
		}
	}
}

// TestScaleOneTarget runs a small scale case with every server in one
// target: one client, nothing fails, and the bound holds, never below the
// old one.
func TestScaleOneTarget(t *testing.T) {
	c, err := ParseCase("scale-60-one-target")
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWorld(t.Context(), c, 1)
	if err != nil {
		t.Fatal(err)
	}
	targets := len(w.clients)
	w.close()
	if targets != 1 {
		t.Fatalf("%d targets, want 1", targets)
	}
	rows, err := Run(t.Context(), Config{Cases: []Case{c}, Strategies: []string{Ripcord}})
	if err != nil {
		t.Fatal(err)
	}
	rc := rows[0]
	if rc.Case != "scale-60-one-target" || rc.Servers != 60 || rc.Failures != 0 || rc.Ratio < 1 {
		t.Errorf("ripcord: %s, %d servers, %d failures, ratio %.4f (%s); want scale-60-one-target, 60, 0, at least 1",
			rc.Case, rc.Servers, rc.Failures, rc.Ratio, Notes(rc))
	}
	if rc.Detail.OldBoundS > rc.LowerBoundS || rc.Detail.OldBoundS <= 0 {
		t.Errorf("old bound %.3fs, bound %.3fs; want 0 < old <= bound", rc.Detail.OldBoundS, rc.LowerBoundS)
	}
}

// TestHistory runs three-tier with completed jobs of history in its
// target: the simulator holds them, they are not counted as the strategy's
// jobs, and ripcord still launches every server in order.
func TestHistory(t *testing.T) {
	c, err := ParseCase("history-50")
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWorld(t.Context(), c, 1)
	if err != nil {
		t.Fatal(err)
	}
	history := 0
	for _, j := range w.sim.State(drssim.StateFilter{}).Regions[0].Jobs {
		if j.Foreign && j.Created.Before(start) && j.Status == "COMPLETED" {
			history++
		}
	}
	w.close()
	if history != 50 {
		t.Fatalf("the target holds %d completed jobs from before the start, want 50", history)
	}
	rows, err := Run(t.Context(), Config{Cases: []Case{c}, Strategies: []string{Ripcord}})
	if err != nil {
		t.Fatal(err)
	}
	rc := rows[0]
	if rc.Case != "history-50" || rc.Servers != 6 || rc.Failures != 0 || rc.Ratio < 1 || rc.Detail.Outcome != string(ripcord.ExecSucceeded) {
		t.Errorf("ripcord: %s, %d servers, %d failures, ratio %.4f (%s); want history-50, 6, 0, at least 1, succeeded",
			rc.Case, rc.Servers, rc.Failures, rc.Ratio, Notes(rc))
	}
	if rc.Detail.LaunchJobs != 3 {
		t.Errorf("ripcord: %d LAUNCH jobs counted, want its own 3 (history is not the strategy's)", rc.Detail.LaunchJobs)
	}
}
