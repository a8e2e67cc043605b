package web

import (
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// The console's drawings are computed here and drawn by the templates as
// SVG: numbers and escaped labels only.

// gantt is an execution's timeline: a bar per step and per server, from
// when it started to when it ended (or now, while it runs).
type gantt struct {
	Width, Height int
	Label         int // the label column's width
	Rows          []ganttRow
	Ticks         []ganttTick
	NowX          float64 // the "now" line, while it runs; 0: none
}

type ganttRow struct {
	Y, TextY int
	Label    string
	Server   bool // a server's row (a step's otherwise)
	Bar      bool // whether it has a bar yet
	X, W     float64
	Class    string // ok, bad, run, wait, skip
	Title    string
}

type ganttTick struct {
	X     float64
	Label string
}

const (
	ganttWidth = 880
	ganttLabel = 200
	ganttRowH  = 24
	ganttTop   = 24
)

// statusClass is the colour of a step's or a server's status.
func statusClass(status string) string {
	switch status {
	case "LAUNCHED", "succeeded":
		return "ok"
	case "FAILED", "failed":
		return "bad"
	case "IN_PROGRESS", "REQUESTED", "running":
		return "run"
	case "skipped":
		return "skip"
	}
	return "wait"
}

// buildGantt draws s as of now; last is its latest event's time (the
// engine's clock may run ahead of the server's, a simulator's does).
func buildGantt(s *engine.State, now, last time.Time) gantt {
	g := gantt{Width: ganttWidth, Label: ganttLabel}
	t0 := s.Started
	t1 := now
	if last.After(t1) {
		t1 = last
	}
	if s.Final() && !s.Finished.IsZero() {
		t1 = s.Finished
	}
	if !t1.After(t0) {
		t1 = t0.Add(time.Second)
	}
	span := t1.Sub(t0)
	plot := float64(ganttWidth - ganttLabel - 10)
	x := func(t time.Time) float64 {
		if t.Before(t0) {
			t = t0
		}
		if t.After(t1) {
			t = t1
		}
		return float64(ganttLabel) + plot*float64(t.Sub(t0))/float64(span)
	}
	bar := func(row *ganttRow, from, to time.Time) {
		if from.IsZero() {
			return
		}
		if to.IsZero() || to.After(t1) {
			to = t1
		}
		row.Bar, row.X = true, x(from)
		row.W = max(x(to)-row.X, 2)
	}
	y := ganttTop
	add := func(r ganttRow) {
		r.Y, r.TextY = y, y+16
		g.Rows = append(g.Rows, r)
		y += ganttRowH
	}
	for _, name := range s.Order {
		st := s.Steps[name]
		end := st.Ended
		if end.IsZero() && s.Final() {
			end = s.Finished
		}
		r := ganttRow{Label: name, Class: statusClass(st.Status), Title: fmt.Sprintf("step %s: %s", name, st.Status)}
		bar(&r, st.Started, end)
		add(r)
		for _, sp := range st.Spec.Servers {
			sv := st.Servers[sp.ID]
			if sv == nil {
				continue
			}
			r := ganttRow{Label: sv.ID, Server: true, Class: statusClass(sv.Status), Title: fmt.Sprintf("server %s: %s", sv.ID, sv.Status)}
			if sv.JobID != "" {
				r.Title += ", job " + sv.JobID
			}
			if sv.InstanceID != "" {
				r.Title += ", instance " + sv.InstanceID
			}
			if len(sv.History) > 0 {
				to := sv.LaunchedAt
				if to.IsZero() && sv.Status == "FAILED" {
					to = end
				}
				bar(&r, sv.History[0].Requested, to)
			}
			add(r)
		}
	}
	g.Height = y + 8
	// Ticks: the smallest step that gives at most 8 of them.
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	every := steps[len(steps)-1]
	for _, d := range steps {
		if span/d <= 8 {
			every = d
			break
		}
	}
	for d := time.Duration(0); d <= span; d += every {
		g.Ticks = append(g.Ticks, ganttTick{X: x(t0.Add(d)), Label: "+" + d.String()})
	}
	if !s.Final() {
		g.NowX = x(t1)
	}
	return g
}

// graph is a plan's steps drawn left to right by depth: a step stands one
// column after the latest of the steps it comes after.
type graph struct {
	Width, Height int
	Nodes         []graphNode
	Edges         []graphEdge
}

type graphNode struct {
	X, Y, W, H   int
	TextX, TextY int
	Name         string
	Detail       string
}

type graphEdge struct{ X1, Y1, X2, Y2 int }

const (
	nodeW, nodeH = 160, 44
	colGap       = 60
	rowGap       = 20
)

func buildGraph(steps []ripcord.Step) graph {
	depth := map[string]int{}
	byName := map[string]ripcord.Step{}
	for _, st := range steps {
		byName[st.Name] = st
	}
	var visit func(name string, seen map[string]bool) int
	visit = func(name string, seen map[string]bool) int {
		if d, ok := depth[name]; ok {
			return d
		}
		if seen[name] { // a cycle: validation refuses it, but never loop
			return 0
		}
		seen[name] = true
		d := 0
		for _, a := range byName[name].After {
			if _, ok := byName[a]; ok {
				d = max(d, visit(a, seen)+1)
			}
		}
		depth[name] = d
		return d
	}
	rows := map[int]int{}
	pos := map[string]graphNode{}
	var g graph
	for _, st := range steps {
		d := visit(st.Name, map[string]bool{})
		r := rows[d]
		rows[d]++
		n := graphNode{X: 10 + d*(nodeW+colGap), Y: 10 + r*(nodeH+rowGap), W: nodeW, H: nodeH, Name: st.Name}
		n.TextX, n.TextY = n.X+10, n.Y+18
		switch st.Kind {
		case ripcord.StepWait:
			n.Detail = "wait " + st.Duration.String()
		default:
			n.Detail = fmt.Sprintf("launch: %d groups, %d servers", len(st.Groups), len(st.Servers))
		}
		pos[st.Name] = n
		g.Nodes = append(g.Nodes, n)
		g.Width = max(g.Width, n.X+nodeW+10)
		g.Height = max(g.Height, n.Y+nodeH+10)
	}
	for _, st := range steps {
		to := pos[st.Name]
		for _, a := range st.After {
			from, ok := pos[a]
			if !ok {
				continue
			}
			g.Edges = append(g.Edges, graphEdge{X1: from.X + from.W, Y1: from.Y + from.H/2, X2: to.X - 4, Y2: to.Y + to.H/2})
		}
	}
	return g
}
