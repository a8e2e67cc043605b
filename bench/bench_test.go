package bench

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
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
	if _, err := ParseCases([]string{"scale-300", "scale-0300"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a case named twice: %v, want an error", err)
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
