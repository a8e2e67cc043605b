package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// The console's readiness panel (a plan's page), the readiness column of
// the plan lists (the overview and the plans page) and an execution's
// notification deliveries. The results come from the Readiness interface
// (ripcord serve's checker) and the store; docs/console.md describes what
// is shown.

// readinessView is a plan's latest readiness check and staleness as the
// console shows them. Exactly one of Off, NotYet, Failed and Checked
// holds (Failed: the check itself could not run, or the checker did not
// answer).
type readinessView struct {
	Off     bool   // this server runs no readiness checks
	NotYet  bool   // checks run, this plan has not been checked yet
	Failed  string // why there is no result
	Checked bool
	// Of the check, when Checked.
	At                       time.Time
	Ago                      string
	Ready                    bool
	Blocking, Warnings, Info int
	Findings                 []findingView // blocking first, then warnings, then info
	// OldVersion says the check was of another version than the latest.
	OldVersion string
	// Stale is the plan's staleness (nil when the server does not know
	// it); StaleNote says why it could not be judged.
	Stale     *staleView
	StaleNote string
}

type findingView struct {
	ripcord.Finding
	Resource string
}

// staleView is a plan's staleness with its last good drill's age.
type staleView struct {
	ripcord.Staleness
	DrillAgo string // "3d 4h"; empty without a last good drill
}

// readinessOf is plan name's readiness as the console shows it; hash is
// the plan's latest version.
func (h *Handler) readinessOf(ctx context.Context, name, hash string) readinessView {
	var v readinessView
	rk := h.cfg.Readiness
	if rk == nil {
		v.Off = true
		return v
	}
	if st, err := rk.Staleness(ctx, name); err != nil {
		v.StaleNote = errMessage(err)
	} else {
		v.Stale = h.staleView(st)
	}
	rd, err := rk.Readiness(ctx, name)
	switch {
	case ripcord.ErrorCode(err) == ripcord.ENOTFOUND:
		v.Off, v.NotYet = rk.Interval() <= 0, rk.Interval() > 0
		return v
	case err != nil:
		v.Failed = errMessage(err)
		return v
	case rd.Error != "":
		v.Failed = "the latest check, " + rd.Checked.UTC().Format("2006-01-02 15:04:05Z") + ", could not run: " + rd.Error
		return v
	}
	v.Checked, v.At, v.Ready = true, rd.Checked, rd.Ready
	v.Ago = ago(h.now().Sub(rd.Checked))
	if hash != "" && rd.PlanHash != "" && rd.PlanHash != hash {
		v.OldVersion = rd.PlanHash
	}
	fs := slices.Clone(rd.Findings)
	slices.SortStableFunc(fs, func(a, b ripcord.Finding) int { return a.Severity.Rank() - b.Severity.Rank() })
	for _, f := range fs {
		switch f.Severity {
		case ripcord.SeverityBlocking:
			v.Blocking++
		case ripcord.SeverityWarning:
			v.Warnings++
		default:
			v.Info++
		}
		v.Findings = append(v.Findings, findingView{Finding: f, Resource: f.Resource.String()})
	}
	return v
}

func (h *Handler) staleView(st ripcord.Staleness) *staleView {
	v := &staleView{Staleness: st}
	if !st.LastDrillEnded.IsZero() {
		v.DrillAgo = ago(h.now().Sub(st.LastDrillEnded))
	}
	return v
}

// planRow is a plan in the console's plan lists: its latest version, its
// staleness and its latest readiness check.
type planRow struct {
	client.PlanSummary
	Readiness readinessView
}

// planRowsWithReadiness is every plan (planRows) with its readiness.
func (h *Handler) planRowsWithReadiness(r *http.Request) ([]planRow, error) {
	plans, err := h.planRows(r)
	if err != nil {
		return nil, err
	}
	out := make([]planRow, len(plans))
	for i, p := range plans {
		out[i] = planRow{PlanSummary: p, Readiness: h.readinessOf(r.Context(), p.Name, p.Hash)}
	}
	return out, nil
}

// ago writes a duration for people, to its two largest units: "3d 4h",
// "5h 12m", "12m", "40s".
func ago(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm", mins)
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}

// deliveryView is one notification delivery on an execution's page.
type deliveryView struct {
	ripcord.Delivery
	At time.Time // of the last attempt, or of the record when none was made
}

// deliveryViews are execution id's deliveries, as the store records them
// (their destinations as package notify keys them: a webhook's scheme,
// host and digest, never its path); a failure to list them is a note on
// the page, not a failed page.
func (h *Handler) deliveryViews(ctx context.Context, id string) ([]deliveryView, string) {
	list, err := h.cfg.Store.ListDeliveries(ctx, id)
	if err != nil {
		return nil, "the notifications could not be listed: " + errMessage(err)
	}
	out := make([]deliveryView, len(list))
	for i, d := range list {
		out[i] = deliveryView{Delivery: d, At: d.Updated}
		if out[i].At.IsZero() {
			out[i].At = d.Created
		}
	}
	return out, ""
}
