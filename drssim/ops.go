package drssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// operation is one DRS API operation as routed on the wire.
type operation struct {
	name     string
	method   string
	path     string // non-empty only for the /tags/{arn} operations
	status   int    // success status from the model
	modelled bool   // false: answered "not modelled by the simulator"
	noUninit bool   // not subject to UninitializedAccountException
	newInput func() any
	run      func(s *Sim, r *region, now time.Time, rq *request) (any, *apiError)
}

var operationsByName = map[string]*operation{}

func init() {
	add := func(op *operation) {
		if op.method == "" {
			op.method = http.MethodPost
		}
		if op.status == 0 {
			op.status = http.StatusOK
		}
		op.modelled = op.run != nil
		operationsByName[op.name] = op
	}
	add(&operation{name: "InitializeService", status: http.StatusNoContent, noUninit: true, run: opInitializeService})
	add(&operation{name: "DescribeSourceServers", newInput: func() any { return &DescribeSourceServersInput{} }, run: opDescribeSourceServers})
	add(&operation{name: "StartRecovery", status: http.StatusAccepted, newInput: func() any { return &StartRecoveryInput{} }, run: opStartRecovery})
	add(&operation{name: "DescribeJobs", newInput: func() any { return &DescribeJobsInput{} }, run: opDescribeJobs})
	add(&operation{name: "DescribeJobLogItems", newInput: func() any { return &DescribeJobLogItemsInput{} }, run: opDescribeJobLogItems})
	add(&operation{name: "DescribeRecoveryInstances", newInput: func() any { return &DescribeRecoveryInstancesInput{} }, run: opDescribeRecoveryInstances})
	add(&operation{name: "TerminateRecoveryInstances", newInput: func() any { return &TerminateRecoveryInstancesInput{} }, run: opTerminateRecoveryInstances})
	add(&operation{name: "DescribeRecoverySnapshots", newInput: func() any { return &DescribeRecoverySnapshotsInput{} }, run: opDescribeRecoverySnapshots})
	add(&operation{name: "GetLaunchConfiguration", newInput: func() any { return &GetLaunchConfigurationInput{} }, run: opGetLaunchConfiguration})
	add(&operation{name: "UpdateLaunchConfiguration", newInput: func() any { return &UpdateLaunchConfigurationInput{} }, run: opUpdateLaunchConfiguration})
	add(&operation{name: "ListTagsForResource", method: http.MethodGet, path: "/tags/", noUninit: true, run: opListTags})
	add(&operation{name: "TagResource", path: "/tags/", noUninit: true, newInput: func() any { return &TagResourceInput{} }, run: opTagResource})
	add(&operation{name: "UntagResource", method: http.MethodDelete, path: "/tags/", noUninit: true, run: opUntagResource})
	add(&operation{name: "DisconnectRecoveryInstance", newInput: func() any { return &DisconnectRecoveryInstanceInput{} }, run: opDisconnectRecoveryInstance})
	add(&operation{name: "DeleteRecoveryInstance", newInput: func() any { return &DeleteRecoveryInstanceInput{} }, run: opDeleteRecoveryInstance})
	add(&operation{name: "StartReplication", newInput: func() any { return &StartReplicationInput{} }, run: opStartReplication})
	add(&operation{name: "StopReplication", newInput: func() any { return &StopReplicationInput{} }, run: opStopReplication})
	add(&operation{name: "RetryDataReplication", newInput: func() any { return &RetryDataReplicationInput{} }, run: opRetryDataReplication})
	add(&operation{name: "DeleteJob", status: http.StatusNoContent, newInput: func() any { return &DeleteJobInput{} }, run: opDeleteJob})
	add(&operation{name: "ReverseReplication", newInput: func() any { return &ReverseReplicationInput{} }, run: opReverseReplication})
	add(&operation{name: "StartFailbackLaunch", newInput: func() any { return &StartFailbackLaunchInput{} }, run: opStartFailbackLaunch})
	add(&operation{name: "StopFailback", newInput: func() any { return &StopFailbackInput{} }, run: opStopFailback})
	// Every other operation of the model: routed, answered as not modelled.
	for _, name := range []string{"AssociateSourceNetworkStack", "CreateExtendedSourceServer",
		"CreateLaunchConfigurationTemplate", "CreateReplicationConfigurationTemplate", "CreateSourceNetwork",
		"DeleteLaunchAction", "DeleteLaunchConfigurationTemplate", "DeleteReplicationConfigurationTemplate",
		"DeleteSourceNetwork", "DeleteSourceServer", "DescribeLaunchConfigurationTemplates",
		"DescribeReplicationConfigurationTemplates", "DescribeSourceNetworks", "DisconnectSourceServer",
		"ExportSourceNetworkCfnTemplate", "GetFailbackReplicationConfiguration", "GetReplicationConfiguration",
		"ListExtensibleSourceServers", "ListLaunchActions", "PutLaunchAction",
		"StartSourceNetworkRecovery", "StartSourceNetworkReplication", "StopSourceNetworkReplication",
		"UpdateFailbackReplicationConfiguration", "UpdateLaunchConfigurationTemplate", "UpdateReplicationConfiguration",
		"UpdateReplicationConfigurationTemplate"} {
		add(&operation{name: name})
	}
	add(&operation{name: "ListStagingAccounts", method: http.MethodGet})
}

// ModelledOperations lists the operations the simulator implements.
func ModelledOperations() []string {
	var out []string
	for name, op := range operationsByName {
		if op.modelled {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func filterDigest(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Request members are checked against the model's constraints (required,
// lengths, patterns, enums, ranges, list sizes) before an operation runs
// (constraints.go); the operations check only what the model cannot say.

const exServer = "s-0123456789abcdef0"

// checkTags applies the rules of DRS tagging the model does not express: at
// most 50 tags (the model documents 50 per resource) and no aws: prefix.
// Key and value lengths are the model's (TagKey, TagValue).
func checkTags(tags map[string]string) *apiError {
	if len(tags) > 50 {
		return errField("tags", fmt.Sprintf("at most 50 tags are allowed, got %d", len(tags)))
	}
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errField("tags", fmt.Sprintf("tag key %q uses the reserved prefix aws:", k))
		}
	}
	return nil
}

func opInitializeService(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	r.initialized = true
	return nil, nil
}

func opDescribeSourceServers(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*DescribeSourceServersInput)
	f := in.Filters
	if f == nil {
		f = &DescribeSourceServersRequestFilters{}
	}
	size, e := pageSize(in.MaxResults, 0)
	if e != nil {
		return nil, e
	}
	digest := filterDigest(f)
	cursor, e := r.readToken("DescribeSourceServers", &in.NextToken, digest)
	if e != nil {
		return nil, e
	}
	out := listOutput[SourceServer]{Items: []SourceServer{}}
	if len(f.StagingAccountIDs) > 0 {
		return out, nil // no server of the simulator is an extended source server
	}
	// The candidates in ID order: every server, or only the wanted ones
	// that exist (looked up, not found by scanning every server).
	ids := r.serverIDs
	if len(f.SourceServerIDs) > 0 {
		ids = make([]string, 0, len(f.SourceServerIDs))
		for _, id := range f.SourceServerIDs {
			if r.servers[id] != nil {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		ids = slices.Compact(ids)
	}
	start := sort.SearchStrings(ids, cursor)
	if cursor != "" && start < len(ids) && ids[start] == cursor {
		start++
	}
	page := make([]*server, 0, min(size, len(ids)-start))
	for _, id := range ids[start:] {
		srv := r.servers[id]
		if f.HardwareId != nil && *f.HardwareId != "" && !strings.EqualFold(*f.HardwareId, srv.mac) {
			continue
		}
		if len(page) == size {
			out.NextToken = r.makeToken("DescribeSourceServers", page[len(page)-1].id, digest)
			break
		}
		page = append(page, srv)
	}
	if s.uncachedLists.Load() {
		out.Items = make([]SourceServer, 0, len(page))
		for _, srv := range page {
			out.Items = append(out.Items, r.renderServer(srv, now))
		}
		return out, nil
	}
	return r.serverPage(page, out.NextToken, now), nil
}

func opStartRecovery(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*StartRecoveryInput)
	n := len(in.SourceServers)
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	seen := map[string]bool{}
	reqs := make([]launchRequest, 0, n)
	for _, ss := range in.SourceServers {
		if seen[ss.SourceServerID] {
			return nil, errField("sourceServers", fmt.Sprintf("source server %s is listed twice", ss.SourceServerID))
		}
		seen[ss.SourceServerID] = true
		lr := launchRequest{serverID: ss.SourceServerID}
		if ss.RecoverySnapshotID != nil {
			lr.snapshotID = *ss.RecoverySnapshotID
		}
		reqs = append(reqs, lr)
	}
	for _, lr := range reqs {
		if r.servers[lr.serverID] == nil {
			return nil, errNotFound(resSourceServer, lr.serverID)
		}
	}
	q := r.cfg.quotas
	if n > q.ServersPerJob {
		return nil, errQuota(quotaServersPerJob, resJob, fmt.Sprintf(
			"Cannot launch %d source servers in one job: the quota is %d source servers per job", n, q.ServersPerJob))
	}
	for _, lr := range reqs {
		if j := r.heldBy(lr.serverID); j != nil {
			return nil, errConflict(resSourceServer, lr.serverID, conflictMessage)
		}
	}
	if e := r.checkActiveQuotas(n); e != nil {
		return nil, e
	}
	isDrill := in.IsDrill != nil && *in.IsDrill
	init := initStartRecovery
	if isDrill {
		init = initStartDrill
	}
	j := r.createLaunchJob(now, reqs, isDrill, init, in.Tags)
	out := r.renderJob(j)
	return jobOutput{Job: &out}, nil
}

func (r *region) checkActiveQuotas(n int) *apiError {
	q := r.cfg.quotas
	if r.activeJobs+1 > q.ActiveJobs {
		return errQuota(quotaActiveJobs, resJob, fmt.Sprintf(
			"Cannot start a job: %d jobs are active and the quota is %d active jobs", r.activeJobs, q.ActiveJobs))
	}
	if r.activeSrvrs+n > q.ServersInActiveJobs {
		return errQuota(quotaServersInActiveJob, resSourceServer, fmt.Sprintf(
			"Cannot add %d source servers to active jobs: %d are already in active jobs and the quota is %d",
			n, r.activeSrvrs, q.ServersInActiveJobs))
	}
	return nil
}

func opDescribeJobs(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*DescribeJobsInput)
	f := in.Filters
	if f == nil {
		f = &DescribeJobsRequestFilters{}
	}
	var from, to time.Time
	var err error
	if f.FromDate != "" {
		if from, err = parseTime(f.FromDate); err != nil {
			return nil, errField("filters.fromDate", fmt.Sprintf("%q is not an ISO 8601 date-time such as 2026-11-25T09:00:00Z", f.FromDate))
		}
	}
	if f.ToDate != "" {
		if to, err = parseTime(f.ToDate); err != nil {
			return nil, errField("filters.toDate", fmt.Sprintf("%q is not an ISO 8601 date-time such as 2026-11-25T09:00:00Z", f.ToDate))
		}
	}
	// Compared at the model's precision: a creationDateTime read back
	// selects its job as fromDate and as toDate.
	from, to = modelTime(from), modelTime(to)
	size, e := pageSize(in.MaxResults, 0)
	if e != nil {
		return nil, e
	}
	digest := filterDigest(f)
	cursor, e := r.readToken("DescribeJobs", &in.NextToken, digest)
	if e != nil {
		return nil, e
	}
	// jobList is in creation order (registerJob), so the candidates are
	// the indices [lo, hi): before the cursor (the index of the first job
	// of this page, plus one), created at or after from and at or before
	// to. Newest first is from hi-1 down.
	hi := len(r.jobList)
	if cursor != "" {
		c, err := strconv.Atoi(cursor)
		if err != nil || c < 0 || c > len(r.jobList) {
			return nil, errValidation(reasonCannotParse, "Invalid nextToken")
		}
		hi = c
	}
	if !to.IsZero() {
		hi = min(hi, sort.Search(len(r.jobList), func(i int) bool { return r.jobList[i].created.After(to) }))
	}
	lo := 0
	if !from.IsZero() {
		lo = sort.Search(len(r.jobList), func(i int) bool { return !r.jobList[i].created.Before(from) })
	}
	// With jobIDs, only those jobs (looked up, not found by scanning).
	var wanted []int
	if len(f.JobIDs) > 0 {
		for _, id := range f.JobIDs {
			if j := r.jobs[id]; j != nil && j.idx >= lo && j.idx < hi {
				wanted = append(wanted, j.idx)
			}
		}
		slices.SortFunc(wanted, func(a, b int) int { return b - a })
		wanted = slices.Compact(wanted)
	}
	out := listOutput[Job]{Items: []Job{}}
	page := make([]*job, 0, min(size, 64))
	n := hi - lo
	if len(f.JobIDs) > 0 {
		n = len(wanted)
	}
	for k := 0; k < n; k++ {
		i := hi - 1 - k
		if len(f.JobIDs) > 0 {
			i = wanted[k]
		}
		j := r.jobList[i]
		if j.deleted {
			continue
		}
		if len(page) == size {
			out.NextToken = r.makeToken("DescribeJobs", strconv.Itoa(i+1), digest)
			break
		}
		page = append(page, j)
	}
	if s.uncachedLists.Load() {
		for _, j := range page {
			out.Items = append(out.Items, r.renderJob(j))
		}
		return out, nil
	}
	return r.jobPage(page, out.NextToken), nil
}

func opDescribeJobLogItems(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*DescribeJobLogItemsInput)
	j := r.jobs[in.JobID]
	if j == nil || j.deleted {
		return nil, errField("jobID", fmt.Sprintf("job %s does not exist in account %s region %s", in.JobID, r.account, r.name))
	}
	size, e := pageSize(in.MaxResults, 0)
	if e != nil {
		return nil, e
	}
	cursor, e := r.readToken("DescribeJobLogItems", &in.NextToken, in.JobID)
	if e != nil {
		return nil, e
	}
	off := 0
	if cursor != "" {
		if off, _ = strconv.Atoi(cursor); off < 0 || off > len(j.log) {
			return nil, errValidation(reasonCannotParse, "Invalid nextToken")
		}
	}
	out := listOutput[JobLog]{Items: []JobLog{}}
	end := off + size
	if end > len(j.log) {
		end = len(j.log)
	}
	for _, li := range j.log[off:end] {
		out.Items = append(out.Items, JobLog{LogDateTime: formatTime(li.at), Event: li.event, EventData: li.data})
	}
	if end < len(j.log) {
		out.NextToken = r.makeToken("DescribeJobLogItems", strconv.Itoa(end), in.JobID)
	}
	return out, nil
}

func opDescribeRecoveryInstances(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*DescribeRecoveryInstancesInput)
	f := in.Filters
	if f == nil {
		f = &DescribeRecoveryInstancesRequestFilters{}
	}
	size, e := pageSize(in.MaxResults, 0)
	if e != nil {
		return nil, e
	}
	cursor, e := r.readToken("DescribeRecoveryInstances", &in.NextToken, filterDigest(f))
	if e != nil {
		return nil, e
	}
	wantI, wantS := map[string]bool{}, map[string]bool{}
	for _, id := range f.RecoveryInstanceIDs {
		wantI[id] = true
	}
	for _, id := range f.SourceServerIDs {
		wantS[id] = true
	}
	out := listOutput[RecoveryInstance]{Items: []RecoveryInstance{}}
	for _, id := range r.liveInstanceIDs() {
		if cursor != "" && id <= cursor {
			continue
		}
		in := r.instances[id]
		if (len(wantI) > 0 && !wantI[id]) || (len(wantS) > 0 && !wantS[in.sourceServer]) {
			continue
		}
		if len(out.Items) == size {
			out.NextToken = r.makeToken("DescribeRecoveryInstances", out.Items[len(out.Items)-1].RecoveryInstanceID, filterDigest(f))
			break
		}
		out.Items = append(out.Items, r.renderInstance(in, now))
	}
	return out, nil
}

// liveInstance returns a recovery instance known to DRS, or NotFound.
func (r *region) liveInstance(id string) (*instance, *apiError) {
	in := r.instances[id]
	if in == nil || in.deleted {
		return nil, errNotFound(resRecoveryInstance, id)
	}
	return in, nil
}

// instanceBusy returns a Conflict if the instance or its source server is in
// an active job.
func (r *region) instanceBusy(in *instance) *apiError {
	if j := r.instHold[in.id]; j != nil {
		return errConflict(resRecoveryInstance, in.id, fmt.Sprintf(
			"Recovery instance %s is currently being processed by job %s", in.id, j.id))
	}
	if j := r.heldBy(in.sourceServer); j != nil {
		return errConflict(resRecoveryInstance, in.id, fmt.Sprintf(
			"The source server %s of recovery instance %s is currently being processed by job %s", in.sourceServer, in.id, j.id))
	}
	return nil
}

func (r *region) instancesForJob(field string, ids []string) ([]*instance, *apiError) {
	seen := map[string]bool{}
	var out []*instance
	for _, id := range ids {
		if seen[id] {
			return nil, errField(field, fmt.Sprintf("recovery instance %s is listed twice", id))
		}
		seen[id] = true
		in, e := r.liveInstance(id)
		if e != nil {
			return nil, e
		}
		out = append(out, in)
	}
	for _, in := range out {
		if e := r.instanceBusy(in); e != nil {
			return nil, e
		}
	}
	return out, nil
}

func opTerminateRecoveryInstances(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*TerminateRecoveryInstancesInput)
	if _, e := r.instancesForJob("recoveryInstanceIDs", in.RecoveryInstanceIDs); e != nil {
		return nil, e
	}
	if e := r.checkActiveQuotas(len(in.RecoveryInstanceIDs)); e != nil {
		return nil, e
	}
	j := r.createTerminateJob(now, in.RecoveryInstanceIDs)
	out := r.renderJob(j)
	return jobOutput{Job: &out}, nil
}

func opDescribeRecoverySnapshots(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*DescribeRecoverySnapshotsInput)
	srv := r.servers[in.SourceServerID]
	if srv == nil {
		return nil, errField("sourceServerID", fmt.Sprintf("source server %s does not exist in account %s region %s", in.SourceServerID, r.account, r.name))
	}
	order := "ASC"
	if in.Order != nil {
		order = *in.Order
	}
	var from, to time.Time
	var err error
	if in.Filters != nil && in.Filters.FromDateTime != "" {
		if from, err = parseTime(in.Filters.FromDateTime); err != nil {
			return nil, errField("filters.fromDateTime", "must be an ISO 8601 date-time such as 2026-11-25T09:00:00Z")
		}
	}
	if in.Filters != nil && in.Filters.ToDateTime != "" {
		if to, err = parseTime(in.Filters.ToDateTime); err != nil {
			return nil, errField("filters.toDateTime", "must be an ISO 8601 date-time such as 2026-11-25T09:00:00Z")
		}
	}
	from, to = modelTime(from), modelTime(to) // the model's precision, as DescribeJobs
	size, e := pageSize(in.MaxResults, 0)
	if e != nil {
		return nil, e
	}
	digest := filterDigest([]any{in.SourceServerID, in.Filters, order})
	cursor, e := r.readToken("DescribeRecoverySnapshots", &in.NextToken, digest)
	if e != nil {
		return nil, e
	}
	snaps := r.policySnapshots(srv, now)
	if order == "DESC" {
		for i, j := 0, len(snaps)-1; i < j; i, j = i+1, j-1 {
			snaps[i], snaps[j] = snaps[j], snaps[i]
		}
	}
	out := listOutput[RecoverySnapshot]{Items: []RecoverySnapshot{}}
	var last string
	for _, sn := range snaps {
		k := snapshotKey(sn)
		if cursor != "" && ((order == "ASC" && k <= cursor) || (order == "DESC" && k >= cursor)) {
			continue
		}
		if (!from.IsZero() && sn.expected.Before(from)) || (!to.IsZero() && sn.expected.After(to)) {
			continue
		}
		if len(out.Items) == size {
			out.NextToken = r.makeToken("DescribeRecoverySnapshots", last, digest)
			break
		}
		last = k
		out.Items = append(out.Items, renderSnapshot(sn))
	}
	return out, nil
}

// existingServer returns the server or NotFound.
func (r *region) existingServer(id string) (*server, *apiError) {
	srv := r.servers[id]
	if srv == nil {
		return nil, errNotFound(resSourceServer, id)
	}
	return srv, nil
}

func opGetLaunchConfiguration(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	srv, e := r.existingServer(rq.input.(*GetLaunchConfigurationInput).SourceServerID)
	if e != nil {
		return nil, e
	}
	return r.renderLaunchConfig(srv), nil
}

func opUpdateLaunchConfiguration(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*UpdateLaunchConfigurationInput)
	srv, e := r.existingServer(in.SourceServerID)
	if e != nil {
		return nil, e
	}
	if j := r.heldBy(srv.id); j != nil && j.typ == jobTypeLaunch {
		return nil, errConflict(resSourceServer, srv.id, fmt.Sprintf(
			"Source server %s is being launched by job %s; update its launch configuration when the job completes", srv.id, j.id))
	}
	c := &srv.launchCfg
	if in.Name != nil {
		c.name = *in.Name
	}
	if in.LaunchDisposition != nil {
		c.disposition = *in.LaunchDisposition
	}
	if in.TargetInstanceTypeRightSizingMethod != nil {
		c.rightSizing = *in.TargetInstanceTypeRightSizingMethod
	}
	if in.CopyPrivateIp != nil {
		c.copyPrivateIP = *in.CopyPrivateIp
	}
	if in.CopyTags != nil {
		c.copyTags = *in.CopyTags
	}
	if in.Licensing != nil && in.Licensing.OsByol != nil {
		c.osByol = *in.Licensing.OsByol
	}
	if in.PostLaunchEnabled != nil {
		c.postLaunchEnabled = *in.PostLaunchEnabled
	}
	if in.LaunchIntoInstanceProperties != nil {
		c.launchIntoID = in.LaunchIntoInstanceProperties.LaunchIntoEC2InstanceID
	}
	// The launch configuration is not part of the server's shape today;
	// the cache is dropped all the same, so that it stays right if it
	// ever is.
	srv.changed()
	return r.renderLaunchConfig(srv), nil
}

// taggable resolves an ARN of this account and region to its tag map and
// what to call when the map changes (the owner's changed, which drops its
// cached JSON; nothing for a recovery instance, whose JSON is not cached).
func (r *region) taggable(arn string) (map[string]string, func(), *apiError) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "drs" {
		return nil, nil, errField("resourceArn", fmt.Sprintf("%q is not a DRS ARN such as arn:aws:drs:us-east-1:111122223333:source-server/%s", arn, exServer))
	}
	kind, id, ok := strings.Cut(parts[5], "/")
	if !ok {
		return nil, nil, errField("resourceArn", fmt.Sprintf("%q does not name a resource type and ID", arn))
	}
	notFound := &apiError{Type: "ResourceNotFoundException", Status: http.StatusNotFound,
		Body: errorBody{Message: fmt.Sprintf("Resource %s not found", arn), Code: "RESOURCE_NOT_FOUND", ResourceID: arn, ResourceType: strings.ToUpper(strings.ReplaceAll(kind, "-", "_"))}}
	if parts[3] != r.name || parts[4] != r.account {
		return nil, nil, notFound
	}
	switch kind {
	case "source-server":
		if srv := r.servers[id]; srv != nil {
			return srv.tags, srv.changed, nil
		}
	case "recovery-instance":
		if in := r.instances[id]; in != nil && !in.deleted {
			if in.tags == nil {
				in.tags = map[string]string{}
			}
			return in.tags, func() {}, nil
		}
	case "job":
		if j := r.jobs[id]; j != nil && !j.deleted {
			if j.tags == nil { // history jobs have none until tagged
				j.tags = map[string]string{}
			}
			return j.tags, j.changed, nil
		}
	case "replication-configuration-template", "launch-configuration-template", "source-network":
	default:
		return nil, nil, errField("resourceArn", fmt.Sprintf("resource type %q is not taggable in DRS", kind))
	}
	return nil, nil, notFound
}

func opListTags(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	tags, _, e := r.taggable(rq.arn)
	if e != nil {
		return nil, e
	}
	return tagsOutput{Tags: copyTags(tags)}, nil
}

func opTagResource(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*TagResourceInput)
	tags, changed, e := r.taggable(rq.arn)
	if e != nil {
		return nil, e
	}
	if len(in.Tags) == 0 {
		return nil, errField("tags", "is required: give at least one tag")
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	n := len(tags)
	for k := range in.Tags {
		if _, ok := tags[k]; !ok {
			n++
		}
	}
	if n > 50 {
		return nil, errField("tags", fmt.Sprintf("a resource can have at most 50 tags; this would make %d", n))
	}
	for k, v := range in.Tags {
		tags[k] = v
	}
	changed()
	return nil, nil
}

func opUntagResource(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	tags, changed, e := r.taggable(rq.arn)
	if e != nil {
		return nil, e
	}
	for _, k := range rq.query["tagKeys"] {
		delete(tags, k)
	}
	changed()
	return nil, nil
}

func opDisconnectRecoveryInstance(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in, e := r.liveInstance(rq.input.(*DisconnectRecoveryInstanceInput).RecoveryInstanceID)
	if e != nil {
		return nil, e
	}
	if e := r.instanceBusy(in); e != nil {
		return nil, e
	}
	in.disconnected = true
	return nil, nil
}

func opDeleteRecoveryInstance(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in, e := r.liveInstance(rq.input.(*DeleteRecoveryInstanceInput).RecoveryInstanceID)
	if e != nil {
		return nil, e
	}
	if !in.disconnected {
		return nil, errConflict(resRecoveryInstance, in.id, fmt.Sprintf(
			"Recovery instance %s must be disconnected (DisconnectRecoveryInstance) before it can be deleted", in.id))
	}
	if e := r.instanceBusy(in); e != nil {
		return nil, e
	}
	// The record leaves DRS; the EC2 instance itself keeps running.
	state := in.ec2State
	r.terminateInstance(in, now)
	in.ec2State = state
	in.terminatedAt = time.Time{}
	return nil, nil
}

func opStartReplication(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	srv, e := r.existingServer(rq.input.(*StartReplicationInput).SourceServerID)
	if e != nil {
		return nil, e
	}
	if srv.state != replStopped {
		return nil, errConflict(resSourceServer, srv.id, fmt.Sprintf(
			"Replication of source server %s can only be started when it is STOPPED; it is %s", srv.id, srv.state))
	}
	r.resync(srv, now)
	return sourceServerOutput{SourceServer: ptr(r.renderServer(srv, now))}, nil
}

// resync puts a server back through a rescan to CONTINUOUS.
func (r *region) resync(srv *server, now time.Time) {
	srv.state = replRescan
	srv.stalledSince = time.Time{}
	srv.replError = ""
	srv.lastSeenAt = time.Time{}
	srv.lag = 10 * time.Minute
	if srv.firstByteAt.IsZero() {
		srv.firstByteAt = now
	}
	srv.changed()
	r.schedule(now.Add(15*time.Minute), func(at time.Time) {
		if srv.state == replRescan {
			srv.state = replContinuous
			srv.lag = 0
			srv.changed()
		}
	})
}

func opStopReplication(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	srv, e := r.existingServer(rq.input.(*StopReplicationInput).SourceServerID)
	if e != nil {
		return nil, e
	}
	if j := r.heldBy(srv.id); j != nil {
		return nil, errConflict(resSourceServer, srv.id, fmt.Sprintf("Source server %s is being processed by job %s", srv.id, j.id))
	}
	srv.state = replStopped
	srv.lag = 0
	srv.stalledSince = time.Time{}
	srv.replError = ""
	srv.firstByteAt = time.Time{} // its snapshots are deleted
	srv.changed()
	delete(r.onDemand, srv.id)
	return sourceServerOutput{SourceServer: ptr(r.renderServer(srv, now))}, nil
}

func opRetryDataReplication(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	srv, e := r.existingServer(rq.input.(*RetryDataReplicationInput).SourceServerID)
	if e != nil {
		return nil, e
	}
	switch srv.state {
	case replStalled, replDisconnected, replStopped:
	default:
		return nil, errValidation(reasonOther, fmt.Sprintf(
			"Replication of source server %s can be retried only when it is STALLED, DISCONNECTED or STOPPED; it is %s", srv.id, srv.state))
	}
	r.resync(srv, now)
	return r.renderServer(srv, now), nil
}

func opDeleteJob(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	id := rq.input.(*DeleteJobInput).JobID
	j := r.jobs[id]
	if j == nil || j.deleted {
		return nil, errNotFound(resJob, id)
	}
	if j.status != jobStatusCompleted {
		return nil, errConflict(resJob, id, fmt.Sprintf("Job %s is %s; only completed jobs can be deleted", id, j.status))
	}
	j.deleted = true // no longer listed; its JSON would not change
	return nil, nil
}

func opStartFailbackLaunch(s *Sim, r *region, now time.Time, rq *request) (any, *apiError) {
	in := rq.input.(*StartFailbackLaunchInput)
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	insts, e := r.instancesForJob("recoveryInstanceIDs", in.RecoveryInstanceIDs)
	if e != nil {
		return nil, e
	}
	for _, x := range insts {
		if x.failbackState != failbackReadyForLaunch {
			return nil, errConflict(resRecoveryInstance, x.id, fmt.Sprintf(
				"Recovery instance %s is not ready for failback launch (failback state %s); its failback replication must reach FAILBACK_READY_FOR_LAUNCH first", x.id, x.failbackState))
		}
	}
	if e := r.checkActiveQuotas(len(insts)); e != nil {
		return nil, e
	}
	j := r.createFailbackJob(now, insts, in.Tags)
	out := r.renderJob(j)
	return jobOutput{Job: &out}, nil
}

func ptr[T any](v T) *T { return &v }
