package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ripcord-dr/ripcord"
)

// The ClusterStore part: the replicas table (who shares the file, until
// when) and the mutexes table (migration 0004), every decision taken in a
// BEGIN IMMEDIATE transaction on the store's clock, as leases are; and
// notes, which reach only this Store's subscribers (notes.go).

var _ ripcord.ClusterStore = (*Store)(nil)

// maxName is the longest replica ID, mutex name or holder, in bytes, as
// ripcord.Replica.Validate counts it.
const maxName = 200

// Heartbeat records r as live until ttl from now and returns the live
// replicas, ordered by ID. A replica that was not live before (new,
// leaving, or expired) sends a NoteReplicas.
func (s *Store) Heartbeat(ctx context.Context, r ripcord.Replica, ttl time.Duration) ([]ripcord.Replica, error) {
	if err := validReplica(r); err != nil {
		return nil, err
	}
	now := ripcord.StoreTime(s.now())
	expires, err := clusterExpiry(fmt.Sprintf("heartbeat of replica %q", r.ID), now, ttl)
	if err != nil {
		return nil, err
	}

	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return nil, fmt.Errorf("heartbeat of replica %s: %w", r.ID, err)
	}
	defer tx.Rollback()

	var leaving bool
	var was string
	err = tx.QueryRowContext(ctx, `SELECT leaving, expires FROM replicas WHERE id = ?`, r.ID).Scan(&leaving, &was)
	joined := errors.Is(err, sql.ErrNoRows)
	if err != nil && !joined {
		return nil, fmt.Errorf("heartbeat of replica %s: %w", r.ID, err)
	}
	joined = joined || leaving || was <= formatTime(now) // the text sorts as the times compare

	_, err = tx.ExecContext(ctx, `INSERT INTO replicas
		(id, owner_host, owner_pid, owner_started, addr, started, seen, expires, leaving)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (id) DO UPDATE SET
			owner_host = excluded.owner_host, owner_pid = excluded.owner_pid,
			owner_started = excluded.owner_started, addr = excluded.addr,
			seen = excluded.seen, expires = excluded.expires, leaving = 0`,
		r.ID, r.Owner.Host, r.Owner.PID, formatTime(r.Owner.Started), r.Addr,
		formatTime(now), formatTime(now), formatTime(expires))
	if err != nil {
		return nil, fmt.Errorf("heartbeat of replica %s: %w", r.ID, err)
	}
	live, err := liveReplicas(ctx, tx, now)
	if err != nil {
		return nil, fmt.Errorf("heartbeat of replica %s: %w", r.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("heartbeat of replica %s: %w", r.ID, err)
	}
	if joined {
		s.notes.send(ripcord.Note{Kind: ripcord.NoteReplicas, ID: r.ID})
	}
	return live, nil
}

// liveReplicas returns the replicas live at now, ordered by ID.
func liveReplicas(ctx context.Context, tx *sql.Tx, now time.Time) ([]ripcord.Replica, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, owner_host, owner_pid, owner_started, addr, started, seen, expires
		FROM replicas WHERE leaving = 0 AND expires > ? ORDER BY id`, formatTime(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	live := []ripcord.Replica{}
	for rows.Next() {
		var r ripcord.Replica
		var ownerStarted, started, seen, expires string
		if err := rows.Scan(&r.ID, &r.Owner.Host, &r.Owner.PID, &ownerStarted, &r.Addr, &started, &seen, &expires); err != nil {
			return nil, err
		}
		for _, f := range []struct {
			dst *time.Time
			src string
		}{{&r.Owner.Started, ownerStarted}, {&r.Started, started}, {&r.Seen, seen}, {&r.Expires, expires}} {
			if *f.dst, err = parseTime(f.src); err != nil {
				return nil, fmt.Errorf("replica %s: %w", r.ID, err)
			}
		}
		live = append(live, r)
	}
	return live, rows.Err()
}

// Leave marks replica id as leaving and sends a NoteReplicas; an unknown
// id changes nothing and sends nothing.
func (s *Store) Leave(ctx context.Context, id string) error {
	if err := checkName("replica ID", id); err != nil {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("leave: replica ID %q: %v", id, err),
			Hint: "name the replica by the ID it beats with (ripcord.NewReplicaID)"}
	}
	res, err := s.write.ExecContext(ctx, `UPDATE replicas SET leaving = 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("leave: replica %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("leave: replica %s: %w", id, err)
	} else if n > 0 {
		s.notes.send(ripcord.Note{Kind: ripcord.NoteReplicas, ID: id})
	}
	return nil
}

// AcquireMutex makes holder the holder of mutex name for ttl, if it is
// free, expired or holder's already.
func (s *Store) AcquireMutex(ctx context.Context, name, holder string, ttl time.Duration) (ripcord.Mutex, error) {
	if err := validMutex(name, holder); err != nil {
		return ripcord.Mutex{}, err
	}
	now := ripcord.StoreTime(s.now())
	expires, err := clusterExpiry(fmt.Sprintf("mutex %q", name), now, ttl)
	if err != nil {
		return ripcord.Mutex{}, err
	}

	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: read and decide under the write lock
	if err != nil {
		return ripcord.Mutex{}, fmt.Errorf("acquire mutex %s: %w", name, err)
	}
	defer tx.Rollback()

	current, found, err := readMutex(ctx, tx, name)
	if err != nil {
		return ripcord.Mutex{}, err
	}
	if found && current.Holder != holder && now.Before(current.Expires) {
		return current, mutexHeld(current)
	}
	// Free, expired or holder's (a renewal): holder's until expires; Gen
	// stays whoever held it.
	m := ripcord.Mutex{Name: name, Holder: holder, Gen: current.Gen, Expires: expires}
	_, err = tx.ExecContext(ctx, `INSERT INTO mutexes (name, holder, gen, expires) VALUES (?, ?, 0, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires`,
		name, holder, formatTime(expires))
	if err != nil {
		return ripcord.Mutex{}, fmt.Errorf("acquire mutex %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return ripcord.Mutex{}, fmt.Errorf("acquire mutex %s: %w", name, err)
	}
	return m, nil
}

// ReleaseMutex frees m if m.Holder still holds it: it expires now (or
// stays expired) and, with changed, its Gen grows by 1.
func (s *Store) ReleaseMutex(ctx context.Context, m ripcord.Mutex, changed bool) (ripcord.Mutex, error) {
	if err := validMutex(m.Name, m.Holder); err != nil {
		return ripcord.Mutex{}, err
	}
	now := ripcord.StoreTime(s.now())

	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return ripcord.Mutex{}, fmt.Errorf("release mutex %s: %w", m.Name, err)
	}
	defer tx.Rollback()

	current, found, err := readMutex(ctx, tx, m.Name)
	if err != nil {
		return ripcord.Mutex{}, err
	}
	if !found {
		return ripcord.Mutex{}, &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: fmt.Sprintf("mutex %q was never acquired", m.Name),
			Hint:    "release only a mutex that AcquireMutex gave; check its name"}
	}
	if current.Holder != m.Holder {
		return ripcord.Mutex{}, mutexLost(m, current)
	}
	released := current
	if now.Before(released.Expires) {
		released.Expires = now
	}
	if changed {
		released.Gen++
	}
	_, err = tx.ExecContext(ctx, `UPDATE mutexes SET gen = ?, expires = ? WHERE name = ? AND holder = ?`,
		released.Gen, formatTime(released.Expires), m.Name, m.Holder)
	if err != nil {
		return ripcord.Mutex{}, fmt.Errorf("release mutex %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return ripcord.Mutex{}, fmt.Errorf("release mutex %s: %w", m.Name, err)
	}
	return released, nil
}

// Subscribe delivers the notes of this Store's own writes until ctx ends
// or the Store closes, then closes the channel. Notes do not cross
// processes here (see notes.go): a reader that must see another process's
// writes also polls.
func (s *Store) Subscribe(ctx context.Context) (<-chan ripcord.Note, error) {
	ch, err := s.notes.subscribe(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscribe to the notes of %s: %w", s.path, err)
	}
	return ch, nil
}

// readMutex reads mutex name; found is false if it was never acquired.
func readMutex(ctx context.Context, tx *sql.Tx, name string) (m ripcord.Mutex, found bool, err error) {
	var expires string
	m.Name = name
	err = tx.QueryRowContext(ctx, `SELECT holder, gen, expires FROM mutexes WHERE name = ?`, name).Scan(&m.Holder, &m.Gen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ripcord.Mutex{Name: name}, false, nil
	} else if err != nil {
		return ripcord.Mutex{}, false, fmt.Errorf("mutex %s: %w", name, err)
	}
	if m.Expires, err = parseTime(expires); err != nil {
		return ripcord.Mutex{}, false, fmt.Errorf("mutex %s: %w", name, err)
	}
	return m, true, nil
}

// mutexHeld is the refusal of a mutex that another holder holds.
func mutexHeld(m ripcord.Mutex) error {
	return &ripcord.Error{Code: ripcord.ECONFLICT,
		Message: fmt.Sprintf("mutex %q is held by %s until %s", m.Name, m.Holder, m.Expires.Format(time.RFC3339Nano)),
		Hint:    "let the holder act; it releases the mutex when done, or it expires and can be acquired then"}
}

// mutexLost is the refusal of a release by a holder whose mutex another
// holder took since: ECONFLICT, with ripcord.ErrLeaseLost in its chain.
func mutexLost(m, current ripcord.Mutex) error {
	return &mutexLostError{err: &ripcord.Error{Code: ripcord.ECONFLICT,
		Message: fmt.Sprintf("mutex %q: %s no longer holds it; %s took it over (gen %d, until %s)",
			m.Name, m.Holder, current.Holder, current.Gen, current.Expires.Format(time.RFC3339Nano)),
		Hint: "the mutex expired before it was released and another process acquired it: what it guards may have changed; acquire it again and re-read before acting"}}
}

type mutexLostError struct{ err *ripcord.Error }

func (e *mutexLostError) Error() string   { return e.err.Error() }
func (e *mutexLostError) Unwrap() []error { return []error{e.err, ripcord.ErrLeaseLost} }

// validReplica reports whether r can beat, always as EINVALID with a hint.
func validReplica(r ripcord.Replica) error {
	if err := r.Validate(); err != nil {
		if ripcord.ErrorCode(err) == ripcord.EINVALID && ripcord.ErrorHint(err) != "" {
			return err
		}
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("replica %q: %v", r.ID, err),
			Hint: "a replica's owner is its process: the host name, a positive pid and the process's start time"}
	}
	fail := func(err error, hint string) error {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("replica %q: %v", r.ID, err), Hint: hint}
	}
	if err := checkName("ID", r.ID); err != nil {
		return fail(err, "use ripcord.NewReplicaID")
	}
	if err := checkText("owner's host", r.Owner.Host); err != nil {
		return fail(err, "the owner's host is the host name of the replica's machine")
	}
	if r.Addr != "" {
		if err := checkName("address", r.Addr); err != nil {
			return fail(err, "the address is where the replica's API listens, e.g. https://dr-1.example.com:8443, or empty")
		}
	}
	return nil
}

// validMutex reports whether a mutex can be named name and held by holder,
// always as EINVALID with a hint.
func validMutex(name, holder string) error {
	if err := checkName("name", name); err != nil {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("mutex %q: %v", name, err),
			Hint: fmt.Sprintf("a mutex name is 1 to %d bytes of UTF-8 without control characters, e.g. what it guards", maxName)}
	}
	if err := checkName("holder", holder); err != nil {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("mutex %q: holder %q: %v", name, holder, err),
			Hint: fmt.Sprintf("a holder is 1 to %d bytes of UTF-8 without control characters, e.g. the replica's ID (ripcord.NewReplicaID)", maxName)}
	}
	return nil
}

// checkName reports whether s is 1 to maxName bytes of UTF-8 without
// control characters: a replica ID (as ripcord.Replica.Validate has it),
// a mutex name or holder.
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("no %s", what)
	case len(s) > maxName:
		return fmt.Errorf("the %s is %d bytes, longer than %d", what, len(s), maxName)
	case !utf8.ValidString(s):
		return fmt.Errorf("the %s is not valid UTF-8", what)
	case strings.ContainsFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f }):
		return fmt.Errorf("the %s contains a control character", what)
	}
	return nil
}

// clusterExpiry returns now+ttl for what, refusing a ttl that is not
// positive or that ends beyond the years a store keeps.
func clusterExpiry(what string, now time.Time, ttl time.Duration) (time.Time, error) {
	if ttl <= 0 {
		return time.Time{}, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s: ttl %s is not positive", what, ttl),
			Hint: "pass a positive time to live, e.g. three times the interval between renewals"}
	}
	expires := ripcord.StoreTime(now.Add(ttl))
	if expires.Year() > 9999 {
		return time.Time{}, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s: ttl %s ends beyond the year 9999", what, ttl),
			Hint: "pass a time to live of minutes, not centuries"}
	}
	return expires, nil
}
