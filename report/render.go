package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Formats a report renders to.
const (
	FormatHTML     = "html"
	FormatMarkdown = "md"
	FormatJSON     = "json"
)

// Formats lists the formats, the default first.
var Formats = []string{FormatHTML, FormatMarkdown, FormatJSON}

// CheckFormat refuses a format that is not one of Formats, saying which
// ones are.
func CheckFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("unknown report format %q", format),
		Hint: "use one of: " + strings.Join(Formats, ", ")}
}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case FormatHTML:
		return "text/html; charset=utf-8"
	case FormatMarkdown:
		return "text/markdown; charset=utf-8"
	}
	return "application/json"
}

// Render writes the report in format (one of Formats).
func (r Report) Render(w io.Writer, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	var b bytes.Buffer
	var err error
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	case FormatMarkdown:
		r.markdown(&b)
	case FormatHTML:
		err = htmlPage.Execute(&b, htmlView{Report: r, Timeline: buildTimeline(r)})
	}
	if err != nil {
		return fmt.Errorf("render the report as %s: %w", format, err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// Words shared by the Markdown and HTML renderers.

// stamp is a time in UTC, RFC 3339, or "-".
func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// offset is t's offset from the start, "+4m0s", or "".
func (r Report) offset(t *time.Time) string {
	if t == nil {
		return ""
	}
	d := t.Sub(r.StartedAt).Round(time.Second)
	if d < 0 {
		return "-" + (-d).String()
	}
	return "+" + d.String()
}

// When is "2026-…Z (+4m0s)" or "-".
func (r Report) When(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(t) + " (" + r.offset(t) + ")"
}

func dur(sec float64) string {
	return (time.Duration(sec * float64(time.Second))).Round(time.Second).String()
}

// RTOWords says the RTO achieved against the target.
func (r Report) RTOWords() string {
	x := r.RTO
	if x.MeasuredSeconds == nil {
		if len(x.NotLaunched) > 0 {
			return "not achieved: critical servers not launched: " + strings.Join(x.NotLaunched, ", ") + r.healthyWords()
		}
		return "not measured: no critical server" + r.healthyWords()
	}
	s := dur(*x.MeasuredSeconds) + " (start to " + x.LastCriticalServer + " launched in step " + x.LastCriticalStep + ")"
	switch {
	case x.Met == nil:
		s += "; the plan sets no RTO target"
	case *x.Met:
		s += "; target " + dur(*x.TargetSeconds) + ": met"
	default:
		s += "; target " + dur(*x.TargetSeconds) + ": MISSED"
	}
	return s + r.healthyWords()
}

// healthyWords is the RTO to healthy, when the plan has health checks.
func (r Report) healthyWords() string {
	x := r.RTO
	switch {
	case x.HealthySeconds != nil:
		return "; to healthy: " + dur(*x.HealthySeconds) + " (start to " + x.LastHealthyServer + " healthy in step " + x.LastHealthyStep + ")"
	case x.NotHealthy != nil:
		return "; to healthy: not achieved: not healthy: " + strings.Join(x.NotHealthy, ", ")
	}
	return ""
}

// rpoWords is a server's RPO in words.
func rpoWords(sec *float64) string {
	switch {
	case sec == nil:
		return "-"
	case *sec < 0:
		return "none: data " + dur(-*sec) + " newer than the start"
	}
	return dur(*sec)
}

// RPOWords says the worst RPO achieved against the target.
func (r Report) RPOWords() string {
	x := r.RPO
	if x.WorstSeconds == nil {
		if len(x.Unknown) > 0 {
			return "unknown: " + strings.Join(x.Unknown, "; ")
		}
		return "none: no server launched"
	}
	s := rpoWords(x.WorstSeconds) + " (worst: " + x.WorstServer + ")"
	switch {
	case x.Met == nil:
		s += "; the plan sets no RPO target"
	case *x.Met:
		s += "; target " + dur(*x.TargetSeconds) + ": met"
	default:
		s += "; target " + dur(*x.TargetSeconds) + ": MISSED"
	}
	if len(x.Unknown) > 0 {
		s += "; unknown for " + strings.Join(x.Unknown, "; ")
	}
	return s
}

// CleanupWords says what the cleanup did.
func (r Report) CleanupWords() string {
	c := r.Cleanup
	if c == nil {
		return "none: a recovery's instances are production and stay"
	}
	switch c.Status {
	case "verified":
		s := fmt.Sprintf("verified at %s: %d instances terminated (jobs %s) and verified gone", r.When(c.VerifiedAt), len(c.Terminated),
			strings.Join(c.TerminateJobs, ", "))
		if len(c.AlreadyGone) > 0 {
			s += "; already gone: " + strings.Join(c.AlreadyGone, ", ")
		}
		if len(c.NotOurs) > 0 {
			s += "; not launched by this execution, left alone: " + strings.Join(c.NotOurs, ", ")
		}
		return s
	case "scheduled":
		if c.DueAt != nil {
			return "scheduled for " + stamp(c.DueAt)
		}
		return "scheduled after the end"
	case "requested":
		return "requested at " + r.When(c.RequestedAt) + " by " + c.RequestedBy + "; not verified yet"
	case "failed":
		return "requested at " + r.When(c.RequestedAt) + " by " + c.RequestedBy + "; FAILED: " + c.Failed + "; the drill's instances are still running"
	}
	return "not requested: the drill's instances are still running"
}

// MinutesWords is the instance-minutes used, with what they count to.
func (r Report) MinutesWords() string {
	running := 0
	for _, in := range r.Instances {
		if in.Until == "report time" {
			running++
		}
	}
	s := fmt.Sprintf("%.1f instance-minutes over %d instances", r.InstanceMinutes, len(r.Instances))
	if running > 0 {
		s += fmt.Sprintf(" (%d still running: counted to the report's time, %s)", running, stamp(&r.GeneratedAt))
	}
	return s
}

func ended(r Report) string {
	if r.EndedAt == nil {
		return "still " + string(r.State)
	}
	return r.When(r.EndedAt)
}

func minutesWords(m *float64) string {
	if m == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *m)
}

// markdown writes the report as Markdown tables. Everything from plans and
// DRS is escaped for a table cell.
func (r Report) markdown(b *bytes.Buffer) {
	c := mdCell
	fmt.Fprintf(b, "# %s report: plan %s\n\n", title(r.Mode), c(r.Plan))
	b.WriteString("| | |\n|---|---|\n")
	rows := [][2]string{
		{"Execution", r.Execution}, {"Plan", r.Plan}, {"Plan version", r.PlanHash}, {"Mode", string(r.Mode)},
		{"Outcome", r.Verdict}, {"Started", r.When(&r.StartedAt) + " by " + r.StartedBy}, {"Ended", ended(r)},
		{"RTO", r.RTOWords()}, {"RPO", r.RPOWords()}, {"Cleanup", r.CleanupWords()}, {"Instance-minutes", r.MinutesWords()},
		{"Report built", stamp(&r.GeneratedAt)},
	}
	if len(r.Exceptions) > 0 {
		rows = append(rows, [2]string{"Exceptions", strings.Join(r.Exceptions, "; ")})
	}
	for _, row := range rows {
		fmt.Fprintf(b, "| %s | %s |\n", row[0], c(row[1]))
	}

	b.WriteString("\n## Steps and servers\n\nTimes in UTC, offsets from the start. Health: set once health checks exist.\n\n")
	b.WriteString("| step | server | optional | status | requested | DRS job | job created | launched | instance | data from (RPO) | healthy |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, st := range r.Steps {
		if len(st.Servers) == 0 {
			fmt.Fprintf(b, "| %s (%s) | - | | %s | %s | | | | | | |\n", c(st.Name), c(st.Kind), c(st.Status), r.When(st.StartedAt))
		}
		for _, sv := range st.Servers {
			opt := ""
			if sv.Optional {
				opt = "yes"
			}
			status := sv.Status
			if sv.Reason != "" {
				status += ": " + sv.Reason
			}
			data := stamp(sv.PointInTime)
			if sv.PointInTime != nil {
				data += " (" + rpoWords(sv.RPOSeconds) + ")"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c(st.Name), c(sv.ID), opt, c(status),
				r.When(sv.RequestedAt), c(dash(sv.JobID)), r.When(sv.JobCreatedAt), r.When(sv.LaunchedAt), c(dash(sv.InstanceID)), data, stamp(sv.HealthyAt))
		}
	}

	if r.LaunchChanges != nil {
		b.WriteString("\n## Launch configuration changes\n\nThe plan's launch overrides, applied in DRS before each server's first launch.\n\n")
		if len(r.LaunchChanges) == 0 {
			b.WriteString("None: DRS already launched every server as the plan says.\n")
		} else {
			b.WriteString("| at | server | target | field | from | to |\n|---|---|---|---|---|---|\n")
			for _, lc := range r.LaunchChanges {
				fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", r.When(&lc.At), c(lc.Server), c(lc.Target), c(lc.Field), c(dash(lc.From)), c(lc.To))
			}
		}
	}

	b.WriteString("\n## Failures\n\n")
	if len(r.Failures) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| at | step | server | attempt | DRS job | cause | remedy taken |\n|---|---|---|---|---|---|---|\n")
		for _, f := range r.Failures {
			srv := f.Server
			if f.Optional {
				srv += " (optional)"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %d %s | %s | %s | %s: %s |\n", r.When(&f.At), c(f.Step), c(srv), f.Attempt, f.Status,
				c(dash(f.JobID)), c(f.Cause), f.Remedy, c(f.Detail))
		}
	}

	b.WriteString("\n## Control actions\n\n")
	if len(r.Controls) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| at | by | action | step | detail |\n|---|---|---|---|---|\n")
		for _, x := range r.Controls {
			by := x.By
			if x.Automatic {
				by += " (automatic)"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", r.When(&x.At), c(by), x.Action, c(dash(x.Step)), c(dash(x.Detail)))
		}
	}

	if len(r.Approvals) > 0 {
		b.WriteString("\n## Approvals\n\n| step | asked | decision | by | at | comment |\n|---|---|---|---|---|---|\n")
		for _, a := range r.Approvals {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", c(a.Step), r.When(&a.RequestedAt), a.Decision, c(dash(a.By)), r.When(&a.At), c(dash(a.Comment)))
		}
	}

	if len(r.Hooks) > 0 {
		b.WriteString("\n## Hooks\n\n| step | phase | hook | attempt | outcome | status | at | detail |\n|---|---|---|---|---|---|---|---|\n")
		for _, h := range r.Hooks {
			fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s | %s | %s |\n", c(h.Step), h.Phase, c(h.Hook), h.Attempt, h.Outcome, c(dash(h.Status)), r.When(&h.At), c(dash(h.Reason)))
		}
	}

	b.WriteString("\n## Instances\n\n")
	if len(r.Instances) == 0 {
		b.WriteString("None launched.\n")
	} else {
		b.WriteString("| instance | server | step | launched | until | ended | minutes |\n|---|---|---|---|---|---|---|\n")
		for _, in := range r.Instances {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", c(in.ID), c(in.Server), c(in.Step), r.When(&in.LaunchedAt), in.Until,
				r.When(in.EndedAt), minutesWords(in.Minutes))
		}
	}
}

func title(m ripcord.Mode) string {
	if m == ripcord.ModeRecovery {
		return "Recovery"
	}
	return "Drill"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mdCell escapes s for a Markdown table cell: no line breaks, no cell
// separators, no HTML.
var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "\\`")

func mdCell(s string) string { return mdEscaper.Replace(s) }

//go:embed report.html.tmpl
var htmlSource string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"stamp":   stamp,
	"dash":    dash,
	"rpo":     rpoWords,
	"minutes": minutesWords,
	"title":   title,
	"ended":   ended,
	"f1":      func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"ptr":     func(t time.Time) *time.Time { return &t },
	"add":     func(a, b int) int { return a + b },
	"sub":     func(a, b any) float64 { return toF(a) - toF(b) },
}).Parse(htmlSource))

func toF(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

type htmlView struct {
	Report
	Timeline timeline
}
