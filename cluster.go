package ripcord

import (
	"context"
	"fmt"
	"strings"
	"time"
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

// Validate reports whether r can be recorded.
func (r Replica) Validate() error {
	if r.ID == "" || len(r.ID) > 200 || strings.ContainsFunc(r.ID, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return &Error{Code: EINVALID, Message: fmt.Sprintf("replica ID %q is empty, too long or has control characters", r.ID),
			Hint: "use ripcord.NewReplicaID"}
	}
	return r.Owner.Validate()
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
