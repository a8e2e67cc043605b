// Package drssim is a faithful simulator of AWS Elastic Disaster Recovery
// (DRS): an http.Handler that speaks DRS's REST-JSON protocol so that the
// real AWS SDK for Go and the real AWS CLI can talk to it through an endpoint
// override. It models source servers, jobs with their per-server launch
// pipeline and job log, recovery instances, drill replacement, termination,
// recovery snapshots, launch configuration, tags, quotas and throttling, on a
// virtual clock, and injects faults on demand through a control API under
// /_sim/. docs/drssim.md describes it for users; docs/drs.md records the
// facts of the real service it follows.
package drssim

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

var accountRe = regexp.MustCompile(`^[0-9]{12}$`)

// Options configure a simulator.
type Options struct {
	// Scenario is the starting world; nil means the embedded "three-tier".
	Scenario *Scenario
	// Clock gives simulated time; nil means a ScaledClock starting now and
	// running TimeScale times faster than the wall clock.
	Clock Clock
	// TimeScale is simulated seconds per real second (default 1).
	TimeScale float64
	// Seed makes drawn durations and generated IDs repeatable.
	Seed int64
	// Logger receives one record per request; nil discards them.
	Logger *slog.Logger
	// WallClock is the real time used by the throttling token bucket; nil
	// means time.Now. Tests inject one to make throttling deterministic.
	WallClock func() time.Time
}

// config is the resolved, defaulted configuration shared by all regions.
type config struct {
	quotas    Quotas
	throttle  Throttle
	durations Durations
	keepDrill bool
}

func defaultConfig(sc *Scenario) *config {
	c := &config{quotas: sc.Quotas, throttle: sc.Throttle, durations: sc.Durations, keepDrill: sc.KeepDrillInstances}
	q := &c.quotas
	if q.ServersPerJob == 0 {
		q.ServersPerJob = 100
	}
	if q.ActiveJobs == 0 {
		q.ActiveJobs = 20
	}
	if q.ServersInActiveJobs == 0 {
		q.ServersInActiveJobs = 500
	}
	if c.throttle.Rate == 0 {
		c.throttle.Rate = 100
	}
	if c.throttle.Burst == 0 {
		c.throttle.Burst = int(2 * c.throttle.Rate)
		if c.throttle.Burst < 1 {
			c.throttle.Burst = 1
		}
	}
	c.durations = sc.Durations.WithDefaults()
	return c
}

// Sim is a simulated DRS endpoint. It is an http.Handler; it is safe for
// concurrent use.
type Sim struct {
	clock     Clock
	wall      func() time.Time
	log       *slog.Logger
	seed      int64
	cfg       *config
	scenario  *Scenario
	manual    *ManualClock // non-nil when the clock can be advanced through the control API
	startedAt time.Time

	mu         sync.RWMutex
	regions    map[string]*region // account + "/" + region
	accessKeys map[string]string
	defAccount string

	faults *faultSet
	ids    *identities // STS: roles and the sessions AssumeRole issued
	sns    snsTopics   // SNS: the scenario's topics and what was published (sns.go)

	requests atomic.Int64
	// uncachedLists makes DescribeSourceServers and DescribeJobs encode
	// every item's shape on every request, as they did before the render
	// cache (rendercache.go): the benchmarks' point of comparison.
	uncachedLists atomic.Bool
	opStats       sync.Map // op name -> *atomic.Int64
	appStats      sync.Map // client app ID -> *atomic.Int64
	outcomeStats  sync.Map // outcomeKey -> *atomic.Int64
	ec2ssmStats   sync.Map // "ec2:Action" or "ssm:Operation" -> *atomic.Int64
}

// New builds a simulator from opts.
func New(opts Options) (*Sim, error) {
	sc := opts.Scenario
	if sc == nil {
		var err error
		if sc, err = LoadScenario("three-tier"); err != nil {
			return nil, err
		}
	} else if err := sc.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{
		clock:      opts.Clock,
		wall:       opts.WallClock,
		log:        opts.Logger,
		seed:       opts.Seed,
		cfg:        defaultConfig(sc),
		scenario:   sc,
		regions:    map[string]*region{},
		accessKeys: map[string]string{},
		defAccount: sc.DefaultAccount,
	}
	if s.defAccount == "" {
		s.defAccount = fallbackAccount
	}
	for k, v := range sc.AccessKeys {
		s.accessKeys[k] = v
	}
	if s.clock == nil {
		scale := opts.TimeScale
		if scale <= 0 {
			scale = 1
		}
		s.clock = NewScaledClock(time.Now().UTC().Truncate(time.Second), scale)
	}
	if mc, ok := s.clock.(*ManualClock); ok {
		s.manual = mc
	}
	if s.wall == nil {
		s.wall = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.startedAt = s.clock.Now()
	s.faults = newFaultSet(opts.Seed)
	s.ids = newIdentities(opts.Seed)
	if err := s.sns.addTopics(sc.SNSTopics); err != nil {
		return nil, err
	}
	if err := s.build(sc); err != nil {
		return nil, err
	}
	for _, rs := range sc.Roles {
		if _, err := s.AddRole(rs); err != nil {
			return nil, fmt.Errorf("scenario role %s: %w", rs.Name, err)
		}
	}
	for _, f := range sc.Faults {
		if _, err := s.AddFault(f); err != nil {
			return nil, fmt.Errorf("scenario fault: %w", err)
		}
	}
	return s, nil
}

// Close releases the simulator's resources. It exists so that callers can
// treat the simulator like any other server; the model needs no goroutines.
func (s *Sim) Close() {}

// DefaultAccount is the account used for access keys the scenario does not map.
func (s *Sim) DefaultAccount() string { return s.defAccount }

// Now is the simulator's current simulated time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// Regions lists the regions present in the scenario, sorted.
func (s *Sim) Regions() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, r := range s.regions {
		if !seen[r.name] {
			seen[r.name] = true
			out = append(out, r.name)
		}
	}
	sort.Strings(out)
	return out
}

// Accounts lists the accounts present in the scenario, sorted.
func (s *Sim) Accounts() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, r := range s.regions {
		if !seen[r.account] {
			seen[r.account] = true
			out = append(out, r.account)
		}
	}
	sort.Strings(out)
	return out
}

// AccessKeyFor returns an access key ID that the simulator maps to account
// (the scenario's mapping, or a synthetic key of the form AKIDSIM<account>
// which is always accepted).
func (s *Sim) AccessKeyFor(account string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, v := range s.accessKeys {
		if v == account {
			return k
		}
	}
	return "AKIDSIM" + account
}

// accountFor maps an access key ID to an account.
func (s *Sim) accountFor(accessKey string) string {
	s.mu.RLock()
	a, ok := s.accessKeys[accessKey]
	s.mu.RUnlock()
	if ok {
		return a
	}
	if len(accessKey) == len("AKIDSIM")+12 && accessKey[:7] == "AKIDSIM" && accountRe.MatchString(accessKey[7:]) {
		return accessKey[7:]
	}
	return s.defAccount
}

// region returns the DRS of account and name, creating an empty one the
// first time it is addressed: every account and region is its own DRS.
func (s *Sim) region(account, name string) *region {
	key := account + "/" + name
	s.mu.RLock()
	r := s.regions[key]
	s.mu.RUnlock()
	if r != nil {
		return r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r = s.regions[key]; r == nil {
		r = s.newRegion(account, name, true)
		s.regions[key] = r
	}
	return r
}

func (s *Sim) newRegion(account, name string, initialized bool) *region {
	h := fnv.New64a()
	h.Write([]byte(account + "/" + name))
	r := &region{
		account:     account,
		name:        name,
		initialized: initialized,
		cfg:         s.cfg,
		servers:     map[string]*server{},
		jobs:        map[string]*job{},
		instances:   map[string]*instance{},
		onDemand:    map[string][]*snapshot{},
		hold:        map[string]*job{},
		instHold:    map[string]*job{},
		rng:         rand.New(rand.NewPCG(uint64(s.seed), h.Sum64())),
		ec2rng:      rand.New(rand.NewPCG(uint64(s.seed)^0xec2, h.Sum64())),
		now:         s.startedAt,
		faults:      s.faults,
	}
	if s.cfg.throttle.Rate > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(s.cfg.throttle.Rate), s.cfg.throttle.Burst)
	}
	return r
}

// withRegion runs fn with the region locked and advanced to the current
// simulated time.
func (s *Sim) withRegion(account, name string, fn func(r *region, now time.Time)) {
	r := s.region(account, name)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := s.clock.Now()
	r.advance(now)
	fn(r, r.now)
}
