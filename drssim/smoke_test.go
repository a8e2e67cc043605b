package drssim

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// TestThreeTierDrillSmoke is the shortest path through the simulator: the
// lingering TERMINATE job blocks a launch, then a drill runs to completion.
func TestThreeTierDrillSmoke(t *testing.T) {
	e := newTestEnv(t, nil)
	c := ctx(t)
	servers := []types.StartRecoveryRequestSourceServer{{SourceServerID: aws.String(db1)}, {SourceServerID: aws.String(db2)}}
	_, err := e.client.StartRecovery(c, &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: servers})
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("StartRecovery while held: want ConflictException, got %v", err)
	}
	e.advance(5 * time.Minute)
	out, err := e.client.StartRecovery(c, &drs.StartRecoveryInput{IsDrill: aws.Bool(true), SourceServers: servers})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Job.JobID)
	e.advanceUntil(time.Hour, func() bool { return e.jobView(id).Status == jobStatusCompleted })
	jv := e.jobView(id)
	for _, s := range jv.Servers {
		if s.LaunchStatus != launchStatusLaunched {
			t.Errorf("server %s: %s", s.SourceServerID, s.LaunchStatus)
		}
	}
	got, err := e.client.DescribeJobs(c, &drs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: []string{id}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 1 || got.Items[0].Status != types.JobStatusCompleted {
		t.Fatalf("DescribeJobs: %+v", got.Items)
	}
}
