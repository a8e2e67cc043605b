// Package readiness tells whether a plan could run now, and whether its
// evidence is stale (docs/readiness.md). Check looks at each server of a
// plan as DRS shows it (replication, lag against the plan's RPO target,
// the newest recovery snapshot, the launch configuration), at the jobs that
// hold servers or quota, at the protection groups the plan only partly
// launches and at the store's live executions, and returns findings, each
// with a severity, the resource and a remedy. It calls only DRS's read
// operations and launches nothing.
//
// It is domain logic: it takes the ripcord.DRS interface per target and the
// store, and reuses the engine's rules (which job holds a server, the
// quotas, the exclusive key) rather than copies of them.
package readiness

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// Check codes, stable: scripts and notifications key on them.
const (
	CheckAccount        = "account"               // a target calls DRS in another account than it declares
	CheckDRS            = "drs-error"             // DRS could not be read: nothing is known, so the plan is not ready
	CheckResolve        = "resolve"               // the plan's groups or servers do not resolve against DRS
	CheckReplication    = "replication-state"     // a server is not in continuous replication
	CheckLag            = "replication-lag"       // replication lag is over the plan's RPO target
	CheckSnapshot       = "snapshot-age"          // the newest recovery snapshot is old, or there is none
	CheckDisposition    = "launch-disposition"    // the instance would launch STOPPED
	CheckRightSizing    = "right-sizing"          // DRS picks the instance type (overrides the template's)
	CheckCopyPrivateIP  = "copy-private-ip"       // two servers would launch with the same private IP
	CheckHeldByJob      = "held-by-job"           // an active DRS job holds a server
	CheckQuota          = "quota-headroom"        // the largest step does not fit the quotas left now
	CheckUnlaunched     = "unlaunched-member"     // a protection group's server that the plan never launches
	CheckConflictingRun = "conflicting-execution" // another live execution of the plan on the same targets
	CheckStale          = "stale"                 // the plan's last good drill no longer proves it
)

// SnapshotSlack is added to the plan's RPO target to judge the newest
// recovery snapshot: DRS takes one every 10 minutes (its default
// point-in-time policy), so a snapshot up to RPO + 10m old is expected.
// Without an RPO target the snapshot may be an hour old (six missed).
const (
	SnapshotSlack      = 10 * time.Minute
	DefaultSnapshotAge = time.Hour
)

// Config is what Check needs.
type Config struct {
	// File holds the plan; Plan names it.
	File *ripcord.PlanFile
	Plan string
	// Targets are the DRS connections by target name.
	Targets map[string]ripcord.DRS
	// Store, when not nil, is asked for live executions of the plan
	// (conflicting-execution) and its last good drill (stale), through
	// Drills when not nil.
	Store  ripcord.Store
	Drills *DrillCache
	// Quotas are the engine's (zero: DRS's defaults).
	Quotas engine.Quotas
	// Now is the time to judge ages at (DRS's clock against a simulator).
	Now time.Time
	// JobHorizon is how far back active jobs are looked for (default
	// engine.DefaultJobHorizon), as the engine's first look does.
	JobHorizon time.Duration
}

// Report is the outcome of a check.
type Report struct {
	Plan     string
	PlanHash string
	Checked  time.Time
	// Findings, the worst first.
	Findings []ripcord.Finding
	// Current is what the plan resolves to now, for staleness.
	Current Current
	// Staleness is set when the config has a store.
	Staleness *ripcord.Staleness
}

// Check runs every check of the plan and returns the findings, the worst
// first. A DRS read that fails is a blocking finding (a check that cannot
// look must not pass); an error is returned only for a plan the file does
// not hold, the store failing, or ctx ending.
func Check(ctx context.Context, cfg Config) ([]ripcord.Finding, error) {
	r, err := Run(ctx, cfg)
	return r.Findings, err
}

// Run is Check with everything it learnt.
func Run(ctx context.Context, cfg Config) (Report, error) {
	one, err := cfg.File.Extract(cfg.Plan)
	if err != nil {
		return Report{}, err
	}
	p, _ := one.Plan(cfg.Plan)
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.JobHorizon == 0 {
		cfg.JobHorizon = engine.DefaultJobHorizon
	}
	c := &checker{cfg: cfg, one: one, plan: p, q: cfg.Quotas.WithDefaults(), inventory: map[string]map[string]ripcord.SourceServer{}}
	rep := Report{Plan: cfg.Plan, PlanHash: one.Hash(), Checked: cfg.Now}
	rep.Current.PlanHash = rep.PlanHash
	if err := c.run(ctx); err != nil {
		return rep, err
	}
	if cfg.Store != nil {
		if err := c.conflicts(ctx); err != nil {
			return rep, err
		}
	}
	rep.Current.Checked = c.complete
	rep.Current.Servers = c.keys
	rep.Current.Fingerprints = c.fingerprints
	if cfg.Store != nil {
		last, err := cfg.Drills.LastGoodDrill(ctx, cfg.Store, cfg.Plan)
		if err != nil {
			return rep, err
		}
		st := Assess(last, rep.Current, p.Settings.DrillEvery, cfg.Now)
		rep.Staleness = &st
		if st.Stale {
			c.add(ripcord.Finding{Severity: ripcord.SeverityWarning, Check: CheckStale, Resource: ripcord.Resource{},
				Message: "the plan is stale: " + strings.Join(st.Reasons, "; "),
				Remedy:  "run a drill of the plan (ripcord run -f FILE " + cfg.Plan + " --drill) so that its evidence is current"})
		}
	}
	slices.SortStableFunc(c.findings, func(a, b ripcord.Finding) int {
		return cmp.Or(cmp.Compare(a.Severity.Rank(), b.Severity.Rank()), cmp.Compare(a.Check, b.Check),
			cmp.Compare(a.Resource.String(), b.Resource.String()))
	})
	rep.Findings = c.findings
	if rep.Findings == nil {
		rep.Findings = []ripcord.Finding{}
	}
	return rep, ctx.Err()
}

type checker struct {
	cfg       Config
	one       *ripcord.PlanFile
	plan      *ripcord.Plan
	q         engine.Quotas
	findings  []ripcord.Finding
	inventory map[string]map[string]ripcord.SourceServer // target -> ID -> server
	resolved  []ripcord.ResolvedStep
	// keys are the plan's servers (engine.ServerKey), sorted, and
	// fingerprints their launch configurations'; complete when every
	// one was read.
	keys         []string
	fingerprints map[string]string
	complete     bool
}

func (c *checker) add(f ripcord.Finding) { c.findings = append(c.findings, f) }

// drsFailed is the finding for a DRS read that failed.
func (c *checker) drsFailed(res ripcord.Resource, what string, err error) {
	remedy := ripcord.ErrorHint(err)
	if remedy == "" {
		remedy = "check the credentials and the network path to DRS, then check again"
	}
	c.add(ripcord.Finding{Severity: ripcord.SeverityBlocking, Check: CheckDRS, Resource: res,
		Message: fmt.Sprintf("%s failed: %v", what, err), Remedy: remedy})
}

func (c *checker) run(ctx context.Context) error {
	// A check of the wrong account is worse than none.
	if err := engine.CheckAccounts(ctx, c.one.Targets, c.cfg.Targets); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.add(ripcord.Finding{Severity: ripcord.SeverityBlocking, Check: CheckAccount,
			Message: err.Error(), Remedy: orDefault(ripcord.ErrorHint(err), "fix the target's account or role in the plan")})
		return nil
	}
	infos := map[string][]plan.SourceServerInfo{}
	listed := true
	for _, t := range c.one.Targets {
		list, err := c.cfg.Targets[t.Name].ListSourceServers(ctx, nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.drsFailed(ripcord.Resource{Target: t.Name}, "listing the source servers", err)
			listed = false
			continue
		}
		c.inventory[t.Name] = map[string]ripcord.SourceServer{}
		for _, s := range list {
			c.inventory[t.Name][s.ID] = s
			infos[t.Name] = append(infos[t.Name], plan.SourceServerInfo{ID: s.ID, Tags: s.Tags})
		}
	}
	if !listed {
		return nil
	}
	resolved, err := plan.Resolve(c.one, c.cfg.Plan, infos)
	if err != nil {
		var list []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		} else {
			list = []error{err}
		}
		for _, e := range list {
			c.add(ripcord.Finding{Severity: ripcord.SeverityBlocking, Check: CheckResolve, Message: e.Error(),
				Remedy: orDefault(ripcord.ErrorHint(e), "ripcord validate -f FILE lists the plan's problems")})
		}
		return nil
	}
	c.resolved = resolved
	c.complete = true
	c.fingerprints = map[string]string{}
	if err := c.servers(ctx); err != nil {
		return err
	}
	if err := c.jobs(ctx); err != nil {
		return err
	}
	c.unlaunched(infos)
	slices.Sort(c.keys)
	return nil
}

// resource names a server of the plan.
func (c *checker) resource(target, id string) ripcord.Resource {
	s := c.inventory[target][id]
	name := s.Hostname
	if n := s.Tags["Name"]; n != "" {
		name = n
	}
	return ripcord.Resource{Target: target, ServerID: id, ServerName: name}
}

// severe is blocking for a critical server and a warning for an optional
// one, which the engine tries anyway.
func severe(optional bool) ripcord.Severity {
	if optional {
		return ripcord.SeverityWarning
	}
	return ripcord.SeverityBlocking
}

// servers checks each server: replication, lag, snapshot, launch
// configuration; then copy-private-IP clashes across the plan.
func (c *checker) servers(ctx context.Context) error {
	rpo := c.plan.Settings.RPOTarget
	type ipUse struct {
		key, step string
		res       ripcord.Resource
		optional  bool
	}
	byIP := map[string][]ipUse{} // target/IP -> servers launched with it, in launch order
	for _, st := range c.resolved {
		for _, sv := range st.Servers {
			key := engine.ServerKey(sv.Target, sv.ID)
			c.keys = append(c.keys, key)
			s := c.inventory[sv.Target][sv.ID]
			res := c.resource(sv.Target, sv.ID)
			res.Step = st.Step
			optional := ""
			if sv.Optional {
				optional = " (optional: it will be tried anyway)"
			}
			if ok, why := s.Ready(0); !ok {
				c.add(ripcord.Finding{Severity: severe(sv.Optional), Check: CheckReplication, Resource: res,
					Message: why + optional, Remedy: replicationRemedy(s.ReplicationState)})
			} else if ok, why := s.Ready(rpo); !ok {
				c.add(ripcord.Finding{Severity: severe(sv.Optional), Check: CheckLag, Resource: res,
					Message: why + optional,
					Remedy:  "find why replication falls behind (network bandwidth to the staging area, the disks' write rate), or raise the plan's rpoTarget if the lag is acceptable"})
			}
			snaps, err := c.cfg.Targets[sv.Target].RecoverySnapshots(ctx, sv.ID, 1)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				c.drsFailed(res, "reading the recovery snapshots", err)
			} else {
				c.snapshot(res, snaps)
			}
			lc, err := c.cfg.Targets[sv.Target].LaunchConfiguration(ctx, sv.ID)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				c.drsFailed(res, "reading the launch configuration", err)
				c.complete = false
				continue
			}
			c.fingerprints[key] = lc.Fingerprint()
			if lc.LaunchDisposition == "STOPPED" {
				c.add(ripcord.Finding{Severity: ripcord.SeverityWarning, Check: CheckDisposition, Resource: res,
					Message: "the launch disposition is STOPPED: the instance is launched but not started, so the application does not come up (ripcord counts it as launched)",
					Remedy:  "set the launch disposition to STARTED in the server's DRS launch settings (aws drs update-launch-configuration --launch-disposition STARTED), unless starting by hand is intended"})
			}
			if lc.RightSizing == "BASIC" || lc.RightSizing == "IN_AWS" {
				msg := fmt.Sprintf("instance type right-sizing is %s: DRS picks the instance type", lc.RightSizing)
				if s.RecommendedInstanceType != "" {
					msg += " (it recommends " + s.RecommendedInstanceType + ")"
				}
				msg += " and overrides a type fixed in the EC2 launch template"
				c.add(ripcord.Finding{Severity: ripcord.SeverityInfo, Check: CheckRightSizing, Resource: res, Message: msg,
					Remedy: "to launch the launch template's instance type, set right-sizing to NONE in DRS first, then edit the template (DRS overwrites a template edited first)"})
			}
			if lc.CopyPrivateIP {
				for _, ip := range s.IPs {
					byIP[sv.Target+"/"+ip] = append(byIP[sv.Target+"/"+ip], ipUse{key: key, step: st.Step, res: res, optional: sv.Optional})
				}
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(byIP)) {
		uses := byIP[k]
		if len(uses) < 2 {
			continue
		}
		ip := k[strings.Index(k, "/")+1:]
		first := uses[0]
		for _, u := range uses[1:] {
			c.add(ripcord.Finding{Severity: severe(u.optional), Check: CheckCopyPrivateIP, Resource: u.res,
				Message: fmt.Sprintf("copy private IP is on for this server and for %s (step %s), and both have private IP %s: whichever launches second fails, the address being in use",
					first.res.ServerID, first.step, ip),
				Remedy: "turn copy private IP off for one of them (aws drs update-launch-configuration --no-copy-private-ip), or give its source machine another address"})
		}
	}
	return nil
}

func (c *checker) snapshot(res ripcord.Resource, snaps []ripcord.RecoverySnapshot) {
	limit := DefaultSnapshotAge
	if rpo := c.plan.Settings.RPOTarget; rpo > 0 {
		limit = rpo + SnapshotSlack
	}
	if len(snaps) == 0 {
		c.add(ripcord.Finding{Severity: ripcord.SeverityWarning, Check: CheckSnapshot, Resource: res,
			Message: "DRS has no recovery snapshot of the server: there is no point in time to fall back to",
			Remedy:  "let replication reach CONTINUOUS; DRS takes a snapshot every 10 minutes from then on"})
		return
	}
	at := snaps[0].Taken
	if at.IsZero() {
		at = snaps[0].Expected
	}
	if age := c.cfg.Now.Sub(at); age > limit {
		c.add(ripcord.Finding{Severity: ripcord.SeverityWarning, Check: CheckSnapshot, Resource: res,
			Message: fmt.Sprintf("the newest recovery snapshot %s is %s old (taken %s), over %s", snaps[0].ID,
				age.Truncate(time.Second), at.UTC().Format(time.RFC3339), limit),
			Remedy: "snapshots stop when replication does: restore continuous replication; a launch from it would lose the data since"})
	}
}

func replicationRemedy(state string) string {
	switch state {
	case ripcord.ReplicationInitiating, ripcord.ReplicationInitialSync:
		return "wait for the initial sync to finish (the DRS console shows its progress), or mark the server optional in the plan"
	case ripcord.ReplicationStalled, ripcord.ReplicationDisconnected:
		return "check the replication agent on the source machine and its network path to the staging area (TCP 1500), then retry replication in DRS"
	case ripcord.ReplicationStopped, ripcord.ReplicationPaused:
		return "start (or resume) replication of the server in DRS"
	}
	return "wait until replication is CONTINUOUS, or mark the server optional in the plan"
}

// jobs checks, per target, the servers active jobs hold and the quota
// headroom for the plan's largest step, by the engine's rules.
func (c *checker) jobs(ctx context.Context) error {
	perTarget := map[string]map[string]int{} // target -> step -> servers
	optional := map[string]bool{}
	step := map[string]string{}
	for _, st := range c.resolved {
		for _, sv := range st.Servers {
			if perTarget[sv.Target] == nil {
				perTarget[sv.Target] = map[string]int{}
			}
			perTarget[sv.Target][st.Step]++
			optional[engine.ServerKey(sv.Target, sv.ID)] = sv.Optional
			step[engine.ServerKey(sv.Target, sv.ID)] = st.Step
		}
	}
	for _, target := range slices.Sorted(maps.Keys(perTarget)) {
		jobs, err := c.cfg.Targets[target].JobsCreatedSince(ctx, c.cfg.Now.Add(-c.cfg.JobHorizon))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.drsFailed(ripcord.Resource{Target: target}, "listing DRS's jobs", err)
			continue
		}
		var active []ripcord.Job
		for _, j := range jobs {
			if j.Active() {
				active = append(active, j)
			}
		}
		holder, _ := engine.Holders(active)
		for _, st := range c.resolved {
			for _, sv := range st.Servers {
				if sv.Target != target {
					continue
				}
				j, held := holder[sv.ID]
				if !held {
					continue
				}
				res := c.resource(target, sv.ID)
				res.Step, res.JobID = st.Step, j.ID
				by := ""
				if x := j.Tags[ripcord.TagExecution]; x != "" {
					by = " by ripcord execution " + x
				}
				c.add(ripcord.Finding{Severity: ripcord.SeverityWarning, Check: CheckHeldByJob, Resource: res,
					Message: fmt.Sprintf("held by DRS job %s (%s, %s since %s)%s: DRS allows one active job per server, so a launch waits for it, and fails it after the conflict deadline (%s)",
						j.ID, j.Type, j.Status, j.Created.UTC().Format(time.RFC3339), by, c.conflictDeadline()),
					Remedy: "wait for the job to end (aws drs describe-jobs --filters jobIDs=" + j.ID + "), or find who started it"})
			}
		}
		// The largest step in this target against what the quotas leave.
		largest, n := "", 0
		for _, st := range c.resolved {
			if k := perTarget[target][st.Step]; k > n {
				largest, n = st.Step, k
			}
		}
		jobsFree, serversFree := c.q.Free(active)
		needJobs := (n + c.q.ServersPerJob - 1) / c.q.ServersPerJob
		res := ripcord.Resource{Target: target, Step: largest}
		used := fmt.Sprintf("%d active jobs with %d servers leave %d of %d jobs and %d of %d servers in active jobs",
			len(active), c.q.ServersInActiveJobs-10*c.q.Headroom-serversFree, max(0, jobsFree), c.q.ActiveJobs, max(0, serversFree), c.q.ServersInActiveJobs)
		switch {
		case jobsFree <= 0 || serversFree <= 0:
			c.add(ripcord.Finding{Severity: ripcord.SeverityBlocking, Check: CheckQuota, Resource: res,
				Message: fmt.Sprintf("no DRS quota is left in target %s: %s; step %s (%d servers) could launch nothing until other jobs end", target, used, largest, n),
				Remedy:  "wait for the active jobs to end, or raise the quotas in Service Quotas (L-D88FAC3A active jobs, L-05AFA8C6 servers in active jobs)"})
		case n > serversFree || needJobs > jobsFree:
			c.add(ripcord.Finding{Severity: ripcord.SeverityWarning, Check: CheckQuota, Resource: res,
				Message: fmt.Sprintf("step %s launches %d servers in target %s (%d jobs), but %s: it launches in rounds, each waiting for jobs to end, and takes longer", largest, n, target, needJobs, used),
				Remedy:  "run when fewer jobs are active, split the step, or raise the quotas in Service Quotas (L-D88FAC3A, L-05AFA8C6)"})
		}
	}
	return nil
}

func (c *checker) conflictDeadline() time.Duration {
	if d := c.plan.Settings.ConflictDeadline; d > 0 {
		return d
	}
	return ripcord.DefaultConflictDeadline
}

// unlaunched finds the servers of protection groups the plan touches (uses,
// or launches some member of) that no step launches: a group whose
// selector matches more servers than the plan's steps name, or a group the
// plan launches only in part.
func (c *checker) unlaunched(infos map[string][]plan.SourceServerInfo) {
	launched := map[string]bool{}
	for _, st := range c.resolved {
		for _, sv := range st.Servers {
			launched[engine.ServerKey(sv.Target, sv.ID)] = true
		}
	}
	used := map[string]bool{}
	for _, st := range c.plan.Steps {
		for _, g := range st.Groups {
			used[g] = true
		}
	}
	for i := range c.cfg.File.ProtectionGroups {
		g := &c.cfg.File.ProtectionGroups[i]
		if _, ok := c.inventory[g.Target]; !ok {
			continue // not a target of this plan
		}
		members := plan.Members(g, infos[g.Target])
		touched := used[g.Name]
		var missing []string
		for _, id := range members {
			if launched[engine.ServerKey(g.Target, id)] {
				touched = true
			} else {
				missing = append(missing, id)
			}
		}
		if !touched {
			continue
		}
		for _, id := range missing {
			res := c.resource(g.Target, id)
			res.Group = g.Name
			c.add(ripcord.Finding{Severity: ripcord.SeverityWarning, Check: CheckUnlaunched, Resource: res,
				Message: fmt.Sprintf("server %s is in protection group %s, which the plan launches in part, but no step of plan %s launches it", id, g.Name, c.cfg.Plan),
				Remedy:  fmt.Sprintf("add group %s to a launch step, or change the group's selector or servers so that it holds only what the plan recovers", g.Name)})
		}
	}
}

// conflicts finds live executions of the plan on the same targets: a run
// now would be refused.
func (c *checker) conflicts(ctx context.Context) error {
	key := engine.ExclusiveKey(engine.Spec{Plan: c.cfg.Plan, Targets: c.one.Targets})
	for _, state := range []ripcord.ExecState{ripcord.ExecRunning, ripcord.ExecPaused} {
		list, err := c.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{State: state, PlanName: c.cfg.Plan})
		if err != nil {
			return fmt.Errorf("readiness: listing live executions of plan %s: %w", c.cfg.Plan, err)
		}
		for _, x := range list {
			if x.Exclusive != key {
				continue
			}
			c.add(ripcord.Finding{Severity: ripcord.SeverityBlocking, Check: CheckConflictingRun, Resource: ripcord.Resource{Execution: x.ID},
				Message: fmt.Sprintf("execution %s of plan %s on the same targets is %s (started %s, by %s): a run now is refused",
					x.ID, x.PlanName, x.State, x.Started.UTC().Format(time.RFC3339), x.Actor),
				Remedy: fmt.Sprintf("let it finish, resume it (ripcord exec resume %s) or cancel it (ripcord exec cancel %s)", x.ID, x.ID)})
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
