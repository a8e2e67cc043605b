package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// A lease is a row of the leases table, one per execution that was ever
// leased. Its epoch only grows (the schema refuses a lower one and a
// deleted row), so that a fencing token is never handed out twice; Append
// checks it in the same transaction as the last seq. Every lease decision
// is taken holding the execution's row lock (see lockExecution), on the
// store's clock read after the lock: replicas that race for one lease
// decide one after the other, each on what the one before it committed.

// leaseQuery reads an execution's lease (NULLs when it was never leased)
// and the store's clock ($2, see clockArg); no row when the execution does
// not exist.
const leaseQuery = `SELECT l.owner_host, l.owner_pid, l.owner_started, l.epoch, l.acquired, l.expires,
		coalesce($2::timestamptz, clock_timestamp())
	FROM executions x LEFT JOIN leases l ON l.execution_id = x.id
	WHERE x.id = $1`

// scanLease reads a row of leaseQuery.
func scanLease(row pgx.Row, execID string) (ripcord.Lease, time.Time, error) {
	l := ripcord.Lease{ExecutionID: execID}
	var host *string
	var pid, epoch *int64
	var started, acquired, expires *time.Time
	var now time.Time
	if err := row.Scan(&host, &pid, &started, &epoch, &acquired, &expires, &now); err != nil {
		return ripcord.Lease{}, time.Time{}, err
	}
	now = utc(now)
	if epoch == nil {
		return l, now, nil // never leased
	}
	l.Owner = ripcord.LeaseOwner{Host: *host, PID: int(*pid), Started: utcOrZero(started)}
	l.Epoch, l.Acquired, l.Expires = *epoch, utcOrZero(acquired), utcOrZero(expires)
	return l, now, nil
}

// AcquireLease makes owner the driver of an execution for ttl.
func (s *Store) AcquireLease(ctx context.Context, execID string, owner ripcord.LeaseOwner, ttl time.Duration) (ripcord.Lease, error) {
	if err := validOwner(owner); err != nil {
		return ripcord.Lease{}, err
	}
	if err := checkTTL("lease of execution "+fmt.Sprintf("%q", execID), ttl); err != nil {
		return ripcord.Lease{}, err
	}
	what := "acquire lease of execution " + execID
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ripcord.Lease{}, fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)

	_, current, now, err := s.lockExecution(ctx, tx, execID, true)
	if err != nil {
		return ripcord.Lease{}, err
	}
	expires, err := leaseExpiry(execID, now, ttl)
	if err != nil {
		return ripcord.Lease{}, err
	}
	l := current
	switch {
	case current.Live(now) && sameOwner(current.Owner, owner):
		// A renewal: the epoch stays.
		l.Expires = expires
		_, err = tx.Exec(ctx, `UPDATE leases SET expires = $3 WHERE execution_id = $1 AND epoch = $2`,
			execID, current.Epoch, expires)
	case current.Live(now):
		return current, leaseHeld(current)
	default:
		// Nobody holds it (never leased, expired or released): a
		// takeover, under the next epoch.
		l = ripcord.Lease{ExecutionID: execID, Owner: storedOwner(owner), Epoch: current.Epoch + 1, Acquired: now, Expires: expires}
		_, err = tx.Exec(ctx, `INSERT INTO leases
			(execution_id, owner_host, owner_pid, owner_started, epoch, acquired, expires)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (execution_id) DO UPDATE SET
				owner_host = excluded.owner_host, owner_pid = excluded.owner_pid,
				owner_started = excluded.owner_started, epoch = excluded.epoch,
				acquired = excluded.acquired, expires = excluded.expires`,
			execID, l.Owner.Host, int64(l.Owner.PID), l.Owner.Started, l.Epoch, l.Acquired, l.Expires)
	}
	if err != nil {
		return ripcord.Lease{}, wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return ripcord.Lease{}, fmt.Errorf("%s: %w", what, err)
	}
	return l, nil
}

// RenewLease extends l by ttl from now if its epoch is still the
// execution's.
func (s *Store) RenewLease(ctx context.Context, l ripcord.Lease, ttl time.Duration) (ripcord.Lease, error) {
	if l.Epoch < 1 {
		return ripcord.Lease{}, ripcord.Errorf(ripcord.EINVALID, "renew lease of execution %q: epoch %d is not a lease's (acquire one first)", l.ExecutionID, l.Epoch)
	}
	if err := checkTTL("lease of execution "+fmt.Sprintf("%q", l.ExecutionID), ttl); err != nil {
		return ripcord.Lease{}, err
	}
	what := "renew lease of execution " + l.ExecutionID
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ripcord.Lease{}, fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)

	current, now, err := s.holds(ctx, tx, l)
	if err != nil {
		return ripcord.Lease{}, err
	}
	if current.Expires, err = leaseExpiry(l.ExecutionID, now, ttl); err != nil {
		return ripcord.Lease{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE leases SET expires = $3 WHERE execution_id = $1 AND epoch = $2`,
		l.ExecutionID, l.Epoch, current.Expires)
	if err != nil {
		return ripcord.Lease{}, wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return ripcord.Lease{}, fmt.Errorf("%s: %w", what, err)
	}
	return current, nil
}

// ReleaseLease makes l expire now, keeping its epoch, so that the next
// driver need not wait, and sends a NoteLease when that commits.
func (s *Store) ReleaseLease(ctx context.Context, l ripcord.Lease) error {
	if l.Epoch < 1 {
		return ripcord.Errorf(ripcord.EINVALID, "release lease of execution %q: epoch %d is not a lease's", l.ExecutionID, l.Epoch)
	}
	what := "release lease of execution " + l.ExecutionID
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)

	current, now, err := s.holds(ctx, tx, l)
	if err != nil {
		return err
	}
	if !current.Expires.After(now) {
		return nil // expired already: releasing it again changes nothing
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE leases SET expires = $3 WHERE execution_id = $1 AND epoch = $2`, l.ExecutionID, l.Epoch, now)
	s.queueNote(b, ripcord.Note{Kind: ripcord.NoteLease, ID: l.ExecutionID})
	if err := runBatch(tx.SendBatch(ctx, b), b.Len()); err != nil {
		return wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Lease returns an execution's current lease, Epoch 0 if it was never
// leased.
func (s *Store) Lease(ctx context.Context, execID string) (ripcord.Lease, error) {
	l, _, err := scanLease(s.pool.QueryRow(ctx, leaseQuery, execID, s.clockArg()), execID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ripcord.Lease{}, s.executionNotFound(execID)
	} else if err != nil {
		return ripcord.Lease{}, wrap("lease of execution "+execID, err)
	}
	return l, nil
}

// holds locks l's execution and returns its lease if l is it: the same
// epoch and the same owner; otherwise l was taken over (ErrLeaseLost).
func (s *Store) holds(ctx context.Context, tx pgx.Tx, l ripcord.Lease) (ripcord.Lease, time.Time, error) {
	_, current, now, err := s.lockExecution(ctx, tx, l.ExecutionID, true)
	if err != nil {
		return ripcord.Lease{}, now, err
	}
	if current.Epoch != l.Epoch || !sameOwner(current.Owner, l.Owner) {
		return ripcord.Lease{}, now, ripcord.LeaseLost(l.ExecutionID, l.Epoch, current)
	}
	return current, now, nil
}

// leaseHeld is the refusal of a lease that another owner holds.
func leaseHeld(l ripcord.Lease) error {
	return &ripcord.Error{Code: ripcord.ECONFLICT,
		Message: fmt.Sprintf("execution %s is driven by %s under lease epoch %d until %s",
			l.ExecutionID, l.Owner, l.Epoch, l.Expires.Format(time.RFC3339)),
		Hint: fmt.Sprintf("let that process drive it and follow it with: ripcord exec watch %s; if that process is gone, its lease can be taken over once it expires at %s",
			l.ExecutionID, l.Expires.Format(time.RFC3339))}
}

// checkTTL refuses a ttl that is not positive.
func checkTTL(what string, ttl time.Duration) error {
	if ttl <= 0 {
		return ripcord.Errorf(ripcord.EINVALID, "%s: ttl %s is not positive", what, ttl)
	}
	return nil
}

// leaseExpiry returns now+ttl, refusing one that ends beyond the years a
// store keeps.
func leaseExpiry(execID string, now time.Time, ttl time.Duration) (time.Time, error) {
	expires := ripcord.StoreTime(now.Add(ttl))
	if expires.Year() > 9999 {
		return time.Time{}, ripcord.Errorf(ripcord.EINVALID, "lease of execution %q: ttl %s ends beyond the year 9999", execID, ttl)
	}
	return expires, nil
}

// validOwner reports whether o can hold a lease, always as EINVALID.
func validOwner(o ripcord.LeaseOwner) error {
	err := o.Validate()
	if err == nil {
		err = checkText("host", o.Host)
	}
	if err == nil || ripcord.ErrorCode(err) == ripcord.EINVALID {
		return err
	}
	return ripcord.Errorf(ripcord.EINVALID, "lease owner %s pid %d: %v", o.Host, o.PID, err)
}

// storedOwner returns o as the store keeps it.
func storedOwner(o ripcord.LeaseOwner) ripcord.LeaseOwner {
	o.Started = ripcord.StoreTime(o.Started)
	return o
}

// sameOwner compares owners as the store keeps them: a Started with
// nanoseconds is the owner whose Started was stored to the microsecond.
func sameOwner(a, b ripcord.LeaseOwner) bool {
	return a.Host == b.Host && a.PID == b.PID && ripcord.StoreTime(a.Started).Equal(ripcord.StoreTime(b.Started))
}
