package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
)

func TestBenchFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown case", []string{"--cases", "four-tier"}, `invalid --cases: unknown case "four-tier"`},
		{"bare number", []string{"--cases", "300"}, `unknown case "300"`},
		{"too few servers", []string{"--cases", "scale-5"}, "from 12 to 20000"},
		{"too few servers in one target", []string{"--cases", "scale-5-one-target"}, "from 12 to 20000"},
		{"unknown suffix", []string{"--cases", "scale-300-two-targets"}, `invalid --cases: invalid case "scale-300-two-targets"`},
		{"no history", []string{"--cases", "history-0"}, "from 1 to 100000"},
		{"history twice", []string{"--cases", "history-20,history-020"}, "named twice"},
		{"case twice", []string{"--cases", "three-tier,three-tier"}, "named twice"},
		{"no cases", []string{"--cases", ""}, "name at least one case"},
		{"unknown strategy", []string{"--strategies", "sleep-and-pray"}, `invalid --strategies: unknown strategy "sleep-and-pray"`},
		{"bad output", []string{"--output", "yaml"}, `invalid --output "yaml": must be text or json`},
		{"negative poll", []string{"--poll", "-1s"}, "invalid --poll -1s"},
		{"min above max", []string{"--poll", "5s", "--min-poll", "10s"}, "must not be longer than --poll 5s"},
		{"negative parallel", []string{"--parallel", "-2"}, "invalid --parallel -2"},
		{"not a duration", []string{"--poll", "soon"}, `invalid argument "soon"`},
		{"argument", []string{"three-tier"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runRipcord(t, "", append([]string{"bench"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if code := exitCode(err); code != 2 {
				t.Errorf("exit status %d, want 2 (invalid usage)", code)
			}
			if ripcord.ErrorCode(err) != ripcord.EINVALID {
				t.Errorf("error code %s, want EINVALID", ripcord.ErrorCode(err))
			}
			if out != "" {
				t.Errorf("printed %q before refusing", out)
			}
		})
	}
}

func TestBenchJSON(t *testing.T) {
	out, _, err := runRipcord(t, "", "bench", "--cases", "three-tier", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("output is not a JSON list: %v\n%s", err, out)
	}
	want := []string{"api_calls_per_server", "case", "failures", "lower_bound_s", "makespan_s", "ratio", "servers", "strategy"}
	var strategies []string
	for i, r := range rows {
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("row %d has fields %v, want exactly %v", i, keys, want)
		}
		var c, s string
		var servers, failures int
		var ratio float64
		for k, v := range map[string]any{"case": &c, "strategy": &s, "servers": &servers, "failures": &failures, "ratio": &ratio} {
			if err := json.Unmarshal(r[k], v); err != nil {
				t.Fatalf("row %d: %s: %v", i, k, err)
			}
		}
		if c != "three-tier" || servers != 6 {
			t.Errorf("row %d: case %q with %d servers, want three-tier with 6", i, c, servers)
		}
		if s == "ripcord" && (failures != 0 || ratio < 1 || ratio > 1.05) {
			t.Errorf("ripcord: %d failures, ratio %v; want 0 and at most 1.05", failures, ratio)
		}
		if s != "ripcord" && failures == 0 {
			t.Errorf("%s: no failures; the strategies of the original incident fail on three-tier", s)
		}
		strategies = append(strategies, s)
	}
	if !slices.Equal(strategies, []string{"ripcord", "naive", "fixed-delay"}) {
		t.Errorf("strategies %v, want ripcord, naive, fixed-delay", strategies)
	}
}

func TestBenchTable(t *testing.T) {
	out, _, err := runRipcord(t, "", "bench", "--cases", "three-tier", "--strategies", "naive")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row, got:\n%s", out)
	}
	for _, col := range []string{"case", "strategy", "makespan_s", "lower_bound_s", "ratio", "api_calls_per_server", "failures"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header lacks %q: %s", col, lines[0])
		}
	}
	if !strings.HasPrefix(lines[1], "three-tier") || !strings.Contains(lines[1], "ConflictException") {
		t.Errorf("row does not show the naive strategy refused with ConflictException: %s", lines[1])
	}
}
