package client

import (
	"context"
	"net/http"
	"net/url"
)

// Report returns an execution's report in format (html, md or json), as
// the server renders it: GET /api/v1/executions/{id}/report.
func (c *Client) Report(ctx context.Context, id, format string) ([]byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "api/v1/executions/" + seg(id) + "/report",
		query: url.Values{"format": {format}}, header: http.Header{"Accept": {"*/*"}}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.errorOf(ctx, resp)
	}
	return c.readAll(ctx, resp)
}
