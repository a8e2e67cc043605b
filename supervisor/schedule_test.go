package supervisor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/examples"
	"github.com/ripcord-dr/ripcord/notify"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/supervisor"
)

// receiver is a local webhook endpoint: every message it gets, in order.
func receiver(t *testing.T) (url string, got chan notify.Message) {
	t.Helper()
	got = make(chan notify.Message, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("the webhook got %q: %v", body, err)
		}
		got <- m
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook", got
}

// scheduledPlan is the three-tier example with a schedule, a cleanup an
// hour after the drill and a webhook, saved in the world's store at the
// clock's now.
func (w *world) scheduledPlan(schedule, tz, hook string) *ripcord.PlanFile {
	w.t.Helper()
	return w.scheduledPlanFrom(string(examples.ThreeTier), schedule, tz, hook)
}

// scheduledPlanFrom is scheduledPlan of the three-tier plan file src.
func (w *world) scheduledPlanFrom(src, schedule, tz, hook string) *ripcord.PlanFile {
	w.t.Helper()
	extra := "    schedule: \"" + schedule + "\"\n    timeZone: " + tz + "\n    cleanupAfter: 1h\n" +
		"    notify:\n      - webhook: " + hook + "\n"
	src = strings.Replace(src, "    failurePolicy: stop\n", "    failurePolicy: stop\n"+extra, 1)
	f, err := plan.Decode("scheduled.yaml", []byte(src))
	if err != nil {
		w.t.Fatal(err)
	}
	one, err := f.Extract("orders")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.store.SavePlanVersion(context.Background(), ripcord.PlanVersion{Hash: one.Hash(), Name: "orders", Source: []byte(src),
		Created: ripcord.StoreTime(w.clock.Now())}); err != nil {
		w.t.Fatal(err)
	}
	return f
}

// TestScheduledDrill: a plan scheduled daily at 04:00 in Paris (03:00
// UTC in winter) is not run before its first slot; at the slot, a look at
// the schedules starts its drill, which runs, is cleaned up an hour after
// it ends, and tells a local webhook it started, finished and was cleaned
// up. A second look starts nothing. Then every replica stops; three slots
// pass; a new supervisor's start-up look runs the drill once, for the
// latest slot, and a second replica looking at the same moment starts
// nothing more.
func TestScheduledDrill(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	hook, got := receiver(t)
	w.scheduledPlan("0 4 * * *", "Europe/Paris", hook)

	// The dispatcher of notifications, as serve runs it.
	d, err := notify.New(notify.Config{Store: w.store, Holder: "replica-1", Clock: w.clock, Since: t0.Add(-time.Hour), Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	dctx, stopD := context.WithCancel(context.Background())
	dDone := make(chan struct{})
	go func() { defer close(dDone); _ = d.Run(dctx) }()
	t.Cleanup(func() { stopD(); <-dDone })

	w.run()
	ctx := t.Context()
	if runs, err := w.sup.RunSchedules(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("before the first slot: %+v, %v; want nothing started", runs, err)
	}
	slot := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	w.clock.Set(slot.Add(-time.Second))
	if runs, err := w.sup.RunSchedules(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("a second before the slot: %+v, %v; want nothing started", runs, err)
	}
	w.clock.Set(slot)
	runs, err := w.sup.RunSchedules(ctx)
	if err != nil || len(runs) != 1 || runs[0].Err != nil || !runs[0].Slot.Equal(slot) || runs[0].ID != supervisor.ScheduledID("orders", slot) {
		t.Fatalf("at the slot: %+v, %v; want the drill of %v started", runs, err, slot)
	}
	id := runs[0].ID
	if again, err := w.sup.RunSchedules(ctx); err != nil || len(again) != 0 {
		t.Fatalf("a second look at the same slot: %+v, %v; want nothing more", again, err)
	}

	// The drill runs, ends, and is cleaned up an hour later: the driver
	// sleeps on the simulator's clock.
	var s stop
	for s = <-w.stopped; s.id != id; s = <-w.stopped {
	}
	if s.err != nil || s.s == nil || s.s.State != ripcord.ExecSucceeded || !s.s.Cleanup.Done {
		t.Fatalf("the scheduled drill stopped with %v, state %+v; want succeeded and cleaned up", s.err, s.s)
	}
	x, err := w.store.Execution(ctx, id)
	if err != nil || x.Mode != ripcord.ModeDrill || !strings.Contains(x.Actor, `schedule "0 4 * * *" (Europe/Paris)`) {
		t.Fatalf("the execution: %+v, %v; want a drill started by the schedule", x, err)
	}
	evs, err := w.store.Events(ctx, id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ended, cleaned time.Time
	for _, ev := range evs {
		switch ev.Type {
		case engine.EvExecutionFinished:
			ended = ev.At
		case engine.EvCleanupFinished:
			cleaned = ev.At
		}
	}
	if ended.IsZero() || cleaned.Sub(ended) < time.Hour {
		t.Errorf("ended %v, cleaned up %v; want the cleanup an hour or more after the end (cleanupAfter: 1h)", ended, cleaned)
	}

	// The webhook hears it started, finished and was cleaned up.
	kinds := map[string]notify.Message{}
	for len(kinds) < 3 {
		m := <-got
		if m.ExecutionID != id {
			t.Fatalf("a notification about %q; want only %s", m.ExecutionID, id)
		}
		if _, dup := kinds[m.Kind]; dup {
			t.Fatalf("notified %s twice", m.Kind)
		}
		kinds[m.Kind] = m
	}
	if kinds[ripcord.NotifyFinished].Verdict != string(ripcord.ExecSucceeded) || kinds[ripcord.NotifyCleanup].Verdict != "done" {
		t.Errorf("notifications %+v; want started, finished (succeeded) and cleanup (done)", kinds)
	}
	if _, ok := kinds[ripcord.NotifyStarted]; !ok {
		t.Errorf("no started notification in %+v", kinds)
	}

	// Down for three days: the slots of the 27th, 28th and 29th pass.
	// A new serve looks at the schedules as it starts.
	w.shutdown()
	w.clock.Set(time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC))
	started := make(chan supervisor.ScheduledRun, 8)
	scheduling := func(c *supervisor.Config) {
		c.Schedules = time.Minute // the scan clock never ends a sleep: the start-up look only
		c.OnSchedule = func(r supervisor.ScheduledRun) { started <- r }
	}
	w.sup = w.newSupervisorWith(scheduling)
	w.run()
	latest := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	if r := <-started; r.Err != nil || !r.Slot.Equal(latest) || r.ID != supervisor.ScheduledID("orders", latest) {
		t.Fatalf("after three missed slots, at start-up: %+v; want one drill, for the latest slot %v", r, latest)
	}
	if more, err := w.newSupervisorWith(scheduling).RunSchedules(ctx); err != nil || len(more) != 0 {
		t.Fatalf("a second replica at the same moment: %+v, %v; want nothing more", more, err)
	}
	list, err := w.store.ListExecutions(ctx, ripcord.ExecutionFilter{PlanName: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("%d executions of the plan; want 2 (one per run of the scheduler, none per missed slot)", len(list))
	}
}

// TestScheduledDrillThatCannotStart: a plan whose target names the wrong
// account (credentials mixed up) is scheduled daily. At the slot its drill
// cannot start: the look returns the failure with the reason, and
// OnSchedule (which serve turns into a notification) hears of it once,
// not at every look; nothing is recorded for the slot. The next day's slot
// fails again and is told again.
func TestScheduledDrillThatCannotStart(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	hook, _ := receiver(t)
	w.scheduledPlanFrom(strings.Replace(string(examples.ThreeTier), `account: "111122223333"`, `account: "999999999999"`, 1), "0 4 * * *", "UTC", hook)
	told := make(chan supervisor.ScheduledRun, 8)
	w.sup = w.newSupervisorWith(func(c *supervisor.Config) { c.OnSchedule = func(r supervisor.ScheduledRun) { told <- r } })
	ctx := t.Context()
	slot := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	w.clock.Set(slot.Add(time.Minute))
	for look := range 3 {
		runs, err := w.sup.RunSchedules(ctx)
		if err != nil || len(runs) != 1 || runs[0].Err == nil || runs[0].ID != supervisor.ScheduledID("orders", slot) {
			t.Fatalf("look %d: %+v, %v; want the slot's drill refused", look, runs, err)
		}
		t.Logf("look %d: %v", look, runs[0].Err)
		if !strings.Contains(runs[0].Err.Error(), "999999999999") {
			t.Errorf("look %d: the refusal %q does not name the plan's account", look, runs[0].Err)
		}
	}
	if n := len(told); n != 1 {
		t.Errorf("OnSchedule heard of the failure %d times in three looks; want once", n)
	}
	if _, err := w.store.Execution(ctx, supervisor.ScheduledID("orders", slot)); ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		t.Errorf("the refused slot left an execution: %v", err)
	}
	w.clock.Set(slot.Add(24*time.Hour + time.Minute))
	if _, err := w.sup.RunSchedules(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(told); n != 2 {
		t.Fatalf("after the next day's slot OnSchedule heard %d failures; want 2", n)
	}
	<-told
	if r := <-told; r.Err == nil || r.ID != supervisor.ScheduledID("orders", slot.Add(24*time.Hour)) {
		t.Errorf("the next day: %+v; want its slot refused", r)
	}
}

// stopAtLook is a store whose Execution stops the look that asks it (a
// serve shutting down in the middle of a look at the schedules).
type stopAtLook struct {
	ripcord.Store
	stop context.CancelFunc
}

func (s stopAtLook) Execution(ctx context.Context, id string) (ripcord.Execution, error) {
	s.stop()
	return s.Store.Execution(ctx, id)
}

// TestScheduleStopIsNotAFailure: a look at the schedules cut short by a
// stop tells OnSchedule nothing (serve would notify that the drill could
// not start); the slot is started by the next look.
func TestScheduleStopIsNotAFailure(t *testing.T) {
	w := newWorld(t, engine.Hooks{})
	hook, _ := receiver(t)
	w.scheduledPlan("0 4 * * *", "UTC", hook)
	ctx, cancel := context.WithCancel(t.Context())
	told := make(chan supervisor.ScheduledRun, 8)
	w.sup = w.newSupervisorWith(func(c *supervisor.Config) {
		c.Store = stopAtLook{Store: w.store, stop: cancel}
		c.OnSchedule = func(r supervisor.ScheduledRun) { told <- r }
	})
	w.clock.Set(time.Date(2026, 11, 26, 4, 1, 0, 0, time.UTC))
	_, _ = w.sup.RunSchedules(ctx)
	if len(told) != 0 {
		t.Errorf("OnSchedule heard %+v from a look cut short by a stop; want nothing", <-told)
	}
}
