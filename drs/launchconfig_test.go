package drs_test

import (
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/drs"
)

// TestUpdateLaunchConfiguration: through the SDK to the simulator, an
// update sends only the fields it sets, GetLaunchConfiguration then shows
// them, and DRS's refusal while a job launches the server is a conflict.
func TestUpdateLaunchConfiguration(t *testing.T) {
	e := newEnv(t, generated(2))
	ids := e.serverIDs()
	before, err := e.client.LaunchConfiguration(ctx(t), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	flip := !before.CopyTags
	byol := !before.BYOL
	disp := "STOPPED"
	if before.LaunchDisposition == "STOPPED" {
		disp = "STARTED"
	}
	got, err := e.client.UpdateLaunchConfiguration(ctx(t), ids[0], ripcord.LaunchOverrides{Disposition: disp, CopyTags: &flip, BYOL: &byol})
	if err != nil {
		t.Fatal(err)
	}
	want := before
	want.LaunchDisposition, want.CopyTags, want.BYOL = disp, flip, byol
	if got != want {
		t.Errorf("update returned %+v\nwant %+v", got, want)
	}
	read, err := e.client.LaunchConfiguration(ctx(t), ids[0])
	if err != nil || read != want {
		t.Errorf("read after the update: %+v, %v\nwant %+v", read, err, want)
	}

	if _, err := e.client.StartRecovery(ctx(t), launch(ids[1]), true, nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.UpdateLaunchConfiguration(ctx(t), ids[1], ripcord.LaunchOverrides{CopyTags: &flip})
	if !drs.IsConflict(err) || ripcord.ErrorCode(err) != ripcord.ECONFLICT {
		t.Errorf("update while launching: %v (%s), want a conflict", err, ripcord.ErrorCode(err))
	}
	if n := e.requests("UpdateLaunchConfiguration"); n != 2 {
		t.Errorf("%d UpdateLaunchConfiguration requests, want 2", n)
	}
}
