package ripcord_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ripcord-dr/ripcord"
)

func TestSourceServerReady(t *testing.T) {
	tests := []struct {
		name   string
		server ripcord.SourceServer
		rpo    time.Duration
		ready  bool
		reason string // a part of the reason
	}{
		{"continuous, caught up", ripcord.SourceServer{ReplicationState: "CONTINUOUS"}, 5 * time.Minute, true, ""},
		{"continuous, lag at the target", ripcord.SourceServer{ReplicationState: "CONTINUOUS", Lag: 5 * time.Minute}, 5 * time.Minute, true, ""},
		{"continuous, lag over the target", ripcord.SourceServer{ReplicationState: "CONTINUOUS", Lag: 6 * time.Minute}, 5 * time.Minute, false, "lag 6m0s is over the RPO target of 5m0s"},
		{"no RPO target: lag not checked", ripcord.SourceServer{ReplicationState: "CONTINUOUS", Lag: 48 * time.Hour}, 0, true, ""},
		{"initial sync", ripcord.SourceServer{ReplicationState: "INITIAL_SYNC"}, time.Hour, false, "initial sync"},
		{"initiating", ripcord.SourceServer{ReplicationState: "INITIATING"}, time.Hour, false, "initial sync"},
		{"stalled, with DRS's reason", ripcord.SourceServer{ReplicationState: "STALLED", ReplicationError: "UNSTABLE_NETWORK"}, time.Hour, false, "stalled (UNSTABLE_NETWORK)"},
		{"disconnected", ripcord.SourceServer{ReplicationState: "DISCONNECTED"}, time.Hour, false, "disconnected"},
		{"stopped", ripcord.SourceServer{ReplicationState: "STOPPED"}, time.Hour, false, "stopped"},
		{"backlog", ripcord.SourceServer{ReplicationState: "BACKLOG", Lag: 3 * time.Minute}, time.Hour, false, "backlog (lag 3m0s)"},
		{"paused", ripcord.SourceServer{ReplicationState: "PAUSED"}, time.Hour, false, "paused"},
		{"rescan", ripcord.SourceServer{ReplicationState: "RESCAN"}, time.Hour, false, "RESCAN"},
		{"no state", ripcord.SourceServer{}, time.Hour, false, "no replication state"},
		{"unknown state", ripcord.SourceServer{ReplicationState: "SOMETHING_NEW"}, time.Hour, false, "SOMETHING_NEW is not CONTINUOUS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, reason := tt.server.Ready(tt.rpo)
			if ready != tt.ready {
				t.Errorf("Ready = %v (%q), want %v", ready, reason, tt.ready)
			}
			if tt.ready && reason != "" {
				t.Errorf("ready with reason %q", reason)
			}
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("reason %q lacks %q", reason, tt.reason)
			}
		})
	}
}

func TestJobActive(t *testing.T) {
	for status, want := range map[string]bool{"PENDING": true, "STARTED": true, "COMPLETED": false, "": false} {
		if got := (ripcord.Job{Status: status}).Active(); got != want {
			t.Errorf("Job{Status: %q}.Active() = %v, want %v", status, got, want)
		}
	}
}

func TestDRSErrorChain(t *testing.T) {
	cause := errors.New("operation error drs: StartRecovery, ConflictException")
	de := &ripcord.DRSError{Op: "StartRecovery", Type: "ConflictException",
		Err: &ripcord.Error{Code: ripcord.ECONFLICT, Message: "server s-1 is held", Hint: "wait"}, Cause: cause}
	err := fmt.Errorf("launch step db: %w", de)
	if ripcord.ErrorCode(err) != ripcord.ECONFLICT || ripcord.ErrorHint(err) != "wait" {
		t.Errorf("code %q, hint %q", ripcord.ErrorCode(err), ripcord.ErrorHint(err))
	}
	if err.Error() != "launch step db: server s-1 is held" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is not in the chain")
	}
	var got *ripcord.DRSError
	if !errors.As(err, &got) || got.Type != "ConflictException" {
		t.Error("errors.As does not find the DRSError")
	}
}
