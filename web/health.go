package web

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// openAPIDoc is the OpenAPI 3 document of the API; a test keeps it and
// the routes alike.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3 document the Handler serves.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request, _ *identity) error {
	writeJSON(w, http.StatusOK, client.Health{Status: "ok"})
	return nil
}

// readyz asks the store for one execution: it answers when the server can
// serve.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request, _ *identity) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := h.cfg.Store.ListExecutions(ctx, ripcord.ExecutionFilter{Limit: 1}); err != nil {
		h.log.ErrorContext(ctx, "readiness: the store does not answer", "error", err)
		return fail(ripcord.EUNAVAILABLE, "the store does not answer", "the server's log says why")
	}
	writeJSON(w, http.StatusOK, client.Health{Status: "ok"})
	return nil
}

func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request, _ *identity) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDoc)))
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDoc)
	return nil
}

// audit writes a change to the audit log. It is called after the change:
// if the log cannot be written, the change stays and the request fails
// with an internal error that says so (the log has the detail).
func (h *Handler) recordAudit(ctx context.Context, id *identity, action, object, detail string) error {
	_, err := h.cfg.Store.AppendAudit(ctx, auditEntry(id.actor, action, object, id.remote, detail))
	if err != nil {
		return fmt.Errorf("%s %s by %s was done, but writing it to the audit log failed: %w", action, object, id.actor, err)
	}
	return nil
}

// auditEntry makes an audit entry of strings a client may have shaped (a
// file name, a step): the store takes only valid UTF-8 without NUL bytes,
// so anything else is replaced rather than losing the entry.
func auditEntry(actor, action, object, remote, detail string) ripcord.AuditEntry {
	clean := func(s string) string { return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD") }
	return ripcord.AuditEntry{Actor: clean(actor), Action: action, Object: clean(object), Remote: clean(remote), Detail: clean(detail)}
}
