// Package bench measures how close ripcord gets to the fastest recovery the
// simulator allows, and shows what the orchestration of the original incident
// (docs/drs.md §21) does on the same ground. It runs a recovery plan
// against the in-process DRS simulator (drssim) with each of three
// strategies and reports, per run, the makespan, a lower bound, their ratio,
// the DRS API calls per server and the failures. `ripcord bench` prints the
// rows as a table or as JSON.
//
// # Determinism and modelled time
//
// Every run gets its own simulator on a [drssim.ManualClock] and talks to it
// over HTTP with the real AWS SDK (the drs adapter). Nothing waits in real
// time; everything that takes time moves the manual clock instead:
//
//   - the engine's clock is the manual clock: its polls and waits advance it;
//   - the naive strategies' pauses advance it;
//   - every request takes a modelled latency: an http.RoundTripper in the
//     clients advances the clock, after the simulator has answered, by
//     requestLatency = 60 ms plus 1 ms per latencyBytes = 8 KiB (8192
//     bytes) of the answer's body (pro rata: a 4 KiB answer adds 0.5 ms).
//     The simulator sees the request at the time it was sent; the client
//     gets the answer the latency later. STS requests (CallerIdentity) take
//     it too;
//   - every client has the adapter's default rate limit
//     (drs.DefaultRateLimit, 5 requests per second per target, and the
//     default burst of 5) on the manual clock (drs.Config.Clock): a request
//     over the rate sleeps on the clock, which advances it;
//   - the SDK's retry backoff (reads only) advances the clock instead of
//     waiting (exponential, capped at 20 s, without jitter).
//
// So the time a strategy spends listing and paging shows in its makespan:
// a listing of many pages costs each page's latency and, past the burst,
// 200 ms per request. The clock is shared by a run's clients and advanced
// by whoever waits, so concurrent requests would add their latencies up
// rather than overlap; every strategy here calls DRS from one goroutine,
// one request at a time, where the two are the same.
//
// The simulator's own throttling is switched off: its token bucket counts
// real seconds, which would make the results depend on how fast the
// machine sends requests. The clients' limiter, on simulated time, paces
// the requests instead (it never sees a ThrottlingException, so it stays at
// its configured rate). The simulator's drawn durations come from a seeded
// generator, so a run gives the same numbers every time. The engine draws
// jitter only when DRS refuses a launch, which the ripcord runs here do not
// provoke.
//
// # Cases
//
// three-tier is the simulator's scenario of the same name: six servers in
// one account and region, all held for the first four simulated minutes by
// the TERMINATE job of an earlier attempt. The plan has three waves:
// database, app, web.
//
// history-N is three-tier with N completed jobs of history in its target
// (the simulator's RegionSpec.History with Jobs = N and its defaults: the
// jobs spread evenly over the 90 days before the start, 5 servers each).
// They hold no server and count against no quota, but every listing of the
// target's jobs pages through those it does not narrow away by date, and
// pages cost simulated time. N is 1 to 100000.
//
// scale-N (scale-300, scale-1000 and scale-3000 among the defaults) is the
// scale scenario generating N servers over two accounts (111122223333 and
// 222233334444, access keys AKIDSCALEACCOUNTA and B) and two regions
// (us-east-1, us-west-2): four targets, one per account and region. The
// plan has three steps, the tiers database -> app -> web, and every step
// spans all four targets. (The scenario's default of three accounts would
// put each tier in one account, because it assigns both the account and the
// tier round-robin over three; with two accounts and two regions every
// combination of tier and target occurs.) Every tenth server runs Windows.
//
// scale-N-one-target is the same with every server in one account and
// region (111122223333, us-east-1): one target, whose waves for large N
// are far above DRS's quotas, where the quota bound decides. For both, N
// is 12 to 20000.
//
// DefaultCaseNames are three-tier, history-20000, scale-300, scale-1000
// and scale-3000, which together take seconds of wall time (history-20000
// under a second: it is still six servers, and what the history costs is
// in simulated time). scale-10000-one-target is left out: it takes one
// and a half to two minutes of wall time by itself (mostly the SDK
// decoding listings of hundreds of jobs and the engine recording the
// events of 10000 servers), so it is run by name.
//
// Every plan server carries engine.SpecServer.Expected, the engine's
// engine.ExpectedLaunch of the server as the simulator describes it (its
// OS string and the total size of its disks, as DescribeSourceServers
// reports them and the drs adapter reads them): the engine groups servers
// of like expectation into a job.
//
// # Strategies
//
//   - ripcord: the engine (engine.New, Start, Run) with an in-memory SQLite
//     store, in drill mode, with failure policy stop and a conflict deadline
//     of 15 minutes. Poll and MinPoll are the engine's defaults unless
//     Config says otherwise.
//
// The naive strategies go through the plan's servers in plan order: wave by
// wave, and inside a wave target by target (a protection group lives in one
// target), each target's servers sorted by ID.
//
//   - naive: what the original team did. One StartRecovery per server, every
//     wave at once with no waiting, then waiting for the jobs (one
//     DescribeJobs per target every 30 simulated seconds). Calls go through
//     the drs adapter, which sends StartRecovery exactly once where the
//     original team's SDK client had its default retries on. That changes
//     nothing here: the SDK's standard retryer retries throttling, 5xx
//     answers and lost connections, which these runs do not inject, and
//     never ConflictException or ServiceQuotaExceededException, so a
//     refused server stays refused either way. Its calls are paced by the
//     same rate limit as the engine's, so "at once" is 5 per second per
//     target.
//   - fixed-delay: the obvious patch. The same calls, in wave order, with a
//     pause of 15 s after each server, 30 s between waves, and up to three
//     retries of a refused call 15 s apart; then waiting as above. All
//     pauses are simulated time.
//
// # Metrics
//
// Everything is read from the simulator's model (Sim.State), not from what
// a strategy says it did. A server is launched when one of the LAUNCH jobs
// a strategy created (after the start, not by the scenario) shows it
// LAUNCHED; its launch time is that server's Finished time in the job.
//
//   - makespan_s: simulated seconds from the start of the run to the last
//     plan server LAUNCHED. Servers that never launched are not in it (so
//     with failures it is not a recovery time); 0 when nothing launched.
//     It includes the modelled request latency and rate limiting.
//   - failures: servers never launched, plus order violations: a server of
//     wave k > 1 whose launching job was created before every server of
//     wave k-1 was LAUNCHED (or while some server of wave k-1 never
//     launched at all: a wave that never came up is never "up"). Each server
//     counts once. The same rule applies to
//     every strategy; for ripcord it is an assertion on the model that the
//     engine waited for each wave.
//   - api_calls_per_server: every DRS request the simulator answered during
//     the run (Sim.OperationCounts, all operations, SDK retries included),
//     divided by the plan's servers.
//   - ratio: makespan_s / lower_bound_s (0 when the bound is 0).
//
// # Lower bound
//
// The lower bound is the critical path through the durations the simulator
// drew in that very run, as if an orchestrator created each wave's jobs the
// instant the previous wave was up, never polled late, spent no time on
// requests, and knew the drawn durations when it grouped servers into
// jobs. For each launched server s let d(s) = (s's Finished in its
// launching job) - (that job's Created): the job's PENDING time, the
// fan-out, snapshot, conversion and launch that the simulator drew for it.
// Let free(s) be the end (Ended) of the scenario job that held s when the
// run started (the lingering TERMINATE job of three-tier), or the start if
// none did. With T_0 = start, for each wave k in order, over its launched
// servers:
//
//	path_k  = max over s of ( max(T_{k-1}, free(s)) + d(s) )
//	quota_k = T_{k-1} + max over targets t of Q(D_{k,t})
//	T_k     = max(path_k, quota_k)
//
// where D_{k,t} is the multiset of d(s) of wave k's servers in target t and
// Q is the quota bound below; lower_bound_s = T_last - start in seconds.
// path_k is the critical path: per wave the max over its servers of
// (Finished - job Created), summed over waves, plus the initial wait for
// the lingering job. When one job holds every server of the first wave, as
// in three-tier, it is exactly (blocking job's Ended - start) + sum over
// waves of max d(s). Whichever of path_k and quota_k is larger decides the
// wave (Detail.QuotaBound says whether the quota did for any wave). With
// scale-3000 a wave has 250 servers per target, so the critical path
// decides; with scale-10000-one-target a wave has about 3333 servers in
// its one target, and the quota does.
//
// The quota bound. DRS allows per target (account and region) at most
// J = 20 active jobs, of at most P = 100 servers each, holding at most
// S = 500 servers in active jobs, and it frees a job's servers only when
// the job ends, at its slowest server. However wave k's servers in target t
// are grouped into jobs, let m_j = max d(s) over job j. Each job is created
// no earlier than T_{k-1} (the previous wave is up no earlier) and is
// active, counting |j| servers and one job, for at least m_j, ending by
// the time the wave is up; so over the wave's time in t, whose length is
// at least L:
//
//	A = Σ_j |j|·m_j / S   (server-seconds over S slots)   L >= A
//	B = Σ_j m_j / J       (job-seconds over J jobs)        L >= B
//
// hence for every λ in [0, 1], L >= λA + (1-λ)B = Σ_j m_j·(λ|j|/S + (1-λ)/J).
// L is at least the least of that over every grouping into jobs of at most
// P servers, for every λ, and Q is the largest, over λ = 0, 0.05, ..., 1,
// of that least. The least is found exactly: some optimal grouping takes
// the durations sorted longest first in consecutive runs. (Exchange
// argument: take any grouping with jobs ordered by their longest, m_1 >=
// m_2 >= ..., of sizes c_1, c_2, ...; give the first c_1 of the sorted
// durations to the first job, the next c_2 to the second, and so on. The
// jobs i, i+1, ... hold n - (c_1 + ... + c_{i-1}) durations, all at most
// m_i, so the (c_1 + ... + c_{i-1} + 1)-th longest, the new job i's
// longest, is at most m_i: same sizes, no longer maxima, no greater cost,
// as every coefficient is non-negative.) A dynamic program over the
// sorted durations then finds it in O(n·P): f(i), the least cost of the i
// longest, is the least over c <= min(P, i) of f(i-c) + d_(i-c+1)·(λc/S +
// (1-λ)/J). With λ = 1 and one job per server the cost is Σ d / S, which
// is the least at λ = 1 (a job's longest is at least each of its
// durations), so Q is never below the old quota bound, Σ d / S (taken as
// a floor as well, against rounding).
//
// The old quota bound, quota_k = T_{k-1} + max_t (n_{k,t}/S · mean_{k,t}(d)),
// freed a server's slot when that server finished, as if DRS released
// servers one by one. Detail.OldBoundS is the lower bound computed with it
// in place of Q (the table's notes show it when it differs).
//
// How much Q adds: for λ < 1 a job of c servers charges each of them
// (λ/S + (1-λ)/(J·c)) times the job's longest, which is below 1/S once
// c > S/J = 25. So Q exceeds Σ d / S only where consecutive runs of 25 to
// 100 sorted durations still differ much, and a wave far above the quotas
// (thousands of durations drawn from a range of minutes) has no such runs:
// in scale-10000-one-target Q equals the old bound to the millisecond.
// What Q grants the orchestrator is knowing the draws: a job of 25 servers
// whose durations are not known in advance lasts about the longest of 25
// draws, so the clairvoyant grouping is far ahead of any real one.
//
// The blind quota bound. No orchestrator knows the draws when it creates a
// job: the simulator draws each stage's duration when the stage begins. So
// the quota term also takes the larger of Q and a bound that holds in
// expectation for every orchestrator that does not see the future. Let
// E_L(g) be the expected longest d(s) of a job of g servers whose stages
// are drawn from the simulator's ranges as for a Linux server (one PENDING
// draw for the job, then per server the fan-out, snapshot, conversion and
// launch; no Windows factor); bench estimates it by drawing 4,000 jobs
// with a fixed seed. A Windows server's conversion is its Linux draw times
// a factor above 1, so every job's longest is at least that of g Linux
// servers, and its expected length given its size, decided before its
// draws, is at least E_L(g). Summing over the jobs an orchestrator creates
// (each decided before its own draws), the expected A and B above are at
// least Σ_j |j|·E_L(|j|)/S and Σ_j E_L(|j|)/J, so for every λ the expected
// L is at least Σ_j |j|·E_L(|j|)·(λ/S + (1-λ)/(J·|j|)), which is at least
// n · min over g <= P of E_L(g)·(λ/S + (1-λ)/(J·g)). The blind bound is the
// largest of that over the λ grid. It is a bound on the expected length,
// not on every run: a lucky run can beat it by a little, but with thousands
// of servers per wave the luck averages out. Detail.SeerBoundS is the
// lower bound with Q alone (the table's notes show it as the clairvoyant
// bound when it differs).
//
// The bound is computed the same way for every strategy, from its own run.
// A naive strategy that fires every wave at once can finish below it
// (ratio < 1), but only by breaking the wave order, which its failures
// count.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// Strategy names.
const (
	Ripcord    = "ripcord"
	Naive      = "naive"
	FixedDelay = "fixed-delay"
)

// Strategies lists every strategy, in the order rows are reported.
var Strategies = []string{Ripcord, Naive, FixedDelay}

// Case names: three-tier; history-N (three-tier with N completed jobs of
// history); scale-N; scale-N-one-target.
const (
	ThreeTier       = "three-tier"
	HistoryPrefix   = "history-"
	ScalePrefix     = "scale-"
	OneTargetSuffix = "-one-target"
)

// Bounds on a scale case's servers (every tier must reach every one of the
// four targets, and the simulator's generated scenario stays in memory) and
// on a history case's jobs.
const (
	MinScaleServers = 12
	MaxScaleServers = 20000
	MaxHistoryJobs  = 100000
)

// Case is one plan to benchmark.
type Case struct {
	Name    string // "three-tier", "history-N", "scale-N" or "scale-N-one-target"
	Servers int    // N for a scale case; 0 for three-tier and history-N
	// History is N for history-N: completed jobs in the target.
	History int
	// OneTarget is set for scale-N-one-target: every server in one account
	// and region.
	OneTarget bool
}

// DefaultCaseNames are the cases `ripcord bench` runs when none are named.
// scale-10000-one-target is left out for its wall time (see the package
// documentation).
var DefaultCaseNames = []string{ThreeTier, "history-20000", "scale-300", "scale-1000", "scale-3000"}

// caseHint lists the case names, for errors.
const caseHint = "cases are three-tier, history-N (three-tier with N completed jobs in its target), " +
	"scale-N (N servers over 2 accounts x 2 regions) and scale-N-one-target (N servers in one account and region), " +
	"e.g. three-tier,history-20000,scale-3000,scale-10000-one-target"

// ParseCase reads a case name: three-tier, history-N, scale-N or
// scale-N-one-target. Numbers may have leading zeros; the case's Name is
// the canonical spelling.
func ParseCase(name string) (Case, error) {
	name = strings.TrimSpace(name)
	if name == ThreeTier {
		return Case{Name: name}, nil
	}
	if rest, ok := strings.CutPrefix(name, HistoryPrefix); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > MaxHistoryJobs {
			return Case{}, &ripcord.Error{Code: ripcord.EINVALID,
				Message: fmt.Sprintf("invalid case %q: the number of completed jobs must be a whole number from 1 to %d", name, MaxHistoryJobs),
				Hint:    "use e.g. history-20000 (three-tier with 20000 completed jobs of history in its target)"}
		}
		return Case{Name: HistoryPrefix + strconv.Itoa(n), History: n}, nil
	}
	if rest, ok := strings.CutPrefix(name, ScalePrefix); ok {
		num, one := strings.CutSuffix(rest, OneTargetSuffix)
		n, err := strconv.Atoi(num)
		if err != nil || n < MinScaleServers || n > MaxScaleServers {
			return Case{}, &ripcord.Error{Code: ripcord.EINVALID,
				Message: fmt.Sprintf("invalid case %q: the number of servers must be a whole number from %d to %d", name, MinScaleServers, MaxScaleServers),
				Hint:    "use e.g. scale-300 (300 servers over 2 accounts x 2 regions) or scale-300-one-target (300 servers in one account and region)"}
		}
		c := Case{Name: ScalePrefix + strconv.Itoa(n), Servers: n, OneTarget: one}
		if one {
			c.Name += OneTargetSuffix
		}
		return c, nil
	}
	return Case{}, &ripcord.Error{Code: ripcord.EINVALID,
		Message: fmt.Sprintf("unknown case %q", name),
		Hint:    caseHint}
}

// ParseCases reads a list of case names, refusing duplicates.
func ParseCases(names []string) ([]Case, error) {
	var out []Case
	seen := map[string]bool{}
	for _, n := range names {
		c, err := ParseCase(n)
		if err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("case %s is named twice", c.Name),
				Hint: "name each case once"}
		}
		seen[c.Name] = true
		out = append(out, c)
	}
	return out, nil
}

// ParseStrategies checks a list of strategy names, refusing unknown names
// and duplicates.
func ParseStrategies(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !slices.Contains(Strategies, n) {
			return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("unknown strategy %q", n),
				Hint: "strategies are " + strings.Join(Strategies, ", ")}
		}
		if slices.Contains(out, n) {
			return nil, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("strategy %s is named twice", n),
				Hint: "name each strategy once"}
		}
		out = append(out, n)
	}
	return out, nil
}

// Config says what to run.
type Config struct {
	Cases      []Case
	Strategies []string // default: all, in the order of Strategies
	Seed       int64    // the simulator's seed (default 1)
	// Poll and MinPoll are the engine's polling bounds for the ripcord
	// strategy; zero keeps the engine's defaults (30s and 5s), which is
	// what `ripcord run` uses.
	Poll, MinPoll time.Duration
	// Parallel is how many runs go at once (default: GOMAXPROCS). Runs
	// are independent worlds, so it changes no number, only the wall time.
	Parallel int
	// Progress, when set, is called as each run ends (from the run's
	// goroutine; calls are serialized).
	Progress func(Row)
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if len(c.Cases) == 0 {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: "no cases to run",
			Hint: "name at least one case, e.g. " + ThreeTier}
	}
	if _, err := ParseStrategies(c.Strategies); err != nil {
		return err
	}
	if c.Poll < 0 || c.MinPoll < 0 {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: "poll intervals must not be negative",
			Hint: "give durations such as 30s, or 0 for the engine's defaults"}
	}
	if c.Poll > 0 && c.MinPoll > c.Poll {
		return &ripcord.Error{Code: ripcord.EINVALID,
			Message: fmt.Sprintf("the shortest poll interval %s is longer than the longest %s", c.MinPoll, c.Poll),
			Hint:    "make the minimum poll interval at most the poll interval"}
	}
	if c.Parallel < 0 {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("parallel runs %d is negative", c.Parallel),
			Hint: "give 1 or more, or 0 for one per CPU"}
	}
	return nil
}

// Row is one case run with one strategy. Its JSON has exactly the fields
// case, strategy, servers, makespan_s, lower_bound_s, ratio,
// api_calls_per_server and failures.
type Row struct {
	Case              string  `json:"case"`
	Strategy          string  `json:"strategy"`
	Servers           int     `json:"servers"`
	MakespanS         float64 `json:"makespan_s"`
	LowerBoundS       float64 `json:"lower_bound_s"`
	Ratio             float64 `json:"ratio"`
	APICallsPerServer float64 `json:"api_calls_per_server"`
	Failures          int     `json:"failures"`
	// Detail explains the numbers; it is not part of the JSON row.
	Detail Detail `json:"-"`
}

// Detail is what a row's numbers are made of.
type Detail struct {
	NotLaunched     int // servers no job of the strategy launched
	OrderViolations int // launched servers whose job started before the previous wave was up
	// QuotaBound is set when the quota bound, not the critical path,
	// decided the lower bound of at least one wave.
	QuotaBound bool
	// OldBoundS is the lower bound in seconds with the old quota bound
	// (Σ d / S per wave and target, slots freed server by server) in
	// place of the quota bound; never above lower_bound_s.
	OldBoundS float64
	// SeerBoundS is the lower bound in seconds with the clairvoyant quota
	// bound Q alone, without the blind one (see the package
	// documentation); between OldBoundS and lower_bound_s.
	SeerBoundS float64
	// StartDelays says, per wave, how long after the wave could have
	// started (the previous wave up and its servers free) its first job
	// was created; negative when it did not wait. It is where ripcord's
	// makespan exceeds the lower bound.
	StartDelays []time.Duration
	// LaunchJobs is how many LAUNCH jobs the strategy created.
	LaunchJobs int
	// Refusals counts StartRecovery calls DRS refused, by error type
	// (naive strategies; the engine records its own in its event log).
	Refusals map[string]int
	// Calls is every DRS request the simulator answered, by operation.
	Calls map[string]int64
	// Outcome is the execution's final state (ripcord) or "done".
	Outcome string
	// Wall is the real time the run took.
	Wall time.Duration
}

// Run runs every case with every strategy and returns the rows, case by
// case in the order given, strategies in the order of Strategies.
func Run(ctx context.Context, cfg Config) ([]Row, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	strategies := cfg.Strategies
	if len(strategies) == 0 {
		strategies = Strategies
	}
	strategies = slices.DeleteFunc(slices.Clone(Strategies), func(s string) bool { return !slices.Contains(strategies, s) })
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	par := cfg.Parallel
	if par == 0 {
		par = runtime.GOMAXPROCS(0)
	}
	type job struct {
		i        int
		c        Case
		strategy string
	}
	var jobs []job
	for _, c := range cfg.Cases {
		for _, s := range strategies {
			jobs = append(jobs, job{len(jobs), c, s})
		}
	}
	rows := make([]Row, len(jobs))
	errs := make([]error, len(jobs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var progressMu sync.Mutex
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			row, err := RunOne(ctx, j.c, j.strategy, cfg)
			if err != nil {
				errs[j.i] = fmt.Errorf("bench %s with %s: %w", j.c.Name, j.strategy, err)
				cancel()
				return
			}
			rows[j.i] = row
			if cfg.Progress != nil {
				progressMu.Lock()
				cfg.Progress(row)
				progressMu.Unlock()
			}
		}()
	}
	wg.Wait()
	// The first error that is not just the cancellation it caused.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return rows, nil
}

// RunOne runs one case with one strategy in a fresh simulator.
func RunOne(ctx context.Context, c Case, strategy string, cfg Config) (Row, error) {
	if !slices.Contains(Strategies, strategy) {
		return Row{}, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("unknown strategy %q", strategy),
			Hint: "strategies are " + strings.Join(Strategies, ", ")}
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = 1
	}
	began := time.Now()
	w, err := newWorld(ctx, c, seed)
	if err != nil {
		return Row{}, err
	}
	defer w.close()
	var res result
	switch strategy {
	case Ripcord:
		res, err = runRipcord(ctx, w, cfg)
	case Naive:
		res, err = runNaive(ctx, w, false)
	case FixedDelay:
		res, err = runNaive(ctx, w, true)
	}
	if err != nil {
		return Row{}, err
	}
	row := w.measure()
	row.Case, row.Strategy = c.Name, strategy
	row.Detail.Refusals = res.refusals
	row.Detail.Outcome = res.outcome
	row.Detail.Wall = time.Since(began)
	return row, nil
}

// result is what a strategy reports beyond the model.
type result struct {
	outcome  string
	refusals map[string]int
}

// round rounds x to the given number of decimals.
func round(x float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(x*p) / p
}

// WriteJSON writes rows as a JSON list.
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// WriteTable writes rows as an aligned table with a notes column that says
// what the failures are.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tstrategy\tservers\tmakespan_s\tlower_bound_s\tratio\tapi_calls_per_server\tfailures\tnotes")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%.3f\t%.2f\t%d\t%s\n", r.Case, r.Strategy, r.Servers,
			r.MakespanS, r.LowerBoundS, r.Ratio, r.APICallsPerServer, r.Failures, Notes(r))
	}
	return tw.Flush()
}

// Notes says in a few words what a row's failures are and which bound
// applied.
func Notes(r Row) string {
	var parts []string
	d := r.Detail
	if d.Outcome != "" && d.Outcome != "done" {
		parts = append(parts, d.Outcome)
	}
	if d.NotLaunched > 0 {
		s := fmt.Sprintf("%d not launched", d.NotLaunched)
		if len(d.Refusals) > 0 {
			var rs []string
			for _, k := range sortedKeys(d.Refusals) {
				rs = append(rs, fmt.Sprintf("%s x%d", k, d.Refusals[k]))
			}
			s += " (" + strings.Join(rs, ", ") + ")"
		}
		parts = append(parts, s)
	}
	if d.OrderViolations > 0 {
		parts = append(parts, fmt.Sprintf("%d launched before the previous wave was up", d.OrderViolations))
	}
	if d.QuotaBound {
		parts = append(parts, "quota bound")
	}
	if d.SeerBoundS != r.LowerBoundS {
		parts = append(parts, fmt.Sprintf("clairvoyant bound %.1fs", d.SeerBoundS))
	}
	if d.OldBoundS != d.SeerBoundS {
		parts = append(parts, fmt.Sprintf("old bound %.1fs", d.OldBoundS))
	}
	if r.Failures == 0 && len(d.StartDelays) > 0 {
		var ds []string
		for _, x := range d.StartDelays {
			ds = append(ds, x.Round(100*time.Millisecond).String())
		}
		parts = append(parts, "waves started "+strings.Join(ds, ", ")+" after they could")
	}
	parts = append(parts, fmt.Sprintf("%d jobs", d.LaunchJobs))
	return strings.Join(parts, "; ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
