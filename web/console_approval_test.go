package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
)

// TestConsoleSignInComesBack: a console page without a session sends the
// browser to the sign-in form with the page as next, and the sign-in goes
// back there; a next that is not a console page of this server (another
// site, a scheme-relative URL, a backslash trick, the sign-in form itself)
// goes to the overview instead. An approval link's page without a link,
// or with a link that was not signed with the store's secret, is 400.
func TestConsoleSignInComesBack(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	page := "/console/executions?state=running"
	status, h, _ := b.do("GET", page, nil)
	if want := "/console/signin?next=" + url.QueryEscape(page); status != http.StatusSeeOther || h.Get("Location") != want {
		t.Fatalf("GET %s without a session: %d to %q; want %q", page, status, h.Get("Location"), want)
	}
	for next, want := range map[string]string{
		page:                           page,
		"https://evil.example/console": "/console",
		"//evil.example/console":       "/console",
		"/\\evil.example/console":      "/console",
		"/console/signin?next=/x":      "/console",
		"/api/v1/executions":           "/console",
		"javascript:alert(1)":          "/console",
		"":                             "/console",
	} {
		b := e.browser()
		if status, _, body := b.do("GET", "/console/signin?next="+url.QueryEscape(next), nil); status != http.StatusOK ||
			!strings.Contains(body, `name="next" value="`+strings.ReplaceAll(want, "&", "&amp;")+`"`) {
			t.Errorf("sign-in form for next %q: %d; want next %q in the form", next, status, want)
		}
		status, h, _ := b.do("POST", "/console/signin", url.Values{"csrf": {b.csrf}, "token": {e.secrets[ripcord.RoleViewer]}, "next": {next}})
		if status != http.StatusSeeOther || h.Get("Location") != want {
			t.Errorf("sign-in with next %q: %d to %q; want %q", next, status, h.Get("Location"), want)
		}
	}

	b.signIn(e.secrets[ripcord.RoleViewer])
	for _, link := range []string{"", "nonsense", "YTEAZXhlYwBzdGVwADM.AAAA"} {
		if status, _, body := b.do("GET", "/console/approve?link="+url.QueryEscape(link), nil); status != http.StatusBadRequest ||
			!strings.Contains(body, "approval link") {
			t.Errorf("approval page with link %q: %d; want 400 about the link\n%s", link, status, body)
		}
	}
}
