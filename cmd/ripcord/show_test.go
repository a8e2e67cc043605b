package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// TestExecShowTimeline runs a drill whose first launch of one server fails
// (the simulator's fault injection), pauses under the plan's pause policy,
// is retried and resumed by a person, and cleaned up; then checks that
// `exec show` gives every event of the log with its actor and a sentence,
// every launch attempt with the jobs and instances the simulator's own
// model holds, and a DRS call count equal to the simulator's request count.
func TestExecShowTimeline(t *testing.T) {
	c := newAuditEnv(t)
	planFile := auditPlan(t, "pause")
	failNextLaunch(t, c, auditDB1)
	const id = "audit-1"

	// The simulator's requests during each command that drives the
	// execution: run (epoch 1), exec resume (2), cleanup (3).
	var driven []int64
	before := simRequests(c)
	out, errOut := exits(t, c, exitPaused, true, "run", "-f", planFile, "--drill", "--id", id)
	for _, want := range []string{"execution paused:", "remedy: ", "ripcord exec retry " + id + " database"} {
		if !strings.Contains(out+errOut, want) {
			t.Errorf("run of a paused drill does not say %q:\nstdout:\n%s\nstderr:\n%s", want, out, errOut)
		}
	}
	driven = append(driven, simRequests(c)-before)
	exits(t, c, 0, true, "exec", "retry", id, "database")
	for _, cmd := range [][]string{{"exec", "resume", id}, {"cleanup", id}} {
		before := simRequests(c)
		exits(t, c, 0, true, cmd...)
		driven = append(driven, simRequests(c)-before)
	}
	// The first driver counts the requests run made before the execution
	// existed too (resolving the plan's groups, looking for another
	// execution of the plan): every request is in the count.
	var requests int64
	for _, n := range driven {
		requests += n
	}

	out, _ = exits(t, c, 0, true, "exec", "show", id, "--output", "json")
	var show execShow
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatalf("exec show --output json: %v\n%s", err, out)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"execution", "events", "steps", "summary"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("exec show JSON lacks %q", k)
		}
	}

	// Every event of the log, in order, with its actor and a sentence.
	store, err := sqlite.Open(t.Context(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logged, err := store.Events(t.Context(), id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(show.Events) != len(logged) {
		t.Fatalf("exec show has %d events, the log %d", len(show.Events), len(logged))
	}
	types := map[string]int{}
	for i, ev := range logged {
		got := show.Events[i]
		types[ev.Type]++
		var data bytes.Buffer
		if err := json.Compact(&data, got.Data); err != nil {
			t.Errorf("event %d: data %s: %v", ev.Seq, got.Data, err)
		}
		if got.Seq != ev.Seq || got.Type != ev.Type || got.Actor != ev.Actor || !got.At.Equal(ev.At) || data.String() != string(ev.Data) {
			t.Errorf("event %d: exec show has {%d %s %s %s %s}, the log {%d %s %s %s %s}", i, got.Seq, got.Type, got.Actor, got.At, got.Data,
				ev.Seq, ev.Type, ev.Actor, ev.At, ev.Data)
		}
		if got.Actor == "" || got.Text == "" || strings.Contains(got.Text, "does not decode") || strings.Contains(got.Text, "does not describe") {
			t.Errorf("event %d (%s): actor %q, text %q", ev.Seq, ev.Type, got.Actor, got.Text)
		}
		if got.OffsetS != ev.At.Sub(show.Execution.Started).Seconds() {
			t.Errorf("event %d: offset %v s, want %v", ev.Seq, got.OffsetS, ev.At.Sub(show.Execution.Started).Seconds())
		}
	}
	for _, typ := range []string{engine.EvExecutionStarted, engine.EvLaunchRequested, engine.EvJobCreated, engine.EvServerStatus,
		engine.EvStepFinished, engine.EvExecutionPaused, engine.EvRetryRequested, engine.EvCleanupRequested,
		engine.EvTerminateRequested, engine.EvTerminateJob, engine.EvCleanupFinished, engine.EvExecutionFinished} {
		if types[typ] == 0 {
			t.Errorf("the timeline has no %s event", typ)
		}
	}
	// run, exec resume and cleanup each drove the execution once.
	if types[engine.EvDriverStarted] != 3 || types[engine.EvDriverStopped] != 3 {
		t.Errorf("%d DriverStarted and %d DriverStopped events, want 3 of each (run, exec resume, cleanup)",
			types[engine.EvDriverStarted], types[engine.EvDriverStopped])
	}
	for _, ev := range show.Events {
		switch ev.Type {
		case engine.EvRetryRequested:
			if ev.Actor != actor() || !strings.Contains(ev.Text, "retry of step database requested by "+actor()) {
				t.Errorf("retry event: actor %q, text %q; want the person, %s", ev.Actor, ev.Text, actor())
			}
		case engine.EvDriverStopped:
			var d struct {
				Epoch    int64 `json:"epoch"`
				DRSCalls int64 `json:"drsCalls"`
			}
			if err := json.Unmarshal(ev.Data, &d); err != nil || d.Epoch < 1 || d.Epoch > int64(len(driven)) {
				t.Errorf("DriverStopped %s: %v", ev.Data, err)
				break
			}
			if d.DRSCalls != driven[d.Epoch-1] {
				t.Errorf("driver of epoch %d recorded %d DRS calls; the simulator answered %d requests while it drove", d.Epoch, d.DRSCalls, driven[d.Epoch-1])
			}
			if want := fmt.Sprintf("it made %d DRS calls", d.DRSCalls); !strings.Contains(ev.Text, want) {
				t.Errorf("DriverStopped text %q lacks %q", ev.Text, want)
			}
		case engine.EvDriverStarted:
			if !strings.Contains(ev.Text, "pid ") || !strings.Contains(ev.Text, "holds the lease (epoch ") {
				t.Errorf("driver event without its owner and epoch: %q", ev.Text)
			}
		}
	}

	// Every attempt of every server, as the simulator's model has it.
	model := c.sim.State(drssim.StateFilter{})
	jobs := map[string]drssim.JobView{}
	for _, r := range model.Regions {
		for _, j := range r.Jobs {
			jobs[j.JobID] = j
		}
	}
	attempts := map[string][]attemptAudit{}
	for _, st := range show.Steps {
		for _, sv := range st.Servers {
			attempts[sv.ID] = sv.Attempts
			last := sv.Attempts[len(sv.Attempts)-1]
			if sv.Status != "LAUNCHED" || sv.JobID != last.JobID || sv.InstanceID == "" || sv.InstanceID != last.InstanceID {
				t.Errorf("server %s: %s job %s instance %s; its last attempt: %+v", sv.ID, sv.Status, sv.JobID, sv.InstanceID, last)
			}
			for _, a := range sv.Attempts {
				j, ok := jobs[a.JobID]
				if !ok {
					t.Errorf("server %s attempt %d names job %q, which the simulator never created", sv.ID, a.N, a.JobID)
					continue
				}
				in := slices.IndexFunc(j.Servers, func(s drssim.ServerTimeline) bool { return s.SourceServerID == sv.ID })
				if in < 0 {
					t.Errorf("server %s attempt %d: job %s does not hold the server in the simulator", sv.ID, a.N, a.JobID)
					continue
				}
				if js := j.Servers[in]; js.LaunchStatus != a.Status || js.RecoveryInstanceID != a.InstanceID {
					t.Errorf("server %s attempt %d: %s instance %q; the simulator's job %s says %s instance %q",
						sv.ID, a.N, a.Status, a.InstanceID, a.JobID, js.LaunchStatus, js.RecoveryInstanceID)
				}
			}
		}
	}
	db1 := attempts[auditDB1]
	if len(db1) != 2 || db1[0].Status != "FAILED" || !strings.Contains(db1[0].Reason, "insufficient capacity") || db1[0].InstanceID == "" ||
		db1[1].Status != "LAUNCHED" || db1[0].JobID == db1[1].JobID || db1[1].Launched.IsZero() {
		t.Fatalf("server %s: want a FAILED attempt (with the injected reason and the instance DRS started), then a LAUNCHED one in another job; got %+v", auditDB1, db1)
	}
	for _, id := range []string{auditDB2, auditApp1, auditApp2} {
		if len(attempts[id]) != 1 {
			t.Errorf("server %s: %d attempts, want 1: %+v", id, len(attempts[id]), attempts[id])
		}
	}

	// The outcome, and the DRS calls of every driver: the simulator's count.
	sum := show.Summary
	if sum.State != "succeeded" || sum.Verdict != engine.VerdictSucceeded || sum.Servers != 4 || sum.Launched != 4 ||
		sum.Cleanup != "done" || !sum.CleanupDone || sum.Drivers != 3 {
		t.Errorf("summary: %+v", sum)
	}
	// The failed launch's instance was replaced by the second drill of the
	// server (DRS terminates a server's previous drill instance): the
	// cleanup found it gone; the four launched instances it terminated.
	if sum.CleanupInstance != 4 || !slices.Equal(sum.CleanupAlreadyGone, []string{db1[0].InstanceID}) || len(sum.CleanupNotOurs) != 0 {
		t.Errorf("cleanup: %d terminated, already gone %v, not ours %v; want 4, [%s], none",
			sum.CleanupInstance, sum.CleanupAlreadyGone, sum.CleanupNotOurs, db1[0].InstanceID)
	}
	if sum.APICalls != requests {
		t.Errorf("exec show counts %d DRS calls; the simulator answered %d requests while the execution was driven (%v in all)",
			sum.APICalls, requests, c.sim.OperationCounts())
	}

	// The text timeline says the same.
	text, _ := exits(t, c, 0, true, "exec", "show", id)
	for _, ev := range show.Events {
		line := fmt.Sprintf("%4d  %s  %-9s  ", ev.Seq, utc(ev.At), offset(ev.At.Sub(show.Execution.Started)))
		i := strings.Index(text, line)
		if i < 0 {
			t.Errorf("text timeline lacks event %d (%s) at %s", ev.Seq, ev.Type, utc(ev.At))
			continue
		}
		rest, _, _ := strings.Cut(text[i+len(line):], "\n")
		if !strings.HasPrefix(rest, ev.Actor+" ") || !strings.HasSuffix(rest, " "+ev.Text) {
			t.Errorf("event %d line %q lacks actor %q or text %q", ev.Seq, line+rest, ev.Actor, ev.Text)
		}
	}
	for _, want := range []string{
		"Execution " + id + ": plan audit (drill), SUCCEEDED",
		fmt.Sprintf("attempt 1: batch %s, job %s, instance %s, requested", db1[0].Batch, db1[0].JobID, db1[0].InstanceID),
		"FAILED: LAUNCH_FAILED in job " + db1[0].JobID + ": insufficient capacity for the instance type",
		fmt.Sprintf("attempt 2: batch %s, job %s, instance %s", db1[1].Batch, db1[1].JobID, db1[1].InstanceID),
		fmt.Sprintf("DRS API calls: %d (3 drivers)", requests),
		"4 of 4 servers launched",
		"cleanup: 4 drill instances terminated and verified gone",
		"already gone before the cleanup reached them (counted as cleaned up): " + db1[0].InstanceID,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exec show lacks %q:\n%s", want, text)
		}
	}
}
