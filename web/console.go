package web

// The web console: server-rendered pages under /console (html/template,
// embedded in the binary), signed in with an API token and kept in a
// server-side session. docs/console.md describes it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

//go:embed console/templates/*.html console/static/*
var consoleFS embed.FS

const (
	sessionCookie  = "ripcord_session"
	signinCookie   = "ripcord_signin" // the sign-in form's CSRF token (before a session exists)
	sessionTTL     = 12 * time.Hour
	maxFlashes     = 10000
	maxConsoleForm = 64 << 10
	// consoleCSP lets console pages load their own stylesheet and script
	// and nothing else; no inline script or style.
	consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// console is the console's state: its templates and sessions.
type console struct {
	pages  map[string]*template.Template
	static fs.FS

	// flashes are the messages for a session's next page, shown once,
	// by session ID. They are this process's: a message for a page that
	// another replica serves is lost, and nothing else is.
	mu      sync.Mutex
	flashes map[string]string
}

// session is a signed-in browser: a random ID (the cookie's value) whose
// hash the store keeps (ripcord.Session), so that every replica serving
// the console knows it, pointing at the token's hash. The token is looked
// up on every request, so a revoked or expired token ends its sessions at
// once.
type session struct {
	id        string
	tokenHash []byte
	csrf      string
	expires   time.Time
}

var consoleFuncs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"short": short,
	"since": func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return ""
		}
		return offset(b.Sub(a))
	},
}

// offset is d as "+1m2s".
func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	if d < 10*time.Second {
		return sign + d.Round(100*time.Millisecond).String()
	}
	return sign + d.Round(time.Second).String()
}

func newConsole() (*console, error) {
	c := &console{pages: map[string]*template.Template{}, flashes: map[string]string{}}
	static, err := fs.Sub(consoleFS, "console/static")
	if err != nil {
		return nil, err
	}
	c.static = static
	shared := []string{"console/templates/layout.html", "console/templates/parts.html", "console/templates/readiness.html"}
	for _, page := range []string{"signin", "overview", "executions", "execution", "plans", "plan", "diff", "servers", "groups", "audit", "error", "approve"} {
		t, err := template.New(page).Funcs(consoleFuncs).ParseFS(consoleFS, append(shared, "console/templates/"+page+".html")...)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", page, err)
		}
		c.pages[page] = t
	}
	return c, nil
}

// mountConsole adds the console's routes to the Handler's mux. They are not
// API routes: the OpenAPI document does not list them.
func (h *Handler) mountConsole() error {
	c, err := newConsole()
	if err != nil {
		return err
	}
	h.console = c
	get := func(p string, need ripcord.Role, page func(w http.ResponseWriter, r *http.Request, id *identity, s *session) error) {
		h.mux.Handle("GET "+p, h.consolePage(need, page))
	}
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /console/static/{file}", h.consoleStatic)
	h.mux.HandleFunc("GET /console/signin", h.signinPage)
	h.mux.HandleFunc("POST /console/signin", h.signin)
	h.mux.Handle("POST /console/signout", h.consolePost(h.signout))
	get("/console", ripcord.RoleViewer, h.overviewPage)
	get("/console/executions", ripcord.RoleViewer, h.executionsPage)
	get("/console/executions/{id}", ripcord.RoleViewer, h.executionPage)
	get("/console/executions/{id}/fragment", ripcord.RoleViewer, h.executionFragment)
	get("/console/executions/{id}/report", ripcord.RoleViewer, h.consoleReport)
	h.mux.Handle("GET /console/executions/{id}/events", h.consoleAPI(func(w http.ResponseWriter, r *http.Request) error {
		id, err := executionID(r)
		if err != nil {
			return err
		}
		return h.stream(w, r, id)
	}))
	h.mux.Handle("POST /console/executions/{id}/{action}", h.consolePost(h.consoleControl))
	get("/console/plans", ripcord.RoleViewer, h.plansPage)
	get("/console/plans/{name}", ripcord.RoleViewer, h.planPage)
	get("/console/plans/{name}/diff", ripcord.RoleViewer, h.planDiffPage)
	get("/console/servers", ripcord.RoleViewer, h.serversPage)
	get("/console/groups", ripcord.RoleViewer, h.groupsPage)
	h.mux.Handle("POST /console/plans/{name}/start", h.consolePost(h.consoleStart))
	get("/console/approve", ripcord.RoleViewer, h.approvePage) // console_approval.go
	h.mux.Handle("POST /console/approve", h.consolePost(h.approveByLink))
	get("/console/audit", ripcord.RoleAdmin, h.auditPage)
	return nil
}

func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// errNoSession: the request has no live session; a page redirects to the
// sign-in form.
var errNoSession = errors.New("no session")

// session finds the request's live session and who it acts as.
func (h *Handler) session(r *http.Request) (*identity, *session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || len(ck.Value) != 64 {
		return nil, nil, errNoSession
	}
	ctx := r.Context()
	now := h.now()
	key := ripcord.TokenHash(ck.Value)
	x, err := h.cfg.Store.SessionByHash(ctx, key)
	switch {
	case ripcord.ErrorCode(err) == ripcord.ENOTFOUND:
		return nil, nil, errNoSession
	case err != nil:
		return nil, nil, fmt.Errorf("console session: %w", err)
	case !now.Before(x.Expires):
		h.endSession(ctx, ck.Value)
		return nil, nil, errNoSession
	}
	s := &session{id: ck.Value, tokenHash: x.TokenHash, csrf: x.CSRF, expires: x.Expires}
	t, err := h.cfg.Store.TokenByHash(ctx, s.tokenHash)
	switch {
	case ripcord.ErrorCode(err) == ripcord.ENOTFOUND:
	case err != nil:
		return nil, nil, fmt.Errorf("console session: %w", err)
	case subtle.ConstantTimeCompare(t.Hash, s.tokenHash) == 1 && t.Live(now):
		return &identity{token: t, actor: Actor(t), remote: remoteHost(r)}, s, nil
	}
	// The token is gone, revoked or expired: so is the session.
	h.endSession(ctx, s.id)
	return nil, nil, errNoSession
}

// newSession starts a session for token t, in the store.
func (h *Handler) newSession(ctx context.Context, t ripcord.Token) (*session, error) {
	now := h.now()
	exp := now.Add(sessionTTL)
	if !t.Expires.IsZero() && t.Expires.Before(exp) {
		exp = t.Expires
	}
	s := &session{id: randomID(), tokenHash: t.Hash, csrf: randomID(), expires: exp}
	err := h.cfg.Store.CreateSession(ctx, ripcord.Session{Hash: ripcord.TokenHash(s.id), TokenHash: t.Hash, CSRF: s.csrf, Expires: exp})
	if err != nil {
		return nil, fmt.Errorf("console sign-in: %w", err)
	}
	return s, nil
}

// endSession removes session id from the store (and its flash).
func (h *Handler) endSession(ctx context.Context, id string) {
	if err := h.cfg.Store.DeleteSession(ctx, ripcord.TokenHash(id)); err != nil {
		h.log.WarnContext(ctx, "console: removing a session failed; it expires on its own", "error", err)
	}
	h.console.mu.Lock()
	delete(h.console.flashes, id)
	h.console.mu.Unlock()
}

func (h *Handler) setFlash(s *session, msg string) {
	c := h.console
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.flashes) >= maxFlashes {
		clear(c.flashes) // memory stays bounded; a lost message is shown nowhere, nothing else is lost
	}
	c.flashes[s.id] = msg
}

func (h *Handler) takeFlash(s *session) string {
	c := h.console
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.flashes[s.id]
	delete(c.flashes, s.id)
	return m
}

// pageData is what every page's layout shows.
type pageData struct {
	Title   string
	User    string
	Role    ripcord.Role
	IsAdmin bool
	CSRF    string
	Flash   string
	Nav     string
	Body    any
}

func (h *Handler) data(id *identity, s *session, title, nav string, body any) pageData {
	d := pageData{Title: title, Nav: nav, Body: body}
	if id != nil {
		d.User, d.Role, d.IsAdmin = id.actor, id.token.Role, id.token.Role.Allows(ripcord.RoleAdmin)
	}
	if s != nil {
		d.CSRF, d.Flash = s.csrf, h.takeFlash(s)
	}
	return d
}

// render writes a page (or, with tmpl set, one template of it).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page, tmpl string, data any) {
	t := h.console.pages[page]
	if tmpl == "" {
		tmpl = "layout"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		h.log.ErrorContext(r.Context(), "console: rendering", "request_id", requestID(r), "page", page, "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>ripcord: error</title><p>Internal error (request " + requestID(r) + ").</p>")
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", consoleCSP)
	// The API's no-referrer makes browsers send "Origin: null" with a
	// page's forms; same-origin keeps the Origin that sameOrigin checks
	// and still tells other sites nothing.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorView is an error as a page shows it.
type errorView struct {
	Status  int
	Code    string
	Message string
	Hint    string
	Back    string
}

// renderError answers err as a page, with the API's status for its code.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, id *identity, s *session, err error) {
	status, header, body := errorBody(err, requestID(r))
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "console request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "error", err)
	}
	for k, vs := range header {
		if k != "Www-Authenticate" {
			w.Header()[k] = vs
		}
	}
	back := "/console"
	if id := r.PathValue("id"); id != "" && ripcord.ValidExecutionID(id) {
		back = "/console/executions/" + id
	}
	h.render(w, r, status, "error", "", h.data(id, s, http.StatusText(status), "",
		errorView{Status: status, Code: body.Error.Code, Message: body.Error.Message, Hint: body.Error.Hint, Back: back}))
}

// consolePage serves a page that needs a session and role need: without a
// session it redirects to the sign-in form.
func (h *Handler) consolePage(need ripcord.Role, page func(w http.ResponseWriter, r *http.Request, id *identity, s *session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, s, err := h.session(r)
		if errors.Is(err, errNoSession) {
			if strings.HasSuffix(r.URL.Path, "/fragment") {
				h.consoleText(w, http.StatusUnauthorized, "sign in again: /console/signin")
				return
			}
			http.Redirect(w, r, signinURL(r), http.StatusSeeOther)
			return
		}
		if err == nil {
			err = authorize(id, need)
		}
		if err == nil {
			err = page(w, r, id, s)
		}
		if err != nil {
			h.renderError(w, r, id, s, err)
		}
	})
}

// consoleAPI serves a non-page GET with a session (the event stream): its
// errors in the API's JSON shape.
func (h *Handler) consoleAPI(serve func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err := h.session(r)
		if errors.Is(err, errNoSession) {
			err = fail(client.EUNAUTHENTICATED, "no console session", "sign in at /console/signin")
		}
		if err == nil {
			err = serve(w, r)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

func (h *Handler) consoleText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// sameOrigin refuses a request whose Origin header (browsers send it with
// every POST) names another host: a second line behind the CSRF token and
// the SameSite cookie.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// readForm parses a POSTed form of at most maxConsoleForm bytes.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxConsoleForm)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(maxConsoleForm)
		}
		return fail(ripcord.EINVALID, "the form does not parse", "send the console's own forms")
	}
	return nil
}

// consolePost serves a form POST: a live session and its CSRF token are
// checked before anything is done; without them the answer is 403 and
// nothing changes.
func (h *Handler) consolePost(serve func(w http.ResponseWriter, r *http.Request, id *identity, s *session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, s, err := h.session(r)
		if errors.Is(err, errNoSession) {
			h.renderError(w, r, nil, nil, fail(client.EFORBIDDEN, "this form needs a console session", "sign in again at /console/signin"))
			return
		}
		if err == nil {
			err = readForm(w, r)
		}
		if err == nil && !sameOrigin(r) {
			err = fail(client.EFORBIDDEN, "the form was posted from another site", "use the console's own pages")
		}
		if err == nil {
			got := r.PostForm.Get("csrf")
			if len(r.PostForm["csrf"]) != 1 || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				h.log.InfoContext(r.Context(), "console: refused a form without its CSRF token", "actor", id.actor, "path", r.URL.Path)
				err = fail(client.EFORBIDDEN, "the form's CSRF token is missing or wrong", "reload the page and use its form again")
			}
		}
		if err == nil {
			err = serve(w, r, id, s)
		}
		if err != nil {
			h.renderError(w, r, id, s, err)
		}
	})
}

// consoleStatic serves the embedded stylesheet and script.
func (h *Handler) consoleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(h.console.static, name)
	if err != nil || strings.Contains(name, "/") {
		h.writeError(w, r, fail(ripcord.ENOTFOUND, "no such file", ""))
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// signinView is the sign-in form.
type signinView struct {
	Error string
	Token string // the form's CSRF token
	Next  string // the console page to go back to after signing in
}

func signinToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(signinCookie); err == nil && len(ck.Value) == 64 {
		return ck.Value
	}
	v := randomID()
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: v, Path: "/console/signin", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return v
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	next := nextPage(r.URL.Query().Get("next"))
	if _, _, err := h.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "signin", "", h.data(nil, nil, "Sign in", "", signinView{Token: signinToken(w, r), Next: next}))
}

// signin checks a token from the sign-in form as the API checks a bearer
// token (the same rate limit of failures per address, the same audit of
// failures) and starts a session.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	next := "/console"
	again := func(status int, msg string) {
		h.render(w, r, status, "signin", "", h.data(nil, nil, "Sign in", "", signinView{Error: msg, Token: signinToken(w, r), Next: next}))
	}
	if err := readForm(w, r); err != nil {
		h.renderError(w, r, nil, nil, err)
		return
	}
	next = nextPage(r.PostForm.Get("next"))
	ck, err := r.Cookie(signinCookie)
	if !sameOrigin(r) || err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		again(http.StatusForbidden, "The sign-in form expired or came from elsewhere: sign in again.")
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if secret == "" {
		again(http.StatusBadRequest, "Enter your API token.")
		return
	}
	// The API's own check of a bearer token: rate limit, lookup, audit.
	probe := r.Clone(r.Context())
	probe.Header = http.Header{"Authorization": {"Bearer " + secret}}
	id, err := h.authenticate(probe)
	if err != nil {
		status, header, body := errorBody(err, requestID(r))
		if status >= 500 {
			h.log.ErrorContext(r.Context(), "console sign-in", "request_id", requestID(r), "error", err)
		}
		if ra := header.Get("Retry-After"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		msg := "That token is not valid: it is unknown, expired or revoked."
		if body.Error.Code == client.ERATELIMITED {
			msg = "Too many failed sign-ins from this address: " + body.Error.Hint + "."
		} else if status >= 500 {
			msg = "The server could not check the token (request " + requestID(r) + ")."
		}
		again(status, msg)
		return
	}
	s, err := h.newSession(r.Context(), id.token)
	if err != nil {
		h.log.ErrorContext(r.Context(), "console sign-in: storing the session", "error", err)
		again(http.StatusInternalServerError, "The server could not start a session (request "+requestID(r)+").")
		return
	}
	if err := h.recordAudit(r.Context(), id, "console.signin", id.token.ID, ""); err != nil {
		h.log.ErrorContext(r.Context(), "console sign-in: audit", "error", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.id, Path: "/console", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: max(1, int(s.expires.Sub(h.now()).Seconds()))})
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: "/console/signin", MaxAge: -1})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, id *identity, s *session) error {
	h.endSession(r.Context(), s.id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	if err := h.recordAudit(r.Context(), id, "console.signout", id.token.ID, ""); err != nil {
		h.log.ErrorContext(r.Context(), "console sign-out: audit", "error", err)
	}
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
	return nil
}
