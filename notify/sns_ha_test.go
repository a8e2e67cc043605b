package notify_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/notify"
	"github.com/ripcord-dr/ripcord/postgres"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// snsVia is how cmd/ripcord builds a target's SNS sender: the target's
// AWS configuration (drs.LoadAWSConfig) at its endpoint.
func snsVia(key string) func(ctx context.Context, t ripcord.Target, arn string) (notify.Sender, error) {
	return func(ctx context.Context, t ripcord.Target, arn string) (notify.Sender, error) {
		cfg, err := drs.LoadAWSConfig(ctx, drs.Config{Region: t.Region, Credentials: credentials.NewStaticCredentialsProvider(key, "secret", "")})
		if err != nil {
			return nil, err
		}
		return notify.NewSNS(cfg, arn, t.Endpoint), nil
	}
}

// TestSNSDelivery: a drill's notifications published to an SNS topic of
// the simulator with the target's credentials, as the simulator recorded
// them (/_sim/state); a topic the simulator does not have fails at once
// (NotFound is permanent), and the drill succeeds anyway.
func TestSNSDelivery(t *testing.T) {
	e := newEnv(t)
	const topic = "arn:aws:sns:us-east-1:111122223333:dr-alerts"
	e.drill("exec-s", ripcord.FailureStop,
		ripcord.Notification{SNS: topic, Target: "prod", Events: []string{ripcord.NotifyStarted, ripcord.NotifyFinished}},
		ripcord.Notification{SNS: "arn:aws:sns:us-east-1:111122223333:gone", Events: []string{ripcord.NotifyStarted}})
	ended := e.dispatch("replica-a", e.store, &sleeps{now: t0}, func(c *notify.Config) { c.SNS = snsVia("AKIDTEST") })
	if s := e.run("exec-s"); s.State != ripcord.ExecSucceeded {
		t.Fatalf("execution %s, want succeeded", s.State)
	}
	byDest := map[string][]ripcord.Delivery{}
	for _, d := range await(t, ended, 3) {
		byDest[d.Destination] = append(byDest[d.Destination], d)
	}
	for _, d := range byDest["sns:"+topic] {
		if d.Status != ripcord.DeliverySent || d.Attempts != 1 {
			t.Errorf("delivery to the topic %+v, want sent", d)
		}
	}
	if gone := byDest["sns:arn:aws:sns:us-east-1:111122223333:gone"]; len(gone) != 1 || gone[0].Status != ripcord.DeliveryFailed ||
		gone[0].Attempts != 1 || gone[0].LastError == "" {
		t.Errorf("delivery to a missing topic %+v, want failed once with NotFound", gone)
	}
	published := e.sim.State(drssim.StateFilter{}).SNS
	kinds := map[string]bool{}
	for _, p := range published {
		var m notify.Message
		if err := json.Unmarshal([]byte(p.Message), &m); err != nil {
			t.Fatalf("published message %q: %v", p.Message, err)
		}
		if p.TopicARN != topic || m.ExecutionID != "exec-s" || p.Subject != m.Title() || p.Caller != "arn:aws:iam::111122223333:user/AKIDTEST" {
			t.Errorf("published %+v", p)
		}
		kinds[m.Kind] = true
	}
	if len(published) != 2 || !kinds[ripcord.NotifyStarted] || !kinds[ripcord.NotifyFinished] {
		t.Fatalf("simulator's SNS got %+v, want started and finished", published)
	}
}

// TestTwoDispatchersOnePostgres: two replicas' dispatchers, each with its
// own connection to one PostgreSQL store, follow the same drill: each
// notification reaches the receiver exactly once.
func TestTwoDispatchersOnePostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	var second ripcord.Store
	e := newEnvOn(t, func(now func() time.Time) ripcord.Store {
		open := func() ripcord.Store {
			st, err := postgres.Open(context.Background(), dsn, postgres.WithClock(now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		first := open()
		second = open()
		return first
	})
	hook := newReceiver(t, nil)
	e.drill("exec-ha", ripcord.FailureStop, ripcord.Notification{Webhook: hook.URL})
	endedA := e.dispatch("replica-a", e.store, &sleeps{now: t0}, nil)
	endedB := e.dispatch("replica-b", second, &sleeps{now: t0}, nil)
	if s := e.run("exec-ha"); s.State != ripcord.ExecSucceeded {
		t.Fatalf("execution %s, want succeeded", s.State)
	}
	// started and finished, each sent by one of the two.
	merged := make(chan ripcord.Delivery, 10)
	go func() {
		for {
			select {
			case <-t.Context().Done():
				return
			case d := <-endedA:
				merged <- d
			case d := <-endedB:
				merged <- d
			}
		}
	}()
	got := await(t, merged, 2)
	holders := map[string]int{}
	for _, d := range got {
		holders[d.Holder]++
	}
	list, err := e.store.ListDeliveries(context.Background(), "exec-ha")
	if err != nil || len(list) != 2 {
		t.Fatalf("deliveries %+v, %v; want 2", list, err)
	}
	if n := len(hook.received()); n != 2 {
		t.Fatalf("receiver got %d messages, want 2 (started, finished), each once", n)
	}
	t.Logf("senders: %v", holders)
}
