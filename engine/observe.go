package engine

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/ripcord-dr/ripcord"
)

// This file holds what the engine tells the world besides its events: the
// OnEvent and OnQuota hooks (metrics) and the structured log lines of a
// driver, each carrying the execution's ID and, for work on a step, the
// step's name.

// QuotaHeadroom is what a launch decision in a target saw of its quotas:
// how many more jobs and servers in active jobs DRS would take from this
// engine (within Quotas, less the Headroom kept for people), counting every
// active job in the target, ours and others'.
type QuotaHeadroom struct {
	Target  string
	Jobs    int // active jobs left: Quotas.ActiveJobs - Headroom - active jobs
	Servers int // servers in active jobs left: Quotas.ServersInActiveJobs - 10*Headroom - their servers
}

// emit calls OnEvent for each event just appended, with s the state after
// them. A hook that panics is logged and ignored: observing must never fail
// an execution.
func (e *Engine) emit(s *State, evs []ripcord.Event) {
	if e.cfg.OnEvent == nil {
		return
	}
	for _, ev := range evs {
		e.safely("OnEvent", func() { e.cfg.OnEvent(s, ev) })
	}
}

// quotaSeen calls OnQuota.
func (e *Engine) quotaSeen(q QuotaHeadroom) {
	if e.cfg.OnQuota != nil {
		e.safely("OnQuota", func() { e.cfg.OnQuota(q) })
	}
}

func (e *Engine) safely(hook string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			e.cfg.Logger.Error("an engine hook panicked; ignored", "hook", hook, "panic", fmt.Sprint(p))
		}
	}()
	fn()
}

// logger is the driver's logger: every line carries the execution's ID,
// and the step's name while the driver works on one step.
func (r *run) logger() *slog.Logger {
	if r.step != "" {
		return r.log.With("step", r.step)
	}
	return r.log
}

// onStep makes the driver's log lines name step until the returned func is
// called.
func (r *run) onStep(step string) (done func()) {
	saved := r.step
	r.step = step
	return func() { r.step = saved }
}

// eventFields are the members of event payloads that a log line shows.
type eventFields struct {
	Step      string            `json:"step"`
	Batch     string            `json:"batch"`
	Target    string            `json:"target"`
	Server    string            `json:"server"`
	Servers   []string          `json:"servers"`
	Instances []string          `json:"instances"`
	JobID     string            `json:"jobID"`
	Status    string            `json:"status"`
	State     ripcord.ExecState `json:"state"`
	Code      string            `json:"code"`
	Reason    string            `json:"reason"`
	Error     string            `json:"error"`
}

// logEvents writes one line per event recorded: the event's type as the
// message, the execution (r.log), the step the event is about (its own,
// its launch batch's, or the one the driver works on) and the payload's
// main members. Per-server news
// is logged at debug level, the rest at info.
func (r *run) logEvents(evs []ripcord.Event) {
	for _, ev := range evs {
		level := slog.LevelInfo
		if ev.Type == EvServerStatus || ev.Type == EvServersBlocked {
			level = slog.LevelDebug
		}
		if !r.log.Enabled(r.ctx, level) {
			continue
		}
		var d eventFields
		_ = json.Unmarshal(ev.Data, &d) // every payload is an object; a member missing is ""
		step := d.Step
		if b := r.s.Batches[d.Batch]; step == "" && b != nil && !b.Terminate {
			step = b.Step
		}
		if step == "" && d.Batch == "" {
			step = r.step // recorded while working on a step (an outage, a pause)
		}
		attrs := []slog.Attr{slog.Int64("seq", ev.Seq)}
		if step != "" {
			attrs = append(attrs, slog.String("step", step))
		}
		for _, a := range []struct{ k, v string }{{"batch", d.Batch}, {"target", d.Target}, {"server", d.Server},
			{"job", d.JobID}, {"status", d.Status}, {"state", string(d.State)}, {"code", d.Code}, {"reason", d.Reason}, {"error", d.Error}} {
			if a.v != "" {
				attrs = append(attrs, slog.String(a.k, a.v))
			}
		}
		if n := len(d.Servers) + len(d.Instances); n > 0 {
			attrs = append(attrs, slog.Int("count", n))
		}
		r.log.LogAttrs(r.ctx, level, ev.Type, attrs...)
	}
}
