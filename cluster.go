package ripcord

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Replica is one ripcord serve process among those that share a store.
// Replicas find each other through the store alone (ripcord adds no
// consensus of its own): each records a heartbeat, and the replicas whose
// heartbeat has not expired on the store's clock are the live ones.
type Replica struct {
	ID      string     `json:"id"` // unique per process start (NewReplicaID)
	Owner   LeaseOwner `json:"owner"`
	Addr    string     `json:"addr,omitempty"` // where its API listens, for people
	Started time.Time  `json:"started"`        // set by the store at the first heartbeat
	Seen    time.Time  `json:"seen"`           // the last heartbeat, store's clock
	Expires time.Time  `json:"expires"`
	// Leaving is set by ClusterStore.Leave: the replica is stopping and
	// hands its work over; it no longer counts as live.
	Leaving bool `json:"leaving,omitempty"`
}

// Validate reports whether r can be recorded, as EINVALID with a hint.
// Both stores check a heartbeat with it.
func (r Replica) Validate() error {
	fail := func(err error, hint string) error {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("replica %q: %v", r.ID, err), Hint: hint}
	}
	if err := checkClusterName("ID", r.ID); err != nil {
		return fail(err, "use ripcord.NewReplicaID")
	}
	if err := r.Owner.Validate(); err != nil {
		if ErrorCode(err) == EINVALID && ErrorHint(err) != "" {
			return err
		}
		return fail(err, "a replica's owner is its process: the host name, a positive pid and the process's start time")
	}
	if !utf8.ValidString(r.Owner.Host) || strings.IndexByte(r.Owner.Host, 0) >= 0 {
		return fail(fmt.Errorf("the owner's host %q is not valid UTF-8 without NUL bytes", r.Owner.Host),
			"the owner's host is the host name of the replica's machine")
	}
	if r.Addr != "" {
		if err := checkClusterName("address", r.Addr); err != nil {
			return fail(err, "the address is where the replica's API listens, e.g. https://dr-1.example.com:8443, or empty")
		}
	}
	return nil
}

// ValidateReplicaID reports whether id can name a replica (ClusterStore.Leave).
func ValidateReplicaID(id string) error {
	if err := checkClusterName("replica ID", id); err != nil {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("replica ID %q: %v", id, err),
			Hint: "name the replica by the ID it beats with (ripcord.NewReplicaID)"}
	}
	return nil
}

// maxClusterName is the longest replica ID, mutex name or holder, in bytes.
const maxClusterName = 200

// checkClusterName reports whether s is 1 to maxClusterName bytes of UTF-8
// without control characters: a replica ID, a mutex name or holder.
func checkClusterName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("no %s", what)
	case len(s) > maxClusterName:
		return fmt.Errorf("the %s is %d bytes, longer than %d", what, len(s), maxClusterName)
	case !utf8.ValidString(s):
		return fmt.Errorf("the %s is not valid UTF-8", what)
	case strings.ContainsFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f }):
		return fmt.Errorf("the %s contains a control character", what)
	}
	return nil
}

// NewReplicaID names a replica by its owner (host, pid, start).
func NewReplicaID(o LeaseOwner) string {
	return fmt.Sprintf("%s/%d/%d", o.Host, o.PID, o.Started.UnixNano())
}

// Mutex is a named lock with a time to live, kept in the store, that lets
// one holder at a time act on something several processes share (the
// launch decisions in one DRS target). Gen counts the releases that said
// they changed the shared thing: a holder that finds Gen moved since it
// last held the mutex knows another process acted meanwhile.
type Mutex struct {
	Name    string    `json:"name"`
	Holder  string    `json:"holder"`
	Gen     int64     `json:"gen"`
	Expires time.Time `json:"expires"`
}

// Note tells every process sharing a store that something changed, so that
// it need not poll to find out. Notes are hints: one may be lost (a
// dropped connection), and a subscriber then receives a Note with Kind
// NoteResync and re-reads what it watches.
type Note struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// Kinds of Note.
const (
	// NoteEvents: execution ID's log grew (Append, CreateExecution).
	NoteEvents = "events"
	// NoteLease: execution ID's lease was released (ReleaseLease): another
	// replica may take it at once.
	NoteLease = "lease"
	// NoteReplicas: a replica joined or is leaving (ID is the replica).
	NoteReplicas = "replicas"
	// NoteResync: notes may have been lost; re-read everything watched.
	NoteResync = "resync"
)

// ClusterStore is what lets several ripcord serve replicas share one store:
// a registry of live replicas, named mutexes, and notes between processes.
// Both stores implement it (with SQLite, the processes are those that open
// the same file, and notes reach only the process that wrote them).
type ClusterStore interface {
	// Heartbeat records r as live until ttl from now on the store's clock
	// (inserting it, or updating the row with r.ID; Started, Seen and
	// Expires are the store's) and returns every live replica (not
	// expired, not leaving), ordered by ID; r itself is among them. A
	// replica that was leaving and beats again is live again. A first
	// heartbeat sends a NoteReplicas. ttl must be positive (EINVALID).
	Heartbeat(ctx context.Context, r Replica, ttl time.Duration) ([]Replica, error)

	// Leave marks replica id as leaving, at once, and sends a
	// NoteReplicas. An unknown id is not an error.
	Leave(ctx context.Context, id string) error

	// AcquireMutex makes holder the holder of mutex name for ttl, on the
	// store's clock. It succeeds when the mutex is free, expired or
	// already holder's (a renewal); otherwise it fails with ECONFLICT and
	// also returns the mutex as it is. Gen is kept across holders (0 for a
	// mutex never released with changed set).
	AcquireMutex(ctx context.Context, name, holder string, ttl time.Duration) (Mutex, error)

	// ReleaseMutex frees m if m.Holder still holds it (expired or not,
	// unless another holder took it since: then ECONFLICT with
	// ErrLeaseLost and nothing changes). With changed, Gen grows by 1;
	// the returned Mutex is the released one, with its new Gen.
	ReleaseMutex(ctx context.Context, m Mutex, changed bool) (Mutex, error)

	// Subscribe delivers the notes every process sharing the store sends
	// (this one's included) until ctx ends, then closes the channel. A
	// subscriber that falls behind, or whose connection to the store
	// dropped, receives a NoteResync instead of what it missed.
	Subscribe(ctx context.Context) (<-chan Note, error)
}

// The functions below are for ClusterStore implementations, so that both
// stores accept and refuse the same input with the same words.

// ValidateMutex reports whether a mutex can be named name and held by
// holder, as EINVALID with a hint.
func ValidateMutex(name, holder string) error {
	if err := checkClusterName("name", name); err != nil {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("mutex %q: %v", name, err),
			Hint: fmt.Sprintf("a mutex name is 1 to %d bytes of UTF-8 without control characters, e.g. what it guards", maxClusterName)}
	}
	if err := checkClusterName("holder", holder); err != nil {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("mutex %q: holder %q: %v", name, holder, err),
			Hint: fmt.Sprintf("a holder is 1 to %d bytes of UTF-8 without control characters, e.g. the replica's ID (ripcord.NewReplicaID)", maxClusterName)}
	}
	return nil
}

// CheckClusterTTL refuses a time to live that is not positive.
func CheckClusterTTL(what string, ttl time.Duration) error {
	if ttl <= 0 {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("%s: ttl %s is not positive", what, ttl),
			Hint: "pass a positive time to live, e.g. three times the interval between renewals"}
	}
	return nil
}

// ClusterExpiry returns now+ttl as a store keeps it, refusing a ttl that is
// not positive or ends beyond the years a store keeps.
func ClusterExpiry(what string, now time.Time, ttl time.Duration) (time.Time, error) {
	if err := CheckClusterTTL(what, ttl); err != nil {
		return time.Time{}, err
	}
	expires := StoreTime(now.Add(ttl))
	if expires.Year() > 9999 {
		return time.Time{}, &Error{Code: EINVALID, Message: fmt.Sprintf("%s: ttl %s ends beyond the year 9999", what, ttl),
			Hint: "pass a time to live of minutes, not centuries"}
	}
	return expires, nil
}

// MutexHeld is the refusal of a mutex another holder holds: ECONFLICT.
func MutexHeld(m Mutex) error {
	return &Error{Code: ECONFLICT,
		Message: fmt.Sprintf("mutex %q is held by %s until %s", m.Name, m.Holder, m.Expires.Format(time.RFC3339Nano)),
		Hint:    "let the holder act; it releases the mutex when done, or it expires and can be acquired then"}
}

// MutexLost is the refusal of a release by a holder whose mutex another
// holder took since (current): ECONFLICT, with ErrLeaseLost in its chain.
func MutexLost(m, current Mutex) error {
	return &leaseLostError{err: &Error{Code: ECONFLICT,
		Message: fmt.Sprintf("mutex %q: %s no longer holds it; %s took it over (gen %d, until %s)",
			m.Name, m.Holder, current.Holder, current.Gen, current.Expires.Format(time.RFC3339Nano)),
		Hint: "the mutex expired before it was released and another process acquired it: what it guards may have changed; acquire it again and re-read before acting"}}
}
