package main

import (
	"encoding/json"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestHookTimeline: exec show describes each hook event: the intent with
// what is called, results with status, reason and output, and skips.
func TestHookTimeline(t *testing.T) {
	ref := engine.HookRef{Step: "dns", Phase: engine.HookOwn, Hook: "switch-dns"}
	for _, tc := range []struct {
		typ  string
		data any
		want string
	}{
		{engine.EvHookStarted, engine.HookStarted{HookRef: ref, Kind: "http", Attempt: 1, What: "POST https://dns.example.com/v1"},
			"step dns: hook switch-dns, attempt 1, recorded before calling POST https://dns.example.com/v1"},
		{engine.EvHookSucceeded, engine.HookResult{HookRef: ref, Attempt: 1, Status: "200", Output: "ok"},
			`step dns: hook switch-dns, attempt 1, succeeded (200); output "ok"`},
		{engine.EvHookFailed, engine.HookResult{HookRef: ref, Attempt: 2, Unclear: true, Final: true, Reason: "the outcome is unknown"},
			"step dns: hook switch-dns, attempt 2, failed: the outcome is unknown; no attempt follows"},
		{engine.EvHookSkipped, engine.HookSkippedData{HookRef: ref, Reason: "runs only in a recovery, not in a drill"},
			"step dns: hook switch-dns skipped: runs only in a recovery, not in a drill"},
		{engine.EvHookSucceeded, engine.HookResult{HookRef: engine.HookRef{Step: "database", Phase: engine.HookAfter, Hook: "promote"}, Attempt: 1, Status: "204"},
			"step database: after hook promote, attempt 1, succeeded (204)"},
	} {
		b, _ := json.Marshal(tc.data)
		got, err := eventText(ripcord.Event{Type: tc.typ, Data: b})
		if err != nil || got != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.typ, got, err, tc.want)
		}
	}
}
