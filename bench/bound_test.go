package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestQuotaBoundByHand checks the quota bound on cases worked out by hand.
func TestQuotaBoundByHand(t *testing.T) {
	tests := []struct {
		name     string
		d        []float64
		q        quotas
		want     float64
		wantOld  float64
		wantSame bool
	}{
		// S=2, J=1, P=2, durations 4 and 1. Two jobs: A = (4+1)/2 = 2.5,
		// B = (4+1)/1 = 5. One job: A = 2*4/2 = 4, B = 4/1 = 4. The best
		// grouping takes 4; with λ <= 0.4 the bound finds it.
		{name: "one job or two", d: []float64{4, 1}, q: quotas{slots: 2, jobs: 1, perJob: 2}, want: 4, wantOld: 2.5},
		// One server of 100 s: one job, of which 20 may be active: 100/20.
		// The old bound frees the slot after 100/500.
		{name: "one server", d: []float64{100}, q: drsQuotas, want: 5, wantOld: 0.2},
		// 21 servers of 10 s: one job of 21 at λ = 0 gives 10/20 = 0.5;
		// the old bound is 210/500 = 0.42.
		{name: "21 alike", d: repeat(21, 10), q: drsQuotas, want: 0.5, wantOld: 0.42},
		// 1000 servers of 100 s: the slots decide, as before: 1000*100/500.
		{name: "1000 alike", d: repeat(1000, 100), q: drsQuotas, want: 200, wantOld: 200, wantSame: true},
		// 500 of 100 s and 500 of 300 s: alike durations share jobs and
		// nothing is lost to a job's slowest server, so the bound stays
		// (500*100 + 500*300)/500 = 400.
		{name: "two kinds", d: append(repeat(500, 100), repeat(500, 300)...), q: drsQuotas, want: 400, wantOld: 400, wantSame: true},
	}
	for _, tt := range tests {
		got, old := quotaBound(tt.d, tt.q), oldQuotaBound(tt.d, tt.q)
		if math.Abs(old-tt.wantOld) > 1e-9 {
			t.Errorf("%s: old bound %v, want %v", tt.name, old, tt.wantOld)
		}
		if math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: bound %v, want %v", tt.name, got, tt.want)
		}
		if tt.wantSame != (got == old) {
			t.Errorf("%s: bound %v, old %v: want them equal %v", tt.name, got, old, tt.wantSame)
		}
	}
	if got := quotaBound(nil, drsQuotas); got != 0 {
		t.Errorf("no servers: %v, want 0", got)
	}
}

// TestQuotaBoundBruteForce checks the bound against every grouping of
// small sets of durations: it is at least the old bound, at most the
// best grouping's max(A, B) (what any launch must take), and its inner
// minimum (the DP over consecutive groups) equals the minimum over all
// groupings for each λ (the exchange argument).
func TestQuotaBoundBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(7)
		q := quotas{slots: 1 + rng.IntN(6), jobs: 1 + rng.IntN(3), perJob: 1 + rng.IntN(4)}
		d := make([]float64, n)
		for i := range d {
			d[i] = float64(1 + rng.IntN(20))
			if rng.IntN(3) == 0 && i > 0 {
				d[i] = d[i-1] // ties
			}
		}
		bound, old := quotaBound(d, q), oldQuotaBound(d, q)
		if bound < old {
			t.Errorf("trial %d %v %+v: bound %v below the old bound %v", trial, d, q, bound, old)
		}
		best := math.Inf(1)
		bestAt := make([]float64, lambdaSteps+1)
		for i := range bestAt {
			bestAt[i] = math.Inf(1)
		}
		partitions(n, q.perJob, func(groups [][]int) {
			var a, b float64
			for _, g := range groups {
				m := 0.0
				for _, i := range g {
					m = max(m, d[i])
				}
				a += float64(len(g)) * m / float64(q.slots)
				b += m / float64(q.jobs)
			}
			best = min(best, max(a, b))
			for i := range bestAt {
				l := float64(i) / lambdaSteps
				bestAt[i] = min(bestAt[i], l*a+(1-l)*b)
			}
		})
		if bound > best+1e-9 {
			t.Errorf("trial %d %v %+v: bound %v above the best grouping's %v", trial, d, q, bound, best)
		}
		sorted := append([]float64(nil), d...)
		sortDesc(sorted)
		for i, want := range bestAt {
			l := float64(i) / lambdaSteps
			if got := minGrouping(sorted, l/float64(q.slots), (1-l)/float64(q.jobs), q.perJob); math.Abs(got-want) > 1e-9 {
				t.Errorf("trial %d %v %+v λ=%v: consecutive groups give %v, all groupings %v", trial, d, q, l, got, want)
			}
		}
	}
}

// partitions calls fn with every partition of 0..n-1 into groups of at
// most p elements.
func partitions(n, p int, fn func([][]int)) {
	var groups [][]int
	var rec func(i int)
	rec = func(i int) {
		if i == n {
			fn(groups)
			return
		}
		for g := range groups {
			if len(groups[g]) < p {
				groups[g] = append(groups[g], i)
				rec(i + 1)
				groups[g] = groups[g][:len(groups[g])-1]
			}
		}
		groups = append(groups, []int{i})
		rec(i + 1)
		groups = groups[:len(groups)-1]
	}
	rec(0)
}

func sortDesc(d []float64) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] > d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

func repeat(n int, x float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = x
	}
	return out
}

// TestNotesBounds: the table's notes show the clairvoyant bound when it
// differs from the bound, and the old one when it differs from that.
func TestNotesBounds(t *testing.T) {
	r := Row{LowerBoundS: 130, Detail: Detail{QuotaBound: true, SeerBoundS: 120, OldBoundS: 100.04}}
	if n := Notes(r); !strings.Contains(n, "quota bound") || !strings.Contains(n, "clairvoyant bound 120.0s") || !strings.Contains(n, "old bound 100.0s") {
		t.Errorf("notes %q, want the quota bound, the clairvoyant bound 120.0s and the old bound 100.0s", n)
	}
	r.Detail.SeerBoundS, r.Detail.OldBoundS = 130, 130
	if n := Notes(r); strings.Contains(n, "old bound") || strings.Contains(n, "clairvoyant") {
		t.Errorf("notes %q name bounds equal to the bound", n)
	}
}

// TestBlindQuotaBound: the expected longest of g Linux-like servers grows
// with g; the blind bound is above the expected total work over the slots
// (what freeing servers one by one would allow) and at most what jobs of
// 25 (20 jobs holding 500 servers) achieve in the fluid limit.
func TestBlindQuotaBound(t *testing.T) {
	r := stageRanges{pending: [2]float64{2, 20}, snapshot: [2]float64{30, 120}, conversion: [2]float64{120, 360}, launch: [2]float64{30, 90}}
	eL := expectedLongest(r, 100, 4000)
	mean := 11 + 1.5 + 75 + 240 + 60.0
	if math.Abs(eL[1]-mean) > 5 {
		t.Errorf("E_L(1) = %.1f s; want the mean duration %.1f s", eL[1], mean)
	}
	for g := 2; g <= 100; g++ {
		if eL[g] < eL[g-1] {
			t.Fatalf("E_L(%d) = %.1f < E_L(%d) = %.1f: the expected longest must grow", g, eL[g], g-1, eL[g-1])
		}
	}
	if eL[100] > 20+3+120+360+90 {
		t.Errorf("E_L(100) = %.1f s beyond the longest possible draw", eL[100])
	}
	b := blindQuotaBound(3000, eL, drsQuotas)
	work := 3000 * eL[1] / 500
	if b <= work*1.05 || b > 3000*eL[25]/500 {
		t.Errorf("blind bound %.0f s; want above the work over the slots %.0f s and at most 25-server jobs' %.0f s", b, work, 3000*eL[25]/500)
	}
	if blindQuotaBound(0, eL, drsQuotas) != 0 {
		t.Error("no servers, yet a bound")
	}
}
