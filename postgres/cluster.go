package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// The registry of replicas is the replicas table, the named mutexes the
// mutexes table; both are judged on the store's clock, read inside the
// transaction that decides.

// Heartbeat records r as live until ttl from now and returns every live
// replica, ordered by ID. A replica that joins (its first heartbeat, or
// one after it left or expired) sends a NoteReplicas.
func (s *Store) Heartbeat(ctx context.Context, r ripcord.Replica, ttl time.Duration) ([]ripcord.Replica, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := ripcord.CheckClusterTTL(fmt.Sprintf("heartbeat of replica %q", r.ID), ttl); err != nil {
		return nil, err
	}
	what := "heartbeat of replica " + r.ID
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)

	// The row lock (when the replica beat before) queues its heartbeats;
	// the clock is read after it.
	b := &pgx.Batch{}
	b.Queue(`SELECT leaving, expires FROM replicas WHERE id = $1 FOR UPDATE`, r.ID)
	b.Queue(`SELECT `+nowSQL(1), s.clockArg())
	br := tx.SendBatch(ctx, b)
	var leaving bool
	var expires, now time.Time
	err = br.QueryRow().Scan(&leaving, &expires)
	known := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		br.Close()
		return nil, wrap(what, err)
	}
	if err := br.QueryRow().Scan(&now); err != nil {
		br.Close()
		return nil, wrap(what, err)
	}
	if err := br.Close(); err != nil {
		return nil, wrap(what, err)
	}
	now = utc(now)
	joins := !known || leaving || !expires.After(now)
	until, err := ripcord.ClusterExpiry(fmt.Sprintf("heartbeat of replica %q", r.ID), now, ttl)
	if err != nil {
		return nil, err
	}

	b = &pgx.Batch{}
	b.Queue(`INSERT INTO replicas AS r (id, owner_host, owner_pid, owner_started, addr, started, seen, expires, leaving)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7, false)
		ON CONFLICT (id) DO UPDATE SET
			owner_host = excluded.owner_host, owner_pid = excluded.owner_pid, owner_started = excluded.owner_started,
			addr = excluded.addr, seen = excluded.seen, expires = excluded.expires, leaving = false`,
		r.ID, r.Owner.Host, int64(r.Owner.PID), ripcord.StoreTime(r.Owner.Started), r.Addr, now, until)
	if joins {
		s.queueNote(b, ripcord.Note{Kind: ripcord.NoteReplicas, ID: r.ID})
	}
	if err := runBatch(tx.SendBatch(ctx, b), b.Len()); err != nil {
		return nil, wrap(what, err)
	}
	rows, err := tx.Query(ctx, `SELECT id, owner_host, owner_pid, owner_started, addr, started, seen, expires, leaving
		FROM replicas WHERE NOT leaving AND expires > $1 ORDER BY id`, now)
	if err != nil {
		return nil, wrap(what, err)
	}
	live, err := pgx.CollectRows(rows, scanReplica)
	if err != nil {
		return nil, wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if live == nil {
		live = []ripcord.Replica{}
	}
	return live, nil
}

func scanReplica(row pgx.CollectableRow) (ripcord.Replica, error) {
	var r ripcord.Replica
	var pid int64
	err := row.Scan(&r.ID, &r.Owner.Host, &pid, &r.Owner.Started, &r.Addr, &r.Started, &r.Seen, &r.Expires, &r.Leaving)
	r.Owner.PID = int(pid)
	r.Owner.Started, r.Started, r.Seen, r.Expires = utc(r.Owner.Started), utc(r.Started), utc(r.Seen), utc(r.Expires)
	return r, err
}

// Leave marks replica id as leaving and sends a NoteReplicas; an unknown
// id changes nothing and sends nothing.
func (s *Store) Leave(ctx context.Context, id string) error {
	if err := ripcord.ValidateReplicaID(id); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `WITH r AS (UPDATE replicas SET leaving = true WHERE id = $1 RETURNING id)
		SELECT pg_notify($2, $3) FROM r`,
		id, s.channel, notePayload(ripcord.Note{Kind: ripcord.NoteReplicas, ID: id}))
	if err != nil {
		return wrap("leave: replica "+id, err)
	}
	return nil
}

// AcquireMutex makes holder the holder of mutex name for ttl: one
// statement inserts the mutex or takes it when it is free, expired or
// holder's already, deciding on the row as committed once it is locked.
func (s *Store) AcquireMutex(ctx context.Context, name, holder string, ttl time.Duration) (ripcord.Mutex, error) {
	if err := ripcord.ValidateMutex(name, holder); err != nil {
		return ripcord.Mutex{}, err
	}
	if err := ripcord.CheckClusterTTL(fmt.Sprintf("mutex %q", name), ttl); err != nil {
		return ripcord.Mutex{}, err
	}
	if now := s.clockArg(); now != nil {
		if _, err := ripcord.ClusterExpiry(fmt.Sprintf("mutex %q", name), now.(time.Time), ttl); err != nil {
			return ripcord.Mutex{}, err
		}
	}
	what := "acquire mutex " + name
	for {
		// excluded.expires - ttl is the store's time of this statement.
		rows, err := s.pool.Query(ctx, `WITH c AS (SELECT `+nowSQL(4)+` AS now)
			INSERT INTO mutexes AS m (name, holder, gen, expires)
			SELECT $1, $2, 0, c.now + $3::bigint * interval '1 microsecond' FROM c
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
				WHERE m.holder = excluded.holder OR m.expires <= excluded.expires - $3::bigint * interval '1 microsecond'
			RETURNING name, holder, gen, expires`,
			name, holder, micros(ttl), s.clockArg())
		if err != nil {
			return ripcord.Mutex{}, wrap(what, err)
		}
		m, err := pgx.CollectExactlyOneRow(rows, scanMutex)
		if err == nil {
			return m, nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return ripcord.Mutex{}, wrap(what, err)
		}
		// Held by another holder: say who, unless it was let go
		// since (then try again).
		rows, err = s.pool.Query(ctx, `SELECT name, holder, gen, expires, expires > `+nowSQL(2)+` FROM mutexes WHERE name = $1`,
			name, s.clockArg())
		if err != nil {
			return ripcord.Mutex{}, wrap(what, err)
		}
		var live bool
		m, err = pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (ripcord.Mutex, error) {
			var m ripcord.Mutex
			err := row.Scan(&m.Name, &m.Holder, &m.Gen, &m.Expires, &live)
			m.Expires = utc(m.Expires)
			return m, err
		})
		if err != nil {
			return ripcord.Mutex{}, wrap(what, err)
		}
		if !live {
			continue
		}
		return m, ripcord.MutexHeld(m)
	}
}

// ReleaseMutex frees m if m.Holder still holds it (expired or not); with
// changed, its generation grows by 1.
func (s *Store) ReleaseMutex(ctx context.Context, m ripcord.Mutex, changed bool) (ripcord.Mutex, error) {
	if err := ripcord.ValidateMutex(m.Name, m.Holder); err != nil {
		return ripcord.Mutex{}, err
	}
	inc := int64(0)
	if changed {
		inc = 1
	}
	what := "release mutex " + m.Name
	rows, err := s.pool.Query(ctx, `UPDATE mutexes SET expires = least(expires, `+nowSQL(4)+`), gen = gen + $3
		WHERE name = $1 AND holder = $2
		RETURNING name, holder, gen, expires`, m.Name, m.Holder, inc, s.clockArg())
	if err != nil {
		return ripcord.Mutex{}, wrap(what, err)
	}
	released, err := pgx.CollectExactlyOneRow(rows, scanMutex)
	if err == nil {
		return released, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return ripcord.Mutex{}, wrap(what, err)
	}
	// Not m.Holder's (any more).
	rows, err = s.pool.Query(ctx, `SELECT name, holder, gen, expires FROM mutexes WHERE name = $1`, m.Name)
	if err != nil {
		return ripcord.Mutex{}, wrap(what, err)
	}
	current, err := pgx.CollectExactlyOneRow(rows, scanMutex)
	if errors.Is(err, pgx.ErrNoRows) {
		return ripcord.Mutex{}, &ripcord.Error{Code: ripcord.ENOTFOUND,
			Message: fmt.Sprintf("mutex %q was never acquired", m.Name),
			Hint:    "release only a mutex that AcquireMutex gave; check its name"}
	} else if err != nil {
		return ripcord.Mutex{}, wrap(what, err)
	}
	return ripcord.Mutex{}, ripcord.MutexLost(m, current)
}

func scanMutex(row pgx.CollectableRow) (ripcord.Mutex, error) {
	var m ripcord.Mutex
	err := row.Scan(&m.Name, &m.Holder, &m.Gen, &m.Expires)
	m.Expires = utc(m.Expires)
	return m, err
}
