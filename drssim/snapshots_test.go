package drssim

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// behSnapshots lists a server's recovery snapshots through the paginator
// (limit items a page; 0: one unpaginated call).
func behSnapshots(t *testing.T, e *testEnv, serverID string, order types.RecoverySnapshotsOrder, f *types.DescribeRecoverySnapshotsRequestFilters, limit int32) []types.RecoverySnapshot {
	t.Helper()
	in := &drs.DescribeRecoverySnapshotsInput{SourceServerID: aws.String(serverID), Order: order, Filters: f}
	if limit == 0 {
		out, err := e.client.DescribeRecoverySnapshots(ctx(t), in)
		if err != nil {
			t.Fatalf("DescribeRecoverySnapshots(%s): %v", serverID, err)
		}
		if out.NextToken != nil {
			t.Fatalf("DescribeRecoverySnapshots(%s): %d items and a nextToken; the test expects one page", serverID, len(out.Items))
		}
		return out.Items
	}
	p := drs.NewDescribeRecoverySnapshotsPaginator(e.client, in, func(o *drs.DescribeRecoverySnapshotsPaginatorOptions) { o.Limit = limit })
	var out []types.RecoverySnapshot
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("DescribeRecoverySnapshots(%s): %v", serverID, err)
		}
		if len(page.Items) > int(limit) {
			t.Fatalf("page of %d items with maxResults %d", len(page.Items), limit)
		}
		out = append(out, page.Items...)
	}
	return out
}

func behSnapIDs(list []types.RecoverySnapshot) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = aws.ToString(s.SnapshotID)
	}
	return out
}

var behPitID = regexp.MustCompile(`^pit-[0-9a-f]{17}$`)

// TestDescribeRecoverySnapshots: the PIT snapshots in both orders, with date
// filters, through the paginator, with stable IDs.
func TestDescribeRecoverySnapshots(t *testing.T) {
	e := newTestEnv(t, nil)
	asc := behSnapshots(t, e, db1, types.RecoverySnapshotsOrderAsc, nil, 7)
	// Default PIT policy: every 10 minutes for an hour, hourly for a day,
	// daily for a week.
	if len(asc) < 30 || len(asc) > 40 {
		t.Fatalf("%d snapshots, want the default PIT policy's 30 to 40", len(asc))
	}
	now := e.clock.Now()
	seen := map[string]bool{}
	for i, s := range asc {
		id := aws.ToString(s.SnapshotID)
		if !behPitID.MatchString(id) || seen[id] {
			t.Errorf("snapshot %d: ID %q (duplicate=%v)", i, id, seen[id])
		}
		seen[id] = true
		exp, taken := behTime(t, s.ExpectedTimestamp), behTime(t, s.Timestamp)
		if aws.ToString(s.SourceServerID) != db1 || taken.Before(exp) || exp.After(now) || now.Sub(exp) > 7*24*time.Hour {
			t.Errorf("snapshot %s: server %s expected %s taken %s", id, aws.ToString(s.SourceServerID), exp, taken)
		}
		if len(s.EbsSnapshots) != 2 { // db1 has two disks
			t.Errorf("snapshot %s has %d EBS snapshots, want 2", id, len(s.EbsSnapshots))
		}
		if i > 0 && !behTime(t, asc[i-1].ExpectedTimestamp).Before(exp) {
			t.Errorf("ASC order broken at %d: %s then %s", i, aws.ToString(asc[i-1].ExpectedTimestamp), aws.ToString(s.ExpectedTimestamp))
		}
	}
	if got := behTime(t, asc[len(asc)-1].ExpectedTimestamp); now.Sub(got) > 10*time.Minute {
		t.Errorf("newest snapshot is from %s, more than 10 minutes before %s", got, now)
	}

	// One unpaginated call, the default order (ASC) and DESC agree.
	if got := behSnapIDs(behSnapshots(t, e, db1, "", nil, 0)); !slices.Equal(got, behSnapIDs(asc)) {
		t.Errorf("unpaginated default order differs from paginated ASC")
	}
	desc := behSnapIDs(behSnapshots(t, e, db1, types.RecoverySnapshotsOrderDesc, nil, 5))
	rev := slices.Clone(behSnapIDs(asc))
	slices.Reverse(rev)
	if !slices.Equal(desc, rev) {
		t.Errorf("DESC is not ASC reversed:\n%v\n%v", desc, rev)
	}

	// Date filters, in both orders.
	from, to := aws.ToString(asc[5].ExpectedTimestamp), aws.ToString(asc[15].ExpectedTimestamp)
	f := &types.DescribeRecoverySnapshotsRequestFilters{FromDateTime: aws.String(from), ToDateTime: aws.String(to)}
	if got, want := behSnapIDs(behSnapshots(t, e, db1, types.RecoverySnapshotsOrderAsc, f, 4)), behSnapIDs(asc[5:16]); !slices.Equal(got, want) {
		t.Errorf("filtered ASC %v, want %v", got, want)
	}
	want := behSnapIDs(asc[5:16])
	slices.Reverse(want)
	if got := behSnapIDs(behSnapshots(t, e, db1, types.RecoverySnapshotsOrderDesc, f, 3)); !slices.Equal(got, want) {
		t.Errorf("filtered DESC %v, want %v", got, want)
	}
	onlyFrom := &types.DescribeRecoverySnapshotsRequestFilters{FromDateTime: aws.String(aws.ToString(asc[len(asc)-3].ExpectedTimestamp))}
	if got := behSnapshots(t, e, db1, types.RecoverySnapshotsOrderAsc, onlyFrom, 0); len(got) != 3 {
		t.Errorf("fromDateTime of the third newest: %d snapshots", len(got))
	}

	// Stable IDs: the same call again, and later on.
	if got := behSnapIDs(behSnapshots(t, e, db1, types.RecoverySnapshotsOrderAsc, nil, 0)); !slices.Equal(got, behSnapIDs(asc)) {
		t.Errorf("second call gave other IDs")
	}
	byTime := map[string]string{}
	for _, s := range asc {
		byTime[aws.ToString(s.ExpectedTimestamp)] = aws.ToString(s.SnapshotID)
	}
	e.advance(90 * time.Minute)
	common := 0
	later := behSnapshots(t, e, db1, types.RecoverySnapshotsOrderAsc, nil, 0)
	for _, s := range later {
		if id, ok := byTime[aws.ToString(s.ExpectedTimestamp)]; ok {
			common++
			if id != aws.ToString(s.SnapshotID) {
				t.Errorf("snapshot of %s changed ID from %s to %s", aws.ToString(s.ExpectedTimestamp), id, aws.ToString(s.SnapshotID))
			}
		}
	}
	if common < 20 {
		t.Errorf("only %d snapshots in common after 90 minutes", common)
	}
	if newest := behTime(t, later[len(later)-1].ExpectedTimestamp); !newest.After(behTime(t, asc[len(asc)-1].ExpectedTimestamp)) {
		t.Errorf("no newer snapshot after 90 minutes")
	}
	// Another server has other IDs.
	other := behSnapIDs(behSnapshots(t, e, db2, types.RecoverySnapshotsOrderAsc, nil, 0))
	for _, id := range other {
		if seen[id] {
			t.Errorf("snapshot ID %s shared by two servers", id)
		}
	}
}

// TestLaunchFromSnapshot: a launch from a PIT snapshot logs
// USING_PREVIOUS_SNAPSHOT instead of taking a snapshot, and its instance
// has the snapshot's data time.
func TestLaunchFromSnapshot(t *testing.T) {
	e := newTestEnv(t, nil)
	behWaitSeed(t, e)
	snaps := behSnapshots(t, e, db1, types.RecoverySnapshotsOrderDesc, nil, 0)
	var pick types.RecoverySnapshot
	for _, s := range snaps {
		if age := e.clock.Now().Sub(behTime(t, s.ExpectedTimestamp)); age >= 25*time.Minute && age <= 45*time.Minute {
			pick = s
			break
		}
	}
	if pick.SnapshotID == nil {
		t.Fatalf("no snapshot 25-45 minutes old in %v", behSnapIDs(snaps))
	}
	out, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: []types.StartRecoveryRequestSourceServer{
		{SourceServerID: aws.String(db1), RecoverySnapshotID: pick.SnapshotID},
		{SourceServerID: aws.String(db2)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	jid := aws.ToString(out.Job.JobID)
	behWaitJob(t, e, jid)
	log := behLog(t, e, jid)
	evs := behServerEvents(log, db1)
	if got, want := behEventNames(evs), []string{"USING_PREVIOUS_SNAPSHOT", "CONVERSION_START", "CONVERSION_END", "LAUNCH_START"}; !slices.Equal(got, want) {
		t.Fatalf("%s events %v, want %v", db1, got, want)
	}
	if got := behEventNames(behServerEvents(log, db2)); got[0] != "SNAPSHOT_START" {
		t.Errorf("%s (no snapshot given) events %v", db2, got)
	}
	inst := aws.ToString(evs[3].EventData.TargetInstanceID)
	ri, ok := behInstance(t, e, inst)
	if !ok {
		t.Fatalf("instance %s not listed", inst)
	}
	pit := behTime(t, ri.PointInTimeSnapshotDateTime)
	if want := behTime(t, pick.Timestamp); !pit.Equal(want) {
		t.Errorf("instance pointInTimeSnapshotDateTime %s, want the snapshot's time %s", pit, want)
	}
	if got := behTime(t, evs[2].EventData.ConversionProperties.DataTimestamp); !got.Equal(pit) {
		t.Errorf("CONVERSION_END dataTimestamp %s, want %s", got, pit)
	}
	if mi := behModelInstance(t, e, inst); mi.PointInTimeSnapshotDateTime != formatTime(pit) {
		t.Errorf("model instance PIT %s", mi.PointInTimeSnapshotDateTime)
	}
	if st := behJob(t, e, jid).ParticipatingServers[0].LaunchStatus; st != types.LaunchStatusLaunched {
		t.Errorf("%s: %s", db1, st)
	}
}

// TestLaunchFromUnknownSnapshot: a well-formed but unknown snapshot ID fails
// that server inside the job; the other server launches.
func TestLaunchFromUnknownSnapshot(t *testing.T) {
	e := newTestEnv(t, nil)
	behWaitSeed(t, e)
	const unknown = "pit-0123456789abcdef0"
	out, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: []types.StartRecoveryRequestSourceServer{
		{SourceServerID: aws.String(app1), RecoverySnapshotID: aws.String(unknown)},
		{SourceServerID: aws.String(app2)},
	}})
	if err != nil {
		t.Fatalf("StartRecovery with an unknown snapshot: %v (the failure belongs inside the job)", err)
	}
	jid := aws.ToString(out.Job.JobID)
	behWaitJob(t, e, jid)
	j := behJob(t, e, jid)
	if j.ParticipatingServers[0].LaunchStatus != types.LaunchStatusFailed || j.ParticipatingServers[1].LaunchStatus != types.LaunchStatusLaunched {
		t.Errorf("launch statuses %s %s, want FAILED LAUNCHED", j.ParticipatingServers[0].LaunchStatus, j.ParticipatingServers[1].LaunchStatus)
	}
	evs := behServerEvents(behLog(t, e, jid), app1)
	if got := behEventNames(evs); !slices.Equal(got, []string{"USING_PREVIOUS_SNAPSHOT_FAILED"}) {
		t.Fatalf("%s events %v", app1, got)
	}
	if raw := aws.ToString(evs[0].EventData.RawError); !strings.Contains(raw, unknown) {
		t.Errorf("rawError %q does not name the snapshot", raw)
	}
	if s := behServer(t, e, app1); s.LastLaunchResult != types.LastLaunchResultFailed || aws.ToString(s.RecoveryInstanceId) != "" {
		t.Errorf("%s: lastLaunchResult %s instance %q", app1, s.LastLaunchResult, aws.ToString(s.RecoveryInstanceId))
	}
	if list := behInstances(t, e, app1); len(list) != 0 {
		t.Errorf("failed server has instances %v", behInstanceIDs(list))
	}
	if js := e.jobView(jid).Servers[0]; js.LaunchStatus != launchStatusFailed || js.RecoveryInstanceID != "" {
		t.Errorf("model job server %+v", js)
	}
}

// TestOnDemandSnapshotListed: the snapshot a launch takes is listed
// afterwards, with the launched instance's data time.
func TestOnDemandSnapshotListed(t *testing.T) {
	e := newTestEnv(t, nil)
	behWaitSeed(t, e)
	before := map[string]bool{}
	for _, id := range behSnapIDs(behSnapshots(t, e, db2, types.RecoverySnapshotsOrderAsc, nil, 0)) {
		before[id] = true
	}
	jid := aws.ToString(behStart(t, e, true, db2).JobID)
	behWaitJob(t, e, jid)
	inst, ok := behInstance(t, e, aws.ToString(behServer(t, e, db2).RecoveryInstanceId))
	if !ok {
		t.Fatal("no instance")
	}
	pit := behTime(t, inst.PointInTimeSnapshotDateTime)
	after := behSnapshots(t, e, db2, types.RecoverySnapshotsOrderAsc, nil, 7)
	var found []types.RecoverySnapshot
	for i, s := range after {
		if i > 0 && behTime(t, after[i-1].ExpectedTimestamp).After(behTime(t, s.ExpectedTimestamp)) {
			t.Errorf("ASC order broken at %d", i)
		}
		if !before[aws.ToString(s.SnapshotID)] && behTime(t, s.Timestamp).Equal(pit) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d new snapshots with the instance's data time %s, want 1", len(found), pit)
	}
	s := found[0]
	if !behPitID.MatchString(aws.ToString(s.SnapshotID)) || aws.ToString(s.SourceServerID) != db2 {
		t.Errorf("on-demand snapshot %+v", s)
	}
	if len(s.EbsSnapshots) != 2 { // db2 has two disks
		t.Errorf("on-demand snapshot has %d EBS snapshots, want one per disk (2): %v", len(s.EbsSnapshots), s.EbsSnapshots)
	}
	// It is a launchable snapshot like any other.
	out, err := e.client.StartRecovery(ctx(t), &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: []types.StartRecoveryRequestSourceServer{
		{SourceServerID: aws.String(db2), RecoverySnapshotID: s.SnapshotID}}})
	if err != nil {
		t.Fatal(err)
	}
	behWaitJob(t, e, aws.ToString(out.Job.JobID))
	if st := behJob(t, e, aws.ToString(out.Job.JobID)).ParticipatingServers[0].LaunchStatus; st != types.LaunchStatusLaunched {
		t.Errorf("launch from the on-demand snapshot: %s", st)
	}
}
