package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/client"
)

// TestDecodeJSON: the strict JSON decoding the control endpoints will use
// (no endpoint of this package takes JSON yet).
func TestDecodeJSON(t *testing.T) {
	h := &Handler{cfg: Config{MaxBody: 64}}
	type body struct {
		Plan string `json:"plan"`
		Mode string `json:"mode"`
	}
	for _, tc := range []struct {
		name, ct, body, code string
	}{
		{"ok", "application/json", `{"plan":"orders","mode":"drill"}`, ""},
		{"ok with charset", "application/json; charset=utf-8", `{"plan":"orders"}`, ""},
		{"unknown field", "application/json", `{"plan":"orders","actor":"mallory"}`, ripcord.EINVALID},
		{"malformed", "application/json", `{"plan":`, ripcord.EINVALID},
		{"wrong type", "application/json", `{"plan":1}`, ripcord.EINVALID},
		{"two values", "application/json", `{"plan":"a"}{"plan":"b"}`, ripcord.EINVALID},
		{"trailing garbage", "application/json", `{"plan":"a"} x`, ripcord.EINVALID},
		{"not JSON", "text/plain", `{"plan":"a"}`, ripcord.EINVALID},
		{"too large", "application/json", `{"plan":"` + strings.Repeat("a", 100) + `"}`, client.ETOOLARGE},
		{"not UTF-8", "application/json", "{\"plan\":\"\xff\"}", ripcord.EINVALID},
	} {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ct)
		var v body
		err := h.decodeJSON(httptest.NewRecorder(), r, &v)
		if got := ripcord.ErrorCode(err); got != tc.code {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.code)
		}
	}
}

func TestErrorBody(t *testing.T) {
	// Every code of the table answers its status; anything else is an
	// internal error whose detail is not shown.
	for code, status := range statusOf {
		got, _, body := errorBody(&ripcord.Error{Code: code, Message: "m", Hint: "h"}, "rid")
		if got != status || body.Error.Code != code {
			t.Errorf("%s: %d %+v", code, got, body)
		}
	}
	for _, err := range []error{&ripcord.Error{Code: "weird", Message: "secret detail"}, errString("disk on fire at /var/lib/x")} {
		status, _, body := errorBody(err, "rid")
		if status != http.StatusInternalServerError || body.Error.Code != ripcord.EINTERNAL ||
			strings.Contains(body.Error.Message, "detail") || strings.Contains(body.Error.Message, "fire") || !strings.Contains(body.Error.Hint, "rid") {
			t.Errorf("%v: %d %+v", err, status, body)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestFailLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newFailLimiter(2, time.Minute, 3)
	for i := range 2 {
		if _, limited := l.limited("a", t0); limited {
			t.Fatalf("limited after %d failures", i)
		}
		l.fail("a", t0)
	}
	if wait, limited := l.limited("a", t0); !limited || wait != time.Minute {
		t.Fatalf("after the burst: %v %v", wait, limited)
	}
	if wait, limited := l.limited("a", t0.Add(45*time.Second)); !limited || wait != 15*time.Second {
		t.Fatalf("45s later: %v %v", wait, limited)
	}
	if _, limited := l.limited("a", t0.Add(time.Minute)); limited {
		t.Fatal("a minute later: limited")
	}
	// Memory stays bounded: at most 3 addresses.
	l.fail("b", t0)
	l.fail("c", t0)
	for i := range 100 {
		l.fail("x"+string(rune('a'+i%26))+string(rune('a'+i/26)), t0.Add(time.Hour))
	}
	if n := len(l.buckets); n > 3 {
		t.Fatalf("%d addresses remembered, want at most 3", n)
	}
}
