package notify_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/notify"
	"github.com/ripcord-dr/ripcord/sqlite"
)

// TestReadinessOncePerBadState: two replicas' dispatchers on one store
// are told of the same blocking findings moments apart: the webhook gets
// one notification, with the blocking findings only. Warnings alone send
// nothing; the same bad state the next day, or another bad state, is
// notified again.
func TestReadinessOncePerBadState(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ripcord.db"), sqlite.WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rcv := newReceiver(t, nil)
	ended := make(chan ripcord.Delivery, 16)
	ctx := t.Context()
	var ds []*notify.Dispatcher
	for _, holder := range []string{"replica-1", "replica-2"} {
		d, err := notify.New(notify.Config{Store: store, Holder: holder, Clock: &sleeps{now: t0}, Since: t0, Poll: time.Hour,
			Recorded: func(d ripcord.Delivery) { ended <- d }})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	p := ripcord.Plan{Name: "orders", Settings: ripcord.Settings{Notify: []ripcord.Notification{{Webhook: rcv.URL + "/hook"}}}}
	lag := ripcord.Finding{Severity: ripcord.SeverityBlocking, Check: "replication-lag", Resource: ripcord.Resource{Target: "dr", ServerID: db1},
		Message: "lags 2h behind", Remedy: "look at the replication server"}
	held := ripcord.Finding{Severity: ripcord.SeverityWarning, Check: "held-by-job", Resource: ripcord.Resource{Target: "dr", ServerID: web1},
		Message: "held by a job", Remedy: "wait"}

	ds[0].NotifyReadiness(ctx, p, nil, []ripcord.Finding{held}, t0) // warnings only
	ds[0].NotifyReadiness(ctx, p, nil, []ripcord.Finding{lag, held}, t0)
	ds[1].NotifyReadiness(ctx, p, nil, []ripcord.Finding{held, lag}, t0.Add(5*time.Minute))
	first := await(t, ended, 1)[0]
	if first.Status != ripcord.DeliverySent {
		t.Fatalf("the delivery: %+v; want sent", first)
	}
	// The other replica's claim of the same state is refused; nothing more
	// ends. The next day, and another bad state, notify again.
	ds[1].NotifyReadiness(ctx, p, nil, []ripcord.Finding{lag}, t0.Add(24*time.Hour))
	other := lag
	other.Resource.ServerID = app1
	ds[0].NotifyReadiness(ctx, p, nil, []ripcord.Finding{lag, other}, t0.Add(6*time.Minute))
	await(t, ended, 2)
	bodies := rcv.received()
	if len(bodies) != 3 {
		t.Fatalf("the webhook got %d notifications; want 3 (one per bad state and day)", len(bodies))
	}
	var m notify.Message
	if err := json.Unmarshal(bodies[0], &m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != ripcord.NotifyReadiness || m.Verdict != "bad" || m.Plan != "orders" || len(m.Findings) != 1 ||
		m.Findings[0].Severity != "blocking" || m.Findings[0].Resource != "dr/"+db1 || m.Findings[0].Remedy == "" {
		t.Errorf("the first notification: %+v; want readiness bad with the one blocking finding", m)
	}
}
