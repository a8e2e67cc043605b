package ripcord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Mode is how an execution runs a plan.
type Mode string

// Modes.
const (
	ModeDrill    Mode = "drill"    // launch drill instances, then clean them up
	ModeRecovery Mode = "recovery" // launch recovery instances for real
	// ModeFailback fails a recovered plan back: its steps in reverse
	// dependency order, StartFailbackLaunch for the recovery instances of
	// its servers (docs/failback.md).
	ModeFailback Mode = "failback"
)

// Valid reports whether m is one of the modes above.
func (m Mode) Valid() bool { return m == ModeDrill || m == ModeRecovery || m == ModeFailback }

// ExecState is the state of an execution, as its events say.
type ExecState string

// Execution states. Succeeded, failed and cancelled are terminal: no new
// step starts, although events (cleanup, for example) may still follow.
const (
	ExecRunning   ExecState = "running"
	ExecPaused    ExecState = "paused"
	ExecSucceeded ExecState = "succeeded"
	ExecFailed    ExecState = "failed"
	ExecCancelled ExecState = "cancelled"
)

// Valid reports whether s is one of the states above.
func (s ExecState) Valid() bool {
	switch s {
	case ExecRunning, ExecPaused, ExecSucceeded, ExecFailed, ExecCancelled:
		return true
	}
	return false
}

// Terminal reports whether s is final: succeeded, failed or cancelled.
func (s ExecState) Terminal() bool {
	return s == ExecSucceeded || s == ExecFailed || s == ExecCancelled
}

// ActorEngine is the Actor of the events the engine records on its own
// behalf; the events a person causes (pause, approve, ...) carry that
// person's identity instead.
const ActorEngine = "engine"

// Event is one entry of an execution's append-only log: who did what, and
// when. The execution's state is the fold of its events: the engine folds
// them, the store only keeps them.
type Event struct {
	ExecutionID string `json:"executionId"`
	// Seq numbers the execution's events 1, 2, 3, ... without gaps. The
	// store assigns it; a caller may leave it (and ExecutionID) zero.
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"` // ActorEngine or a person's identity
	Type  string    `json:"type"`  // e.g. LaunchRequested; the engine defines the types
	// Data is the event's payload: valid JSON, or empty. The store returns
	// it byte for byte as it was appended.
	Data json.RawMessage `json:"data,omitempty"`
}

// Execution is one run of a plan: the row that lists it. Its fields are a
// projection of its events, written in the same transaction as the events
// they reflect, so a listing never runs ahead of or behind the log.
type Execution struct {
	ID       string    `json:"id"`
	PlanName string    `json:"plan"`
	PlanHash string    `json:"planHash"` // the PlanVersion the execution runs; it must be saved first
	Mode     Mode      `json:"mode"`
	State    ExecState `json:"state"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"` // zero until the execution ends
	Actor    string    `json:"actor"`          // who started it
	// LastSeq is the Seq of the execution's last event. The store keeps
	// it; CreateExecution ignores what the caller sets.
	LastSeq int64 `json:"lastSeq"`
	// Summary is the engine's digest for listings (steps done, servers
	// launched, ...): valid JSON, or empty.
	Summary json.RawMessage `json:"summary,omitempty"`
	// Exclusive, when not empty, keeps two live executions of the same
	// thing apart: CreateExecution refuses an execution whose Exclusive
	// equals that of one that is running or paused (ECONFLICT, naming
	// it). The engine sets it to the plan and its targets; empty opts out
	// (ripcord run --allow-concurrent).
	Exclusive string `json:"exclusive,omitempty"`
}

// LeaseOwner identifies a driver: a process on a host, started at a time
// (so that a recycled PID is another owner). Two values are the same owner
// only if every field is equal.
type LeaseOwner struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"` // stored like every time: UTC, microseconds
}

func (o LeaseOwner) String() string {
	return fmt.Sprintf("%s pid %d (started %s)", o.Host, o.PID, StoreTime(o.Started).Format(time.RFC3339))
}

// Validate reports whether o can hold a lease.
func (o LeaseOwner) Validate() error {
	if o.Host == "" || o.PID <= 0 {
		return Errorf(EINVALID, "lease owner %q pid %d: a lease owner needs a host and a positive pid", o.Host, o.PID)
	}
	return checkTime(o.Started, "owner started")
}

// Lease is the right to drive one execution. Epoch is the fencing token:
// it grows with every takeover, and the store refuses a driver's appends
// once it has moved on.
type Lease struct {
	ExecutionID string     `json:"executionId"`
	Owner       LeaseOwner `json:"owner"`
	Epoch       int64      `json:"epoch"`
	Acquired    time.Time  `json:"acquired"` // when this epoch began
	Expires     time.Time  `json:"expires"`
}

// Live reports whether the lease is held at now.
func (l Lease) Live(now time.Time) bool { return l.Epoch > 0 && now.Before(l.Expires) }

// ErrLeaseLost is in the chain of the error a store returns when a driver's
// lease epoch is no longer the execution's (see [Store.Append]). The driver
// must stop: another owner drives the execution now.
var ErrLeaseLost = errors.New("the execution's lease was taken over by another driver")

// LeaseLost returns the error stores return for a stale epoch: ECONFLICT,
// with ErrLeaseLost in its chain.
func LeaseLost(execID string, epoch int64, current Lease) error {
	holder := fmt.Sprintf("%s holds epoch %d", current.Owner, current.Epoch)
	if current.Epoch == 0 {
		holder = "the execution was never leased"
	}
	e := &Error{Code: ECONFLICT,
		Message: fmt.Sprintf("execution %s: lease epoch %d is stale; %s", execID, epoch, holder),
		Hint:    "another ripcord process took this execution over; let it drive, or follow it with: ripcord exec watch " + execID}
	return &leaseLostError{err: e}
}

type leaseLostError struct{ err *Error }

func (e *leaseLostError) Error() string   { return e.err.Error() }
func (e *leaseLostError) Unwrap() []error { return []error{e.err, ErrLeaseLost} }

// ExecutionUpdate changes an execution's projection together with the
// events appended by the same [Store.Append]. Nil fields are left alone.
type ExecutionUpdate struct {
	State *ExecState
	Ended *time.Time // a zero time clears it
	// Summary, when not empty, replaces the summary. It is valid JSON.
	Summary json.RawMessage
}

// ExecutionFilter selects executions for [Store.ListExecutions]. Zero
// fields select everything.
type ExecutionFilter struct {
	State    ExecState
	PlanName string
	Limit    int // at most this many; 0: no limit
}

// PlanVersion is one applied version of a plan. An execution names the
// version it runs by its hash, so that it can always be replayed against the
// exact plan it ran.
type PlanVersion struct {
	Hash    string // PlanFile.Hash of the plan's extract
	Name    string // the plan's name
	Source  []byte // the YAML as it was applied
	Created time.Time
}

// Store keeps plan versions and executions: each execution's append-only
// event log and its projection row. The sqlite package implements it for one
// process; the postgres package will implement it for several replicas. Both
// pass the storetest conformance suite, which is the precise contract.
//
// Every method returns a *Error (see [ErrorCode]) when the cause is the
// caller's: EINVALID for malformed input, ENOTFOUND with a hint when a named
// thing is missing (never a zero value and a nil error), ECONFLICT when the
// store's state forbids the write. Other failures (a full disk, a closed
// store) are plain wrapped errors.
//
// Times are returned in UTC, truncated to the microsecond (PostgreSQL's
// precision), and must fall within the years 1 to 9999. Event data and
// summaries come back byte for byte (in PostgreSQL: json or text columns,
// not jsonb, which rewrites them).
//
// Appends are guarded twice. Optimistic concurrency on the execution's last
// sequence number orders the events of every writer (a driver, a person's
// control command). A lease decides who may act: each execution is driven by
// one owner at a time (a process with SQLite, a replica with PostgreSQL),
// which holds the execution's lease, renews it before it expires and checks
// it before every DRS mutation. Every takeover increments the lease's
// fencing epoch, and a driver's Append names its epoch: the store checks it
// in the same transaction as afterSeq, so a driver that lost its lease can
// record nothing and therefore must call nothing. Lease expiry is judged on
// the store's clock (sqlite.WithClock in tests), never on a caller's.
//
// A Store is also a [ClusterStore]: a registry of the replicas sharing it,
// named mutexes and notes between processes (with SQLite, notes reach only
// the process that wrote them).
type Store interface {
	// AuthStore keeps API tokens and the audit log.
	AuthStore

	// SavePlanVersion saves a plan version. Saving a hash that is already
	// saved does nothing and succeeds: the first version saved under a
	// hash is kept (the hash covers the plan's meaning, not its comments
	// or layout).
	SavePlanVersion(ctx context.Context, v PlanVersion) error

	// PlanVersion returns the plan version with the given hash, or
	// ENOTFOUND.
	PlanVersion(ctx context.Context, hash string) (PlanVersion, error)

	// ListPlanVersions returns the saved versions of the plan named name,
	// newest first (by Created, then by Hash, descending); with name "",
	// every plan's.
	ListPlanVersions(ctx context.Context, name string) ([]PlanVersion, error)

	// CreateExecution stores a new execution and its first events (at
	// least one), numbered from 1. Its LastSeq becomes len(first),
	// whatever exec.LastSeq says. It fails with ECONFLICT if the ID is
	// taken and with ENOTFOUND if the plan version exec.PlanHash was not
	// saved.
	CreateExecution(ctx context.Context, exec Execution, first []Event) error

	// Append adds events (at least one) to an execution, numbered
	// afterSeq+1, afterSeq+2, ..., and applies update (when not nil) to
	// its projection, all in one transaction. It returns the new last
	// seq. If the execution's last seq is not afterSeq (another writer
	// appended since the caller last read), it fails with ECONFLICT and
	// writes nothing: the caller reads the new events and decides again.
	//
	// epoch is the appending driver's lease epoch, or 0 for a writer that
	// drives nothing (a person's control command). With an epoch > 0 the
	// append is refused, with an error that is ECONFLICT and
	// errors.Is(err, ErrLeaseLost), unless the execution's lease still has
	// that epoch (expired or not: only a takeover moves it on); nothing is
	// written. The lease is checked before afterSeq.
	Append(ctx context.Context, execID string, afterSeq int64, epoch int64, events []Event, update *ExecutionUpdate) (lastSeq int64, err error)

	// AcquireLease makes owner the driver of an execution for ttl, on the
	// store's clock. It succeeds when nobody holds the lease, when it has
	// expired or been released, and when owner holds it already (then it
	// is a renewal and the epoch stays). Any other acquisition is a
	// takeover: the epoch becomes the previous one plus 1 (the first is
	// 1). While another owner's lease is live it fails with ECONFLICT,
	// names the holder and the expiry, and also returns that lease. A
	// missing execution is ENOTFOUND; ttl must be positive (EINVALID).
	AcquireLease(ctx context.Context, execID string, owner LeaseOwner, ttl time.Duration) (Lease, error)

	// RenewLease extends l by ttl from now (store's clock) if l's epoch is
	// still the execution's: an expired lease nobody took over can be
	// renewed. Otherwise it fails with ECONFLICT and ErrLeaseLost.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)

	// ReleaseLease gives l up (it expires now) so that the next driver
	// need not wait; the epoch stays. Releasing a lease that was taken
	// over fails with ECONFLICT and ErrLeaseLost and changes nothing.
	ReleaseLease(ctx context.Context, l Lease) error

	// Lease returns an execution's current lease: Epoch 0 when it was
	// never leased. A missing execution is ENOTFOUND.
	Lease(ctx context.Context, execID string) (Lease, error)

	// Events returns the execution's events with Seq > afterSeq in order,
	// at most limit of them (0: all). An execution that does not exist is
	// ENOTFOUND; one with no more events returns an empty slice.
	Events(ctx context.Context, execID string, afterSeq int64, limit int) ([]Event, error)

	// Execution returns the execution with the given ID, or ENOTFOUND.
	Execution(ctx context.Context, id string) (Execution, error)

	// ListExecutions returns the executions f selects, newest first (by
	// Started, then by ID, descending).
	ListExecutions(ctx context.Context, f ExecutionFilter) ([]Execution, error)

	// CountExecutions returns how many executions the store holds in
	// each state (states with none are left out): a count, not a
	// listing, for the metrics every scrape reads.
	CountExecutions(ctx context.Context) (map[ExecState]int, error)

	// Close releases the store. Calls after Close return errors.
	Close() error

	// ClusterStore lets several ripcord serve replicas share the store.
	ClusterStore

	// DeliveryStore records the notifications sent (notify_store.go).
	DeliveryStore
}

// The functions below are for Store implementations, so that every store
// accepts and refuses the same input with the same words.

// StoreTime returns t as a store keeps it: in UTC, truncated to the
// microsecond, without a monotonic clock reading.
func StoreTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond).Round(0)
}

// Validate reports whether v can be saved.
func (v PlanVersion) Validate() error {
	switch {
	case v.Hash == "":
		return Errorf(EINVALID, "plan version: no hash")
	case v.Name == "":
		return Errorf(EINVALID, "plan version %s: no name", v.Hash)
	case len(v.Source) == 0:
		return Errorf(EINVALID, "plan version %s: no source", v.Hash)
	}
	if err := checkTime(v.Created, "created"); err != nil {
		return Errorf(EINVALID, "plan version %s: %v", v.Hash, err)
	}
	return nil
}

// Validate reports whether x can be created. LastSeq is not checked: the
// store sets it.
func (x Execution) Validate() error {
	fail := func(format string, args ...any) error {
		return Errorf(EINVALID, "execution %q: "+format, append([]any{x.ID}, args...)...)
	}
	switch {
	case x.ID == "":
		return Errorf(EINVALID, "execution: no ID")
	case x.PlanName == "":
		return fail("no plan name")
	case x.PlanHash == "":
		return fail("no plan hash")
	case !x.Mode.Valid():
		return fail("unknown mode %q", x.Mode)
	case !x.State.Valid():
		return fail("unknown state %q", x.State)
	case x.Actor == "":
		return fail("no actor")
	}
	if err := checkTime(x.Started, "started"); err != nil {
		return fail("%v", err)
	}
	if !x.Ended.IsZero() {
		if err := checkTime(x.Ended, "ended"); err != nil {
			return fail("%v", err)
		}
	}
	if err := checkJSON(x.Summary); err != nil {
		return fail("summary: %v", err)
	}
	return nil
}

// Validate reports whether u can be applied.
func (u ExecutionUpdate) Validate() error {
	if u.State != nil && !u.State.Valid() {
		return Errorf(EINVALID, "execution update: unknown state %q", *u.State)
	}
	if u.Ended != nil && !u.Ended.IsZero() {
		if err := checkTime(*u.Ended, "ended"); err != nil {
			return Errorf(EINVALID, "execution update: %v", err)
		}
	}
	if err := checkJSON(u.Summary); err != nil {
		return Errorf(EINVALID, "execution update: summary: %v", err)
	}
	return nil
}

// Validate reports whether f is a valid filter.
func (f ExecutionFilter) Validate() error {
	if f.State != "" && !f.State.Valid() {
		return Errorf(EINVALID, "execution filter: unknown state %q", f.State)
	}
	if f.Limit < 0 {
		return Errorf(EINVALID, "execution filter: negative limit %d", f.Limit)
	}
	return nil
}

// SequenceEvents validates events to be stored after seq afterSeq of
// execution execID and returns copies with ExecutionID and Seq set and At
// normalized by [StoreTime]. An event may leave ExecutionID and Seq zero;
// if it sets them, they must be the ones it gets.
func SequenceEvents(execID string, afterSeq int64, events []Event) ([]Event, error) {
	if execID == "" {
		return nil, Errorf(EINVALID, "events: no execution ID")
	}
	if afterSeq < 0 {
		return nil, Errorf(EINVALID, "execution %q: negative seq %d", execID, afterSeq)
	}
	if len(events) == 0 {
		return nil, Errorf(EINVALID, "execution %q: no events", execID)
	}
	out := make([]Event, len(events))
	for i, e := range events {
		seq := afterSeq + int64(i) + 1
		fail := func(format string, args ...any) error {
			return Errorf(EINVALID, "execution %q: event %d (%s): "+format, append([]any{execID, seq, e.Type}, args...)...)
		}
		switch {
		case e.ExecutionID != "" && e.ExecutionID != execID:
			return nil, fail("belongs to execution %q", e.ExecutionID)
		case e.Seq != 0 && e.Seq != seq:
			return nil, fail("has seq %d (leave it zero; the store numbers events)", e.Seq)
		case e.Type == "":
			return nil, fail("no type")
		case e.Actor == "":
			return nil, fail("no actor")
		}
		if err := checkTime(e.At, "at"); err != nil {
			return nil, fail("%v", err)
		}
		if err := checkJSON(e.Data); err != nil {
			return nil, fail("data: %v", err)
		}
		e.ExecutionID, e.Seq, e.At = execID, seq, StoreTime(e.At)
		out[i] = e
	}
	return out, nil
}

func checkTime(t time.Time, name string) error {
	if t.IsZero() {
		return fmt.Errorf("no %s time", name)
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s time %s is outside the years 1 to 9999", name, t)
	}
	return nil
}

func checkJSON(b json.RawMessage) error {
	if len(b) > 0 && !json.Valid(b) {
		return fmt.Errorf("not valid JSON")
	}
	return nil
}

// executionIDPattern is what an execution's ID may be: it appears in URLs,
// file names and DRS job tags (engine.NewExecutionID makes
// "PLAN-20261125T090000-a1b2c3").
var executionIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidExecutionID reports whether id may name an execution.
func ValidExecutionID(id string) bool { return executionIDPattern.MatchString(id) }

// CheckExecutionID refuses an ID that may not name an execution (EINVALID,
// with the rule in the hint).
func CheckExecutionID(id string) error {
	if ValidExecutionID(id) {
		return nil
	}
	return &Error{Code: EINVALID, Message: fmt.Sprintf("%q is not an execution ID", id),
		Hint: "an execution ID is 1 to 128 letters, digits, '.', '_' and '-', starting with a letter or digit"}
}
