package plan

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

// Validate checks a plan file built in code or read from a store with the
// rules [Decode] applies to files. Its errors carry no positions.
func Validate(f *ripcord.PlanFile) error {
	if f == nil {
		return ErrorList{{Message: "no plan file"}}
	}
	return validate(f, nil).err()
}

// validator checks the values of a decoded plan file. Each check names the
// path of the value it is about; src turns paths into positions.
type validator struct {
	src  *source
	f    *ripcord.PlanFile
	errs ErrorList
}

func validate(f *ripcord.PlanFile, src *source) ErrorList {
	v := &validator{src: src, f: f}
	v.file()
	return v.errs
}

func (v *validator) add(path, msg, hint string) {
	v.errs = append(v.errs, &Error{Pos: v.src.at(path), Message: msg, Hint: hint})
}

// firstAt returns hint, preceded by "the first is at line N; " when the
// position of the first occurrence, at path, is known.
func (v *validator) firstAt(path, hint string) string {
	if v.src != nil {
		if p := v.src.at(path); p.Line > 0 {
			return fmt.Sprintf("the first is at line %d; %s", p.Line, hint)
		}
	}
	return hint
}

// names tracks the names of one kind of thing, to find duplicates.
type names struct {
	kind  string
	first map[string]string // name -> path of its first use
}

func newNames(kind string) *names { return &names{kind: kind, first: map[string]string{}} }

// name reports a missing, bad or duplicate name of the object at path.
func (v *validator) name(n *names, name, path, subj string) {
	switch {
	case name == "":
		if !v.src.isTainted(path) {
			v.add(path, subj+" has no name", "add name: followed by a name")
		}
		return
	case !nameRe.MatchString(name):
		v.add(path+".name", fmt.Sprintf("%s name %q is not valid", n.kind, name),
			"use 1 to 63 letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	if first, dup := n.first[name]; dup {
		v.add(path+".name", fmt.Sprintf("duplicate %s name %q", n.kind, name), v.firstAt(first, "names must be unique: rename one"))
		return
	}
	n.first[name] = path + ".name"
}

func (v *validator) file() {
	f := v.f
	if len(f.Plans) == 0 && !v.src.isTainted("") {
		v.add("", "the file declares no plans", "add a plans: list; see docs/plans.md")
	}
	targetNames := newNames("target")
	for i, t := range f.Targets {
		v.target(targetNames, t, fmt.Sprintf("targets[%d]", i), i)
	}
	groupNames := newNames("protection group")
	for i, g := range f.ProtectionGroups {
		v.group(groupNames, g, fmt.Sprintf("protectionGroups[%d]", i), i)
	}
	v.serverTargets()
	planNames := newNames("plan")
	for i := range f.Plans {
		v.plan(planNames, &f.Plans[i], fmt.Sprintf("plans[%d]", i), i)
	}
}

func (v *validator) target(n *names, t ripcord.Target, path string, i int) {
	subj := subject("target", t.Name, i)
	v.name(n, t.Name, path, subj)
	switch {
	case t.Account == "":
		if !v.src.isTainted(path) {
			v.add(path, subj+" has no account", `add account: followed by the 12-digit AWS account ID, such as account: "111122223333"`)
		}
	case !accountRe.MatchString(t.Account):
		v.add(path+".account", fmt.Sprintf("account %q of %s is not an AWS account ID", t.Account, subj), `use the 12 digits, quoted, such as "111122223333"`)
	}
	switch {
	case t.Region == "":
		if !v.src.isTainted(path) {
			v.add(path, subj+" has no region", "add region: followed by the AWS region where DRS runs, such as us-east-1")
		}
	case !regionRe.MatchString(t.Region):
		v.add(path+".region", fmt.Sprintf("region %q of %s is not an AWS region name", t.Region, subj), "use a name such as us-east-1 or eu-west-2, in lower case")
	}
	if t.RoleARN != "" {
		if m := roleARNRe.FindStringSubmatch(t.RoleARN); m == nil {
			v.add(path+".roleArn", fmt.Sprintf("roleArn %q of %s is not an IAM role ARN", t.RoleARN, subj), "use arn:aws:iam::ACCOUNT:role/NAME")
		} else if accountRe.MatchString(t.Account) && m[1] != t.Account {
			v.add(path+".roleArn", fmt.Sprintf("roleArn of %s is a role in account %s, but the target's account is %s", subj, m[1], t.Account),
				"DRS is called in the account of the role assumed: use a role in "+t.Account+", or correct account")
		}
	}
	if t.ExternalID != "" {
		if t.RoleARN == "" {
			v.add(path+".externalId", fmt.Sprintf("%s has an externalId but no roleArn", subj), "an external ID is passed when assuming a role: add roleArn, or remove externalId")
		}
		if !externalIDRe.MatchString(t.ExternalID) || len(t.ExternalID) > maxExternalID {
			v.add(path+".externalId", fmt.Sprintf("externalId of %s is not a valid external ID", subj), "use 2 to 1224 letters, digits and +=,.@:/_-")
		}
	}
	if t.Endpoint != "" {
		if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(path+".endpoint", fmt.Sprintf("endpoint %q of %s is not an http or https URL", t.Endpoint, subj), "use a URL such as http://127.0.0.1:4566")
		}
	}
}

// targetNames lists the file's target names, for hints.
func (v *validator) targetNames() []string {
	out := make([]string, len(v.f.Targets))
	for i, t := range v.f.Targets {
		out[i] = t.Name
	}
	return out
}

func (v *validator) groupNames() []string {
	out := make([]string, len(v.f.ProtectionGroups))
	for i, g := range v.f.ProtectionGroups {
		out[i] = g.Name
	}
	return out
}

// unknown reports a reference to a kind of thing that does not exist.
func (v *validator) unknown(path, subj, kind, ref string, known []string) {
	hint := suggest(ref, known, "the "+kind+"s are ")
	if len(known) == 0 {
		hint = fmt.Sprintf("the file declares no %ss", kind)
	}
	v.add(path, fmt.Sprintf("%s: unknown %s %q", subj, kind, ref), hint)
}

func (v *validator) group(n *names, g ripcord.ProtectionGroup, path string, i int) {
	subj := subject("protection group", g.Name, i)
	v.name(n, g.Name, path, subj)
	switch _, ok := v.f.Target(g.Target); {
	case g.Target == "":
		if !v.src.isTainted(path) {
			hint := "add target: followed by the name of a target"
			if len(v.f.Targets) == 1 {
				hint = "add target: " + v.f.Targets[0].Name
			}
			v.add(path, subj+" has no target", hint)
		}
	case !ok:
		v.unknown(path+".target", subj, "target", g.Target, v.targetNames())
	}
	switch {
	case g.Selector != nil && len(g.Selector) == 0:
		v.add(path+".selector", fmt.Sprintf("selector of %s is empty and would match every server of the target", subj),
			"name at least one tag, such as {Tier: database}, or list the servers")
	case g.Selector == nil && len(g.Servers) == 0:
		if !v.src.isTainted(path) {
			v.add(path, subj+" selects no servers", "add servers: [s-…] and/or selector: {Tier: database}")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(g.Selector)) {
		p := fmt.Sprintf("%s.selector[%q]", path, k)
		switch {
		case k == "" || len(k) > maxTagKey:
			v.add(p, fmt.Sprintf("selector of %s has a tag key of %d characters", subj, len(k)), fmt.Sprintf("AWS tag keys have 1 to %d characters", maxTagKey))
		case len(g.Selector[k]) > maxTagValue:
			v.add(p, fmt.Sprintf("tag %q in the selector of %s has a value of %d characters", k, subj, len(g.Selector[k])), fmt.Sprintf("AWS tag values have at most %d characters", maxTagValue))
		}
	}
	seen := map[string]string{}
	for j, id := range g.Servers {
		p := fmt.Sprintf("%s.servers[%d]", path, j)
		if !v.serverID(p, id, subj) {
			continue
		}
		if first, dup := seen[id]; dup {
			v.add(p, fmt.Sprintf("server %s is listed twice in %s", id, subj), v.firstAt(first, "remove one"))
			continue
		}
		seen[id] = p
	}
	if g.Launch != nil {
		v.launch(*g.Launch, path+".launch", "launch of "+subj)
	}
	for _, id := range slices.Sorted(maps.Keys(g.ServerLaunch)) {
		p := fmt.Sprintf("%s.serverLaunch[%q]", path, id)
		if !v.serverID(p, id, "the serverLaunch of "+subj) {
			continue
		}
		if g.Selector == nil && !slices.Contains(g.Servers, id) {
			hint := "add it to servers:, or correct the ID"
			if h := suggest(id, g.Servers, ""); h != "" {
				hint = h
			}
			v.add(p, fmt.Sprintf("serverLaunch of %s names server %s, which is not one of its servers", subj, id), hint)
		}
		v.launch(g.ServerLaunch[id], p, fmt.Sprintf("the serverLaunch of server %s in %s", id, subj))
	}
}

// launch checks the values of launch overrides at path.
func (v *validator) launch(o ripcord.LaunchOverrides, path, subj string) {
	if o.Disposition != "" && !slices.Contains(ripcord.LaunchDispositions, o.Disposition) {
		v.add(path+".disposition", fmt.Sprintf("disposition %q of %s is not a launch disposition", o.Disposition, subj),
			suggest(o.Disposition, ripcord.LaunchDispositions, "use one of "))
	}
	if o.RightSizing != "" && !slices.Contains(ripcord.RightSizingMethods, o.RightSizing) {
		v.add(path+".rightSizing", fmt.Sprintf("rightSizing %q of %s is not a right-sizing method", o.RightSizing, subj),
			suggest(o.RightSizing, ripcord.RightSizingMethods, "use one of "))
	}
}

// serverID reports a malformed source server ID and says whether id is
// well formed.
func (v *validator) serverID(path, id, subj string) bool {
	if serverIDRe.MatchString(id) {
		return true
	}
	if id == "" {
		v.add(path, fmt.Sprintf("a server of %s has no id", subj), "add id: followed by a source server ID, such as s-3c1730a9e0771ea14")
		return false
	}
	v.add(path, fmt.Sprintf("%q in %s is not a source server ID", id, subj), `a source server ID is "s-" and 17 letters or digits, such as s-3c1730a9e0771ea14`)
	return false
}

// serverTargets reports a server ID that the file places in two targets:
// a source server lives in exactly one.
func (v *validator) serverTargets() {
	type claim struct{ target, by, path string }
	first := map[string]claim{}
	check := func(id, target, by, path string) {
		if id == "" || target == "" {
			return
		}
		c, ok := first[id]
		if !ok {
			first[id] = claim{target, by, path}
			return
		}
		if c.target != target {
			v.add(path, fmt.Sprintf("server %s is in target %q here but in target %q in %s", id, target, c.target, c.by),
				"a source server is in exactly one target: correct the target or the ID")
		}
	}
	for i, g := range v.f.ProtectionGroups {
		for j, id := range g.Servers {
			check(id, g.Target, subject("protection group", g.Name, i), fmt.Sprintf("protectionGroups[%d].servers[%d]", i, j))
		}
	}
	for i, p := range v.f.Plans {
		for j, s := range p.Steps {
			for k, r := range s.Servers {
				check(r.ID, r.Target, fmt.Sprintf("step %q of plan %q", s.Name, p.Name), fmt.Sprintf("plans[%d].steps[%d].servers[%d]", i, j, k))
			}
		}
	}
}

func (v *validator) plan(n *names, p *ripcord.Plan, path string, i int) {
	subj := subject("plan", p.Name, i)
	v.name(n, p.Name, path, subj)
	set := p.Settings
	if !slices.Contains(ripcord.FailurePolicies, set.FailurePolicy) {
		v.add(path+".failurePolicy", fmt.Sprintf("failurePolicy %q of %s is not a failure policy", set.FailurePolicy, subj),
			suggest(string(set.FailurePolicy), strs(ripcord.FailurePolicies), "use one of "))
	}
	for _, d := range []struct {
		key      string
		value    int64
		positive bool // zero is not allowed either
	}{
		{"rto", int64(set.RTOTarget), false},
		{"rpo", int64(set.RPOTarget), false},
		{"conflictDeadline", int64(set.ConflictDeadline), true},
		{"stepTimeout", int64(set.StepTimeout), false},
		{"outageLimit", int64(set.OutageLimit), false},
		{"drillEvery", int64(set.DrillEvery), false},
		{"cleanupAfter", int64(set.CleanupAfter), false},
	} {
		if d.value < 0 || (d.positive && d.value == 0) {
			v.add(path+"."+d.key, fmt.Sprintf("%s of %s must be greater than 0", d.key, subj), "use a positive Go duration such as 15m")
		}
	}
	v.notifications(p, path, subj)
	v.schedule(set, path, subj)
	if len(p.Steps) == 0 {
		if !v.src.isTainted(path) {
			v.add(path, subj+" has no steps", "add waves: (one after the other) or steps: (with after:)")
		}
		return
	}
	stepNames := newNames("step")
	for j := range p.Steps {
		v.step(stepNames, p, j, fmt.Sprintf("%s.steps[%d]", path, j))
	}
	v.launchOnce(p, path)
	v.cycles(p, path)
}

// stepSubject names step j of p for messages: `step "app"`, `wave "app"`.
func (v *validator) stepSubject(p *ripcord.Plan, j int, path string) string {
	kind := "step"
	if v.src.isWave(path) {
		kind = "wave"
	}
	return subject(kind, p.Steps[j].Name, j)
}

func (v *validator) step(n *names, p *ripcord.Plan, j int, path string) {
	s := p.Steps[j]
	subj := v.stepSubject(p, j, path)
	v.name(n, s.Name, path, subj)

	// What the step's kind allows.
	switch {
	case s.Kind == ripcord.StepLaunch:
		if len(s.Groups) == 0 && len(s.Servers) == 0 && !v.src.isTainted(path) {
			v.add(path, fmt.Sprintf("%s launches nothing", subj), "add groups: [...] and/or servers: [...], or make it a wait step with kind: wait")
		}
		if s.Duration != 0 {
			v.add(path+".duration", fmt.Sprintf("%s has a duration, which only wait steps have", subj), "remove duration, or add kind: wait and move the launches to another step")
		}
	case s.Kind == ripcord.StepWait:
		if s.Duration <= 0 && !(s.Duration == 0 && v.src.isTainted(path)) {
			v.add(path, fmt.Sprintf("wait %s needs a duration greater than 0", subj), "add duration: followed by a Go duration, such as duration: 2m")
		}
		if len(s.Groups) > 0 || len(s.Servers) > 0 {
			v.add(path, fmt.Sprintf("wait %s cannot launch groups or servers", subj), "remove groups and servers, or make it a launch step")
		}
	case s.Kind == ripcord.StepApproval, s.Kind == ripcord.StepCheck, s.Kind == ripcord.StepHook:
	default:
		v.add(path+".kind", fmt.Sprintf("%s: unknown kind %q", subj, s.Kind), suggest(string(s.Kind), strs(ripcord.StepKinds), "use "))
	}

	v.approval(s, path, subj)
	v.stepChecks(p, &s, path, subj)
	v.hooks(s, path, subj)

	// after:
	stepNames := make([]string, len(p.Steps))
	for k, t := range p.Steps {
		stepNames[k] = t.Name
	}
	seen := map[string]string{}
	for k, a := range s.After {
		ap := fmt.Sprintf("%s.after[%d]", path, k)
		switch {
		case a == s.Name:
			v.add(ap, fmt.Sprintf("%s is after itself", subj), "remove "+a+" from its after: list")
			continue
		case !slices.Contains(stepNames, a):
			v.unknown(ap, subj, "step", a, stepNames)
			continue
		}
		if first, dup := seen[a]; dup {
			v.add(ap, fmt.Sprintf("%s lists %q twice in after", subj, a), v.firstAt(first, "remove one"))
			continue
		}
		seen[a] = ap
	}

	// groups:
	seen = map[string]string{}
	for k, g := range s.Groups {
		gp := fmt.Sprintf("%s.groups[%d]", path, k)
		if _, ok := v.f.ProtectionGroup(g); !ok {
			v.unknown(gp, subj, "protection group", g, v.groupNames())
			continue
		}
		if first, dup := seen[g]; dup {
			v.add(gp, fmt.Sprintf("%s lists protection group %q twice", subj, g), v.firstAt(first, "remove one"))
			continue
		}
		seen[g] = gp
	}

	// servers:
	seen = map[string]string{}
	for k, r := range s.Servers {
		sp := fmt.Sprintf("%s.servers[%d]", path, k)
		if !v.serverID(sp+".id", r.ID, subj) {
			continue
		}
		switch _, ok := v.f.Target(r.Target); {
		case r.Target == "" && len(v.f.Targets) == 0:
			v.add(sp, fmt.Sprintf("server %s of %s is in no target: the file declares no targets", r.ID, subj), "add a targets: list")
		case r.Target == "" && len(v.f.Targets) == 1: // only in a file built in code: the decoder fills it in
			v.add(sp, fmt.Sprintf("server %s of %s has no target", r.ID, subj), "set its target to "+v.f.Targets[0].Name)
		case r.Target == "":
			v.add(sp, fmt.Sprintf("server %s of %s needs a target, since the file declares %d targets (%s)", r.ID, subj, len(v.f.Targets), strings.Join(v.targetNames(), ", ")),
				fmt.Sprintf("write {id: %s, target: %s}", r.ID, v.f.Targets[0].Name))
		case !ok:
			v.unknown(sp+".target", fmt.Sprintf("server %s of %s", r.ID, subj), "target", r.Target, v.targetNames())
		}
		if first, dup := seen[r.ID]; dup {
			v.add(sp, fmt.Sprintf("server %s is listed twice in %s", r.ID, subj), v.firstAt(first, "remove one"))
			continue
		}
		seen[r.ID] = sp
	}
}

// launchOnce reports a server or a protection group that two launch steps
// of p launch: DRS would launch it twice. A step may list a server of one of
// its own groups, to mark it optional.
func (v *validator) launchOnce(p *ripcord.Plan, path string) {
	type use struct {
		step int
		via  string // the group, or "" for an explicit server
	}
	groupStep := map[string]int{}
	serverUse := map[string]use{} // target/ID -> first use
	claim := func(j int, target, id, via, at string) {
		key := target + "/" + id
		u, ok := serverUse[key]
		if !ok {
			serverUse[key] = use{j, via}
			return
		}
		if u.step == j {
			return
		}
		how := func(u use) string {
			if u.via == "" {
				return ""
			}
			return fmt.Sprintf(" (through protection group %q)", u.via)
		}
		v.add(at, fmt.Sprintf("server %s is launched by two steps of plan %q: %q%s and %q%s", id, p.Name,
			p.Steps[u.step].Name, how(u), p.Steps[j].Name, how(use{j, via})),
			"a server may be in only one launch step of a plan; remove it from one")
	}
	for j, s := range p.Steps {
		if s.Kind != ripcord.StepLaunch {
			continue
		}
		sp := fmt.Sprintf("%s.steps[%d]", path, j)
		for k, name := range s.Groups {
			g, ok := v.f.ProtectionGroup(name)
			if !ok {
				continue
			}
			if first, used := groupStep[name]; used {
				if first != j {
					v.add(fmt.Sprintf("%s.groups[%d]", sp, k), fmt.Sprintf("protection group %q is launched by two steps of plan %q: %q and %q", name, p.Name, p.Steps[first].Name, s.Name),
						"a server may be in only one launch step of a plan; remove the group from one")
				}
				continue
			}
			groupStep[name] = j
			for _, id := range g.Servers {
				claim(j, g.Target, id, name, fmt.Sprintf("%s.groups[%d]", sp, k))
			}
		}
		for k, r := range s.Servers {
			claim(j, r.Target, r.ID, "", fmt.Sprintf("%s.servers[%d]", sp, k))
		}
	}
}

// cycles reports each cycle of after: dependencies in p.
func (v *validator) cycles(p *ripcord.Plan, path string) {
	g := buildGraph(p)
	for _, c := range g.cycles() {
		start := c[0]
		// Point at the start's after: entry that leads into the cycle.
		at := fmt.Sprintf("%s.steps[%d]", path, start)
		if len(c) > 1 {
			for k, a := range p.Steps[start].After {
				if a == p.Steps[c[1]].Name {
					at = fmt.Sprintf("%s.steps[%d].after[%d]", path, start, k)
					break
				}
			}
		}
		v.add(at, "dependency cycle: "+g.cycleString(c)+` ("a -> b" means a is after b)`,
			"a step cannot wait for itself: remove one of these after: entries or reorder the waves")
	}
}
