package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/postgres/pgtest"
	"github.com/ripcord-dr/ripcord/storetest"
)

// source is what a store being copied holds, as its methods return it:
// times in UTC to the microsecond, seqs numbered.
type source struct {
	plans  []ripcord.PlanVersion
	execs  []ripcord.Execution
	events map[string][]ripcord.Event
	tokens []ripcord.Token
	audit  []ripcord.AuditEntry
}

func newSource() source {
	ist := time.FixedZone("IST", 5*3600+1800)
	src := source{events: map[string][]ripcord.Event{}}
	src.plans = []ripcord.PlanVersion{
		{Hash: "h1", Name: "three-tier", Source: []byte("plans:\n  - name: three-tier # \x00\xff\n"), Created: t0},
		{Hash: "h2", Name: "payments", Source: []byte("v2\n"), Created: t0.Add(time.Hour)},
	}
	ended := t0.Add(20 * time.Minute)
	src.execs = []ripcord.Execution{
		{ID: "ex-done", PlanName: "three-tier", PlanHash: "h1", Mode: ripcord.ModeDrill, State: ripcord.ExecSucceeded,
			Started: t0, Ended: ended, Actor: "alice", Summary: json.RawMessage(`{"b": 1,  "a": [1, 2.50]}`), Exclusive: "three-tier@k"},
		{ID: "ex-live", PlanName: "three-tier", PlanHash: "h1", Mode: ripcord.ModeRecovery, State: ripcord.ExecPaused,
			Started: t0.Add(time.Hour), Actor: "bob", Exclusive: "three-tier@k"}, // the key ex-done let go
		{ID: "ex-other", PlanName: "payments", PlanHash: "h2", Mode: ripcord.ModeDrill, State: ripcord.ExecFailed,
			Started: t0.Add(2 * time.Hour), Ended: t0.Add(3 * time.Hour), Actor: "carol"},
	}
	for i, x := range src.execs {
		n := 3 + 500*i // one log of a thousand events
		evs := make([]ripcord.Event, n)
		for j := range evs {
			evs[j] = ripcord.Event{ExecutionID: x.ID, Seq: int64(j + 1), At: t0.Add(time.Duration(j) * time.Millisecond).Add(123 * time.Microsecond),
				Actor: ripcord.ActorEngine, Type: "Tick", Data: json.RawMessage(fmt.Sprintf(`{"i": %d}`, j))}
		}
		evs[1].Data, evs[2].Actor = nil, "naïve ✓ 日本"
		src.execs[i].LastSeq = int64(n)
		src.events[x.ID] = evs
	}
	src.tokens = []ripcord.Token{
		{ID: "tok_a", Name: "alice", Role: ripcord.RoleAdmin, Hash: ripcord.TokenHash("a"), Created: t0},
		{ID: "tok_b", Name: "ci", Role: ripcord.RoleOperator, Hash: ripcord.TokenHash("b"), Created: t0.Add(time.Minute),
			Expires: t0.Add(90 * 24 * time.Hour).In(ist).Truncate(time.Microsecond), Revoked: t0.Add(time.Hour)},
		{ID: "tok_c", Name: "old", Role: ripcord.RoleViewer, Hash: ripcord.TokenHash("c"), Created: t0.Add(time.Minute),
			Expires: t0.Add(-time.Hour)}, // expired before it was created: kept as it is
	}
	for i := range 5 {
		src.audit = append(src.audit, ripcord.AuditEntry{Seq: int64(i + 1), At: t0.Add(time.Duration(i) * time.Second),
			Actor: "alice (tok_a)", Action: "execution.pause", Object: fmt.Sprint("ex-", i), Remote: "192.0.2.1:1", Detail: "line\nbreak"})
	}
	return src
}

// importAll imports src into s, in the order `ripcord store copy` does.
func importAll(t *testing.T, s *Store, src source) {
	t.Helper()
	ctx := context.Background()
	for _, v := range src.plans {
		if err := s.ImportPlanVersion(ctx, v); err != nil {
			t.Fatalf("ImportPlanVersion(%s): %v", v.Hash, err)
		}
	}
	for _, x := range src.execs {
		if err := s.ImportExecution(ctx, x, src.events[x.ID]); err != nil {
			t.Fatalf("ImportExecution(%s): %v", x.ID, err)
		}
	}
	for _, tok := range src.tokens {
		if err := s.ImportToken(ctx, tok); err != nil {
			t.Fatalf("ImportToken(%s): %v", tok.ID, err)
		}
	}
	for _, e := range src.audit {
		if err := s.ImportAudit(ctx, e); err != nil {
			t.Fatalf("ImportAudit(%d): %v", e.Seq, err)
		}
	}
}

// TestImport: everything imported reads back as it was given, byte for
// byte, and the store goes on from there.
func TestImport(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(t0.Add(24 * time.Hour))
	s := openStore(t, pgtest.DSN(t), WithClock(clock.Now))
	src := newSource()
	importAll(t, s, src)

	plans, err := s.ListPlanVersions(ctx, "")
	if err != nil || len(plans) != 2 || plans[0].Hash != "h2" || !bytes.Equal(plans[1].Source, src.plans[0].Source) || !plans[1].Created.Equal(t0) {
		t.Errorf("ListPlanVersions = %+v, %v", plans, err)
	}
	for _, want := range src.execs {
		got, err := s.Execution(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.State != want.State || got.Mode != want.Mode || !got.Started.Equal(want.Started) ||
			!got.Ended.Equal(want.Ended) || got.Actor != want.Actor || got.LastSeq != want.LastSeq ||
			!bytes.Equal(got.Summary, want.Summary) || got.Exclusive != want.Exclusive {
			t.Errorf("Execution(%s) =\n%+v\nwant\n%+v", want.ID, got, want)
		}
		evs, err := s.Events(ctx, want.ID, 0, 0)
		if err != nil || len(evs) != len(src.events[want.ID]) {
			t.Fatalf("Events(%s): %d, %v", want.ID, len(evs), err)
		}
		for i, w := range src.events[want.ID] {
			e := evs[i]
			if e.Seq != w.Seq || !e.At.Equal(w.At) || e.Actor != w.Actor || e.Type != w.Type || !bytes.Equal(e.Data, w.Data) {
				t.Fatalf("event %s/%d = %+v, want %+v", want.ID, i+1, e, w)
			}
		}
		if l, err := s.Lease(ctx, want.ID); err != nil || l.Epoch != 0 {
			t.Errorf("Lease(%s) = %+v, %v; want none: leases are not copied", want.ID, l, err)
		}
	}
	toks, err := s.ListTokens(ctx)
	if err != nil || len(toks) != len(src.tokens) {
		t.Fatalf("ListTokens = %+v, %v", toks, err)
	}
	for i, w := range src.tokens {
		g := toks[i]
		if g.ID != w.ID || g.Name != w.Name || g.Role != w.Role || !bytes.Equal(g.Hash, w.Hash) || !g.Created.Equal(w.Created) ||
			!g.Expires.Equal(w.Expires) || !g.Revoked.Equal(w.Revoked) {
			t.Errorf("token %d = %+v, want %+v", i, g, w)
		}
	}
	audit, err := s.ListAudit(ctx, ripcord.AuditFilter{})
	if err != nil || len(audit) != len(src.audit) {
		t.Fatalf("ListAudit = %+v, %v", audit, err)
	}
	for i, w := range src.audit {
		if g := audit[i]; g.Seq != w.Seq || !g.At.Equal(w.At) || g.At.Location() != time.UTC || g.Actor != w.Actor ||
			g.Action != w.Action || g.Object != w.Object || g.Remote != w.Remote || g.Detail != w.Detail {
			t.Errorf("audit entry %d = %+v, want %+v", i, g, w)
		}
	}

	// The store goes on: the next event, audit entry and lease follow.
	if last, err := s.Append(ctx, "ex-live", 503, 0, []ripcord.Event{{At: t0, Actor: "bob", Type: "Resumed"}}, nil); err != nil || last != 504 {
		t.Errorf("Append after the import = %d, %v; want 504", last, err)
	}
	if seq, err := s.AppendAudit(ctx, ripcord.AuditEntry{Actor: "bob", Action: "execution.resume"}); err != nil || seq != 6 {
		t.Errorf("AppendAudit after the import = %d, %v; want 6", seq, err)
	}
	if l, err := s.AcquireLease(ctx, "ex-live", driverA, time.Minute); err != nil || l.Epoch != 1 {
		t.Errorf("AcquireLease after the import = %+v, %v; want epoch 1", l, err)
	}
	if tok, err := s.TokenByHash(ctx, ripcord.TokenHash("b")); err != nil || tok.Live(clock.Now()) {
		t.Errorf("the imported revoked token = %+v, %v; want it not live", tok, err)
	}
	// The imported live execution holds its key.
	x := ripcord.Execution{ID: "ex-new", PlanName: "three-tier", PlanHash: "h1", Mode: ripcord.ModeDrill,
		State: ripcord.ExecRunning, Started: t0, Actor: "dave", Exclusive: "three-tier@k"}
	if err := s.CreateExecution(ctx, x, []ripcord.Event{{At: t0, Actor: "dave", Type: "ExecutionStarted"}}); ripcord.ErrorCode(err) != ripcord.ECONFLICT ||
		!strings.Contains(err.Error(), "ex-live") {
		t.Errorf("CreateExecution with the imported live key: %v; want a conflict naming ex-live", err)
	}
}

// TestImportRefusals: a copy is not merged into a store in use: what is
// there already is ECONFLICT and stays as it was; malformed input is
// EINVALID; nothing is half written.
func TestImportRefusals(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.DSN(t), WithClock(storetest.NewClock(t0).Now))
	src := newSource()
	importAll(t, s, src)
	// Importing the plans again is harmless.
	for _, v := range src.plans {
		if err := s.ImportPlanVersion(ctx, v); err != nil {
			t.Fatalf("ImportPlanVersion(%s) again: %v", v.Hash, err)
		}
	}
	changed := src.plans[0]
	changed.Source = []byte("other\n")
	x := src.execs[0]
	evs := src.events[x.ID]
	tooFew := x
	tooFew.ID, tooFew.Exclusive = "ex-2", ""
	// relabel returns copies of evs for execution id.
	relabel := func(evs []ripcord.Event, id string) []ripcord.Event {
		out := append([]ripcord.Event{}, evs...)
		for i := range out {
			out[i].ExecutionID = id
		}
		return out
	}
	gap := relabel(evs[:3], "ex-2")
	gap[2].Seq = 4
	unknownPlan := x
	unknownPlan.ID, unknownPlan.PlanHash, unknownPlan.Exclusive, unknownPlan.LastSeq = "ex-3", "h-none", "", 0
	liveKey := src.execs[1]
	liveKey.ID = "ex-4"
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"a plan version with another source", func() error { return s.ImportPlanVersion(ctx, changed) }, ripcord.ECONFLICT},
		{"an execution that is there", func() error { return s.ImportExecution(ctx, x, evs) }, ripcord.ECONFLICT},
		{"a second live execution with one key", func() error { return s.ImportExecution(ctx, liveKey, relabel(src.events[src.execs[1].ID], "ex-4")) }, ripcord.ECONFLICT},
		{"an execution of an unknown plan", func() error { return s.ImportExecution(ctx, unknownPlan, relabel(evs[:1], "ex-3")) }, ripcord.ENOTFOUND},
		{"a last seq that is not the events'", func() error { return s.ImportExecution(ctx, tooFew, relabel(evs[:2], "ex-2")) }, ripcord.EINVALID},
		{"events with a gap", func() error { tooFew.LastSeq = 0; return s.ImportExecution(ctx, tooFew, gap) }, ripcord.EINVALID},
		{"no events", func() error { tooFew.LastSeq = 0; return s.ImportExecution(ctx, tooFew, nil) }, ripcord.EINVALID},
		{"a token whose ID is taken", func() error { tok := src.tokens[0]; tok.Hash = ripcord.TokenHash("z"); return s.ImportToken(ctx, tok) }, ripcord.ECONFLICT},
		{"a token whose hash is taken", func() error { tok := src.tokens[0]; tok.ID = "tok_z"; return s.ImportToken(ctx, tok) }, ripcord.ECONFLICT},
		{"a token without creation time", func() error {
			tok := src.tokens[0]
			tok.ID, tok.Created = "tok_y", time.Time{}
			return s.ImportToken(ctx, tok)
		}, ripcord.EINVALID},
		{"an audit entry that is there", func() error { return s.ImportAudit(ctx, src.audit[0]) }, ripcord.ECONFLICT},
		{"an audit entry after a gap", func() error { e := src.audit[0]; e.Seq = 7; return s.ImportAudit(ctx, e) }, ripcord.ECONFLICT},
		{"an audit entry without seq", func() error { e := src.audit[0]; e.Seq = 0; return s.ImportAudit(ctx, e) }, ripcord.EINVALID},
		{"an audit entry without time", func() error { e := src.audit[0]; e.Seq, e.At = 6, time.Time{}; return s.ImportAudit(ctx, e) }, ripcord.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if ripcord.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v (code %s), want %s", err, ripcord.ErrorCode(err), tt.code)
			}
			if ripcord.ErrorHint(err) == "" {
				t.Errorf("the refusal has no hint: %v", err)
			}
		})
	}
	// Nothing changed.
	if v, err := s.PlanVersion(ctx, "h1"); err != nil || !bytes.Equal(v.Source, src.plans[0].Source) {
		t.Errorf("plan version h1 after the refusals = %+v, %v", v, err)
	}
	list, err := s.ListExecutions(ctx, ripcord.ExecutionFilter{})
	if err != nil || len(list) != len(src.execs) {
		t.Errorf("executions after the refusals: %d, %v; want %d", len(list), err, len(src.execs))
	}
	if got, err := s.Events(ctx, x.ID, 0, 0); err != nil || len(got) != len(evs) {
		t.Errorf("events of %s after the refusals: %d, %v", x.ID, len(got), err)
	}
	if toks, err := s.ListTokens(ctx); err != nil || len(toks) != len(src.tokens) {
		t.Errorf("tokens after the refusals: %d, %v", len(toks), err)
	}
	if audit, err := s.ListAudit(ctx, ripcord.AuditFilter{}); err != nil || len(audit) != len(src.audit) {
		t.Errorf("audit entries after the refusals: %d, %v", len(audit), err)
	}
}

// TestImportAuditIntoUsedLog: the audit log is imported only into an empty
// one: a store that has entries of its own refuses entry 1.
func TestImportAuditIntoUsedLog(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, pgtest.DSN(t))
	if _, err := s.AppendAudit(ctx, ripcord.AuditEntry{Actor: "alice", Action: "plan.save"}); err != nil {
		t.Fatal(err)
	}
	err := s.ImportAudit(ctx, ripcord.AuditEntry{Seq: 1, At: t0, Actor: "bob", Action: "execution.pause"})
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || !strings.Contains(err.Error(), "cannot follow entry 1") {
		t.Fatalf("ImportAudit of entry 1 after a native entry: %v; want a conflict naming the last entry", err)
	}
	if list, err := s.ListAudit(ctx, ripcord.AuditFilter{}); err != nil || len(list) != 1 || list[0].Actor != "alice" {
		t.Errorf("ListAudit = %+v, %v; want alice's entry alone", list, err)
	}
}
