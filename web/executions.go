package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

const (
	defaultExecutions = 100
	maxExecutions     = 1000
	defaultPage       = 500
	maxPage           = 1000
)

// listExecutions answers the executions a filter selects, newest first:
// plan, state, mode, since (started at or after), until (started before),
// limit.
func (h *Handler) listExecutions(w http.ResponseWriter, r *http.Request, _ *identity) error {
	q := r.URL.Query()
	f := ripcord.ExecutionFilter{PlanName: q.Get("plan"), State: ripcord.ExecState(q.Get("state"))}
	if f.PlanName != "" && !planNameRe.MatchString(f.PlanName) {
		return fail(ripcord.EINVALID, fmt.Sprintf("plan=%q is not a plan name", f.PlanName), "")
	}
	if f.State != "" && !f.State.Valid() {
		return fail(ripcord.EINVALID, fmt.Sprintf("state=%q is not an execution state", f.State),
			"states are running, paused, succeeded, failed and cancelled")
	}
	mode := ripcord.Mode(q.Get("mode"))
	if mode != "" && !mode.Valid() {
		return fail(ripcord.EINVALID, fmt.Sprintf("mode=%q is not a mode", mode), "modes are drill, recovery and failback")
	}
	since, err := timeParam(r, "since")
	if err != nil {
		return err
	}
	until, err := timeParam(r, "until")
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", defaultExecutions, 1, maxExecutions)
	if err != nil {
		return err
	}
	// The store filters by plan and state; mode and times are filtered
	// here, and then the limit is too.
	filtered := mode != "" || !since.IsZero() || !until.IsZero()
	if !filtered {
		f.Limit = int(limit) + 1
	}
	list, err := h.cfg.Store.ListExecutions(r.Context(), f)
	if err != nil {
		return err
	}
	out := client.ExecutionList{Executions: []ripcord.Execution{}}
	for _, x := range list {
		switch {
		case mode != "" && x.Mode != mode,
			!since.IsZero() && x.Started.Before(since),
			!until.IsZero() && !x.Started.Before(until):
			continue
		}
		if len(out.Executions) == int(limit) {
			out.More = true
			break
		}
		out.Executions = append(out.Executions, x)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getExecution answers an execution's row and the summary of its log.
func (h *Handler) getExecution(w http.ResponseWriter, r *http.Request, _ *identity) error {
	id, err := executionID(r)
	if err != nil {
		return err
	}
	x, err := h.cfg.Store.Execution(r.Context(), id)
	if err != nil {
		return notFound(err, id)
	}
	sum, err := h.folds.summary(r.Context(), h.cfg.Store, id)
	if err != nil {
		return notFound(err, id)
	}
	writeJSON(w, http.StatusOK, client.ExecutionDetail{Execution: x, Summary: sum})
	return nil
}

// notFound words a missing execution for the API (the store's hint names
// its database file).
func notFound(err error, id string) error {
	if ripcord.ErrorCode(err) == ripcord.ENOTFOUND {
		return fail(ripcord.ENOTFOUND, fmt.Sprintf("execution %q not found", id), "GET /api/v1/executions lists the executions")
	}
	return err
}

// events answers a page of an execution's events, or with Accept:
// text/event-stream a stream of them.
func (h *Handler) events(w http.ResponseWriter, r *http.Request, _ *identity) error {
	id, err := executionID(r)
	if err != nil {
		return err
	}
	if acceptsEventStream(r) {
		return h.stream(w, r, id)
	}
	after, err := intParam(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	evs, err := h.cfg.Store.Events(r.Context(), id, after, int(limit)+1)
	if err != nil {
		return notFound(err, id)
	}
	out := client.EventPage{Events: evs, Next: after}
	if len(evs) > int(limit) {
		out.Events, out.More = evs[:limit], true
	}
	if n := len(out.Events); n > 0 {
		out.Next = out.Events[n-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// foldCache keeps the folded state of the executions recently asked for,
// so that asking again folds only the events recorded since
// (engine.State.Apply), not the whole log.
type foldCache struct{ *lru[foldEntry] }

type foldEntry struct {
	mu    sync.Mutex // held while the state is read or brought up to date
	state *engine.State
}

func newFoldCache(max int) *foldCache { return &foldCache{newLRU[foldEntry](max)} }

func (c *foldCache) entry(id string) *foldEntry { return c.get(id) }

// summary folds execution id's log (or the events since the last time)
// and summarizes it.
func (c *foldCache) summary(ctx context.Context, store ripcord.Store, id string) (engine.Summary, error) {
	e := c.entry(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == nil {
		s, err := fold(ctx, store, id)
		if err != nil {
			c.drop(id, e)
			return engine.Summary{}, err
		}
		e.state = s
	} else if err := follow(ctx, store, e.state); err != nil {
		e.state = nil
		c.drop(id, e)
		return engine.Summary{}, err
	}
	return e.state.Summarize(0), nil
}

// fold reads and folds an execution's whole log.
func fold(ctx context.Context, store ripcord.Store, id string) (*engine.State, error) {
	var all []ripcord.Event
	var after int64
	for {
		evs, err := store.Events(ctx, id, after, maxPage)
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
		if len(evs) < maxPage {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	if len(all) == 0 {
		return nil, ripcord.Errorf(ripcord.ENOTFOUND, "execution %s has no events", id)
	}
	return engine.Fold(id, all)
}

// follow applies the events recorded after s.LastSeq.
func follow(ctx context.Context, store ripcord.Store, s *engine.State) error {
	for {
		evs, err := store.Events(ctx, s.ID, s.LastSeq, maxPage)
		if err != nil {
			return err
		}
		if err := s.Apply(evs...); err != nil {
			return err
		}
		if len(evs) < maxPage {
			return nil
		}
	}
}
