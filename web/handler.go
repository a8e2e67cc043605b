// Package web is ripcord's HTTP server: the REST API under /api/v1 (JSON,
// and server-sent events for an execution's log), its OpenAPI 3 document,
// and /healthz and /readyz. docs/api.md describes the API; package client
// is its Go client and holds the wire types both sides use.
//
// Requests authenticate with API tokens (Authorization: Bearer TOKEN): the
// server hashes the token and looks it up in the store, so the store never
// holds a secret. Each route needs a role (viewer < operator < recovery <
// admin); the acting identity comes from the token alone. Every change is
// written to the audit log, failed sign-ins too, and failed sign-ins are
// rate limited per client address.
//
// The Handler sets no http.Server timeouts: that is the caller's business,
// and ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout and
// MaxHeaderBytes are the recommended values (event streams lift the read
// deadline and extend the write deadline as they go).
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// Recommended http.Server settings for the Handler.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = time.Minute // a whole request, body included (plan files are small)
	WriteTimeout      = time.Minute // an answer; an event stream extends its own deadline
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 64 << 10
)

// Config configures a Handler. Only Store is required.
type Config struct {
	Store ripcord.Store
	// Now is the server's clock: token expiry and the sign-in rate limit
	// are judged on it (default time.Now). Tests pass a manual clock.
	Now func() time.Time
	// Logger receives internal errors and failures worth a look (default:
	// discard).
	Logger *slog.Logger
	// MaxBody bounds a request body (default 1 MiB); more is refused with
	// 413.
	MaxBody int64
	// PollInterval is how often an event stream reads the store for new
	// events while it has none to send and no note of the store woke it
	// (default 1s).
	PollInterval time.Duration
	// KeepAlive is how often an idle event stream sends a comment, so that
	// proxies keep it open (default 15s).
	KeepAlive time.Duration
	// StreamWriteTimeout bounds each write of an event stream (default
	// WriteTimeout): a client that stops reading is dropped.
	StreamWriteTimeout time.Duration
	// SignInBurst failed sign-ins are allowed from one address at once,
	// then one per SignInEvery (defaults 10 and 6s: 10 a minute).
	SignInBurst int
	SignInEvery time.Duration
	// Executions starts and controls executions (ripcord serve's
	// supervisor); without it those endpoints answer 503.
	Executions Executions
	// Inventory reads what DRS holds in a plan's targets and the logs of
	// an execution's DRS jobs (ripcord serve's supervisor); without it the
	// servers and job log endpoints answer 503.
	Inventory Inventory
	// Readiness gives plans' readiness checks and staleness (ripcord
	// serve); without it the readiness endpoint answers 503 and plans
	// list no staleness.
	Readiness Readiness
}

// Handler serves the API. Create it with New.
type Handler struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []Route
	limiter *failLimiter
	folds   *foldCache
	jobLogs *jobLogCache // DRS job logs (inventory.go)
	console *console     // the web console (console.go)

	closeOnce sync.Once
	closed    chan struct{} // closed by Close: event streams end
	notes     noteHub       // wakes event streams (notes.go)
}

// Route is one route the Handler serves: a method, a path pattern (in
// http.ServeMux syntax, as in the OpenAPI document) and the role it needs
// ("" for none: no authentication).
type Route struct {
	Method string
	Path   string
	Role   ripcord.Role
	// Query lists the query parameters it accepts; any other is refused.
	Query []string

	serve func(h *Handler, w http.ResponseWriter, r *http.Request, id *identity) error
}

// New returns a Handler serving cfg.Store.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: "web: no store"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.StreamWriteTimeout <= 0 {
		cfg.StreamWriteTimeout = WriteTimeout
	}
	if cfg.SignInBurst <= 0 {
		cfg.SignInBurst = 10
	}
	if cfg.SignInEvery <= 0 {
		cfg.SignInEvery = 6 * time.Second
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		limiter: newFailLimiter(cfg.SignInBurst, cfg.SignInEvery, 10000),
		folds:   newFoldCache(256), jobLogs: newJobLogCache(jobLogCacheSize), closed: make(chan struct{})}
	h.routes = routes()
	for _, rt := range h.routes {
		h.mux.Handle(rt.Method+" "+rt.Path, h.wrap(rt))
	}
	if err := h.mountConsole(); err != nil {
		return nil, err
	}
	return h, nil
}

// routes is every route: the OpenAPI document lists the same (a test
// checks both ways).
func routes() []Route {
	page := []string{"after", "limit"}
	return []Route{
		{Method: "GET", Path: "/healthz", serve: (*Handler).healthz},
		{Method: "GET", Path: "/readyz", serve: (*Handler).readyz},
		{Method: "GET", Path: "/api/v1/openapi.json", serve: (*Handler).openAPI},

		{Method: "GET", Path: "/api/v1/plans", Role: ripcord.RoleViewer, serve: (*Handler).listPlans},
		{Method: "POST", Path: "/api/v1/plans", Role: ripcord.RoleAdmin, Query: []string{"file"}, serve: (*Handler).savePlans},
		{Method: "POST", Path: "/api/v1/plans/validate", Role: ripcord.RoleViewer, Query: []string{"file"}, serve: (*Handler).validatePlans},
		{Method: "GET", Path: "/api/v1/plans/{name}", Role: ripcord.RoleViewer, Query: []string{"version"}, serve: (*Handler).getPlan},
		{Method: "GET", Path: "/api/v1/plans/{name}/versions", Role: ripcord.RoleViewer, serve: (*Handler).planVersions},
		{Method: "GET", Path: "/api/v1/plans/{name}/diff", Role: ripcord.RoleViewer, Query: []string{"from", "to"}, serve: (*Handler).planDiff},
		{Method: "GET", Path: "/api/v1/plans/{name}/servers", Role: ripcord.RoleViewer, serve: (*Handler).planServers},
		{Method: "GET", Path: "/api/v1/plans/{name}/readiness", Role: ripcord.RoleViewer, serve: (*Handler).planReadiness},
		{Method: "GET", Path: "/api/v1/targets", Role: ripcord.RoleViewer, serve: (*Handler).listTargets},
		{Method: "GET", Path: "/api/v1/protection-groups", Role: ripcord.RoleViewer, serve: (*Handler).listGroups},

		{Method: "GET", Path: "/api/v1/executions", Role: ripcord.RoleViewer,
			Query: []string{"plan", "state", "mode", "since", "until", "limit"}, serve: (*Handler).listExecutions},
		{Method: "GET", Path: "/api/v1/executions/{id}", Role: ripcord.RoleViewer, serve: (*Handler).getExecution},
		{Method: "GET", Path: "/api/v1/executions/{id}/events", Role: ripcord.RoleViewer, Query: page, serve: (*Handler).events},
		{Method: "GET", Path: "/api/v1/executions/{id}/jobs/{job}/log", Role: ripcord.RoleViewer, serve: (*Handler).executionJobLog},
		{Method: "GET", Path: "/api/v1/executions/{id}/deliveries", Role: ripcord.RoleViewer, serve: (*Handler).deliveries},
		{Method: "GET", Path: "/api/v1/executions/{id}/report", Role: ripcord.RoleViewer, Query: []string{"format"}, serve: (*Handler).executionReport},
		// Starting and controlling need role operator, and recovery for a
		// recovery (checked in the handlers, which know the mode).
		{Method: "POST", Path: "/api/v1/executions", Role: ripcord.RoleOperator, serve: (*Handler).startExecution},
		{Method: "POST", Path: "/api/v1/executions/{id}/{action}", Role: ripcord.RoleOperator, serve: (*Handler).control},
		// Any role may ask; the step's approvers are checked in the
		// handler (approval.go).
		{Method: "POST", Path: "/api/v1/executions/{id}/approve", Role: ripcord.RoleViewer, serve: (*Handler).approve},
		{Method: "POST", Path: "/api/v1/executions/{id}/reject", Role: ripcord.RoleViewer, serve: (*Handler).reject},

		{Method: "GET", Path: "/api/v1/audit", Role: ripcord.RoleAdmin, Query: page, serve: (*Handler).listAudit},
		{Method: "GET", Path: "/api/v1/tokens", Role: ripcord.RoleAdmin, serve: (*Handler).listTokens},
	}
}

// Routes returns the routes the Handler serves.
func (h *Handler) Routes() []Route { return slices.Clone(h.routes) }

// Close ends the event streams in progress (http.Server.Shutdown waits for
// handlers, and a stream would last as long as its client). Requests after
// Close are served; new streams end at once.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.closed) })
}

func (h *Handler) now() time.Time { return h.cfg.Now() }

// ServeHTTP serves a request: the checks every request gets, then its
// route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := newRequestID()
	hd := w.Header()
	hd.Set("X-Request-ID", rid)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	hd.Set("Cache-Control", "no-store")
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, rid))
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "panic serving a request", "request_id", rid, "method", r.Method, "path", r.URL.Path, "panic", v)
			h.writeError(w, r, fmt.Errorf("panic: %v", v))
		}
	}()

	// Path tricks: the path must be what it says. "..", ".", "//", an
	// escaped "/" inside a segment, and a trailing "/" are refused
	// rather than cleaned or redirected.
	if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p || strings.Contains(r.URL.RawPath, "%2F") || strings.Contains(r.URL.RawPath, "%2f") {
		h.writeError(w, r, fail(ripcord.EINVALID, fmt.Sprintf("the path %q is not in canonical form", r.URL.Path),
			"use the paths docs/api.md lists, without '.', '..', '//', an escaped '/' or a trailing '/'"))
		return
	}
	handler, pattern := h.mux.Handler(r)
	if pattern == "" {
		// The mux's own 404 or 405, in the API's shape.
		rec := &statusRecorder{header: http.Header{}}
		handler.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			e := fail(client.EMETHOD, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path), "allowed: "+rec.header.Get("Allow"))
			h.writeError(w, r, e.with("Allow", rec.header.Get("Allow")))
			return
		}
		h.writeError(w, r, fail(ripcord.ENOTFOUND, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path),
			"GET /api/v1/openapi.json lists the endpoints"))
		return
	}
	h.mux.ServeHTTP(w, r) // it sets the path's values, which Handler does not
}

// wrap gives a route its checks: authentication and role, then its query
// parameters; then it serves it and answers its error.
func (h *Handler) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id *identity
		if rt.Role != "" {
			var err error
			if id, err = h.authenticate(r); err != nil {
				h.writeError(w, r, err)
				return
			}
			if err := authorize(id, rt.Role); err != nil {
				h.log.InfoContext(r.Context(), "refused", "actor", id.actor, "method", r.Method, "path", r.URL.Path, "need", rt.Role)
				h.writeError(w, r, err)
				return
			}
		}
		if err := checkQuery(r, rt.Query); err != nil {
			h.writeError(w, r, err)
			return
		}
		if err := rt.serve(h, w, r, id); err != nil {
			h.writeError(w, r, err)
		}
	})
}

type requestIDKey struct{}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func requestID(r *http.Request) string {
	s, _ := r.Context().Value(requestIDKey{}).(string)
	return s
}

// writeError answers err in the API's one error shape; an internal error
// is logged with its detail, which the answer does not show.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	rid := requestID(r)
	status, header, body := errorBody(err, rid)
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "error", err)
	}
	for k, vs := range header {
		w.Header()[k] = vs
	}
	writeJSON(w, status, body)
}

// statusRecorder records what the mux's own 404 and 405 handlers write.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }
