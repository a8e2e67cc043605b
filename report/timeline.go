package report

import (
	"fmt"
	"time"
)

// The HTML report's timeline: one row per server, its attempts drawn as
// bars from the launch's request to DRS's job (waiting) and from the job to
// the launch (or the failure), with markers where an attempt failed and
// where the cleanup verified its instance gone. Computed here, drawn by the
// template as SVG: numbers and escaped labels only.

type timeline struct {
	Width, Height int
	Label         int // the label column's width
	Axis          int // the axis line's y
	Rows          []tlRow
	Ticks         []tlTick
	Lines         []tlLine
}

type tlRow struct {
	Y, TextY, MidY int
	Label, Step    string
	Optional       bool
	Bars           []tlBar
	Marks          []tlMark
}

type tlBar struct {
	X, W  float64
	Y     int
	Class string // wait (requested, no job yet), job (in DRS's job), ok (launched), bad (failed)
	Title string
}

type tlMark struct {
	X     float64
	Class string // fail, launch, cleanup
	Title string
}

type tlTick struct {
	X     float64
	Label string
}

type tlLine struct {
	X      float64
	TextY  int
	Anchor string // the label's text-anchor: middle, or end near the right edge
	Class  string // rto, target, cleanup
	Label  string
}

const (
	tlWidth = 960
	tlLabel = 230
	tlRowH  = 22
	tlTop   = 34
)

// buildTimeline lays the report's servers out on one time axis, from the
// start to the last thing the report knows of.
func buildTimeline(r Report) timeline {
	t0 := r.StartedAt
	t1 := t0
	grow := func(t *time.Time) {
		if t != nil && t.After(t1) {
			t1 = *t
		}
	}
	grow(r.EndedAt)
	for _, st := range r.Steps {
		for _, sv := range st.Servers {
			for _, a := range sv.Attempts {
				grow(a.JobCreatedAt)
				grow(a.LaunchedAt)
				grow(a.FailedAt)
			}
		}
	}
	if r.Cleanup != nil {
		grow(r.Cleanup.VerifiedAt)
	}
	if !t1.After(t0) {
		t1 = t0.Add(time.Minute)
	}
	span := t1.Sub(t0)
	plot := float64(tlWidth - tlLabel - 20)
	x := func(t time.Time) float64 {
		d := t.Sub(t0)
		d = max(0, min(d, span))
		return float64(tlLabel) + plot*float64(d)/float64(span)
	}
	g := timeline{Width: tlWidth, Label: tlLabel}
	y := tlTop
	for _, st := range r.Steps {
		for _, sv := range st.Servers {
			row := tlRow{Y: y, TextY: y + 15, MidY: y + 10, Label: sv.ID, Step: st.Name, Optional: sv.Optional}
			for _, a := range sv.Attempts {
				for _, b := range attemptBars(a, x, r.GeneratedAt) {
					b.Y = y + 3
					row.Bars = append(row.Bars, b)
				}
				if a.FailedAt != nil {
					row.Marks = append(row.Marks, tlMark{X: x(*a.FailedAt), Class: "fail",
						Title: fmt.Sprintf("attempt %d %s at %s: %s", a.N, a.Status, stamp(a.FailedAt), a.Reason)})
				}
				if a.LaunchedAt != nil {
					row.Marks = append(row.Marks, tlMark{X: x(*a.LaunchedAt), Class: "launch",
						Title: fmt.Sprintf("attempt %d launched at %s as %s", a.N, stamp(a.LaunchedAt), a.InstanceID)})
				}
			}
			if c := r.Cleanup; c != nil && c.VerifiedAt != nil {
				for _, in := range r.Instances {
					if in.Server == sv.ID && in.Until == "terminated" {
						row.Marks = append(row.Marks, tlMark{X: x(*c.VerifiedAt), Class: "cleanup",
							Title: fmt.Sprintf("instance %s terminated, verified gone at %s", in.ID, stamp(c.VerifiedAt))})
					}
				}
			}
			g.Rows = append(g.Rows, row)
			y += tlRowH
		}
	}
	g.Axis = y + 4
	g.Height = y + 24
	every := tickEvery(span)
	for d := time.Duration(0); d <= span; d += every {
		g.Ticks = append(g.Ticks, tlTick{X: x(t0.Add(d)), Label: "+" + d.String()})
	}
	if at := r.RTO.LastCriticalAt; at != nil {
		g.Lines = append(g.Lines, tlLine{X: x(*at), Class: "rto", Label: "RTO " + dur(*r.RTO.MeasuredSeconds)})
	}
	if ts := r.RTO.TargetSeconds; ts != nil {
		if target := t0.Add(time.Duration(*ts * float64(time.Second))); !target.After(t1) {
			g.Lines = append(g.Lines, tlLine{X: x(target), Class: "target", Label: "target " + dur(*ts)})
		}
	}
	if c := r.Cleanup; c != nil && c.VerifiedAt != nil {
		g.Lines = append(g.Lines, tlLine{X: x(*c.VerifiedAt), Class: "cleanup", Label: "cleanup verified"})
	}
	for i := range g.Lines { // labels on two levels, so that close lines stay legible
		g.Lines[i].TextY = 12 + 11*(i%2)
		g.Lines[i].Anchor = "middle"
		if g.Lines[i].X > float64(tlWidth-70) {
			g.Lines[i].Anchor = "end"
		}
	}
	return g
}

// attemptBars draws one attempt: waiting for its job, then in its job until
// it launched or failed (or until now, while it runs).
func attemptBars(a Attempt, x func(time.Time) float64, now time.Time) []tlBar {
	if a.RequestedAt == nil {
		return nil
	}
	end := now
	class := "job"
	switch {
	case a.LaunchedAt != nil:
		end, class = *a.LaunchedAt, "ok"
	case a.FailedAt != nil:
		end, class = *a.FailedAt, "bad"
	}
	bar := func(from, to time.Time, class, title string) tlBar {
		return tlBar{X: x(from), W: max(x(to)-x(from), 2), Class: class, Title: title}
	}
	var out []tlBar
	if a.JobCreatedAt == nil {
		return append(out, bar(*a.RequestedAt, end, "wait", fmt.Sprintf("attempt %d requested at %s: %s", a.N, stamp(a.RequestedAt), a.Status)))
	}
	if a.JobCreatedAt.After(*a.RequestedAt) {
		out = append(out, bar(*a.RequestedAt, *a.JobCreatedAt, "wait", fmt.Sprintf("attempt %d requested at %s", a.N, stamp(a.RequestedAt))))
	}
	return append(out, bar(*a.JobCreatedAt, end, class, fmt.Sprintf("attempt %d in job %s (created %s): %s", a.N, a.JobID, stamp(a.JobCreatedAt), a.Status)))
}

// tickEvery is the smallest of 1, 2 or 5 times a power of ten seconds (or
// whole minutes and hours beyond) that gives at most ten ticks.
func tickEvery(span time.Duration) time.Duration {
	for _, unit := range []time.Duration{time.Second, time.Minute, time.Hour} {
		for _, n := range []time.Duration{1, 2, 5, 10, 15, 30} {
			if span/(n*unit) <= 10 {
				return n * unit
			}
		}
	}
	return 24 * time.Hour * (span/(240*time.Hour) + 1)
}
