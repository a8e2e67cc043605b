package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
)

// The console's pages of what DRS holds now (servers, protection groups,
// the overview's targets), an execution's DRS job logs, and the diff of
// two plan versions. What DRS does not answer is said on the page, which
// still renders: never a failed page for DRS.

const (
	// inventoryTimeout bounds how long a page waits for DRS's lists of
	// source servers, all targets together.
	inventoryTimeout = 10 * time.Second
	// jobLogTimeout bounds how long an execution's page (or its live
	// fragment) waits for DRS's job logs, all jobs together.
	jobLogTimeout = 5 * time.Second
	// maxJobLogLines is how many of a job's latest log lines a page shows.
	maxJobLogLines = 300
)

// noInventoryNote says why a page shows nothing of DRS.
const noInventoryNote = "This server does not reach DRS, so it cannot show the servers' replication now: " +
	"ripcord serve connects to each plan's targets (ripcord servers shows them from a workstation)."

// planInv is one plan's targets as DRS shows them now.
type planInv struct {
	Name    string
	File    *ripcord.PlanFile // the latest version: the plan and what it uses
	RPO     time.Duration
	Servers []client.ServerInfo
	Raw     map[string][]ripcord.SourceServer // as DRS listed them, by target name
	Failed  map[string]string                 // targets DRS did not list: why
}

// inventoryOf reads the latest version of plan only (every plan with "")
// and what DRS holds in its targets now, by plan name. Without an
// Inventory it reads the plans only and says why in note. Only the store's
// failure is an error; DRS's are each plan's Failed.
func (h *Handler) inventoryOf(ctx context.Context, only string) (plans []planInv, note string, err error) {
	files, err := h.latestPlans(ctx, only)
	if err != nil {
		return nil, "", err
	}
	if h.cfg.Inventory == nil {
		note = noInventoryNote
	}
	ctx, cancel := context.WithTimeout(ctx, inventoryTimeout)
	defer cancel()
	var list listServers
	if h.cfg.Inventory != nil {
		list = memoServers(h.cfg.Inventory)
	}
	for _, name := range sortedNames(files) {
		one := files[name]
		p := planInv{Name: name, File: one, Failed: map[string]string{}}
		if pl, ok := one.Plan(name); ok {
			p.RPO = pl.Settings.RPOTarget
		}
		if list != nil {
			var failed []targetFailure
			p.Servers, p.Raw, failed = resolveServers(ctx, name, one, list)
			for _, f := range failed {
				p.Failed[f.Target] = "DRS did not list its servers: " + errMessage(f.Err)
			}
		}
		plans = append(plans, p)
	}
	return plans, note, nil
}

// lagText is a replication lag as a page shows it.
func lagText(seconds float64) string {
	if seconds <= 0 {
		return "none"
	}
	return time.Duration(seconds * float64(time.Second)).Round(time.Second).String()
}

// consoleFilter reads a page's plan= and target= filters: names, or "".
func consoleFilter(r *http.Request, params ...string) (map[string]string, error) {
	if err := checkQuery(r, params); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range params {
		v := r.URL.Query().Get(p)
		if v != "" && !planNameRe.MatchString(v) {
			return nil, fail(ripcord.EINVALID, fmt.Sprintf("%s=%q is not a name", p, v),
				"a plan's or target's name is 1 to 63 letters, digits, '.', '_' and '-', starting with a letter or digit")
		}
		out[p] = v
	}
	return out, nil
}

// targetRow is a target on the overview: its servers' readiness now.
type targetRow struct {
	Plan, Name, Account, Region string
	Servers, Ready, NotReady    int
	WorstLag                    string
	Error                       string // DRS did not list it
}

// targetRows summarizes each plan's targets from inv.
func targetRows(inv []planInv) []targetRow {
	var out []targetRow
	for _, p := range inv {
		for _, t := range p.File.Targets {
			row := targetRow{Plan: p.Name, Name: t.Name, Account: t.Account, Region: t.Region, Error: p.Failed[t.Name]}
			worst := 0.0
			for _, s := range p.Servers {
				if s.Target != t.Name {
					continue
				}
				row.Servers++
				if s.Ready {
					row.Ready++
				} else {
					row.NotReady++
				}
				worst = max(worst, s.LagSeconds)
			}
			row.WorstLag = lagText(worst)
			out = append(out, row)
		}
	}
	return out
}

// serverRow is a server on the servers page.
type serverRow struct {
	Plan string
	client.ServerInfo
	Lag string
}

type serversView struct {
	Plan, Target           string // the filters
	Plans, Targets         []string
	Rows                   []serverRow
	Total, Ready, NotReady int
	Failures               []string // targets DRS did not list
	Note                   string   // why nothing of DRS is shown
}

// serversPage lists every server of every saved plan's targets as DRS shows
// them now, the servers that are not ready first; plan= and target=
// filter.
func (h *Handler) serversPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	f, err := consoleFilter(r, "plan", "target")
	if err != nil {
		return err
	}
	inv, note, err := h.inventoryOf(r.Context(), f["plan"])
	if err != nil {
		return err
	}
	if f["plan"] != "" && len(inv) == 0 {
		return fail(ripcord.ENOTFOUND, fmt.Sprintf("no plan named %q is saved", f["plan"]), "the servers page without a filter lists every plan's")
	}
	v := serversView{Plan: f["plan"], Target: f["target"], Note: note}
	all, err := h.latestPlans(r.Context(), "")
	if err != nil {
		return err
	}
	v.Plans = sortedNames(all)
	targets := map[string]bool{}
	for _, p := range inv {
		for _, t := range p.File.Targets {
			targets[t.Name] = true
			if v.Target != "" && t.Name != v.Target {
				continue
			}
			if why := p.Failed[t.Name]; why != "" {
				v.Failures = append(v.Failures, fmt.Sprintf("plan %s, target %s (account %s, %s): %s", p.Name, t.Name, t.Account, t.Region, why))
			}
		}
		for _, sv := range p.Servers {
			if v.Target != "" && sv.Target != v.Target {
				continue
			}
			v.Rows = append(v.Rows, serverRow{Plan: p.Name, ServerInfo: sv, Lag: lagText(sv.LagSeconds)})
			v.Total++
			if sv.Ready {
				v.Ready++
			} else {
				v.NotReady++
			}
		}
	}
	v.Targets = sortedNames(targets)
	slices.SortStableFunc(v.Rows, func(a, b serverRow) int {
		if a.Ready != b.Ready {
			if !a.Ready {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Plan, b.Plan), strings.Compare(a.Target, b.Target), strings.Compare(a.ID, b.ID))
	})
	h.render(w, r, http.StatusOK, "servers", "", h.data(id, s, "Servers", "servers", v))
	return nil
}

// groupRow is a protection group on the groups page.
type groupRow struct {
	Plan, Name, Target string
	Servers            []string // its explicit servers
	Selector           string
	Steps              []string // the steps that launch it
	Counted            bool     // DRS listed its target: Resolved and Ready say something
	Resolved, Ready    int
	Missing            []string // explicit servers DRS does not hold
	Error              string
}

type groupsView struct {
	Plan   string
	Plans  []string
	Groups []groupRow
	Note   string
}

// groupsPage lists each plan's protection groups with how many servers they
// resolve to in DRS now; plan= filters.
func (h *Handler) groupsPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	f, err := consoleFilter(r, "plan")
	if err != nil {
		return err
	}
	inv, note, err := h.inventoryOf(r.Context(), f["plan"])
	if err != nil {
		return err
	}
	if f["plan"] != "" && len(inv) == 0 {
		return fail(ripcord.ENOTFOUND, fmt.Sprintf("no plan named %q is saved", f["plan"]), "the groups page without a filter lists every plan's")
	}
	all, err := h.latestPlans(r.Context(), "")
	if err != nil {
		return err
	}
	v := groupsView{Plan: f["plan"], Plans: sortedNames(all), Note: note}
	for _, p := range inv {
		pl, _ := p.File.Plan(p.Name)
		for _, g := range p.File.ProtectionGroups {
			row := groupRow{Plan: p.Name, Name: g.Name, Target: g.Target, Servers: g.Servers, Selector: selectorText(g.Selector),
				Error: p.Failed[g.Target]}
			if pl != nil {
				for _, st := range pl.Steps {
					if slices.Contains(st.Groups, g.Name) {
						row.Steps = append(row.Steps, st.Name)
					}
				}
			}
			if raw, ok := p.Raw[g.Target]; ok {
				row.Counted = true
				row.Resolved, row.Ready, row.Missing = resolveGroup(g, raw, p.RPO)
			}
			v.Groups = append(v.Groups, row)
		}
	}
	slices.SortStableFunc(v.Groups, func(a, b groupRow) int {
		return cmp.Or(strings.Compare(a.Plan, b.Plan), strings.Compare(a.Name, b.Name))
	})
	h.render(w, r, http.StatusOK, "groups", "", h.data(id, s, "Protection groups", "groups", v))
	return nil
}

// resolveGroup counts the servers group g takes from its target's servers
// as DRS listed them (its explicit servers and those its selector
// matches, as plan.Resolve takes them), how many of those are ready under
// rpo, and the explicit servers DRS does not hold.
func resolveGroup(g ripcord.ProtectionGroup, servers []ripcord.SourceServer, rpo time.Duration) (resolved, ready int, missing []string) {
	byID := map[string]ripcord.SourceServer{}
	for _, s := range servers {
		byID[s.ID] = s
	}
	taken := map[string]bool{}
	for _, id := range g.Servers {
		if _, ok := byID[id]; ok {
			taken[id] = true
		} else {
			missing = append(missing, id)
		}
	}
	if len(g.Selector) > 0 {
		for _, s := range servers {
			if tagsMatch(g.Selector, s.Tags) {
				taken[s.ID] = true
			}
		}
	}
	for id := range taken {
		if ok, _ := byID[id].Ready(rpo); ok {
			ready++
		}
	}
	return len(taken), ready, missing
}

// tagsMatch reports whether tags carry every tag of sel with its value.
func tagsMatch(sel, tags map[string]string) bool {
	for k, v := range sel {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// selectorText writes a selector as "Application=orders, Tier=database".
func selectorText(sel map[string]string) string {
	parts := make([]string, 0, len(sel))
	for _, k := range sortedNames(sel) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ", ")
}

// jobLogView is one DRS job of an execution with its log, as the
// execution's page shows it.
type jobLogView struct {
	ID, Target, Kind, Step string
	Servers                int
	Final                  bool
	Fetched                time.Time // when the log was read from DRS
	Lines                  []jobLogLine
	Earlier                int    // earlier lines not shown
	Error                  string // why there is no log to show
}

type jobLogLine struct {
	At                      time.Time
	Event, Server, Instance string
	Error                   string
	Bad                     bool // a failure or a skipped server
}

// jobLogViews reads the log of each DRS job execution s recorded, through
// the job log cache; a job whose log cannot be read says why. note says
// why no log is shown at all.
func (h *Handler) jobLogViews(ctx context.Context, s *engine.State) (views []jobLogView, note string) {
	jobs := execJobs(s)
	if len(jobs) == 0 {
		return nil, "No DRS job yet."
	}
	if h.cfg.Inventory == nil {
		note = "This server does not reach DRS, so the jobs' logs are not shown: aws drs describe-job-log-items --job-id ID shows one."
	}
	ctx, cancel := context.WithTimeout(ctx, jobLogTimeout)
	defer cancel()
	for _, j := range jobs {
		v := jobLogView{ID: j.ID, Target: j.Target, Kind: "launch", Step: j.Step, Servers: len(j.Servers), Final: j.Final}
		if j.Terminate {
			v.Kind = "terminate"
		}
		t, ok := targetNamed(s.Spec.Targets, j.Target)
		switch {
		case h.cfg.Inventory == nil:
		case !ok:
			v.Error = fmt.Sprintf("the execution does not say how to reach its target %s", j.Target)
		default:
			items, fetched, err := h.jobLog(ctx, t, j)
			v.Fetched = fetched
			if err != nil {
				v.Error = fmt.Sprintf("DRS did not give this job's log: %s (asked again at most every %s)", errMessage(err), jobLogRefresh)
			}
			if n := len(items); n > maxJobLogLines {
				v.Earlier, items = n-maxJobLogLines, items[n-maxJobLogLines:]
			}
			for _, it := range items {
				v.Lines = append(v.Lines, jobLogLine{At: it.At, Event: it.Event, Server: it.SourceServerID, Instance: it.TargetInstanceID,
					Error: it.RawError, Bad: it.RawError != "" || strings.Contains(it.Event, "FAIL") || strings.Contains(it.Event, "SKIPPED")})
			}
		}
		views = append(views, v)
	}
	return views, note
}

// diffView is the diff of two versions of a plan.
type diffView struct {
	Name           string
	From, To       ripcord.PlanVersion
	Lines          []client.DiffLine
	Added, Removed int
}

// planDiffPage shows the line diff of two versions of a plan (from= and
// to=, hashes), as the API's diff computes it.
func (h *Handler) planDiffPage(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	if err := checkQuery(r, []string{"from", "to"}); err != nil {
		return err
	}
	v := diffView{Name: name}
	for _, p := range []struct {
		param string
		v     *ripcord.PlanVersion
	}{{"from", &v.From}, {"to", &v.To}} {
		q := r.URL.Query().Get(p.param)
		if q == "" {
			return fail(ripcord.EINVALID, "the diff needs from= and to=", "the plan's page links each older version's diff against the latest")
		}
		hash, err := planHash(p.param, q)
		if err != nil {
			return err
		}
		if *p.v, err = h.version(r, name, hash); err != nil {
			return err
		}
	}
	v.Lines = diffLines(splitLines(diffable(v.From.Source)), splitLines(diffable(v.To.Source)))
	for _, l := range v.Lines {
		switch l.Op {
		case "+":
			v.Added++
		case "-":
			v.Removed++
		}
	}
	h.render(w, r, http.StatusOK, "diff", "", h.data(id, s, "Plan "+name+": diff", "plans", v))
	return nil
}
