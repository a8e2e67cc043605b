package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/plan"
	"github.com/ripcord-dr/ripcord/readiness"
)

// readinessKeeper checks every plan saved in the store every interval and
// keeps the latest result per plan in memory, for the API and the console
// (web.Readiness). OnReadiness, when set, is called after each plan's
// check with its findings (notifications and metrics hook in there).
type readinessKeeper struct {
	store ripcord.Store
	// connect gives the DRS clients of a plan's targets; serve's are the
	// supervisor's, connected once per target and within the replica's
	// share of the rate (supervisor.Clients).
	connect  func(context.Context, []ripcord.Target) (map[string]ripcord.DRS, error)
	now      func() time.Time
	interval time.Duration
	log      *slog.Logger
	// OnReadiness is called after each check of a plan, from the
	// keeper's goroutine; it must not block for long.
	OnReadiness func(plan string, findings []ripcord.Finding)

	mu      sync.Mutex
	results map[string]client.Readiness
	// drills keeps each plan's last good drill folded once, for the
	// checks and the plan listings (readiness.DrillCache).
	drills readiness.DrillCache
}

// Run checks every plan at once and then every interval, until ctx ends.
func (k *readinessKeeper) Run(ctx context.Context) {
	if k.interval <= 0 {
		return
	}
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for {
		k.CheckAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckAll checks each plan's latest version once.
func (k *readinessKeeper) CheckAll(ctx context.Context) {
	vs, err := k.store.ListPlanVersions(ctx, "")
	if err != nil {
		k.log.Warn("readiness: listing plans", "error", err)
		return
	}
	seen := map[string]bool{}
	for _, v := range vs { // newest first: the first of each name is its latest
		if seen[v.Name] || ctx.Err() != nil {
			continue
		}
		seen[v.Name] = true
		rd := k.check(ctx, v)
		k.mu.Lock()
		if k.results == nil {
			k.results = map[string]client.Readiness{}
		}
		k.results[v.Name] = rd
		k.mu.Unlock()
		if k.OnReadiness != nil && rd.Error == "" {
			k.OnReadiness(v.Name, rd.Findings)
		}
	}
}

func (k *readinessKeeper) check(ctx context.Context, v ripcord.PlanVersion) client.Readiness {
	now := k.now()
	rd := client.Readiness{Plan: v.Name, PlanHash: v.Hash, Checked: now, Findings: []ripcord.Finding{}}
	f, err := plan.Decode(v.Name+".yaml", v.Source)
	if err != nil {
		rd.Error = fmt.Sprintf("the plan's latest version does not decode: %v", err)
		return rd
	}
	one, err := f.Extract(v.Name)
	if err != nil {
		rd.Error = err.Error()
		return rd
	}
	targets, err := k.connect(ctx, one.Targets)
	if err != nil {
		rd.Error = err.Error()
		return rd
	}
	rep, err := readiness.Run(ctx, readiness.Config{File: f, Plan: v.Name, Targets: targets, Store: k.store, Drills: &k.drills, Now: now})
	if err != nil {
		rd.Error = err.Error()
		k.log.Warn("readiness check failed", "plan", v.Name, "error", err)
		return rd
	}
	rd.PlanHash, rd.Findings, rd.Staleness, rd.Ready = rep.PlanHash, rep.Findings, rep.Staleness, !ripcord.Blocking(rep.Findings)
	return rd
}

// Readiness returns the plan's latest check (web.Readiness).
func (k *readinessKeeper) Readiness(_ context.Context, name string) (client.Readiness, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	rd, ok := k.results[name]
	if !ok {
		hint := "checks run every --check-interval; the first runs when ripcord serve starts"
		if k.interval <= 0 {
			hint = "this server was started with --check-interval 0: readiness checks are off; ripcord check -f FILE PLAN runs one"
		}
		return client.Readiness{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: fmt.Sprintf("plan %s has not been checked yet", name), Hint: hint}
	}
	rd.Findings = slices.Clone(rd.Findings)
	return rd, nil
}

// Interval is how often the keeper checks every plan; 0: never
// (web.Readiness).
func (k *readinessKeeper) Interval() time.Duration { return max(k.interval, 0) }

// Staleness returns the plan's staleness: its latest check's when that is
// of the latest version, else judged from the store alone.
func (k *readinessKeeper) Staleness(ctx context.Context, name string) (ripcord.Staleness, error) {
	k.mu.Lock()
	rd, ok := k.results[name]
	k.mu.Unlock()
	if ok && rd.Staleness != nil {
		if vs, err := k.store.ListPlanVersions(ctx, name); err == nil && len(vs) > 0 && vs[0].Hash == rd.PlanHash {
			return *rd.Staleness, nil
		}
	}
	return k.drills.StoreStaleness(ctx, k.store, name, k.now())
}
