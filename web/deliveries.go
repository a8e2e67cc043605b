package web

import (
	"net/http"

	"github.com/ripcord-dr/ripcord/client"
)

// deliveries answers GET /api/v1/executions/{id}/deliveries: the
// notifications sent (or being sent, or failed) about an execution, as
// the store records them (package notify sends them).
func (h *Handler) deliveries(w http.ResponseWriter, r *http.Request, _ *identity) error {
	id, err := executionID(r)
	if err != nil {
		return err
	}
	if _, err := h.cfg.Store.Execution(r.Context(), id); err != nil {
		return notFound(err, id)
	}
	list, err := h.cfg.Store.ListDeliveries(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.DeliveryList{Deliveries: list})
	return nil
}
