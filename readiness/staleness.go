package readiness

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// Drill is what a plan's last successful drill ran with, as its execution
// recorded it.
type Drill struct {
	ID       string
	PlanHash string
	Ended    time.Time
	// Servers are the servers it launched (engine.ServerKey), sorted.
	Servers []string
	// Fingerprints are its servers' launch configurations after it ended
	// (nil: it recorded none, as drills before this record did not);
	// FingerprintError names reads that failed.
	Fingerprints     map[string]string
	FingerprintError string
}

// Current is what a plan is now: its version and, when Checked (a
// readiness check read DRS), its resolved servers and their launch
// configurations' fingerprints.
type Current struct {
	PlanHash     string
	Checked      bool
	Servers      []string
	Fingerprints map[string]string
}

// LastGoodDrill returns the newest drill of the plan that succeeded, or nil
// when there is none, folded from its events.
func LastGoodDrill(ctx context.Context, store ripcord.Store, planName string) (*Drill, error) {
	return (*DrillCache)(nil).LastGoodDrill(ctx, store, planName)
}

// DrillCache keeps each plan's last good drill as LastGoodDrill folded
// it, so that a long-running process (serve's plan listings and checks)
// folds a drill's log once, not at every look: an entry is used while
// the plan's newest succeeded drill is the same execution at the same
// last event. It holds one drill per plan. A nil *DrillCache folds every
// time. Its methods are safe for concurrent use.
type DrillCache struct {
	mu     sync.Mutex
	byPlan map[string]cachedDrill
}

type cachedDrill struct {
	key   string // execution ID and last seq
	drill *Drill
}

// LastGoodDrill is the package's LastGoodDrill, through the cache.
func (c *DrillCache) LastGoodDrill(ctx context.Context, store ripcord.Store, planName string) (*Drill, error) {
	list, err := store.ListExecutions(ctx, ripcord.ExecutionFilter{PlanName: planName, State: ripcord.ExecSucceeded})
	if err != nil {
		return nil, fmt.Errorf("readiness: listing the drills of plan %s: %w", planName, err)
	}
	for _, x := range list { // newest first
		if x.Mode != ripcord.ModeDrill {
			continue
		}
		key := x.ID + "@" + strconv.FormatInt(x.LastSeq, 10)
		if c != nil {
			c.mu.Lock()
			hit, ok := c.byPlan[planName]
			c.mu.Unlock()
			if ok && hit.key == key {
				return hit.drill, nil
			}
		}
		d, err := foldDrill(ctx, store, x)
		if err != nil {
			return nil, err
		}
		if c != nil {
			c.mu.Lock()
			if c.byPlan == nil {
				c.byPlan = map[string]cachedDrill{}
			}
			c.byPlan[planName] = cachedDrill{key: key, drill: d}
			c.mu.Unlock()
		}
		return d, nil
	}
	return nil, nil
}

// foldDrill folds drill x into what staleness needs of it.
func foldDrill(ctx context.Context, store ripcord.Store, x ripcord.Execution) (*Drill, error) {
	evs, err := store.Events(ctx, x.ID, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("readiness: reading drill %s: %w", x.ID, err)
	}
	s, err := engine.Fold(x.ID, evs)
	if err != nil {
		return nil, fmt.Errorf("readiness: folding drill %s: %w", x.ID, err)
	}
	d := &Drill{ID: x.ID, PlanHash: x.PlanHash, Ended: x.Ended, Fingerprints: s.LaunchConfigs, FingerprintError: s.LaunchConfigsError}
	if d.Ended.IsZero() {
		d.Ended = s.Finished
	}
	for _, st := range s.Spec.Steps {
		for _, sv := range st.Servers {
			d.Servers = append(d.Servers, engine.ServerKey(sv.Target, sv.ID))
		}
	}
	slices.Sort(d.Servers)
	return d, nil
}

// Assess says whether a plan is stale, and why: never drilled; its version,
// its resolved servers or a server's launch configuration changed since its
// last good drill (the last two only when cur was Checked against DRS); or
// that drill ended more than drillEvery (0: no limit) before now.
func Assess(last *Drill, cur Current, drillEvery time.Duration, now time.Time) ripcord.Staleness {
	st := ripcord.Staleness{Checked: cur.Checked}
	if last == nil {
		st.Stale, st.Reasons = true, []string{"never drilled successfully"}
		return st
	}
	st.LastDrill, st.LastDrillEnded = last.ID, last.Ended
	var why []string
	if cur.PlanHash != "" && cur.PlanHash != last.PlanHash {
		why = append(why, fmt.Sprintf("the plan changed since drill %s (version %s, now %s)", last.ID, short(last.PlanHash), short(cur.PlanHash)))
	}
	if cur.Checked {
		var added, removed []string
		for _, k := range cur.Servers {
			if !slices.Contains(last.Servers, k) {
				added = append(added, k)
			}
		}
		for _, k := range last.Servers {
			if !slices.Contains(cur.Servers, k) {
				removed = append(removed, k)
			}
		}
		if len(added)+len(removed) > 0 {
			var parts []string
			if len(added) > 0 {
				parts = append(parts, "now also "+list(added))
			}
			if len(removed) > 0 {
				parts = append(parts, "no longer "+list(removed))
			}
			why = append(why, fmt.Sprintf("the plan's servers changed since drill %s: %s", last.ID, strings.Join(parts, "; ")))
		}
		if last.Fingerprints == nil {
			why = append(why, fmt.Sprintf("drill %s recorded no launch configurations", last.ID))
		} else {
			var changed []string
			for _, k := range cur.Servers {
				was, ok := last.Fingerprints[k]
				if slices.Contains(last.Servers, k) && (!ok || was != cur.Fingerprints[k]) {
					changed = append(changed, k)
				}
			}
			if len(changed) > 0 {
				why = append(why, fmt.Sprintf("the launch configuration of %s changed since drill %s", list(changed), last.ID))
			}
		}
	}
	if drillEvery > 0 && now.Sub(last.Ended) > drillEvery {
		why = append(why, fmt.Sprintf("the last good drill %s ended %s, %s ago, more than drillEvery (%s)",
			last.ID, last.Ended.UTC().Format(time.RFC3339), days(now.Sub(last.Ended)), days(drillEvery)))
	}
	st.Stale, st.Reasons = len(why) > 0, why
	return st
}

// PlanStatus is a plan as `ripcord plan list` shows it.
type PlanStatus struct {
	Name          string
	LatestHash    string
	LatestCreated time.Time
	Versions      int
	Staleness     ripcord.Staleness
}

// Statuses lists every plan in the store by its latest version, with its
// staleness judged from the store alone (version, drill age, never
// drilled): servers and launch configurations need a check against DRS.
func Statuses(ctx context.Context, store ripcord.Store, now time.Time) ([]PlanStatus, error) {
	vs, err := store.ListPlanVersions(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []PlanStatus
	idx := map[string]int{}
	for _, v := range vs { // newest first
		if i, ok := idx[v.Name]; ok {
			out[i].Versions++
			continue
		}
		idx[v.Name] = len(out)
		out = append(out, PlanStatus{Name: v.Name, LatestHash: v.Hash, LatestCreated: v.Created, Versions: 1})
	}
	for i := range out {
		st, err := StoreStaleness(ctx, store, out[i].Name, now)
		if err != nil {
			return nil, err
		}
		out[i].Staleness = st
	}
	slices.SortFunc(out, func(a, b PlanStatus) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// StoreStaleness judges a plan's staleness from the store alone: its latest
// saved version against its last good drill, and that drill's age against
// the latest version's drillEvery.
func StoreStaleness(ctx context.Context, store ripcord.Store, name string, now time.Time) (ripcord.Staleness, error) {
	return (*DrillCache)(nil).StoreStaleness(ctx, store, name, now)
}

// StoreStaleness is the package's StoreStaleness, through the cache.
func (c *DrillCache) StoreStaleness(ctx context.Context, store ripcord.Store, name string, now time.Time) (ripcord.Staleness, error) {
	vs, err := store.ListPlanVersions(ctx, name)
	if err != nil {
		return ripcord.Staleness{}, err
	}
	if len(vs) == 0 {
		return ripcord.Staleness{}, &ripcord.Error{Code: ripcord.ENOTFOUND, Message: fmt.Sprintf("no plan named %q", name),
			Hint: "ripcord plan list shows the plans in the store"}
	}
	last, err := c.LastGoodDrill(ctx, store, name)
	if err != nil {
		return ripcord.Staleness{}, err
	}
	var every time.Duration
	if f, err := plan.Decode(name+".yaml", vs[0].Source); err == nil {
		if p, ok := f.Plan(name); ok {
			every = p.Settings.DrillEvery
		}
	}
	return Assess(last, Current{PlanHash: vs[0].Hash}, every, now), nil
}

func short(hash string) string { return hash[:min(12, len(hash))] }

// list writes up to five items and how many more.
func list(items []string) string {
	if len(items) <= 5 {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:5], ", "), len(items)-5)
}

// days writes a duration in days when it is at least one.
func days(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%.0fd", d.Hours()/24)
	}
	return d.Truncate(time.Second).String()
}
