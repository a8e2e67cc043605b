package drssim

import (
	"encoding/json"
	"sort"
	"time"
)

// StateView is a read-only copy of the whole model at one simulated
// instant: every job ever created (deleted ones included, with their full
// logs and per-server timings) and every recovery instance ever launched
// (terminated ones included). Tests and benchmarks assert on it instead of
// trusting what a client says it did.
type StateView struct {
	Now     time.Time    `json:"now"`
	Regions []RegionView `json:"regions"`
	Faults  []Fault      `json:"faults"`
	// Requests is how many DRS requests each operation received.
	Requests map[string]int64 `json:"requests"`
	// RequestsByOutcome is how many DRS requests each operation received,
	// by how each was answered: "ok", the error type (ConflictException,
	// ThrottlingException, ...), or "no_response" (a dropped connection).
	RequestsByOutcome map[string]map[string]int64 `json:"requestsByOutcome"`
	// RequestsByApp is how many DRS requests each client application
	// sent, by the app ID in its SDK's User-Agent.
	RequestsByApp map[string]int64 `json:"requestsByApp,omitempty"`
	// SNS is what was published to the scenario's SNS topics, oldest first.
	SNS []SNSMessage `json:"sns,omitempty"`
	// EC2SSMRequests is how many EC2 and SSM requests each action
	// received ("ec2:DescribeInstances", "ssm:SendCommand", ...).
	EC2SSMRequests map[string]int64 `json:"ec2ssmRequests,omitempty"`
}

// RegionView is one account and region.
type RegionView struct {
	Account     string         `json:"account"`
	Region      string         `json:"region"`
	Initialized bool           `json:"initialized"`
	Servers     []SourceServer `json:"servers"`
	Jobs        []JobView      `json:"jobs"` // creation order, oldest first
	Instances   []InstanceView `json:"instances"`
	ActiveJobs  int            `json:"activeJobs"`
	// ServersInActiveJobs counts participating servers of active jobs.
	ServersInActiveJobs int `json:"serversInActiveJobs"`
	// Commands and Automations are SSM's (ssm.go), oldest first.
	Commands    []CommandView    `json:"commands"`
	Automations []AutomationView `json:"automations"`
}

// JobView is a job with what the API does not show: when it started, when
// each server started and finished, and whether it was deleted.
type JobView struct {
	Job
	Started time.Time        `json:"started,omitzero"`
	Created time.Time        `json:"created"`
	Ended   time.Time        `json:"ended,omitzero"`
	Deleted bool             `json:"deleted,omitempty"`
	Foreign bool             `json:"foreign,omitempty"` // created by the scenario or a fault, not by a client
	IsDrill bool             `json:"isDrill,omitempty"`
	Servers []ServerTimeline `json:"servers"`
	Log     []JobLog         `json:"log"`
}

// MarshalJSON writes the job's wire fields followed by the model's own.
// Without it Job's MarshalJSON would be promoted to JobView and silently
// drop everything the model adds (timings, servers, log).
func (v JobView) MarshalJSON() ([]byte, error) {
	job, err := json.Marshal(v.Job)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(struct {
		Started time.Time        `json:"started,omitzero"`
		Created time.Time        `json:"created"`
		Ended   time.Time        `json:"ended,omitzero"`
		Deleted bool             `json:"deleted,omitempty"`
		Foreign bool             `json:"foreign,omitempty"`
		IsDrill bool             `json:"isDrill,omitempty"`
		Servers []ServerTimeline `json:"servers"`
		Log     []JobLog         `json:"log"`
	}{v.Started, v.Created, v.Ended, v.Deleted, v.Foreign, v.IsDrill, v.Servers, v.Log})
	if err != nil {
		return nil, err
	}
	return append(append(job[:len(job)-1], ','), extra[1:]...), nil
}

// ServerTimeline is one participating server of a job.
type ServerTimeline struct {
	SourceServerID     string    `json:"sourceServerID"`
	RecoveryInstanceID string    `json:"recoveryInstanceID,omitempty"`
	LaunchStatus       string    `json:"launchStatus"`
	Started            time.Time `json:"started,omitzero"`
	Finished           time.Time `json:"finished,omitzero"`
	// Replaced lists previous drill instances terminated inside this job.
	Replaced []string `json:"replaced,omitempty"`
}

// InstanceView is a recovery instance, including ones DRS no longer lists.
type InstanceView struct {
	RecoveryInstance
	Launched   time.Time `json:"launched"`
	Terminated time.Time `json:"terminated,omitzero"`
	Deleted    bool      `json:"deleted,omitempty"` // no longer known to DRS
	// EC2 is the instance as EC2 and SSM see it (ec2.go).
	EC2 InstanceEC2View `json:"ec2"`
}

// StateFilter narrows a StateView to one account and/or region.
type StateFilter struct {
	Account, Region string
}

// State returns the model as it is now.
func (s *Sim) State(f StateFilter) StateView {
	s.mu.RLock()
	regs := make([]*region, 0, len(s.regions))
	for _, r := range s.regions {
		if (f.Account == "" || r.account == f.Account) && (f.Region == "" || r.name == f.Region) {
			regs = append(regs, r)
		}
	}
	s.mu.RUnlock()
	sort.Slice(regs, func(i, j int) bool {
		if regs[i].account != regs[j].account {
			return regs[i].account < regs[j].account
		}
		return regs[i].name < regs[j].name
	})
	view := StateView{Now: s.clock.Now(), Faults: s.Faults(), Requests: s.OperationCounts(),
		RequestsByOutcome: s.OutcomeCounts(), RequestsByApp: s.AppCounts(), SNS: s.SNSMessages(),
		EC2SSMRequests: s.EC2SSMCounts()}
	for _, r := range regs {
		s.withRegion(r.account, r.name, func(r *region, now time.Time) {
			view.Regions = append(view.Regions, r.view(now))
		})
	}
	return view
}

func (r *region) view(now time.Time) RegionView {
	v := RegionView{Account: r.account, Region: r.name, Initialized: r.initialized,
		Servers: []SourceServer{}, Jobs: []JobView{}, Instances: []InstanceView{},
		ActiveJobs: r.activeJobs, ServersInActiveJobs: r.activeSrvrs}
	for _, id := range r.serverIDs {
		v.Servers = append(v.Servers, r.renderServer(r.servers[id], now))
	}
	for _, j := range r.jobList {
		jv := JobView{Job: r.renderJob(j), Created: j.created, Started: j.started, Ended: j.ended,
			Deleted: j.deleted, Foreign: j.foreign != "", IsDrill: j.isDrill, Log: []JobLog{}}
		for _, ps := range j.servers {
			jv.Servers = append(jv.Servers, ServerTimeline{SourceServerID: ps.sourceServerID,
				RecoveryInstanceID: ps.recoveryInstanceID, LaunchStatus: ps.launchStatus,
				Started: ps.startedAt, Finished: ps.finishedAt, Replaced: ps.replaces})
		}
		for _, li := range j.log {
			jv.Log = append(jv.Log, JobLog{LogDateTime: formatTime(li.at), Event: li.event, EventData: li.data})
		}
		v.Jobs = append(v.Jobs, jv)
	}
	for _, in := range r.instList {
		v.Instances = append(v.Instances, InstanceView{RecoveryInstance: r.renderInstance(in, now),
			Launched: in.launchedAt, Terminated: in.terminatedAt, Deleted: in.deleted, EC2: r.ec2View(in, now)})
	}
	v.Commands, v.Automations = r.ssmView(now)
	return v
}

// Advance moves a manual clock forward by d and applies every transition
// that became due. It fails on any other clock.
func (s *Sim) Advance(d time.Duration) error {
	if s.manual == nil {
		return errNotManual
	}
	s.manual.Advance(d)
	return nil
}

// NextEventAt reports the earliest scheduled transition over all regions,
// so a test can advance the clock exactly to the next thing that happens.
func (s *Sim) NextEventAt() (time.Time, bool) {
	s.mu.RLock()
	regs := make([]*region, 0, len(s.regions))
	for _, r := range s.regions {
		regs = append(regs, r)
	}
	s.mu.RUnlock()
	var best time.Time
	found := false
	for _, r := range regs {
		r.mu.Lock()
		r.advance(s.clock.Now())
		t, ok := r.nextEventAt()
		r.mu.Unlock()
		if ok && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	return best, found
}
