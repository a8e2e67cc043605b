package web

import (
	"bytes"
	"net/http"

	"github.com/ripcord-dr/ripcord/report"
)

// executionReport serves GET /api/v1/executions/{id}/report?format=html|md|json:
// the execution's drill or recovery report (package report), built from
// its log at the time of the request.
func (h *Handler) executionReport(w http.ResponseWriter, r *http.Request, _ *identity) error {
	return h.writeReport(w, r)
}

// consoleReport serves the console's Report link: the same report, with
// the console's session.
func (h *Handler) consoleReport(w http.ResponseWriter, r *http.Request, _ *identity, _ *session) error {
	return h.writeReport(w, r)
}

func (h *Handler) writeReport(w http.ResponseWriter, r *http.Request) error {
	id, err := executionID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = report.Formats[0]
	}
	if err := report.CheckFormat(format); err != nil {
		return err
	}
	evs, err := h.cfg.Store.Events(r.Context(), id, 0, 0)
	if err != nil {
		return notFound(err, id)
	}
	rep, err := report.FromEvents(id, evs, h.now())
	if err != nil {
		return notFound(err, id)
	}
	var b bytes.Buffer
	if err := rep.Render(&b, format); err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", report.ContentType(format))
	hd.Set("Content-Disposition", `inline; filename="ripcord-report-`+id+`.`+format+`"`)
	if format == report.FormatHTML {
		// One self-contained page: its inline style, nothing else.
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b.Bytes())
	return err
}
