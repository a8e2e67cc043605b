package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
	if err := validReplica(r); err != nil {
		return nil, err
	}
	if err := checkClusterTTL(fmt.Sprintf("heartbeat of replica %q", r.ID), ttl); err != nil {
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
	until, err := clusterExpiry(fmt.Sprintf("heartbeat of replica %q", r.ID), now, ttl)
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
	if err := checkName("replica ID", id); err != nil {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("leave: replica ID %q: %v", id, err),
			Hint: "name the replica by the ID it beats with (ripcord.NewReplicaID)"}
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
	if err := validMutex(name, holder); err != nil {
		return ripcord.Mutex{}, err
	}
	if err := checkClusterTTL(fmt.Sprintf("mutex %q", name), ttl); err != nil {
		return ripcord.Mutex{}, err
	}
	if now := s.clockArg(); now != nil {
		if _, err := clusterExpiry(fmt.Sprintf("mutex %q", name), now.(time.Time), ttl); err != nil {
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
		return m, mutexHeld(m)
	}
}

// ReleaseMutex frees m if m.Holder still holds it (expired or not); with
// changed, its generation grows by 1.
func (s *Store) ReleaseMutex(ctx context.Context, m ripcord.Mutex, changed bool) (ripcord.Mutex, error) {
	if err := validMutex(m.Name, m.Holder); err != nil {
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
	return ripcord.Mutex{}, mutexLost(m, current)
}

func scanMutex(row pgx.CollectableRow) (ripcord.Mutex, error) {
	var m ripcord.Mutex
	err := row.Scan(&m.Name, &m.Holder, &m.Gen, &m.Expires)
	m.Expires = utc(m.Expires)
	return m, err
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

// maxName is the longest replica ID, mutex name or holder, in bytes, as
// ripcord.Replica.Validate counts it.
const maxName = 200

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

// checkClusterTTL refuses a ttl that is not positive, with a hint.
func checkClusterTTL(what string, ttl time.Duration) error {
	if ttl <= 0 {
		return &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s: ttl %s is not positive", what, ttl),
			Hint: "pass a positive time to live, e.g. three times the interval between renewals"}
	}
	return nil
}

// clusterExpiry returns now+ttl for what, refusing a time beyond the years
// a store keeps.
func clusterExpiry(what string, now time.Time, ttl time.Duration) (time.Time, error) {
	expires := ripcord.StoreTime(now.Add(ttl))
	if expires.Year() > 9999 {
		return time.Time{}, &ripcord.Error{Code: ripcord.EINVALID, Message: fmt.Sprintf("%s: ttl %s ends beyond the year 9999", what, ttl),
			Hint: "pass a time to live of minutes, not centuries"}
	}
	return expires, nil
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
