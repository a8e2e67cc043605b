package web

import (
	"net/http"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// listAudit answers a page of the audit log, oldest first.
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, _ *identity) error {
	after, err := intParam(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	list, err := h.cfg.Store.ListAudit(r.Context(), ripcord.AuditFilter{After: after, Limit: int(limit) + 1})
	if err != nil {
		return err
	}
	out := client.AuditPage{Entries: []client.AuditEntry{}, Next: after}
	for i, e := range list {
		if i == int(limit) {
			out.More = true
			break
		}
		out.Entries = append(out.Entries, client.AuditEntry{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action,
			Object: e.Object, Remote: e.Remote, Detail: e.Detail})
		out.Next = e.Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listTokens answers the tokens, oldest first: never a secret or a hash.
func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, _ *identity) error {
	list, err := h.cfg.Store.ListTokens(r.Context())
	if err != nil {
		return err
	}
	now := h.now()
	out := client.TokenList{Tokens: make([]client.Token, len(list))}
	for i, t := range list {
		out.Tokens[i] = client.TokenOf(t, now)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
