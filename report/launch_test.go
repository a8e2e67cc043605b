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

// overrideLog is the start of an execution whose plan has launch overrides
// for two servers, one of which DRS already launched as the plan says.
func overrideLog(t *testing.T, launch map[string]ripcord.LaunchOverrides) []ripcord.Event {
	t.Helper()
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	spec := engine.Spec{Plan: "orders", PlanHash: "h", Mode: ripcord.ModeDrill,
		Settings: ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: time.Minute},
		Steps: []engine.SpecStep{{Name: "db", Kind: ripcord.StepLaunch, Servers: []engine.SpecServer{
			{ID: "s-00000000000000001", Target: "prod"}, {ID: "s-00000000000000002", Target: "prod"}}}},
		Launch: launch}
	var evs []ripcord.Event
	add := func(typ string, data any) {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ripcord.Event{ExecutionID: "x", Seq: int64(len(evs) + 1), Type: typ, Actor: "ana", At: t0.Add(time.Duration(len(evs)) * time.Second), Data: b})
	}
	add(engine.EvExecutionStarted, spec)
	if len(launch) == 0 {
		return evs
	}
	ch := []ripcord.LaunchChange{{Field: ripcord.FieldCopyTags, From: "false", To: "true"}, {Field: ripcord.FieldRightSizing, From: "BASIC", To: "NONE"}}
	add(engine.EvLaunchConfigsCompared, engine.LaunchConfigsCompared{Servers: []engine.LaunchDiff{
		{Target: "prod", Server: "s-00000000000000001", Changes: ch}, {Target: "prod", Server: "s-00000000000000002"}}})
	add(engine.EvLaunchConfigUpdating, engine.LaunchConfigUpdating{Target: "prod", Server: "s-00000000000000001", Changes: ch})
	add(engine.EvLaunchConfigUpdated, engine.LaunchConfigUpdated{Target: "prod", Server: "s-00000000000000001", Changes: ch})
	return evs
}

// TestReportLaunchChanges: the report lists each changed field once, with
// when, from and to, in every format; a plan without launch overrides has
// no such section.
func TestReportLaunchChanges(t *testing.T) {
	yes := true
	launch := map[string]ripcord.LaunchOverrides{
		"prod/s-00000000000000001": {RightSizing: "NONE", CopyTags: &yes},
		"prod/s-00000000000000002": {CopyTags: &yes},
	}
	r, err := report.FromEvents("x", overrideLog(t, launch), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.LaunchChanges) != 2 || r.LaunchChanges[0].Field != ripcord.FieldCopyTags || r.LaunchChanges[1].To != "NONE" ||
		r.LaunchChanges[0].Server != "s-00000000000000001" || !r.LaunchChanges[0].At.Equal(time.Date(2026, 11, 25, 9, 0, 3, 0, time.UTC)) {
		t.Errorf("LaunchChanges = %+v", r.LaunchChanges)
	}
	for format, want := range map[string]string{
		"md":   "| s-00000000000000001 | prod | targetInstanceTypeRightSizingMethod | BASIC | NONE |",
		"html": `<td class="mono">targetInstanceTypeRightSizingMethod</td><td>BASIC</td><td>NONE</td>`,
		"json": `"launchChanges": [`,
	} {
		var b bytes.Buffer
		if err := r.Render(&b, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) || !strings.Contains(strings.ToLower(b.String()), "launch") {
			t.Errorf("%s report lacks %q:\n%s", format, want, b.String())
		}
	}

	plain, err := report.FromEvents("x", overrideLog(t, nil), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"md", "html", "json"} {
		var b bytes.Buffer
		if err := plain.Render(&b, format); err != nil {
			t.Fatal(err)
		}
		if s := b.String(); strings.Contains(s, "Launch configuration changes") || strings.Contains(s, "launchChanges") {
			t.Errorf("%s report of a plan without overrides has a launch section", format)
		}
	}
}
