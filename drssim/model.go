package drssim

import (
	"container/heap"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// region is one isolated DRS: one account in one region. Everything in it is
// guarded by mu; the model only ever moves forward through advance.
type region struct {
	mu      sync.Mutex
	account string
	name    string

	initialized bool
	cfg         *config // shared, read-only after New

	servers     map[string]*server
	serverIDs   []string // sorted
	jobs        map[string]*job
	jobList     []*job // creation order, including deleted jobs (for the model view); addJob
	instances   map[string]*instance
	instList    []*instance // creation order, including terminated ones
	onDemand    map[string][]*snapshot
	hold        map[string]*job // source server ID -> active job holding it
	instHold    map[string]*job // recovery instance ID -> active job holding it
	activeJobs  int
	activeSrvrs int

	queue eventQueue
	seq   uint64
	rng   *rand.Rand
	now   time.Time // the simulated time the model has been advanced to
	// settled: the world built from the scenario is at the model's time
	// precision (settle).
	settled bool

	limiter *rate.Limiter
	faults  *faultSet

	// ec2rng draws EC2 and SSM durations and IDs (ec2.go, ssm.go), apart
	// from rng so that DRS's draws are the same with or without them.
	ec2rng *rand.Rand
	ssm    ssmState
}

type server struct {
	id           string
	hostname     string
	fqdn         string
	osString     string
	windows      bool
	cpus         int64
	ramBytes     int64
	disks        []diskSpec
	ips          []string
	mac          string
	tags         map[string]string
	instanceType string

	state        string // DataReplicationState
	lag          time.Duration
	stalledSince time.Time
	replError    string
	addedAt      time.Time
	firstByteAt  time.Time
	lastSeenAt   time.Time // zero means "now" (agent heartbeating)

	recoveryInstanceID string
	lastLaunchResult   string
	lastLaunch         *lastLaunch

	launchCfg launchConfig

	// origin is where an EC2-origin (in-AWS) server runs: its
	// sourceCloudProperties; nil for an on-premises server (failback.go).
	origin *origin
	// reversedArn is the source server replicating in the other
	// direction after ReverseReplication of one of its recovery instances.
	reversedArn string

	// enc is the server's JSON as DescribeSourceServers lists it, with the
	// members that move with the clock as holes (rendercache.go). Whatever
	// changes a member of the server's shape calls changed.
	enc serverEnc
}

type diskSpec struct {
	device string
	bytes  int64
}

type lastLaunch struct {
	apiCall time.Time
	jobID   string
	typ     string // DRILL | RECOVERY
	status  string // LaunchStatus
}

type launchConfig struct {
	name              string
	templateID        string
	disposition       string
	rightSizing       string
	copyPrivateIP     bool
	copyTags          bool
	osByol            bool
	postLaunchEnabled bool
	launchIntoID      string
}

type job struct {
	id          string
	typ         string // LAUNCH | TERMINATE
	initiatedBy string
	status      string
	created     time.Time
	started     time.Time
	ended       time.Time
	tags        map[string]string
	servers     []*jobServer
	log         []logItem
	deleted     bool
	foreign     string // non-empty: created by the scenario or a fault rule, not by a client
	isDrill     bool
	history     bool // seeded as completed history (HistorySpec): holds nothing, counts against no quota

	// idx is the job's index in region.jobList.
	idx int
	// enc is the job's JSON as DescribeJobs lists it, nil until encoded
	// (rendercache.go). Whatever changes a member of the job's shape
	// calls changed.
	enc []byte
}

type jobServer struct {
	sourceServerID     string
	recoveryInstanceID string
	launchStatus       string
	snapshotID         string // requested PIT snapshot
	startedAt          time.Time
	finishedAt         time.Time
	replaces           []string // drill instances terminated inside this job
}

type logItem struct {
	at    time.Time
	event string
	data  *JobLogEventData
}

type instance struct {
	id            string
	sourceServer  string
	jobID         string
	isDrill       bool
	ec2State      string
	pitTime       time.Time
	launchedAt    time.Time
	terminatedAt  time.Time
	deleted       bool // no longer known to DRS
	disconnected  bool
	tags          map[string]string
	originEnv     string
	failbackState string
	reversedArn   string
	// originAZ is the availability zone of the server it was launched
	// from (its origin's for an EC2-origin server); failbackRepl the
	// state of its failback replication (NOT_STARTED until
	// ReverseReplication or a failback client starts it); failbackGen
	// moves when StopFailback ends a replication, so that its scheduled
	// completion does nothing (failback.go).
	originAZ     string
	failbackRepl string
	failbackGen  int

	// EC2 and SSM (ec2.go, ssm.go): when EC2 had it running (zero: not
	// yet, or never), when its status checks pass, and when its SSM agent
	// registers. Status and agent are read from these times at the
	// request's simulated time.
	runningAt time.Time
	checksAt  time.Time
	agentAt   time.Time
}

type snapshot struct {
	id       string
	server   string
	expected time.Time
	taken    time.Time
	ebs      []string
}

// event is one scheduled transition of the model.
type event struct {
	at  time.Time
	seq uint64
	fn  func(at time.Time)
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// timePrecision is the precision of every time the model stores: the
// microsecond, the precision date-times are written with (formatTime). A
// date-time a client reads back is then exactly the stored time, so it can
// be sent back as a filter bound (DescribeJobs fromDate and toDate select
// the job whose creationDateTime they are); the filters compare at this
// precision too.
//
// Times enter the model in three places, each of which truncates: advance
// (the clock, which every request and observation goes through), schedule
// (the time of a transition, which its handler stores) and settle (the world
// the scenario built at the clock's start time). Times derived from these
// by a drawn duration go through schedule; dataTime truncates the one that
// subtracts a replication lag.
const timePrecision = time.Microsecond

// modelTime returns t at the model's precision.
func modelTime(t time.Time) time.Time { return t.Truncate(timePrecision) }

func (r *region) schedule(at time.Time, fn func(at time.Time)) {
	r.seq++
	heap.Push(&r.queue, &event{at: modelTime(at), seq: r.seq, fn: fn})
}

// advance applies every transition due at or before now, in time order.
// Transitions schedule their successors relative to their own time, so the
// model is the same whether it is observed every millisecond or once an hour.
func (r *region) advance(now time.Time) {
	if !r.settled {
		r.settle()
	}
	now = modelTime(now)
	for len(r.queue) > 0 && !r.queue[0].at.After(now) {
		e := heap.Pop(&r.queue).(*event)
		if e.at.After(r.now) {
			r.now = e.at
		}
		e.fn(e.at)
	}
	if now.After(r.now) {
		r.now = now
	}
}

// settle brings the times of the world built from the scenario (build.go),
// at the clock's start time with the clock's precision, to the model's
// precision. It runs once, before the region is first advanced, which every
// request and observation does first.
func (r *region) settle() {
	r.settled = true
	r.now = modelTime(r.now)
	for _, s := range r.servers {
		s.changed()
		s.addedAt, s.firstByteAt = modelTime(s.addedAt), modelTime(s.firstByteAt)
		s.stalledSince, s.lastSeenAt = modelTime(s.stalledSince), modelTime(s.lastSeenAt)
		if s.lastLaunch != nil {
			s.lastLaunch.apiCall = modelTime(s.lastLaunch.apiCall)
		}
	}
	for _, j := range r.jobList {
		j.changed()
		j.created, j.started, j.ended = modelTime(j.created), modelTime(j.started), modelTime(j.ended)
		for _, ps := range j.servers {
			ps.startedAt, ps.finishedAt = modelTime(ps.startedAt), modelTime(ps.finishedAt)
		}
		for i := range j.log {
			j.log[i].at = modelTime(j.log[i].at)
		}
	}
	for _, in := range r.instList {
		in.pitTime, in.launchedAt, in.terminatedAt = modelTime(in.pitTime), modelTime(in.launchedAt), modelTime(in.terminatedAt)
		in.runningAt, in.checksAt, in.agentAt = modelTime(in.runningAt), modelTime(in.checksAt), modelTime(in.agentAt)
	}
	for _, snaps := range r.onDemand {
		for _, sn := range snaps {
			sn.expected, sn.taken = modelTime(sn.expected), modelTime(sn.taken)
		}
	}
}

// nextEventAt reports when the next scheduled transition happens.
func (r *region) nextEventAt() (time.Time, bool) {
	if len(r.queue) == 0 {
		return time.Time{}, false
	}
	return r.queue[0].at, true
}

func (r *region) arn(kind, id string) string {
	return "arn:aws:drs:" + r.name + ":" + r.account + ":" + kind + "/" + id
}

const hexDigits = "0123456789abcdef"

func (r *region) hexID(prefix string, n int) string { return hexIDFrom(r.rng, prefix, n) }

// hexIDFrom returns prefix followed by n hex digits drawn from rng.
func hexIDFrom(rng *rand.Rand, prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	for i := 0; i < n; i++ {
		b = append(b, hexDigits[rng.IntN(16)])
	}
	return string(b)
}

func (r *region) newJobID() string {
	for {
		id := r.hexID("drsjob-", 17)
		if _, dup := r.jobs[id]; !dup {
			return id
		}
	}
}

func (r *region) newInstanceID() string {
	for {
		id := r.hexID("i-", 17)
		if _, dup := r.instances[id]; !dup {
			return id
		}
	}
}

// draw returns a duration drawn uniformly from the range.
func (r *region) draw(d durRange) time.Duration {
	if d.Max <= d.Min {
		return d.Min.D()
	}
	return d.Min.D() + time.Duration(r.rng.Int64N(int64(d.Max.D()-d.Min.D())+1))
}

func (r *region) addServer(s *server) {
	r.servers[s.id] = s
	i := sort.SearchStrings(r.serverIDs, s.id)
	r.serverIDs = append(r.serverIDs, "")
	copy(r.serverIDs[i+1:], r.serverIDs[i:])
	r.serverIDs[i] = s.id
}

func (r *region) addInstance(in *instance) {
	r.instances[in.id] = in
	r.instList = append(r.instList, in)
}

// activeInstances returns the live (known to DRS) instances sorted by ID.
func (r *region) liveInstanceIDs() []string {
	ids := make([]string, 0, len(r.instances))
	for id, in := range r.instances {
		if !in.deleted {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (r *region) logJob(j *job, at time.Time, ev string, data *JobLogEventData) {
	j.log = append(j.log, logItem{at: at, event: ev, data: data})
}

// addJob records j: in jobs, and in jobList, which is in creation order
// (DescribeJobs lists newest first and finds a date range by binary
// search). The model's time never goes back, so a new job is the newest
// and goes last: jobs keep their index, which DescribeJobs's tokens hold.
// Jobs built from the scenario are put in order once (sortJobs).
func (r *region) addJob(j *job) {
	r.jobs[j.id] = j
	i := len(r.jobList)
	for i > 0 && r.jobList[i-1].created.After(j.created) {
		i--
	}
	r.jobList = slices.Insert(r.jobList, i, j)
	for k := i; k < len(r.jobList); k++ {
		r.jobList[k].idx = k
	}
}

// sortJobs puts jobList in creation order (stable: jobs created at the
// same time keep their order) and renumbers it.
func (r *region) sortJobs() {
	slices.SortStableFunc(r.jobList, func(a, b *job) int { return a.created.Compare(b.created) })
	for i, j := range r.jobList {
		j.idx = i
	}
}

// registerJob makes j active: it holds its servers (and instances) until it
// completes.
func (r *region) registerJob(j *job) {
	r.addJob(j)
	r.activeJobs++
	r.activeSrvrs += len(j.servers)
	for _, ps := range j.servers {
		r.hold[ps.sourceServerID] = j
		if (j.typ == jobTypeTerminate || j.initiatedBy == initFailback) && ps.recoveryInstanceID != "" {
			r.instHold[ps.recoveryInstanceID] = j
		}
	}
}

func (r *region) completeJob(j *job, at time.Time) {
	if j.status == jobStatusCompleted {
		return
	}
	r.logJob(j, at, evJobEnd, nil)
	j.status = jobStatusCompleted
	j.ended = at
	j.changed()
	r.activeJobs--
	r.activeSrvrs -= len(j.servers)
	for _, ps := range j.servers {
		if r.hold[ps.sourceServerID] == j {
			delete(r.hold, ps.sourceServerID)
		}
		if r.instHold[ps.recoveryInstanceID] == j {
			delete(r.instHold, ps.recoveryInstanceID)
		}
	}
}

func (r *region) maybeComplete(j *job, at time.Time) {
	for _, ps := range j.servers {
		switch ps.launchStatus {
		case launchStatusLaunched, launchStatusFailed, launchStatusTerminated:
		default:
			return
		}
	}
	r.completeJob(j, at)
}

// heldBy returns the active job holding the server, if any.
func (r *region) heldBy(serverID string) *job { return r.hold[serverID] }

// terminateInstance removes an instance from EC2 and from DRS.
func (r *region) terminateInstance(in *instance, at time.Time) {
	in.ec2State = ec2Terminated
	in.terminatedAt = at
	in.deleted = true
	if s := r.servers[in.sourceServer]; s != nil && s.recoveryInstanceID == in.id {
		s.recoveryInstanceID = ""
		s.changed()
		// Point at the newest remaining instance of the server, if any.
		for i := len(r.instList) - 1; i >= 0; i-- {
			o := r.instList[i]
			if !o.deleted && o.sourceServer == s.id {
				s.recoveryInstanceID = o.id
				break
			}
		}
	}
}
