package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/plan"
)

// BeginRequest asks for a new execution of a plan: what `ripcord run` and
// the API's POST /executions both do before driving it.
type BeginRequest struct {
	// Plan is the plan file holding the plan (see PlanFile.Extract); its
	// targets must be the engine's.
	File *ripcord.PlanFile
	Plan string
	Mode ripcord.Mode
	// ID is the execution's ID; empty: NewExecutionID.
	ID string
	// AllowConcurrent starts it even while another execution of the plan
	// on the same targets is live (in the store, or in DRS's job tags).
	AllowConcurrent bool
	// CleanupAfter, for a drill, schedules its cleanup this long after
	// it ends (0: none).
	CleanupAfter time.Duration
	// CleanupAtEnd, for a drill, asks for its cleanup as soon as it ends
	// (a scheduled drill without cleanupAfter).
	CleanupAtEnd bool
	// Actor is who asks: recorded as who started the execution and
	// scheduled its cleanup (default: the engine's actor).
	Actor string
}

// Begun is a recorded execution, ready to drive.
type Begun struct {
	ID   string
	Spec Spec
	// Warnings are optional servers that are not ready: they will be
	// tried anyway. Begin returns them with its error too.
	Warnings []string
}

// Begin resolves the plan's servers in DRS, checks that every critical
// one is ready, saves the plan version, checks that every target calls DRS
// in its declared account and that no other execution runs the plan, and
// records the execution (and its cleanup schedule). Nothing is launched:
// drive it with Run. Errors: EINVALID for a plan that does not resolve,
// EUNAVAILABLE when servers are not ready, ECONFLICT when another
// execution runs the plan; each with a hint.
func (e *Engine) Begin(ctx context.Context, req BeginRequest) (Begun, error) {
	one, err := req.File.Extract(req.Plan)
	if err != nil {
		return Begun{}, err
	}
	// Resolve the groups against DRS now, and freeze the result.
	resolved, known, err := ResolveServers(ctx, one, req.Plan, e.cfg.Targets)
	if err != nil {
		return Begun{}, err
	}
	spec, err := BuildSpec(one, req.Plan, req.Mode, resolved)
	if err != nil {
		return Begun{}, err
	}
	// Readiness: a critical server that cannot be launched stops it
	// before anything is recorded. Each server's expected launch time
	// (from its OS and disks) lets batching group like servers.
	var b Begun
	var notReady []string
	for _, st := range spec.Steps {
		for i, sv := range st.Servers {
			st.Servers[i].Expected = ExpectedLaunch(known[sv.Target][sv.ID])
			if spec.Mode == ripcord.ModeFailback {
				continue // the recovery instances are checked below
			}
			if ok, why := known[sv.Target][sv.ID].Ready(spec.Settings.RPOTarget); !ok {
				line := fmt.Sprintf("step %s: server %s: %s", st.Name, sv.ID, why)
				if sv.Optional {
					b.Warnings = append(b.Warnings, line+" (optional; it will be tried anyway)")
					continue
				}
				notReady = append(notReady, line)
			}
		}
	}
	hint := "fix replication (ripcord servers shows readiness), mark the servers optional, or raise the plan's rpo"
	if spec.Mode == ripcord.ModeFailback {
		warn, nr, err := e.failbackReadiness(ctx, spec)
		if err != nil {
			return Begun{}, err
		}
		b.Warnings, notReady, hint = append(b.Warnings, warn...), nr, failbackHint
	}
	if len(notReady) > 0 {
		return Begun{Warnings: b.Warnings}, &ripcord.Error{Code: ripcord.EUNAVAILABLE, Message: "servers are not ready:\n  " + strings.Join(notReady, "\n  "),
			Hint: hint}
	}
	// The version keeps the file as written, so that it decodes again (a
	// plan built in Go has none: its JSON then).
	src := req.File.Source
	if len(src) == 0 {
		src, _ = json.Marshal(one)
	}
	now := e.cfg.Clock.Now()
	if err := e.cfg.Store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: spec.PlanHash, Name: req.Plan, Source: src, Created: now}); err != nil {
		return Begun{}, err
	}
	b.ID = req.ID
	if b.ID == "" {
		b.ID = NewExecutionID(req.Plan, now)
	}
	if err := ripcord.CheckExecutionID(b.ID); err != nil {
		return Begun{}, err
	}
	// Before anything is recorded or launched: every target must call DRS
	// in the account it declares, and no other execution may be running
	// the plan, here or (seen in DRS's job tags) from another store.
	if err := e.CheckTargets(ctx, spec); err != nil {
		return Begun{}, err
	}
	if req.AllowConcurrent {
		spec.Exclusive = ""
	} else {
		if err := e.liveExecution(ctx, spec); err != nil {
			return Begun{}, err
		}
		if err := e.CheckConcurrent(ctx, b.ID, spec); err != nil {
			return Begun{}, err
		}
	}
	actor := req.Actor
	if actor == "" {
		actor = e.cfg.Actor
	}
	if err := e.StartAs(ctx, b.ID, spec, actor); err != nil {
		return Begun{}, err
	}
	switch {
	case req.CleanupAfter > 0:
		if err := e.ScheduleCleanup(ctx, b.ID, req.Actor, req.CleanupAfter); err != nil {
			return Begun{}, err
		}
	case req.CleanupAtEnd:
		if err := e.Cleanup(ctx, b.ID, actor); err != nil {
			return Begun{}, err
		}
	}
	b.Spec = spec
	return b, nil
}

// liveExecution refuses while an execution of the same plan on the same
// targets is running or paused in the store. (The store refuses it too,
// atomically, when the execution is created; asking first names the other
// execution before DRS is asked anything.)
func (e *Engine) liveExecution(ctx context.Context, spec Spec) error {
	for _, state := range []ripcord.ExecState{ripcord.ExecRunning, ripcord.ExecPaused} {
		list, err := e.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{State: state, PlanName: spec.Plan})
		if err != nil {
			return err
		}
		for _, x := range list {
			if x.Exclusive == spec.Exclusive {
				return &ripcord.Error{Code: ripcord.ECONFLICT, Message: fmt.Sprintf("execution %q of plan %s on the same targets is %s (started %s)",
					x.ID, x.PlanName, x.State, x.Started.UTC().Format(time.RFC3339)),
					Hint: fmt.Sprintf("resume it (ripcord exec resume %s), cancel it (ripcord exec cancel %s), or run anyway with --allow-concurrent", x.ID, x.ID)}
			}
		}
	}
	return nil
}

// ResolveServers lists the source servers of each of the plan's targets
// in DRS and resolves the plan's groups and selectors against them
// (plan.Resolve), as an execution freezes them when it begins. It also
// returns what DRS listed, by target and server ID.
func ResolveServers(ctx context.Context, one *ripcord.PlanFile, planName string, targets map[string]ripcord.DRS) ([]ripcord.ResolvedStep, map[string]map[string]ripcord.SourceServer, error) {
	servers := map[string][]plan.SourceServerInfo{}
	known := map[string]map[string]ripcord.SourceServer{}
	for _, t := range one.Targets {
		api := targets[t.Name]
		if api == nil {
			return nil, nil, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("target %s has no DRS connection", t.Name)}
		}
		list, err := api.ListSourceServers(ctx, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("list source servers of target %s: %w", t.Name, err)
		}
		known[t.Name] = map[string]ripcord.SourceServer{}
		for _, s := range list {
			servers[t.Name] = append(servers[t.Name], plan.SourceServerInfo{ID: s.ID, Tags: s.Tags})
			known[t.Name][s.ID] = s
		}
	}
	resolved, err := plan.Resolve(one, planName, servers)
	if err != nil {
		return nil, nil, PlanError(err)
	}
	return resolved, known, nil
}

// PlanError makes plan decoding and resolution errors invalid input, with
// a hint to validate the file when the error has none.
func PlanError(err error) error {
	if ripcord.ErrorCode(err) == ripcord.EINVALID || ripcord.ErrorCode(err) == "" {
		hint := ripcord.ErrorHint(err)
		if hint == "" {
			hint = "ripcord validate -f FILE lists every problem with its line and column"
		}
		return &ripcord.Error{Code: ripcord.EINVALID, Message: err.Error(), Hint: hint}
	}
	return err
}

// NewExecutionID names a new execution of a plan: the plan, the time and
// a random suffix.
func NewExecutionID(planName string, now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", planName, now.UTC().Format("20060102T150405"), hex.EncodeToString(b[:]))
}
