package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ripcord-dr/ripcord"
	"github.com/ripcord-dr/ripcord/plan"
)

func ptr(b bool) *bool { return &b }

// TestResolveLaunchOverrides: a server's serverLaunch entry wins over its
// group's launch, field by field; two groups of the same server may set
// different fields; a server of no group with overrides has none.
func TestResolveLaunchOverrides(t *testing.T) {
	f := decodeString(t, `
targets: [{name: east, account: "111122223333", region: us-east-1}]
protectionGroups:
  - name: db
    target: east
    selector: {Tier: database}
    launch: {disposition: STARTED, rightSizing: NONE, copyPrivateIp: true}
    serverLaunch:
      s-00000000000000e02: {rightSizing: BASIC, copyPrivateIp: false}
  - name: tagged
    target: east
    servers: [s-00000000000000e01]
    launch: {copyTags: true}
plans:
  - name: p
    steps:
      - {name: database, groups: [db, tagged]}
      - {name: web, servers: [s-00000000000000e05]}
`)
	got, err := plan.Resolve(f, "p", inventory())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*ripcord.LaunchOverrides{
		"s-00000000000000e01": {Disposition: "STARTED", RightSizing: "NONE", CopyPrivateIP: ptr(true), CopyTags: ptr(true)},
		"s-00000000000000e02": {Disposition: "STARTED", RightSizing: "BASIC", CopyPrivateIP: ptr(false)},
		"s-00000000000000e05": nil,
	}
	n := 0
	for _, st := range got {
		for _, sv := range st.Servers {
			n++
			w, ok := want[sv.ID]
			if !ok {
				t.Errorf("unexpected server %s", sv.ID)
				continue
			}
			if show(sv.Launch) != show(w) {
				t.Errorf("server %s: launch %s, want %s", sv.ID, show(sv.Launch), show(w))
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d servers resolved, want %d", n, len(want))
	}
}

func show(o *ripcord.LaunchOverrides) string {
	if o == nil {
		return "none"
	}
	s := o.Disposition + "/" + o.RightSizing
	for _, b := range []*bool{o.CopyPrivateIP, o.CopyTags, o.BYOL} {
		switch {
		case b == nil:
			s += "/-"
		case *b:
			s += "/true"
		default:
			s += "/false"
		}
	}
	return s
}

// TestResolveLaunchOverrideClash: two groups that set a field of the same
// servers to different values are one error per pair and field, naming
// both groups, both values and how many servers.
func TestResolveLaunchOverrideClash(t *testing.T) {
	f := decodeString(t, `
targets: [{name: east, account: "111122223333", region: us-east-1}]
protectionGroups:
  - {name: db, target: east, selector: {Tier: database}, launch: {copyTags: true, disposition: STARTED}}
  - {name: all-db, target: east, servers: [s-00000000000000e01, s-00000000000000e02], launch: {copyTags: false, disposition: STARTED}}
plans:
  - name: p
    steps:
      - {name: database, groups: [db, all-db]}
`)
	_, err := plan.Resolve(f, "p", inventory())
	if err == nil {
		t.Fatal("Resolve succeeded, want a clash")
	}
	msg := err.Error()
	want := `server s-00000000000000e01 (and 1 more servers) is in protection groups "db" and "all-db", whose launch settings disagree on copyTags: true in "db", false in "all-db"`
	var e *ripcord.Error
	if !strings.Contains(msg, want) || strings.Count(msg, "disagree") != 1 || !errors.As(err, &e) || !strings.Contains(e.Hint, "serverLaunch") {
		t.Errorf("error:\n%s\nwant one clash:\n%s", msg, want)
	}
	if ripcord.ErrorCode(err) != ripcord.EINVALID {
		t.Errorf("code %s, want EINVALID", ripcord.ErrorCode(err))
	}
}
