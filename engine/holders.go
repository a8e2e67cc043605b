package engine

import "github.com/ripcord-dr/ripcord"

// Holders maps each source server held by one of jobs to the active job
// that holds it (DRS allows one active job per server, of any type), and
// counts the servers in active jobs. It is the one place that decides
// which job blocks a server: launch steps and readiness checks use it.
func Holders(jobs []ripcord.Job) (holder map[string]ripcord.Job, activeServers int) {
	holder = map[string]ripcord.Job{}
	for _, j := range jobs {
		if !j.Active() {
			continue
		}
		activeServers += len(j.Servers)
		for _, ps := range j.Servers {
			holder[ps.SourceServerID] = j
		}
	}
	return holder, activeServers
}

// WithDefaults fills in DRS's default quotas (docs/drs.md §4) where q says
// nothing.
func (q Quotas) WithDefaults() Quotas { return q.withDefaults() }

// Free returns how many jobs and servers in active jobs the quotas leave
// to ripcord in a target while active are DRS's active jobs there, after
// the headroom kept for people.
func (q Quotas) Free(active []ripcord.Job) (jobs, servers int) {
	n := 0
	for _, j := range active {
		if j.Active() {
			n++
		}
	}
	_, inJobs := Holders(active)
	return q.ActiveJobs - q.Headroom - n, q.ServersInActiveJobs - 10*q.Headroom - inJobs
}
