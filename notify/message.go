// Package notify tells people what their executions do: webhooks (ripcord's
// own JSON or a Slack-compatible message) and Amazon SNS topics, configured
// per plan (notify: in a plan file, docs/notifications.md). A Dispatcher
// follows the store's execution logs, turns the events that matter into
// Messages (engine.ApplyNotice) and delivers each to the plan's
// destinations that want its kind, once across every replica sharing the
// store (a claim in the store per execution, event and destination), with
// retries on an injected clock. A notification that fails is recorded as
// failed and changes nothing about the execution.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Version is the version of Message's JSON form; it grows only when a
// field changes meaning or goes away.
const Version = 1

// Message is one notification, as a webhook receives it in ripcord's JSON
// form and an SNS topic as its message body (docs/notifications.md).
type Message struct {
	Version int `json:"version"`
	// ID is the same for every attempt of one notification
	// (execution/seq): receivers drop duplicates by it.
	ID          string       `json:"id"`
	Kind        string       `json:"kind"` // ripcord.NotifyStarted, ...
	Plan        string       `json:"plan"`
	ExecutionID string       `json:"executionId,omitempty"`
	Mode        ripcord.Mode `json:"mode,omitempty"`
	// Verdict: finished: succeeded, failed or cancelled, or "not started"
	// (a scheduled drill that could not start; URL is then the plan's
	// page); cleanup: done or
	// failed; waiting: paused, or approval (an approval step waits: Step
	// names it, Reason is its message); stepFailed: failed; readiness:
	// bad.
	Verdict string `json:"verdict,omitempty"`
	Step    string `json:"step,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// URL is the execution's page in the console; ReportURL its report
	// (finished and cleanup). Both need ripcord serve --public-url.
	URL       string `json:"url,omitempty"`
	ReportURL string `json:"reportUrl,omitempty"`
	// Approvers says who may decide a waiting approval. ApproveURL and
	// RejectURL open the console's approval page for it (a signed link
	// naming this wait; it works once, and only for an approver who
	// signs in): they need --public-url.
	Approvers  string    `json:"approvers,omitempty"`
	ApproveURL string    `json:"approveUrl,omitempty"`
	RejectURL  string    `json:"rejectUrl,omitempty"`
	Findings   []Finding `json:"findings,omitempty"` // readiness
	Time       time.Time `json:"time"`               // when the event happened
}

// Finding is one readiness problem, in a readiness notification.
type Finding struct {
	Severity string `json:"severity"`
	Resource string `json:"resource"`
	Message  string `json:"message"`
	Remedy   string `json:"remedy,omitempty"`
}

// Links sets m's console URL and, for the kinds that have one, its report
// URL, under publicURL (ripcord serve --public-url); none without it.
func (m *Message) Links(publicURL string) {
	if publicURL == "" || m.ExecutionID == "" {
		return
	}
	base := strings.TrimRight(publicURL, "/") + "/console/executions/" + url.PathEscape(m.ExecutionID)
	m.URL = base
	if m.Kind == ripcord.NotifyFinished || m.Kind == ripcord.NotifyCleanup {
		m.ReportURL = base + "/report"
	}
}

// ApprovalLinks sets m's approve and reject URLs under publicURL: the
// console's approval page with the signed link token (ripcord.ApprovalLink
// .Sign); none without publicURL.
func (m *Message) ApprovalLinks(publicURL, token string) {
	if publicURL == "" || token == "" {
		return
	}
	page := strings.TrimRight(publicURL, "/") + "/console/approve?link=" + url.QueryEscape(token)
	m.ApproveURL = page + "&decision=approve"
	m.RejectURL = page + "&decision=reject"
}

// Title is a one-line summary, for Slack's text and SNS's subject.
func (m Message) Title() string {
	var what string
	switch m.Kind {
	case ripcord.NotifyStarted:
		what = "started"
	case ripcord.NotifyWaiting:
		what = "is waiting for a person"
		if m.Verdict == "approval" {
			what = fmt.Sprintf("waits for approval of step %s", m.Step)
		}
	case ripcord.NotifyStepFailed:
		what = fmt.Sprintf("step %s failed", m.Step)
	case ripcord.NotifyFinished:
		if m.Verdict == VerdictNotStarted {
			return fmt.Sprintf("ripcord: the scheduled drill of %s (%s) could not start", m.Plan, m.ExecutionID)
		}
		what = "finished: " + m.Verdict
	case ripcord.NotifyCleanup:
		what = "cleanup " + m.Verdict
	case ripcord.NotifyReadiness:
		return fmt.Sprintf("ripcord: plan %s is not ready (%d findings)", m.Plan, len(m.Findings))
	default:
		what = m.Kind
	}
	return fmt.Sprintf("ripcord: %s of %s %s %s", m.Mode, m.Plan, m.ExecutionID, what)
}

// JSON is m in ripcord's own form.
func (m Message) JSON() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("notify: encoding a message: " + err.Error()) // plain strings and times
	}
	return b
}

// Slack is m as a Slack-compatible message: text (what clients without
// blocks show) and blocks.
func (m Message) Slack() []byte {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	body := "*" + slackEscape(m.Title()) + "*"
	if m.Reason != "" {
		body += "\n" + slackEscape(m.Reason)
	}
	if m.Approvers != "" {
		body += "\nMay decide: " + slackEscape(m.Approvers)
	}
	for _, f := range m.Findings {
		body += fmt.Sprintf("\n• %s %s: %s", slackEscape(f.Severity), slackEscape(f.Resource), slackEscape(f.Message))
	}
	blocks := []block{{Type: "section", Text: &text{Type: "mrkdwn", Text: body}}}
	var links []text
	if m.URL != "" {
		links = append(links, text{Type: "mrkdwn", Text: "<" + m.URL + "|execution>"})
	}
	if m.ReportURL != "" {
		links = append(links, text{Type: "mrkdwn", Text: "<" + m.ReportURL + "|report>"})
	}
	if m.ApproveURL != "" {
		links = append(links, text{Type: "mrkdwn", Text: "<" + m.ApproveURL + "|approve>"}, text{Type: "mrkdwn", Text: "<" + m.RejectURL + "|reject>"})
	}
	links = append(links, text{Type: "mrkdwn", Text: m.Time.UTC().Format(time.RFC3339)})
	blocks = append(blocks, block{Type: "context", Elements: links})
	b, err := json.Marshal(struct {
		Text   string  `json:"text"`
		Blocks []block `json:"blocks"`
	}{m.Title(), blocks})
	if err != nil {
		panic("notify: encoding a Slack message: " + err.Error())
	}
	return b
}

// slackEscape escapes what Slack's mrkdwn reads as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// DestinationKey names destination n in the store without its secrets: a
// webhook's URL path and query often are one (Slack's hooks), so only its
// scheme and host show, with a digest of the whole URL.
func DestinationKey(n ripcord.Notification) string {
	if n.SNS != "" {
		return "sns:" + n.SNS
	}
	sum := sha256.Sum256([]byte(n.Webhook))
	shown := "?"
	if u, err := url.Parse(n.Webhook); err == nil {
		shown = u.Scheme + "://" + u.Host
	}
	return "webhook:" + shown + "#" + hex.EncodeToString(sum[:6])
}
