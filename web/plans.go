package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"unicode"
	"unicode/utf8"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/plan"
)

// yamlTypes are the media types a plan file may be sent as; the first is
// the one to use.
var yamlTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}

// listPlans answers every plan by its latest version, by name.
func (h *Handler) listPlans(w http.ResponseWriter, r *http.Request, _ *identity) error {
	vs, err := h.cfg.Store.ListPlanVersions(r.Context(), "")
	if err != nil {
		return err
	}
	byName := map[string]*client.PlanSummary{}
	out := client.PlanList{Plans: []client.PlanSummary{}}
	for _, v := range vs { // newest first
		if p := byName[v.Name]; p != nil {
			p.Versions++
			continue
		}
		byName[v.Name] = &client.PlanSummary{Name: v.Name, Hash: v.Hash, Created: v.Created, Versions: 1}
	}
	for _, p := range byName {
		out.Plans = append(out.Plans, *p)
	}
	sort.Slice(out.Plans, func(i, j int) bool { return out.Plans[i].Name < out.Plans[j].Name })
	if err := h.staleness(r.Context(), out.Plans); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getPlan answers a version of a plan: the latest, or ?version=HASH.
func (h *Handler) getPlan(w http.ResponseWriter, r *http.Request, _ *identity) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	var v ripcord.PlanVersion
	if s := r.URL.Query().Get("version"); s != "" {
		hash, err := planHash("version", s)
		if err != nil {
			return err
		}
		if v, err = h.version(r, name, hash); err != nil {
			return err
		}
	} else {
		vs, err := h.versions(r, name)
		if err != nil {
			return err
		}
		v = vs[0]
	}
	writeJSON(w, http.StatusOK, planOf(v))
	return nil
}

// planVersions answers a plan's versions, newest first.
func (h *Handler) planVersions(w http.ResponseWriter, r *http.Request, _ *identity) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	vs, err := h.versions(r, name)
	if err != nil {
		return err
	}
	out := client.PlanVersionList{Versions: make([]client.PlanVersion, len(vs))}
	for i, v := range vs {
		out.Versions[i] = client.PlanVersion{Name: v.Name, Hash: v.Hash, Created: v.Created}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// planDiff answers the line diff of two versions of a plan.
func (h *Handler) planDiff(w http.ResponseWriter, r *http.Request, _ *identity) error {
	name, err := planName(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var from, to ripcord.PlanVersion
	for _, p := range []struct {
		param string
		v     *ripcord.PlanVersion
	}{{"from", &from}, {"to", &to}} {
		s := q.Get(p.param)
		if s == "" {
			return fail(ripcord.EINVALID, "the diff needs from= and to=", "name two versions by their hashes; GET /api/v1/plans/"+name+"/versions lists them")
		}
		hash, err := planHash(p.param, s)
		if err != nil {
			return err
		}
		if *p.v, err = h.version(r, name, hash); err != nil {
			return err
		}
	}
	lines := diffLines(splitLines(diffable(from.Source)), splitLines(diffable(to.Source)))
	writeJSON(w, http.StatusOK, client.PlanDiff{Name: name, From: from.Hash, To: to.Hash, Lines: lines,
		Unified: unified(lines, "a/"+name+"@"+short(from.Hash), "b/"+name+"@"+short(to.Hash), 3)})
	return nil
}

func short(hash string) string { return hash[:min(12, len(hash))] }

// versions returns the versions of the plan named name, newest first, or
// ENOTFOUND.
func (h *Handler) versions(r *http.Request, name string) ([]ripcord.PlanVersion, error) {
	vs, err := h.cfg.Store.ListPlanVersions(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fail(ripcord.ENOTFOUND, fmt.Sprintf("no plan named %q", name),
			"GET /api/v1/plans lists the plans; an admin saves one with POST /api/v1/plans")
	}
	return vs, nil
}

// version returns the version hash of the plan named name, or ENOTFOUND.
func (h *Handler) version(r *http.Request, name, hash string) (ripcord.PlanVersion, error) {
	v, err := h.cfg.Store.PlanVersion(r.Context(), hash)
	if ripcord.ErrorCode(err) == ripcord.ENOTFOUND || (err == nil && v.Name != name) {
		return ripcord.PlanVersion{}, fail(ripcord.ENOTFOUND, fmt.Sprintf("plan %s has no version %s", name, hash),
			"GET /api/v1/plans/"+name+"/versions lists its versions")
	}
	return v, err
}

// planOf is a version as the API shows it, with what its source says.
func planOf(v ripcord.PlanVersion) client.Plan {
	p := client.Plan{Name: v.Name, Hash: v.Hash, Created: v.Created, Source: string(v.Source), Format: "yaml"}
	if json.Valid(v.Source) {
		p.Format = "json"
	}
	f, err := plan.Decode("plan.yaml", v.Source) // YAML, or JSON written as a plan file
	if err != nil && p.Format == "json" {
		// The JSON of the plan and what it uses, as `ripcord run` saves it.
		f = &ripcord.PlanFile{}
		err = json.Unmarshal(v.Source, f)
	}
	if err == nil {
		if pl, ok := f.Plan(v.Name); ok {
			p.Plan, p.Description = pl, pl.Description
		}
	}
	return p
}

// readPlanFile reads and validates the plan file a request sends. A file
// that does not validate returns its problems and a nil file.
func (h *Handler) readPlanFile(w http.ResponseWriter, r *http.Request) (filename string, body []byte, f *ripcord.PlanFile, problems plan.ErrorList, err error) {
	filename = r.URL.Query().Get("file")
	if filename == "" {
		filename = "plan.yaml"
	} else if err := checkFilename(filename); err != nil {
		return "", nil, nil, nil, err
	}
	body, err = h.readBody(w, r, yamlTypes...)
	if err != nil {
		return "", nil, nil, nil, err
	}
	f, err = plan.Decode(filename, body)
	if err != nil {
		if errors.As(err, &problems) {
			return filename, body, nil, problems, nil
		}
		return "", nil, nil, nil, err
	}
	return filename, body, f, nil, nil
}

// checkFilename allows a file name of at most 255 bytes of printable
// characters: it only names the file in the problems' positions.
func checkFilename(s string) error {
	ok := len(s) <= 255 && utf8.ValidString(s)
	for _, c := range s {
		if !unicode.IsPrint(c) {
			ok = false
		}
	}
	if !ok {
		return fail(ripcord.EINVALID, "file= must be at most 255 printable characters", "name the plan file, e.g. file=orders.yaml")
	}
	return nil
}

func problemsOf(list plan.ErrorList) []client.Problem {
	out := make([]client.Problem, len(list))
	for i, e := range list {
		out[i] = client.Problem{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Message, Hint: e.Hint}
	}
	return out
}

// validatePlans answers whether a plan file validates, saving nothing.
func (h *Handler) validatePlans(w http.ResponseWriter, r *http.Request, _ *identity) error {
	_, _, f, problems, err := h.readPlanFile(w, r)
	if err != nil {
		return err
	}
	if problems != nil {
		writeJSON(w, http.StatusOK, client.Validation{Valid: false, Problems: problemsOf(problems)})
		return nil
	}
	out := client.Validation{Valid: true, Plans: []client.ValidPlan{}}
	for _, p := range f.Plans {
		one, err := f.Extract(p.Name)
		if err != nil {
			return err
		}
		out.Plans = append(out.Plans, client.ValidPlan{Name: p.Name, Hash: one.Hash()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// savePlans saves each plan of a plan file as a new version (a version
// already saved under its hash stays as it is), each new one written to
// the audit log. 201 when a version is new, 200 when none is.
func (h *Handler) savePlans(w http.ResponseWriter, r *http.Request, id *identity) error {
	filename, body, f, problems, err := h.readPlanFile(w, r)
	if err != nil {
		return err
	}
	if problems != nil {
		n := "1 problem"
		if len(problems) != 1 {
			n = fmt.Sprintf("%d problems", len(problems))
		}
		return &apiError{err: &ripcord.Error{Code: client.EINVALIDPLAN,
			Message: fmt.Sprintf("%s does not validate (%s):\n%s", filename, n, problems.Error()),
			Hint:    "fix every problem and send the file again; POST /api/v1/plans/validate checks a file without saving it"},
			problems: problemsOf(problems)}
	}
	ctx := r.Context()
	now := ripcord.StoreTime(h.now())
	out := client.SaveResult{Versions: []client.SavedPlan{}}
	created := false
	for _, p := range f.Plans {
		one, err := f.Extract(p.Name)
		if err != nil {
			return err
		}
		hash := one.Hash()
		saved := client.SavedPlan{Name: p.Name, Hash: hash}
		old, err := h.cfg.Store.PlanVersion(ctx, hash)
		switch ripcord.ErrorCode(err) {
		case "":
			saved.Created = old.Created
		case ripcord.ENOTFOUND:
			if err := h.cfg.Store.SavePlanVersion(ctx, ripcord.PlanVersion{Hash: hash, Name: p.Name, Source: body, Created: now}); err != nil {
				return err
			}
			saved.Created, saved.New, created = now, true, true
			if err := h.recordAudit(ctx, id, "plan.save", p.Name, fmt.Sprintf("version %s from %s (%d bytes)", hash, filename, len(body))); err != nil {
				return err
			}
		default:
			return err
		}
		out.Versions = append(out.Versions, saved)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
	return nil
}

// diffable is a source as the diff compares it: a JSON source (one line as
// `ripcord run` saves it) indented, so that it has lines.
func diffable(src []byte) string {
	var b bytes.Buffer
	if json.Valid(src) && !bytes.ContainsRune(src, '\n') && json.Indent(&b, src, "", "  ") == nil {
		b.WriteByte('\n')
		return b.String()
	}
	return string(src)
}
