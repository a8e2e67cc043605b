package web

import (
	"context"
	"net/http"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// Readiness gives the latest readiness check and the staleness of a plan
// (ripcord serve checks each plan every --check-interval and keeps the
// results in memory).
type Readiness interface {
	// Readiness returns the plan's latest check, or ENOTFOUND with a
	// hint when none has run yet.
	Readiness(ctx context.Context, plan string) (client.Readiness, error)
	// Staleness returns the plan's staleness: from its latest check when
	// there is one, else from the store alone.
	Staleness(ctx context.Context, plan string) (ripcord.Staleness, error)
	// Interval is how often the checks run; 0 when they are off (then
	// Readiness never finds a check, and Staleness judges from the store).
	Interval() time.Duration
}

// planReadiness answers a plan's latest readiness check.
func (h *Handler) planReadiness(w http.ResponseWriter, r *http.Request, _ *identity) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	if _, err := h.versions(r, name); err != nil {
		return err
	}
	if h.cfg.Readiness == nil {
		return fail(ripcord.EUNAVAILABLE, "this server runs no readiness checks", "readiness checks run in ripcord serve (--check-interval)")
	}
	rd, err := h.cfg.Readiness.Readiness(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rd)
	return nil
}

// staleness fills in each plan's staleness, when the server knows it.
func (h *Handler) staleness(ctx context.Context, plans []client.PlanSummary) error {
	if h.cfg.Readiness == nil {
		return nil
	}
	for i := range plans {
		st, err := h.cfg.Readiness.Staleness(ctx, plans[i].Name)
		if err != nil {
			return err
		}
		plans[i].Staleness = &st
	}
	return nil
}
