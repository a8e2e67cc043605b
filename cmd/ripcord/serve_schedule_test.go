package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/examples"
	"github.com/ripcord-dr/ripcord/notify"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// TestServeNotifiesAScheduledDrillThatCannotStart: a plan scheduled every
// five minutes, saved an hour ago, whose target names the wrong account.
// serve's first look at the schedules owes its latest slot; the drill
// cannot start, and the plan's webhook hears so (a finished notification
// with the verdict "not started", the reason and the plan's page), rather
// than the failure going only to the log.
func TestServeNotifiesAScheduledDrillThatCannotStart(t *testing.T) {
	c := newCLIEnv(t)
	hook, got := waitingHook(t)
	src := strings.Replace(string(examples.ThreeTier), `account: "111122223333"`, `account: "999999999999"`, 1)
	src = strings.Replace(src, "    failurePolicy: stop\n", "    failurePolicy: stop\n    schedule: \"*/5 * * * *\"\n"+
		"    notify:\n      - webhook: "+hook.URL+"\n        events: [finished]\n", 1)
	f, err := plan.Decode("orders.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	one, err := f.Extract("orders")
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.Context(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	err = store.SavePlanVersion(t.Context(), ripcord.PlanVersion{Hash: one.Hash(), Name: "orders", Source: []byte(src),
		Created: ripcord.StoreTime(time.Now().Add(-time.Hour))})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}

	startServe(t, c, func(cfg *serveConfig) {
		cfg.PublicURL, cfg.ScheduleInterval = "https://dr.example.com", time.Hour // the start-up look only
	})
	ctx := boundedContext(t)
	var m notify.Message
	select {
	case m = <-got:
	case <-ctx.Done():
		t.Fatal("no notification of the scheduled drill that could not start")
	}
	t.Logf("%s: %s", m.Title(), m.Reason)
	if m.Kind != ripcord.NotifyFinished || m.Verdict != notify.VerdictNotStarted || m.Plan != "orders" ||
		!strings.HasPrefix(m.ExecutionID, "orders-scheduled-") || m.URL != "https://dr.example.com/console/plans/orders" {
		t.Errorf("the notification %+v: want finished, not started, of plan orders's slot, linking the plan's page", m)
	}
	if !strings.Contains(m.Reason, "could not start") || !strings.Contains(m.Reason, "999999999999") {
		t.Errorf("the notification's reason %q does not say the drill could not start and why", m.Reason)
	}
	if !strings.Contains(m.Title(), "scheduled drill of orders") {
		t.Errorf("the title %q", m.Title())
	}
}
