package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
	"github.com/ripcord-dr/ripcord/engine"
	"github.com/ripcord-dr/ripcord/notify"
)

// approvalNotifyPlan is approvalPlan notifying webhook of waits.
func approvalNotifyPlan(t *testing.T, webhook string) []byte {
	t.Helper()
	src := string(approvalPlan(t))
	out := strings.Replace(src, "    description: The orders application, tier by tier.\n",
		"    description: The orders application, tier by tier.\n    notify:\n      - webhook: "+webhook+"\n        events: [waiting]\n", 1)
	if out == src {
		t.Fatal("the example plan has no description to put notify: after")
	}
	return []byte(out)
}

// waitingHook receives the waiting notifications of a plan.
func waitingHook(t *testing.T) (*httptest.Server, <-chan notify.Message) {
	ch := make(chan notify.Message, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m notify.Message
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("webhook body %s: %v", b, err)
		}
		ch <- m
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// consoleUser is a cookie-keeping HTTP client of the console that does not
// follow redirects.
type consoleUser struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string // the last page's CSRF token
}

var formCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

func newConsoleUser(t *testing.T, base string) *consoleUser {
	jar, _ := cookiejar.New(nil)
	return &consoleUser{t: t, base: base, http: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (u *consoleUser) do(method, path string, form url.Values) (int, string, string) {
	u.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.base+path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", u.base)
	}
	resp, err := u.http.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := formCSRF.FindStringSubmatch(string(b)); m != nil {
		u.csrf = m[1]
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// open GETs page the way a person following a link does: without a
// session it is sent to the sign-in form, signs in with secret and is sent
// back to page. It returns the page.
func (u *consoleUser) open(page, secret string) string {
	u.t.Helper()
	status, loc, _ := u.do("GET", page, nil)
	if status != http.StatusSeeOther || loc != "/console/signin?next="+url.QueryEscape(page) {
		u.t.Fatalf("GET %s without a session: %d to %q; want the sign-in form coming back to the page", page, status, loc)
	}
	if status, _, body := u.do("GET", loc, nil); status != http.StatusOK || !strings.Contains(body, `name="next" value="`) {
		u.t.Fatalf("GET %s: %d\n%s", loc, status, body)
	}
	status, loc, body := u.do("POST", "/console/signin", url.Values{"csrf": {u.csrf}, "token": {secret}, "next": {page}})
	if status != http.StatusSeeOther || loc != page {
		u.t.Fatalf("sign-in: %d to %q; want back to %s\n%s", status, loc, page, body)
	}
	status, _, body = u.do("GET", page, nil)
	if status != http.StatusOK {
		u.t.Fatalf("GET %s signed in: %d\n%s", page, status, body)
	}
	return body
}

// TestApprovalLinkThroughServer: a drill on a real server (simulator,
// SQLite) waits at its approval step and notifies a webhook with approve
// and reject links under --public-url. The link's page needs a sign-in
// (and comes back to the page after it); a GET changes nothing. An
// operator (not an approver) sees who may decide and is refused when
// posting (403, audited, nothing recorded); a tampered link is refused. The
// recovery token rejects through the link (with a comment): the drill
// fails; a second use of the link says it was decided already. After a
// retry of the step, the old link is refused as an earlier wait, and the
// new notification's link approves once: the drill finishes.
func TestApprovalLinkThroughServer(t *testing.T) {
	c := newCLIEnv(t)
	hook, waits := waitingHook(t)
	admin, operator, recovery := c.mintToken("admin"), c.mintToken("operator"), c.mintToken("recovery")
	base, _ := startServe(t, c, func(cfg *serveConfig) { cfg.PublicURL = "https://dr.example.com" })
	ctx := boundedContext(t)
	ac, _ := client.New(base, admin)
	oc, _ := client.New(base, operator)
	if _, err := ac.SavePlans(ctx, "orders.yaml", approvalNotifyPlan(t, hook.URL)); err != nil {
		t.Fatal(err)
	}
	nextWait := func() (notify.Message, string) {
		t.Helper()
		select {
		case m := <-waits:
			u, err := url.Parse(m.ApproveURL)
			if err != nil || m.Step != "go-ahead" || !strings.HasPrefix(m.ApproveURL, "https://dr.example.com/console/approve?link=") ||
				!strings.HasPrefix(m.RejectURL, "https://dr.example.com/console/approve?link=") {
				t.Fatalf("waiting notification %+v: want approve and reject links of step go-ahead", m)
			}
			return m, u.RequestURI()
		case <-ctx.Done():
			t.Fatal("no waiting notification")
		}
		panic("unreachable")
	}
	lastSeq := func(id string) int64 {
		d, err := oc.Execution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Execution.LastSeq
	}
	x, err := oc.Start(ctx, client.StartRequest{Plan: "orders", Mode: ripcord.ModeDrill})
	if err != nil {
		t.Fatal(err)
	}
	m, page := nextWait()
	if m.ExecutionID != x.ID || m.Reason != "The app tier is up; check it, then approve the web tier." ||
		m.Approvers != `role recovery (or above), token "alice"` {
		t.Errorf("waiting notification %+v: want the step's message and approvers", m)
	}
	link := mustQuery(t, page, "link")
	seq := lastSeq(x.ID)

	// The operator: sign-in first, then a page that offers nothing; a POST
	// is refused and audited; nothing is recorded.
	op := newConsoleUser(t, base)
	body := op.open(page, operator)
	if !strings.Contains(body, "The app tier is up; check it, then approve the web tier.") || !strings.Contains(body, `id="approve-refused"`) ||
		strings.Contains(body, `id="approve-form"`) || !strings.Contains(body, `role recovery (or above), token &#34;alice&#34;`) {
		t.Errorf("the operator's approval page: want the message, who may decide and no form\n%s", body)
	}
	if status, _, body := op.do("GET", "/console/executions/"+x.ID, nil); status != http.StatusOK ||
		!strings.Contains(body, `id="approval-refused-go-ahead"`) || strings.Contains(body, `id="ctl-approve-go-ahead"`) {
		t.Errorf("the operator's execution page: %d; want who may decide and no Approve button\n%s", status, body)
	}
	// A forged POST of the execution page's form: refused, audited.
	if status, _, _ := op.do("POST", "/console/executions/"+x.ID+"/approve", url.Values{"csrf": {op.csrf}, "step": {"go-ahead"},
		"seq": {strings.TrimPrefix(m.ID, x.ID+"/")}}); status != http.StatusForbidden {
		t.Errorf("the operator's POST of the page's Approve: %d; want 403", status)
	}
	if !audited(t, ac, "execution.approve.refused", x.ID, "operator-person (tok_", "step go-ahead, console") {
		t.Errorf("the operator's refused approval from the page is not audited")
	}
	status, _, body := op.do("POST", "/console/approve", url.Values{"csrf": {op.csrf}, "link": {link}, "decision": {"approve"}, "comment": {"fine"}})
	if status != http.StatusForbidden || !strings.Contains(body, "may not approve step go-ahead") {
		t.Errorf("the operator's POST: %d; want 403 saying who may\n%s", status, body)
	}
	if !audited(t, ac, "execution.approve.refused", x.ID, "operator-person (tok_", "approval link") {
		t.Errorf("the operator's refused approval is not audited")
	}

	// A tampered link is refused, on the page and in a POST.
	rc := newConsoleUser(t, base)
	body = rc.open("/console/executions/"+x.ID, recovery)
	if !strings.Contains(body, `id="ctl-approve-go-ahead"`) {
		t.Errorf("the recovery token's execution page has no Approve button\n%s", body)
	}
	tampered := link[:len(link)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(link, "AA")]
	if status, _, body := rc.do("GET", "/console/approve?link="+url.QueryEscape(tampered), nil); status != http.StatusBadRequest || !strings.Contains(body, "this approval link is not valid") {
		t.Errorf("a tampered link's page: %d; want 400\n%s", status, body)
	}
	if status, _, body := rc.do("POST", "/console/approve", url.Values{"csrf": {rc.csrf}, "link": {tampered}, "decision": {"approve"}}); status != http.StatusBadRequest {
		t.Errorf("a tampered link's POST: %d; want 400\n%s", status, body)
	}
	// Without the CSRF token: refused.
	if status, _, _ := rc.do("POST", "/console/approve", url.Values{"link": {link}, "decision": {"approve"}}); status != http.StatusForbidden {
		t.Errorf("a POST without the CSRF token: %d; want 403", status)
	}
	if got := lastSeq(x.ID); got != seq {
		t.Fatalf("refused decisions and GETs recorded events (%d to %d)", seq, got)
	}

	// The approver rejects through the link: the drill fails; the link is used.
	status, _, body = rc.do("GET", page, nil)
	if status != http.StatusOK || !strings.Contains(body, `id="approve-form"`) {
		t.Fatalf("the approver's approval page: %d\n%s", status, body)
	}
	status, loc, body := rc.do("POST", "/console/approve", url.Values{"csrf": {rc.csrf}, "link": {link}, "decision": {"reject"}, "comment": {"app errors up"}})
	if status != http.StatusSeeOther || loc != "/console/executions/"+x.ID {
		t.Fatalf("reject by link: %d to %q\n%s", status, loc, body)
	}
	if f := finishedAfter(t, oc, x.ID, seq); f.State != ripcord.ExecFailed {
		t.Fatalf("the rejected drill ended %s; want failed", f.State)
	}
	status, _, body = rc.do("POST", "/console/approve", url.Values{"csrf": {rc.csrf}, "link": {link}, "decision": {"approve"}})
	if status != http.StatusConflict || !strings.Contains(body, "was rejected already by recovery-person (tok_") {
		t.Errorf("a second use of the link: %d; want 409 saying it was decided\n%s", status, body)
	}
	if !audited(t, ac, "execution.reject", x.ID, "recovery-person (tok_", "approval link: app errors up") {
		t.Errorf("the rejection by link is not audited with its comment")
	}

	// A retry asks again: the old link is for an earlier wait; the new one
	// approves once.
	if _, err := oc.Control(ctx, x.ID, "retry", "go-ahead"); err != nil {
		t.Fatal(err)
	}
	_, page2 := nextWait()
	link2 := mustQuery(t, page2, "link")
	if link2 == link {
		t.Fatal("the retried wait's link is the first wait's")
	}
	status, _, body = rc.do("POST", "/console/approve", url.Values{"csrf": {rc.csrf}, "link": {link}, "decision": {"approve"}})
	if status != http.StatusConflict || !strings.Contains(body, "for an earlier wait of step go-ahead") {
		t.Errorf("the first wait's link after a retry: %d; want 409 (an earlier wait)\n%s", status, body)
	}
	if status, _, body := rc.do("GET", page2, nil); status != http.StatusOK || !strings.Contains(body, `id="approve-form"`) {
		t.Fatalf("the new link's page: %d\n%s", status, body)
	}
	status, _, body = rc.do("POST", "/console/approve", url.Values{"csrf": {rc.csrf}, "link": {link2}, "decision": {"approve"}, "comment": {"fixed, go"}})
	if status != http.StatusSeeOther {
		t.Fatalf("approve by the new link: %d\n%s", status, body)
	}
	if f := finishedAfter(t, oc, x.ID, lastSeq(x.ID)-1); f.State != ripcord.ExecSucceeded {
		t.Fatalf("the approved drill ended %s; want succeeded", f.State)
	}
	status, _, body = rc.do("POST", "/console/approve", url.Values{"csrf": {rc.csrf}, "link": {link2}, "decision": {"approve"}})
	if status != http.StatusConflict || !strings.Contains(body, "was approved already by recovery-person (tok_") {
		t.Errorf("a second use of the new link: %d; want 409\n%s", status, body)
	}
	evs, err := oc.Events(ctx, x.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var decisions []string
	for _, ev := range evs.Events {
		if ev.Type == engine.EvApprovalGranted || ev.Type == engine.EvApprovalRejected {
			var d engine.ApprovalDecision
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			decisions = append(decisions, ev.Type+" by "+strings.SplitN(ev.Actor, " ", 2)[0]+" via "+d.Via+": "+d.Comment)
		}
	}
	if strings.Join(decisions, "; ") != "ApprovalRejected by recovery-person via approval link: app errors up; ApprovalGranted by recovery-person via approval link: fixed, go" {
		t.Errorf("the execution's decisions: %q", decisions)
	}
}

func mustQuery(t *testing.T, page, key string) string {
	t.Helper()
	u, err := url.Parse(page)
	if err != nil || u.Query().Get(key) == "" {
		t.Fatalf("%s has no %s", page, key)
	}
	return u.Query().Get(key)
}

// audited reports whether the audit log has an entry of action on object
// by an actor starting with actor whose detail contains detail.
func audited(t *testing.T, ac *client.Client, action, object, actor, detail string) bool {
	t.Helper()
	page, err := ac.Audit(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.Action == action && e.Object == object && strings.HasPrefix(e.Actor, actor) && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}
