package plan

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// SourceServerInfo is what resolution needs to know of one source server:
// its ID and its tags. The caller lists each target's source servers from
// DRS (DescribeSourceServers) when an execution starts.
type SourceServerInfo struct {
	ID   string
	Tags map[string]string
}

// Resolve turns the launch steps of the plan named planName in f into
// concrete source servers, given the source servers of each target, keyed
// by target name. It returns one ResolvedStep per launch step, in step
// order; the caller freezes them into the execution.
//
// It fails when f is invalid, when an explicit server ID is not among its
// target's servers, when a group's selector matches no server, or when the
// servers' tags put one server into two launch steps. Every such problem is
// reported, each as a *ripcord.Error. Resolve makes no calls: it is pure.
func Resolve(f *ripcord.PlanFile, planName string, servers map[string][]SourceServerInfo) ([]ripcord.ResolvedStep, error) {
	if err := Validate(f); err != nil {
		return nil, err
	}
	p, ok := f.Plan(planName)
	if !ok {
		_, err := f.Extract(planName) // the ENOTFOUND error naming the plans
		return nil, err
	}
	r := resolver{f: f, byTarget: map[string]map[string]SourceServerInfo{}}
	for name, list := range servers {
		m := make(map[string]SourceServerInfo, len(list))
		for _, s := range list {
			m[s.ID] = s
		}
		r.byTarget[name] = m
	}

	type firstUse struct{ step, via string }
	used := map[string]firstUse{} // target/ID -> first step
	var out []ripcord.ResolvedStep
	for _, s := range p.Steps {
		if s.Kind != ripcord.StepLaunch {
			continue
		}
		step := map[string]*ripcord.ResolvedServer{} // target/ID
		add := func(target, id, via string) *ripcord.ResolvedServer {
			key := target + "/" + id
			rs := step[key]
			if rs == nil {
				rs = &ripcord.ResolvedServer{Target: target, ID: id}
				step[key] = rs
				if u, dup := used[key]; dup {
					r.errs = append(r.errs, &ripcord.Error{Code: ripcord.EINVALID,
						Message: fmt.Sprintf("server %s is launched by two steps of plan %q: %q%s and %q%s", id, p.Name, u.step, through(u.via), s.Name, through(via)),
						Hint:    "a server may be in only one launch step of a plan: make the selectors or server lists disjoint"})
				} else {
					used[key] = firstUse{s.Name, via}
				}
			}
			if via != "" && !slices.Contains(rs.Groups, via) {
				rs.Groups = append(rs.Groups, via)
			}
			return rs
		}
		for _, name := range s.Groups {
			g, _ := f.ProtectionGroup(name)
			for _, id := range r.group(g) {
				add(g.Target, id, g.Name)
			}
		}
		for _, ref := range s.Servers {
			if r.exists(fmt.Sprintf("step %q", s.Name), ref.Target, ref.ID) {
				add(ref.Target, ref.ID, "").Optional = ref.Optional
			}
		}
		rs := ripcord.ResolvedStep{Step: s.Name, Servers: make([]ripcord.ResolvedServer, 0, len(step))}
		for _, srv := range step {
			rs.Servers = append(rs.Servers, *srv)
		}
		slices.SortFunc(rs.Servers, func(a, b ripcord.ResolvedServer) int {
			return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.ID, b.ID))
		})
		for i := range rs.Servers {
			r.launchOf(&rs.Servers[i]) // in order, so that errors name the same first server every time
		}
		out = append(out, rs)
	}
	for _, k := range slices.Sorted(maps.Keys(r.clashes)) {
		c := r.clashes[k]
		more := ""
		if c.servers > 1 {
			more = fmt.Sprintf(" (and %d more servers)", c.servers-1)
		}
		r.errs = append(r.errs, &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("server %s%s is in protection groups %q and %q, whose %s disagree on %s: %s in %q, %s in %q",
				c.server, more, c.first, c.second, c.where, c.change.Field, c.change.From, c.first, c.change.To, c.second),
			Hint: "set the field in one of the groups only, or give the server its own value in a serverLaunch: (a server's entry wins over launch:)"})
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return out, nil
}

// launchClash is two protection groups that set a launch field of the same
// servers to different values.
type launchClash struct {
	first, second, where string
	change               ripcord.LaunchChange // From: the first group's value, To: the second's
	server               string               // the first server found
	servers              int
}

// launchOf sets the launch overrides of a resolved server from the
// protection groups that selected it: their serverLaunch entries for it
// win over their launch:, field by field. Groups that disagree at the same
// level are an error (one per pair of groups and field).
func (r *resolver) launchOf(rs *ripcord.ResolvedServer) {
	var groupLevel, serverLevel ripcord.LaunchOverrides
	type setting struct {
		group string
		o     ripcord.LaunchOverrides
	}
	var groups, servers []setting
	merge := func(acc *ripcord.LaunchOverrides, seen *[]setting, name, where string, o ripcord.LaunchOverrides) {
		for _, c := range acc.Conflicts(o) {
			first := ""
			for _, prev := range *seen {
				for _, pc := range prev.o.Conflicts(o) {
					if pc.Field == c.Field && first == "" {
						first = prev.group
					}
				}
			}
			key := first + "\x00" + name + "\x00" + where + "\x00" + c.Field
			if r.clashes == nil {
				r.clashes = map[string]*launchClash{}
			}
			if cl := r.clashes[key]; cl != nil {
				cl.servers++
				continue
			}
			r.clashes[key] = &launchClash{first: first, second: name, where: where, change: c, server: rs.ID, servers: 1}
		}
		*acc = acc.Under(o)
		*seen = append(*seen, setting{name, o})
	}
	for _, name := range rs.Groups {
		g, _ := r.f.ProtectionGroup(name)
		if g.Launch != nil {
			merge(&groupLevel, &groups, g.Name, "launch settings", *g.Launch)
		}
		if o, ok := g.ServerLaunch[rs.ID]; ok {
			merge(&serverLevel, &servers, g.Name, "serverLaunch entries for it", o)
		}
	}
	if o := serverLevel.Under(groupLevel); !o.IsZero() {
		rs.Launch = &o
	}
}

func through(group string) string {
	if group == "" {
		return ""
	}
	return fmt.Sprintf(" (through protection group %q)", group)
}

type resolver struct {
	f        *ripcord.PlanFile
	byTarget map[string]map[string]SourceServerInfo
	errs     []error
	clashes  map[string]*launchClash
}

// describeTarget names a target with its account and region.
func (r *resolver) describeTarget(name string) string {
	t, _ := r.f.Target(name)
	return fmt.Sprintf("target %q (account %s, %s)", name, t.Account, t.Region)
}

// exists reports whether id is a source server of target, and records an
// error if not.
func (r *resolver) exists(subj, target, id string) bool {
	if _, ok := r.byTarget[target][id]; ok {
		return true
	}
	r.errs = append(r.errs, &ripcord.Error{Code: ripcord.ENOTFOUND,
		Message: fmt.Sprintf("%s: server %s is not a source server of %s", subj, id, r.describeTarget(target)),
		Hint:    "check the ID, and that the server replicates to this account and region (aws drs describe-source-servers)"})
	return false
}

// group returns the IDs of g's servers, sorted: its explicit servers and
// the servers its selector matches.
func (r *resolver) group(g *ripcord.ProtectionGroup) []string {
	subj := fmt.Sprintf("protection group %q", g.Name)
	var ids []string
	for _, id := range g.Servers {
		if r.exists(subj, g.Target, id) {
			ids = append(ids, id)
		}
	}
	if g.Selector != nil {
		inventory := r.byTarget[g.Target]
		matched := 0
		for _, s := range inventory {
			if matches(g.Selector, s.Tags) {
				matched++
				if !slices.Contains(ids, s.ID) {
					ids = append(ids, s.ID)
				}
			}
		}
		if matched == 0 {
			r.errs = append(r.errs, &ripcord.Error{Code: ripcord.ENOTFOUND,
				Message: fmt.Sprintf("%s: selector %s matches none of the %d source servers of %s", subj, selectorString(g.Selector), len(inventory), r.describeTarget(g.Target)),
				Hint:    "check the tags of the source servers; tag keys and values are case-sensitive"})
		}
	}
	slices.Sort(ids)
	return ids
}

// matches reports whether tags carry every tag of sel with its value.
func matches(sel, tags map[string]string) bool {
	for k, v := range sel {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// selectorString writes a selector as "Application=orders, Tier=database".
func selectorString(sel map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ", ")
}
