package client

import (
	"context"
	"net/http"

	"github.com/ripcord-dr/ripcord"
)

// DeliveryList is the answer of GET /api/v1/executions/{id}/deliveries.
type DeliveryList struct {
	Deliveries []ripcord.Delivery `json:"deliveries"`
}

// Deliveries returns the notifications recorded for execution id.
func (c *Client) Deliveries(ctx context.Context, id string) (DeliveryList, error) {
	var out DeliveryList
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/executions/" + seg(id) + "/deliveries"}, &out)
	return out, err
}
