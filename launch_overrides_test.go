package ripcord

import (
	"slices"
	"testing"
)

// TestLaunchOverridesDiff: only the fields the overrides set and DRS has
// otherwise are in the update and the changes, in a fixed order.
func TestLaunchOverridesDiff(t *testing.T) {
	yes, no := true, false
	have := LaunchConfiguration{LaunchDisposition: "STOPPED", RightSizing: "BASIC", CopyPrivateIP: true, CopyTags: false, BYOL: false, Name: "db"}
	o := LaunchOverrides{Disposition: "STARTED", RightSizing: "BASIC", CopyPrivateIP: &yes, CopyTags: &yes, BYOL: &no}
	update, changes := o.Diff(have)
	want := []LaunchChange{{FieldLaunchDisposition, "STOPPED", "STARTED"}, {FieldCopyTags, "false", "true"}}
	if !slices.Equal(changes, want) {
		t.Errorf("changes %+v, want %+v", changes, want)
	}
	if update.Disposition != "STARTED" || update.RightSizing != "" || update.CopyPrivateIP != nil || update.CopyTags == nil || !*update.CopyTags || update.BYOL != nil {
		t.Errorf("update %+v: want only disposition and copyTags", update)
	}
	if u, c := (LaunchOverrides{}).Diff(have); !u.IsZero() || c != nil {
		t.Errorf("empty overrides: %+v, %+v", u, c)
	}
	// Under: the receiver wins, unset fields come from the base.
	m := LaunchOverrides{CopyTags: &no}.Under(o)
	if *m.CopyTags || m.Disposition != "STARTED" || m.BYOL != &no {
		t.Errorf("Under = %+v", m)
	}
	if c := o.Conflicts(LaunchOverrides{CopyTags: &no, Disposition: "STARTED"}); len(c) != 1 || c[0] != (LaunchChange{FieldCopyTags, "true", "false"}) {
		t.Errorf("Conflicts = %+v", c)
	}
}
