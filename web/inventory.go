package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/plan"
)

// Inventory asks DRS what a target holds: ripcord serve's supervisor, over
// the connections it drives executions with.
type Inventory interface {
	SourceServers(ctx context.Context, t ripcord.Target) ([]ripcord.SourceServer, error)
}

// latestPlans decodes the latest saved version of the plan named name, or
// of every plan with name "", by name. A plan whose latest version does not
// decode is left out (and logged), never shown by an older version.
func (h *Handler) latestPlans(ctx context.Context, name string) (map[string]*ripcord.PlanFile, error) {
	vs, err := h.cfg.Store.ListPlanVersions(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]*ripcord.PlanFile{}
	seen := map[string]bool{}
	for _, v := range vs { // newest first
		if seen[v.Name] {
			continue
		}
		seen[v.Name] = true
		f, err := plan.Decode(v.Name+".yaml", v.Source)
		if err != nil {
			h.log.WarnContext(ctx, "a saved plan version does not decode", "plan", v.Name, "version", v.Hash, "error", err)
			continue
		}
		one, err := f.Extract(v.Name)
		if err != nil {
			continue
		}
		out[v.Name] = one
	}
	return out, nil
}

func (h *Handler) listTargets(w http.ResponseWriter, r *http.Request, _ *identity) error {
	targets, err := perPlan(h, r.Context(), func(plan string, f *ripcord.PlanFile) (out []client.TargetInfo) {
		for _, t := range f.Targets {
			out = append(out, client.TargetInfo{Plan: plan, Name: t.Name, Account: t.Account, Region: t.Region, RoleARN: t.RoleARN})
		}
		return out
	}, func(t client.TargetInfo) string { return t.Name })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.TargetList{Targets: targets})
	return nil
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, _ *identity) error {
	groups, err := perPlan(h, r.Context(), func(plan string, f *ripcord.PlanFile) (out []client.GroupInfo) {
		for _, g := range f.ProtectionGroups {
			out = append(out, client.GroupInfo{Plan: plan, Name: g.Name, Target: g.Target, Servers: g.Servers, Selector: g.Selector})
		}
		return out
	}, func(g client.GroupInfo) string { return g.Name })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.GroupList{Groups: groups})
	return nil
}

// perPlan gathers what each plan's latest version holds (of), by plan and
// then by name.
func perPlan[T any](h *Handler, ctx context.Context, of func(plan string, f *ripcord.PlanFile) []T, name func(T) string) ([]T, error) {
	plans, err := h.latestPlans(ctx, "")
	if err != nil {
		return nil, err
	}
	out := []T{}
	for _, p := range sortedNames(plans) {
		items := of(p, plans[p])
		slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(name(a), name(b)) })
		out = append(out, items...)
	}
	return out, nil
}

// planServers answers the source servers of a plan's targets as DRS shows
// them now (serversOf).
func (h *Handler) planServers(w http.ResponseWriter, r *http.Request, _ *identity) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	servers, err := h.serversOf(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.ServerList{Servers: servers})
	return nil
}

// serversOf lists the source servers of the latest version of plan name's
// targets as DRS shows them now: readiness under the plan's RPO, and the
// steps and groups of the plan that launch each; by target, then ID.
func (h *Handler) serversOf(ctx context.Context, name string) ([]client.ServerInfo, error) {
	if h.cfg.Inventory == nil {
		return nil, fail(ripcord.EUNAVAILABLE, "this server does not reach DRS", "ask ripcord serve, which connects to each plan's targets")
	}
	plans, err := h.latestPlans(ctx, name)
	if err != nil {
		return nil, err
	}
	one := plans[name]
	if one == nil {
		return nil, fail(ripcord.ENOTFOUND, fmt.Sprintf("no plan named %q is saved", name), "GET /api/v1/plans lists them")
	}
	p, _ := one.Plan(name)
	known := map[string][]ripcord.SourceServer{}
	infos := map[string][]plan.SourceServerInfo{}
	for _, t := range one.Targets {
		list, err := h.cfg.Inventory.SourceServers(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		known[t.Name] = list
		for _, s := range list {
			infos[t.Name] = append(infos[t.Name], plan.SourceServerInfo{ID: s.ID, Tags: s.Tags})
		}
	}
	steps, groups := map[string][]string{}, map[string][]string{}
	if resolved, err := plan.Resolve(one, name, infos); err == nil {
		for _, rs := range resolved {
			for _, sv := range rs.Servers {
				key := sv.Target + "/" + sv.ID
				steps[key] = append(steps[key], rs.Step)
				for _, g := range sv.Groups {
					if !slices.Contains(groups[key], g) {
						groups[key] = append(groups[key], g)
					}
				}
			}
		}
	}
	out := []client.ServerInfo{}
	for _, t := range one.Targets {
		for _, s := range known[t.Name] {
			ready, why := s.Ready(p.Settings.RPOTarget)
			key := t.Name + "/" + s.ID
			out = append(out, client.ServerInfo{Target: t.Name, ID: s.ID, Hostname: s.Hostname, OS: s.OS,
				ReplicationState: s.ReplicationState, LagSeconds: s.Lag.Seconds(), Ready: ready, Why: why,
				Steps: steps[key], Groups: groups[key]})
		}
	}
	slices.SortFunc(out, func(a, b client.ServerInfo) int {
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
