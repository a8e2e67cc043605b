package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/report"
)

// TestReportHooks: a hook step whose DNS hook failed once and then
// succeeded, and a drill-skipped hook, are in the report in every format,
// attempt by attempt.
func TestReportHooks(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	spec := engine.Spec{Plan: "orders", PlanHash: "h", Mode: ripcord.ModeDrill,
		Settings: ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: time.Minute},
		Steps: []engine.SpecStep{
			{Name: "notify", Kind: ripcord.StepHook, Hook: &ripcord.Hook{Name: "ticket", Retries: 1, HTTP: &ripcord.HTTPHook{URL: "https://t.example.com/"}}},
			{Name: "dns", Kind: ripcord.StepHook, After: []string{"notify"}, Hook: &ripcord.Hook{Name: "switch-dns", Modes: []ripcord.Mode{ripcord.ModeRecovery},
				HTTP: &ripcord.HTTPHook{URL: "https://dns.example.com/"}}},
		}}
	var evs []ripcord.Event
	add := func(typ string, data any) {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ripcord.Event{ExecutionID: "x", Seq: int64(len(evs) + 1), Type: typ, Actor: "engine", At: t0.Add(time.Duration(len(evs)) * time.Second), Data: b})
	}
	ticket := engine.HookRef{Step: "notify", Phase: engine.HookOwn, Hook: "ticket"}
	add(engine.EvExecutionStarted, spec)
	add(engine.EvStepStarted, engine.StepStarted{Step: "notify"})
	add(engine.EvHookStarted, engine.HookStarted{HookRef: ticket, Kind: "http", Attempt: 1})
	add(engine.EvHookFailed, engine.HookResult{HookRef: ticket, Attempt: 1, Status: "503", Reason: "answered 503 Service Unavailable, not 2xx"})
	add(engine.EvHookStarted, engine.HookStarted{HookRef: ticket, Kind: "http", Attempt: 2})
	add(engine.EvHookSucceeded, engine.HookResult{HookRef: ticket, Attempt: 2, Status: "201", Output: "created"})
	add(engine.EvStepFinished, engine.StepFinished{Step: "notify", Status: "succeeded"})
	add(engine.EvStepStarted, engine.StepStarted{Step: "dns"})
	add(engine.EvHookSkipped, engine.HookSkippedData{HookRef: engine.HookRef{Step: "dns", Phase: engine.HookOwn, Hook: "switch-dns"}, Reason: "runs only in a recovery, not in a drill"})
	add(engine.EvStepFinished, engine.StepFinished{Step: "dns", Status: "succeeded"})

	r, err := report.FromEvents("x", evs, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hooks) != 3 || r.Hooks[0].Outcome != "failed" || r.Hooks[0].Status != "503" || r.Hooks[1].Outcome != "succeeded" ||
		r.Hooks[1].Attempt != 2 || r.Hooks[2].Outcome != "skipped" || r.Hooks[2].Hook != "switch-dns" {
		t.Fatalf("Hooks = %+v", r.Hooks)
	}
	for format, want := range map[string]string{
		"md":   "| dns | hook | switch-dns | 0 | skipped | - |",
		"html": `<td>switch-dns</td><td>0</td><td>skipped</td>`,
		"json": `"outcome": "skipped"`,
	} {
		var b bytes.Buffer
		if err := r.Render(&b, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "runs only in a recovery, not in a drill") {
			t.Errorf("%s report lacks %q or the skip's reason:\n%s", format, want, b.String())
		}
	}
}
