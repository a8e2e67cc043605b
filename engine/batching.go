package engine

import (
	"cmp"
	"slices"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// ExpectedLaunch estimates how long DRS takes from a job's creation to the
// server's recovery instance being LAUNCHED, from what DRS says of the
// server (docs/drs.md §19): a snapshot, a conversion that takes about
// twice as long for Windows, then the launch; larger disks add a little.
// The figure only orders servers for batching (a slow server should share
// its job with other slow ones); nothing waits on it.
func ExpectedLaunch(s ripcord.SourceServer) time.Duration {
	const (
		snapshot   = 75 * time.Second
		conversion = 4 * time.Minute
		launch     = time.Minute
		perTiB     = 30 * time.Second
	)
	d := snapshot + conversion + launch
	if s.Windows() {
		d += conversion
	}
	d += time.Duration(float64(perTiB) * float64(s.DiskBytes) / (1 << 40))
	return d
}

// slowestFirst orders servers for launching: the longest expected first
// (the longest-processing-time rule, which keeps a slow server from being
// the last to start), then by ID so that the order is stable.
func slowestFirst(ids []string, expected func(string) time.Duration) {
	slices.SortStableFunc(ids, func(a, b string) int {
		if c := cmp.Compare(expected(b), expected(a)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
}

// batchSizes splits n free servers of a target into the jobs to start now,
// given the jobs and servers its quotas have left. When all of them fit,
// they go in as few jobs as the per-job limit allows, of even sizes (fewer
// calls; nothing waits for the quota). When they do not, the target is
// quota-bound: DRS frees a job's servers only when its slowest server is
// done, so each job gets an even share of the quota (servers in active
// jobs over active jobs: 500/20 = 25 by default, more when others' jobs
// take job slots but few servers), and servers of like
// expected duration share a job (the caller orders them slowest first).
func batchSizes(n, jobsLeft, serversLeft int, q Quotas) []int {
	if n <= 0 || jobsLeft <= 0 || serversLeft <= 0 {
		return nil
	}
	jobs := (n + q.ServersPerJob - 1) / q.ServersPerJob
	if n <= serversLeft && jobs <= jobsLeft {
		out := make([]int, jobs)
		for i := range out {
			out[i] = n / jobs
			if i < n%jobs {
				out[i]++
			}
		}
		return out
	}
	jobCap := max(1, q.ActiveJobs-q.Headroom)
	serverCap := max(1, q.ServersInActiveJobs-10*q.Headroom)
	share := max(1, (serverCap+jobCap-1)/jobCap)
	// Job slots taken by others (a colleague's small jobs) leave more
	// servers to each of ours, so that the server quota is still used.
	share = min(q.ServersPerJob, max(share, (min(n, serversLeft)+jobsLeft-1)/jobsLeft))
	var out []int
	for n > 0 && jobsLeft > 0 && serversLeft > 0 {
		k := min(n, share, serversLeft)
		out = append(out, k)
		n -= k
		jobsLeft--
		serversLeft -= k
	}
	return out
}
