package bench

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ripcord-dr/ripcord/drssim"
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

// stageRanges are the simulator's duration ranges that make up d(s) of a
// server launched from its latest data with no earlier drill instance to
// replace: the job's PENDING time (one draw per job), the fan-out (0 to 3
// s per server), then per server a snapshot, a conversion and the launch.
type stageRanges struct {
	pending, snapshot, conversion, launch [2]float64 // seconds
}

func rangesOf(d drssim.Durations) stageRanges {
	r := func(x drssim.DurRange) [2]float64 { return [2]float64{x.Min.D().Seconds(), x.Max.D().Seconds()} }
	return stageRanges{pending: r(d.Pending), snapshot: r(d.Snapshot), conversion: r(d.Conversion), launch: r(d.Launch)}
}

// expectedLongest estimates, for g = 1..P, E_L(g): the expected longest
// d(s) of a job of g such servers, each as fast as a Linux server (no
// Windows factor), by drawing samples jobs from the ranges with a fixed
// seed (repeatable).
func expectedLongest(r stageRanges, p, samples int) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	u := func(x [2]float64) float64 { return x[0] + rng.Float64()*(x[1]-x[0]) }
	out := make([]float64, p+1)
	for range samples {
		pending, longest := u(r.pending), 0.0
		for g := 1; g <= p; g++ {
			d := pending + rng.Float64()*3 + u(r.snapshot) + u(r.conversion) + u(r.launch)
			longest = max(longest, d)
			out[g] += longest
		}
	}
	for g := range out {
		out[g] /= float64(samples)
	}
	return out
}

// blindQuotaBound is the quota bound for an orchestrator that cannot know
// the drawn durations when it groups n servers into jobs (the package
// documentation has the argument): in expectation at least, over λ in the
// grid, n · min over g ≤ P of E_L(g)·(λ/S + (1-λ)/(J·g)).
func blindQuotaBound(n int, eL []float64, q quotas) float64 {
	if n == 0 {
		return 0
	}
	best := 0.0
	for i := 0; i <= lambdaSteps; i++ {
		l := float64(i) / lambdaSteps
		least := math.Inf(1)
		for g := 1; g <= q.perJob && g < len(eL); g++ {
			least = min(least, eL[g]*(l/float64(q.slots)+(1-l)/(float64(q.jobs)*float64(g))))
		}
		best = max(best, float64(n)*least)
	}
	return best
}
