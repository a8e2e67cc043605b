package drs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ripcord-dr/ripcord"
)

// Batch sizes: the most IDs one request's filter takes (docs/drs.md §4).
const (
	serverBatch = 200  // DescribeSourceServers.filters.sourceServerIDs
	jobBatch    = 1000 // DescribeJobs.filters.jobIDs
	// jobPage is the page size asked of DescribeJobs. The model sets no
	// maximum (docs/drs.md §7) and the simulator serves 1000 at most;
	// jobs are what ripcord lists most, and fewer pages are fewer calls
	// under the rate limit.
	jobPage       = 1000
	instanceBatch = 200 // DescribeRecoveryInstances.filters.recoveryInstanceIDs
)

// maxPages bounds one listing. DRS's default page size is undocumented (the
// simulator's is 50); maxResults is left to DRS except for DescribeJobs
// (jobPage). 10,000 pages is far beyond any account, so reaching it means
// the service keeps sending tokens.
const maxPages = 10000

// JobsCreatedSince's margins. DRS's fromDate filter is asked for an hour
// earlier than wanted, because how DRS compares it (inclusive or not, at
// what precision) is undocumented and a missed job would be launched twice;
// an hour more costs a page at most. The jobs are then filtered here, with
// clockSkew allowed between ripcord's clock, which timed the request, and
// DRS's, which timed the job.
const (
	fromDateMargin = time.Hour
	clockSkew      = 5 * time.Minute
)

// ListSourceServers implements [ripcord.DRS]: every page, and batches of 200
// IDs when ids are given.
func (c *Client) ListSourceServers(ctx context.Context, ids []string) ([]ripcord.SourceServer, error) {
	const op = "DescribeSourceServers"
	var filters []*types.DescribeSourceServersRequestFilters
	if ids == nil {
		filters = append(filters, nil)
	}
	for _, b := range batches(ids, serverBatch) {
		filters = append(filters, &types.DescribeSourceServersRequestFilters{SourceServerIDs: b})
	}
	var out []ripcord.SourceServer
	for _, f := range filters {
		p := awsdrs.NewDescribeSourceServersPaginator(c.api, &awsdrs.DescribeSourceServersInput{Filters: f}, stopOnDuplicate)
		for page := 0; p.HasMorePages(); page++ {
			if page == maxPages {
				return nil, c.endless(op)
			}
			res, err := p.NextPage(ctx)
			if err != nil {
				return nil, c.translate(op, err, nil, idsOf(f))
			}
			for _, s := range res.Items {
				v, err := convertSourceServer(s)
				if err != nil {
					return nil, c.unreadable(op, err, false)
				}
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func idsOf(f *types.DescribeSourceServersRequestFilters) []string {
	if f == nil {
		return nil
	}
	return f.SourceServerIDs
}

// DescribeJobs implements [ripcord.DRS]: one listing per 1000 IDs.
func (c *Client) DescribeJobs(ctx context.Context, ids []string) ([]ripcord.Job, error) {
	var out []ripcord.Job
	for _, b := range batches(ids, jobBatch) {
		jobs, err := c.describeJobs(ctx, &awsdrs.DescribeJobsInput{Filters: &types.DescribeJobsRequestFilters{JobIDs: b}})
		if err != nil {
			return nil, err
		}
		out = append(out, jobs...)
	}
	return out, nil
}

// JobsCreatedSince implements [ripcord.DRS]. With a zero since it reads
// every page of DescribeJobs: an old job still running sits on a late page
// behind newer completed ones.
func (c *Client) JobsCreatedSince(ctx context.Context, since time.Time) ([]ripcord.Job, error) {
	in := &awsdrs.DescribeJobsInput{}
	if !since.IsZero() {
		in.Filters = &types.DescribeJobsRequestFilters{FromDate: aws.String(formatTime(since.Add(-fromDateMargin)))}
	}
	jobs, err := c.describeJobs(ctx, in)
	if err != nil {
		return nil, err
	}
	cut := since.Add(-clockSkew)
	return slices.DeleteFunc(jobs, func(j ripcord.Job) bool { return j.Created.Before(cut) }), nil
}

func (c *Client) describeJobs(ctx context.Context, in *awsdrs.DescribeJobsInput) ([]ripcord.Job, error) {
	const op = "DescribeJobs"
	var out []ripcord.Job
	if in.MaxResults == nil {
		in.MaxResults = aws.Int32(jobPage)
	}
	p := awsdrs.NewDescribeJobsPaginator(c.api, in, stopOnDuplicateJobs)
	for page := 0; p.HasMorePages(); page++ {
		if page == maxPages {
			return nil, c.endless(op)
		}
		res, err := p.NextPage(ctx)
		if err != nil {
			var ids []string
			if in.Filters != nil {
				ids = in.Filters.JobIDs
			}
			return nil, c.translate(op, err, nil, ids)
		}
		for _, j := range res.Items {
			v, err := convertJob(j)
			if err != nil {
				return nil, c.unreadable(op, err, false)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// JobLog implements [ripcord.DRS]: every page, oldest first.
func (c *Client) JobLog(ctx context.Context, jobID string) ([]ripcord.JobLogItem, error) {
	const op = "DescribeJobLogItems"
	var out []ripcord.JobLogItem
	p := awsdrs.NewDescribeJobLogItemsPaginator(c.api, &awsdrs.DescribeJobLogItemsInput{JobID: aws.String(jobID)},
		func(o *awsdrs.DescribeJobLogItemsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for page := 0; p.HasMorePages(); page++ {
		if page == maxPages {
			return nil, c.endless(op)
		}
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.translate(op, err, nil, []string{jobID})
		}
		for _, l := range res.Items {
			v, err := convertJobLog(l)
			if err != nil {
				return nil, c.unreadable(op, fmt.Errorf("job %s: %w", jobID, err), false)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// StartRecovery implements [ripcord.DRS]. It is attempted exactly once (see
// noRetries).
func (c *Client) StartRecovery(ctx context.Context, servers []ripcord.LaunchServer, drill bool, tags map[string]string) (ripcord.Job, error) {
	const op = "StartRecovery"
	if len(servers) == 0 {
		return ripcord.Job{}, c.invalidCall(op, "no source servers to launch")
	}
	in := &awsdrs.StartRecoveryInput{IsDrill: aws.Bool(drill), Tags: tags}
	ids := make([]string, len(servers))
	for i, s := range servers {
		ids[i] = s.ID
		ss := types.StartRecoveryRequestSourceServer{SourceServerID: aws.String(s.ID)}
		if s.SnapshotID != "" {
			ss.RecoverySnapshotID = aws.String(s.SnapshotID)
		}
		in.SourceServers = append(in.SourceServers, ss)
	}
	ctx, st := withCallState(ctx)
	res, err := c.api.StartRecovery(ctx, in, noRetries)
	if err != nil {
		return ripcord.Job{}, c.translate(op, err, st, ids)
	}
	return c.createdJob(op, res.Job)
}

// TerminateRecoveryInstances implements [ripcord.DRS]. It is attempted
// exactly once (see noRetries).
func (c *Client) TerminateRecoveryInstances(ctx context.Context, ids []string) (ripcord.Job, error) {
	const op = "TerminateRecoveryInstances"
	if len(ids) == 0 {
		return ripcord.Job{}, c.invalidCall(op, "no recovery instances to terminate")
	}
	ctx, st := withCallState(ctx)
	res, err := c.api.TerminateRecoveryInstances(ctx, &awsdrs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: ids}, noRetries)
	if err != nil {
		return ripcord.Job{}, c.translate(op, err, st, ids)
	}
	return c.createdJob(op, res.Job)
}

// createdJob reads the job a mutating call returned. If it cannot, the job
// exists all the same: the error is unclear, so that the engine looks for it.
func (c *Client) createdJob(op string, j *types.Job) (ripcord.Job, error) {
	if j == nil {
		return ripcord.Job{}, c.unreadable(op, fmt.Errorf("the answer has no job"), true)
	}
	v, err := convertJob(*j)
	if err != nil {
		return ripcord.Job{}, c.unreadable(op, err, true)
	}
	return v, nil
}

// ListRecoveryInstances implements [ripcord.DRS]. With ids, it asks in
// batches of 200 and keeps those of serverIDs (when given); with only
// serverIDs, it asks in batches of 200 of those; with both nil, it lists
// every recovery instance. An empty, non-nil list of either returns nothing.
func (c *Client) ListRecoveryInstances(ctx context.Context, ids []string, serverIDs []string) ([]ripcord.RecoveryInstance, error) {
	const op = "DescribeRecoveryInstances"
	if (ids != nil && len(ids) == 0) || (serverIDs != nil && len(serverIDs) == 0) {
		return nil, nil
	}
	var filters []*types.DescribeRecoveryInstancesRequestFilters
	switch {
	case ids != nil:
		for _, b := range batches(ids, instanceBatch) {
			filters = append(filters, &types.DescribeRecoveryInstancesRequestFilters{RecoveryInstanceIDs: b})
		}
	case serverIDs != nil:
		for _, b := range batches(serverIDs, serverBatch) {
			filters = append(filters, &types.DescribeRecoveryInstancesRequestFilters{SourceServerIDs: b})
		}
	default:
		filters = append(filters, nil)
	}
	var keep map[string]bool
	if ids != nil && serverIDs != nil {
		keep = map[string]bool{}
		for _, id := range serverIDs {
			keep[id] = true
		}
	}
	var out []ripcord.RecoveryInstance
	for _, f := range filters {
		p := awsdrs.NewDescribeRecoveryInstancesPaginator(c.api, &awsdrs.DescribeRecoveryInstancesInput{Filters: f},
			func(o *awsdrs.DescribeRecoveryInstancesPaginatorOptions) { o.StopOnDuplicateToken = true })
		for page := 0; p.HasMorePages(); page++ {
			if page == maxPages {
				return nil, c.endless(op)
			}
			res, err := p.NextPage(ctx)
			if err != nil {
				var subjects []string
				if f != nil {
					subjects = slices.Concat(f.RecoveryInstanceIDs, f.SourceServerIDs)
				}
				return nil, c.translate(op, err, nil, subjects)
			}
			for _, r := range res.Items {
				v, err := convertRecoveryInstance(r)
				if err != nil {
					return nil, c.unreadable(op, err, false)
				}
				if keep == nil || keep[v.SourceServerID] {
					out = append(out, v)
				}
			}
		}
	}
	return out, nil
}

// LaunchConfiguration implements [ripcord.DRS].
func (c *Client) LaunchConfiguration(ctx context.Context, serverID string) (ripcord.LaunchConfiguration, error) {
	const op = "GetLaunchConfiguration"
	res, err := c.api.GetLaunchConfiguration(ctx, &awsdrs.GetLaunchConfigurationInput{SourceServerID: aws.String(serverID)})
	if err != nil {
		return ripcord.LaunchConfiguration{}, c.translate(op, err, nil, []string{serverID})
	}
	return convertLaunchConfiguration(res), nil
}

// UpdateLaunchConfiguration implements [ripcord.DRS]: only the fields
// changes sets are sent. Setting values is idempotent, so the SDK retries
// it like a read.
func (c *Client) UpdateLaunchConfiguration(ctx context.Context, serverID string, changes ripcord.LaunchOverrides) (ripcord.LaunchConfiguration, error) {
	const op = "UpdateLaunchConfiguration"
	in := &awsdrs.UpdateLaunchConfigurationInput{SourceServerID: aws.String(serverID),
		CopyPrivateIp: changes.CopyPrivateIP, CopyTags: changes.CopyTags}
	if changes.Disposition != "" {
		in.LaunchDisposition = types.LaunchDisposition(changes.Disposition)
	}
	if changes.RightSizing != "" {
		in.TargetInstanceTypeRightSizingMethod = types.TargetInstanceTypeRightSizingMethod(changes.RightSizing)
	}
	if changes.BYOL != nil {
		in.Licensing = &types.Licensing{OsByol: changes.BYOL}
	}
	res, err := c.api.UpdateLaunchConfiguration(ctx, in)
	if err != nil {
		return ripcord.LaunchConfiguration{}, c.translate(op, err, nil, []string{serverID})
	}
	// The two outputs have the same members.
	got := awsdrs.GetLaunchConfigurationOutput(*res)
	return convertLaunchConfiguration(&got), nil
}

// RecoverySnapshots implements [ripcord.DRS]: newest first, page by page
// until limit snapshots are read.
func (c *Client) RecoverySnapshots(ctx context.Context, serverID string, limit int) ([]ripcord.RecoverySnapshot, error) {
	const op = "DescribeRecoverySnapshots"
	in := &awsdrs.DescribeRecoverySnapshotsInput{SourceServerID: aws.String(serverID), Order: types.RecoverySnapshotsOrderDesc}
	if limit > 0 && limit < 100 {
		in.MaxResults = aws.Int32(int32(limit))
	}
	p := awsdrs.NewDescribeRecoverySnapshotsPaginator(c.api, in,
		func(o *awsdrs.DescribeRecoverySnapshotsPaginatorOptions) { o.StopOnDuplicateToken = true })
	var out []ripcord.RecoverySnapshot
	for page := 0; p.HasMorePages() && (limit <= 0 || len(out) < limit); page++ {
		if page == maxPages {
			return nil, c.endless(op)
		}
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.translate(op, err, nil, []string{serverID})
		}
		for _, s := range res.Items {
			v, err := convertRecoverySnapshot(s)
			if err != nil {
				return nil, c.unreadable(op, err, false)
			}
			out = append(out, v)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// batches splits ids, without duplicates, into runs of at most n.
func batches(ids []string, n int) [][]string {
	seen := make(map[string]bool, len(ids))
	var out [][]string
	var cur []string
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		cur = append(cur, id)
		if len(cur) == n {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func stopOnDuplicate(o *awsdrs.DescribeSourceServersPaginatorOptions) { o.StopOnDuplicateToken = true }

func stopOnDuplicateJobs(o *awsdrs.DescribeJobsPaginatorOptions) { o.StopOnDuplicateToken = true }

// invalidCall is a call refused before it is sent.
func (c *Client) invalidCall(op, msg string) error {
	return &ripcord.DRSError{Op: op, Err: &ripcord.Error{Code: ripcord.EINVALID,
		Message: fmt.Sprintf("drs %s in %s: %s", op, c.where(), msg)}}
}

// unreadable is an answer DRS sent that ripcord cannot read.
func (c *Client) unreadable(op string, err error, unclear bool) error {
	e := &ripcord.Error{Code: ripcord.EINTERNAL,
		Message: fmt.Sprintf("%s %s in %s: unreadable answer: %v", opPrefix(op), op, c.where(), err)}
	if unclear {
		e.Hint = "DRS accepted the request but its answer could not be read: look for the job it created before trying again"
	}
	return &ripcord.DRSError{Op: op, Unclear: unclear, Err: e, Cause: err}
}

// endless is a listing whose pages do not end.
func (c *Client) endless(op string) error {
	return &ripcord.DRSError{Op: op, Err: &ripcord.Error{Code: ripcord.EINTERNAL,
		Message: fmt.Sprintf("drs %s in %s: more than %d pages; DRS keeps sending page tokens", op, c.where(), maxPages)}}
}

// CallerIdentity implements [ripcord.DRS]: STS GetCallerIdentity with the
// credentials DRS calls use, after assuming the target's role if one is
// set, so that the engine can check the account before it launches
// anything. A role that cannot be assumed fails here as it would for DRS.
func (c *Client) CallerIdentity(ctx context.Context) (ripcord.CallerIdentity, error) {
	const op = "GetCallerIdentity"
	res, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return ripcord.CallerIdentity{}, c.translate(op, err, nil, nil)
	}
	id := ripcord.CallerIdentity{Account: aws.ToString(res.Account), ARN: aws.ToString(res.Arn), UserID: aws.ToString(res.UserId)}
	if len(id.Account) != 12 || strings.Trim(id.Account, "0123456789") != "" || id.ARN == "" {
		return id, c.unreadable(op, fmt.Errorf("account %q, ARN %q: want a 12-digit account and an ARN", id.Account, id.ARN), false)
	}
	return id, nil
}
