package engine_test

import (
	"encoding/json"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/engine"
)

// TestLaunchConfigsRecordedGuard: the fingerprints apply once, only to a
// drill that succeeded; the fold passes over any other.
func TestLaunchConfigsRecordedGuard(t *testing.T) {
	ev := func(seq int64, typ string, data any) ripcord.Event {
		b, _ := json.Marshal(data)
		return ripcord.Event{Seq: seq, Type: typ, Actor: "engine", At: t0, Data: b}
	}
	log := func(mode ripcord.Mode, state ripcord.ExecState, fps ...map[string]string) []ripcord.Event {
		s := spec(ripcord.FailureStop, launchStep("db", nil, db1))
		s.Mode = mode
		evs := []ripcord.Event{ev(1, engine.EvExecutionStarted, s)}
		n := int64(1)
		for _, fp := range fps[:1] {
			n++
			evs = append(evs, ev(n, engine.EvLaunchConfigsRecorded, engine.LaunchConfigsRecorded{Fingerprints: fp}))
		}
		n++
		evs = append(evs, ev(n, engine.EvExecutionFinished, engine.ExecutionFinished{State: state}))
		for _, fp := range fps[1:] {
			n++
			evs = append(evs, ev(n, engine.EvLaunchConfigsRecorded, engine.LaunchConfigsRecorded{Fingerprints: fp}))
		}
		return evs
	}
	first, second := map[string]string{"prod/" + db1: "aaaa"}, map[string]string{"prod/" + db1: "bbbb"}
	for _, tc := range []struct {
		name string
		evs  []ripcord.Event
		want string // the fingerprint kept; "" none
	}{
		{"before the drill ended", log(ripcord.ModeDrill, ripcord.ExecSucceeded, first), ""},
		{"after a drill succeeded, once", log(ripcord.ModeDrill, ripcord.ExecSucceeded, nil, first, second), "aaaa"},
		{"after a failed drill", log(ripcord.ModeDrill, ripcord.ExecFailed, nil, first), ""},
		{"after a recovery", log(ripcord.ModeRecovery, ripcord.ExecSucceeded, nil, first), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := engine.Fold("x", tc.evs)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.LaunchConfigs["prod/"+db1]; got != tc.want {
				t.Fatalf("fingerprint %q, want %q (%v)", got, tc.want, s.LaunchConfigs)
			}
		})
	}
}
