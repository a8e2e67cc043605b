package plan

import (
	"fmt"
	"net/url"
	"regexp"
	"text/template"

	"github.com/ripcord-dr/ripcord"
)

// ssmDocumentRe is SSM's pattern of a document name.
var ssmDocumentRe = regexp.MustCompile(`^[a-zA-Z0-9_\-.:/]{3,128}$`)

// envNameRe is what an environment variable's (and a secret's) name may be.
var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// hooks checks a step's hooks: a hook step has exactly one hook: and no
// launches, other steps have none; every hook does exactly one thing, with
// values that can be sent.
func (v *validator) hooks(s ripcord.Step, path, subj string) {
	switch {
	case s.Kind == ripcord.StepHook && s.Hook == nil && !v.src.isTainted(path):
		v.add(path, fmt.Sprintf("%s is a hook step but has no hook: to run", subj),
			"add hook: {name: switch-dns, http: {url: https://…}} (or ssm: or command:)")
	case s.Kind == ripcord.StepHook && (len(s.Groups) > 0 || len(s.Servers) > 0 || s.Duration != 0):
		v.add(path, fmt.Sprintf("%s is a hook step and cannot launch groups or servers or have a duration", subj),
			"remove groups, servers and duration, or put the hook in the hooks: of a launch step")
	case s.Kind != ripcord.StepHook && s.Hook != nil:
		v.add(path+".hook", fmt.Sprintf("%s has hook:, which only hook steps have", subj),
			"add kind: hook (as a step of its own), or list the hook under hooks: before: or after:")
	}
	seen := map[string]string{}
	check := func(h ripcord.Hook, hp, hsubj string) {
		if h.Name != "" {
			if first, dup := seen[h.Name]; dup {
				v.add(hp+".name", fmt.Sprintf("%s: a hook named %q is in %s already", hsubj, h.Name, first), "give each hook of a step its own name")
			}
			seen[h.Name] = hsubj
		}
		v.hook(s, h, hp, hsubj)
	}
	if s.Hook != nil {
		check(*s.Hook, path+".hook", "the hook of "+subj)
	}
	if s.Hooks != nil {
		for i, h := range s.Hooks.Before {
			check(h, fmt.Sprintf("%s.hooks.before[%d]", path, i), fmt.Sprintf("%s of %s", subject("before hook", h.Name, i), subj))
		}
		for i, h := range s.Hooks.After {
			check(h, fmt.Sprintf("%s.hooks.after[%d]", path, i), fmt.Sprintf("%s of %s", subject("after hook", h.Name, i), subj))
		}
	}
}

func (v *validator) hook(s ripcord.Step, h ripcord.Hook, path, subj string) {
	if h.Name == "" {
		v.add(path, subj+" has no name", "add name: (the events and the report name the hook by it)")
	} else if !nameRe.MatchString(h.Name) {
		v.add(path+".name", fmt.Sprintf("%s: %q is not a name", subj, h.Name), "use letters, digits, '.', '_' and '-'")
	}
	for i, m := range h.Modes {
		if !m.Valid() {
			v.add(fmt.Sprintf("%s.modes[%d]", path, i), fmt.Sprintf("modes of %s: unknown mode %q", subj, m), "modes are drill, recovery and failback")
		}
	}
	if h.Timeout < 0 || h.Backoff < 0 {
		v.add(path, fmt.Sprintf("timeout and backoff of %s must not be negative", subj), "use durations such as 30s")
	}
	n := 0
	for _, set := range []bool{h.HTTP != nil, h.SSM != nil, h.Command != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		if !v.src.isTainted(path) {
			v.add(path, fmt.Sprintf("%s must have exactly one of http, ssm and command (it has %d)", subj, n),
				"write one hook per call: http: {url: …}, ssm: {automation: …} or command: {argv: […]}")
		}
		return
	}
	switch {
	case h.HTTP != nil:
		u, err := url.Parse(h.HTTP.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(path+".http.url", fmt.Sprintf("url of %s is not an http(s) URL", subj), "use a URL such as https://dns.example.com/switch")
		} else if u.User != nil {
			v.add(path+".http.url", fmt.Sprintf("url of %s carries a user and password", subj), "send credentials in a header from a secret: headers: {Authorization: {secret: NAME}}")
		}
		for k, hv := range h.HTTP.Headers {
			if name := hv.Env + hv.Secret; (hv.Env != "" || hv.Secret != "") && !envNameRe.MatchString(name) {
				v.add(path+".http.headers", fmt.Sprintf("header %s of %s: %q is not a variable or secret name", k, subj, name), "use letters, digits and '_', such as DNS_TOKEN")
			}
		}
		if _, err := template.New("body").Option("missingkey=error").Parse(h.HTTP.Body); err != nil {
			v.add(path+".http.body", fmt.Sprintf("body of %s is not a valid template: %v", subj, err), "see docs/plans.md, Hooks, for the template's fields; write {{\"{{\"}} for a literal {{")
		}
	case h.SSM != nil:
		sm := h.SSM
		doc := sm.Automation
		switch {
		case (sm.Automation == "") == (sm.Command == ""):
			v.add(path+".ssm", fmt.Sprintf("the ssm of %s must name exactly one of automation and command", subj),
				"write automation: DOCUMENT (an Automation runbook) or command: DOCUMENT (Run Command on the step's recovery instances)")
		case sm.Command != "":
			doc = sm.Command
			if s.Kind != ripcord.StepLaunch {
				v.add(path+".ssm.command", fmt.Sprintf("%s runs command %s on the step's recovery instances, but %s launches none", subj, doc, s.Name),
					"put the hook under hooks: after: of the launch step whose instances it runs on, or use automation:")
			} else if v.src != nil && !v.isAfterHook(path) {
				v.add(path+".ssm.command", fmt.Sprintf("%s runs command %s before the step has launched its instances", subj, doc),
					"move it to hooks: after:")
			}
		}
		if doc != "" && !ssmDocumentRe.MatchString(doc) {
			v.add(path+".ssm", fmt.Sprintf("the ssm of %s: %q is not an SSM document name", subj, doc), "SSM document names are 3 to 128 letters, digits, '_', '-', '.', ':' and '/'")
		}
		if _, ok := v.f.Target(sm.Target); !ok {
			if sm.Target == "" {
				v.add(path+".ssm", fmt.Sprintf("the ssm of %s names no target, and the file declares %d", subj, len(v.f.Targets)), "add target: NAME (whose credentials call SSM)")
			} else {
				v.unknown(path+".ssm.target", "the ssm of "+subj, "target", sm.Target, v.targetNames())
			}
		}
	case h.Command != nil:
		if len(h.Command.Argv) == 0 || h.Command.Argv[0] == "" {
			v.add(path+".command", fmt.Sprintf("the command of %s has no program", subj), "write argv: [/usr/local/bin/promote, --now]")
		}
		for k := range h.Command.Env {
			if !envNameRe.MatchString(k) {
				v.add(path+".command.env", fmt.Sprintf("env of %s: %q is not a variable name", subj, k), "use letters, digits and '_'")
			}
		}
	}
}

// isAfterHook reports whether the hook at path is in a step's hooks: after:.
func (v *validator) isAfterHook(path string) bool {
	return regexp.MustCompile(`\.hooks\.after\[\d+\]$`).MatchString(path)
}
