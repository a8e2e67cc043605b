package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the demonstration at a high time scale and checks, on the
// simulator's own model, that it did what it claims: one LAUNCH job per
// tier, each started only after every server of the previous tier was
// LAUNCHED, the earlier TERMINATE job waited for, and every drill instance
// terminated.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cfg := defaultDemoConfig()
	cfg.virtual = true // the same run every time, whatever the machine's load
	state, err := runDemo(ctx, &out, cfg)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"2 blocked by job drsjob-3f0c2a9b7d1e45a60",
		"step database   succeeded pending 0, in progress 0, launched 2, failed 0",
		"step app        succeeded pending 0, in progress 0, launched 2, failed 0",
		"step web        succeeded pending 0, in progress 0, launched 2, failed 0",
		"cleanup: 6 drill instances terminated and verified gone",
		"RTO measured:",
		"launches DRS refused: 0",
		"SUCCEEDED",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if len(state.Regions) != 1 {
		t.Fatalf("regions: %d", len(state.Regions))
	}
	r := state.Regions[0]
	tiers := map[string]string{}
	for _, s := range r.Servers {
		tiers[s.SourceServerID] = s.Tags["Tier"]
	}
	var launches []int
	var seeded, terminates int
	for i, j := range r.Jobs {
		switch {
		case j.JobID == "drsjob-3f0c2a9b7d1e45a60":
			seeded = i
		case j.Type == "LAUNCH":
			launches = append(launches, i)
		case j.Type == "TERMINATE":
			terminates++
		}
	}
	if len(launches) != 3 || terminates != 1 {
		t.Fatalf("want 3 LAUNCH jobs and 1 cleanup TERMINATE job besides the seeded one, got %d and %d", len(launches), terminates)
	}
	want := []string{"database", "app", "web"}
	prevDone := r.Jobs[seeded].Ended
	for k, i := range launches {
		j := r.Jobs[i]
		if !j.IsDrill || len(j.Servers) != 2 {
			t.Errorf("job %s: drill=%v servers=%d", j.JobID, j.IsDrill, len(j.Servers))
		}
		if j.Created.Before(prevDone) {
			t.Errorf("wave %s job %s created at %s, before the previous wave (or the blocking job) was done at %s",
				want[k], j.JobID, j.Created, prevDone)
		}
		var last time.Time
		for _, s := range j.Servers {
			if tiers[s.SourceServerID] != want[k] {
				t.Errorf("job %s holds %s of tier %s, want tier %s", j.JobID, s.SourceServerID, tiers[s.SourceServerID], want[k])
			}
			if s.LaunchStatus != "LAUNCHED" {
				t.Errorf("job %s server %s: %s", j.JobID, s.SourceServerID, s.LaunchStatus)
			}
			if s.Finished.After(last) {
				last = s.Finished
			}
		}
		prevDone = last
	}
	for _, in := range r.Instances {
		if !in.Deleted || in.Ec2InstanceState != "TERMINATED" {
			t.Errorf("instance %s left behind: deleted=%v state=%s", in.RecoveryInstanceID, in.Deleted, in.Ec2InstanceState)
		}
	}
}
