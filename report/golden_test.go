package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/report"
)

// goldenNow is when the golden reports are built.
var goldenNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// readEvents reads the fixed event log of testdata/drill-events.json (the
// drill of TestReportAgainstSimulator; -update there rewrites it).
func readEvents(t *testing.T) []ripcord.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "drill-events.json"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []ripcord.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestGoldenReports renders the report of a fixed event log in every
// format and compares each with testdata/report.FORMAT (go test ./report
// -run TestGoldenReports -update rewrites them after a deliberate change).
func TestGoldenReports(t *testing.T) {
	evs := readEvents(t)
	r, err := report.FromEvents("report-1", evs, goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range report.Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := r.Render(&b, format); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "report."+format)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./report -run TestGoldenReports -update writes it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("the %s report differs from %s (-update rewrites it):\n%s", format, path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the lines that differ, with their numbers.
func lineDiff(want, got string) string {
	var b strings.Builder
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
		}
	}
	return b.String()
}

// TestReportEscapes: names and messages from plans and DRS are escaped in
// the HTML (html/template) and in the Markdown tables.
func TestReportEscapes(t *testing.T) {
	evs := readEvents(t)
	const evil = `<script>alert(1)</script>|x`
	for i, ev := range evs {
		var m map[string]any
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			continue
		}
		switch ev.Type {
		case "ExecutionStarted":
			m["plan"] = evil
		case "ServerStatus":
			if m["reason"] != nil {
				m["reason"] = evil
			}
		default:
			continue
		}
		evs[i].Data, _ = json.Marshal(m)
	}
	r, err := report.FromEvents("report-1", evs, goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan != evil || len(r.Failures) != 1 || r.Failures[0].Cause != evil {
		t.Fatalf("the hostile names did not reach the report: plan %q, failures %+v", r.Plan, r.Failures)
	}
	for _, format := range []string{report.FormatHTML, report.FormatMarkdown} {
		var b bytes.Buffer
		if err := r.Render(&b, format); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "<script>") {
			t.Errorf("the %s report holds a raw <script> from the plan or DRS", format)
		}
		if !strings.Contains(b.String(), "&lt;script&gt;") && !strings.Contains(b.String(), `\u003cscript`) {
			t.Errorf("the %s report does not show the escaped name", format)
		}
	}
	if err := r.Render(&bytes.Buffer{}, "pdf"); err == nil || !strings.Contains(ripcord.ErrorHint(err), "html, md, json") {
		t.Errorf("render as pdf: %v", err)
	}
}
