package drssim

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed scenarios/*.yaml
var embedded embed.FS

// Scenario is the starting world of a simulator: accounts, regions, source
// servers, jobs already running, quotas, throttling, timings and faults. It
// is read from YAML (see docs/drssim.md and the embedded scenarios).
type Scenario struct {
	Name           string            `yaml:"name" json:"name"`
	Description    string            `yaml:"description,omitempty" json:"description,omitempty"`
	DefaultAccount string            `yaml:"defaultAccount" json:"defaultAccount"`
	AccessKeys     map[string]string `yaml:"accessKeys,omitempty" json:"accessKeys,omitempty"`
	Quotas         Quotas            `yaml:"quotas,omitempty" json:"quotas"`
	Throttle       Throttle          `yaml:"throttle,omitempty" json:"throttle"`
	Durations      Durations         `yaml:"durations,omitempty" json:"durations"`
	// KeepDrillInstances switches off drill replacement: when true, a new
	// drill leaves the server's previous drill instance running (strict
	// mode, docs/drs.md §13). The default replaces it inside the new job.
	KeepDrillInstances bool          `yaml:"keepDrillInstances,omitempty" json:"keepDrillInstances,omitempty"`
	Regions            []RegionSpec  `yaml:"regions,omitempty" json:"regions,omitempty"`
	Generate           *GenerateSpec `yaml:"generate,omitempty" json:"generate,omitempty"`
	Faults             []Fault       `yaml:"faults,omitempty" json:"faults,omitempty"`
	// Roles are the IAM roles the simulator's STS lets callers assume,
	// each with its trust (see RoleSpec).
	Roles []RoleSpec `yaml:"roles,omitempty" json:"roles,omitempty"`
	// SNSTopics are the ARNs of the SNS topics the simulator's SNS
	// accepts Publish for (sns.go), arn:aws:sns:REGION:ACCOUNT:NAME.
	SNSTopics []string `yaml:"snsTopics,omitempty" json:"snsTopics,omitempty"`
	// SSM sets what the simulator's SSM answers for each document
	// (ssm.go): the outcome, output and duration of Run Command
	// invocations and Automation executions.
	SSM *SSMSpec `yaml:"ssm,omitempty" json:"ssm,omitempty"`
}

// Quotas are DRS's job limits, per account and region.
type Quotas struct {
	ServersPerJob       int `yaml:"serversPerJob,omitempty" json:"serversPerJob"`
	ActiveJobs          int `yaml:"activeJobs,omitempty" json:"activeJobs"`
	ServersInActiveJobs int `yaml:"serversInActiveJobs,omitempty" json:"serversInActiveJobs"`
}

// Throttle is the token bucket every account and region gets, in requests
// per real second. Rate 0 takes the default; a negative rate switches
// throttling off.
type Throttle struct {
	Rate  float64 `yaml:"rate,omitempty" json:"rate"`
	Burst int     `yaml:"burst,omitempty" json:"burst"`
}

// Durations are the ranges simulated durations are drawn from
// (docs/drs.md §19). Each is [min, max].
type Durations struct {
	Pending          DurRange `yaml:"pending,omitempty" json:"pending"`
	Cleanup          DurRange `yaml:"cleanup,omitempty" json:"cleanup"`
	Snapshot         DurRange `yaml:"snapshot,omitempty" json:"snapshot"`
	PreviousSnapshot DurRange `yaml:"previousSnapshot,omitempty" json:"previousSnapshot"`
	Conversion       DurRange `yaml:"conversion,omitempty" json:"conversion"`
	Launch           DurRange `yaml:"launch,omitempty" json:"launch"`
	Terminate        DurRange `yaml:"terminate,omitempty" json:"terminate"`
	// StatusChecks is how long EC2's status checks of a recovery
	// instance stay "initializing" after it is running (ec2.go), and
	// SSMAgent how long after it is running its SSM agent registers
	// (ssm.go); both times WindowsFactor for Windows servers.
	StatusChecks DurRange `yaml:"statusChecks,omitempty" json:"statusChecks"`
	SSMAgent     DurRange `yaml:"ssmAgent,omitempty" json:"ssmAgent"`
	// FailbackSync is how long the failback replication ReverseReplication
	// starts takes to be ready for a failback launch (failback.go).
	FailbackSync DurRange `yaml:"failbackSync,omitempty" json:"failbackSync"`
	// WindowsFactor multiplies conversion time for Windows servers.
	WindowsFactor float64 `yaml:"windowsFactor,omitempty" json:"windowsFactor"`
}

type durRange = DurRange

// DurRange is a [min, max] range of simulated durations, written in YAML as
// a two-element list: [30s, 2m].
type DurRange struct {
	Min Duration `json:"min"`
	Max Duration `json:"max"`
}

// UnmarshalYAML reads [min, max] or a single duration.
func (d *DurRange) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var v Duration
		if err := n.Decode(&v); err != nil {
			return err
		}
		d.Min, d.Max = v, v
		return nil
	case yaml.SequenceNode:
		if len(n.Content) != 2 {
			return fmt.Errorf("line %d: a duration range is [min, max], got %d values", n.Line, len(n.Content))
		}
		if err := n.Content[0].Decode(&d.Min); err != nil {
			return err
		}
		if err := n.Content[1].Decode(&d.Max); err != nil {
			return err
		}
		if d.Max < d.Min {
			return fmt.Errorf("line %d: duration range [%s, %s] has max below min", n.Line, d.Min, d.Max)
		}
		return nil
	}
	return fmt.Errorf("line %d: a duration range is [min, max], e.g. [30s, 2m]", n.Line)
}

// MarshalYAML writes [min, max], or one duration when they are equal.
func (d DurRange) MarshalYAML() (any, error) {
	if d.Min == d.Max {
		return d.Min, nil
	}
	return []Duration{d.Min, d.Max}, nil
}

// IsZero reports whether the range was left out.
func (d DurRange) IsZero() bool { return d.Min == 0 && d.Max == 0 }

// Duration is a time.Duration written as Go durations ("90s", "2m30s") with
// an extra "d" unit for days ("3d").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses "90s", "2m", "1h30m" and "3d".
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") && !strings.HasSuffix(s, "nd") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q: use forms like 90s, 5m, 2h or 3d", s)
		}
		return Duration(n * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid duration %q: use forms like 90s, 5m, 2h or 3d", s)
	}
	return Duration(v), nil
}

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as UnmarshalYAML reads it ("1h30m0s").
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalJSON reads a duration string ("90s") or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil || f < 0 {
		return fmt.Errorf("invalid duration %s: use a string like \"90s\" or a number of seconds", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// RegionSpec is one account and region of a scenario.
type RegionSpec struct {
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
	Region  string `yaml:"region" json:"region"`
	// Uninitialized makes every operation but InitializeService and the tag
	// operations answer UninitializedAccountException until InitializeService.
	Uninitialized bool         `yaml:"uninitialized,omitempty" json:"uninitialized,omitempty"`
	Servers       []ServerSpec `yaml:"servers,omitempty" json:"servers,omitempty"`
	Jobs          []JobSpec    `yaml:"jobs,omitempty" json:"jobs,omitempty"`
	// History seeds the region with completed jobs from before the start.
	History *HistorySpec `yaml:"history,omitempty" json:"history,omitempty"`
	// CompletedJobs are completed jobs from before the start, each as it
	// was (a rehearsal twin copies an account's; scenario_twin.go).
	CompletedJobs []CompletedJobSpec `yaml:"completedJobs,omitempty" json:"completedJobs,omitempty"`
}

// HistorySpec seeds a region with COMPLETED jobs from before the scenario starts.
type HistorySpec struct {
	Jobs          int      `yaml:"jobs" json:"jobs"`                                       // how many completed jobs
	Span          Duration `yaml:"span,omitempty" json:"span,omitempty"`                   // spread evenly over this long before the start (default 2160h = 90 days)
	ServersPerJob int      `yaml:"serversPerJob,omitempty" json:"serversPerJob,omitempty"` // participating servers per job, taken from the region's servers (default 5, at most the region's servers)
}

// Limits and defaults of a HistorySpec.
const (
	maxHistoryJobs          = 100_000 // about 120 MB of model, more once listed
	maxHistorySpan          = 10 * 365 * 24 * time.Hour
	defaultHistorySpan      = 90 * 24 * time.Hour
	defaultHistoryServers   = 5
	defaultServersPerJobMax = 100 // the default quota of servers per job
)

// ServerSpec describes one source server.
type ServerSpec struct {
	ID           string            `yaml:"id" json:"id"`
	Hostname     string            `yaml:"hostname,omitempty" json:"hostname,omitempty"`
	OS           string            `yaml:"os,omitempty" json:"os,omitempty"` // linux | windows
	OSString     string            `yaml:"osString,omitempty" json:"osString,omitempty"`
	CPUs         int64             `yaml:"cpus,omitempty" json:"cpus,omitempty"`
	RAMGiB       int64             `yaml:"ramGiB,omitempty" json:"ramGiB,omitempty"`
	Disks        []DiskSpec        `yaml:"disks,omitempty" json:"disks,omitempty"`
	State        string            `yaml:"state,omitempty" json:"state,omitempty"` // DataReplicationState, default CONTINUOUS
	Lag          Duration          `yaml:"lag,omitempty" json:"lag,omitempty"`
	Error        string            `yaml:"error,omitempty" json:"error,omitempty"` // DataReplicationErrorString when STALLED
	AddedAgo     Duration          `yaml:"addedAgo,omitempty" json:"addedAgo,omitempty"`
	Tags         map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Disposition  string            `yaml:"launchDisposition,omitempty" json:"launchDisposition,omitempty"`
	InstanceType string            `yaml:"instanceType,omitempty" json:"instanceType,omitempty"`
	// CopyPrivateIP and RightSizing start the server's launch
	// configuration with copyPrivateIp and
	// targetInstanceTypeRightSizingMethod (NONE, BASIC or IN_AWS; default
	// BASIC, as DRS's own default, docs/drs.md §16).
	CopyPrivateIP bool   `yaml:"copyPrivateIp,omitempty" json:"copyPrivateIp,omitempty"`
	RightSizing   string `yaml:"rightSizing,omitempty" json:"rightSizing,omitempty"`
	// Origin makes the server an EC2 instance of another region (in-AWS
	// disaster recovery): its recovery instances can be reverse-replicated
	// (failback.go).
	Origin *OriginSpec `yaml:"origin,omitempty" json:"origin,omitempty"`
	// RecoveryInstances already launched for this server.
	RecoveryInstances []InstanceSpec `yaml:"recoveryInstances,omitempty" json:"recoveryInstances,omitempty"`
	// ServerDetail: what a rehearsal twin copies from a real server
	// beyond the above (scenario_twin.go); each left out takes the
	// simulator's default.
	ServerDetail `yaml:",inline"`
}

// DiskSpec is one disk of a source server.
type DiskSpec struct {
	Device  string `yaml:"device" json:"device"`
	SizeGiB int64  `yaml:"sizeGiB,omitempty" json:"sizeGiB,omitempty"`
	// Bytes is the exact size, in place of SizeGiB.
	Bytes int64 `yaml:"bytes,omitempty" json:"bytes,omitempty"`
}

// InstanceSpec is a recovery instance that exists when the scenario starts.
type InstanceSpec struct {
	ID          string   `yaml:"id" json:"id"`
	Drill       bool     `yaml:"drill" json:"drill"`
	LaunchedAgo Duration `yaml:"launchedAgo,omitempty" json:"launchedAgo,omitempty"`
	JobID       string   `yaml:"jobID,omitempty" json:"jobID,omitempty"`
	// PointInTimeAgo is how old the data it was launched from is (default:
	// two minutes before its launch).
	PointInTimeAgo Duration `yaml:"pointInTimeAgo,omitempty" json:"pointInTimeAgo,omitempty"`
	// State is its EC2 state (default RUNNING).
	State string            `yaml:"state,omitempty" json:"state,omitempty"`
	Tags  map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// FailbackState is its failback state (default FAILBACK_NOT_STARTED);
	// FAILBACK_READY_FOR_LAUNCH seeds an instance whose failback
	// replication has caught up (failback.go).
	FailbackState string `yaml:"failbackState,omitempty" json:"failbackState,omitempty"`
}

// JobSpec is a job that is already active when the scenario starts. A
// TERMINATE job names recovery instances; a LAUNCH job names source servers
// and only holds them (it launches nothing) until it ends.
type JobSpec struct {
	ID                string   `yaml:"id" json:"id"`
	Type              string   `yaml:"type" json:"type"`
	InitiatedBy       string   `yaml:"initiatedBy,omitempty" json:"initiatedBy,omitempty"`
	Status            string   `yaml:"status,omitempty" json:"status,omitempty"` // PENDING or STARTED (default)
	CreatedAgo        Duration `yaml:"createdAgo,omitempty" json:"createdAgo,omitempty"`
	EndsAfter         Duration `yaml:"endsAfter" json:"endsAfter"`
	RecoveryInstances []string `yaml:"recoveryInstances,omitempty" json:"recoveryInstances,omitempty"`
	Servers           []string `yaml:"servers,omitempty" json:"servers,omitempty"`
	// Tags are the job's tags (DescribeJobs shows them).
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// GenerateSpec creates many servers spread over accounts, regions and tiers
// (the scale scenario).
type GenerateSpec struct {
	Servers  int      `yaml:"servers" json:"servers"`
	Accounts []string `yaml:"accounts" json:"accounts"`
	Regions  []string `yaml:"regions" json:"regions"`
	Tiers    []string `yaml:"tiers" json:"tiers"`
	// WindowsEvery makes every n-th server a Windows server (0: none).
	WindowsEvery int `yaml:"windowsEvery,omitempty" json:"windowsEvery,omitempty"`
}

// ScenarioNames lists the embedded scenarios.
func ScenarioNames() []string {
	ents, _ := embedded.ReadDir("scenarios")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// LoadScenario returns an embedded scenario by name ("three-tier", "scale")
// or reads a YAML file when nameOrPath names one.
func LoadScenario(nameOrPath string) (*Scenario, error) {
	if nameOrPath == "" {
		nameOrPath = "three-tier"
	}
	var data []byte
	src := nameOrPath
	if b, err := embedded.ReadFile(path.Join("scenarios", nameOrPath+".yaml")); err == nil {
		data = b
		src = "scenario " + nameOrPath
	} else {
		b, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("scenario %q is neither an embedded scenario (%s) nor a readable file: %w",
				nameOrPath, strings.Join(ScenarioNames(), ", "), err)
		}
		data = b
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return sc, nil
}

// ParseScenario decodes and validates a scenario. Unknown keys are errors.
func ParseScenario(data []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("invalid scenario YAML: %w", err)
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// Validate checks the scenario for mistakes and names each one.
func (sc *Scenario) Validate() error {
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if sc.DefaultAccount != "" && !accountRe.MatchString(sc.DefaultAccount) {
		add("defaultAccount %q: must be a 12-digit AWS account ID", sc.DefaultAccount)
	}
	for key, acct := range sc.AccessKeys {
		if !accountRe.MatchString(acct) {
			add("accessKeys[%s] = %q: must be a 12-digit AWS account ID", key, acct)
		}
	}
	seenRegion := map[string]bool{}
	for i, rs := range sc.Regions {
		where := fmt.Sprintf("regions[%d]", i)
		if rs.Region == "" {
			add("%s: region is required (e.g. us-east-1)", where)
		}
		if rs.Account != "" && !accountRe.MatchString(rs.Account) {
			add("%s: account %q must be a 12-digit AWS account ID", where, rs.Account)
		}
		k := rs.Account + "/" + rs.Region
		if seenRegion[k] {
			add("%s: account %s region %s appears twice; merge them", where, rs.Account, rs.Region)
		}
		seenRegion[k] = true
		servers := map[string]bool{}
		instances := map[string]bool{}
		instServer := map[string]string{} // recovery instance -> its source server
		for j, s := range rs.Servers {
			w := fmt.Sprintf("%s.servers[%d]", where, j)
			if !validSourceServerID(s.ID) {
				add("%s: id %q must look like s-0123456789abcdef0 (s- and 17 hex digits)", w, s.ID)
			}
			if servers[s.ID] {
				add("%s: duplicate server id %s", w, s.ID)
			}
			servers[s.ID] = true
			if s.State != "" && !replicationStates[s.State] {
				add("%s: state %q is not a DRS DataReplicationState", w, s.State)
			}
			if s.Error != "" && !replicationErrors[s.Error] {
				add("%s: error %q is not a DRS DataReplicationErrorString", w, s.Error)
			}
			if s.OS != "" && s.OS != "linux" && s.OS != "windows" {
				add("%s: os %q must be linux or windows", w, s.OS)
			}
			if s.Disposition != "" && !launchDispositions[s.Disposition] {
				add("%s: launchDisposition %q must be STARTED or STOPPED", w, s.Disposition)
			}
			switch s.RightSizing {
			case "", "NONE", "BASIC", "IN_AWS":
			default:
				add("%s: rightSizing %q must be NONE, BASIC or IN_AWS", w, s.RightSizing)
			}
			validateServerDetail(w, s, add)
			validateOrigin(w, s.Origin, add)
			for _, in := range s.RecoveryInstances {
				if !validRecoveryInstanceID(in.ID) {
					add("%s: recovery instance id %q must look like i-0123456789abcdef0", w, in.ID)
				}
				if instances[in.ID] {
					add("%s: duplicate recovery instance id %s", w, in.ID)
				}
				instances[in.ID] = true
				if in.FailbackState != "" && !failbackStates[in.FailbackState] {
					add("%s: recovery instance %s: failbackState %q is not a DRS FailbackState (%s)", w, in.ID, in.FailbackState, failbackStateList)
				}
				instServer[in.ID] = s.ID
			}
		}
		if h := rs.History; h != nil {
			w := where + ".history"
			if h.Jobs < 0 || h.Jobs > maxHistoryJobs {
				add("%s: jobs %d must be between 0 and %d", w, h.Jobs, maxHistoryJobs)
			}
			if h.Span < 0 || h.Span.D() > maxHistorySpan {
				add("%s: span %s must be positive and at most %s (ten years); leave it out for 90 days", w, h.Span, Duration(maxHistorySpan))
			}
			perJob := sc.Quotas.ServersPerJob
			if perJob <= 0 {
				perJob = defaultServersPerJobMax
			}
			if h.ServersPerJob < 0 || h.ServersPerJob > perJob {
				add("%s: serversPerJob %d must be between 1 and %d (the quota of servers per job); leave it out for %d", w, h.ServersPerJob, perJob, defaultHistoryServers)
			}
		}
		validateCompletedJobs(where, rs, add)
		held := map[string]string{}
		for j, js := range rs.Jobs {
			w := fmt.Sprintf("%s.jobs[%d]", where, j)
			if !validJobID(js.ID) {
				add("%s: id %q must look like drsjob-0123456789abcdef0", w, js.ID)
			}
			if js.Type != jobTypeLaunch && js.Type != jobTypeTerminate {
				add("%s: type %q must be LAUNCH or TERMINATE", w, js.Type)
			}
			if js.Status != "" && js.Status != jobStatusPending && js.Status != jobStatusStarted {
				add("%s: status %q must be PENDING or STARTED (completed jobs need no spec)", w, js.Status)
			}
			if js.EndsAfter <= 0 {
				add("%s: endsAfter is required: how long after the start the job completes (e.g. 4m)", w)
			}
			if js.Type == jobTypeTerminate && (len(js.RecoveryInstances) == 0 || len(js.Servers) > 0) {
				add("%s: a TERMINATE job lists recoveryInstances (and no servers)", w)
			}
			if js.Type == jobTypeLaunch && (len(js.Servers) == 0 || len(js.RecoveryInstances) > 0) {
				add("%s: a LAUNCH job lists servers (and no recoveryInstances)", w)
			}
			for _, id := range js.RecoveryInstances {
				if !instances[id] {
					add("%s: recovery instance %s is not defined under any server of this region", w, id)
					continue
				}
				// A TERMINATE job holds the instance's source server.
				if other, ok := held[instServer[id]]; ok && other != js.ID {
					add("%s: recovery instance %s: its server %s is already held by job %s; DRS allows one active job per server", w, id, instServer[id], other)
				}
				held[instServer[id]] = js.ID
			}
			for _, id := range js.Servers {
				if !servers[id] {
					add("%s: server %s is not defined in this region", w, id)
				}
				if other, ok := held[id]; ok {
					add("%s: server %s is already held by job %s; DRS allows one active job per server", w, id, other)
				}
				held[id] = js.ID
			}
		}
	}
	if g := sc.Generate; g != nil {
		if g.Servers < 0 {
			add("generate.servers must be 0 or more")
		}
		if g.Servers > 0 && (len(g.Accounts) == 0 || len(g.Regions) == 0) {
			add("generate needs at least one account and one region")
		}
		for _, a := range g.Accounts {
			if !accountRe.MatchString(a) {
				add("generate.accounts: %q must be a 12-digit AWS account ID", a)
			}
		}
	}
	for i := range sc.Faults {
		if err := sc.Faults[i].validate(); err != nil {
			add("faults[%d]: %v", i, err)
		}
	}
	if sc.SSM != nil {
		sc.SSM.validate(add)
	}
	roleARNs := map[string]bool{}
	for i, rs := range sc.Roles {
		if err := rs.validate(); err != nil {
			add("roles[%d]: %v", i, err)
			continue
		}
		arn := rs.arn(sc.DefaultAccount)
		if roleARNs[arn] {
			add("roles[%d]: role %s appears twice; merge them", i, arn)
		}
		roleARNs[arn] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid scenario:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}
