package drssim

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

func behGetLC(t *testing.T, e *testEnv, id string) *drs.GetLaunchConfigurationOutput {
	t.Helper()
	out, err := e.client.GetLaunchConfiguration(ctx(t), &drs.GetLaunchConfigurationInput{SourceServerID: aws.String(id)})
	if err != nil {
		t.Fatalf("GetLaunchConfiguration(%s): %v", id, err)
	}
	return out
}

// behLC is the comparable part of a launch configuration.
type behLC struct {
	server, name, template string
	disposition            types.LaunchDisposition
	rightSizing            types.TargetInstanceTypeRightSizingMethod
	copyIP, copyTags, byol bool
	postLaunch             bool
}

func behLCOf(t *testing.T, sid, name, tmpl *string, d types.LaunchDisposition, rs types.TargetInstanceTypeRightSizingMethod,
	copyIP, copyTags *bool, lic *types.Licensing, post *bool) behLC {
	t.Helper()
	if copyIP == nil || copyTags == nil || lic == nil || lic.OsByol == nil || post == nil {
		t.Fatalf("launch configuration without copyPrivateIp/copyTags/licensing.osByol/postLaunchEnabled")
	}
	return behLC{aws.ToString(sid), aws.ToString(name), aws.ToString(tmpl), d, rs, *copyIP, *copyTags, *lic.OsByol, *post}
}

var behLaunchTemplate = regexp.MustCompile(`^lt-[0-9a-f]{17}$`)

// TestLaunchConfigurationDefaults: every server starts with the documented
// defaults (docs/drs.md §16).
func TestLaunchConfigurationDefaults(t *testing.T) {
	e := newTestEnv(t, nil)
	hosts := map[string]string{db1: "orders-db-1", app2: "orders-app-2", web2: "orders-web-2"}
	templates := map[string]bool{}
	for sid, host := range hosts {
		o := behGetLC(t, e, sid)
		got := behLCOf(t, o.SourceServerID, o.Name, o.Ec2LaunchTemplateID, o.LaunchDisposition, o.TargetInstanceTypeRightSizingMethod,
			o.CopyPrivateIp, o.CopyTags, o.Licensing, o.PostLaunchEnabled)
		want := behLC{server: sid, name: host, template: got.template, disposition: types.LaunchDispositionStarted,
			rightSizing: types.TargetInstanceTypeRightSizingMethodBasic}
		if got != want {
			t.Errorf("%s defaults %+v, want %+v", sid, got, want)
		}
		if !behLaunchTemplate.MatchString(got.template) || templates[got.template] {
			t.Errorf("%s launch template %q (duplicate=%v)", sid, got.template, templates[got.template])
		}
		templates[got.template] = true
		if o.LaunchIntoInstanceProperties != nil {
			t.Errorf("%s has launchIntoInstanceProperties by default", sid)
		}
	}
}

// TestUpdateLaunchConfigurationPartial: an update changes only the members
// it names and returns the whole configuration.
func TestUpdateLaunchConfigurationPartial(t *testing.T) {
	e := newTestEnv(t, nil)
	orig := behGetLC(t, e, app1)
	steps := []struct {
		name   string
		in     drs.UpdateLaunchConfigurationInput
		change func(*behLC)
	}{
		{"copyTags", drs.UpdateLaunchConfigurationInput{CopyTags: aws.Bool(true)}, func(c *behLC) { c.copyTags = true }},
		{"name and right-sizing", drs.UpdateLaunchConfigurationInput{Name: aws.String("app-one"),
			TargetInstanceTypeRightSizingMethod: types.TargetInstanceTypeRightSizingMethodNone},
			func(c *behLC) { c.name, c.rightSizing = "app-one", types.TargetInstanceTypeRightSizingMethodNone }},
		{"licensing and private IP", drs.UpdateLaunchConfigurationInput{Licensing: &types.Licensing{OsByol: aws.Bool(true)}, CopyPrivateIp: aws.Bool(true)},
			func(c *behLC) { c.byol, c.copyIP = true, true }},
		{"disposition and post-launch", drs.UpdateLaunchConfigurationInput{LaunchDisposition: types.LaunchDispositionStopped, PostLaunchEnabled: aws.Bool(true)},
			func(c *behLC) { c.disposition, c.postLaunch = types.LaunchDispositionStopped, true }},
		{"copyTags back off", drs.UpdateLaunchConfigurationInput{CopyTags: aws.Bool(false)}, func(c *behLC) { c.copyTags = false }},
	}
	want := behLCOf(t, orig.SourceServerID, orig.Name, orig.Ec2LaunchTemplateID, orig.LaunchDisposition, orig.TargetInstanceTypeRightSizingMethod,
		orig.CopyPrivateIp, orig.CopyTags, orig.Licensing, orig.PostLaunchEnabled)
	for _, st := range steps {
		in := st.in
		in.SourceServerID = aws.String(app1)
		out, err := e.client.UpdateLaunchConfiguration(ctx(t), &in)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		st.change(&want)
		got := behLCOf(t, out.SourceServerID, out.Name, out.Ec2LaunchTemplateID, out.LaunchDisposition, out.TargetInstanceTypeRightSizingMethod,
			out.CopyPrivateIp, out.CopyTags, out.Licensing, out.PostLaunchEnabled)
		if got != want {
			t.Errorf("%s: update returned %+v, want %+v", st.name, got, want)
		}
		g := behGetLC(t, e, app1)
		if again := behLCOf(t, g.SourceServerID, g.Name, g.Ec2LaunchTemplateID, g.LaunchDisposition, g.TargetInstanceTypeRightSizingMethod,
			g.CopyPrivateIp, g.CopyTags, g.Licensing, g.PostLaunchEnabled); again != want {
			t.Errorf("%s: Get after update %+v, want %+v", st.name, again, want)
		}
	}
	// Other servers are untouched.
	if o := behGetLC(t, e, app2); aws.ToBool(o.CopyTags) || o.LaunchDisposition != types.LaunchDispositionStarted {
		t.Errorf("app2 changed: copyTags %v disposition %s", aws.ToBool(o.CopyTags), o.LaunchDisposition)
	}
}

// TestLaunchDispositionAndCopyTags: STOPPED launches a stopped (but
// LAUNCHED) instance; copyTags copies the server's tags to it.
func TestLaunchDispositionAndCopyTags(t *testing.T) {
	e := newTestEnv(t, nil)
	if _, err := e.client.UpdateLaunchConfiguration(ctx(t), &drs.UpdateLaunchConfigurationInput{SourceServerID: aws.String(web1),
		LaunchDisposition: types.LaunchDispositionStopped, CopyTags: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	behWaitSeed(t, e)
	jid := aws.ToString(behStart(t, e, true, web1, web2).JobID)
	behWaitJob(t, e, jid)
	for _, ps := range behJob(t, e, jid).ParticipatingServers {
		if ps.LaunchStatus != types.LaunchStatusLaunched {
			t.Errorf("%s: %s", aws.ToString(ps.SourceServerID), ps.LaunchStatus)
		}
	}
	cases := []struct {
		server string
		state  types.EC2InstanceState
		tags   map[string]string
	}{
		{web1, types.EC2InstanceStateStopped, behServer(t, e, web1).Tags},
		{web2, types.EC2InstanceStateRunning, map[string]string{}},
	}
	if len(cases[0].tags) != 3 {
		t.Fatalf("web1 tags %v", cases[0].tags)
	}
	for _, tc := range cases {
		list := behInstances(t, e, tc.server)
		if len(list) != 1 {
			t.Fatalf("%s: %d instances", tc.server, len(list))
		}
		ri := list[0]
		if ri.Ec2InstanceState != tc.state {
			t.Errorf("%s instance state %s, want %s", tc.server, ri.Ec2InstanceState, tc.state)
		}
		got := ri.Tags
		if got == nil {
			got = map[string]string{}
		}
		if !maps.Equal(got, tc.tags) {
			t.Errorf("%s instance tags %v, want %v", tc.server, got, tc.tags)
		}
		if mi := behModelInstance(t, e, aws.ToString(ri.RecoveryInstanceID)); mi.Ec2InstanceState != string(tc.state) {
			t.Errorf("model %s instance state %s", tc.server, mi.Ec2InstanceState)
		}
	}
}

// TestUpdateLaunchConfigurationRefused: invalid enums are ValidationExceptions
// naming the field; an update while the server is being launched conflicts.
func TestUpdateLaunchConfigurationRefused(t *testing.T) {
	e := newTestEnv(t, nil)
	invalid := []struct {
		field string
		in    drs.UpdateLaunchConfigurationInput
	}{
		{"launchDisposition", drs.UpdateLaunchConfigurationInput{LaunchDisposition: "PAUSED"}},
		{"targetInstanceTypeRightSizingMethod", drs.UpdateLaunchConfigurationInput{TargetInstanceTypeRightSizingMethod: "HUGE"}},
		{"launchIntoInstanceProperties.launchIntoEC2InstanceID", drs.UpdateLaunchConfigurationInput{
			LaunchIntoInstanceProperties: &types.LaunchIntoInstanceProperties{LaunchIntoEC2InstanceID: aws.String("vm-42")}}},
	}
	for _, tc := range invalid {
		in := tc.in
		in.SourceServerID = aws.String(db2)
		in.CopyTags = aws.Bool(true) // must not be applied either
		_, err := e.client.UpdateLaunchConfiguration(ctx(t), &in)
		var ve *types.ValidationException
		if !errors.As(err, &ve) {
			t.Errorf("%s: want ValidationException, got %v", tc.field, err)
			continue
		}
		if len(ve.FieldList) != 1 || aws.ToString(ve.FieldList[0].Name) != tc.field {
			t.Errorf("%s: fieldList %+v", tc.field, ve.FieldList)
		}
	}
	if o := behGetLC(t, e, db2); aws.ToBool(o.CopyTags) || o.LaunchDisposition != types.LaunchDispositionStarted {
		t.Errorf("refused updates changed the configuration: %+v", o)
	}

	// The seeded job is a TERMINATE job: it does not block updates (only a
	// launch job does, docs/drs.md §10).
	if _, err := e.client.UpdateLaunchConfiguration(ctx(t), &drs.UpdateLaunchConfigurationInput{SourceServerID: aws.String(db2),
		Name: aws.String("during-terminate")}); err != nil {
		t.Errorf("update during a TERMINATE job: %v", err)
	}
	behWaitSeed(t, e)
	jid := aws.ToString(behStart(t, e, true, db2).JobID)
	for _, step := range []time.Duration{0, 3 * time.Minute} {
		e.advance(step)
		_, err := e.client.UpdateLaunchConfiguration(ctx(t), &drs.UpdateLaunchConfigurationInput{SourceServerID: aws.String(db2), CopyTags: aws.Bool(true)})
		behConflict(t, err)
	}
	behWaitJob(t, e, jid)
	if _, err := e.client.UpdateLaunchConfiguration(ctx(t), &drs.UpdateLaunchConfigurationInput{SourceServerID: aws.String(db2), CopyTags: aws.Bool(true)}); err != nil {
		t.Errorf("update after the job: %v", err)
	}
	_, err := e.client.UpdateLaunchConfiguration(ctx(t), &drs.UpdateLaunchConfigurationInput{SourceServerID: aws.String("s-0123456789abcdef0")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown server: want ResourceNotFoundException, got %v", err)
	}
}

// TestStopStartReplication: a round trip through STOPPED, and the conflicts
// around it.
func TestStopStartReplication(t *testing.T) {
	e := newTestEnv(t, nil)
	c := ctx(t)
	_, err := e.client.StopReplication(c, &drs.StopReplicationInput{SourceServerID: aws.String(web1)})
	behConflict(t, err) // the seeded job holds it
	behWaitSeed(t, e)

	_, err = e.client.StartReplication(c, &drs.StartReplicationInput{SourceServerID: aws.String(web1)})
	behConflict(t, err) // not stopped

	stop, err := e.client.StopReplication(c, &drs.StopReplicationInput{SourceServerID: aws.String(web1)})
	if err != nil {
		t.Fatal(err)
	}
	if st := stop.SourceServer.DataReplicationInfo.DataReplicationState; st != types.DataReplicationStateStopped {
		t.Errorf("StopReplication returned %s", st)
	}
	if st := behServer(t, e, web1).DataReplicationInfo.DataReplicationState; st != types.DataReplicationStateStopped {
		t.Errorf("DescribeSourceServers: %s", st)
	}
	if st := behModelServer(t, e, web1).DataReplicationInfo.DataReplicationState; st != replStopped {
		t.Errorf("model: %s", st)
	}
	if snaps := behSnapshots(t, e, web1, types.RecoverySnapshotsOrderAsc, nil, 0); len(snaps) != 0 {
		t.Errorf("a stopped server still lists %d snapshots", len(snaps))
	}
	// A stopped server has nothing to launch from: it is skipped in the job.
	jid := aws.ToString(behStart(t, e, true, web1).JobID)
	behWaitJob(t, e, jid)
	if st := behJob(t, e, jid).ParticipatingServers[0].LaunchStatus; st != types.LaunchStatusFailed {
		t.Errorf("drill of a stopped server: %s", st)
	}
	if got := behEventNames(behServerEvents(behLog(t, e, jid), web1)); !slices.Equal(got, []string{"SERVER_SKIPPED"}) {
		t.Errorf("drill of a stopped server logged %v", got)
	}

	start, err := e.client.StartReplication(c, &drs.StartReplicationInput{SourceServerID: aws.String(web1)})
	if err != nil {
		t.Fatal(err)
	}
	if st := start.SourceServer.DataReplicationInfo.DataReplicationState; st == types.DataReplicationStateStopped || st == types.DataReplicationStateContinuous {
		t.Errorf("StartReplication returned %s, want a state on the way back to CONTINUOUS", st)
	}
	_, err = e.client.StartReplication(c, &drs.StartReplicationInput{SourceServerID: aws.String(web1)})
	behConflict(t, err) // already started
	e.advanceUntil(time.Hour, func() bool {
		return behServer(t, e, web1).DataReplicationInfo.DataReplicationState == types.DataReplicationStateContinuous
	})
	jid = aws.ToString(behStart(t, e, true, web1).JobID)
	behWaitJob(t, e, jid)
	if st := behJob(t, e, jid).ParticipatingServers[0].LaunchStatus; st != types.LaunchStatusLaunched {
		t.Errorf("drill after replication resumed: %s", st)
	}
}

// TestReverseReplicationAndFailbackRefused: an on-premises recovery instance
// cannot be reverse-replicated, and an instance whose failback replication
// is not ready cannot be failed back.
func TestReverseReplicationAndFailbackRefused(t *testing.T) {
	e := newTestEnv(t, nil)
	inst := behDrilled(t, e, app1)[app1]
	_, err := e.client.ReverseReplication(ctx(t), &drs.ReverseReplicationInput{RecoveryInstanceID: aws.String(inst)})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || ve.ErrorCode() != "ValidationException" {
		t.Errorf("ReverseReplication of an on-premises instance: want ValidationException, got %v", err)
	}
	_, err = e.client.ReverseReplication(ctx(t), &drs.ReverseReplicationInput{RecoveryInstanceID: aws.String("i-0123456789abcdef0")})
	behCode(t, err, "ResourceNotFoundException")

	before := len(behModel(t, e).Jobs)
	_, err = e.client.StartFailbackLaunch(ctx(t), &drs.StartFailbackLaunchInput{RecoveryInstanceIDs: []string{inst}})
	ce := behConflict(t, err)
	if aws.ToString(ce.ResourceId) != inst {
		t.Errorf("conflict names %q", aws.ToString(ce.ResourceId))
	}
	if after := len(behModel(t, e).Jobs); after != before {
		t.Errorf("refused failback created %d jobs", after-before)
	}
	if ri, _ := behInstance(t, e, inst); ri.Failback == nil || ri.Failback.State != types.FailbackStateFailbackNotStarted {
		t.Errorf("instance failback %+v", ri.Failback)
	}
}
