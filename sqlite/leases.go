package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ripcord-dr/ripcord"
)

// A lease is a row of the leases table, one per execution that was ever
// leased. Its epoch only grows (the schema refuses a lower one and a
// deleted row), so that a fencing token is never handed out twice; Append
// checks it in the same transaction as the last seq. Every decision about
// expiry is taken inside a BEGIN IMMEDIATE transaction on the store's
// clock, so two processes on one file cannot both take a lease over.

// AcquireLease makes owner the driver of an execution for ttl.
func (s *Store) AcquireLease(ctx context.Context, execID string, owner ripcord.LeaseOwner, ttl time.Duration) (ripcord.Lease, error) {
	if err := validOwner(owner); err != nil {
		return ripcord.Lease{}, err
	}
	now := ripcord.StoreTime(s.now())
	expires, err := leaseExpiry(execID, now, ttl)
	if err != nil {
		return ripcord.Lease{}, err
	}

	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: read and decide under the write lock
	if err != nil {
		return ripcord.Lease{}, fmt.Errorf("acquire lease of execution %s: %w", execID, err)
	}
	defer tx.Rollback()

	current, err := s.readLease(ctx, tx, execID)
	if err != nil {
		return ripcord.Lease{}, err
	}
	l := current
	switch {
	case current.Live(now) && sameOwner(current.Owner, owner):
		// A renewal: the epoch stays.
		l.Expires = expires
		_, err = tx.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE execution_id = ? AND epoch = ?`,
			formatTime(expires), execID, current.Epoch)
	case current.Live(now):
		return current, leaseHeld(current)
	default:
		// Nobody holds it (never leased, expired or released): a
		// takeover, under the next epoch.
		l = ripcord.Lease{ExecutionID: execID, Owner: storedOwner(owner), Epoch: current.Epoch + 1, Acquired: now, Expires: expires}
		_, err = tx.ExecContext(ctx, `INSERT INTO leases
			(execution_id, owner_host, owner_pid, owner_started, epoch, acquired, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (execution_id) DO UPDATE SET
				owner_host = excluded.owner_host, owner_pid = excluded.owner_pid,
				owner_started = excluded.owner_started, epoch = excluded.epoch,
				acquired = excluded.acquired, expires = excluded.expires`,
			execID, l.Owner.Host, l.Owner.PID, formatTime(l.Owner.Started), l.Epoch, formatTime(l.Acquired), formatTime(l.Expires))
	}
	if err != nil {
		return ripcord.Lease{}, fmt.Errorf("acquire lease of execution %s: %w", execID, err)
	}
	if err := tx.Commit(); err != nil {
		return ripcord.Lease{}, fmt.Errorf("acquire lease of execution %s: %w", execID, err)
	}
	return l, nil
}

// RenewLease extends l by ttl from now if its epoch is still the
// execution's.
func (s *Store) RenewLease(ctx context.Context, l ripcord.Lease, ttl time.Duration) (ripcord.Lease, error) {
	if l.Epoch < 1 {
		return ripcord.Lease{}, ripcord.Errorf(ripcord.EINVALID, "renew lease of execution %q: epoch %d is not a lease's (acquire one first)", l.ExecutionID, l.Epoch)
	}
	now := ripcord.StoreTime(s.now())
	expires, err := leaseExpiry(l.ExecutionID, now, ttl)
	if err != nil {
		return ripcord.Lease{}, err
	}

	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return ripcord.Lease{}, fmt.Errorf("renew lease of execution %s: %w", l.ExecutionID, err)
	}
	defer tx.Rollback()

	current, err := s.holds(ctx, tx, l)
	if err != nil {
		return ripcord.Lease{}, err
	}
	current.Expires = expires
	_, err = tx.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE execution_id = ? AND epoch = ?`,
		formatTime(expires), l.ExecutionID, l.Epoch)
	if err != nil {
		return ripcord.Lease{}, fmt.Errorf("renew lease of execution %s: %w", l.ExecutionID, err)
	}
	if err := tx.Commit(); err != nil {
		return ripcord.Lease{}, fmt.Errorf("renew lease of execution %s: %w", l.ExecutionID, err)
	}
	return current, nil
}

// ReleaseLease makes l expire now, keeping its epoch, so that the next
// driver need not wait, and sends a NoteLease.
func (s *Store) ReleaseLease(ctx context.Context, l ripcord.Lease) error {
	if l.Epoch < 1 {
		return ripcord.Errorf(ripcord.EINVALID, "release lease of execution %q: epoch %d is not a lease's", l.ExecutionID, l.Epoch)
	}
	now := ripcord.StoreTime(s.now())

	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("release lease of execution %s: %w", l.ExecutionID, err)
	}
	defer tx.Rollback()

	current, err := s.holds(ctx, tx, l)
	if err != nil {
		return err
	}
	if !current.Expires.After(now) {
		// Expired already: releasing it again changes nothing, but it
		// is free, which a waiting replica may not know yet.
		s.notes.send(ripcord.Note{Kind: ripcord.NoteLease, ID: l.ExecutionID})
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE execution_id = ? AND epoch = ?`,
		formatTime(now), l.ExecutionID, l.Epoch)
	if err != nil {
		return fmt.Errorf("release lease of execution %s: %w", l.ExecutionID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("release lease of execution %s: %w", l.ExecutionID, err)
	}
	s.notes.send(ripcord.Note{Kind: ripcord.NoteLease, ID: l.ExecutionID})
	return nil
}

// Lease returns an execution's current lease, Epoch 0 if it was never
// leased.
func (s *Store) Lease(ctx context.Context, execID string) (ripcord.Lease, error) {
	return s.readLease(ctx, s.read, execID)
}

// holds returns the execution's lease if l is it: the same epoch and the
// same owner. Otherwise l was taken over (ErrLeaseLost).
func (s *Store) holds(ctx context.Context, tx *sql.Tx, l ripcord.Lease) (ripcord.Lease, error) {
	current, err := s.readLease(ctx, tx, l.ExecutionID)
	if err != nil {
		return ripcord.Lease{}, err
	}
	if current.Epoch != l.Epoch || !sameOwner(current.Owner, l.Owner) {
		return ripcord.Lease{}, ripcord.LeaseLost(l.ExecutionID, l.Epoch, current)
	}
	return current, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readLease reads the lease of execution execID: Epoch 0 if it was never
// leased, ENOTFOUND if the execution does not exist.
func (s *Store) readLease(ctx context.Context, q queryRower, execID string) (ripcord.Lease, error) {
	l := ripcord.Lease{ExecutionID: execID}
	var host, started, acquired, expires sql.NullString
	var pid, epoch sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT l.owner_host, l.owner_pid, l.owner_started, l.epoch, l.acquired, l.expires
		FROM executions x LEFT JOIN leases l ON l.execution_id = x.id
		WHERE x.id = ?`, execID).Scan(&host, &pid, &started, &epoch, &acquired, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ripcord.Lease{}, s.executionNotFound(execID)
	} else if err != nil {
		return ripcord.Lease{}, fmt.Errorf("lease of execution %s: %w", execID, err)
	}
	if !epoch.Valid {
		return l, nil // never leased
	}
	l.Owner.Host, l.Owner.PID, l.Epoch = host.String, int(pid.Int64), epoch.Int64
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&l.Owner.Started, started.String}, {&l.Acquired, acquired.String}, {&l.Expires, expires.String}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return ripcord.Lease{}, fmt.Errorf("lease of execution %s: %w", execID, err)
		}
	}
	return l, nil
}

// leaseHeld is the refusal of a lease that another owner holds.
func leaseHeld(l ripcord.Lease) error {
	return &ripcord.Error{Code: ripcord.ECONFLICT,
		Message: fmt.Sprintf("execution %s is driven by %s under lease epoch %d until %s",
			l.ExecutionID, l.Owner, l.Epoch, l.Expires.Format(time.RFC3339)),
		Hint: fmt.Sprintf("let that process drive it and follow it with: ripcord exec watch %s; if that process is gone, its lease can be taken over once it expires at %s",
			l.ExecutionID, l.Expires.Format(time.RFC3339))}
}

// leaseExpiry returns now+ttl, refusing a ttl that is not positive or that
// ends beyond the years a store keeps.
func leaseExpiry(execID string, now time.Time, ttl time.Duration) (time.Time, error) {
	if ttl <= 0 {
		return time.Time{}, ripcord.Errorf(ripcord.EINVALID, "lease of execution %q: ttl %s is not positive", execID, ttl)
	}
	expires := ripcord.StoreTime(now.Add(ttl))
	if expires.Year() > 9999 {
		return time.Time{}, ripcord.Errorf(ripcord.EINVALID, "lease of execution %q: ttl %s ends beyond the year 9999", execID, ttl)
	}
	return expires, nil
}

// validOwner reports whether o can hold a lease, always as EINVALID.
func validOwner(o ripcord.LeaseOwner) error {
	err := o.Validate()
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
