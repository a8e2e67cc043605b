package plan

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"text/template"

	"github.com/ripcord-dr/ripcord"
)

// stepChecks validates a step's health: and checks: lists: which kinds may
// have them, and each check (validateCheck).
func (v *validator) stepChecks(p *ripcord.Plan, s *ripcord.Step, path, subj string) {
	switch s.Kind {
	case ripcord.StepCheck:
		if len(s.Checks) == 0 && !v.src.isTainted(path+".checks") {
			v.add(path, fmt.Sprintf("check %s has no checks", subj), "add checks: with at least one {type: ec2Status|tcp|http|ssm, ...}")
		}
		if len(s.Groups) > 0 || len(s.Servers) > 0 {
			v.add(path, fmt.Sprintf("check %s cannot launch groups or servers", subj), "remove groups and servers, or make it a launch step with a health: gate")
		}
		if len(s.Health) > 0 {
			v.add(path+".health", fmt.Sprintf("%s has a health gate, which only launch steps have", subj), "move the checks to checks:")
		}
		launchAfter := false
		for _, a := range s.After {
			for _, t := range p.Steps {
				if t.Name == a && t.Kind == ripcord.StepLaunch {
					launchAfter = true
				}
			}
		}
		for k, c := range s.Checks {
			if c.PerInstance() && !launchAfter {
				v.add(fmt.Sprintf("%s.checks[%d]", path, k), fmt.Sprintf("check %s of %s runs on recovery instances, but the step is after no launch step", c.Name, subj),
					"add the launch steps whose instances it checks to after:, or give it a fixed host")
			}
		}
	case ripcord.StepLaunch:
		if len(s.Checks) > 0 {
			v.add(path+".checks", fmt.Sprintf("%s has checks, which only check steps have", subj), "a launch step's checks are its health gate: rename checks: to health:")
		}
	default:
		if len(s.Health) > 0 {
			v.add(path+".health", fmt.Sprintf("%s has a health gate, which only launch steps have", subj), "remove health:, or move it to the launch step it gates")
		}
		if len(s.Checks) > 0 {
			v.add(path+".checks", fmt.Sprintf("%s has checks, which only check steps have", subj), "remove checks:, or add kind: check")
		}
	}
	for _, list := range []struct {
		key    string
		checks []ripcord.HealthCheck
	}{{"health", s.Health}, {"checks", s.Checks}} {
		seen := map[string]string{}
		for k, c := range list.checks {
			cp := fmt.Sprintf("%s.%s[%d]", path, list.key, k)
			csubj := fmt.Sprintf("check %s of %s", c.Name, subj)
			if c.Name != "" && !nameRe.MatchString(c.Name) {
				v.add(cp+".name", fmt.Sprintf("check name %q of %s is not valid", c.Name, subj), "use 1 to 63 letters, digits, '.', '_' and '-', starting with a letter or digit")
			}
			if first, dup := seen[c.Name]; dup {
				v.add(cp, fmt.Sprintf("%s has two checks named %q", subj, c.Name), v.firstAt(first, "give each a name: of its own"))
			}
			seen[c.Name] = cp
			v.validateCheck(c, cp, csubj)
		}
	}
}

// sampleInstance fills a check's templates for validation.
var sampleInstance = struct{ PrivateIP, InstanceID string }{"10.0.0.1", "i-0123456789abcdef0"}

// expand fills a check's template with an instance's fields; the error
// says what is wrong with the template.
func expand(text string, inst any) (string, error) {
	t, err := template.New("check").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, inst); err != nil {
		return "", err
	}
	return b.String(), nil
}

// validateCheck checks one health check's fields against its type.
func (v *validator) validateCheck(c ripcord.HealthCheck, cp, subj string) {
	if c.Type == "" {
		if !v.src.isTainted(cp) {
			v.add(cp, subj+" has no type", "add type: ec2Status, tcp, http or ssm")
		}
		return
	}
	if !slices.Contains(ripcord.CheckTypes, c.Type) {
		v.add(cp+".type", fmt.Sprintf("%s: unknown type %q", subj, c.Type), suggest(c.Type, ripcord.CheckTypes, "use "))
		return
	}
	if c.Interval <= 0 && !v.src.isTainted(cp+".interval") {
		v.add(cp+".interval", subj+" needs an interval greater than 0", "write interval: 15s, or leave it out for the default")
	}
	if c.Timeout <= 0 && !v.src.isTainted(cp+".timeout") {
		v.add(cp+".timeout", subj+" needs a timeout greater than 0", "write timeout: 10m, or leave it out for the default")
	}
	only := func(key, val string, types ...string) {
		if val != "" && !slices.Contains(types, c.Type) {
			v.add(cp+"."+key, fmt.Sprintf("%s is of type %s, which has no %s", subj, c.Type, key), "remove "+key+":")
		}
	}
	only("address", c.Address, ripcord.CheckTCP)
	only("url", c.URL, ripcord.CheckHTTP)
	only("body", c.Body, ripcord.CheckHTTP)
	only("document", c.Document, ripcord.CheckSSM)
	if len(c.Parameters) > 0 {
		only("parameters", "set", ripcord.CheckSSM)
	}
	if c.Status != 0 {
		only("status", "set", ripcord.CheckHTTP)
	}
	switch c.Type {
	case ripcord.CheckTCP:
		if c.Address == "" {
			v.add(cp, subj+" has no address", "add address: host:port, such as {{.PrivateIP}}:5432")
			return
		}
		a, err := expand(c.Address, sampleInstance)
		if err != nil {
			v.add(cp+".address", fmt.Sprintf("address of %s is not a valid template: %v", subj, err), "use {{.PrivateIP}} or {{.InstanceID}}")
			return
		}
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			v.add(cp+".address", fmt.Sprintf("address %q of %s is not host:port", c.Address, subj), "write host:port, such as {{.PrivateIP}}:5432 or db.example.com:5432")
		}
	case ripcord.CheckHTTP:
		if c.URL == "" {
			v.add(cp, subj+" has no url", "add url: such as http://{{.PrivateIP}}/healthz")
			return
		}
		a, err := expand(c.URL, sampleInstance)
		if err != nil {
			v.add(cp+".url", fmt.Sprintf("url of %s is not a valid template: %v", subj, err), "use {{.PrivateIP}} or {{.InstanceID}}")
			return
		}
		if u, err := url.Parse(a); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(cp+".url", fmt.Sprintf("url %q of %s is not an http:// or https:// URL", c.URL, subj), "write a URL such as https://{{.PrivateIP}}/healthz")
		}
		if c.Status != 0 && (c.Status < 100 || c.Status > 599) {
			v.add(cp+".status", fmt.Sprintf("status %d of %s is not an HTTP status", c.Status, subj), "use a status from 100 to 599, such as 200")
		}
		if c.Body != "" {
			if _, err := regexp.Compile(c.Body); err != nil {
				v.add(cp+".body", fmt.Sprintf("body of %s is not a regular expression: %v", subj, err), "write a Go regular expression, such as \"status\": *\"ok\"")
			}
		}
	case ripcord.CheckSSM:
		if c.Document == "" {
			v.add(cp, subj+" has no document", "add document: such as AWS-RunShellScript, with parameters: {commands: ...}")
		}
	}
}
