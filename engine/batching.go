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
