package plan

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/ripcord-dr/ripcord"
)

// stepHooks decodes a step's hook: (a hook step's own) and hooks:.
func (d *decoder) stepHooks(m values, path, subj string) (*ripcord.Hook, *ripcord.StepHooks) {
	var hook *ripcord.Hook
	if n := m.get("hook"); n != nil {
		if h, ok := d.hook(n, path+".hook", "the hook of "+subj); ok {
			hook = &h
		}
	}
	n := m.get("hooks")
	if n == nil {
		return hook, nil
	}
	hm, ok := d.fields(n, stepHooksObject, path+".hooks", "the hooks of "+subj)
	if !ok {
		return hook, nil
	}
	hs := &ripcord.StepHooks{}
	for i, it := range items(hm, "before") {
		p := fmt.Sprintf("%s.hooks.before[%d]", path, len(hs.Before))
		if h, ok := d.hook(it, p, fmt.Sprintf("%s of %s", subject("before hook", name(it), i), subj)); ok {
			hs.Before = append(hs.Before, h)
		}
	}
	for i, it := range items(hm, "after") {
		p := fmt.Sprintf("%s.hooks.after[%d]", path, len(hs.After))
		if h, ok := d.hook(it, p, fmt.Sprintf("%s of %s", subject("after hook", name(it), i), subj)); ok {
			hs.After = append(hs.After, h)
		}
	}
	return hook, hs
}

// hook decodes one hook. Values are checked by the validator.
func (d *decoder) hook(n *yaml.Node, path, subj string) (ripcord.Hook, bool) {
	m, ok := d.fields(n, hookObject, path, subj)
	if !ok {
		return ripcord.Hook{}, false
	}
	h := ripcord.Hook{
		Name:    scalar(m, "name"),
		Timeout: d.duration(m, "timeout", path, subj),
		Backoff: d.duration(m, "backoff", path, subj),
	}
	for _, md := range d.list(m, "modes", path, subj) {
		h.Modes = append(h.Modes, ripcord.Mode(md))
	}
	if v := m.get("idempotent"); v != nil {
		if v.ShortTag() != "!!bool" || v.Decode(&h.Idempotent) != nil {
			d.add(v, path, fmt.Sprintf("idempotent of %s must be true or false, not %s", subj, describe(v)), "write true or false, without quotes")
		}
	}
	if v := m.get("retries"); v != nil {
		r, err := strconv.Atoi(v.Value)
		if err != nil || r < 0 || v.ShortTag() != "!!int" {
			d.add(v, path, fmt.Sprintf("retries of %s must be a whole number, 0 or more, not %s", subj, describe(v)), "write retries: 3")
		}
		h.Retries = r
	}
	if v := m.get("http"); v != nil {
		if hm, ok := d.fields(v, httpHookObject, path+".http", "the http of "+subj); ok {
			h.HTTP = &ripcord.HTTPHook{Method: scalar(hm, "method"), URL: scalar(hm, "url"), Body: scalar(hm, "body"),
				Headers: d.headers(hm.get("headers"), path+".http", subj)}
			if h.HTTP.Method == "" {
				h.HTTP.Method = "POST"
			}
		}
	}
	if v := m.get("ssm"); v != nil {
		if sm, ok := d.fields(v, ssmHookObject, path+".ssm", "the ssm of "+subj); ok {
			h.SSM = &ripcord.SSMHook{Target: scalar(sm, "target"), Automation: scalar(sm, "automation"), Command: scalar(sm, "command")}
			if p := d.stringMap(sm.get("parameters"), path+".ssm", "parameters of "+subj, true); p != nil {
				h.SSM.Parameters = map[string][]string{}
				for k, vs := range p {
					h.SSM.Parameters[k] = vs
				}
			}
		}
	}
	if v := m.get("command"); v != nil {
		if cm, ok := d.fields(v, commandHookObject, path+".command", "the command of "+subj); ok {
			h.Command = &ripcord.CommandHook{Dir: scalar(cm, "dir")}
			for _, it := range items(cm, "argv") {
				if it.Kind != yaml.ScalarNode || isNull(it) {
					d.add(it, path, fmt.Sprintf("argv of %s has an entry that is %s", subj, describe(it)), "each entry is one argument, as text")
					continue
				}
				h.Command.Argv = append(h.Command.Argv, it.Value)
			}
			if env := d.stringMap(cm.get("env"), path+".command", "env of "+subj, false); env != nil {
				h.Command.Env = map[string]string{}
				for k, vs := range env {
					h.Command.Env[k] = vs[0]
				}
			}
		}
	}
	return h, true
}

// stringMap decodes a mapping of names to texts (and, with lists, to lists
// of texts).
func (d *decoder) stringMap(n *yaml.Node, path, subj string, lists bool) map[string][]string {
	if n == nil {
		return nil
	}
	out := map[string][]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.add(k, path, fmt.Sprintf("%s has a key that is %s", subj, describe(k)), "keys are plain names")
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.add(k, path, fmt.Sprintf("duplicate key %q in %s", k.Value, subj), "remove one")
			continue
		}
		switch {
		case v.Kind == yaml.ScalarNode && !isNull(v):
			out[k.Value] = []string{v.Value}
		case lists && v.Kind == yaml.SequenceNode:
			var vs []string
			for _, it := range v.Content {
				if it.Kind != yaml.ScalarNode || isNull(it) {
					d.add(it, path, fmt.Sprintf("%s of %s has an entry that is %s", k.Value, subj, describe(it)), "each entry is text")
					continue
				}
				vs = append(vs, it.Value)
			}
			out[k.Value] = vs
		default:
			want := "text"
			if lists {
				want = "text or a list of texts"
			}
			d.add(v, path, fmt.Sprintf("%s of %s must be %s, not %s", k.Value, subj, want, describe(v)), fmt.Sprintf(`write %s: "value"`, k.Value))
		}
	}
	return out
}

// headers decodes an http hook's headers: text, {env: NAME} or
// {secret: NAME}.
func (d *decoder) headers(n *yaml.Node, path, subj string) map[string]ripcord.HeaderValue {
	if n == nil {
		return nil
	}
	out := map[string]ripcord.HeaderValue{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.add(k, path, fmt.Sprintf("headers of %s has a key that is %s", subj, describe(k)), "keys are header names, such as Authorization")
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.add(k, path, fmt.Sprintf("duplicate header %q in %s", k.Value, subj), "remove one")
			continue
		}
		hint := fmt.Sprintf(`write %s: "text", %s: {env: NAME} or %s: {secret: NAME}`, k.Value, k.Value, k.Value)
		switch {
		case v.Kind == yaml.ScalarNode && !isNull(v):
			out[k.Value] = ripcord.HeaderValue{Value: v.Value}
		case v.Kind == yaml.MappingNode && len(v.Content) == 2 && v.Content[1].Kind == yaml.ScalarNode && !isNull(v.Content[1]) &&
			(v.Content[0].Value == "env" || v.Content[0].Value == "secret"):
			if v.Content[0].Value == "env" {
				out[k.Value] = ripcord.HeaderValue{Env: v.Content[1].Value}
			} else {
				out[k.Value] = ripcord.HeaderValue{Secret: v.Content[1].Value}
			}
		default:
			d.add(v, path, fmt.Sprintf("header %s of %s must be text, {env: NAME} or {secret: NAME}, not %s", k.Value, subj, describe(v)), hint)
		}
	}
	return out
}
