package drssim

import (
	"fmt"
	"hash/fnv"
	"sort"
	"time"
)

// Point-in-time snapshots follow DRS's default PIT policy: every 10 minutes
// for the last hour, hourly for the last day, daily for the last 7 days.
// They are derived from the server's replication history on demand (so they
// cost no memory), with IDs that are stable for a given server and time.
// Snapshots taken on demand by launch jobs are stored and listed too.

type pitRule struct {
	every, keep time.Duration
}

var pitPolicy = []pitRule{
	{10 * time.Minute, time.Hour},
	{time.Hour, 24 * time.Hour},
	{24 * time.Hour, 7 * 24 * time.Hour},
}

func snapshotHash(server string, t time.Time) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", server, t.Unix())
	return h.Sum64()
}

// policySnapshots lists the PIT snapshots that exist at now, oldest first.
func (r *region) policySnapshots(srv *server, now time.Time) []*snapshot {
	if srv.firstByteAt.IsZero() || srv.state == replInitialSync || srv.state == replInitiating {
		return nil
	}
	latest := srv.dataTime(now)
	seen := map[int64]bool{}
	var out []*snapshot
	for _, p := range pitPolicy {
		t := latest.Truncate(p.every)
		for ; !t.Before(now.Add(-p.keep)) && !t.Before(srv.firstByteAt); t = t.Add(-p.every) {
			if seen[t.Unix()] {
				continue
			}
			seen[t.Unix()] = true
			v := snapshotHash(srv.id, t)
			snap := &snapshot{
				id:       fmt.Sprintf("pit-%017x", v)[:21],
				server:   srv.id,
				expected: t,
				taken:    t.Add(time.Duration(v%20) * time.Second),
			}
			for i := range srv.disks {
				snap.ebs = append(snap.ebs, fmt.Sprintf("snap-%017x", v+uint64(i)*7919)[:22])
			}
			out = append(out, snap)
		}
	}
	// On-demand snapshots are kept as long as the longest policy rule.
	keep := pitPolicy[len(pitPolicy)-1].keep
	for _, sn := range r.onDemand[srv.id] {
		if !sn.expected.Before(now.Add(-keep)) {
			out = append(out, sn)
		}
	}
	sort.Slice(out, func(i, j int) bool { return snapshotKey(out[i]) < snapshotKey(out[j]) })
	return out
}

// snapshotKey orders snapshots by expected time, then ID; it is also the
// pagination cursor, so two snapshots of the same instant are never skipped.
func snapshotKey(s *snapshot) string {
	return fmt.Sprintf("%020d/%s", s.expected.UnixNano(), s.id)
}

func (r *region) findSnapshot(srv *server, id string, now time.Time) *snapshot {
	for _, s := range r.policySnapshots(srv, now) {
		if s.id == id {
			return s
		}
	}
	return nil
}
