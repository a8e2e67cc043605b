package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ripcord-dr/ripcord"
)

// Decode reads the plan file data and validates it. filename names the file
// in error positions. It returns the file with defaults applied and waves
// turned into steps, or an [ErrorList] holding every problem found, sorted
// by position.
func Decode(filename string, data []byte) (*ripcord.PlanFile, error) {
	d := &decoder{src: &source{file: filename, pos: map[string]Pos{}, tainted: map[string]bool{}, waves: map[string]bool{}}}
	f := d.decode(data)
	if f != nil {
		d.errs = append(d.errs, validate(f, d.src)...)
	}
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	f.Source = data
	return f, nil
}

// source maps the paths of a decoded file's values ("plans[0].steps[2].after[1]",
// indexes into the decoded slices) to their positions, and records the
// objects whose decoding already failed somewhere.
type source struct {
	file    string
	pos     map[string]Pos
	tainted map[string]bool // object paths with a decoding error
	waves   map[string]bool // step paths written under waves:
}

// at returns the position of path, or of its nearest ancestor that has one.
// A nil source (a file built in code) knows no positions.
func (s *source) at(path string) Pos {
	if s == nil {
		return Pos{}
	}
	for {
		if p, ok := s.pos[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return Pos{File: s.file, Line: 1, Column: 1}
}

// isTainted reports whether the object at path had a decoding error. Checks
// for missing values skip such objects: the value is likely there under a
// misspelled key or in the wrong shape, which is already reported.
func (s *source) isTainted(path string) bool { return s != nil && s.tainted[path] }

// isWave reports whether the step at path was written under waves:.
func (s *source) isWave(path string) bool { return s != nil && s.waves[path] }

// decoder turns a YAML node tree into the domain types, checking keys and
// the shapes of values. Rules on the values themselves live in validate.go.
type decoder struct {
	src  *source
	errs ErrorList
}

// add records an error at node n, inside the object at path obj.
func (d *decoder) add(n *yaml.Node, obj, msg, hint string) {
	d.errs = append(d.errs, &Error{Pos: d.nodePos(n), Message: msg, Hint: hint})
	d.src.tainted[obj] = true
}

func (d *decoder) nodePos(n *yaml.Node) Pos {
	return Pos{File: d.src.file, Line: max(n.Line, 1), Column: max(n.Column, 1)}
}

// record remembers the position of the value at path.
func (d *decoder) record(path string, n *yaml.Node) { d.src.pos[path] = d.nodePos(n) }

// yamlLineRe matches the line number yaml.v3 puts in its syntax errors.
var yamlLineRe = regexp.MustCompile(`^yaml: line ([0-9]+): `)

// yamlParserProblems are the problems yaml.v3's parser (as opposed to its
// scanner) reports. For these it gives a line counted from 0, and the line
// where the enclosing list or mapping starts rather than the line of the
// problem.
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntax records a YAML syntax error. The YAML library reports a line but
// no column, so the error points at the start of that line, except for a
// tab in the indentation, which is found exactly.
func (d *decoder) syntax(err error, data []byte) {
	msg := err.Error()
	line := 0
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	hint := "fix the syntax; a YAML linter shows more"
	if yamlParserProblems[msg] {
		line++
		hint = "look at this line and the block that starts here: indentation, brackets, quotes"
	}
	pos := Pos{File: d.src.file, Line: max(line, 1), Column: 1}
	if strings.Contains(msg, "tab character") {
		if p, ok := indentTab(data, pos.Line); ok {
			pos.Line, pos.Column = p.Line, p.Column
			msg, hint = "a tab in the indentation", "YAML indents with spaces only: replace the tab with spaces"
		}
	}
	d.errs = append(d.errs, &Error{Pos: pos, Message: "invalid YAML: " + msg, Hint: hint})
}

// indentTab finds the first tab in the indentation of a line at or after
// line from.
func indentTab(data []byte, from int) (Pos, bool) {
	for i, l := range strings.Split(string(data), "\n") {
		if i+1 < from {
			continue
		}
		for col, r := range l {
			if r == '\t' {
				return Pos{Line: i + 1, Column: col + 1}, true
			}
			if r != ' ' {
				break
			}
		}
	}
	return Pos{}, false
}

func (d *decoder) decode(data []byte) *ripcord.PlanFile {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		d.errs = append(d.errs, &Error{Pos: Pos{File: d.src.file, Line: 1, Column: 1},
			Message: "the file is empty", Hint: "a plan file needs at least a plans: list; see docs/plans.md"})
		return nil
	} else if err != nil {
		d.syntax(err, data)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != nil && !errors.Is(err, io.EOF) {
		d.syntax(err, data)
		return nil
	} else if err == nil && !isEmptyDocument(&next) {
		d.add(&next, "", "the file holds more than one YAML document",
			"a plan file is one document: remove this --- line, or split the file")
		return nil
	}
	root := doc.Content[0]
	if isNull(root) {
		d.add(root, "", "the file is empty", "a plan file needs at least a plans: list; see docs/plans.md")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.add(root, "", "the file must be a mapping with the keys "+strings.Join(fileObject.keys(), ", ")+", not "+describe(root), "")
		return nil
	}
	return d.file(root)
}

// isEmptyDocument reports whether n is a document with no content, such as
// what follows a trailing "---".
func isEmptyDocument(n *yaml.Node) bool {
	return n.Kind == yaml.DocumentNode && (len(n.Content) == 0 ||
		(n.Content[0].Kind == yaml.ScalarNode && n.Content[0].ShortTag() == "!!null" && n.Content[0].Value == ""))
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe says what n is, for messages: "a list", "a string (\"x\")"…
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		v := n.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:37]) + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!int", "!!float":
			return "a number (" + v + ")"
		case "!!bool":
			return "a boolean (" + v + ")"
		}
		return "a string (" + strconv.Quote(v) + ")"
	}
	return "a document"
}

// values are the value nodes of an object's keys: those present with a
// non-null value of the right shape. get panics on a key that is not in the
// object's spec, so the decoder cannot read a key the spec (and with it the
// schema and the docs test) does not know.
type values struct {
	obj *object
	m   map[string]*yaml.Node
}

// get returns the value of key, or nil when it is absent.
func (v values) get(key string) *yaml.Node {
	if v.obj.field(key) == nil {
		panic("plan: the decoder reads key " + strconv.Quote(key) + " that the spec of " + v.obj.name + " does not declare")
	}
	return v.m[key]
}

// fields checks that n is a mapping with keys of obj only, each once, and
// values of the right shape. It returns the value node of each key present
// with a non-null value, and false when n is not a mapping. path is the
// object's path, subject how messages name it (`step "app"`).
func (d *decoder) fields(n *yaml.Node, obj *object, path, subject string) (values, bool) {
	d.record(path, n)
	if n.Kind != yaml.MappingNode {
		d.add(n, path, fmt.Sprintf("%s must be a mapping with keys such as %s, not %s", subject, strings.Join(obj.keys()[:min(3, len(obj.fields))], ", "), describe(n)),
			"write key: value lines under it")
		return values{}, false
	}
	m := map[string]*yaml.Node{}
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			d.add(k, path, fmt.Sprintf("%s has a key that is %s", subject, describe(k)), "keys are plain words such as "+obj.fields[0].key)
			continue
		}
		key := k.Value
		if key == "<<" {
			d.add(k, path, fmt.Sprintf("merge key << in %s is not supported", subject), "write the keys out")
			continue
		}
		if prev, dup := first[key]; dup {
			d.add(k, path, fmt.Sprintf("duplicate key %q in %s", key, subject), fmt.Sprintf("the first is at line %d; remove one", prev.Line))
			continue
		}
		first[key] = k
		fd := obj.field(key)
		if fd == nil {
			d.add(k, path, fmt.Sprintf("unknown key %q in %s", key, subject), suggest(key, obj.keys(), "valid keys are "))
			continue
		}
		d.record(path+"."+key, v)
		if v.Kind == yaml.AliasNode {
			d.add(v, path, fmt.Sprintf("%s of %s is a YAML alias (*%s)", key, subject, v.Value), "aliases are not supported in plan files; write the value out")
			continue
		}
		if isNull(v) {
			continue // as if the key were absent
		}
		if want := shapeOf(fd.kind); v.Kind != want {
			hint := ""
			switch {
			case fd.shapeHint != "":
				hint = fd.shapeHint
			case want == yaml.SequenceNode && v.Kind == yaml.ScalarNode:
				hint = fmt.Sprintf("write [%s]", v.Value)
			case want == yaml.ScalarNode && v.Kind == yaml.SequenceNode && len(v.Content) == 1 && v.Content[0].Kind == yaml.ScalarNode:
				hint = fmt.Sprintf("write %s without brackets", v.Content[0].Value)
			}
			d.add(v, path, fmt.Sprintf("%s of %s must be %s, not %s", key, subject, fd.describeKind(), describe(v)), hint)
			continue
		}
		m[key] = v
	}
	return values{obj, m}, true
}

// shapeOf returns the YAML node kind that values of kind k have.
func shapeOf(k valueKind) yaml.Kind {
	switch {
	case k.isList():
		return yaml.SequenceNode
	case k == kTags, k == kObject, k == kObjectMap, k == kStringMap, k == kStringLists, k == kHeaders:
		return yaml.MappingNode
	}
	return yaml.ScalarNode
}

// name returns the value of n's "name" key when it is a plain scalar, for
// naming the object in messages before its keys are checked.
func name(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Kind == yaml.ScalarNode && k.Value == "name" && v.Kind == yaml.ScalarNode && !isNull(v) {
			return v.Value
		}
	}
	return ""
}

// subject names an object for messages: `step "app"`, or `step #2` when it
// has no name.
func subject(kind, name string, index int) string {
	if name == "" {
		return fmt.Sprintf("%s #%d", kind, index+1)
	}
	return fmt.Sprintf("%s %q", kind, name)
}

// items returns the items of the list value of key, or nil.
func items(m values, key string) []*yaml.Node {
	if v := m.get(key); v != nil {
		return v.Content
	}
	return nil
}

// scalar returns the text of the scalar value of key, or "".
func scalar(m values, key string) string {
	if v := m.get(key); v != nil {
		return v.Value
	}
	return ""
}

// duration decodes the duration value of key.
func (d *decoder) duration(m values, key, path, subject string) time.Duration {
	v := m.get(key)
	if v == nil {
		return 0
	}
	dur, err := time.ParseDuration(v.Value)
	if err != nil {
		d.add(v, path, fmt.Sprintf("%s of %s: %q is not a duration", key, subject, v.Value), "use Go durations such as 10m, 90s or 1h30m")
		d.src.tainted[path+"."+key] = true
		return 0
	}
	return dur
}

// list decodes a list of plain values (names, server IDs) and records the
// position of each under path.key[i].
func (d *decoder) list(m values, key, path, subject string) []string {
	var out []string
	for _, it := range items(m, key) {
		if it.Kind != yaml.ScalarNode || isNull(it) {
			d.add(it, path, fmt.Sprintf("%s of %s has an entry that is %s", key, subject, describe(it)), "each entry is a plain name or ID")
			continue
		}
		d.record(fmt.Sprintf("%s.%s[%d]", path, key, len(out)), it)
		out = append(out, it.Value)
	}
	return out
}

func (d *decoder) file(root *yaml.Node) *ripcord.PlanFile {
	m, _ := d.fields(root, fileObject, "", "the file")
	f := &ripcord.PlanFile{}
	for i, it := range items(m, "targets") {
		if t, ok := d.target(it, fmt.Sprintf("targets[%d]", len(f.Targets)), i); ok {
			f.Targets = append(f.Targets, t)
		}
	}
	for i, it := range items(m, "protectionGroups") {
		if g, ok := d.group(it, fmt.Sprintf("protectionGroups[%d]", len(f.ProtectionGroups)), i); ok {
			f.ProtectionGroups = append(f.ProtectionGroups, g)
		}
	}
	for i, it := range items(m, "plans") {
		if p, ok := d.plan(it, fmt.Sprintf("plans[%d]", len(f.Plans)), i); ok {
			f.Plans = append(f.Plans, p)
		}
	}
	// A server of a step is in the file's only target unless it says. (Two
	// targets of the same name are already an error; they count as one here.)
	if only := f.Targets; len(only) > 0 && !slices.ContainsFunc(only, func(t ripcord.Target) bool { return t.Name != only[0].Name }) {
		for i := range f.Plans {
			for j := range f.Plans[i].Steps {
				for k := range f.Plans[i].Steps[j].Servers {
					if r := &f.Plans[i].Steps[j].Servers[k]; r.Target == "" {
						r.Target = f.Targets[0].Name
					}
				}
				st := &f.Plans[i].Steps[j]
				for _, h := range st.AllHooks() {
					if h.SSM != nil && h.SSM.Target == "" {
						h.SSM.Target = f.Targets[0].Name // SSM is a pointer: this sets the step's
					}
				}
			}
		}
	}
	return f
}

func (d *decoder) target(n *yaml.Node, path string, index int) (ripcord.Target, bool) {
	m, ok := d.fields(n, targetObject, path, subject("target", name(n), index))
	if !ok {
		return ripcord.Target{}, false
	}
	return ripcord.Target{
		Name:       scalar(m, "name"),
		Account:    scalar(m, "account"),
		Region:     scalar(m, "region"),
		RoleARN:    scalar(m, "roleArn"),
		ExternalID: scalar(m, "externalId"),
		Endpoint:   scalar(m, "endpoint"),
	}, true
}

func (d *decoder) group(n *yaml.Node, path string, index int) (ripcord.ProtectionGroup, bool) {
	subj := subject("protection group", name(n), index)
	m, ok := d.fields(n, groupObject, path, subj)
	if !ok {
		return ripcord.ProtectionGroup{}, false
	}
	g := ripcord.ProtectionGroup{
		Name:    scalar(m, "name"),
		Target:  scalar(m, "target"),
		Servers: d.list(m, "servers", path, subj),
	}
	if sel := m.get("selector"); sel != nil {
		g.Selector = map[string]string{}
		first := map[string]int{}
		for i := 0; i+1 < len(sel.Content); i += 2 {
			k, v := sel.Content[i], sel.Content[i+1]
			if k.Kind != yaml.ScalarNode || isNull(k) {
				d.add(k, path, fmt.Sprintf("selector of %s has a tag key that is %s", subj, describe(k)), "tag keys are plain text, such as Tier")
				continue
			}
			if line, dup := first[k.Value]; dup {
				d.add(k, path, fmt.Sprintf("duplicate tag %q in the selector of %s", k.Value, subj), fmt.Sprintf("the first is at line %d; a tag has one value", line))
				continue
			}
			first[k.Value] = k.Line
			d.record(fmt.Sprintf("%s.selector[%q]", path, k.Value), k)
			if v.Kind != yaml.ScalarNode || isNull(v) {
				d.add(v, path, fmt.Sprintf("tag %q in the selector of %s must have a value, not %s", k.Value, subj, describe(v)),
					fmt.Sprintf(`write %s: value, or %s: "" to match an empty tag`, k.Value, k.Value))
				continue
			}
			g.Selector[k.Value] = v.Value
		}
	}
	if n := m.get("launch"); n != nil {
		if o, ok := d.launch(n, path+".launch", "launch of "+subj); ok {
			g.Launch = &o
		}
	}
	if sl := m.get("serverLaunch"); sl != nil {
		g.ServerLaunch = map[string]ripcord.LaunchOverrides{}
		first := map[string]int{}
		for i := 0; i+1 < len(sl.Content); i += 2 {
			k, v := sl.Content[i], sl.Content[i+1]
			if k.Kind != yaml.ScalarNode || isNull(k) {
				d.add(k, path, fmt.Sprintf("serverLaunch of %s has a key that is %s", subj, describe(k)), "keys are source server IDs, such as s-3c1730a9e0771ea14")
				continue
			}
			if line, dup := first[k.Value]; dup {
				d.add(k, path, fmt.Sprintf("duplicate server %s in the serverLaunch of %s", k.Value, subj), fmt.Sprintf("the first is at line %d; merge the two", line))
				continue
			}
			first[k.Value] = k.Line
			p := fmt.Sprintf("%s.serverLaunch[%q]", path, k.Value)
			d.record(p, k)
			if o, ok := d.launch(v, p, fmt.Sprintf("the serverLaunch of server %s in %s", k.Value, subj)); ok {
				g.ServerLaunch[k.Value] = o
			}
		}
	}
	return g, true
}

// launch decodes launch overrides: a group's launch: or one server's entry
// in its serverLaunch:. Values are checked by the validator, but for the
// booleans, whose YAML type decides.
func (d *decoder) launch(n *yaml.Node, path, subj string) (ripcord.LaunchOverrides, bool) {
	if n.Kind != yaml.MappingNode || isNull(n) {
		d.record(path, n)
		d.add(n, path, fmt.Sprintf("%s must be a mapping with keys such as disposition, copyTags, not %s", subj, describe(n)),
			"write {disposition: STARTED, copyTags: true}")
		return ripcord.LaunchOverrides{}, false
	}
	m, ok := d.fields(n, launchObject, path, subj)
	if !ok {
		return ripcord.LaunchOverrides{}, false
	}
	o := ripcord.LaunchOverrides{Disposition: scalar(m, "disposition"), RightSizing: scalar(m, "rightSizing")}
	for _, b := range []struct {
		key string
		to  **bool
	}{{"copyPrivateIp", &o.CopyPrivateIP}, {"copyTags", &o.CopyTags}, {"byol", &o.BYOL}} {
		v := m.get(b.key)
		if v == nil {
			continue
		}
		var val bool
		if v.ShortTag() != "!!bool" || v.Decode(&val) != nil {
			d.add(v, path, fmt.Sprintf("%s of %s must be true or false, not %s", b.key, subj, describe(v)), "write true or false, without quotes")
			continue
		}
		*b.to = &val
	}
	return o, true
}

func (d *decoder) plan(n *yaml.Node, path string, index int) (ripcord.Plan, bool) {
	subj := subject("plan", name(n), index)
	m, ok := d.fields(n, planObject, path, subj)
	if !ok {
		return ripcord.Plan{}, false
	}
	p := ripcord.Plan{
		Name:        scalar(m, "name"),
		Description: scalar(m, "description"),
		Settings: ripcord.Settings{
			RTOTarget:        d.duration(m, "rto", path, subj),
			RPOTarget:        d.duration(m, "rpo", path, subj),
			FailurePolicy:    ripcord.FailurePolicy(scalar(m, "failurePolicy")),
			ConflictDeadline: d.duration(m, "conflictDeadline", path, subj),
			StepTimeout:      d.duration(m, "stepTimeout", path, subj),
			OutageLimit:      d.duration(m, "outageLimit", path, subj),
			DrillEvery:       d.duration(m, "drillEvery", path, subj),
			Schedule:         scalar(m, "schedule"),
			TimeZone:         scalar(m, "timeZone"),
			CleanupAfter:     d.duration(m, "cleanupAfter", path, subj),
		},
	}
	for i, it := range items(m, "notify") {
		if n, ok := d.notification(it, fmt.Sprintf("%s.notify[%d]", path, len(p.Settings.Notify)), i); ok {
			p.Settings.Notify = append(p.Settings.Notify, n)
		}
	}
	if m.get("failurePolicy") == nil {
		p.Settings.FailurePolicy = ripcord.FailureStop
	}
	if m.get("conflictDeadline") == nil || d.src.tainted[path+".conflictDeadline"] {
		// Absent, or not a duration (already reported): not also "must be
		// greater than 0".
		p.Settings.ConflictDeadline = ripcord.DefaultConflictDeadline
	}
	prev := "" // the previous wave
	for i, it := range items(m, "waves") {
		stepPath := fmt.Sprintf("%s.steps[%d]", path, len(p.Steps))
		s, ok := d.step(it, stepPath, i, "wave", prev)
		if ok {
			d.src.waves[stepPath] = true
			p.Steps = append(p.Steps, s)
			prev = s.Name
		}
	}
	for i, it := range items(m, "steps") {
		if s, ok := d.step(it, fmt.Sprintf("%s.steps[%d]", path, len(p.Steps)), i, "step", ""); ok {
			p.Steps = append(p.Steps, s)
		}
	}
	return p, true
}

// notification decodes one destination of a plan's notify: list.
func (d *decoder) notification(n *yaml.Node, path string, index int) (ripcord.Notification, bool) {
	subj := subject("notification", "", index)
	m, ok := d.fields(n, notifyObject, path, subj)
	if !ok {
		return ripcord.Notification{}, false
	}
	return ripcord.Notification{
		Webhook: scalar(m, "webhook"),
		Format:  scalar(m, "format"),
		SNS:     scalar(m, "sns"),
		Target:  scalar(m, "target"),
		Events:  d.list(m, "events", path, subj),
	}, true
}

// step decodes a step or a wave. A wave is after the previous wave, prev.
func (d *decoder) step(n *yaml.Node, path string, index int, kind, prev string) (ripcord.Step, bool) {
	subj := subject(kind, name(n), index)
	m, ok := d.fields(n, stepObject, path, subj)
	if !ok {
		return ripcord.Step{}, false
	}
	s := ripcord.Step{
		Name:     scalar(m, "name"),
		Kind:     ripcord.StepKind(scalar(m, "kind")),
		Groups:   d.list(m, "groups", path, subj),
		Duration: d.duration(m, "duration", path, subj),
	}
	if m.get("kind") == nil {
		s.Kind = ripcord.StepLaunch
	}
	s.Approval = d.approval(m, path, subj)
	s.Health = d.checks(m, "health", path, subj)
	s.Checks = d.checks(m, "checks", path, subj)
	s.Hook, s.Hooks = d.stepHooks(m, path, subj)
	if prev != "" {
		s.After = append(s.After, prev)
		d.record(path+".after[0]", n)
	}
	for _, it := range items(m, "after") {
		if it.Kind != yaml.ScalarNode || isNull(it) {
			d.add(it, path, fmt.Sprintf("after of %s has an entry that is %s", subj, describe(it)), "each entry is a step name")
			continue
		}
		if it.Value == prev {
			continue // the wave is after the previous one anyway
		}
		d.record(fmt.Sprintf("%s.after[%d]", path, len(s.After)), it)
		s.After = append(s.After, it.Value)
	}
	for _, it := range items(m, "servers") {
		if r, ok := d.serverRef(it, fmt.Sprintf("%s.servers[%d]", path, len(s.Servers)), path, subj); ok {
			s.Servers = append(s.Servers, r)
		}
	}
	return s, true
}

// serverRef decodes a server of a step: an ID, or a mapping with an id.
func (d *decoder) serverRef(n *yaml.Node, path, stepPath, stepSubject string) (ripcord.ServerRef, bool) {
	d.record(path, n)
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		d.record(path+".id", n)
		return ripcord.ServerRef{ID: n.Value}, true
	case n.Kind != yaml.MappingNode:
		d.add(n, stepPath, fmt.Sprintf("servers of %s has an entry that is %s", stepSubject, describe(n)),
			"write a source server ID, or {id: s-…, optional: true}")
		return ripcord.ServerRef{}, false
	}
	subj := "a server of " + stepSubject
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "id" && v.Kind == yaml.ScalarNode && !isNull(v) {
			subj = fmt.Sprintf("server %s of %s", v.Value, stepSubject)
		}
	}
	m, ok := d.fields(n, serverRefObject, path, subj)
	if !ok {
		return ripcord.ServerRef{}, false
	}
	r := ripcord.ServerRef{ID: scalar(m, "id"), Target: scalar(m, "target")}
	if v := m.get("optional"); v != nil {
		if v.ShortTag() != "!!bool" || v.Decode(&r.Optional) != nil {
			d.add(v, stepPath, fmt.Sprintf("optional of %s must be true or false, not %s", subj, describe(v)), "")
		}
	}
	if d.src.tainted[path] {
		d.src.tainted[stepPath] = true // the step may look empty without this server
	}
	return r, true
}
