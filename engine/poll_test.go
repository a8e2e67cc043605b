package engine

import (
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// TestPollingByNeed checks the rule that decides whether a target is
// polled fast: only while something waits on it.
func TestPollingByNeed(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const s1, s2, s3 = "s-00000000000000001", "s-00000000000000002", "s-00000000000000003"
	spec := Spec{Plan: "p", Mode: ripcord.ModeDrill, Steps: []SpecStep{
		{Name: "a", Kind: ripcord.StepLaunch, Servers: []SpecServer{{ID: s1, Target: "t"}, {ID: s2, Target: "t"}}},
		{Name: "b", Kind: ripcord.StepLaunch, Servers: []SpecServer{{ID: s3, Target: "u"}}},
	}}
	ev := func(typ string, data any) ripcord.Event { return newEvent(typ, "engine", t0, data) }
	status := func(srv, instance string) ripcord.Event {
		return ev(EvServerStatus, ServerStatus{Step: "a", Server: srv, Status: srvLaunching, JobID: "drsjob-own", InstanceID: instance})
	}
	base := []ripcord.Event{
		ev(EvExecutionStarted, spec),
		ev(EvStepStarted, StepStarted{Step: "a"}),
		ev(EvStepStarted, StepStarted{Step: "b"}),
		ev(EvLaunchRequested, LaunchRequested{Step: "a", Batch: "b1", Target: "t", Servers: []string{s1, s2}}),
		ev(EvJobCreated, JobCreated{Batch: "b1", JobID: "drsjob-own"}),
	}
	job := func(id string, instances ...string) ripcord.Job {
		j := ripcord.Job{ID: id, Type: ripcord.JobTypeLaunch, Status: ripcord.JobStatusStarted, Created: t0}
		for i, in := range instances {
			j.Servers = append(j.Servers, ripcord.JobServer{SourceServerID: string(rune('a' + i)), RecoveryInstanceID: in, LaunchStatus: ripcord.LaunchStatusInProgress})
		}
		return j
	}
	for _, tc := range []struct {
		name  string
		extra []ripcord.Event
		jobs  map[string][]ripcord.Job // target -> active jobs in the view
		want  map[string]bool
	}{
		{"converting, and a pending server behind a quota full of converting jobs",
			[]ripcord.Event{status(s1, ""), status(s2, "")},
			map[string][]ripcord.Job{"u": {job("drsjob-x", "")}},
			map[string]bool{"t": false, "u": false}},
		{"one of the step's last servers is launching, the other converting",
			[]ripcord.Event{status(s1, "i-1"), status(s2, "")},
			map[string][]ripcord.Job{"u": {job("drsjob-x", "")}},
			map[string]bool{"t": false, "u": false}},
		{"the step's last servers are all launching",
			[]ripcord.Event{status(s1, "i-1"), status(s2, "i-2")},
			map[string][]ripcord.Job{"u": {job("drsjob-x", "")}},
			map[string]bool{"t": true, "u": false}},
		{"a job holding the quota is ending",
			nil,
			map[string][]ripcord.Job{"u": {job("drsjob-x", ""), job("drsjob-y", "i-7", "i-8")}},
			map[string]bool{"t": false, "u": true}},
		{"no active job at all: the pending server is launched now",
			nil, nil,
			map[string]bool{"t": false, "u": true}},
		{"blocked by a converting job",
			[]ripcord.Event{ev(EvServersBlocked, ServersBlocked{Step: "b", Target: "u", Servers: []string{s3}, JobID: "drsjob-x"})},
			map[string][]ripcord.Job{"u": {job("drsjob-x", ""), job("drsjob-y", "i-7")}},
			map[string]bool{"t": false, "u": false}},
		{"blocked by an ending job",
			[]ripcord.Event{ev(EvServersBlocked, ServersBlocked{Step: "b", Target: "u", Servers: []string{s3}, JobID: "drsjob-y"})},
			map[string][]ripcord.Job{"u": {job("drsjob-x", ""), job("drsjob-y", "i-7")}},
			map[string]bool{"t": false, "u": true}},
		{"blocked by a job the view no longer has (it ended)",
			[]ripcord.Event{ev(EvServersBlocked, ServersBlocked{Step: "b", Target: "u", Servers: []string{s3}, JobID: "drsjob-gone"})},
			map[string][]ripcord.Job{"u": {job("drsjob-x", "")}},
			map[string]bool{"t": false, "u": true}},
		{"paused: nothing new is launched",
			[]ripcord.Event{ev(EvExecutionPaused, StepRef{Reason: "a person paused it"})},
			nil,
			map[string]bool{"t": false, "u": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Fold("x", append(append([]ripcord.Event{}, base...), tc.extra...))
			if err != nil {
				t.Fatal(err)
			}
			e := New(Config{Targets: map[string]ripcord.DRS{"t": &listingDRS{}, "u": &listingDRS{}}})
			for target, jobs := range tc.jobs {
				for _, j := range jobs {
					e.noteJob(target, j)
				}
			}
			r := &run{e: e, s: s, jobs: map[string]ripcord.Job{}}
			got := r.needs()
			if len(got) != len(tc.want) || got["t"] != tc.want["t"] || got["u"] != tc.want["u"] {
				t.Errorf("needs %v; want %v", got, tc.want)
			}
		})
	}
}
