package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// The ClusterStore part: the replicas table (who shares the file, until
// when) and the mutexes table (migration 0004), every decision taken in a
// BEGIN IMMEDIATE transaction on the store's clock, as leases are; and
// notes, which reach only this Store's subscribers (notes.go).

var _ ripcord.ClusterStore = (*Store)(nil)

// Heartbeat records r as live until ttl from now and returns the live
// replicas, ordered by ID. A replica that was not live before (new,
// leaving, or expired) sends a NoteReplicas.
func (s *Store) Heartbeat(ctx context.Context, r ripcord.Replica, ttl time.Duration) ([]ripcord.Replica, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	now := ripcord.StoreTime(s.now())
	expires, err := ripcord.ClusterExpiry(fmt.Sprintf("heartbeat of replica %q", r.ID), now, ttl)
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
	if err := ripcord.ValidateReplicaID(id); err != nil {
		return err
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
	if err := ripcord.ValidateMutex(name, holder); err != nil {
		return ripcord.Mutex{}, err
	}
	now := ripcord.StoreTime(s.now())
	expires, err := ripcord.ClusterExpiry(fmt.Sprintf("mutex %q", name), now, ttl)
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
		return current, ripcord.MutexHeld(current)
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
	if err := ripcord.ValidateMutex(m.Name, m.Holder); err != nil {
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
		return ripcord.Mutex{}, ripcord.MutexLost(m, current)
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
