package ripcord_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

func TestExecState(t *testing.T) {
	tests := []struct {
		state           ripcord.ExecState
		valid, terminal bool
	}{
		{ripcord.ExecRunning, true, false},
		{ripcord.ExecPaused, true, false},
		{ripcord.ExecSucceeded, true, true},
		{ripcord.ExecFailed, true, true},
		{ripcord.ExecCancelled, true, true},
		{"", false, false},
		{"done", false, false},
	}
	for _, tt := range tests {
		if got := tt.state.Valid(); got != tt.valid {
			t.Errorf("%q.Valid() = %v, want %v", tt.state, got, tt.valid)
		}
		if got := tt.state.Terminal(); got != tt.terminal {
			t.Errorf("%q.Terminal() = %v, want %v", tt.state, got, tt.terminal)
		}
	}
	for m, want := range map[ripcord.Mode]bool{ripcord.ModeDrill: true, ripcord.ModeRecovery: true, "failback": true, "failover": false, "": false} {
		if m.Valid() != want {
			t.Errorf("%q.Valid() = %v, want %v", m, !want, want)
		}
	}
}

func TestSequenceEvents(t *testing.T) {
	zone := time.FixedZone("UTC+2", 2*3600)
	in := []ripcord.Event{
		{At: time.Date(2025, 1, 1, 12, 0, 0, 123456789, zone), Actor: "engine", Type: "A"},
		{ExecutionID: "ex-1", Seq: 6, At: time.Date(2025, 1, 1, 12, 0, 1, 0, zone), Actor: "bob", Type: "B", Data: json.RawMessage(`{}`)},
	}
	out, err := ripcord.SequenceEvents("ex-1", 4, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range out {
		if e.ExecutionID != "ex-1" || e.Seq != int64(5+i) || e.At.Location() != time.UTC || !e.At.Equal(in[i].At.Truncate(time.Microsecond)) {
			t.Errorf("event %d = %+v", i, e)
		}
	}
	if in[0].Seq != 0 || in[0].ExecutionID != "" || in[0].At.Location() != zone {
		t.Errorf("the caller's events were changed: %+v", in[0])
	}
}

func TestStoreTime(t *testing.T) {
	now := time.Now() // with a monotonic reading
	got := ripcord.StoreTime(now)
	if got.Location() != time.UTC || got.Nanosecond()%1000 != 0 || got != got.Round(0) || now.Sub(got) >= time.Microsecond || now.Sub(got) < 0 {
		t.Errorf("StoreTime(%v) = %v", now, got)
	}
}
