// Package client is the Go client of ripcord's REST API (`ripcord serve`,
// package web): typed methods for every endpoint, and a follower of an
// execution's events over server-sent events that resumes after a dropped
// connection without losing or repeating an event. docs/api.md describes
// the API.
//
// Every error the server answers comes back as a *ripcord.Error with the
// server's code, message and hint (the codes of the root package, and
// those of this package: EUNAUTHENTICATED, EFORBIDDEN, ...). A server that
// cannot be reached is EUNAVAILABLE; an answer that is not the API's is
// EUNAVAILABLE (a proxy's 502, 503 or 504) or EINTERNAL. A cancelled or
// expired context is returned as the context's error.
//
// The types in types.go are the API's wire format; the server encodes the
// same types.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Client calls one ripcord server with one token. It is safe for
// concurrent use.
type Client struct {
	base    *url.URL // scheme and host, and a path prefix ending in "/" (e.g. behind a proxy)
	token   string
	hc      *http.Client
	timeout time.Duration // per call, except streams
	// reconnectMin and reconnectMax bound the wait between reconnections
	// of Follow; it doubles after each failed one.
	reconnectMin, reconnectMax time.Duration
	maxAnswer                  int64
	userAgent                  string
}

// Option configures a Client in [New].
type Option func(*Client)

// WithHTTPClient makes the client use hc. Its Timeout must be zero for
// [Client.Follow] (a stream lasts as long as the caller wants): use
// [WithTimeout] for calls. Redirects are never followed, whatever hc's
// CheckRedirect says: the API does not redirect.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithTimeout bounds every call but Follow (default 30s; 0: none).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = max(d, 0) }
}

// WithReconnect sets the wait of Follow before it reconnects after a
// dropped connection: min first, doubling up to max while reconnections
// fail (default 250ms to 5s). A server's Retry-After is honoured up to max.
func WithReconnect(min, max time.Duration) Option {
	return func(c *Client) {
		if min > 0 {
			c.reconnectMin = min
		}
		if max >= c.reconnectMin {
			c.reconnectMax = max
		}
	}
}

// WithUserAgent sets the User-Agent of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the server at baseURL (e.g.
// "https://ripcord.example.com" or "http://127.0.0.1:8080/ripcord/"),
// authenticating with token. An empty token sends no Authorization header
// (enough for Health, Ready and OpenAPI).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("server address %q is not an http(s) URL", baseURL),
			Hint:    "give the server's base URL, e.g. https://ripcord.example.com or http://127.0.0.1:8080"}
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: "the token contains a line break",
			Hint: "pass the token exactly as `ripcord token create` printed it"}
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawPath = ""
	c := &Client{base: u, token: token, hc: &http.Client{}, timeout: 30 * time.Second,
		reconnectMin: 250 * time.Millisecond, reconnectMax: 5 * time.Second,
		maxAnswer: 64 << 20, userAgent: "ripcord-client"}
	for _, o := range opts {
		o(c)
	}
	hc := *c.hc // a copy: the caller's client keeps its own redirect policy
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	return c, nil
}

// BaseURL returns the server's base URL, ending in "/".
func (c *Client) BaseURL() string { return c.base.String() }

// endpoint returns the URL of path (segments already escaped, no leading
// "/") with query q.
func (c *Client) endpoint(path string, q url.Values) string {
	s := c.base.Scheme + "://" + c.base.Host + c.base.EscapedPath() + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// request is one call.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
	header       http.Header
	// ok lists the statuses that answer with out; any other is an error.
	ok []int
}

// call makes the request and decodes a successful answer into out (nil:
// drop it). It returns the status.
func (c *Client) call(ctx context.Context, rq request, out any) (int, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, rq)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	ok := rq.ok
	if len(ok) == 0 {
		ok = []int{http.StatusOK}
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return resp.StatusCode, c.decode(ctx, resp, out)
		}
	}
	return resp.StatusCode, c.errorOf(ctx, resp)
}

// send sends rq and returns the answer, whatever its status.
func (c *Client) send(ctx context.Context, rq request) (*http.Response, error) {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, c.endpoint(rq.path, rq.query), body)
	if err != nil {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s %s: %v", rq.method, rq.path, err)}
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: fmt.Sprintf("%s %s: %v", rq.method, c.endpoint(rq.path, nil), err),
			Hint:    "check that the server is running at " + c.BaseURL() + " and that this machine reaches it"}
	}
	return resp, nil
}

// decode reads a JSON answer into out. Unknown fields are ignored: the
// server may add fields.
func (c *Client) decode(ctx context.Context, resp *http.Response, out any) error {
	b, err := c.readAll(ctx, resp)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &ripcord.Error{Code: ripcord.EINTERNAL,
			Message: fmt.Sprintf("%s %s: the answer is not the API's JSON: %v", resp.Request.Method, resp.Request.URL.Path, err),
			Hint:    "check that " + c.BaseURL() + " is a ripcord server of a compatible version"}
	}
	return nil
}

// readAll reads an answer's body, at most maxAnswer bytes.
func (c *Client) readAll(ctx context.Context, resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &ripcord.Error{Code: ripcord.EUNAVAILABLE,
			Message: fmt.Sprintf("%s %s: reading the answer: %v", resp.Request.Method, resp.Request.URL.Path, err),
			Hint:    "the connection to the server was lost; try again"}
	}
	if int64(len(b)) > c.maxAnswer {
		return nil, &ripcord.Error{Code: ripcord.EINTERNAL,
			Message: fmt.Sprintf("%s %s: the answer is over %d bytes", resp.Request.Method, resp.Request.URL.Path, c.maxAnswer),
			Hint:    "ask for less (a smaller limit)"}
	}
	return b, nil
}

// errorOf turns an error answer into a *ripcord.Error: the server's code,
// message and hint when the body is the API's error shape.
func (c *Client) errorOf(ctx context.Context, resp *http.Response) error {
	b, err := c.readAll(ctx, resp)
	if err != nil {
		return err
	}
	var e ErrorBody
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" &&
		json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
		out := &ripcord.Error{Code: e.Error.Code, Message: e.Error.Message, Hint: e.Error.Hint}
		if out.Code == ERATELIMITED {
			if s := resp.Header.Get("Retry-After"); s != "" && !strings.Contains(out.Hint, s) {
				out.Hint = strings.TrimSpace(out.Hint + " (Retry-After: " + s + "s)")
			}
		}
		return out
	}
	// Not the API's answer: a proxy, a load balancer, another server.
	code := ripcord.EINTERNAL
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		code = ripcord.EUNAVAILABLE
	}
	text := strings.TrimSpace(string(b))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	msg := fmt.Sprintf("%s %s: the server answered %s", resp.Request.Method, resp.Request.URL.Path, resp.Status)
	if text != "" {
		msg += ": " + strconv.Quote(text)
	}
	return &ripcord.Error{Code: code, Message: msg,
		Hint: "the answer is not ripcord's; check that " + c.BaseURL() + " is the ripcord server and not a proxy in front of it"}
}

// IsCode reports whether err is a *ripcord.Error with the given code.
func IsCode(err error, code string) bool {
	var e *ripcord.Error
	return errors.As(err, &e) && e.Code == code
}
