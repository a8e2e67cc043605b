package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord-dr/ripcord"
)

// The DeliveryStore part: the deliveries table (migration 0004). A claim
// inserts the row or, when it exists, locks it and decides on it as
// committed, on the store's clock; so two replicas claiming one delivery
// at once get one claim between them.

var _ ripcord.DeliveryStore = (*Store)(nil)

const deliveryColumns = `execution_id, seq, destination, kind, status, attempts, last_error, holder, claim_expires, created, updated`

// ClaimDelivery records d as holder's to send, or takes over a sending
// delivery whose claim expired, or reports who has it.
func (s *Store) ClaimDelivery(ctx context.Context, d ripcord.Delivery, holder string, ttl time.Duration) (ripcord.Delivery, bool, error) {
	if err := ripcord.ValidateDelivery(d, holder); err != nil {
		return ripcord.Delivery{}, false, err
	}
	what := fmt.Sprintf("claim delivery %s/%d to %s", d.ExecutionID, d.Seq, d.Destination)
	if err := ripcord.CheckClusterTTL(what, ttl); err != nil {
		return ripcord.Delivery{}, false, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ripcord.Delivery{}, false, fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT `+nowSQL(1), s.clockArg()).Scan(&now); err != nil {
		return ripcord.Delivery{}, false, wrap(what, err)
	}
	now = utc(now)
	expires, err := ripcord.ClusterExpiry(what, now, ttl)
	if err != nil {
		return ripcord.Delivery{}, false, err
	}
	// A new delivery: inserted, and holder's. ON CONFLICT waits for a
	// racing claim to commit and then inserts nothing.
	got, err := scanDelivery(tx.QueryRow(ctx, `INSERT INTO deliveries (`+deliveryColumns+`)
		VALUES ($1, $2, $3, $4, 'sending', 0, '', $5, $6, $7, $7)
		ON CONFLICT (execution_id, seq, destination) DO NOTHING
		RETURNING `+deliveryColumns, d.ExecutionID, d.Seq, d.Destination, d.Kind, holder, expires, now))
	switch {
	case err == nil:
		if err := tx.Commit(ctx); err != nil {
			return ripcord.Delivery{}, false, fmt.Errorf("%s: %w", what, err)
		}
		return got, true, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return ripcord.Delivery{}, false, wrap(what, err)
	}
	current, err := scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE execution_id = $1 AND seq = $2 AND destination = $3 FOR UPDATE`, d.ExecutionID, d.Seq, d.Destination))
	if err != nil {
		return ripcord.Delivery{}, false, wrap(what, err)
	}
	if current.Status != ripcord.DeliverySending || (current.Holder != holder && now.Before(current.ClaimExpires)) {
		return current, false, nil
	}
	current.Holder, current.ClaimExpires = holder, expires
	if _, err := tx.Exec(ctx, `UPDATE deliveries SET holder = $4, claim_expires = $5
		WHERE execution_id = $1 AND seq = $2 AND destination = $3`,
		d.ExecutionID, d.Seq, d.Destination, holder, expires); err != nil {
		return ripcord.Delivery{}, false, wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return ripcord.Delivery{}, false, fmt.Errorf("%s: %w", what, err)
	}
	return current, true, nil
}

// RecordDelivery records an attempt's outcome under d.Holder's claim.
func (s *Store) RecordDelivery(ctx context.Context, d ripcord.Delivery, ttl time.Duration) (ripcord.Delivery, error) {
	if err := ripcord.ValidateDelivery(d, d.Holder); err != nil {
		return ripcord.Delivery{}, err
	}
	if err := ripcord.ValidateDeliveryRecord(d); err != nil {
		return ripcord.Delivery{}, err
	}
	what := fmt.Sprintf("record delivery %s/%d to %s", d.ExecutionID, d.Seq, d.Destination)
	if err := ripcord.CheckClusterTTL(what, ttl); err != nil {
		return ripcord.Delivery{}, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ripcord.Delivery{}, fmt.Errorf("%s: %w", what, err)
	}
	defer rollback(tx)
	current, err := scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE execution_id = $1 AND seq = $2 AND destination = $3 FOR UPDATE`, d.ExecutionID, d.Seq, d.Destination))
	if errors.Is(err, pgx.ErrNoRows) {
		return ripcord.Delivery{}, ripcord.DeliveryNotFound(d)
	} else if err != nil {
		return ripcord.Delivery{}, wrap(what, err)
	}
	if current.Holder != d.Holder || current.Status != ripcord.DeliverySending {
		return ripcord.Delivery{}, ripcord.DeliveryLost(d, current)
	}
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT `+nowSQL(1), s.clockArg()).Scan(&now); err != nil {
		return ripcord.Delivery{}, wrap(what, err)
	}
	now = utc(now)
	expires, err := ripcord.ClusterExpiry(what, now, ttl)
	if err != nil {
		return ripcord.Delivery{}, err
	}
	current.Status, current.Attempts, current.LastError = d.Status, d.Attempts, d.LastError
	current.ClaimExpires, current.Updated = expires, now
	if _, err := tx.Exec(ctx, `UPDATE deliveries SET status = $4, attempts = $5, last_error = $6, claim_expires = $7, updated = $8
		WHERE execution_id = $1 AND seq = $2 AND destination = $3`,
		d.ExecutionID, d.Seq, d.Destination, string(d.Status), d.Attempts, d.LastError, expires, now); err != nil {
		return ripcord.Delivery{}, wrap(what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return ripcord.Delivery{}, fmt.Errorf("%s: %w", what, err)
	}
	return current, nil
}

// ListDeliveries returns execution id's deliveries by seq and destination.
func (s *Store) ListDeliveries(ctx context.Context, id string) ([]ripcord.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE execution_id = $1 ORDER BY seq, destination`, id)
	if err != nil {
		return nil, wrap("list deliveries of "+id, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ripcord.Delivery, error) { return scanDelivery(row) })
	if err != nil {
		return nil, wrap("list deliveries of "+id, err)
	}
	if out == nil {
		out = []ripcord.Delivery{}
	}
	return out, nil
}

func scanDelivery(row pgx.Row) (ripcord.Delivery, error) {
	var d ripcord.Delivery
	var status string
	var attempts int32
	err := row.Scan(&d.ExecutionID, &d.Seq, &d.Destination, &d.Kind, &status, &attempts, &d.LastError,
		&d.Holder, &d.ClaimExpires, &d.Created, &d.Updated)
	d.Status, d.Attempts = ripcord.DeliveryStatus(status), int(attempts)
	d.ClaimExpires, d.Created, d.Updated = utc(d.ClaimExpires), utc(d.Created), utc(d.Updated)
	return d, err
}
