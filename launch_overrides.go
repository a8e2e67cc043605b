package ripcord

import "strconv"

// LaunchOverrides are the DRS launch configuration settings a plan sets for
// a source server (a protection group's launch:, a server's entry in its
// serverLaunch:). An unset field is left as DRS has it. The engine applies
// the fields that differ from DRS's configuration with
// UpdateLaunchConfiguration before the server's first launch.
//
// New fields must be tagged omitempty, so that adding one does not change
// the hash of plans that do not use it.
type LaunchOverrides struct {
	// Disposition is DRS's launchDisposition: STARTED or STOPPED.
	Disposition string `json:"disposition,omitempty"`
	// RightSizing is DRS's targetInstanceTypeRightSizingMethod: NONE,
	// BASIC or IN_AWS.
	RightSizing   string `json:"rightSizing,omitempty"`
	CopyPrivateIP *bool  `json:"copyPrivateIp,omitempty"`
	CopyTags      *bool  `json:"copyTags,omitempty"`
	// BYOL is DRS's licensing.osByol.
	BYOL *bool `json:"byol,omitempty"`
}

// The values DRS accepts for the launch settings overrides may set.
var (
	LaunchDispositions = []string{"STOPPED", "STARTED"}
	RightSizingMethods = []string{"NONE", "BASIC", "IN_AWS"}
)

// Names of the launch configuration fields, as DRS spells them in
// GetLaunchConfiguration and UpdateLaunchConfiguration: what a LaunchChange
// names.
const (
	FieldLaunchDisposition = "launchDisposition"
	FieldRightSizing       = "targetInstanceTypeRightSizingMethod"
	FieldCopyPrivateIP     = "copyPrivateIp"
	FieldCopyTags          = "copyTags"
	FieldBYOL              = "licensing.osByol"
)

// IsZero reports whether o sets nothing.
func (o LaunchOverrides) IsZero() bool {
	return o.Disposition == "" && o.RightSizing == "" && o.CopyPrivateIP == nil && o.CopyTags == nil && o.BYOL == nil
}

// Under returns o with the fields it leaves unset taken from base: o wins.
func (o LaunchOverrides) Under(base LaunchOverrides) LaunchOverrides {
	if o.Disposition == "" {
		o.Disposition = base.Disposition
	}
	if o.RightSizing == "" {
		o.RightSizing = base.RightSizing
	}
	if o.CopyPrivateIP == nil {
		o.CopyPrivateIP = base.CopyPrivateIP
	}
	if o.CopyTags == nil {
		o.CopyTags = base.CopyTags
	}
	if o.BYOL == nil {
		o.BYOL = base.BYOL
	}
	return o
}

// Conflicts names the fields that o and p both set, to different values.
func (o LaunchOverrides) Conflicts(p LaunchOverrides) []LaunchChange {
	var out []LaunchChange
	str := func(field, a, b string) {
		if a != "" && b != "" && a != b {
			out = append(out, LaunchChange{Field: field, From: a, To: b})
		}
	}
	boolean := func(field string, a, b *bool) {
		if a != nil && b != nil && *a != *b {
			out = append(out, LaunchChange{Field: field, From: strconv.FormatBool(*a), To: strconv.FormatBool(*b)})
		}
	}
	str(FieldLaunchDisposition, o.Disposition, p.Disposition)
	str(FieldRightSizing, o.RightSizing, p.RightSizing)
	boolean(FieldCopyPrivateIP, o.CopyPrivateIP, p.CopyPrivateIP)
	boolean(FieldCopyTags, o.CopyTags, p.CopyTags)
	boolean(FieldBYOL, o.BYOL, p.BYOL)
	return out
}

// LaunchChange is one launch configuration field that overrides change:
// its DRS name, the value DRS had and the value it gets.
type LaunchChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Diff compares o with the configuration DRS has: update holds only the
// fields o sets that differ from c (what to send to
// UpdateLaunchConfiguration), changes names them, in a fixed order. Both
// are empty when DRS already launches the server as o says.
func (o LaunchOverrides) Diff(c LaunchConfiguration) (update LaunchOverrides, changes []LaunchChange) {
	if o.Disposition != "" && o.Disposition != c.LaunchDisposition {
		update.Disposition = o.Disposition
		changes = append(changes, LaunchChange{FieldLaunchDisposition, c.LaunchDisposition, o.Disposition})
	}
	if o.RightSizing != "" && o.RightSizing != c.RightSizing {
		update.RightSizing = o.RightSizing
		changes = append(changes, LaunchChange{FieldRightSizing, c.RightSizing, o.RightSizing})
	}
	boolean := func(field string, want *bool, have bool, set **bool) {
		if want != nil && *want != have {
			v := *want
			*set = &v
			changes = append(changes, LaunchChange{field, strconv.FormatBool(have), strconv.FormatBool(v)})
		}
	}
	boolean(FieldCopyPrivateIP, o.CopyPrivateIP, c.CopyPrivateIP, &update.CopyPrivateIP)
	boolean(FieldCopyTags, o.CopyTags, c.CopyTags, &update.CopyTags)
	boolean(FieldBYOL, o.BYOL, c.BYOL, &update.BYOL)
	return update, changes
}
