package bench

import (
	"cmp"
	"math"
	"slices"
)

// quotas are DRS's limits per account and region that the quota bound
// assumes (docs/drs.md): at most jobs active jobs, of at most perJob
// servers each, holding at most slots servers in all.
type quotas struct {
	slots, jobs, perJob int
}

// drsQuotas are DRS's default quotas: S = 500 servers in active jobs,
// J = 20 active jobs, P = 100 servers per job.
var drsQuotas = quotas{slots: 500, jobs: 20, perJob: 100}

// lambdaSteps is the grid of the quota bound's weights: λ = i/lambdaSteps
// for i = 0..lambdaSteps.
const lambdaSteps = 20

// oldQuotaBound is the earlier quota bound on how long servers of the given
// durations (seconds) take in one target: their total work over the S
// slots, Σ d / S. It frees a server's slot when that server finishes.
func oldQuotaBound(d []float64, q quotas) float64 {
	var sum float64
	for _, x := range d {
		sum += x
	}
	return sum / float64(q.slots)
}

// quotaBound is a lower bound on how long servers of the given durations
// (seconds) take in one target under q, whatever jobs they are launched in
// (the package documentation has the proof): the largest over λ in the
// grid of the least, over groupings into jobs of at most P servers, of
// Σ_j m_j (λ|j|/S + (1-λ)/J), where m_j is job j's longest duration. It is
// never below oldQuotaBound (λ = 1, one job per server, is exactly it; the
// result is the larger of the two so that rounding cannot make it less).
func quotaBound(d []float64, q quotas) float64 {
	if len(d) == 0 {
		return 0
	}
	sorted := slices.Clone(d)
	slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) }) // longest first
	best := oldQuotaBound(d, q)
	for i := 0; i <= lambdaSteps; i++ {
		l := float64(i) / lambdaSteps
		best = max(best, minGrouping(sorted, l/float64(q.slots), (1-l)/float64(q.jobs), q.perJob))
	}
	return best
}

// minGrouping is the least, over partitions of d (sorted longest first)
// into groups of at most p consecutive elements, of Σ_g max(g)·(a|g| + b):
// by the exchange argument of the package documentation the least over
// all partitions into groups of at most p. f[i] is the least cost of the
// i longest; the last group of the i longest is d[i-c:i], whose longest is
// d[i-c]. O(len(d)·p).
func minGrouping(d []float64, a, b float64, p int) float64 {
	f := make([]float64, len(d)+1)
	for i := 1; i <= len(d); i++ {
		f[i] = math.Inf(1)
		for c := 1; c <= min(p, i); c++ {
			if v := f[i-c] + d[i-c]*(a*float64(c)+b); v < f[i] {
				f[i] = v
			}
		}
	}
	return f[len(d)]
}
