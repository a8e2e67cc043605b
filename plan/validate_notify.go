package plan

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/ripcord-dr/ripcord"
)

var snsTopicRe = regexp.MustCompile(snsTopicPattern)

// notifications checks a plan's notify: entries: each names exactly one
// destination (a webhook, https unless on this machine, or an SNS topic
// ARN published with a declared target's credentials) and only known kinds
// of notification.
func (v *validator) notifications(p *ripcord.Plan, path, planSubj string) {
	for k, n := range p.Settings.Notify {
		np := fmt.Sprintf("%s.notify[%d]", path, k)
		subj := fmt.Sprintf("notification %d of %s", k+1, planSubj)
		switch {
		case n.Webhook == "" && n.SNS == "":
			v.add(np, subj+" has no destination", "add webhook: https://… or sns: arn:aws:sns:REGION:ACCOUNT:TOPIC")
		case n.Webhook != "" && n.SNS != "":
			v.add(np+".sns", subj+" has both a webhook and an SNS topic", "one destination per entry: move the SNS topic to an entry of its own")
		case n.Webhook != "":
			v.webhook(n, np, subj)
		default:
			v.snsTopic(n, np, subj)
		}
		seen := map[string]string{}
		for j, e := range n.Events {
			ep := fmt.Sprintf("%s.events[%d]", np, j)
			if !slices.Contains(ripcord.NotifyKinds, e) {
				v.add(ep, fmt.Sprintf("%s: unknown kind of notification %q", subj, e),
					suggest(e, ripcord.NotifyKinds, "the kinds are "))
				continue
			}
			if first, ok := seen[e]; ok {
				v.add(ep, fmt.Sprintf("%s lists %q twice in events", subj, e), v.firstAt(first, "remove one"))
			}
			seen[e] = ep
		}
	}
}

func (v *validator) webhook(n ripcord.Notification, path, subj string) {
	if n.Target != "" {
		v.add(path+".target", subj+" is a webhook but names a target", "target says whose AWS credentials publish to an SNS topic: remove it")
	}
	if n.Format != "" && n.Format != "json" && n.Format != "slack" {
		v.add(path+".format", fmt.Sprintf("%s: unknown format %q", subj, n.Format), suggest(n.Format, []string{"json", "slack"}, "the formats are "))
	}
	u, err := url.Parse(n.Webhook)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.add(path+".webhook", fmt.Sprintf("webhook of %s is not an https URL", subj), "use a URL such as https://hooks.example.com/ripcord")
		return
	}
	if u.User != nil {
		v.add(path+".webhook", fmt.Sprintf("webhook of %s carries a user and password", subj), "put a secret in the URL's path or query, as Slack's hooks do, not in user:password@")
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		v.add(path+".webhook", fmt.Sprintf("webhook of %s is plain http to %s: notifications would cross the network in clear", subj, u.Hostname()),
			"use https; plain http is allowed only to this machine (localhost, 127.0.0.1, ::1)")
	}
}

// loopbackHost reports whether host names this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) snsTopic(n ripcord.Notification, path, subj string) {
	if n.Format != "" {
		v.add(path+".format", subj+" is an SNS topic but has a format", "format applies to webhooks: remove it (SNS receives ripcord's JSON)")
	}
	if !snsTopicRe.MatchString(n.SNS) {
		v.add(path+".sns", fmt.Sprintf("sns %q of %s is not an SNS topic ARN", n.SNS, subj), "use arn:aws:sns:REGION:ACCOUNT:TOPIC, such as arn:aws:sns:us-east-1:111122223333:dr-alerts")
	}
	switch {
	case n.Target != "":
		if !slices.Contains(v.targetNames(), n.Target) {
			v.unknown(path+".target", subj, "target", n.Target, v.targetNames())
		}
	case len(v.f.Targets) == 0:
		v.add(path, subj+" publishes to SNS, but the file declares no targets", "add a targets: list; the target's credentials publish to the topic")
	case len(v.f.Targets) > 1:
		v.add(path, fmt.Sprintf("%s needs a target whose credentials publish to the topic, since the file declares %d targets (%s)", subj, len(v.f.Targets), strings.Join(v.targetNames(), ", ")),
			"add target: followed by one of them")
	}
}
