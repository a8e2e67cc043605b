package client

import (
	"context"
	"net/http"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Readiness is the answer of GET /api/v1/plans/{name}/readiness: the
// latest readiness check of the plan that ripcord serve ran (every
// --check-interval), with its time.
type Readiness struct {
	Plan     string    `json:"plan"`
	PlanHash string    `json:"planHash"`
	Checked  time.Time `json:"checked"`
	// Ready is false when a finding is blocking.
	Ready    bool              `json:"ready"`
	Findings []ripcord.Finding `json:"findings"`
	// Staleness compares the plan with its last good drill.
	Staleness *ripcord.Staleness `json:"staleness,omitempty"`
	// Error says why the check itself could not run (the plan does not
	// decode, the store failed); then there are no findings.
	Error string `json:"error,omitempty"`
}

// PlanReadiness returns the latest readiness check of the plan named name.
func (c *Client) PlanReadiness(ctx context.Context, name string) (Readiness, error) {
	var out Readiness
	_, err := c.call(ctx, request{method: http.MethodGet, path: "api/v1/plans/" + seg(name) + "/readiness"}, &out)
	return out, err
}
