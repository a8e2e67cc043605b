package notify_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drssim"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/notify"
)

// approvingClock is the simulator's clock whose Sleep, once the approval
// step waits, approves it through the engine (as a person would, between
// two passes of the driver).
type approvingClock struct {
	*drssim.ManualClock
	approve func()
}

func (c approvingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.approve()
	return c.ManualClock.Sleep(ctx, d)
}

// TestApprovalWaitingNotification: a real drill (simulator over HTTP, the
// DRS adapter, SQLite) of database, an approval step and web. The approval
// step's request reaches a JSON webhook and a Slack webhook as a waiting
// notification naming the step, the approval's message and who may
// decide, with approve and reject links under the public URL that carry a
// token signed with the store's server secret naming this execution, step
// and request seq. Nothing else is a waiting notification.
func TestApprovalWaitingNotification(t *testing.T) {
	e := newEnv(t)
	js := newReceiver(t, nil)
	slack := newReceiver(t, nil)
	ctx := context.Background()
	spec := engine.Spec{Plan: "orders", PlanHash: "h-appr", Mode: ripcord.ModeDrill,
		Settings: ripcord.Settings{FailurePolicy: ripcord.FailureStop, ConflictDeadline: 15 * time.Minute,
			Notify: []ripcord.Notification{{Webhook: js.URL}, {Webhook: slack.URL, Format: "slack"}}},
		Targets: []ripcord.Target{{Name: "prod", Account: "111122223333", Region: "us-east-1", Endpoint: e.srv.URL}},
		Steps: []engine.SpecStep{
			{Name: "database", Kind: ripcord.StepLaunch, Servers: []engine.SpecServer{{ID: db1, Target: "prod"}}},
			{Name: "go-ahead", Kind: ripcord.StepApproval, After: []string{"database"}, Approval: &ripcord.Approval{
				Roles: []ripcord.Role{ripcord.RoleRecovery}, Identities: []string{"alice"}, Message: "Promote the database, then approve"}},
			{Name: "web", Kind: ripcord.StepLaunch, After: []string{"go-ahead"}, Servers: []engine.SpecServer{{ID: web1, Target: "prod"}}},
		}}
	if err := e.store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: spec.Plan, Source: []byte("plan"), Created: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	var eng *engine.Engine
	var reqSeq int64
	clock := approvingClock{ManualClock: e.clock, approve: func() {
		s, err := eng.Load(ctx, "appr-1")
		if err != nil {
			t.Errorf("load: %v", err)
			return
		}
		if _, seq, ok := s.WaitingApproval("go-ahead"); ok && reqSeq == 0 {
			reqSeq = seq
			if err := eng.Approve(ctx, "appr-1", "alice (tok_1)", engine.ApprovalRequest{Step: "go-ahead", Comment: "done"}); err != nil {
				t.Errorf("approve: %v", err)
			}
		}
	}}
	eng = engine.New(engine.Config{Store: e.store, Targets: map[string]ripcord.DRS{"prod": e.drs}, Clock: clock,
		OwnerGone: func(ripcord.LeaseOwner) bool { return true }})
	if err := eng.Start(ctx, "appr-1", spec); err != nil {
		t.Fatal(err)
	}
	s, err := eng.Run(ctx, "appr-1")
	if err != nil || s.State != ripcord.ExecSucceeded {
		t.Fatalf("run: %v, %v; want succeeded", s.State, err)
	}
	if reqSeq == 0 {
		t.Fatal("the drill never waited for the approval")
	}

	ended := e.dispatch("replica-a", e.store, &sleeps{now: t0}, nil)
	const kinds = 3 // started, waiting, finished
	await(t, ended, 2*kinds)
	var waiting []notify.Message
	for _, b := range js.received() {
		var m notify.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("JSON body %s: %v", b, err)
		}
		if m.Kind == ripcord.NotifyWaiting {
			waiting = append(waiting, m)
		} else if m.ApproveURL != "" || m.RejectURL != "" || m.Approvers != "" {
			t.Errorf("a %s message has approval fields: %+v", m.Kind, m)
		}
	}
	if len(waiting) != 1 {
		t.Fatalf("%d waiting messages; want 1: %+v", len(waiting), waiting)
	}
	m := waiting[0]
	if m.Verdict != "approval" || m.Step != "go-ahead" || m.Reason != "Promote the database, then approve" ||
		m.Approvers != `role recovery (or above), token "alice"` || m.ID != "appr-1/"+itoa(reqSeq) {
		t.Errorf("waiting = %+v; want the approval of go-ahead with its message and approvers", m)
	}
	secret, err := e.store.ServerSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for decision, link := range map[string]string{"approve": m.ApproveURL, "reject": m.RejectURL} {
		u, err := url.Parse(link)
		if err != nil || u.Scheme != "https" || u.Host != "dr.example.com" || u.Path != "/console/approve" || u.Query().Get("decision") != decision {
			t.Fatalf("%s link %q: want https://dr.example.com/console/approve?link=...&decision=%s", decision, link, decision)
		}
		got, err := ripcord.ParseApprovalLink(u.Query().Get("link"), secret)
		if err != nil || got != (ripcord.ApprovalLink{Execution: "appr-1", Step: "go-ahead", Seq: reqSeq}) {
			t.Errorf("%s link names %+v, %v; want execution appr-1, step go-ahead, seq %d", decision, got, err, reqSeq)
		}
		if _, err := ripcord.ParseApprovalLink(u.Query().Get("link"), []byte("another secret")); err == nil {
			t.Errorf("%s link verifies under another secret", decision)
		}
	}
	found := false
	for _, b := range slack.received() {
		if s := string(b); strings.Contains(s, "waits for approval of step go-ahead") {
			found = true
			for _, want := range []string{"Promote the database, then approve", "May decide: role recovery", "decision=approve|approve", "decision=reject|reject"} {
				if !strings.Contains(s, want) {
					t.Errorf("the Slack approval message lacks %q: %s", want, s)
				}
			}
		}
	}
	if !found {
		t.Errorf("no Slack message asks for the approval")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
