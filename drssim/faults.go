package drssim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Fault kinds.
const (
	FaultHoldServers      = "hold-servers"      // a foreign job holds servers for a while
	FaultFailServer       = "fail-server"       // a server fails at snapshot, conversion or launch
	FaultErrorRate        = "error-rate"        // a fraction of an operation's requests get 500 or 503
	FaultLatency          = "latency"           // added latency (real time) on an operation
	FaultDropResponse     = "drop-response"     // the operation takes effect, the response is lost
	FaultThrottleStorm    = "throttle-storm"    // every request is throttled for a while
	FaultStallReplication = "stall-replication" // a server's replication stalls
	FaultImpairInstance   = "impair-instance"   // EC2 status checks of recovery instances fail (ec2.go)
	FaultFailSSM          = "fail-ssm"          // SSM commands or automations of a document fail (ssm.go)
)

// Fault is one fault rule. Which fields matter depends on Kind; see
// docs/drssim.md. Faults are written the same way in scenario YAML, in the
// control API's JSON and in Go.
type Fault struct {
	ID      string `yaml:"id,omitempty" json:"id,omitempty"`
	Kind    string `yaml:"kind" json:"kind"`
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
	Region  string `yaml:"region,omitempty" json:"region,omitempty"`
	// Operation limits request faults to one DRS operation ("" or "*": all).
	Operation string   `yaml:"operation,omitempty" json:"operation,omitempty"`
	Servers   []string `yaml:"servers,omitempty" json:"servers,omitempty"`
	// Stage is snapshot, conversion or launch (fail-server).
	Stage string `yaml:"stage,omitempty" json:"stage,omitempty"`
	// Times is how many launches fail (fail-server): 1 by default, 0 with
	// Always.
	Times  int  `yaml:"times,omitempty" json:"times,omitempty"`
	Always bool `yaml:"always,omitempty" json:"always,omitempty"`
	// Fraction of matching requests that fail (error-rate), 0 < f <= 1.
	Fraction float64 `yaml:"fraction,omitempty" json:"fraction,omitempty"`
	// Status is the HTTP status of injected errors: 500 or 503.
	Status int `yaml:"status,omitempty" json:"status,omitempty"`
	// Count bounds how many requests the rule affects (0: no bound; the
	// default for drop-response is 1).
	Count int `yaml:"count,omitempty" json:"count,omitempty"`
	// For is how long (simulated) the rule or the hold lasts from when it
	// is added; 0 means until removed.
	For Duration `yaml:"for,omitempty" json:"for,omitempty"`
	// Latency is real time added to each matching request.
	Latency Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
	// JobType of a hold: LAUNCH (default, as if started from the console)
	// or TERMINATE.
	JobType string `yaml:"jobType,omitempty" json:"jobType,omitempty"`
	// Message overrides the rawError of an injected server failure.
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
	// State and Error of a stalled replication (default STALLED,
	// UNSTABLE_NETWORK).
	State string `yaml:"state,omitempty" json:"state,omitempty"`
	Error string `yaml:"error,omitempty" json:"error,omitempty"`
	// Instances are recovery instance IDs (impair-instance, fail-ssm),
	// beside or in place of Servers, whose instances they mean.
	Instances []string `yaml:"instances,omitempty" json:"instances,omitempty"`
	// Check is the EC2 status check an impair-instance fails: instance
	// (default) or system.
	Check string `yaml:"check,omitempty" json:"check,omitempty"`
	// Document is the SSM document whose commands or automations fail
	// (fail-ssm); Outcome is Failed (default) or TimedOut, ExitCode the
	// failed command's response code (default 1).
	Document string `yaml:"document,omitempty" json:"document,omitempty"`
	Outcome  string `yaml:"outcome,omitempty" json:"outcome,omitempty"`
	ExitCode int    `yaml:"exitCode,omitempty" json:"exitCode,omitempty"`

	// Read-only, filled in by the simulator.
	Hits   int    `yaml:"-" json:"hits"`
	JobID  string `yaml:"-" json:"jobID,omitempty"`
	Added  string `yaml:"-" json:"added,omitempty"`
	Expiry string `yaml:"-" json:"expires,omitempty"`
}

func (f *Fault) validate() error {
	switch f.Kind {
	case FaultHoldServers, FaultFailServer, FaultStallReplication:
		if len(f.Servers) == 0 {
			return fmt.Errorf("%s needs servers: the source server IDs it applies to", f.Kind)
		}
		for _, id := range f.Servers {
			if !validSourceServerID(id) {
				return fmt.Errorf("server %q is not a source server ID (s- and 17 hex digits)", id)
			}
		}
	case FaultErrorRate, FaultLatency, FaultDropResponse, FaultThrottleStorm:
		if f.Operation != "" && f.Operation != "*" && operationsByName[f.Operation] == nil {
			return fmt.Errorf("operation %q is not a DRS operation the simulator models", f.Operation)
		}
	case FaultImpairInstance:
		if err := validateInstanceScope(f); err != nil {
			return err
		}
		if f.Check != "" && f.Check != checkInstance && f.Check != checkSystem {
			return fmt.Errorf("check %q must be instance or system", f.Check)
		}
	case FaultFailSSM:
		if f.Document == "" {
			return fmt.Errorf("fail-ssm needs document: the SSM document whose commands or automations fail (e.g. AWS-RunShellScript)")
		}
		if len(f.Servers) > 0 || len(f.Instances) > 0 {
			if err := validateInstanceScope(f); err != nil {
				return err
			}
		}
		if f.Outcome != "" && f.Outcome != ssmFailed && f.Outcome != ssmTimedOut {
			return fmt.Errorf("outcome %q must be Failed or TimedOut", f.Outcome)
		}
	case "":
		return fmt.Errorf("kind is required: one of %s", strings.Join(faultKinds, ", "))
	default:
		return fmt.Errorf("unknown kind %q: use one of %s", f.Kind, strings.Join(faultKinds, ", "))
	}
	if f.Account != "" && !accountRe.MatchString(f.Account) {
		return fmt.Errorf("account %q must be a 12-digit AWS account ID", f.Account)
	}
	if f.Count < 0 || f.Times < 0 {
		return fmt.Errorf("count and times must not be negative")
	}
	switch f.Kind {
	case FaultHoldServers:
		if f.For <= 0 {
			return fmt.Errorf("hold-servers needs for: how long the job holds the servers (e.g. 10m)")
		}
		if f.JobType != "" && f.JobType != jobTypeLaunch && f.JobType != jobTypeTerminate {
			return fmt.Errorf("jobType %q must be LAUNCH or TERMINATE", f.JobType)
		}
	case FaultFailServer:
		if f.Stage != stageSnapshot && f.Stage != stageConversion && f.Stage != stageLaunch {
			return fmt.Errorf("stage %q must be snapshot, conversion or launch", f.Stage)
		}
	case FaultErrorRate:
		if f.Fraction <= 0 || f.Fraction > 1 {
			return fmt.Errorf("fraction %v must be in (0, 1]", f.Fraction)
		}
		if f.Status != 0 && f.Status != http.StatusInternalServerError && f.Status != http.StatusServiceUnavailable {
			return fmt.Errorf("status %d must be 500 or 503", f.Status)
		}
	case FaultLatency:
		if f.Latency <= 0 || f.Latency.D() > time.Minute {
			return fmt.Errorf("latency must be between 1ms and 1m (real time), e.g. 200ms")
		}
	case FaultThrottleStorm:
		if f.For <= 0 && f.Count <= 0 {
			return fmt.Errorf("throttle-storm needs for (simulated duration) or count (requests)")
		}
	case FaultStallReplication:
		if f.State != "" && !replicationStates[f.State] {
			return fmt.Errorf("state %q is not a DRS DataReplicationState", f.State)
		}
		if f.Error != "" && !replicationErrors[f.Error] {
			return fmt.Errorf("error %q is not a DRS DataReplicationErrorString", f.Error)
		}
	}
	return nil
}

var faultKinds = []string{FaultHoldServers, FaultFailServer, FaultErrorRate, FaultLatency,
	FaultDropResponse, FaultThrottleStorm, FaultStallReplication, FaultImpairInstance, FaultFailSSM}

// validateInstanceScope checks the servers and instances a fault on
// recovery instances names: at least one, each a well-formed ID.
func validateInstanceScope(f *Fault) error {
	if len(f.Servers) == 0 && len(f.Instances) == 0 {
		return fmt.Errorf("%s needs servers (source server IDs, meaning their recovery instances) or instances (recovery instance IDs)", f.Kind)
	}
	for _, id := range f.Servers {
		if !validSourceServerID(id) {
			return fmt.Errorf("server %q is not a source server ID (s- and 17 hex digits)", id)
		}
	}
	for _, id := range f.Instances {
		if !validRecoveryInstanceID(id) {
			return fmt.Errorf("instance %q is not an instance ID (i- and 8 or 17 hex digits)", id)
		}
	}
	return nil
}

// matchesInstance reports whether a rule names the instance, by its ID or
// its source server's.
func (ru *rule) matchesInstance(in *instance) bool {
	for _, id := range ru.Instances {
		if id == in.id {
			return true
		}
	}
	for _, id := range ru.Servers {
		if id == in.sourceServer {
			return true
		}
	}
	return false
}

// rule is an active fault with its counters.
type rule struct {
	Fault
	added     time.Time
	until     time.Time // zero: no expiry
	remaining int       // requests or launches left; -1: unbounded
}

// faultSet holds the active rules. Its lock is taken after a region's lock,
// never before.
type faultSet struct {
	mu    sync.Mutex
	rules []*rule
	next  int
	rng   *rand.Rand
}

func newFaultSet(seed int64) *faultSet {
	return &faultSet{rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed))}
}

func (fs *faultSet) scopeMatches(ru *rule, account, region string) bool {
	return (ru.Account == "" || ru.Account == account) && (ru.Region == "" || ru.Region == region)
}

func (fs *faultSet) live(ru *rule, now time.Time) bool {
	if !ru.until.IsZero() && now.After(ru.until) {
		return false
	}
	return ru.remaining != 0
}

func (ru *rule) use() {
	ru.Hits++
	if ru.remaining > 0 {
		ru.remaining--
	}
}

// serverFault reports whether the server should fail at stage now.
func (fs *faultSet) serverFault(r *region, serverID, stage string) (string, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, ru := range fs.rules {
		if ru.Kind != FaultFailServer || ru.Stage != stage || !fs.scopeMatches(ru, r.account, r.name) || !fs.live(ru, r.now) {
			continue
		}
		for _, id := range ru.Servers {
			if id == serverID {
				ru.use()
				msg := ru.Message
				if msg == "" {
					msg = defaultStageError(stage, serverID)
				}
				return msg, true
			}
		}
	}
	return "", false
}

func defaultStageError(stage, id string) string {
	switch stage {
	case stageSnapshot:
		return "Failed to take snapshot of source server " + id + ": EBS snapshot creation failed (injected fault)"
	case stageConversion:
		return "Conversion failed for source server " + id + ": unable to install drivers on the boot volume (injected fault)"
	}
	return "Failed to launch recovery instance for source server " + id + ": InsufficientInstanceCapacity (injected fault)"
}

// requestAction is what the fault rules decide for one request.
type requestAction struct {
	throttle bool
	err      *apiError
	latency  time.Duration
}

func (fs *faultSet) beforeRequest(account, region, op string, now time.Time) requestAction {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var a requestAction
	for _, ru := range fs.rules {
		if !fs.scopeMatches(ru, account, region) || !fs.live(ru, now) || (ru.Operation != "" && ru.Operation != "*" && ru.Operation != op) {
			continue
		}
		switch ru.Kind {
		case FaultThrottleStorm:
			if !a.throttle && a.err == nil {
				ru.use()
				a.throttle = true
			}
		case FaultErrorRate:
			if !a.throttle && a.err == nil && fs.rng.Float64() < ru.Fraction {
				ru.use()
				status := ru.Status
				if status == 0 {
					status = http.StatusInternalServerError
				}
				msg := "An internal error occurred (injected fault)"
				if status == http.StatusServiceUnavailable {
					msg = "Service unavailable, please retry (injected fault)"
				}
				a.err = errInternal(status, msg)
			}
		case FaultLatency:
			ru.use()
			a.latency += ru.Latency.D()
		}
	}
	return a
}

// dropResponse reports whether the response of a successful op must be lost.
func (fs *faultSet) dropResponse(account, region, op string, now time.Time) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, ru := range fs.rules {
		if ru.Kind != FaultDropResponse || !fs.scopeMatches(ru, account, region) || !fs.live(ru, now) {
			continue
		}
		want := ru.Operation
		if want == "" {
			want = "StartRecovery"
		}
		if want == "*" || want == op {
			ru.use()
			return true
		}
	}
	return false
}

// AddFault activates a fault rule and returns its ID. Holds and stalls take
// effect at once on the model.
func (s *Sim) AddFault(f Fault) (string, error) {
	if err := f.validate(); err != nil {
		return "", err
	}
	now := s.clock.Now()
	ru := &rule{Fault: f, remaining: -1, added: modelTime(now)}
	ru.Servers = append([]string(nil), f.Servers...)
	ru.Instances = append([]string(nil), f.Instances...)
	if f.Count > 0 {
		ru.remaining = f.Count
	}
	switch f.Kind {
	case FaultDropResponse:
		if f.Count == 0 {
			ru.remaining = 1
		}
	case FaultFailServer, FaultFailSSM:
		ru.remaining = 1
		if f.Times > 0 {
			ru.remaining = f.Times
		}
		if f.Always {
			ru.remaining = -1
		}
	}
	if f.For > 0 && f.Kind != FaultHoldServers {
		ru.until = now.Add(f.For.D())
		ru.Expiry = formatTime(ru.until)
	}
	ru.Added = formatTime(now)
	switch f.Kind {
	case FaultHoldServers, FaultStallReplication:
		acct, reg, err := s.scopeRegion(f.Account, f.Region)
		if err != nil {
			return "", err
		}
		ru.Account, ru.Region = acct, reg
		var applyErr error
		s.withRegion(acct, reg, func(r *region, now time.Time) {
			for _, id := range f.Servers {
				if r.servers[id] == nil {
					applyErr = fmt.Errorf("server %s does not exist in account %s region %s", id, acct, reg)
					return
				}
			}
			if f.Kind == FaultHoldServers {
				ru.JobID, applyErr = r.holdServers(f, now)
			} else {
				r.stallServers(f, now)
			}
		})
		if applyErr != nil {
			return "", applyErr
		}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.next++
	ru.ID = fmt.Sprintf("fault-%d", s.faults.next)
	s.faults.rules = append(s.faults.rules, ru)
	return ru.ID, nil
}

// scopeRegion resolves a fault's account and region to one DRS.
func (s *Sim) scopeRegion(account, reg string) (string, string, error) {
	if account == "" {
		account = s.defAccount
	}
	if reg != "" {
		return account, reg, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found []string
	for _, r := range s.regions {
		if r.account == account {
			found = append(found, r.name)
		}
	}
	if len(found) == 1 {
		return account, found[0], nil
	}
	sort.Strings(found)
	return "", "", fmt.Errorf("region is required: account %s has regions %v", account, found)
}

// RemoveFault deactivates a fault rule. A hold's job keeps running until its
// time is up, as a real job would; a stall is lifted at once.
func (s *Sim) RemoveFault(id string) bool {
	s.faults.mu.Lock()
	var ru *rule
	for i, x := range s.faults.rules {
		if x.ID == id {
			ru = x
			s.faults.rules = append(s.faults.rules[:i], s.faults.rules[i+1:]...)
			break
		}
	}
	s.faults.mu.Unlock()
	if ru == nil {
		return false
	}
	if ru.Kind == FaultStallReplication {
		s.withRegion(ru.Account, ru.Region, func(r *region, now time.Time) { r.unstallServers(ru.Servers, now) })
	}
	return true
}

// ClearFaults removes every fault rule.
func (s *Sim) ClearFaults() {
	for _, f := range s.Faults() {
		s.RemoveFault(f.ID)
	}
}

// Faults lists the active fault rules with their hit counts.
func (s *Sim) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]Fault, 0, len(s.faults.rules))
	for _, ru := range s.faults.rules {
		f := ru.Fault
		f.Servers = append([]string(nil), ru.Servers...)
		f.Instances = append([]string(nil), ru.Instances...)
		out = append(out, f)
	}
	return out
}

// holdServers creates a foreign job that holds the servers for f.For.
func (r *region) holdServers(f Fault, now time.Time) (string, error) {
	for _, id := range f.Servers {
		if j := r.heldBy(id); j != nil {
			return "", fmt.Errorf("server %s is already held by job %s (%s)", id, j.id, j.status)
		}
	}
	typ := f.JobType
	if typ == "" {
		typ = jobTypeLaunch
	}
	j := &job{id: r.newJobID(), typ: typ, created: now, tags: map[string]string{"drssim:fault": "hold-servers"}, foreign: "hold"}
	j.initiatedBy = initStartDrill
	if typ == jobTypeTerminate {
		j.initiatedBy = initTerminate
	}
	for _, id := range f.Servers {
		ps := &jobServer{sourceServerID: id, launchStatus: launchStatusPending}
		j.servers = append(j.servers, ps)
	}
	r.registerJob(j)
	r.startHeldJob(j, now)
	r.schedule(now.Add(f.For.D()), func(at time.Time) { r.finishHeldJob(j, at) })
	return j.id, nil
}

func (r *region) stallServers(f Fault, now time.Time) {
	state := f.State
	if state == "" {
		state = replStalled
	}
	errStr := f.Error
	if errStr == "" && state == replStalled {
		errStr = "UNSTABLE_NETWORK"
	}
	for _, id := range f.Servers {
		srv := r.servers[id]
		srv.state = state
		srv.stalledSince = now
		srv.replError = errStr
		if state == replDisconnected || state == replStalled {
			srv.lastSeenAt = now
		}
		srv.changed()
	}
	if f.For > 0 {
		ids := append([]string(nil), f.Servers...)
		r.schedule(now.Add(f.For.D()), func(at time.Time) { r.unstallServers(ids, at) })
	}
}

func (r *region) unstallServers(ids []string, now time.Time) {
	for _, id := range ids {
		if srv := r.servers[id]; srv != nil && !srv.stalledSince.IsZero() {
			srv.state = replContinuous
			srv.stalledSince = time.Time{}
			srv.replError = ""
			srv.lastSeenAt = time.Time{}
			srv.lag = 0
			srv.changed()
		}
	}
}
