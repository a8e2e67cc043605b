package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/plan"
)

// ScheduledRun is one scheduled drill the supervisor started, or failed
// to start (Err set): the plan, the slot of its schedule and the
// execution's ID, which the slot decides.
type ScheduledRun struct {
	Plan string
	Slot time.Time
	ID   string
	Err  error
}

// ScheduledID is the execution ID of a plan's scheduled drill for a slot.
// Every replica derives the same ID, and the store takes an ID once, so a
// slot runs once however many replicas look at it, and a slot that ran is
// known by the execution it left.
func ScheduledID(planName string, slot time.Time) string {
	return planName + "-scheduled-" + slot.UTC().Format("20060102T1504Z")
}

// scheduleActor is who a scheduled drill is started by, in the event log.
func scheduleActor(set ripcord.Settings) string {
	tz := set.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return fmt.Sprintf("schedule %q (%s)", set.Schedule, tz)
}

// scheduleState is what the loop remembers between looks: the plan
// versions already decoded (by hash: a version never changes) and the
// slots already reported as failing to start (so a failure is told once a
// slot, not once a look).
type scheduleState struct {
	decoded  map[string]decodedVersion
	reported map[string]string // execution ID -> the error last reported
}

type decodedVersion struct {
	file *ripcord.PlanFile
	set  ripcord.Settings
	err  error
}

// schedules runs RunSchedules now and then every cfg.Schedules until ctx
// ends: at start-up first, so that a slot missed while no replica ran is
// run then (once, however many slots were missed).
func (s *Supervisor) schedules(ctx context.Context) {
	for {
		if _, err := s.RunSchedules(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("looking at the plans' schedules failed; trying again", "err", err)
		}
		if s.cfg.Clock.Sleep(ctx, s.cfg.Schedules) != nil {
			return
		}
	}
}

// RunSchedules starts the scheduled drill each saved plan owes now: the
// latest slot of its schedule at or before the clock's now, since its
// latest version's schedule was saved, that has no execution yet. A plan
// whose other execution is still live waits (the slot runs when it ends,
// unless a later slot comes first); any other failure to start is logged
// and given to OnSchedule once per slot, and tried again at the next look.
// It returns what it started or failed to start.
func (s *Supervisor) RunSchedules(ctx context.Context) ([]ScheduledRun, error) {
	versions, err := s.cfg.Store.ListPlanVersions(ctx, "")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.sched.decoded == nil {
		s.sched = scheduleState{decoded: map[string]decodedVersion{}, reported: map[string]string{}}
	}
	s.mu.Unlock()
	byName := map[string][]ripcord.PlanVersion{} // newest first, as listed
	var names []string
	for _, v := range versions {
		if _, ok := byName[v.Name]; !ok {
			names = append(names, v.Name)
		}
		byName[v.Name] = append(byName[v.Name], v)
	}
	now := s.cfg.Clock.Now()
	var out []ScheduledRun
	for _, name := range names {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		run, ok := s.due(ctx, name, byName[name], now)
		if !ok {
			continue
		}
		out = append(out, run)
	}
	return out, nil
}

// due starts the drill plan name owes at now, if any; ok reports whether
// there was one to start (started or failed).
func (s *Supervisor) due(ctx context.Context, name string, versions []ripcord.PlanVersion, now time.Time) (ScheduledRun, bool) {
	latest := s.decode(name, versions[0])
	if latest.err != nil || latest.set.Schedule == "" {
		return ScheduledRun{}, false // an undecodable version was refused when saved; nothing to run
	}
	cron, err := ripcord.ParseCron(latest.set.Schedule, latest.set.TimeZone)
	if err != nil {
		return ScheduledRun{}, false // validation refuses it when the plan is saved
	}
	// The schedule as it stands has existed since the oldest of the
	// newest versions that carry it unchanged: a slot before that was not
	// this schedule's.
	since := versions[0].Created
	for _, v := range versions[1:] {
		d := s.decode(name, v)
		if d.err != nil || d.set.Schedule != latest.set.Schedule || d.set.TimeZone != latest.set.TimeZone {
			break
		}
		since = v.Created
	}
	slot := cron.Latest(since, now)
	if slot.IsZero() {
		return ScheduledRun{}, false
	}
	run := ScheduledRun{Plan: name, Slot: slot, ID: ScheduledID(name, slot)}
	s.mu.Lock()
	for id := range s.sched.reported {
		// An earlier slot's failure is not reported again: a later
		// slot replaced it.
		if id != run.ID && strings.HasPrefix(id, name+"-scheduled-") {
			delete(s.sched.reported, id)
		}
	}
	s.mu.Unlock()
	if _, err := s.cfg.Store.Execution(ctx, run.ID); err == nil {
		return ScheduledRun{}, false // ran (or runs) already
	} else if ripcord.ErrorCode(err) != ripcord.ENOTFOUND {
		run.Err = err
		return s.scheduleFailed(ctx, run), true
	}
	req := engine.BeginRequest{File: latest.file, Plan: name, Mode: ripcord.ModeDrill, ID: run.ID,
		CleanupAfter: latest.set.CleanupAfter, CleanupAtEnd: latest.set.CleanupAfter == 0, Actor: scheduleActor(latest.set)}
	_, err = s.Begin(ctx, req)
	switch {
	case err == nil:
		s.cfg.Logger.Info("started a scheduled drill", "plan", name, "slot", slot, "execution", run.ID)
		s.mu.Lock()
		delete(s.sched.reported, run.ID)
		s.mu.Unlock()
		if s.cfg.OnSchedule != nil {
			s.cfg.OnSchedule(run)
		}
		return run, true
	case ripcord.ErrorCode(err) == ripcord.ECONFLICT:
		if _, gerr := s.cfg.Store.Execution(ctx, run.ID); gerr == nil {
			return ScheduledRun{}, false // another replica started it first
		}
	}
	run.Err = err
	return s.scheduleFailed(ctx, run), true
}

// scheduleFailed logs a scheduled drill that could not start, once per
// slot and error, and tells OnSchedule once per slot (serve notifies:
// an error whose words change from look to look, a connection's port
// say, must not notify at every look). A look cut short by a stop is no
// failure: the next look, here or on another replica, starts the slot.
func (s *Supervisor) scheduleFailed(ctx context.Context, run ScheduledRun) ScheduledRun {
	if ctx.Err() != nil {
		return run
	}
	s.mu.Lock()
	last, seen := s.sched.reported[run.ID]
	s.sched.reported[run.ID] = run.Err.Error()
	s.mu.Unlock()
	if last == run.Err.Error() {
		return run
	}
	msg := "a scheduled drill could not start; trying again at the next look"
	if ripcord.ErrorCode(run.Err) == ripcord.ECONFLICT {
		msg = "a scheduled drill waits: another execution of the plan is live; it starts when that one ends, unless the next slot comes first"
	}
	attrs := []any{"plan", run.Plan, "slot", run.Slot, "execution", run.ID, "err", run.Err}
	var re *ripcord.Error
	if errors.As(run.Err, &re) && re.Hint != "" {
		attrs = append(attrs, "hint", re.Hint)
	}
	s.cfg.Logger.Warn(msg, attrs...)
	if s.cfg.OnSchedule != nil && !seen {
		s.cfg.OnSchedule(run)
	}
	return run
}

// decode reads a saved plan version once.
func (s *Supervisor) decode(name string, v ripcord.PlanVersion) decodedVersion {
	s.mu.Lock()
	d, ok := s.sched.decoded[v.Hash]
	s.mu.Unlock()
	if ok {
		return d
	}
	f, err := plan.Decode(name+".yaml", v.Source)
	if err == nil {
		i := slices.IndexFunc(f.Plans, func(p ripcord.Plan) bool { return p.Name == name })
		if i < 0 {
			err = fmt.Errorf("plan version %s holds no plan %s", v.Hash, name)
		} else {
			d.set = f.Plans[i].Settings
		}
	}
	d.file, d.err = f, err
	s.mu.Lock()
	s.sched.decoded[v.Hash] = d
	s.mu.Unlock()
	return d
}
