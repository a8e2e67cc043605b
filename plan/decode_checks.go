package plan

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/ripcord-dr/ripcord"
)

// checks decodes a step's list of health checks under key (health: or
// checks:), filling in the defaults: a name from the type, the interval
// and the timeout.
func (d *decoder) checks(m values, key, path, stepSubj string) []ripcord.HealthCheck {
	var out []ripcord.HealthCheck
	for i, it := range items(m, key) {
		cp := fmt.Sprintf("%s.%s[%d]", path, key, len(out))
		subj := fmt.Sprintf("%s %s", subject("check", name(it), i), "of "+stepSubj)
		cm, ok := d.fields(it, checkObject, cp, subj)
		if !ok {
			continue
		}
		c := ripcord.HealthCheck{
			Name:     scalar(cm, "name"),
			Type:     scalar(cm, "type"),
			Address:  scalar(cm, "address"),
			URL:      scalar(cm, "url"),
			Body:     scalar(cm, "body"),
			Document: scalar(cm, "document"),
			Interval: d.duration(cm, "interval", cp, subj),
			Timeout:  d.duration(cm, "timeout", cp, subj),
			Status:   d.count(cm, "status", cp, subj),
			Retries:  d.count(cm, "retries", cp, subj),
		}
		if v := cm.get("parameters"); v != nil {
			c.Parameters = map[string]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				k, pv := v.Content[j], v.Content[j+1]
				if pv.Kind != yaml.ScalarNode || k.Kind != yaml.ScalarNode {
					d.add(pv, cp, fmt.Sprintf("parameter %s of %s must be text, not %s", k.Value, subj, describe(pv)), `write one value, such as commands: "systemctl is-active nginx"`)
					continue
				}
				c.Parameters[k.Value] = pv.Value
			}
		}
		if cm.get("interval") == nil {
			c.Interval = ripcord.DefaultCheckInterval
		}
		if cm.get("timeout") == nil {
			c.Timeout = ripcord.DefaultCheckTimeout
		}
		if c.Type == ripcord.CheckHTTP && cm.get("status") == nil {
			c.Status = 200
		}
		if c.Name == "" {
			c.Name = c.Type
			n := 0
			for _, o := range items(m, key) {
				if oc := mappingScalar(o, "type"); oc == c.Type && mappingScalar(o, "name") == "" {
					n++
				}
			}
			if n > 1 {
				c.Name = fmt.Sprintf("%s-%d", c.Type, len(out)+1)
			}
		}
		out = append(out, c)
	}
	return out
}

// mappingScalar is the plain scalar value of key in mapping n, or "".
func mappingScalar(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == key && v.Kind == yaml.ScalarNode && !isNull(v) {
			return v.Value
		}
	}
	return ""
}

// count decodes a whole number of 0 or more.
func (d *decoder) count(m values, key, path, subject string) int {
	v := m.get(key)
	if v == nil {
		return 0
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil || n < 0 {
		d.add(v, path, fmt.Sprintf("%s of %s: %q is not a whole number of 0 or more", key, subject, v.Value), "write a number such as 3")
		d.src.tainted[path+"."+key] = true
		return 0
	}
	return n
}
